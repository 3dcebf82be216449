//! The parsed form of a tender: ordered blocks, each with the place it came from.

use serde::{Deserialize, Serialize};

/// The container format, sniffed from the bytes (never from a file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentFormat {
    Docx,
    Pdf,
    Txt,
}

/// Where a block came from, so a user can jump from a ledger item to its source.
/// PDF: page (1-based). DOCX: body paragraph index or table index (0-based). TXT: line (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SourceAnchor {
    Page { page: u32 },
    Paragraph { index: u32 },
    Table { index: u32, row: u32 },
    Line { line: u32 },
}

/// One unit of the document body, in document order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// `level` 1 is the top (第X章); `number` is the visible number ("第三章", "1.2", "（一）") if any.
    Heading {
        level: u8,
        number: Option<String>,
        text: String,
        anchor: SourceAnchor,
    },
    Paragraph {
        text: String,
        anchor: SourceAnchor,
    },
    /// Rows of cell texts; merged cells repeat nothing (a horizontally merged cell appears once).
    Table {
        rows: Vec<Vec<String>>,
        anchor: SourceAnchor,
    },
    PageBreak {
        page: u32,
    },
}

/// A heading as it reads in the tender: its number, then its text ("一、总则", "1.2 资格要求"), unless the text
/// already starts with the number. No space after a number that ends in its own separator (、 . ． ） )).
pub fn numbered_heading(number: Option<&str>, text: &str) -> String {
    match number {
        Some(n) if !text.starts_with(n) => {
            let space = if n.ends_with(['、', '.', '．', '）', ')']) {
                ""
            } else {
                " "
            };
            format!("{n}{space}{text}")
        }
        _ => text.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenderDocument {
    pub format: DocumentFormat,
    /// Page count for PDF; None where the format has no pages.
    pub pages: Option<u32>,
    /// 1-based PDF pages that have no text layer and would need OCR.
    pub needs_ocr_pages: Vec<u32>,
    pub blocks: Vec<Block>,
}

#[cfg(test)]
mod heading_tests {
    use super::numbered_heading;

    #[test]
    fn a_heading_reads_with_its_number_once() {
        assert_eq!(numbered_heading(Some("一、"), "总则"), "一、总则");
        assert_eq!(numbered_heading(Some("1.2"), "资格要求"), "1.2 资格要求");
        assert_eq!(
            numbered_heading(Some("第三章"), "第三章 评标办法"),
            "第三章 评标办法"
        );
        assert_eq!(numbered_heading(None, "附件"), "附件");
    }
}
