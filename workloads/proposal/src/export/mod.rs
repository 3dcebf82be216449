//! Export: the proposal as a Word document (OOXML written by hand, zipped) and, through LibreOffice, as PDF.

mod docx;
mod parts;
mod pdf;

pub use docx::export_docx;
pub use pdf::convert_to_pdf;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the .docx package: {0}")]
    Package(String),
    #[error("LibreOffice is not installed (no `libreoffice` or `soffice` on PATH); install the Debian package libreoffice-writer-nogui to export PDF")]
    LibreOfficeMissing,
    #[error("cannot read {path}: {reason}")]
    Input { path: PathBuf, reason: String },
    #[error("LibreOffice failed to convert {path} to PDF: {reason}")]
    Conversion { path: PathBuf, reason: String },
}
