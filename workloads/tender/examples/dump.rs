//! Development aid: prints a document's blocks, then its analysis as JSON.
//! Usage: cargo run -p aibid-tender --example dump -- FILE [--blocks]

use aibid_tender::{analyze, read_document, Block, ReadLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: dump FILE [--blocks]")?;
    let show_blocks = args.next().as_deref() == Some("--blocks");
    let bytes = std::fs::read(&path)?;
    let limits = ReadLimits::default();
    if show_blocks {
        let doc = read_document(&bytes, &limits)?;
        for block in &doc.blocks {
            match block {
                Block::Heading { level, number, text, anchor } => {
                    println!("H{level} [{number:?}] {text}    @{anchor:?}")
                }
                Block::Paragraph { text, anchor } => println!("P {text}    @{anchor:?}"),
                Block::Table { rows, anchor } => {
                    println!("TABLE @{anchor:?}");
                    for row in rows {
                        println!("  | {}", row.join(" | ").replace('\n', "⏎"));
                    }
                }
                Block::PageBreak { page } => println!("---- page {page}"),
            }
        }
    }
    let report = analyze(&bytes, &limits)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
