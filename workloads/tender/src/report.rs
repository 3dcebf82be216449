//! The `analyze --json` shape: document summary, project facts and every requirement.
//! Fields may be added; none may be renamed (the CLI and API promise this shape).

use crate::document::{DocumentFormat, TenderDocument};
use crate::error::{ReadError, ReadLimits};
use crate::ledger::{MarkerMeaning, ProjectFacts, Requirement, RequirementLedger};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentSummary {
    pub format: DocumentFormat,
    pub pages: Option<u32>,
    pub needs_ocr_pages: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisReport {
    pub document: DocumentSummary,
    pub facts: ProjectFacts,
    pub requirements: Vec<Requirement>,
    #[serde(default)]
    pub response_format: Vec<String>,
    #[serde(default)]
    pub markers: Vec<MarkerMeaning>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl AnalysisReport {
    pub fn new(document: &TenderDocument, ledger: RequirementLedger) -> Self {
        Self {
            document: DocumentSummary {
                format: document.format,
                pages: document.pages,
                needs_ocr_pages: document.needs_ocr_pages.clone(),
            },
            facts: ledger.facts,
            requirements: ledger.requirements,
            response_format: ledger.response_format,
            markers: ledger.markers,
            warnings: ledger.warnings,
        }
    }
}

/// Reads the document and builds its ledger in one call.
pub fn analyze(bytes: &[u8], limits: &ReadLimits) -> Result<AnalysisReport, ReadError> {
    let document = crate::read::read_document(bytes, limits)?;
    let ledger = crate::extract::build_ledger(&document);
    Ok(AnalysisReport::new(&document, ledger))
}
