//! aibid-tender: the bytes of a tender document (docx, pdf, txt) become a [`TenderDocument`]
//! (ordered blocks with source anchors), and a document becomes a [`RequirementLedger`].
//! Everything here is pure and synchronous: no I/O besides the bytes handed in (and `eval`'s directory).

pub mod document;
pub mod error;
pub mod eval;
mod extract;
mod headings;
pub mod ledger;
mod read;
pub mod report;

pub use document::{numbered_heading, Block, DocumentFormat, SourceAnchor, TenderDocument};
pub use error::{ReadError, ReadLimits};
pub use extract::build_ledger;
pub use ledger::{
    MarkerMeaning, ParameterValue, ProjectFacts, Requirement, RequirementKind, RequirementLedger,
};
pub use read::read_document;
pub use report::{analyze, AnalysisReport, DocumentSummary};
