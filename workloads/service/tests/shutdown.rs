//! SIGTERM with a progress stream open: the stream ends and `aibid api` exits promptly (a rollout must not hang on
//! a browser tab that watches progress).

mod common;

use common::{free_port, wait_answering, Api, RoleProcess};
use futures::StreamExt;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_an_open_progress_stream_and_the_api_exits_promptly() {
    let (_store, database_url) = aibid::store::testing::postgres_with_url().await;
    let port = free_port();
    let env = vec![
        ("DATABASE_URL", database_url),
        ("REDIS_URL", common::shared_redis_url()),
        (
            "JWT_SECRET",
            "shutdown-test-jwt-secret-0123456789abcdef".to_string(),
        ),
        ("API_PORT", port.to_string()),
        ("UI_PORT", port.to_string()),
        ("METRICS_PORT", free_port().to_string()),
        ("ADMIN_EMAIL", "admin@example.com".to_string()),
        ("ADMIN_PASSWORD", "shutdown-admin-pw".to_string()),
    ];
    let stream = format!("aibid-shutdown-{}", aibid::store::new_id());
    let mut migrate = RoleProcess::spawn("migrate", &[], &env);
    assert!(migrate.0.wait().unwrap().success(), "aibid migrate");
    // No worker runs: the project stays "generating", so its progress stream would stay open forever.
    let mut api_process = RoleProcess::spawn("api", &["--task-stream", &stream], &env);
    let base = format!("http://127.0.0.1:{port}");
    wait_answering(&format!("{base}/health")).await;
    let api = Api::login(&base, "admin@example.com", "shutdown-admin-pw").await;
    let project = api.approved_project("停机").await;
    api.start_generation(&project).await;

    let events = api
        .client
        .get(format!("{base}/api/projects/{project}/events"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut body = events.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(10), body.next())
        .await
        .expect("no progress event within 10 s")
        .expect("the stream ended before its first event")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first).contains("\"project_status\":\"generating\""),
        "{}",
        String::from_utf8_lossy(&first)
    );

    let stopped_at = Instant::now();
    api_process.sigterm();
    // The stream ends (rather than being cut when the process dies) ...
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(
        ended,
        Ok(true),
        "the progress stream did not end cleanly within 5 s of SIGTERM"
    );
    // ... and the process exits 0, well before the drain limit.
    let exit = api_process
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("aibid api still running 5 s after SIGTERM"));
    assert!(exit.success(), "exit status {exit}");
    assert!(stopped_at.elapsed() < Duration::from_secs(5));
}
