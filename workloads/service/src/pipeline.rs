//! The service's bridge to the pipeline crates: what a project's stored rows become (document, ledger with user
//! edits, approved outline) and which section writer a process uses.

use crate::config::Settings;
use crate::store::Store;
use aibid_proposal::outline::Outline;
use aibid_proposal::write::{LlmConfig, LlmWriter, SectionWriter, TemplateWriter};
use aibid_tender::{ReadError, ReadLimits, RequirementLedger, TenderDocument};
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
    Corrupt {
        what: &'static str,
        project: String,
        problem: String,
    },
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
        let (document_json, ledger_json) = store
            .latest_document(project_id)
            .await?
            .ok_or_else(|| InputError::NoDocument(project_id.into()))?;
        let document: TenderDocument =
            serde_json::from_str(&document_json).map_err(|e| corrupt("document", e))?;
        let mut ledger: RequirementLedger =
            serde_json::from_str(&ledger_json).map_err(|e| corrupt("ledger", e))?;
        // The rows carry the users' edits.
        ledger.requirements = store.ledger_requirements(project_id).await?;
        let outline = store
            .latest_outline(project_id)
            .await?
            .filter(|o| o.approved_at.is_some())
            .ok_or_else(|| InputError::NoApprovedOutline(project_id.into()))?;
        let outline: Outline =
            serde_json::from_value(outline.outline).map_err(|e| corrupt("outline", e))?;
        Ok(ProjectInputs {
            document,
            ledger,
            outline,
        })
    }
}

/// The LLM writer when LLM_API_KEY is set, the template writer otherwise. With `metrics`, every LLM request
/// (retries included) is counted in `aibid_llm_requests_total{provider,outcome}`.
pub fn section_writer(
    settings: &Settings,
    metrics: Option<Arc<crate::metrics::Metrics>>,
) -> anyhow::Result<Arc<dyn SectionWriter>> {
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
            let mut writer = LlmWriter::new(config)
                .map_err(|e| anyhow::anyhow!("LLM_API_KEY/LLM_BASE_URL: {e}"))?;
            if let Some(metrics) = metrics {
                let provider = settings.llm_provider.clone();
                writer = writer.with_attempt_observer(Arc::new(move |outcome| {
                    metrics
                        .llm_requests
                        .get_or_create(&crate::metrics::LlmLabels {
                            provider: provider.clone(),
                            outcome: outcome.into(),
                        })
                        .inc();
                }));
            }
            Ok(Arc::new(writer))
        }
        None => Ok(Arc::new(TemplateWriter)),
    }
}

/// Parses a tender and builds its ledger. A fully scanned PDF is an error listing its pages.
pub fn read_tender(
    bytes: &[u8],
    limits: &ReadLimits,
) -> Result<(TenderDocument, RequirementLedger), ReadError> {
    let document = aibid_tender::read_document(bytes, limits)?;
    let ledger = aibid_tender::build_ledger(&document);
    Ok((document, ledger))
}

/// A user-facing message for a read error; for scanned PDFs it says OCR is needed and lists the pages.
pub fn explain(error: &ReadError) -> String {
    match error {
        ReadError::NoTextLayer { pages } => {
            let list: Vec<String> = (1..=*pages).map(|p| p.to_string()).collect();
            format!(
                "needs OCR: no page has a text layer (scanned pages: {}); run OCR on the PDF first",
                list.join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// Why an upload was refused; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Not a PDF, Word or text document (415).
    #[error("{0}")]
    Unsupported(String),
    /// Over a size limit, also while unpacking (zip bomb) (413).
    #[error("{0}")]
    TooLarge(String),
    /// Corrupt, encrypted, empty or scanned without text (422).
    #[error("{0}")]
    Unreadable(String),
}

/// An accepted upload: the parsed document, its ledger, the analysis report and a first outline.
pub struct UploadAnalysis {
    /// "pdf", "docx" or "txt": also the stored file's extension.
    pub format: String,
    pub document: TenderDocument,
    pub ledger: RequirementLedger,
    pub report: serde_json::Value,
    pub outline: Outline,
}

pub fn analyze_upload(bytes: &[u8], max_bytes: u64) -> Result<UploadAnalysis, UploadError> {
    let limits = ReadLimits {
        max_bytes,
        ..ReadLimits::default()
    };
    let (document, ledger) = read_tender(bytes, &limits).map_err(|e| classify(&e))?;
    let report = aibid_tender::AnalysisReport::new(&document, ledger.clone());
    let report =
        serde_json::to_value(&report).map_err(|e| UploadError::Unreadable(e.to_string()))?;
    let format = serde_json::to_value(document.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "bin".into());
    let outline = aibid_proposal::plan_outline(&document, &ledger);
    Ok(UploadAnalysis {
        format,
        document,
        ledger,
        report,
        outline,
    })
}

fn classify(error: &ReadError) -> UploadError {
    let message = explain(error);
    match error {
        ReadError::UnsupportedType(_) => UploadError::Unsupported(message),
        ReadError::TooLarge { .. } | ReadError::ZipBomb(_) => UploadError::TooLarge(message),
        _ => UploadError::Unreadable(message),
    }
}
