//! Writes the proposal's `word/document.xml` (cover, TOC field, numbered headings, body, tables, the
//! requirement-coverage and technical-deviation tables) and zips it with the fixed parts.
//! Hand-written: the Rust docx crates lack a TOC field or heading-bound multi-level numbering.

use super::parts;
use super::ExportError;
use crate::check::compare;
use crate::content::ContentBlock;
use crate::outline::OutlineSection;
use crate::write::DeviationRow;
use crate::{Proposal, SectionStatus};
use aibid_tender::{RequirementKind, RequirementLedger};
use std::collections::HashMap;
use std::io::Write;

/// Text width of an A4 page with 2.54 cm margins, in twentieths of a point.
const TEXT_WIDTH: u32 = 9026;

pub fn export_docx(
    proposal: &Proposal,
    ledger: &RequirementLedger,
) -> Result<Vec<u8>, ExportError> {
    let document = document_xml(proposal, ledger);
    let title = proposal.facts.project_name.as_deref().unwrap_or("投标文件");
    let core = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{}</dc:title><dc:creator>aibid</dc:creator></cp:coreProperties>"#,
        escape(&format!("{title} 投标文件"))
    );
    let files: [(&str, &[u8]); 10] = [
        ("[Content_Types].xml", parts::CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", parts::PACKAGE_RELS.as_bytes()),
        ("docProps/core.xml", core.as_bytes()),
        ("docProps/app.xml", parts::APP.as_bytes()),
        (
            "word/_rels/document.xml.rels",
            parts::DOCUMENT_RELS.as_bytes(),
        ),
        ("word/document.xml", document.as_bytes()),
        ("word/styles.xml", parts::STYLES.as_bytes()),
        ("word/numbering.xml", parts::NUMBERING.as_bytes()),
        ("word/settings.xml", parts::SETTINGS.as_bytes()),
        ("word/footer1.xml", parts::FOOTER.as_bytes()),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(document.len() / 4)));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, bytes) in files {
        zip.start_file(name, options)
            .map_err(|e| ExportError::Package(format!("{name}: {e}")))?;
        zip.write_all(bytes)
            .map_err(|e| ExportError::Package(format!("{name}: {e}")))?;
    }
    let cursor = zip
        .finish()
        .map_err(|e| ExportError::Package(e.to_string()))?;
    Ok(cursor.into_inner())
}

fn document_xml(proposal: &Proposal, ledger: &RequirementLedger) -> String {
    let mut out = String::with_capacity(64 * 1024 + proposal.sections.len() * 16 * 1024);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#);
    out.push_str(r#"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>"#);
    cover(&mut out, proposal);
    toc(&mut out);

    let sections: HashMap<&str, &OutlineSection> = proposal
        .outline
        .sections
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    for result in &proposal.sections {
        let Some(section) = sections.get(result.section_id.as_str()) else {
            continue;
        };
        paragraph(
            &mut out,
            &format!("Heading{}", section.level.clamp(1, 4)),
            &section.title,
        );
        match &result.status {
            SectionStatus::Complete { draft } => {
                for block in &draft.blocks {
                    content_block(&mut out, block);
                }
            }
            SectionStatus::Failed { error } => {
                paragraph(
                    &mut out,
                    "Warning",
                    &format!("【本节生成失败：{error}。请重新生成本节后再提交。】"),
                );
            }
            SectionStatus::Pending => paragraph(&mut out, "Warning", "【本节尚未生成】"),
        }
    }

    coverage_table(&mut out, proposal, ledger);
    deviation_table(&mut out, proposal, ledger);

    out.push_str(r#"<w:sectPr><w:footerReference w:type="default" r:id="rId4"/><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>"#);
    out
}

fn cover(out: &mut String, proposal: &Proposal) {
    let facts = &proposal.facts;
    paragraph(
        out,
        "Title",
        facts
            .project_name
            .as_deref()
            .unwrap_or("【待填写：项目名称】"),
    );
    paragraph(out, "Subtitle", "投 标 文 件");
    let line = crate::fact_line;
    paragraph(out, "CoverLine", &line("项目名称", &facts.project_name));
    paragraph(out, "CoverLine", &line("项目编号", &facts.project_code));
    paragraph(out, "CoverLine", &line("预算金额", &facts.budget));
    paragraph(out, "CoverLine", &line("投标截止时间", &facts.deadline));
    paragraph(out, "CoverLine", "投标人：【待填写：投标人名称（盖章）】");
    paragraph(
        out,
        "CoverLine",
        "法定代表人或授权代表：【待填写：姓名（签字）】",
    );
    paragraph(out, "CoverLine", "日期：【待填写：年 月 日】");
    page_break(out);
}

fn toc(out: &mut String) {
    paragraph(out, "TOCHeading", "目　录");
    out.push_str(r#"<w:p><w:r><w:fldChar w:fldCharType="begin" w:dirty="true"/></w:r><w:r><w:instrText xml:space="preserve"> TOC \o "1-4" \h \z \u </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>（目录在打开文档时更新；如未显示，请右键选择“更新域”。）</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#);
    page_break(out);
}

fn coverage_table(out: &mut String, proposal: &Proposal, ledger: &RequirementLedger) {
    paragraph(out, "Heading1", "需求响应覆盖表");
    paragraph(
        out,
        "BodyText",
        &format!(
            "下表列出招标文件的全部 {} 项需求及其在本投标文件中的响应章节。",
            ledger.requirements.len()
        ),
    );
    let header = ["需求编号", "类型", "需求内容（摘要）", "响应章节", "状态"]
        .map(String::from)
        .to_vec();
    let rows: Vec<Vec<String>> = ledger
        .requirements
        .iter()
        .map(|item| {
            let section = proposal.outline.section_of(&item.id);
            let result =
                section.and_then(|s| proposal.sections.iter().find(|r| r.section_id == s.id));
            let status = match result.map(|r| &r.status) {
                None => "未分配章节",
                Some(SectionStatus::Complete { draft })
                    if draft.answered_ids.contains(&item.id) =>
                {
                    "已响应"
                }
                Some(SectionStatus::Complete { .. }) => "未响应",
                Some(SectionStatus::Failed { .. }) => "生成失败",
                Some(SectionStatus::Pending) => "待生成",
            };
            vec![
                item.id.clone(),
                kind_name(item.kind).to_string(),
                summary(&item.text, 60),
                section
                    .map(|s| format!("{} {}", s.number, s.title))
                    .unwrap_or_else(|| "—".into()),
                status.to_string(),
            ]
        })
        .collect();
    table(out, &header, &rows, Some(&[1300, 1000, 3826, 2000, 900]));
}

fn deviation_table(out: &mut String, proposal: &Proposal, ledger: &RequirementLedger) {
    paragraph(out, "Heading1", "技术参数偏离表");
    let answered: HashMap<&str, &DeviationRow> = proposal
        .sections
        .iter()
        .filter_map(|s| s.draft())
        .flat_map(|d| d.deviations.iter())
        .map(|row| (row.requirement_id.as_str(), row))
        .collect();
    let rows: Vec<Vec<String>> = ledger
        .requirements
        .iter()
        .filter(|r| r.kind == RequirementKind::Parameter || r.parameter.is_some())
        .map(|item| {
            let required = match &item.parameter {
                Some(p) => format!(
                    "{}{}{}{}",
                    p.name,
                    p.comparator,
                    p.value,
                    p.unit.clone().unwrap_or_default()
                ),
                None => summary(&item.text, 80),
            };
            match answered.get(item.id.as_str()) {
                Some(row) => {
                    let mut deviation = row.deviation.clone();
                    if let Some(p) = &item.parameter {
                        if compare(&p.comparator, &p.value, &row.offered)
                            == crate::check::ParameterVerdict::Violates
                        {
                            deviation =
                                format!("{deviation}（负偏离：不满足{}{}）", p.comparator, p.value);
                        }
                    }
                    vec![item.id.clone(), required, row.offered.clone(), deviation]
                }
                None => vec![
                    item.id.clone(),
                    required,
                    "【未响应】".into(),
                    "【待核对】".into(),
                ],
            }
        })
        .collect();
    if rows.is_empty() {
        paragraph(out, "BodyText", "招标文件未列出可逐项比较的技术参数。");
        return;
    }
    let header = ["需求编号", "招标要求", "投标响应", "偏离情况"]
        .map(String::from)
        .to_vec();
    table(out, &header, &rows, Some(&[1300, 3100, 3100, 1526]));
}

fn kind_name(kind: RequirementKind) -> &'static str {
    match kind {
        RequirementKind::Qualification => "资格要求",
        RequirementKind::Scoring => "评分项",
        RequirementKind::Mandatory => "实质性要求",
        RequirementKind::Parameter => "技术参数",
        RequirementKind::Commercial => "商务条款",
        RequirementKind::Format => "格式要求",
        RequirementKind::Disqualification => "废标条款",
    }
}

fn summary(text: &str, max_chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        flat
    } else {
        format!("{}…", flat.chars().take(max_chars).collect::<String>())
    }
}

fn content_block(out: &mut String, block: &ContentBlock) {
    match block {
        ContentBlock::SubHeading { text } => paragraph(out, "SubHeading", text),
        ContentBlock::Paragraph { text } => paragraph(out, "BodyText", text),
        ContentBlock::Bullets { items } => {
            for item in items {
                paragraph(out, "ListBullet", item);
            }
        }
        ContentBlock::Table { header, rows } => table(out, header, rows, None),
    }
}

fn paragraph(out: &mut String, style: &str, text: &str) {
    out.push_str(r#"<w:p><w:pPr><w:pStyle w:val=""#);
    out.push_str(style);
    out.push_str(r#""/></w:pPr>"#);
    runs(out, text, false);
    out.push_str("</w:p>");
}

fn page_break(out: &mut String) {
    out.push_str(r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#);
}

/// Text as runs; line breaks inside the text become `<w:br/>`.
fn runs(out: &mut String, text: &str, bold: bool) {
    out.push_str("<w:r>");
    if bold {
        out.push_str("<w:rPr><w:b/></w:rPr>");
    }
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<w:br/>");
        }
        out.push_str(r#"<w:t xml:space="preserve">"#);
        out.push_str(&escape(line.trim_end_matches('\r')));
        out.push_str("</w:t>");
    }
    out.push_str("</w:r>");
}

fn table(out: &mut String, header: &[String], rows: &[Vec<String>], widths: Option<&[u32]>) {
    let columns = rows
        .iter()
        .map(Vec::len)
        .chain(std::iter::once(header.len()))
        .max()
        .unwrap_or(1)
        .max(1);
    let widths: Vec<u32> = match widths {
        Some(w) if w.len() == columns => w.to_vec(),
        _ => content_widths(header, rows, columns),
    };
    out.push_str(r#"<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="5000" w:type="pct"/><w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0"/></w:tblPr><w:tblGrid>"#);
    for width in &widths {
        out.push_str(&format!(r#"<w:gridCol w:w="{width}"/>"#));
    }
    out.push_str("</w:tblGrid>");
    let mut row = |cells: &[String], is_header: bool| {
        out.push_str("<w:tr>");
        if is_header {
            out.push_str("<w:trPr><w:tblHeader/></w:trPr>");
        }
        for (column, width) in widths.iter().enumerate() {
            out.push_str(&format!(
                r#"<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>"#
            ));
            out.push_str(r#"<w:p><w:pPr><w:pStyle w:val="TableText"/></w:pPr>"#);
            runs(
                out,
                cells.get(column).map(String::as_str).unwrap_or(""),
                is_header,
            );
            out.push_str("</w:p></w:tc>");
        }
        out.push_str("</w:tr>");
    };
    row(header, true);
    for cells in rows {
        row(cells, false);
    }
    out.push_str("</w:tbl>");
    // Word requires a paragraph between a table and whatever follows it.
    out.push_str("<w:p/>");
}

/// Column widths in proportion to the longest text of each column (an id column stays narrow).
fn content_widths(header: &[String], rows: &[Vec<String>], columns: usize) -> Vec<u32> {
    let weights: Vec<u32> = (0..columns)
        .map(|c| {
            std::iter::once(header)
                .chain(rows.iter().map(Vec::as_slice))
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count() as u32)
                .max()
                .unwrap_or(0)
                .clamp(4, 40)
        })
        .collect();
    let total: u32 = weights.iter().sum::<u32>().max(1);
    weights.iter().map(|w| TEXT_WIDTH * w / total).collect()
}

/// XML text: escaped, and characters XML 1.0 forbids (control codes from damaged sources) dropped.
fn escape(text: &str) -> String {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if text.chars().all(allowed) {
        quick_xml::escape::escape(text).into_owned()
    } else {
        let clean: String = text.chars().filter(|c| allowed(*c)).collect();
        quick_xml::escape::escape(clean.as_str()).into_owned()
    }
}
