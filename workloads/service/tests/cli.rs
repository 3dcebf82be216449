//! The `aibid` binary as a user runs it: analyze --json on corpus documents, the OCR error on the scanned one,
//! generate on the project's example tender (template writer, and the LLM writer against the local fake server).

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn aibid() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aibid"));
    // The user's LLM settings must not leak into these tests.
    for name in [
        "LLM_API_KEY",
        "LLM_BASE_URL",
        "LLM_MODEL",
        "LLM_TIMEOUT",
        "LLM_MAX_RETRIES",
    ] {
        command.env_remove(name);
    }
    command
}

fn corpus() -> PathBuf {
    let dir = std::env::var("AIBID_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    assert!(
        dir.is_dir(),
        "tender corpus not found at {} (set AIBID_CORPUS or run ./hack/test.sh)",
        dir.display()
    );
    dir
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/smart_campus_network.txt")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn analyze_json_has_the_promised_shape_on_corpus_documents() {
    for name in [
        "yangxi_tax_aux_services.txt",
        "sichuan_iptv_metadata_cs.docx",
        "luodian_school_canteen_cs.pdf",
    ] {
        let output = aibid()
            .args(["analyze", "--json"])
            .arg(corpus().join(name))
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{name}: {stderr}");
        let report: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: not JSON ({e})"));
        for key in ["format", "pages", "needs_ocr_pages"] {
            assert!(
                report["document"].get(key).is_some(),
                "{name}: document.{key} missing"
            );
        }
        for key in ["project_name", "project_code", "budget", "deadline"] {
            assert!(
                report["facts"].get(key).is_some(),
                "{name}: facts.{key} missing"
            );
        }
        let requirements = report["requirements"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: requirements missing"));
        assert!(!requirements.is_empty(), "{name}: no requirements");
        let kinds = [
            "qualification",
            "scoring",
            "mandatory",
            "parameter",
            "commercial",
            "format",
            "disqualification",
        ];
        for item in requirements {
            for key in [
                "id", "kind", "text", "marker", "points", "category", "anchor",
            ] {
                assert!(
                    item.get(key).is_some(),
                    "{name}: requirement field {key} missing in {item}"
                );
            }
            assert!(
                kinds.contains(&item["kind"].as_str().unwrap_or("")),
                "{name}: unknown kind in {item}"
            );
        }
    }
}

#[test]
fn analyze_prints_a_summary_with_the_facts() {
    let output = aibid().arg("analyze").arg(example()).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("JSZC-2026-0417"), "{stdout}");
}

#[test]
fn a_scanned_pdf_is_an_error_that_says_ocr_is_needed() {
    let output = aibid()
        .args(["analyze", "--json"])
        .arg(corpus().join("oriental_insurance_actuarial_notice.pdf"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(
        !output.status.success(),
        "a fully scanned document must not succeed: {stdout}"
    );
    assert!(
        stderr.contains("OCR"),
        "the error must say OCR is needed: {stderr}"
    );
    assert!(
        stderr.contains('1') && stderr.contains('2'),
        "the error lists the pages: {stderr}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let missing = aibid()
        .args(["analyze", "/nonexistent/tender.pdf"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(text(&missing).1.contains("/nonexistent/tender.pdf"));
    let dir = std::env::temp_dir().join(format!("aibid-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("image.pdf");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let output = aibid().arg("analyze").arg(&png).output().unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).1.contains("image.pdf"),
        "the error names the file"
    );
}

#[test]
fn generate_writes_a_docx_for_the_example_tender() {
    let out = std::env::temp_dir().join(format!("aibid-cli-{}-proposal.docx", std::process::id()));
    let output = aibid()
        .arg("generate")
        .arg(example())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("coverage:") && stdout.contains("tokens:") && stdout.contains("0 failed"),
        "{stdout}"
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"PK"), "a .docx is a zip archive");
}

#[test]
fn generate_with_the_llm_writer_uses_the_endpoint_and_reports_failures() {
    use aibid_proposal::testing::{FakeLlm, FakeReply};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeLlm::start()).unwrap();
    let out = std::env::temp_dir().join(format!("aibid-cli-{}-llm.docx", std::process::id()));

    let ok = aibid()
        .env("LLM_API_KEY", "sk-cli-test")
        .args([
            "generate",
            "--llm-model",
            "fake-model",
            "--llm-base-url",
            &fake.base_url(),
        ])
        .arg(example())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&ok);
    assert!(ok.status.success(), "{stdout}\n{stderr}");
    assert!(!fake.requests().is_empty(), "the LLM endpoint was called");
    assert!(
        !stdout.contains("tokens: 0 prompt"),
        "token use is reported: {stdout}"
    );

    // Every call fails: the docx is still written, failures are listed, the exit code is non-zero.
    fake.set_default(FakeReply::Malformed);
    let failed = aibid()
        .env("LLM_API_KEY", "sk-cli-test")
        .env("LLM_MAX_RETRIES", "0")
        .args(["generate", "--llm-base-url", &fake.base_url()])
        .arg(example())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&failed);
    assert!(
        !failed.status.success(),
        "failed sections must fail the command: {stdout}"
    );
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(stderr.contains("failed"), "{stderr}");
    assert!(std::fs::read(&out).unwrap().starts_with(b"PK"));
    drop(runtime);
}

#[test]
fn config_check_masks_secrets_and_names_bad_settings() {
    let output = aibid()
        .args(["config", "check"])
        .env("JWT_SECRET", "a-very-long-jwt-secret-for-the-cli-test-0123")
        .env("LLM_API_KEY", "sk-cli-secret")
        .env("ENCRYPTION_KEY", "cli-encryption-key-0123456789-abcdefgh")
        .env("DATABASE_URL", "postgres://aibid:pg-secret@db/aibid")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stdout.contains("a-very-long-jwt-secret")
            && !stdout.contains("sk-cli-secret")
            && !stdout.contains("cli-encryption-key")
            && !stdout.contains("pg-secret")
    );
    assert!(
        stdout.contains("JWT_SECRET = **** (environment)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ENCRYPTION_KEY = **** (environment)"),
        "{stdout}"
    );

    let bad = aibid()
        .args(["config", "check"])
        .env("JWT_SECRET", "short")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(text(&bad).1.contains("JWT_SECRET"));

    let short_key = aibid()
        .args(["config", "check"])
        .env("ENCRYPTION_KEY", "too-short")
        .output()
        .unwrap();
    assert!(!short_key.status.success());
    let (_, stderr) = text(&short_key);
    assert!(stderr.contains("ENCRYPTION_KEY"), "{stderr}");
    assert!(!stderr.contains("too-short"), "the key leaked: {stderr}");
}

/// Every role the operator starts pods with (`role: "..."` in operator/src/render) is an `aibid` subcommand, so no
/// rendered pod crash-loops on "unrecognized subcommand".
#[test]
fn every_role_the_operator_renders_is_a_subcommand() {
    let render = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../operator/src/render");
    let mut roles = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&render).expect("operator/src/render is readable") {
        let text = std::fs::read_to_string(entry.expect("directory entry").path())
            .expect("render module is readable");
        for rest in text.split("role: \"").skip(1) {
            if let Some((role, _)) = rest.split_once('"') {
                roles.insert(role.to_string());
            }
        }
    }
    assert!(
        roles.len() >= 5,
        "expected api, worker, scheduler, monitor and migrate in operator/src/render, found {roles:?}"
    );
    for role in &roles {
        let out = aibid()
            .args([role.as_str(), "--help"])
            .output()
            .expect("aibid runs");
        assert!(
            out.status.success(),
            "the operator renders pods running `aibid {role}`, which aibid does not know: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
