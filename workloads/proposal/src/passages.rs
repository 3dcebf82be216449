//! Picks the tender passages a section writer needs: the blocks its ledger items came from (by anchor) and
//! the text under tender headings that share the section's title words. Bounded in size; never the whole tender.

use crate::outline::OutlineSection;
use aibid_tender::{Block, Requirement, SourceAnchor, TenderDocument};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Upper bound on the passage text handed to one section writer.
pub const MAX_PASSAGE_CHARS: usize = 6000;
/// Upper bound on one passage.
const MAX_ONE_PASSAGE_CHARS: usize = 1200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    pub anchor: SourceAnchor,
    /// The tender heading the passage sits under, if any.
    pub heading: Option<String>,
    pub text: String,
}

/// The passages relevant to one section, in document order.
pub fn relevant_passages(doc: &TenderDocument, section: &OutlineSection, items: &[Requirement]) -> Vec<Passage> {
    let headings = enclosing_headings(&doc.blocks);
    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    let mut table_rows: Vec<(usize, u32)> = Vec::new();

    for item in items {
        let candidates: Vec<usize> = doc
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, block)| block_anchor(block).is_some_and(|anchor| same_place(anchor, &item.anchor)))
            .map(|(at, _)| at)
            .collect();
        // Several blocks share a PDF page: keep the one that holds the item's words.
        let best = candidates
            .iter()
            .copied()
            .max_by_key(|&at| overlap(&block_text(&doc.blocks[at]), &item.text))
            .or_else(|| candidates.first().copied());
        if let Some(at) = best {
            chosen.insert(at);
            if let SourceAnchor::Table { row, .. } = item.anchor {
                table_rows.push((at, row));
            }
        }
    }

    // Text under tender headings named like the section ("售后服务" -> "售后服务要求").
    let title = normalise(&section.title);
    if title.chars().count() >= 2 {
        for (at, block) in doc.blocks.iter().enumerate() {
            let Block::Heading { text, level, .. } = block else { continue };
            let heading = normalise(text);
            if heading.chars().count() < 2 || !(heading.contains(&title) || title.contains(&heading)) {
                continue;
            }
            for (offset, next) in doc.blocks[at + 1..].iter().enumerate().take(8) {
                match next {
                    Block::Heading { level: next_level, .. } if next_level <= level => break,
                    Block::Paragraph { .. } | Block::Table { .. } => {
                        chosen.insert(at + 1 + offset);
                    }
                    _ => {}
                }
            }
        }
    }

    let mut passages = Vec::new();
    let mut budget = MAX_PASSAGE_CHARS;
    for at in chosen {
        let block = &doc.blocks[at];
        let Some(anchor) = block_anchor(block) else { continue };
        let text = match block {
            Block::Table { rows, .. } => {
                let wanted: Vec<u32> = table_rows.iter().filter(|(t, _)| *t == at).map(|(_, r)| *r).collect();
                table_excerpt(rows, &wanted)
            }
            other => block_text(other),
        };
        let text: String = text.chars().take(MAX_ONE_PASSAGE_CHARS.min(budget)).collect();
        if text.trim().is_empty() {
            continue;
        }
        budget = budget.saturating_sub(text.chars().count());
        passages.push(Passage { anchor: *anchor, heading: headings[at].clone(), text });
        if budget == 0 {
            break;
        }
    }
    passages
}

fn block_anchor(block: &Block) -> Option<&SourceAnchor> {
    match block {
        Block::Heading { anchor, .. } | Block::Paragraph { anchor, .. } | Block::Table { anchor, .. } => Some(anchor),
        Block::PageBreak { .. } => None,
    }
}

fn block_text(block: &Block) -> String {
    match block {
        Block::Heading { text, .. } | Block::Paragraph { text, .. } => text.clone(),
        Block::Table { rows, .. } => rows.iter().map(|r| r.join(" | ")).collect::<Vec<_>>().join("\n"),
        Block::PageBreak { .. } => String::new(),
    }
}

/// A table anchor names the table; the row is the item's row inside it.
fn same_place(block: &SourceAnchor, item: &SourceAnchor) -> bool {
    match (block, item) {
        (SourceAnchor::Table { index: a, .. }, SourceAnchor::Table { index: b, .. }) => a == b,
        _ => block == item,
    }
}

/// The header row plus the rows the items point at (all rows when none is named).
fn table_excerpt(rows: &[Vec<String>], wanted: &[u32]) -> String {
    let picked: Vec<&Vec<String>> = if wanted.is_empty() {
        rows.iter().collect()
    } else {
        rows.iter()
            .enumerate()
            .filter(|(i, _)| *i == 0 || wanted.contains(&(*i as u32)))
            .map(|(_, r)| r)
            .collect()
    };
    picked.iter().map(|r| r.join(" | ")).collect::<Vec<_>>().join("\n")
}

/// For every block, the text of the nearest heading before it.
fn enclosing_headings(blocks: &[Block]) -> Vec<Option<String>> {
    let mut current: Option<String> = None;
    blocks
        .iter()
        .map(|block| {
            let before = current.clone();
            if let Block::Heading { text, .. } = block {
                current = Some(text.clone());
            }
            before
        })
        .collect()
}

fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_digit() && !"、.．（）()第章节一二三四五六七八九十".contains(*c))
        .collect()
}

/// Shared characters (a cheap relevance score that works for Chinese without a tokenizer);
/// a block holding the item's opening words wins outright.
fn overlap(block: &str, item: &str) -> usize {
    let opening: String = item.chars().filter(|c| !c.is_whitespace()).take(10).collect();
    let compact: String = block.chars().filter(|c| !c.is_whitespace()).collect();
    if !opening.is_empty() && compact.contains(&opening) {
        return usize::MAX;
    }
    let wanted: BTreeSet<char> = item.chars().filter(|c| !c.is_whitespace()).collect();
    block.chars().filter(|c| wanted.contains(c)).count().min(wanted.len() * 4)
}
