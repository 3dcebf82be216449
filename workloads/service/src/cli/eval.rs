//! `aibid eval DIR`: scores the analysis against every `*.labels.json` in DIR (the tender crate's evaluator)
//! and prints its per-document, per-field table and totals.

use std::path::Path;
use std::process::ExitCode;

pub fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    let report = aibid_tender::eval::evaluate_dir(dir, &aibid_tender::ReadLimits::default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}
