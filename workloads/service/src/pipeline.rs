//! The service's bridge to the pipeline crates: what a project's stored rows become (document, ledger with user
//! edits, approved outline) and which section writer a process uses.

use crate::config::Settings;
use crate::store::Store;
use aibid_proposal::outline::Outline;
use aibid_proposal::write::{LlmConfig, LlmWriter, SectionWriter, TemplateWriter};
use aibid_tender::{ProjectFacts, RequirementLedger, TenderDocument};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("project {0} has no document")]
    NoDocument(String),
    #[error("project {0} has no approved outline")]
    NoApprovedOutline(String),
    #[error("stored {what} of project {project} is unreadable: {problem}")]
    Corrupt { what: &'static str, project: String, problem: String },
}

/// Everything needed to write any section of a project.
pub struct ProjectInputs {
    pub document: TenderDocument,
    pub ledger: RequirementLedger,
    pub outline: Outline,
}

impl ProjectInputs {
    pub async fn load(store: &Store, project_id: &str) -> Result<ProjectInputs, InputError> {
        let corrupt = |what: &'static str, e: serde_json::Error| InputError::Corrupt {
            what,
            project: project_id.to_string(),
            problem: e.to_string(),
        };
        let (document_json, facts_json) =
            store.latest_document(project_id).await?.ok_or_else(|| InputError::NoDocument(project_id.into()))?;
        let document: TenderDocument = serde_json::from_str(&document_json).map_err(|e| corrupt("document", e))?;
        let facts: ProjectFacts = serde_json::from_str(&facts_json).map_err(|e| corrupt("facts", e))?;
        let requirements = store.ledger_requirements(project_id).await?;
        let outline = store
            .latest_outline(project_id)
            .await?
            .filter(|o| o.approved_at.is_some())
            .ok_or_else(|| InputError::NoApprovedOutline(project_id.into()))?;
        let outline: Outline = serde_json::from_value(outline.outline).map_err(|e| corrupt("outline", e))?;
        Ok(ProjectInputs { document, ledger: RequirementLedger { facts, requirements }, outline })
    }
}

/// The LLM writer when LLM_API_KEY is set, the template writer otherwise.
pub fn section_writer(settings: &Settings) -> anyhow::Result<Arc<dyn SectionWriter>> {
    match &settings.llm_api_key {
        Some(key) => {
            let config = LlmConfig {
                base_url: settings.llm_base_url.clone(),
                api_key: key.clone(),
                model: settings.llm_model.clone(),
                timeout: Duration::from_secs(settings.llm_timeout_secs),
                max_retries: settings.llm_max_retries,
                max_concurrency: settings.worker_concurrency,
                ..LlmConfig::default()
            };
            Ok(Arc::new(LlmWriter::new(config).map_err(|e| anyhow::anyhow!("LLM_API_KEY/LLM_BASE_URL: {e}"))?))
        }
        None => Ok(Arc::new(TemplateWriter)),
    }
}
