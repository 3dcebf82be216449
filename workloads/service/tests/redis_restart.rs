//! Redis restarting empty in the middle of a generation (a pod without AOF, rescheduled): the stream and the
//! consumer group are created again, the tasks Redis lost are re-sent by the scheduler from the database, and the
//! project completes with every section exactly once. Starting a generation while Redis is down is refused with a
//! 503 that says why, and leaves the project as it was. Real `aibid api`, `worker` and `scheduler` processes, real
//! PostgreSQL, a private Redis (the shared one is never restarted), the local fake LLM answering slowly.

mod common;

use aibid_proposal::testing::FakeLlm;
use common::{free_port, wait_answering, wait_status, Api, PrivateRedis, RoleProcess};
use reqwest::Method;
use sqlx::Row;
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "redis-restart-admin-pw");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_generation_loses_no_section_and_duplicates_none() {
    let (store, database_url) = aibid::store::testing::postgres_with_url().await;
    let mut redis = PrivateRedis::start();
    let fake = FakeLlm::start().await.unwrap();
    fake.set_delay(Duration::from_millis(700));
    let stream = format!("aibid-redis-restart-{}", aibid::store::new_id());
    let (api_port, metrics_port) = (free_port(), free_port());
    let common_env = vec![
        ("DATABASE_URL", database_url.clone()),
        ("REDIS_URL", redis.url()),
        (
            "JWT_SECRET",
            "redis-restart-jwt-secret-0123456789abcdef".into(),
        ),
        ("LLM_API_KEY", "sk-redis-restart-test".into()),
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
    let _api = RoleProcess::spawn(
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
    let _worker = RoleProcess::spawn(
        "worker",
        &role_args,
        &with(&[("METRICS_PORT", free_port().to_string())]),
    );
    let _scheduler = RoleProcess::spawn(
        "scheduler",
        &role_args,
        &with(&[("METRICS_PORT", free_port().to_string())]),
    );

    let base = format!("http://127.0.0.1:{api_port}");
    wait_answering(&format!("{base}/health")).await;
    let api = Api::login(&base, ADMIN.0, ADMIN.1).await;
    let refused = api.approved_project("Redis 停机时启动").await;
    let project = api.approved_project("Redis 中途重启").await;

    // Redis down: starting generation is refused with the reason, and nothing about the project changes.
    redis.stop();
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/projects/{refused}/generation"),
            None,
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("queue") && m.contains("not started")),
        "the message says what is wrong: {body}"
    );
    let after = api.progress(&refused).await;
    assert_ne!(after["project_status"], "generating", "{after}");

    // Redis back (empty), generation starts; restart Redis again once some sections are written.
    redis.restart();
    let ready = wait_status(
        &format!("http://127.0.0.1:{metrics_port}/ready"),
        200,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(ready.status(), 200, "the API sees Redis again");
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
    redis.restart();

    let deadline = Instant::now() + Duration::from_secs(240);
    let progress = loop {
        let progress = api.progress(&project).await;
        if progress["project_status"] != "generating" {
            break progress;
        }
        assert!(
            Instant::now() < deadline,
            "generation did not complete after the Redis restart: {progress}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(progress["project_status"], "generated", "{progress}");
    assert_eq!(progress["done"].as_u64(), Some(total), "{progress}");

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
