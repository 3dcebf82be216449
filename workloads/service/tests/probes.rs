//! The ports of the cluster roles as Kubernetes and Prometheus see them: worker and scheduler answer `/health` and
//! `/ready` on METRICS_PORT (503 while Redis is down, recovering without a restart); the `api` role serves
//! `/metrics` on METRICS_PORT only, never on the public API/UI ports, while `up` keeps it on its one port.

mod common;

use common::{free_port, wait_answering, wait_status, Api, PrivateRedis, RoleProcess};
use std::time::Duration;

const JWT_SECRET: &str = "probe-test-jwt-secret-0123456789-abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_and_scheduler_answer_health_and_ready_on_the_metrics_port() {
    let (_store, database_url) = aibid::store::testing::postgres_with_url().await;
    let mut redis = PrivateRedis::start();
    let stream = format!("aibid-probes-{}", aibid::store::new_id());
    let worker_port = free_port();
    let scheduler_port = free_port();
    let env = |port: u16, metrics_enabled: &str| {
        vec![
            ("DATABASE_URL", database_url.clone()),
            ("REDIS_URL", redis.url()),
            ("METRICS_PORT", port.to_string()),
            ("METRICS_ENABLED", metrics_enabled.to_string()),
        ]
    };
    let _worker = RoleProcess::spawn(
        "worker",
        &["--task-stream", &stream],
        &env(worker_port, "true"),
    );
    // Metrics off: the probes must still be served, since the pod's probes call this port.
    let _scheduler = RoleProcess::spawn(
        "scheduler",
        &["--task-stream", &stream],
        &env(scheduler_port, "false"),
    );

    for (role, port) in [("worker", worker_port), ("scheduler", scheduler_port)] {
        let base = format!("http://127.0.0.1:{port}");
        let health = wait_answering(&format!("{base}/health")).await;
        assert_eq!(health.status(), 200, "{role} /health");
        let ready = wait_status(&format!("{base}/ready"), 200, Duration::from_secs(30)).await;
        assert_eq!(
            ready.status(),
            200,
            "{role} /ready with database and Redis up"
        );
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"database": true, "queue": true}),
            "{role}"
        );
    }
    let metrics = reqwest::get(format!("http://127.0.0.1:{worker_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
    let disabled = reqwest::get(format!("http://127.0.0.1:{scheduler_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(
        disabled.status(),
        404,
        "METRICS_ENABLED=false hides /metrics"
    );

    redis.stop();
    for (role, port) in [("worker", worker_port), ("scheduler", scheduler_port)] {
        let base = format!("http://127.0.0.1:{port}");
        let ready = wait_status(&format!("{base}/ready"), 503, Duration::from_secs(20)).await;
        assert_eq!(ready.status(), 503, "{role} /ready with Redis down");
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["queue"], false, "{role}: {body}");
        assert_eq!(body["database"], true, "{role}: {body}");
        let health = reqwest::get(format!("{base}/health")).await.unwrap();
        assert_eq!(
            health.status(),
            200,
            "{role}: liveness stays up while Redis is down"
        );
    }

    redis.restart();
    for (role, port) in [("worker", worker_port), ("scheduler", scheduler_port)] {
        let url = format!("http://127.0.0.1:{port}/ready");
        let ready = wait_status(&url, 200, Duration::from_secs(30)).await;
        assert_eq!(
            ready.status(),
            200,
            "{role} /ready after Redis came back, without a restart"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_metrics_only_on_the_metrics_port() {
    let (_store, database_url) = aibid::store::testing::postgres_with_url().await;
    let redis_url = common::shared_redis_url();
    let (api_port, ui_port, metrics_port) = (free_port(), free_port(), free_port());
    let _api = RoleProcess::spawn(
        "api",
        &[
            "--task-stream",
            &format!("aibid-ports-{}", aibid::store::new_id()),
        ],
        &[
            ("DATABASE_URL", database_url),
            ("REDIS_URL", redis_url),
            ("JWT_SECRET", JWT_SECRET.to_string()),
            ("API_PORT", api_port.to_string()),
            ("UI_PORT", ui_port.to_string()),
            ("METRICS_PORT", metrics_port.to_string()),
        ],
    );
    for port in [api_port, ui_port, metrics_port] {
        let health = wait_answering(&format!("http://127.0.0.1:{port}/health")).await;
        assert_eq!(health.status(), 200, "/health on {port}");
    }
    for port in [api_port, ui_port] {
        let public = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .unwrap();
        assert_eq!(public.status(), 404, "/metrics on public port {port}");
        let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        assert_eq!(home.status(), 200, "the UI on {port}");
    }
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("route=\"/health\""),
        "requests to the public ports are counted on the metrics port:\n{text}"
    );
    let ready = reqwest::get(format!("http://127.0.0.1:{metrics_port}/ready"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let api_on_metrics_port = reqwest::get(format!("http://127.0.0.1:{metrics_port}/api/projects"))
        .await
        .unwrap();
    assert_eq!(
        api_on_metrics_port.status(),
        404,
        "the metrics port carries no API"
    );
}

/// `aibid up` is one process on one port: the README's `/metrics` stays there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_keeps_metrics_on_its_one_port() {
    let dir = std::env::temp_dir().join(format!("aibid-up-{}", aibid::store::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let _up = RoleProcess::spawn(
        "up",
        &[],
        &[
            (
                "DATABASE_URL",
                format!("sqlite://{}/aibid.db?mode=rwc", dir.display()),
            ),
            ("UPLOAD_PATH", dir.join("uploads").display().to_string()),
            ("OUTPUT_PATH", dir.join("outputs").display().to_string()),
            ("API_PORT", port.to_string()),
            // Distinct from API_PORT by default; `up` still answers /metrics on its port.
            ("METRICS_PORT", free_port().to_string()),
        ],
    );
    let metrics = wait_answering(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("aibid_queue_length{queue=\"local\"}"),
        "{text}"
    );
}

/// A newcomer's `aibid up` on an empty data directory prints a first login once, and it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_on_an_empty_database_prints_a_first_login_that_works() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("aibid-up-{}", aibid::store::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aibid"))
        .arg("up")
        .env_remove("ADMIN_EMAIL")
        .env_remove("ADMIN_PASSWORD")
        .env_remove("LLM_API_KEY")
        .env_remove("REDIS_URL")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/aibid.db?mode=rwc", dir.display()),
        )
        .env("UPLOAD_PATH", dir.join("uploads"))
        .env("OUTPUT_PATH", dir.join("outputs"))
        .env("API_PORT", port.to_string())
        .env("METRICS_PORT", free_port().to_string())
        .env("LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (found, login_line) = std::sync::mpsc::channel();
    // Keeps reading to the end so the server never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("log in as") {
                let _ = found.send(line);
            }
        }
    });
    let _up = RoleProcess(child);
    let line = login_line
        .recv_timeout(Duration::from_secs(120))
        .expect("`up` printed no first login within 120 s");
    let password = line
        .split("with password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {line:?}"));
    let base = format!("http://127.0.0.1:{port}");
    wait_answering(&format!("{base}/health")).await;
    let api = Api::login(&base, aibid::server::EMBEDDED_ADMIN_EMAIL, password).await;
    let (status, _) = api.call(reqwest::Method::GET, "/api/projects", None).await;
    assert_eq!(status, 200);
}
