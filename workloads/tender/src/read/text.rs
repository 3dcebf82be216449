//! Plain-text reader (already decoded from UTF-8/UTF-16/GBK/GB18030): one block per non-empty line,
//! headings from the Chinese numbering ladder, anchors by 1-based line number.

use crate::document::{Block, DocumentFormat, SourceAnchor, TenderDocument};
use crate::headings::LevelTracker;

pub fn read(text: &str) -> TenderDocument {
    let mut levels = LevelTracker::default();
    let blocks = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = super::docx::normalize_space(line);
            (!line.is_empty()).then(|| line_block(line, SourceAnchor::Line { line: i as u32 + 1 }, &mut levels))
        })
        .collect();
    TenderDocument {
        format: DocumentFormat::Txt,
        pages: None,
        needs_ocr_pages: Vec::new(),
        blocks,
    }
}

/// A heading when the line starts with a ladder number and reads like a title, else a paragraph.
pub fn line_block(line: String, anchor: SourceAnchor, levels: &mut LevelTracker) -> Block {
    if let Some((rank, number, rest)) = crate::headings::ladder_number(&line) {
        if crate::headings::is_heading_like(rank, rest) {
            let level = levels.level_for(rank);
            return Block::Heading { level, number: Some(number), text: rest.to_owned(), anchor };
        }
    }
    Block::Paragraph { text: line, anchor }
}
