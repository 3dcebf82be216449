//! aibid-tender: the bytes of a tender document (docx, pdf, txt) become a [`TenderDocument`]
//! (ordered blocks with source anchors), and a document becomes a [`RequirementLedger`].
//! Everything here is pure and synchronous: no I/O besides the bytes handed in.

pub mod document;
pub mod ledger;

pub use document::{Block, DocumentFormat, SourceAnchor, TenderDocument};
pub use ledger::{ProjectFacts, Requirement, RequirementKind, RequirementLedger};
