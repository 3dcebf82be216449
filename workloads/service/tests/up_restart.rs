//! `aibid up` killed with SIGKILL in the middle of a generation, then started again on the same ./data: the
//! in-process queue died with it, the unfinished tasks come back from the SQLite file, and the project completes
//! with every section stored exactly once. The real binary on its embedded defaults (SQLite file, in-process queue,
//! files under ./data); the LLM is the local fake answering slowly so the kill lands mid-section. A session from
//! before the crash keeps working.

mod common;

use aibid_proposal::testing::FakeLlm;
use common::{
    assert_every_section_stored_once, free_port, scratch_dir, wait_answering, Api, RoleProcess,
};
use reqwest::Method;
use std::time::Duration;

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
    let total = api.start_generation(&project).await;
    api.wait_mid_generation(&project, 2, total).await;
    first.kill9();
    let requests_at_kill = fake.requests().len();

    // Same directory, same port: what a person does after a crash.
    let _second = RoleProcess::spawn_in(&dir, "up", &[], &env);
    wait_answering(&format!("{base}/health")).await;
    // No JWT_SECRET is set: the signing key is kept in ./data, so the session from before the crash still works.
    let (status, body) = api.call(Method::GET, "/api/projects", None).await;
    assert_eq!(status, 200, "the old session after a restart: {body}");
    api.assert_generation_completes(&project, total).await;
    assert!(
        fake.requests().len() > requests_at_kill,
        "the restarted process wrote the remaining sections"
    );
    // The embedded default database is ./data/aibid.db in the process's working directory.
    let database_url = format!("sqlite://{}/data/aibid.db", dir.display());
    assert_every_section_stored_once(&database_url, &project, total).await;
}
