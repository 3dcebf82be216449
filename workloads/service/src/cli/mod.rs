//! The pipeline commands: `analyze`, `generate` and `eval` over local files.

pub mod analyze;
pub mod eval;
pub mod generate;

use aibid_tender::{RequirementLedger, TenderDocument};
use anyhow::Context;
use std::path::Path;

/// Reads a tender file, with the file name in the error.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Parses a tender file and builds its ledger; errors name the file and say what is wrong (OCR needed, ...).
pub fn read_tender(path: &Path) -> anyhow::Result<(TenderDocument, RequirementLedger)> {
    let bytes = read_file(path)?;
    crate::pipeline::read_tender(&bytes, &aibid_tender::ReadLimits::default())
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), crate::pipeline::explain(&e)))
}
