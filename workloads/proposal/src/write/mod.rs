//! Section writers: what one section's writer is given (`SectionRequest`), what it returns (`SectionDraft`),
//! and the two writers — an OpenAI-compatible LLM client and a deterministic template.

mod limit;
mod llm;
mod template;

pub use llm::{AttemptObserver, LlmConfig, LlmWriter};
pub use template::TemplateWriter;

use crate::content::ContentBlock;
use crate::outline::{Outline, OutlineSection};
use crate::passages::{relevant_passages, Passage};
use aibid_tender::{ProjectFacts, Requirement, RequirementLedger, TenderDocument};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Writes one outline section. Implementations are shared between tasks (`Arc<dyn SectionWriter>`).
#[async_trait::async_trait]
pub trait SectionWriter: Send + Sync {
    /// Short name for reports ("template", "llm:deepseek-chat").
    fn name(&self) -> String;
    async fn write(&self, request: &SectionRequest) -> Result<SectionDraft, WriteError>;
}

/// Everything a writer may use for one section — its items, their tender passages, facts and neighbours,
/// never the whole tender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionRequest {
    pub section: OutlineSection,
    pub items: Vec<Requirement>,
    pub passages: Vec<Passage>,
    pub facts: ProjectFacts,
    pub context: OutlineContext,
}

/// Titles around the section, so the writer neither repeats nor contradicts its neighbours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutlineContext {
    pub parent: Option<String>,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// "1 投标函", "2 资格证明文件", ... (top-level parts only).
    pub parts: Vec<String>,
    /// The section's own sub-sections ("4.1 技术方案", ...), which answer their items themselves.
    #[serde(default)]
    pub children: Vec<String>,
}

impl SectionRequest {
    /// Builds the request for one section of an outline.
    pub fn build(
        doc: &TenderDocument,
        ledger: &RequirementLedger,
        outline: &Outline,
        section_id: &str,
    ) -> Result<SectionRequest, WriteError> {
        let at = outline
            .sections
            .iter()
            .position(|s| s.id == section_id)
            .ok_or_else(|| WriteError::UnknownSection(section_id.to_string()))?;
        let section = outline.sections[at].clone();
        let items: Vec<Requirement> = section
            .requirement_ids
            .iter()
            .filter_map(|id| ledger.requirements.iter().find(|r| &r.id == id).cloned())
            .collect();
        let passages = relevant_passages(doc, &section, &items);
        let label = |s: &OutlineSection| format!("{} {}", s.number, s.title);
        let parent = outline.sections[..at]
            .iter()
            .rev()
            .find(|s| s.level < section.level)
            .map(label);
        let context = OutlineContext {
            parent,
            previous: at.checked_sub(1).map(|p| label(&outline.sections[p])),
            next: outline.sections.get(at + 1).map(label),
            children: outline.sections[at + 1..]
                .iter()
                .take_while(|s| s.level > section.level)
                .filter(|s| s.level == section.level + 1)
                .map(label)
                .collect(),
            parts: outline
                .sections
                .iter()
                .filter(|s| s.level == 1)
                .map(label)
                .collect(),
        };
        Ok(SectionRequest {
            section,
            items,
            passages,
            facts: ledger.facts.clone(),
            context,
        })
    }
}

/// How a text marks that it answers ledger item `id`: 〔ID〕.
pub fn answer_tag(id: &str) -> String {
    format!("〔{id}〕")
}

/// Finds the 〔ID〕 tags of `ids` in `text` (the convention the LLM answers in, and a person may use in an edit):
/// returns the text without them and the ids tagged, in the order of `ids`.
pub fn take_answer_tags<'a>(
    text: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> (String, Vec<String>) {
    let mut text = text.to_string();
    let mut tagged = Vec::new();
    for id in ids {
        let tag = answer_tag(id);
        if text.contains(&tag) {
            tagged.push(id.to_string());
            text = text.replace(&tag, "");
        }
    }
    (text, tagged)
}

/// A written section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SectionDraft {
    pub blocks: Vec<ContentBlock>,
    /// Ledger items this draft answers (the checker compares them with the section's items).
    pub answered_ids: Vec<String>,
    /// Technical parameters as the draft answers them (required vs offered).
    pub deviations: Vec<DeviationRow>,
    pub usage: Usage,
}

impl SectionDraft {
    pub fn text(&self) -> String {
        self.blocks
            .iter()
            .map(ContentBlock::text)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One row of the technical deviation table: 招标要求 / 投标响应 / 偏离情况.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviationRow {
    pub requirement_id: String,
    pub required: String,
    pub offered: String,
    pub deviation: String,
}

/// Tokens spent, as reported by the LLM endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// Why a section could not be written. Messages never contain the API key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    #[error("outline has no section with id {0:?}")]
    UnknownSection(String),
    #[error("LLM settings are invalid: {0}")]
    Config(String),
    #[error("LLM endpoint answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("LLM request timed out after {0:?}")]
    Timeout(Duration),
    #[error("could not reach the LLM endpoint: {0}")]
    Transport(String),
    #[error("LLM call failed after {attempts} attempts; last error: {last_error}")]
    RetriesExhausted { attempts: u32, last_error: String },
    #[error("LLM answer is not a chat-completion JSON body: {0}")]
    MalformedResponse(String),
    #[error("LLM answer has no content (empty choices or empty message)")]
    EmptyContent,
    #[error("LLM answer still cut off by the length limit after {0} continuation rounds")]
    Truncated(u32),
}
