//! DOCX reader: body paragraphs and tables in document order, heading levels from styles and
//! outline levels, auto-numbers from numbering.xml. Written by hand over zip + quick-xml because
//! no Rust crate reads WordprocessingML with numbering, merged cells and fields done right.
//! Headers, footers, footnotes and field instructions are never read into the body.

use super::numbering::Numbering;
use super::xml::{self, Element, Node};
use crate::document::{Block, DocumentFormat, SourceAnchor, TenderDocument};
use crate::error::{ReadError, ReadLimits};
use crate::headings::{self, LevelTracker};
use std::collections::HashMap;
use std::io::{Cursor, Read};

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

pub fn read(archive: &mut Archive, limits: &ReadLimits) -> Result<TenderDocument, ReadError> {
    check_declared_sizes(archive, limits)?;
    let document = part(archive, "word/document.xml", limits)?
        .ok_or_else(|| ReadError::Corrupt("word/document.xml is missing".into()))?;
    let styles = match part(archive, "word/styles.xml", limits)? {
        Some(bytes) => Styles::parse(&parse_xml(&bytes, "word/styles.xml")?),
        None => Styles::default(),
    };
    let numbering = match part(archive, "word/numbering.xml", limits)? {
        Some(bytes) => Numbering::parse(&parse_xml(&bytes, "word/numbering.xml")?),
        None => Numbering::default(),
    };
    let root = parse_xml(&document, "word/document.xml")?;
    let body = root
        .path(&["document", "body"])
        .ok_or_else(|| ReadError::Corrupt("word/document.xml has no body".into()))?;
    let mut walker = BodyWalker {
        styles,
        numbering,
        levels: LevelTracker::default(),
        blocks: Vec::new(),
        paragraph_index: 0,
        table_index: 0,
    };
    walker.body(body);
    Ok(TenderDocument {
        format: DocumentFormat::Docx,
        pages: None,
        needs_ocr_pages: Vec::new(),
        blocks: walker.blocks,
    })
}

/// Refuses archives whose declared sizes or ratios are those of a zip bomb, before inflating anything.
fn check_declared_sizes(archive: &mut Archive, limits: &ReadLimits) -> Result<(), ReadError> {
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| ReadError::Corrupt(format!("ZIP entry {i} is damaged ({e})")))?;
        let size = entry.size();
        total = total.saturating_add(size);
        let ratio = size / entry.compressed_size().max(1);
        if size > 16 * 1024 * 1024 && ratio > 200 {
            return Err(ReadError::ZipBomb(format!(
                "entry {} expands {ratio}:1 to {size} bytes",
                entry.name().unwrap_or_default()
            )));
        }
    }
    if total > limits.max_uncompressed_bytes {
        return Err(ReadError::ZipBomb(format!(
            "entries expand to {total} bytes, limit {}",
            limits.max_uncompressed_bytes
        )));
    }
    Ok(())
}

/// One part of the package, inflated with a hard cap (declared sizes can lie).
fn part(archive: &mut Archive, name: &str, limits: &ReadLimits) -> Result<Option<Vec<u8>>, ReadError> {
    let entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(zip::result::ZipError::UnsupportedArchive(detail)) if detail.contains("ncrypt") => {
            return Err(ReadError::Encrypted)
        }
        Err(e) => return Err(ReadError::Corrupt(format!("{name}: {e}"))),
    };
    if entry.encrypted() {
        return Err(ReadError::Encrypted);
    }
    let cap = limits.max_uncompressed_bytes;
    let mut bytes = Vec::with_capacity(entry.size().min(cap) as usize);
    entry
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Corrupt(format!("{name} cannot be inflated ({e})")))?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::ZipBomb(format!("{name} expands past {cap} bytes")));
    }
    Ok(Some(bytes))
}

fn parse_xml(bytes: &[u8], name: &str) -> Result<Element, ReadError> {
    xml::parse(bytes).map_err(|e| ReadError::Corrupt(format!("{name}: {e}")))
}

#[derive(Debug, Default, Clone)]
struct Style {
    name: String,
    based_on: Option<String>,
    outline_level: Option<u8>,
    num_id: Option<String>,
    num_level: Option<u8>,
}

#[derive(Debug, Default)]
struct Styles {
    by_id: HashMap<String, Style>,
}

impl Styles {
    fn parse(root: &Element) -> Self {
        let mut by_id = HashMap::new();
        let Some(top) = root.child("styles") else {
            return Self { by_id };
        };
        for el in top.elements().filter(|e| e.name == "style") {
            let Some(id) = el.attr("styleId") else { continue };
            let p_pr = el.child("pPr");
            let num_pr = p_pr.and_then(|p| p.child("numPr"));
            by_id.insert(
                id.to_owned(),
                Style {
                    name: el.child("name").and_then(|n| n.attr("val")).unwrap_or("").to_owned(),
                    based_on: el.child("basedOn").and_then(|n| n.attr("val")).map(str::to_owned),
                    outline_level: p_pr
                        .and_then(|p| p.child("outlineLvl"))
                        .and_then(|o| o.attr("val"))
                        .and_then(|v| v.parse().ok()),
                    num_id: num_pr
                        .and_then(|n| n.child("numId"))
                        .and_then(|n| n.attr("val"))
                        .map(str::to_owned),
                    num_level: num_pr
                        .and_then(|n| n.child("ilvl"))
                        .and_then(|n| n.attr("val"))
                        .and_then(|v| v.parse().ok()),
                },
            );
        }
        Self { by_id }
    }

    /// The style and its ancestors, nearest first (cycles cut off).
    fn chain(&self, id: &str) -> Vec<&Style> {
        let mut chain = Vec::new();
        let mut next = Some(id);
        while let Some(id) = next {
            let Some(style) = self.by_id.get(id) else { break };
            if chain.len() > 10 {
                break;
            }
            chain.push(style);
            next = style.based_on.as_deref();
        }
        chain
    }

    /// Heading level from the style name ("heading 2", "标题 2") or the style's outline level.
    fn heading_level(&self, id: &str) -> Option<u8> {
        for style in self.chain(id) {
            if let Some(level) = heading_level_of_name(&style.name) {
                return Some(level);
            }
            if let Some(level) = style.outline_level {
                return (level < 9).then_some(level + 1);
            }
        }
        None
    }

    fn is_toc(&self, id: &str) -> bool {
        self.chain(id).first().is_some_and(|s| {
            let name = s.name.to_lowercase();
            name.starts_with("toc ") || name.starts_with("目录 ") || name == "table of figures"
        })
    }

    fn numbering(&self, id: &str) -> (Option<String>, Option<u8>) {
        let chain = self.chain(id);
        let num_id = chain.iter().find_map(|s| s.num_id.clone());
        let level = chain.iter().find_map(|s| s.num_level);
        (num_id, level)
    }
}

fn heading_level_of_name(name: &str) -> Option<u8> {
    let lower = name.to_lowercase();
    let rest = lower
        .strip_prefix("heading")
        .or_else(|| lower.strip_prefix("标题"))?
        .trim();
    rest.parse::<u8>().ok().filter(|l| (1..=9).contains(l))
}

/// Text of one paragraph plus text boxes found inside it (emitted after it).
#[derive(Default)]
struct ParagraphText {
    text: String,
    text_boxes: Vec<Element>,
    /// Nesting of complex fields; text is kept only in a field's result part.
    field_stack: Vec<bool>,
}

impl ParagraphText {
    fn in_instruction(&self) -> bool {
        self.field_stack.iter().any(|in_code| *in_code)
    }

    fn collect(&mut self, el: &Element) {
        for child in el.elements() {
            match child.name.as_str() {
                "pPr" | "rPr" | "del" | "delText" | "instrText" | "moveFrom" | "Fallback" => {}
                "fldChar" => match child.attr("fldCharType") {
                    Some("begin") => self.field_stack.push(true),
                    Some("separate") => {
                        if let Some(top) = self.field_stack.last_mut() {
                            *top = false;
                        }
                    }
                    Some("end") => {
                        self.field_stack.pop();
                    }
                    _ => {}
                },
                "t" if !self.in_instruction() => self.text.push_str(&child.own_text()),
                "tab" | "ptab" if !self.in_instruction() => self.text.push('\t'),
                "br" | "cr" if !self.in_instruction() => self.text.push(' '),
                "noBreakHyphen" if !self.in_instruction() => self.text.push('-'),
                "txbxContent" => self.text_boxes.push(shallow_clone(child)),
                _ => self.collect(child),
            }
        }
    }
}

/// Text boxes are walked later as body content; keep only what walking needs.
fn shallow_clone(el: &Element) -> Element {
    Element {
        name: el.name.clone(),
        attrs: el.attrs.clone(),
        children: el
            .children
            .iter()
            .map(|c| match c {
                Node::Element(e) => Node::Element(shallow_clone(e)),
                Node::Text(t) => Node::Text(t.clone()),
            })
            .collect(),
    }
}

struct BodyWalker {
    styles: Styles,
    numbering: Numbering,
    levels: LevelTracker,
    blocks: Vec<Block>,
    paragraph_index: u32,
    table_index: u32,
}

/// A paragraph after styles and numbering are applied.
struct ResolvedParagraph {
    label: Option<String>,
    text: String,
    heading_level: Option<u8>,
    is_toc: bool,
    text_boxes: Vec<Element>,
}

impl BodyWalker {
    fn body(&mut self, container: &Element) {
        for el in container.elements() {
            match el.name.as_str() {
                "p" => {
                    let anchor = SourceAnchor::Paragraph { index: self.paragraph_index };
                    self.paragraph_index += 1;
                    self.top_paragraph(el, anchor);
                }
                "tbl" => {
                    let anchor = SourceAnchor::Table { index: self.table_index, row: 0 };
                    self.table_index += 1;
                    let rows = self.table_rows(el);
                    if rows.iter().any(|r| r.iter().any(|c| !c.is_empty())) {
                        self.blocks.push(Block::Table { rows, anchor });
                    }
                }
                "sdt" => {
                    if let Some(content) = el.child("sdtContent") {
                        self.body(content);
                    }
                }
                "customXml" | "ins" | "moveTo" => self.body(el),
                _ => {}
            }
        }
    }

    fn resolve(&mut self, p: &Element) -> ResolvedParagraph {
        let p_pr = p.child("pPr");
        let style_id = p_pr
            .and_then(|pp| pp.child("pStyle"))
            .and_then(|s| s.attr("val"))
            .unwrap_or("");
        let (style_num, style_ilvl) = self.styles.numbering(style_id);
        let num_pr = p_pr.and_then(|pp| pp.child("numPr"));
        let num_id = num_pr
            .and_then(|n| n.child("numId"))
            .and_then(|n| n.attr("val"))
            .map(str::to_owned)
            .or(style_num);
        let ilvl = num_pr
            .and_then(|n| n.child("ilvl"))
            .and_then(|n| n.attr("val"))
            .and_then(|v| v.parse().ok())
            .or(style_ilvl)
            .unwrap_or(0);
        let mut collected = ParagraphText::default();
        collected.collect(p);
        let text = normalize_space(&collected.text);
        // An empty numbered paragraph prints nothing and Word does not count it either.
        let label = match &num_id {
            Some(id) if !text.is_empty() => self.numbering.next_label(id, ilvl),
            _ => None,
        };
        let outline_level = p_pr
            .and_then(|pp| pp.child("outlineLvl"))
            .and_then(|o| o.attr("val"))
            .and_then(|v| v.parse::<u8>().ok());
        let heading_level = match outline_level {
            Some(level) if level < 9 => Some(level + 1),
            Some(_) => None,
            None => self.styles.heading_level(style_id),
        };
        ResolvedParagraph {
            label,
            text,
            heading_level,
            is_toc: self.styles.is_toc(style_id),
            text_boxes: collected.text_boxes,
        }
    }

    fn top_paragraph(&mut self, p: &Element, anchor: SourceAnchor) {
        let resolved = self.resolve(p);
        if !resolved.text.is_empty() && !resolved.is_toc {
            self.blocks.push(paragraph_block(resolved.label, resolved.text, resolved.heading_level, anchor, &mut self.levels));
        }
        for text_box in resolved.text_boxes {
            let mut lines = Vec::new();
            self.cell_lines(&text_box, &mut lines);
            for line in lines {
                self.blocks.push(Block::Paragraph { text: line, anchor });
            }
        }
    }

    fn table_rows(&mut self, tbl: &Element) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for tr in tbl.elements().filter(|e| e.name == "tr") {
            let mut cells = Vec::new();
            for tc in cells_of(tr) {
                let continues_merge = tc
                    .path(&["tcPr", "vMerge"])
                    .is_some_and(|v| v.attr("val").is_none_or(|val| val == "continue"));
                let mut lines = Vec::new();
                self.cell_lines(tc, &mut lines);
                // A vertically merged continuation shows nothing of its own.
                cells.push(if continues_merge { String::new() } else { lines.join("\n") });
            }
            rows.push(cells);
        }
        rows
    }

    /// Paragraph texts inside a cell or text box, nested tables flattened row by row.
    fn cell_lines(&mut self, container: &Element, lines: &mut Vec<String>) {
        for el in container.elements() {
            match el.name.as_str() {
                "p" => {
                    let resolved = self.resolve(el);
                    if !resolved.text.is_empty() {
                        lines.push(match resolved.label {
                            Some(label) => format!("{label}{}{}", separator(&label), resolved.text),
                            None => resolved.text,
                        });
                    }
                    for text_box in resolved.text_boxes {
                        self.cell_lines(&text_box, lines);
                    }
                }
                "tbl" => {
                    for row in self.table_rows(el) {
                        let row: Vec<String> = row.into_iter().filter(|c| !c.is_empty()).collect();
                        if !row.is_empty() {
                            lines.push(row.join(" | "));
                        }
                    }
                }
                "sdt" | "sdtContent" | "customXml" | "ins" => self.cell_lines(el, lines),
                _ => {}
            }
        }
    }
}

fn cells_of(tr: &Element) -> Vec<&Element> {
    let mut cells = Vec::new();
    for el in tr.elements() {
        match el.name.as_str() {
            "tc" => cells.push(el),
            "sdt" | "customXml" => {
                let inner = el.child("sdtContent").unwrap_or(el);
                cells.extend(inner.elements().filter(|e| e.name == "tc"));
            }
            _ => {}
        }
    }
    cells
}

fn paragraph_block(
    label: Option<String>,
    text: String,
    style_level: Option<u8>,
    anchor: SourceAnchor,
    levels: &mut LevelTracker,
) -> Block {
    if let Some(level) = style_level {
        levels.styled(level);
        let (number, title) = match label {
            Some(label) => (Some(label), text),
            None => match headings::ladder_number(&text) {
                Some((_, number, rest)) if !rest.is_empty() => (Some(number), rest.to_owned()),
                _ => (None, text),
            },
        };
        return Block::Heading { level, number, text: title, anchor };
    }
    let full = match &label {
        Some(label) => format!("{label}{}{text}", separator(label)),
        None => text,
    };
    if let Some((rank, number, rest)) = headings::ladder_number(&full) {
        if headings::is_heading_like(rank, rest) {
            let level = levels.level_for(rank);
            return Block::Heading { level, number: Some(number), text: rest.to_owned(), anchor };
        }
    }
    Block::Paragraph { text: full, anchor }
}

/// "1." and "一、" already end in punctuation; "第一章" and "1.1" need a space before the title.
fn separator(label: &str) -> &'static str {
    if label.ends_with(['.', '、', '．', '）', ')', ':', '：']) || label.chars().last().is_some_and(|c| ('①'..='⑳').contains(&c)) {
        ""
    } else {
        " "
    }
}

/// Collapses runs of whitespace (tabs, non-breaking and ideographic spaces) into one space.
pub fn normalize_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c == '\u{3000}' || c == '\u{a0}' {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}
