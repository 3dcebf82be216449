//! The typed content of a written section (paragraphs, sub-headings, bullet lists, tables) and a
//! reader for the small Markdown subset the LLM is asked to answer in.

use serde::{Deserialize, Serialize};

/// One unit of a section's body. Sub-headings are inside the section and are not numbered outline headings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    SubHeading { text: String },
    Paragraph { text: String },
    Bullets { items: Vec<String> },
    Table { header: Vec<String>, rows: Vec<Vec<String>> },
}

impl ContentBlock {
    /// All visible text of the block, for checks that search the written proposal.
    pub fn text(&self) -> String {
        match self {
            ContentBlock::SubHeading { text } | ContentBlock::Paragraph { text } => text.clone(),
            ContentBlock::Bullets { items } => items.join("\n"),
            ContentBlock::Table { header, rows } => std::iter::once(header)
                .chain(rows.iter())
                .map(|row| row.join(" | "))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// Reads the Markdown subset of the writing prompt: `#` headings, `-`/`*`/`1.` bullets, `|` tables, paragraphs.
/// Hand-written because full Markdown crates produce an event stream we would fold into the same four blocks.
pub fn parse_markdown(markdown: &str) -> Vec<ContentBlock> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<String> = Vec::new();
    let mut bullets: Vec<String> = Vec::new();
    let mut table: Vec<Vec<String>> = Vec::new();

    fn flush(
        blocks: &mut Vec<ContentBlock>,
        paragraph: &mut Vec<String>,
        bullets: &mut Vec<String>,
        table: &mut Vec<Vec<String>>,
    ) {
        if !paragraph.is_empty() {
            blocks.push(ContentBlock::Paragraph { text: paragraph.join("") });
            paragraph.clear();
        }
        if !bullets.is_empty() {
            blocks.push(ContentBlock::Bullets { items: std::mem::take(bullets) });
        }
        if !table.is_empty() {
            let mut rows = std::mem::take(table);
            let header = rows.remove(0);
            blocks.push(ContentBlock::Table { header, rows });
        }
    }

    for raw in markdown.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with("```") {
            flush(&mut blocks, &mut paragraph, &mut bullets, &mut table);
            continue;
        }
        if line.starts_with('|') {
            if !paragraph.is_empty() || !bullets.is_empty() {
                flush(&mut blocks, &mut paragraph, &mut bullets, &mut Vec::new());
            }
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| strip_emphasis(c.trim()))
                .collect();
            let is_rule = cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')));
            if !is_rule {
                table.push(cells);
            }
            continue;
        }
        if !table.is_empty() {
            flush(&mut blocks, &mut Vec::new(), &mut Vec::new(), &mut table);
        }
        if let Some(heading) = line.strip_prefix('#') {
            flush(&mut blocks, &mut paragraph, &mut bullets, &mut table);
            let text = strip_emphasis(heading.trim_start_matches('#').trim());
            if !text.is_empty() {
                blocks.push(ContentBlock::SubHeading { text });
            }
            continue;
        }
        if let Some(item) = bullet_item(line) {
            if !paragraph.is_empty() {
                flush(&mut blocks, &mut paragraph, &mut Vec::new(), &mut Vec::new());
            }
            bullets.push(strip_emphasis(item));
            continue;
        }
        if !bullets.is_empty() {
            flush(&mut blocks, &mut Vec::new(), &mut bullets, &mut Vec::new());
        }
        paragraph.push(strip_emphasis(line));
    }
    flush(&mut blocks, &mut paragraph, &mut bullets, &mut table);
    blocks
}

fn bullet_item(line: &str) -> Option<&str> {
    for prefix in ["- ", "* ", "+ ", "• "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return Some(rest.trim());
        }
    }
    // "1. text" / "12. text": an ordered list item (but not "1.2 标题", which has no space after the dot).
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && digits <= 3 {
        if let Some(rest) = line[digits..].strip_prefix(". ") {
            return Some(rest.trim());
        }
    }
    None
}

fn strip_emphasis(text: &str) -> String {
    text.replace("**", "").replace("__", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_subset_becomes_typed_blocks() {
        let md = "## 总体方案\n我方将**严格**按照要求实施。\n第二句。\n\n- 要点一\n- 要点二\n\n| 序号 | 招标要求 |\n|---|---|\n| SC-001 | 16核 |\n结尾段落";
        let blocks = parse_markdown(md);
        assert_eq!(
            blocks,
            vec![
                ContentBlock::SubHeading { text: "总体方案".into() },
                ContentBlock::Paragraph { text: "我方将严格按照要求实施。第二句。".into() },
                ContentBlock::Bullets { items: vec!["要点一".into(), "要点二".into()] },
                ContentBlock::Table {
                    header: vec!["序号".into(), "招标要求".into()],
                    rows: vec![vec!["SC-001".into(), "16核".into()]]
                },
                ContentBlock::Paragraph { text: "结尾段落".into() },
            ]
        );
    }
}
