//! Prints the per-document, per-field eval table for a labelled directory (until `aibid eval` exists).
//! Usage: cargo run -p aibid-tender --example eval -- DIR

use aibid_tender::{eval::evaluate_dir, ReadLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: eval DIR")?;
    let report = evaluate_dir(std::path::Path::new(&dir), &ReadLimits::default())?;
    println!("{report}");
    Ok(())
}
