//! aibid-proposal: plans an outline that covers a RequirementLedger, writes its sections
//! (LLM or template), checks coverage and compliance, and exports Word.

pub mod check;
pub mod content;
pub mod export;
pub mod outline;
pub mod passages;
#[cfg(feature = "fake-llm")]
pub mod testing;
pub mod write;

use aibid_tender::{ProjectFacts, RequirementLedger, TenderDocument};
use futures_util::stream::{self, StreamExt};
use outline::Outline;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use write::{SectionDraft, SectionRequest, SectionWriter, Usage};

pub use check::{check_proposal, CheckReport};
pub use export::{convert_to_pdf, export_docx, ExportError};
pub use outline::{plan_outline, Coverage, OutlineSection};

/// "label：value" for a project fact, or the value alone when it carries its own label: the ledger keeps the
/// tender's wording, e.g. a budget of "预算金额：386万元；最高限价：…", which must not become "预算金额：预算金额：…".
pub(crate) fn fact_line(label: &str, value: &Option<String>) -> String {
    let Some(value) = value else {
        return format!("{label}：（招标文件未载明）");
    };
    let own_label = value.split_once(['：', ':']).is_some_and(|(head, _)| {
        let chars = head.trim().chars().count();
        (1..=8).contains(&chars) && !head.chars().any(|c| c.is_ascii_digit())
    });
    if own_label {
        value.clone()
    } else {
        format!("{label}：{value}")
    }
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Sections written at the same time (the LLM writer has its own bound on HTTP calls as well).
    pub concurrency: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions { concurrency: 4 }
    }
}

/// Progress of a generation run, for terminals and the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    SectionStarted {
        section_id: String,
        number: String,
        title: String,
    },
    SectionFinished {
        section_id: String,
        number: String,
        ok: bool,
        done: usize,
        total: usize,
    },
}

/// A proposal: every outline section with its outcome, in outline order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub facts: ProjectFacts,
    pub outline: Outline,
    pub sections: Vec<SectionResult>,
    pub usage: Usage,
    pub failed: usize,
    pub writer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionResult {
    pub section_id: String,
    pub status: SectionStatus,
}

/// A failed or not-yet-written section stays in the proposal and is never counted as complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SectionStatus {
    Pending,
    Complete { draft: SectionDraft },
    Failed { error: String },
}

impl SectionResult {
    pub fn draft(&self) -> Option<&SectionDraft> {
        match &self.status {
            SectionStatus::Complete { draft } => Some(draft),
            _ => None,
        }
    }
}

impl Proposal {
    /// Assembles a proposal from section results written separately (one durable task per section).
    /// Sections without a result are `Pending`; results for unknown sections are ignored.
    pub fn assemble(
        ledger: &RequirementLedger,
        outline: &Outline,
        results: Vec<SectionResult>,
        writer: &str,
    ) -> Proposal {
        let sections: Vec<SectionResult> = outline
            .sections
            .iter()
            .map(|section| {
                results
                    .iter()
                    .find(|r| r.section_id == section.id)
                    .cloned()
                    .unwrap_or(SectionResult {
                        section_id: section.id.clone(),
                        status: SectionStatus::Pending,
                    })
            })
            .collect();
        let mut usage = Usage::default();
        for draft in sections.iter().filter_map(SectionResult::draft) {
            usage += draft.usage;
        }
        let failed = sections
            .iter()
            .filter(|s| matches!(s.status, SectionStatus::Failed { .. }))
            .count();
        Proposal {
            facts: ledger.facts.clone(),
            outline: outline.clone(),
            sections,
            usage,
            failed,
            writer: writer.to_string(),
        }
    }

    pub fn complete_count(&self) -> usize {
        self.sections
            .iter()
            .filter(|s| matches!(s.status, SectionStatus::Complete { .. }))
            .count()
    }

    pub fn is_complete(&self) -> bool {
        self.complete_count() == self.sections.len()
    }
}

/// Writes one section of the outline; a writer error becomes a `Failed` result, never a lost section.
pub async fn write_section(
    doc: &TenderDocument,
    ledger: &RequirementLedger,
    outline: &Outline,
    section_id: &str,
    writer: &dyn SectionWriter,
) -> SectionResult {
    let status = match SectionRequest::build(doc, ledger, outline, section_id) {
        Ok(request) => match writer.write(&request).await {
            Ok(draft) => SectionStatus::Complete { draft },
            Err(error) => SectionStatus::Failed {
                error: error.to_string(),
            },
        },
        Err(error) => SectionStatus::Failed {
            error: error.to_string(),
        },
    };
    SectionResult {
        section_id: section_id.to_string(),
        status,
    }
}

/// Writes every section with bounded concurrency and returns them in outline order.
/// The returned future is Send when `on_progress` is Send + Sync, so it can run on a spawned task.
pub async fn generate(
    doc: &TenderDocument,
    ledger: &RequirementLedger,
    outline: &Outline,
    writer: Arc<dyn SectionWriter>,
    options: &GenerateOptions,
    on_progress: impl Fn(ProgressEvent),
) -> Proposal {
    let total = outline.sections.len();
    let writer_ref: &dyn SectionWriter = writer.as_ref();
    let mut results = Vec::with_capacity(total);
    let on_progress = &on_progress;
    // Futures collected first (not mapped lazily inside the stream) so the whole run stays Send.
    let pending: Vec<_> = outline
        .sections
        .iter()
        .map(|section| async move {
            on_progress(ProgressEvent::SectionStarted {
                section_id: section.id.clone(),
                number: section.number.clone(),
                title: section.title.clone(),
            });
            let result = write_section(doc, ledger, outline, &section.id, writer_ref).await;
            (section, result)
        })
        .collect();
    let mut running = stream::iter(pending).buffer_unordered(options.concurrency.max(1));
    while let Some((section, result)) = running.next().await {
        results.push(result);
        on_progress(ProgressEvent::SectionFinished {
            section_id: section.id.clone(),
            number: section.number.clone(),
            ok: matches!(
                results.last().map(|r| &r.status),
                Some(SectionStatus::Complete { .. })
            ),
            done: results.len(),
            total,
        });
    }
    Proposal::assemble(ledger, outline, results, &writer.name())
}

#[cfg(test)]
mod fact_line_tests {
    use super::fact_line;

    #[test]
    fn a_fact_with_its_own_label_is_not_labelled_twice() {
        let labelled = Some("预算金额：3,860,000.00元；最高限价：3,860,000.00元".to_string());
        assert_eq!(
            fact_line("预算金额", &labelled),
            "预算金额：3,860,000.00元；最高限价：3,860,000.00元"
        );
        assert_eq!(
            fact_line("预算金额", &Some("241.71万元".into())),
            "预算金额：241.71万元"
        );
        // A time is no label: "09:30" has digits before its colon.
        assert_eq!(
            fact_line("投标截止时间", &Some("2026年12月15日09:30".into())),
            "投标截止时间：2026年12月15日09:30"
        );
        assert_eq!(fact_line("项目编号", &None), "项目编号：（招标文件未载明）");
    }
}
