//! `aibid up` killed with SIGKILL in the middle of a generation, then started again on the same ./data: the
//! in-process queue died with it, the unfinished tasks come back from the SQLite file, and the project completes
//! with every section stored exactly once. The real binary on its embedded defaults (SQLite file, in-process queue,
//! files under ./data); the LLM is the local fake answering slowly so the kill lands mid-section. A session from
//! before the crash keeps working.

mod common;

use aibid_proposal::testing::FakeLlm;
use common::{free_port, scratch_dir, wait_answering, Api, RoleProcess};
use reqwest::Method;
use sqlx::Row;
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "up-restart-admin-pw");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_killed_mid_generation_resumes_on_restart_with_every_section_once() {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_delay(Duration::from_millis(700));
    let dir = scratch_dir("up-restart");
    let port = free_port();
    let env = vec![
        ("API_PORT", port.to_string()),
        ("METRICS_PORT", free_port().to_string()),
        ("ADMIN_EMAIL", ADMIN.0.to_string()),
        ("ADMIN_PASSWORD", ADMIN.1.to_string()),
        ("LLM_API_KEY", "sk-up-restart-test".to_string()),
        ("LLM_BASE_URL", fake.base_url()),
        ("LLM_MAX_RETRIES", "0".to_string()),
        ("WORKER_CONCURRENCY", "2".to_string()),
    ];
    let base = format!("http://127.0.0.1:{port}");

    let mut first = RoleProcess::spawn_in(&dir, "up", &[], &env);
    wait_answering(&format!("{base}/health")).await;
    let api = Api::login(&base, ADMIN.0, ADMIN.1).await;
    let project = api.approved_project("up 中途被杀").await;
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/projects/{project}/generation"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let total = body["tasks"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = api.progress(&project).await["done"].as_u64().unwrap_or(0);
        if done >= 2 {
            assert!(done < total, "the kill must land mid-generation");
            break;
        }
        assert!(Instant::now() < deadline, "nothing written in 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill9();
    let requests_at_kill = fake.requests().len();

    // Same directory, same port: what a person does after a crash.
    let _second = RoleProcess::spawn_in(&dir, "up", &[], &env);
    wait_answering(&format!("{base}/health")).await;
    // No JWT_SECRET is set: the signing key is kept in ./data, so the session from before the crash still works.
    let (status, body) = api.call(Method::GET, "/api/projects", None).await;
    assert_eq!(status, 200, "the old session after a restart: {body}");
    let deadline = Instant::now() + Duration::from_secs(240);
    let progress = loop {
        let progress = api.progress(&project).await;
        if progress["project_status"] != "generating" {
            break progress;
        }
        assert!(
            Instant::now() < deadline,
            "generation did not complete after the restart: {progress}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(progress["project_status"], "generated", "{progress}");
    assert_eq!(progress["done"].as_u64(), Some(total), "{progress}");
    assert!(
        fake.requests().len() > requests_at_kill,
        "the restarted process wrote the remaining sections"
    );

    // The embedded default database is ./data/aibid.db in the process's working directory.
    let store =
        aibid::store::Store::connect(&format!("sqlite://{}/data/aibid.db", dir.display()), 1)
            .await
            .unwrap();
    let versions = sqlx::query(
        "SELECT section_id, COUNT(*) AS n FROM section_versions WHERE project_id = $1 GROUP BY section_id",
    )
    .bind(&project)
    .fetch_all(&store.pool)
    .await
    .unwrap();
    assert_eq!(versions.len() as u64, total, "every section is present");
    for row in versions {
        let n: i64 = row.try_get("n").unwrap();
        let section: String = row.try_get("section_id").unwrap();
        assert_eq!(n, 1, "section {section} stored {n} results");
    }
}
