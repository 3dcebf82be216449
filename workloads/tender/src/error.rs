//! Why a document could not be read, and the limits that guard reading.
//! Every message names what is wrong and what the user can do about it.

use thiserror::Error;

/// Bounds checked before any heavy work, so hostile or accidental inputs fail fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest accepted input, in bytes.
    pub max_bytes: u64,
    /// Largest total a ZIP container (docx) may declare or expand to.
    pub max_uncompressed_bytes: u64,
    /// Most entries a ZIP container may hold.
    pub max_zip_entries: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024,
            max_uncompressed_bytes: 512 * 1024 * 1024,
            max_zip_entries: 10_000,
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ReadError {
    #[error("the document is empty (0 bytes); upload the tender file itself")]
    Empty,
    #[error("the document is {size} bytes, over the limit of {limit} bytes; split it or raise the size limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("unsupported document type: this looks like {0}; upload the tender as .docx, .pdf or .txt")]
    UnsupportedType(String),
    #[error("the document is corrupt and cannot be read: {0}")]
    Corrupt(String),
    #[error("the document is password-protected (encrypted); remove the password and upload it again")]
    Encrypted,
    #[error("the document's ZIP container is suspicious ({0}); refusing to expand it")]
    ZipBomb(String),
    #[error("the PDF has no text layer on any of its {pages} pages (a scanned image); it needs OCR before it can be analysed")]
    NoTextLayer { pages: u32 },
}
