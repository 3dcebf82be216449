//! Supplier qualification requirements (资格要求): the items under every 资格要求/资格条件 section
//! and the rows of 资格审查 tables, once each.

use super::{Found, Line};
use crate::ledger::RequirementKind;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static qualification pattern")
}

static SECTION_START: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:供应商|投标人|申请人|响应人|投标供应商|竞标人|磋商供应商)?(?:的)?(?:资格要求|资格条件|资质要求|资格审查(?:要求|内容|表)?|合格(?:的)?(?:投标人|供应商)|资格性审查|投标人资格|Eligibility Criteria|Eligibility|Qualification Criteria|Pre-?Qualification)")
});
/// Short lines that open a different part of a notice or chapter.
static SECTION_END: LazyLock<Regex> = LazyLock::new(|| {
    re(r"获取(?:招标|采购|磋商|谈判)?文件|提交(?:投标|响应)文件|投标截止|响应文件提交|开标|公告期限|其他补充事宜|联系方式|采购需求|项目概况|评分|评审|投标保证金|报名|Scope of Work|Terms and Conditions|Bid Submission")
});
static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s*(?:[0-9]{1,2}(?:\.[0-9]{1,2})*\s*[.、．)]|[（(][0-9一二三四五六七八九十]{1,3}[）)]|[一二三四五六七八九十]{1,3}[、．]|[①-⑳]|[a-zA-Z][.)]|\([a-zA-Z]\)|[ivx]{1,4}[.)]|[•·●▪-])")
});
const MAX_SECTION_LINES: usize = 45;

pub fn extract(lines: &[Line]) -> Vec<Found> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let Some(same_line) = opening(line) else {
            i += 1;
            continue;
        };
        for part in same_line {
            push(&mut items, &mut seen, &part, line);
        }
        let start_level = line.heading;
        let start_table = line.table;
        let mut j = i + 1;
        while j < lines.len() && j <= i + MAX_SECTION_LINES {
            let next = &lines[j];
            if ends_section(next, start_level, start_table) {
                break;
            }
            for text in requirement_texts(next) {
                if text.chars().count() >= 6 && (NUMBERED.is_match(&text) || next.is_row() || text.chars().count() <= 160) {
                    push(&mut items, &mut seen, &text, next);
                }
            }
            j += 1;
        }
        i = j.max(i + 1);
    }
    items
}

/// Whether a text opens a qualification section: a title, not a sentence mentioning 资格要求 in passing.
fn is_title(text: &str, is_heading: bool) -> bool {
    let text = text.trim();
    let len = text.chars().count();
    SECTION_START.find(text).is_some_and(|m| {
        let before = text[..m.start()].chars().count();
        let colon_after = text[m.end()..].trim_start().starts_with(['：', ':']);
        is_heading || len <= 40 || (before <= 12 && colon_after)
    }) && !text.contains("资格要求的证明") && !text.contains("见")
}

/// When the line opens a section, the requirement texts it carries itself (rest of the title line,
/// other cells of the row, lines of a multi-line cell).
fn opening(line: &Line) -> Option<Vec<String>> {
    match line.cells {
        None => {
            let first = line.text.lines().next().unwrap_or("");
            if !is_title(first, line.heading.is_some()) {
                return None;
            }
            Some(after_title(&line.text).map(split_items).unwrap_or_default())
        }
        Some(cells) => {
            let title_cell = cells.iter().position(|c| is_title(c.lines().next().unwrap_or(""), false))?;
            let mut parts = Vec::new();
            for (k, cell) in cells.iter().enumerate() {
                if k == title_cell {
                    parts.extend(cell.lines().skip(1).map(str::to_owned));
                    if let Some(rest) = cell.lines().next().and_then(after_title) {
                        parts.insert(0, rest.to_owned());
                    }
                } else if cell.chars().count() >= 6 {
                    parts.extend(split_items(cell));
                }
            }
            Some(parts.into_iter().filter(|p| p.chars().count() >= 6).collect())
        }
    }
}

fn split_items(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| l.chars().count() >= 6).map(str::to_owned).collect()
}

fn after_title(text: &str) -> Option<&str> {
    let first = text.lines().next()?;
    let m = SECTION_START.find(first)?;
    let rest = first[m.end()..].trim_start_matches(['：', ':', ' ']).trim();
    (rest.chars().count() >= 6).then_some(rest)
}

fn ends_section(line: &Line, start_level: Option<u8>, start_table: Option<usize>) -> bool {
    if let (Some(level), Some(start)) = (line.heading, start_level) {
        if level <= start {
            return true;
        }
    }
    // A qualification table ends where the table ends.
    if start_table.is_some() && line.table != start_table {
        return true;
    }
    let len = line.text.chars().count();
    (line.heading.is_some() || len <= 30) && SECTION_END.is_match(&line.text) && !line.is_row()
}

/// A row's requirements are in its longest cell (the others are numbers, "是/否", page
/// references), one per line of a multi-line cell.
fn requirement_texts(line: &Line) -> Vec<String> {
    match line.cells {
        Some(cells) => cells
            .iter()
            .max_by_key(|c| c.chars().count())
            .map(|c| split_items(c))
            .unwrap_or_default(),
        None => vec![line.text.clone()],
    }
}

fn push(items: &mut Vec<Found>, seen: &mut HashSet<String>, text: &str, line: &Line) {
    let key: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if seen.insert(key) {
        items.push(Found::new(RequirementKind::Qualification, super::markers::shorten(text.trim()), line.anchor));
    }
}
