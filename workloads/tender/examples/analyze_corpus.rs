//! Benchmark driver until the `aibid analyze` CLI exists: analyses every document in a directory
//! once and prints the count and the time taken.
//! Usage: cargo run --release -p aibid-tender --example analyze_corpus -- DIR

use aibid_tender::{analyze, ReadLimits};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: analyze_corpus DIR")?;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pdf" | "docx" | "txt")))
        .collect();
    paths.sort();
    let started = Instant::now();
    let mut requirements = 0;
    for path in &paths {
        let bytes = std::fs::read(path)?;
        match analyze(&bytes, &ReadLimits::default()) {
            Ok(report) => requirements += report.requirements.len(),
            Err(e) => eprintln!("{}: {e}", path.display()),
        }
    }
    println!("{} documents, {requirements} requirements, {:.3} s", paths.len(), started.elapsed().as_secs_f64());
    Ok(())
}
