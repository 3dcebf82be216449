//! Redis restarting empty in the middle of a generation (a pod without AOF, rescheduled): the stream and the
//! consumer group are created again, the tasks Redis lost are re-sent by the scheduler from the database, and the
//! project completes with every section exactly once. Starting a generation while Redis is down is refused with a
//! 503 that says why, and leaves the project as it was. Real `aibid api`, `worker` and `scheduler` processes, real
//! PostgreSQL, a private Redis (the shared one is never restarted), the local fake LLM answering slowly.

mod common;

use aibid_proposal::testing::FakeLlm;
use common::{assert_every_section_stored_once, wait_status, Cluster, PrivateRedis};
use reqwest::Method;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_generation_loses_no_section_and_duplicates_none() {
    let (_store, database_url) = aibid::store::testing::postgres_with_url().await;
    let mut redis = PrivateRedis::start();
    let fake = FakeLlm::start().await.unwrap();
    fake.set_delay(Duration::from_millis(700));
    let cluster = Cluster::start(&database_url, &redis.url(), &fake.base_url()).await;
    let api = cluster.login().await;
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
    let ready = wait_status(&cluster.ready, 200, Duration::from_secs(30)).await;
    assert_eq!(ready.status(), 200, "the API sees Redis again");
    let total = api.start_generation(&project).await;
    api.wait_mid_generation(&project, 2, total).await;
    redis.restart();

    api.assert_generation_completes(&project, total).await;
    assert_every_section_stored_once(&database_url, &project, total).await;
}
