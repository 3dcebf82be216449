//! End to end on real tenders from the corpus (AIBID_CORPUS): read, ledger, outline, template proposal,
//! Word export, LibreOffice PDF; the PDF's coverage table lists every ledger item.

mod common;

use aibid_proposal::outline::plan_outline;
use aibid_proposal::write::{SectionWriter, TemplateWriter};
use aibid_proposal::{check_proposal, convert_to_pdf, export_docx, generate, GenerateOptions};
use aibid_tender::{build_ledger, read_document, ReadLimits};
use std::path::PathBuf;
use std::sync::Arc;

/// One docx and one text-layer PDF with ★ items, parameters and scoring tables.
const TENDERS: [&str; 2] = ["sichuan_iptv_metadata_cs.docx", "yangjiang_tax_canteen.pdf"];

fn corpus() -> PathBuf {
    let dir = std::env::var_os("AIBID_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    assert!(
        dir.is_dir(),
        "tender corpus not found at {} — set AIBID_CORPUS or run ./hack/test.sh",
        dir.display()
    );
    dir
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[tokio::test]
async fn real_tenders_become_proposals_whose_coverage_table_lists_every_ledger_item() {
    let corpus = corpus();
    let scratch = std::env::var_os("AIBID_TEST_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("aibid-proposal-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    for name in TENDERS {
        let path = corpus.join(name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read corpus file {}: {e}", path.display()));
        let doc =
            read_document(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ledger = build_ledger(&doc);
        assert!(
            ledger.requirements.len() >= 5,
            "{name}: too few ledger items ({})",
            ledger.requirements.len()
        );

        let outline = plan_outline(&doc, &ledger);
        let coverage = outline.coverage(&ledger);
        assert!(coverage.is_complete(), "{name}: {coverage:?}");
        assert_eq!(coverage.mandatory_share, 1.0, "{name}");

        let writer: Arc<dyn SectionWriter> = Arc::new(TemplateWriter);
        let proposal = generate(
            &doc,
            &ledger,
            &outline,
            writer,
            &GenerateOptions::default(),
            |_| {},
        )
        .await;
        let report = check_proposal(&proposal, &ledger);
        assert_eq!(report.unanswered, Vec::<String>::new(), "{name}");
        assert!(report.failed_sections.is_empty(), "{name}");
        assert_eq!(report.fact_mismatches, vec![], "{name}");

        let stem = name.replace('.', "_");
        let docx_path = scratch.join(format!("{stem}.docx"));
        std::fs::write(&docx_path, export_docx(&proposal, &ledger).expect("export"))
            .expect("write docx");
        let pdf = convert_to_pdf(&docx_path, &scratch).unwrap_or_else(|e| panic!("{name}: {e}"));
        let output = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) must be installed: run ./hack/test.sh");
        let text = compact(&String::from_utf8_lossy(&output.stdout));
        for item in &ledger.requirements {
            assert!(
                text.contains(&item.id),
                "{name}: the PDF's coverage table lacks {}",
                item.id
            );
        }
        for section in outline.sections.iter().filter(|s| s.level == 1) {
            assert!(
                text.contains(&compact(&section.title)),
                "{name}: PDF lacks section {}",
                section.title
            );
        }
        eprintln!(
            "{name}: {} items, {} sections ({:?}), {} bytes docx",
            ledger.requirements.len(),
            outline.sections.len(),
            outline.source,
            std::fs::metadata(&docx_path).map(|m| m.len()).unwrap_or(0)
        );
    }
}
