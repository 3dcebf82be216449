//! The LLM writer against the local fake OpenAI-compatible server: retries, Retry-After, giving up,
//! the concurrency bound, continuation, malformed answers, prompt contents and key handling.

mod common;

use aibid_proposal::outline::plan_outline;
use aibid_proposal::testing::{FakeLlm, FakeReply};
use aibid_proposal::write::{LlmConfig, LlmWriter, SectionRequest, SectionWriter, WriteError};
use aibid_proposal::{check_proposal, export_docx, generate, GenerateOptions, SectionStatus};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk-test-4b1d9c0ffee-secret";

fn config(fake: &FakeLlm) -> LlmConfig {
    LlmConfig {
        base_url: fake.base_url(),
        api_key: KEY.into(),
        model: "deepseek-chat".into(),
        timeout: Duration::from_secs(10),
        max_retries: 3,
        max_concurrency: 4,
        backoff_base: Duration::from_millis(20),
        max_continuations: 3,
    }
}

/// The request for the technical section that answers SC-001.
fn request_for(item_id: &str) -> SectionRequest {
    let (doc, ledger) = common::tender();
    let outline = plan_outline(&doc, &ledger);
    let section = outline
        .section_of(item_id)
        .map(|s| s.id.clone())
        .unwrap_or_default();
    match SectionRequest::build(&doc, &ledger, &outline, &section) {
        Ok(request) => request,
        Err(e) => panic!("cannot build request for {item_id}: {e}"),
    }
}

fn gaps(fake: &FakeLlm) -> Vec<Duration> {
    let requests = fake.requests();
    requests
        .windows(2)
        .map(|w| w[1].received_at.duration_since(w[0].received_at))
        .collect()
}

#[tokio::test]
async fn server_errors_are_retried_with_growing_backoff() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.push([
        FakeReply::ServerError,
        FakeReply::ServerError,
        FakeReply::Normal,
    ]);
    let writer = LlmWriter::new(config(&fake)).expect("valid config");
    let draft = writer
        .write(&request_for("SC-001"))
        .await
        .expect("third attempt succeeds");
    assert_eq!(fake.requests().len(), 3);
    assert!(
        draft.answered_ids.contains(&"SC-001".to_string()),
        "{draft:?}"
    );
    let gaps = gaps(&fake);
    // Backoff base 20 ms: the first wait is >= 20 ms, the second >= 40 ms.
    assert!(gaps[0] >= Duration::from_millis(20), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(40), "{gaps:?}");
}

#[tokio::test]
async fn timeouts_are_retried() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.push([FakeReply::Slow { delay_ms: 3_000 }, FakeReply::Normal]);
    let writer = LlmWriter::new(LlmConfig {
        timeout: Duration::from_millis(300),
        ..config(&fake)
    })
    .expect("valid");
    let draft = writer
        .write(&request_for("SC-001"))
        .await
        .expect("second attempt succeeds");
    assert!(!draft.blocks.is_empty());
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn rate_limits_honour_retry_after_and_halve_the_concurrency_bound() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.push([
        FakeReply::RateLimited {
            retry_after_secs: 1,
        },
        FakeReply::Normal,
    ]);
    let outcomes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    let writer = LlmWriter::new(config(&fake))
        .expect("valid config")
        .with_attempt_observer(Arc::new(move |outcome| {
            seen.lock().expect("not poisoned").push(outcome)
        }));
    writer
        .write(&request_for("SC-001"))
        .await
        .expect("retry after the wait succeeds");
    assert_eq!(
        *outcomes.lock().expect("not poisoned"),
        ["rate_limited", "ok"],
        "every attempt is reported, the retried one included"
    );
    let gaps = gaps(&fake);
    assert_eq!(gaps.len(), 1);
    assert!(
        gaps[0] >= Duration::from_secs(1),
        "waited only {:?} after Retry-After: 1",
        gaps[0]
    );
    assert_eq!(
        writer.current_concurrency_limit(),
        2,
        "the bound of 4 halves after a 429"
    );
}

#[tokio::test]
async fn gives_up_after_max_retries_and_the_section_stays_failed_and_visible() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.set_default(FakeReply::ServerError);
    let writer = LlmWriter::new(config(&fake)).expect("valid config");
    let error = writer
        .write(&request_for("SC-001"))
        .await
        .expect_err("every attempt fails");
    assert!(
        matches!(error, WriteError::RetriesExhausted { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(fake.requests().len(), 4, "1 attempt + 3 retries");
    assert!(!error.to_string().contains(KEY));

    // Through the pipeline: every section fails, none is dropped or counted complete.
    let (doc, ledger) = common::tender();
    let outline = plan_outline(&doc, &ledger);
    let writer: Arc<dyn SectionWriter> = Arc::new(
        LlmWriter::new(LlmConfig {
            max_retries: 0,
            ..config(&fake)
        })
        .expect("valid config"),
    );
    let proposal = generate(
        &doc,
        &ledger,
        &outline,
        writer,
        &GenerateOptions::default(),
        |_| {},
    )
    .await;
    assert_eq!(proposal.sections.len(), outline.sections.len());
    assert_eq!(proposal.failed, outline.sections.len());
    assert_eq!(proposal.complete_count(), 0);
    assert!(proposal.sections.iter().all(
        |s| matches!(&s.status, SectionStatus::Failed { error } if error.contains("HTTP 500"))
    ));
    let report = check_proposal(&proposal, &ledger);
    assert!(!report.passed);
    assert_eq!(report.failed_sections.len(), outline.sections.len());
    assert_eq!(report.unanswered.len(), ledger.requirements.len());
    let docx = export_docx(&proposal, &ledger).expect("a failed proposal still exports");
    let document = common_docx_text(&docx);
    assert!(
        document.contains("本节生成失败"),
        "failed sections are marked in the document"
    );
    assert!(document.contains("生成失败"));
}

fn common_docx_text(docx: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("docx is a zip");
    let mut file = archive.by_name("word/document.xml").expect("document part");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).expect("utf-8 document");
    text
}

#[tokio::test]
async fn concurrency_bound_is_never_exceeded() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.set_delay(Duration::from_millis(150));
    let (doc, ledger) = common::tender();
    let outline = plan_outline(&doc, &ledger);
    assert!(
        outline.sections.len() >= 6,
        "enough sections to contend: {}",
        outline.sections.len()
    );
    let writer: Arc<dyn SectionWriter> = Arc::new(
        LlmWriter::new(LlmConfig {
            max_concurrency: 2,
            ..config(&fake)
        })
        .expect("valid config"),
    );
    let proposal = generate(
        &doc,
        &ledger,
        &outline,
        writer,
        &GenerateOptions { concurrency: 8 },
        |_| {},
    )
    .await;
    assert_eq!(proposal.failed, 0);
    assert_eq!(fake.requests().len(), outline.sections.len());
    assert_eq!(
        fake.max_in_flight(),
        2,
        "two calls ran together, never more"
    );
    let report = check_proposal(&proposal, &ledger);
    assert_eq!(report.unanswered, Vec::<String>::new());
    assert!(proposal.usage.prompt_tokens > 0 && proposal.usage.completion_tokens > 0);
}

#[tokio::test]
async fn an_answer_cut_off_by_length_is_continued_and_concatenated() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.push([
        FakeReply::Truncated {
            content: "我方技术方案第一部分，".into(),
        },
        FakeReply::Text {
            content: "第二部分完整收尾。〔SC-001〕".into(),
        },
    ]);
    let writer = LlmWriter::new(config(&fake)).expect("valid config");
    let draft = writer
        .write(&request_for("SC-001"))
        .await
        .expect("continued answer");
    assert!(
        draft
            .text()
            .contains("我方技术方案第一部分，第二部分完整收尾。"),
        "{}",
        draft.text()
    );
    assert_eq!(draft.answered_ids, ["SC-001"]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let messages = requests[1].body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(messages.len(), 4, "system, user, partial answer, continue");
    assert_eq!(messages[2]["content"], "我方技术方案第一部分，");
    assert!(draft.usage.completion_tokens > 0);
    assert_eq!(writer.total_usage(), draft.usage);
}

#[tokio::test]
async fn malformed_json_and_empty_choices_are_clear_errors_without_retry() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.push([FakeReply::Malformed, FakeReply::EmptyChoices]);
    let writer = LlmWriter::new(config(&fake)).expect("valid config");
    let malformed = writer
        .write(&request_for("SC-001"))
        .await
        .expect_err("malformed body");
    assert!(
        matches!(malformed, WriteError::MalformedResponse(_)),
        "{malformed:?}"
    );
    assert!(malformed
        .to_string()
        .contains("not a chat-completion JSON body"));
    let empty = writer
        .write(&request_for("SC-001"))
        .await
        .expect_err("empty choices");
    assert_eq!(empty, WriteError::EmptyContent);
    assert_eq!(fake.requests().len(), 2, "neither is retried");
}

#[tokio::test]
async fn prompts_hold_the_sections_items_and_passages_but_not_the_whole_tender() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    let writer = LlmWriter::new(config(&fake)).expect("valid config");
    let request = request_for("PA-001");
    writer.write(&request).await.expect("normal answer");
    let prompt = fake.requests()[0].prompt_text();
    assert!(!request.items.is_empty());
    for item in &request.items {
        assert!(
            prompt.contains(&item.text),
            "prompt lacks item {}: {prompt}",
            item.id
        );
        assert!(prompt.contains(&format!("〔{}〕", item.id)));
    }
    assert!(
        prompt.contains("CPU核数≥16核，主频≥2.4GHz。"),
        "the source passage of PA-001 is included"
    );
    assert!(
        prompt.contains("某市政务云平台扩容项目") && prompt.contains("ZB-2024-001"),
        "project facts"
    );
    assert!(
        !prompt.contains(common::SENTINEL),
        "an unrelated chapter leaked into the prompt"
    );
    assert!(
        !prompt.contains("类似业绩"),
        "items of other sections stay out"
    );
}

#[tokio::test]
async fn the_key_is_sent_as_bearer_and_never_shown() {
    let fake = FakeLlm::start().await.expect("fake server starts");
    fake.set_default(FakeReply::ServerError);
    let config = LlmConfig {
        max_retries: 0,
        ..config(&fake)
    };
    assert!(!format!("{config:?}").contains(KEY), "Debug hides the key");
    let writer = LlmWriter::new(config).expect("valid config");
    let error = writer.write(&request_for("SC-001")).await.expect_err("500");
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(!error.to_string().contains(KEY));
    assert!(!format!("{error:?}").contains(KEY));

    // An unreachable endpoint: the transport error names no key either.
    let closed = LlmWriter::new(LlmConfig {
        base_url: "http://127.0.0.1:9".into(),
        max_retries: 0,
        ..LlmConfig {
            api_key: KEY.into(),
            ..LlmConfig::default()
        }
    })
    .expect("valid config");
    let error = closed
        .write(&request_for("SC-001"))
        .await
        .expect_err("nothing listens on port 9");
    assert!(!error.to_string().contains(KEY), "{error}");
}

#[test]
fn an_empty_key_or_bad_url_is_rejected_up_front() {
    let empty = LlmWriter::new(LlmConfig::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        empty.as_deref(),
        Some("LLM settings are invalid: the API key is empty")
    );
    let bad = LlmWriter::new(LlmConfig {
        api_key: KEY.into(),
        base_url: "api.deepseek.com".into(),
        ..LlmConfig::default()
    });
    assert!(
        matches!(bad, Err(WriteError::Config(message)) if message.contains("must start with http"))
    );
}
