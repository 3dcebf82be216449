//! PostgreSQL restarting in the middle of a generation (a failover, a node drain): the API answers 503 on /ready
//! while the database is down and 200 again once it is back, without restarting any process; the worker's
//! results that could not be stored are redone; the project completes with every section exactly once. Real
//! `aibid api`, `worker` and `scheduler` processes, a private PostgreSQL server (the shared one is never stopped),
//! the shared Redis on a stream of this test alone, the local fake LLM answering slowly.

mod common;

use aibid::store::testing::PrivatePostgres;
use aibid_proposal::testing::FakeLlm;
use common::{assert_every_section_stored_once, shared_redis_url, wait_status, Cluster};
use reqwest::Method;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_generation_loses_no_section_and_duplicates_none() {
    let postgres = PrivatePostgres::init();
    let fake = FakeLlm::start().await.unwrap();
    fake.set_delay(Duration::from_millis(700));
    let mut cluster = Cluster::start(&postgres.url(), &shared_redis_url(), &fake.base_url()).await;
    let api = cluster.login().await;
    let project = api.approved_project("数据库中途重启").await;
    let total = api.start_generation(&project).await;
    api.wait_mid_generation(&project, 2, total).await;

    // Down (immediate stop: connections cut, like a crash) for long enough that sections finish meanwhile.
    postgres.stop();
    let down = wait_status(&cluster.ready, 503, Duration::from_secs(30)).await;
    assert_eq!(down.status(), 503, "/ready reports the database down");
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["database"], false, "{body}");
    let (status, body) = api.call(Method::GET, "/api/projects", None).await;
    assert_eq!(status, 503, "a request needing the database: {body}");
    assert_eq!(
        reqwest::get(format!("{}/health", cluster.base))
            .await
            .unwrap()
            .status(),
        200,
        "liveness stays up: Kubernetes must not restart the API for this"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    postgres.start();

    let up = wait_status(&cluster.ready, 200, Duration::from_secs(60)).await;
    assert_eq!(up.status(), 200, "/ready recovers without a restart");
    cluster.assert_all_running();
    api.assert_generation_completes(&project, total).await;
    assert_every_section_stored_once(&postgres.url(), &project, total).await;
}
