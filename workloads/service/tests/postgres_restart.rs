//! PostgreSQL restarting in the middle of a generation (a failover, a node drain): the API answers 503 on /ready
//! while the database is down and 200 again once it is back, without restarting any process; the worker's
//! results that could not be stored are redone; the project completes with every section exactly once. Real
//! `aibid api`, `worker` and `scheduler` processes, a private PostgreSQL server (the shared one is never stopped),
//! the shared Redis on a stream of this test alone, the local fake LLM answering slowly.

mod common;

use aibid::store::testing::PrivatePostgres;
use aibid_proposal::testing::FakeLlm;
use common::{free_port, shared_redis_url, wait_answering, wait_status, Api, RoleProcess};
use reqwest::Method;
use sqlx::Row;
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "postgres-restart-admin-pw");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_generation_loses_no_section_and_duplicates_none() {
    let postgres = PrivatePostgres::init();
    let fake = FakeLlm::start().await.unwrap();
    fake.set_delay(Duration::from_millis(700));
    let stream = format!("aibid-postgres-restart-{}", aibid::store::new_id());
    let (api_port, metrics_port) = (free_port(), free_port());
    let common_env = vec![
        ("DATABASE_URL", postgres.url()),
        ("REDIS_URL", shared_redis_url()),
        (
            "JWT_SECRET",
            "postgres-restart-jwt-secret-0123456789abcdef".into(),
        ),
        ("LLM_API_KEY", "sk-postgres-restart-test".into()),
        ("LLM_BASE_URL", fake.base_url()),
        ("LLM_MAX_RETRIES", "0".into()),
        ("WORKER_CONCURRENCY", "2".into()),
    ];
    let role_args = [
        "--task-stream",
        &stream,
        "--reclaim-after",
        "3",
        "--heartbeat-every",
        "1",
        "--schedule-every",
        "1",
    ];
    let with = |extra: &[(&'static str, String)]| {
        let mut env = common_env.clone();
        env.extend_from_slice(extra);
        env
    };
    let mut migrate = RoleProcess::spawn("migrate", &[], &with(&[]));
    assert!(migrate.0.wait().unwrap().success(), "aibid migrate");
    let mut api_process = RoleProcess::spawn(
        "api",
        &role_args,
        &with(&[
            ("API_PORT", api_port.to_string()),
            ("UI_PORT", api_port.to_string()),
            ("METRICS_PORT", metrics_port.to_string()),
            ("ADMIN_EMAIL", ADMIN.0.into()),
            ("ADMIN_PASSWORD", ADMIN.1.into()),
        ]),
    );
    let mut worker = RoleProcess::spawn(
        "worker",
        &role_args,
        &with(&[("METRICS_PORT", free_port().to_string())]),
    );
    let mut scheduler = RoleProcess::spawn(
        "scheduler",
        &role_args,
        &with(&[("METRICS_PORT", free_port().to_string())]),
    );

    let base = format!("http://127.0.0.1:{api_port}");
    let ready = format!("http://127.0.0.1:{metrics_port}/ready");
    wait_answering(&format!("{base}/health")).await;
    let api = Api::login(&base, ADMIN.0, ADMIN.1).await;
    let project = api.approved_project("数据库中途重启").await;
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
            assert!(done < total, "the restart must land mid-generation");
            break;
        }
        assert!(Instant::now() < deadline, "nothing written in 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Down (immediate stop: connections cut, like a crash) for long enough that sections finish meanwhile.
    postgres.stop();
    let down = wait_status(&ready, 503, Duration::from_secs(30)).await;
    assert_eq!(down.status(), 503, "/ready reports the database down");
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["database"], false, "{body}");
    let (status, body) = api.call(Method::GET, "/api/projects", None).await;
    assert_eq!(status, 503, "a request needing the database: {body}");
    assert_eq!(
        reqwest::get(format!("{base}/health"))
            .await
            .unwrap()
            .status(),
        200,
        "liveness stays up: Kubernetes must not restart the API for this"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    postgres.start();

    let up = wait_status(&ready, 200, Duration::from_secs(60)).await;
    assert_eq!(up.status(), 200, "/ready recovers without a restart");
    for (name, process) in [
        ("api", &mut api_process),
        ("worker", &mut worker),
        ("scheduler", &mut scheduler),
    ] {
        assert!(
            process.0.try_wait().unwrap().is_none(),
            "aibid {name} exited while the database was down"
        );
    }

    let deadline = Instant::now() + Duration::from_secs(240);
    let progress = loop {
        let progress = api.progress(&project).await;
        if progress["project_status"] != "generating" {
            break progress;
        }
        assert!(
            Instant::now() < deadline,
            "generation did not complete after the database came back: {progress}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(progress["project_status"], "generated", "{progress}");
    assert_eq!(progress["done"].as_u64(), Some(total), "{progress}");

    let store = aibid::store::Store::connect(&postgres.url(), 2)
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
