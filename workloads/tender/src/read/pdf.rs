//! PDF reader over pdf_oxide: text per page (Chinese CID fonts via ToUnicode), page anchors,
//! running headers/footers and page numbers removed, pages without a text layer reported.

use super::docx::normalize_space;
use super::text::line_block;
use crate::document::{Block, DocumentFormat, SourceAnchor, TenderDocument};
use crate::error::ReadError;
use crate::headings::LevelTracker;
use pdf_oxide::PdfDocument;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Lines this close to the top or bottom of a page are candidates for running headers/footers.
const EDGE_LINES: usize = 3;

pub fn read(bytes: &[u8]) -> Result<TenderDocument, ReadError> {
    let doc = PdfDocument::from_bytes(bytes.to_vec()).map_err(open_error)?;
    if doc.is_encrypted() && !doc.is_authenticated() && !doc.authenticate(b"").unwrap_or(false) {
        return Err(ReadError::Encrypted);
    }
    let page_count = doc
        .page_count()
        .map_err(|e| ReadError::Corrupt(format!("the page tree cannot be read ({e})")))?;
    let pages = extract_pages(&doc, page_count);
    let needs_ocr_pages: Vec<u32> = pages
        .iter()
        .enumerate()
        .filter(|(_, lines)| lines.iter().all(|l| l.trim().is_empty()))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    if page_count > 0 && needs_ocr_pages.len() == page_count {
        return Err(ReadError::NoTextLayer {
            pages: page_count as u32,
        });
    }
    if page_count == 0 {
        return Err(ReadError::Corrupt("the PDF has no pages".into()));
    }
    let pages = strip_running_lines(pages);
    let mut levels = LevelTracker::default();
    let mut blocks = Vec::new();
    for (i, lines) in pages.into_iter().enumerate() {
        let page = i as u32 + 1;
        if i > 0 {
            blocks.push(Block::PageBreak { page });
        }
        for line in lines {
            blocks.push(line_block(line, SourceAnchor::Page { page }, &mut levels));
        }
    }
    Ok(TenderDocument {
        format: DocumentFormat::Pdf,
        pages: Some(page_count as u32),
        needs_ocr_pages,
        blocks,
    })
}

fn open_error(e: pdf_oxide::Error) -> ReadError {
    let detail = e.to_string();
    if detail.to_lowercase().contains("encrypt") || detail.to_lowercase().contains("password") {
        ReadError::Encrypted
    } else {
        ReadError::Corrupt(format!("not a readable PDF ({detail})"))
    }
}

/// Non-empty normalised lines per page. Pages are split over two threads (the machine has 2 cores);
/// a page whose text cannot be extracted counts as having no text layer.
fn extract_pages(doc: &PdfDocument, page_count: usize) -> Vec<Vec<String>> {
    let page_lines = |page: usize| -> Vec<String> {
        doc.extract_text(page)
            .map(|text| {
                text.lines()
                    .map(normalize_space)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    (0..page_count).map(page_lines).collect()
}

static PAGE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[-—–－]\s*\d+\s*[-—–－]|\[\s*\d+\s*\]|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|[Pp]age\s*\d+(?:\s*of\s*\d+)?|\d{1,3})$")
        .expect("static page-number pattern")
});

/// Removes page numbers at page edges and lines repeated at the same edge on many pages
/// (running titles), compared with digits masked so "第 5 页" and "第 6 页" count as one.
fn strip_running_lines(pages: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for lines in &pages {
        let mut keys: Vec<String> = edge_lines(lines).map(|(_, l)| mask_digits(l)).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            *seen.entry(key).or_default() += 1;
        }
    }
    let threshold = (pages.len() / 3).max(3);
    pages
        .into_iter()
        .map(|lines| {
            let drop: Vec<usize> = edge_lines(&lines)
                .filter(|(_, l)| {
                    PAGE_NUMBER.is_match(l)
                        || seen.get(&mask_digits(l)).is_some_and(|n| *n >= threshold)
                })
                .map(|(i, _)| i)
                .collect();
            lines
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(i))
                .map(|(_, l)| l)
                .collect()
        })
        .collect()
}

fn edge_lines(lines: &[String]) -> impl Iterator<Item = (usize, &String)> {
    let n = lines.len();
    lines
        .iter()
        .enumerate()
        .filter(move |(i, _)| *i < EDGE_LINES || *i + EDGE_LINES >= n)
}

fn mask_digits(line: &str) -> String {
    line.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPICS: [&str; 9] = [
        "概况", "资格", "评分", "合同", "技术", "服务", "验收", "付款", "质保",
    ];

    /// Body lines differ from page to page, also with digits masked.
    fn body(n: usize) -> Vec<String> {
        TOPICS
            .iter()
            .map(|t| format!("{t}要求：{}", TOPICS[n % 9]))
            .collect()
    }

    /// A page of a running title, a chapter line, the body and a "第 n 页" footer.
    fn page(n: usize) -> Vec<String> {
        let mut lines = vec!["某某项目公开招标文件".to_owned(), format!("第{n}章")];
        lines.extend(body(n));
        lines.push(format!("第 {n} 页 共 6 页"));
        lines
    }

    #[test]
    fn repeated_headers_footers_and_page_numbers_are_removed() {
        let pages: Vec<Vec<String>> = (1..=6).map(page).collect();
        let stripped = strip_running_lines(pages);
        for (i, lines) in stripped.iter().enumerate() {
            assert_eq!(lines, &body(i + 1));
        }
    }

    #[test]
    fn lone_page_numbers_go_and_rare_edge_lines_stay() {
        let mut pages: Vec<Vec<String>> = (1..=9).map(page).collect();
        pages[3].push("- 4 -".to_owned());
        pages[0].insert(0, "附件：投标函".to_owned());
        let stripped = strip_running_lines(pages);
        assert_eq!(stripped[3], body(4));
        assert_eq!(
            stripped[0][0], "附件：投标函",
            "a line on one page is not a running header"
        );
        assert_eq!(stripped[0][1..], body(1));
    }
}
