//! PDF reader over pdf_oxide: text per page (Chinese CID fonts via ToUnicode), page anchors,
//! running headers/footers and page numbers removed, pages without a text layer reported.

use super::docx::normalize_space;
use super::pdf_grid;
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
        .filter(|(_, items)| items.iter().all(PageItem::is_blank))
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
    // Column edges of the table that ended the previous page, while nothing else followed it.
    let mut open_table: Option<Vec<f32>> = None;
    for (i, items) in pages.into_iter().enumerate() {
        let page = i as u32 + 1;
        if i > 0 {
            blocks.push(Block::PageBreak { page });
        }
        for (k, item) in items.into_iter().enumerate() {
            match item {
                PageItem::Text(line) => {
                    open_table = None;
                    blocks.push(line_block(line, SourceAnchor::Page { page }, &mut levels));
                }
                PageItem::Table(grid) => {
                    let continues = k == 0
                        && open_table
                            .as_deref()
                            .is_some_and(|columns| pdf_grid::same_columns(columns, &grid.columns));
                    open_table = Some(grid.columns.clone());
                    if continues {
                        if let Some(Block::Table { rows, .. }) = blocks
                            .iter_mut()
                            .rev()
                            .find(|b| !matches!(b, Block::PageBreak { .. }))
                        {
                            // A header row repeated on the new page is not a data row.
                            let repeated = rows.first() == grid.rows.first();
                            rows.extend(grid.rows.into_iter().skip(usize::from(repeated)));
                            continue;
                        }
                    }
                    blocks.push(Block::Table {
                        rows: grid.rows,
                        anchor: SourceAnchor::Page { page },
                    });
                }
            }
        }
    }
    Ok(TenderDocument {
        format: DocumentFormat::Pdf,
        pages: Some(page_count as u32),
        needs_ocr_pages,
        blocks,
    })
}

/// A page's content in reading order: text lines and ruled tables.
#[derive(Debug, Clone)]
enum PageItem {
    Text(String),
    Table(pdf_grid::Grid),
}

impl PageItem {
    fn is_blank(&self) -> bool {
        match self {
            PageItem::Text(t) => t.trim().is_empty(),
            PageItem::Table(g) => g.rows.iter().flatten().all(|c| c.trim().is_empty()),
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            PageItem::Text(t) => Some(t),
            PageItem::Table(_) => None,
        }
    }
}

fn open_error(e: pdf_oxide::Error) -> ReadError {
    let detail = e.to_string();
    if detail.to_lowercase().contains("encrypt") || detail.to_lowercase().contains("password") {
        ReadError::Encrypted
    } else {
        ReadError::Corrupt(format!("not a readable PDF ({detail})"))
    }
}

/// Text lines and ruled tables per page. Pages without ruling lines keep pdf_oxide's own text
/// assembly; on pages with a ruled table, lines are rebuilt from positioned spans (top to bottom,
/// then left to right) so that the table's cells can be taken out as rows. A page whose text
/// cannot be extracted counts as having no text layer.
fn extract_pages(doc: &PdfDocument, page_count: usize) -> Vec<Vec<PageItem>> {
    (0..page_count).map(|page| page_items(doc, page)).collect()
}

fn page_items(doc: &PdfDocument, page: usize) -> Vec<PageItem> {
    let plain = |doc: &PdfDocument| -> Vec<PageItem> {
        doc.extract_text(page)
            .map(|text| {
                text.lines()
                    .map(normalize_space)
                    .filter(|l| !l.is_empty())
                    .map(PageItem::Text)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (horizontal, vertical) = match doc.extract_paths(page) {
        Ok(paths) => pdf_grid::segments(&paths),
        Err(_) => return plain(doc),
    };
    if horizontal.len() < 2 || vertical.len() < 2 {
        return plain(doc);
    }
    let Ok(spans) = doc.extract_spans(page) else {
        return plain(doc);
    };
    let (grids, in_table) = pdf_grid::tables(&spans, &horizontal, &vertical);
    if grids.is_empty() {
        return plain(doc);
    }
    // Free text as lines, each placed by its top; tables placed by theirs.
    let free: Vec<&pdf_oxide::layout::TextSpan> = spans
        .iter()
        .zip(&in_table)
        .filter(|(s, inside)| !**inside && !s.text.trim().is_empty())
        .map(|(s, _)| s)
        .collect();
    let mut placed: Vec<(f32, PageItem)> = Vec::new();
    for mut line in text_lines(free) {
        let top = line.iter().map(|s| s.bbox.y).fold(f32::MIN, f32::max);
        let text = normalize_space(&pdf_grid::join_lines(&mut line));
        if !text.is_empty() {
            placed.push((top, PageItem::Text(text)));
        }
    }
    for grid in grids {
        placed.push((grid.top, PageItem::Table(grid)));
    }
    placed.sort_by(|a, b| b.0.total_cmp(&a.0));
    placed.into_iter().map(|(_, item)| item).collect()
}

/// Spans grouped into lines by their vertical position.
fn text_lines(
    mut spans: Vec<&pdf_oxide::layout::TextSpan>,
) -> Vec<Vec<&pdf_oxide::layout::TextSpan>> {
    spans.sort_by(|a, b| b.bbox.y.total_cmp(&a.bbox.y));
    let mut lines: Vec<Vec<&pdf_oxide::layout::TextSpan>> = Vec::new();
    for span in spans {
        let tolerance = span.bbox.height.max(1.0) * 0.5;
        match lines.last_mut() {
            Some(line) if (line[0].bbox.y - span.bbox.y).abs() <= tolerance => line.push(span),
            _ => lines.push(vec![span]),
        }
    }
    lines
}

static PAGE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[-—–－]\s*\d+\s*[-—–－]|\[\s*\d+\s*\]|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|[Pp]age\s*\d+(?:\s*of\s*\d+)?|\d{1,3})$")
        .expect("static page-number pattern")
});

/// Removes page numbers at page edges and lines repeated at the same edge on many pages
/// (running titles), compared with digits masked so "第 5 页" and "第 6 页" count as one.
fn strip_running_lines<T: EdgeText>(pages: Vec<Vec<T>>) -> Vec<Vec<T>> {
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

/// The text of a page item that can be a running header or footer (tables cannot).
trait EdgeText {
    fn edge_text(&self) -> Option<&str>;
}

impl EdgeText for String {
    fn edge_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl EdgeText for PageItem {
    fn edge_text(&self) -> Option<&str> {
        self.text()
    }
}

fn edge_lines<T: EdgeText>(lines: &[T]) -> impl Iterator<Item = (usize, &str)> {
    let n = lines.len();
    lines
        .iter()
        .enumerate()
        .filter(move |(i, _)| *i < EDGE_LINES || *i + EDGE_LINES >= n)
        .filter_map(|(i, l)| l.edge_text().map(|t| (i, t)))
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
