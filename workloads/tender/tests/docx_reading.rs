//! A small hand-built .docx exercising what real tenders rely on: heading styles (incl. 标题 N),
//! auto-numbers from numbering.xml, merged table cells, field codes and headers kept out of the body.

use aibid_tender::{read_document, Block, ReadLimits, SourceAnchor};
use std::io::Write;

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

fn docx(document: &str, styles: &str, numbering: &str) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("word/document.xml", document),
            ("word/styles.xml", styles),
            ("word/numbering.xml", numbering),
            (
                "word/header1.xml",
                "<w:hdr><w:p><w:r><w:t>RUNNING HEADER</w:t></w:r></w:p></w:hdr>",
            ),
        ] {
            zip.start_file(name, options).expect("zip entry in memory");
            zip.write_all(body.as_bytes()).expect("zip write in memory");
        }
        zip.finish().expect("zip in memory");
    }
    out.into_inner()
}

fn para(style: Option<&str>, num: Option<(u32, u32)>, text: &str) -> String {
    let style = style
        .map(|s| format!(r#"<w:pStyle w:val="{s}"/>"#))
        .unwrap_or_default();
    let num = num
        .map(|(id, lvl)| {
            format!(r#"<w:numPr><w:ilvl w:val="{lvl}"/><w:numId w:val="{id}"/></w:numPr>"#)
        })
        .unwrap_or_default();
    format!(
        r#"<w:p><w:pPr>{style}{num}</w:pPr><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#
    )
}

fn sample() -> Vec<u8> {
    let styles = format!(
        r#"<w:styles {W}>
<w:style w:type="paragraph" w:styleId="a1"><w:name w:val="标题 1"/></w:style>
<w:style w:type="paragraph" w:styleId="H2"><w:name w:val="heading 2"/></w:style>
<w:style w:type="paragraph" w:styleId="Outline3"><w:name w:val="My Outline"/><w:pPr><w:outlineLvl w:val="2"/></w:pPr></w:style>
</w:styles>"#
    );
    let numbering = format!(
        r#"<w:numbering {W}>
<w:abstractNum w:abstractNumId="0">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="第%1章"/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:isLgl/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2"/></w:lvl>
</w:abstractNum>
<w:abstractNum w:abstractNumId="1">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%1）"/></w:lvl>
</w:abstractNum>
<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
</w:numbering>"#
    );
    let field = r#"<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGEREF _Toc1 \h </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>见第</w:t></w:r><w:r><w:t>12页</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#;
    let table = r#"<w:tbl>
<w:tr><w:tc><w:p><w:r><w:t>评审因素</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>评分标准</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>分值</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>服务方案（30分）</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>应急方案完整</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>10分</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc><w:p><w:r><w:t>培训方案完整</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>20分</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>合计</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>30</w:t></w:r></w:p></w:tc></w:tr>
</w:tbl>"#;
    let body = [
        para(Some("a1"), Some((1, 0)), "招标公告"),
        para(Some("H2"), Some((1, 1)), "项目基本情况"),
        para(None, Some((2, 0)), "具有独立承担民事责任的能力"),
        para(None, Some((2, 0)), "本项目不接受联合体投标。"),
        field.to_owned(),
        para(Some("Outline3"), None, "评分标准"),
        table.to_owned(),
        para(Some("a1"), Some((1, 0)), "投标人须知"),
        para(Some("H2"), Some((1, 1)), "总则"),
    ]
    .concat();
    docx(
        &format!(r#"<w:document {W}><w:body>{body}</w:body></w:document>"#),
        &styles,
        &numbering,
    )
}

#[test]
fn headings_numbers_tables_and_fields() {
    let doc = read_document(&sample(), &ReadLimits::default()).expect("sample docx reads");
    let headings: Vec<(u8, Option<String>, String)> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading {
                level,
                number,
                text,
                ..
            } => Some((*level, number.clone(), text.clone())),
            _ => None,
        })
        .collect();
    let expected = [
        (1, Some("第一章"), "招标公告"),
        (2, Some("1.1"), "项目基本情况"),
        (3, None, "评分标准"),
        (1, Some("第二章"), "投标人须知"),
        (2, Some("2.1"), "总则"),
    ];
    let expected: Vec<(u8, Option<String>, String)> = expected
        .iter()
        .map(|(l, n, t)| (*l, n.map(str::to_owned), t.to_string()))
        .collect();
    assert_eq!(headings, expected);

    let paragraphs: Vec<&str> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        paragraphs.contains(&"（一）具有独立承担民事责任的能力"),
        "{paragraphs:?}"
    );
    assert!(
        paragraphs.contains(&"（二）本项目不接受联合体投标。"),
        "{paragraphs:?}"
    );
    assert!(
        paragraphs.contains(&"见第12页"),
        "field result kept: {paragraphs:?}"
    );
    let all_text = format!("{:?}", doc.blocks);
    assert!(
        !all_text.contains("PAGEREF"),
        "field code leaked into the body"
    );
    assert!(
        !all_text.contains("RUNNING HEADER"),
        "header leaked into the body"
    );

    let (rows, anchor) = doc
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table { rows, anchor } => Some((rows, anchor)),
            _ => None,
        })
        .expect("table present");
    assert_eq!(*anchor, SourceAnchor::Table { index: 0, row: 0 });
    assert_eq!(rows[1], ["服务方案（30分）", "应急方案完整", "10分"]);
    assert_eq!(
        rows[2],
        ["", "培训方案完整", "20分"],
        "vertical merge continuation shows nothing"
    );
    assert_eq!(
        rows[3],
        ["合计", "30"],
        "horizontally merged cell appears once"
    );
}

#[test]
fn ledger_reads_the_sample() {
    let report = aibid_tender::analyze(&sample(), &ReadLimits::default()).expect("analysable");
    let scoring: Vec<(f64, Option<&str>)> = report
        .requirements
        .iter()
        .filter(|r| r.kind == aibid_tender::RequirementKind::Scoring)
        .map(|r| (r.points.unwrap_or_default(), r.category.as_deref()))
        .collect();
    assert_eq!(
        scoring,
        [(10.0, Some("技术")), (20.0, Some("技术"))],
        "a 服务方案 group is technical (categories are normalised to 商务/技术/价格/其他)"
    );
    assert!(
        report.warnings.is_empty(),
        "10 + 20 = 30 matches the stated total: {:?}",
        report.warnings
    );
}
