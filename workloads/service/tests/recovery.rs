//! Durable work across process deaths: a worker process killed with SIGKILL in the middle of a generation, then a
//! new worker: every section ends up written exactly once. Real PostgreSQL, real Redis, the real `aibid worker`
//! binary; the LLM is the local fake server answering slowly so the kill lands mid-section.

mod common;

use aibid::queue::redis_streams::RedisQueue;
use aibid::queue::TaskQueue;
use aibid::store::accounts::Role;
use aibid::store::testing;
use aibid_proposal::testing::FakeLlm;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/smart_campus_network.txt"
);

/// `metrics_port`: where the worker serves /metrics, or None for metrics off (the probes still get a free port).
fn start_worker(
    database_url: &str,
    redis_url: &str,
    llm_url: &str,
    stream: &str,
    metrics_port: Option<u16>,
) -> Child {
    let metrics = match metrics_port {
        Some(port) => [
            ("METRICS_ENABLED", "true".to_string()),
            ("METRICS_PORT", port.to_string()),
        ],
        None => [
            ("METRICS_ENABLED", "false".to_string()),
            (
                "METRICS_PORT",
                std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .unwrap()
                    .port()
                    .to_string(),
            ),
        ],
    };
    Command::new(env!("CARGO_BIN_EXE_aibid"))
        .args([
            "worker",
            "--reclaim-after",
            "3",
            "--heartbeat-every",
            "1",
            "--task-stream",
            stream,
        ])
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", redis_url)
        .env("LLM_API_KEY", "sk-recovery-test")
        .env("LLM_BASE_URL", llm_url)
        .env("LLM_MAX_RETRIES", "0")
        .env("WORKER_CONCURRENCY", "2")
        .envs(metrics)
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start aibid worker: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_no_section_and_duplicates_none() {
    let redis_url = std::env::var("AIBID_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("AIBID_TEST_REDIS_URL is not set: run ./hack/test.sh (it starts Redis)")
    });
    let (store, database_url) = testing::postgres_with_url().await;
    let fake = FakeLlm::start().await.unwrap();
    fake.set_delay(Duration::from_millis(700));

    let (project, sections, stream, queue) = queued_project(&store, &redis_url).await;

    // First worker: kill it once it has finished some sections and is in the middle of others.
    let mut first = start_worker(&database_url, &redis_url, &fake.base_url(), &stream, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    while done_count(&store, &project.id).await < 2 {
        assert!(
            Instant::now() < deadline,
            "the first worker wrote nothing in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill().unwrap(); // SIGKILL: no chance to clean up or acknowledge
    first.wait().unwrap();
    let done_at_kill = done_count(&store, &project.id).await;
    assert!(
        done_at_kill < sections.len(),
        "the kill must land mid-generation (all {} were done)",
        sections.len()
    );

    // Second worker takes over the dead worker's unacknowledged deliveries and the rest of the queue.
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut second = start_worker(
        &database_url,
        &redis_url,
        &fake.base_url(),
        &stream,
        Some(metrics_port),
    );
    let deadline = Instant::now() + Duration::from_secs(240);
    while done_count(&store, &project.id).await < sections.len() {
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!(
                "generation did not complete after the restart: {}/{} done",
                done_count(&store, &project.id).await,
                sections.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every LLM request the worker made is counted with its provider and outcome.
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ok_requests: f64 = metrics
        .lines()
        .find(|l| l.starts_with("aibid_llm_requests_total{") && l.contains("outcome=\"ok\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no aibid_llm_requests_total{{outcome=\"ok\"}} in:\n{metrics}"));
    assert!(
        ok_requests >= 1.0,
        "{ok_requests} successful LLM requests counted"
    );
    second.kill().unwrap();
    second.wait().unwrap();

    common::assert_every_section_stored_once(&database_url, &project.id, sections.len() as u64)
        .await;
    assert_eq!(
        queue.length().await.unwrap(),
        0,
        "every delivery acknowledged"
    );
}

async fn done_count(store: &aibid::store::Store, project: &str) -> usize {
    store
        .sections(project)
        .await
        .unwrap()
        .iter()
        .filter(|s| s.status == "done")
        .count()
}

/// A project with an approved outline and one queued task per section, as the API leaves it.
async fn queued_project(
    store: &aibid::store::Store,
    redis_url: &str,
) -> (
    aibid::store::projects::Project,
    Vec<(String, String)>,
    String,
    RedisQueue,
) {
    let org = store.create_organisation("恢复测试").await.unwrap();
    let user = store
        .create_user(&org, "r@example.com", "recovery-pw", Role::BidManager)
        .await
        .unwrap();
    let project = store.create_project(&org, &user, "kill -9").await.unwrap();
    let analysis =
        aibid::pipeline::analyze_upload(&std::fs::read(EXAMPLE).unwrap(), 50 << 20).unwrap();
    store
        .insert_document(&aibid::store::documents::NewDocument {
            project_id: &project.id,
            original_name: "example.txt",
            stored_name: "example-stored.txt",
            format: &analysis.format,
            size_bytes: 1,
            sha256: "0",
            pages: None,
            analysis_json: &analysis.report.to_string(),
            document_json: &serde_json::to_string(&analysis.document).unwrap(),
            ledger_json: &serde_json::to_string(&analysis.ledger).unwrap(),
        })
        .await
        .unwrap();
    store
        .save_ledger(&project.id, &analysis.ledger.requirements)
        .await
        .unwrap();
    let version = store
        .save_outline(
            &project.id,
            &serde_json::to_string(&analysis.outline).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert!(store
        .approve_outline(&project.id, version, &user)
        .await
        .unwrap());
    let sections: Vec<(String, String)> = analysis
        .outline
        .sections
        .iter()
        .map(|s| (s.id.clone(), s.title.clone()))
        .collect();
    store
        .prepare_sections(&project.id, &sections)
        .await
        .unwrap();
    let stream = format!("aibid-recovery-{}", aibid::store::new_id());
    let queue = RedisQueue::connect(redis_url, &stream, Duration::from_secs(3))
        .await
        .unwrap();
    for (section, _) in &sections {
        let task = store
            .create_task(&project.id, "section", Some(section))
            .await
            .unwrap();
        queue.enqueue(&task).await.unwrap();
    }
    store
        .set_project_status(&project.id, "generating")
        .await
        .unwrap();

    (project, sections, stream, queue)
}

/// SIGTERM (what Kubernetes sends on a rollout): the worker stops taking new tasks, finishes the sections it is
/// writing, stores and acknowledges them, and exits 0; the rest stays queued for the next worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_worker_finish_its_sections_and_exit_cleanly() {
    let redis_url = std::env::var("AIBID_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("AIBID_TEST_REDIS_URL is not set: run ./hack/test.sh (it starts Redis)")
    });
    let (store, database_url) = testing::postgres_with_url().await;
    let fake = FakeLlm::start().await.unwrap();
    fake.set_delay(Duration::from_millis(1500));
    let (project, sections, stream, queue) = queued_project(&store, &redis_url).await;

    let mut worker = start_worker(&database_url, &redis_url, &fake.base_url(), &stream, None);
    // Wait until the worker is inside a section (a task is running), then ask it to stop.
    let deadline = Instant::now() + Duration::from_secs(60);
    while running_count(&store, &project.id).await == 0 {
        assert!(
            Instant::now() < deadline,
            "the worker started no section in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(exit) = worker.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = worker.kill();
            panic!("the worker did not exit within 60 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "worker exit after SIGTERM: {exit}");

    let done = done_count(&store, &project.id).await;
    assert!(
        done >= 1,
        "the section in progress at SIGTERM was finished and stored"
    );
    assert!(
        done < sections.len(),
        "a stopping worker takes no new sections ({done}/{} done)",
        sections.len()
    );
    assert_eq!(
        running_count(&store, &project.id).await,
        0,
        "nothing is left half-written"
    );
    assert_eq!(
        queue.length().await.unwrap(),
        (sections.len() - done) as u64,
        "finished sections were acknowledged; the rest wait on the queue"
    );
}

async fn running_count(store: &aibid::store::Store, project: &str) -> usize {
    store
        .sections(project)
        .await
        .unwrap()
        .iter()
        .filter(|s| s.status == "running")
        .count()
}
