//! Word export: a valid OOXML package with heading styles, numbering and a TOC field, which LibreOffice
//! converts to a PDF holding every section title and every ledger item id of the coverage table.

mod common;

use aibid_proposal::outline::plan_outline;
use aibid_proposal::write::{SectionWriter, TemplateWriter};
use aibid_proposal::{check_proposal, convert_to_pdf, export_docx, generate, GenerateOptions, Proposal};
use aibid_tender::{RequirementLedger, TenderDocument};
use quick_xml::events::Event;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

pub async fn template_proposal(doc: &TenderDocument, ledger: &RequirementLedger) -> Proposal {
    let outline = plan_outline(doc, ledger);
    let writer: Arc<dyn SectionWriter> = Arc::new(TemplateWriter);
    generate(doc, ledger, &outline, writer, &GenerateOptions::default(), |_| {}).await
}

fn parts(docx: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("the .docx is a zip archive");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).expect("readable entry");
            let mut text = String::new();
            file.read_to_string(&mut text).expect("every part is UTF-8 text");
            (file.name().to_string(), text)
        })
        .collect()
}

fn assert_well_formed(name: &str, xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{name} is not well-formed XML at {}: {e}", reader.buffer_position()),
        }
    }
    assert_eq!(depth, 0, "{name}: unbalanced elements");
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("AIBID_TEST_TMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("aibid-proposal-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub fn pdf_text(pdf: &std::path::Path) -> String {
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils) must be installed: run ./hack/test.sh");
    assert!(output.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Text without whitespace, so titles wrapped across lines or spaced by layout still match.
pub fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[tokio::test]
async fn the_docx_is_a_valid_package_with_heading_styles_numbering_and_a_toc_field() {
    let (doc, ledger) = common::tender();
    let proposal = template_proposal(&doc, &ledger).await;
    let docx = export_docx(&proposal, &ledger).expect("export");
    let parts = parts(&docx);
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    for required in ["[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml", "word/numbering.xml", "word/settings.xml"] {
        assert!(names.contains(&required), "missing part {required}: {names:?}");
    }
    for (name, xml) in &parts {
        assert_well_formed(name, xml);
    }
    let part = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, x)| x.as_str()).unwrap_or("");
    let styles = part("word/styles.xml");
    for level in 1..=4 {
        assert!(styles.contains(&format!(r#"w:styleId="Heading{level}""#)), "Heading{level} style");
        assert!(styles.contains(&format!(r#"<w:outlineLvl w:val="{}"/>"#, level - 1)));
    }
    assert!(styles.contains(r#"w:eastAsia="黑体""#) && styles.contains(r#"w:eastAsia="宋体""#));
    let numbering = part("word/numbering.xml");
    for level in 1..=4 {
        assert!(numbering.contains(&format!(r#"<w:pStyle w:val="Heading{level}"/>"#)), "level {level} bound to its heading");
    }
    assert!(numbering.contains(r#"<w:lvlText w:val="%1.%2.%3.%4"/>"#));
    let document = part("word/document.xml");
    assert!(document.contains(r#"TOC \o "1-4" \h \z \u"#));
    assert!(part("word/settings.xml").contains(r#"<w:updateFields w:val="true"/>"#));
    for section in &proposal.outline.sections {
        assert!(document.contains(&format!(r#"<w:pStyle w:val="Heading{}"/>"#, section.level)));
    }
    assert!(document.contains("ZB-2024-001"), "cover carries the project code");
}

#[tokio::test]
async fn libreoffice_converts_it_and_the_pdf_holds_every_title_and_every_ledger_id() {
    let (doc, ledger) = common::tender();
    let proposal = template_proposal(&doc, &ledger).await;
    let report = check_proposal(&proposal, &ledger);
    assert_eq!(report.unanswered, Vec::<String>::new(), "the template answers every item");
    assert_eq!(report.mandatory_answered_share, 1.0);
    assert!(report.failed_sections.is_empty());

    let dir = scratch_dir("export");
    let docx_path = dir.join("proposal.docx");
    std::fs::write(&docx_path, export_docx(&proposal, &ledger).expect("export")).expect("write docx");
    let pdf = convert_to_pdf(&docx_path, &dir).expect("LibreOffice converts the docx (run ./hack/test.sh to install it)");
    let text = compact(&pdf_text(&pdf));
    for section in &proposal.outline.sections {
        assert!(text.contains(&compact(&format!("{} {}", section.number, section.title))), "PDF lacks section {} {}", section.number, section.title);
    }
    for title in ["需求响应覆盖表", "技术参数偏离表"] {
        assert!(text.contains(title), "PDF lacks {title}");
    }
    for item in &ledger.requirements {
        assert!(text.contains(&item.id), "coverage table lacks {}", item.id);
    }
    assert!(text.contains("CPU核数≥16核"), "deviation table lists the required value");
}

#[test]
fn converting_a_missing_file_names_it() {
    let missing = std::path::Path::new("/nonexistent/proposal.docx");
    let error = convert_to_pdf(missing, &std::env::temp_dir()).expect_err("no such file");
    assert!(error.to_string().contains("/nonexistent/proposal.docx"), "{error}");
}
