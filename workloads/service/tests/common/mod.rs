//! Helpers of the integration tests that run the `aibid` binary: free ports, a private Redis a test may stop and
//! restart (the shared one stays up for everyone else), role processes and HTTP polling.
#![allow(dead_code)] // each test file uses a different part

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/smart_campus_network.txt"
);

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

pub fn shared_redis_url() -> String {
    std::env::var("AIBID_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("AIBID_TEST_REDIS_URL is not set: run ./hack/test.sh (it starts Redis)")
    })
}

/// A redis-server of this test alone, without persistence: a restart comes back empty, like a pod without AOF.
pub struct PrivateRedis {
    pub port: u16,
    dir: PathBuf,
    process: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> PrivateRedis {
        let dir = std::env::temp_dir().join(format!("aibid-redis-{}", aibid::store::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = PrivateRedis {
            port: free_port(),
            dir,
            process: None,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL: nothing is saved) and waits until the port is closed.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        let process = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server (Debian package redis-server): {e}"));
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "private redis-server did not listen on {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new empty directory under the system's temporary directory.
pub fn scratch_dir(purpose: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aibid-{purpose}-{}", aibid::store::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A role process that is killed when the test ends, whatever happens.
pub struct RoleProcess(pub Child);

impl RoleProcess {
    /// Runs in a working directory of its own (like a pod's), so the defaults under ./data never land in the
    /// source tree.
    pub fn spawn(role: &str, args: &[&str], env: &[(&str, String)]) -> RoleProcess {
        RoleProcess::spawn_in(&scratch_dir(role), role, args, env)
    }

    /// Runs in `dir`: a restarted process given the same directory finds its ./data again.
    pub fn spawn_in(
        dir: &std::path::Path,
        role: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> RoleProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_aibid"));
        command.current_dir(dir).arg(role).args(args);
        // The developer's settings must not leak into the test.
        for name in [
            "LLM_API_KEY",
            "LLM_BASE_URL",
            "DATABASE_URL",
            "REDIS_URL",
            "ADMIN_EMAIL",
            "ADMIN_PASSWORD",
            "UPLOAD_PATH",
            "OUTPUT_PATH",
            "JWT_SECRET",
        ] {
            command.env_remove(name);
        }
        command
            .env("LOG_LEVEL", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        RoleProcess(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start aibid {role}: {e}")),
        )
    }

    /// SIGKILL: no chance to finish, store or acknowledge anything.
    pub fn kill9(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {}", self.pid());
    }

    /// Waits up to `limit` for the process to exit; None when it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RoleProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GETs `url` until it answers at all (any status), for up to 60 s (a role process is starting).
pub async fn wait_answering(url: &str) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match reqwest::get(url).await {
            Ok(response) => return response,
            Err(e) => assert!(
                Instant::now() < deadline,
                "{url} did not answer in 60 s: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GETs `url` until it answers `status`, for up to `limit`; returns the last response.
pub async fn wait_status(url: &str, status: u16, limit: Duration) -> reqwest::Response {
    let deadline = Instant::now() + limit;
    loop {
        let response = wait_answering(url).await;
        if response.status().as_u16() == status || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A logged-in client of a running `aibid api`/`up`.
pub struct Api {
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
}

impl Api {
    pub async fn login(base: &str, email: &str, password: &str) -> Api {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "login {email}");
        let login: Value = response.json().await.unwrap();
        Api {
            base: base.to_string(),
            token: login["token"].as_str().unwrap().to_string(),
            client,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A project with the example tender uploaded and its outline approved, ready to generate.
    pub async fn approved_project(&self, name: &str) -> String {
        let (status, project) = self
            .call(Method::POST, "/api/projects", Some(json!({ "name": name })))
            .await;
        assert_eq!(status, 201, "{project}");
        let id = project["id"].as_str().unwrap().to_string();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(std::fs::read(EXAMPLE).unwrap()).file_name("t.txt"),
        );
        let upload = self
            .client
            .post(format!("{}/api/projects/{id}/documents", self.base))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(upload.status().as_u16(), 201);
        let (_, outline) = self
            .call(Method::GET, &format!("/api/projects/{id}/outline"), None)
            .await;
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/api/projects/{id}/outline/approve"),
                Some(json!({ "version": outline["version"] })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        id
    }

    pub async fn progress(&self, id: &str) -> Value {
        self.call(Method::GET, &format!("/api/projects/{id}/progress"), None)
            .await
            .1
    }

    /// Starts the project's generation (asserting 202); returns the number of section tasks.
    pub async fn start_generation(&self, id: &str) -> u64 {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/api/projects/{id}/generation"),
                None,
            )
            .await;
        assert_eq!(status, 202, "{body}");
        body["tasks"].as_u64().unwrap()
    }

    /// Waits until `done` sections are written and asserts the generation is not over: what a test breaks next
    /// lands mid-generation.
    pub async fn wait_mid_generation(&self, id: &str, done: u64, total: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let written = self.progress(id).await["done"].as_u64().unwrap_or(0);
            if written >= done {
                assert!(
                    written < total,
                    "too late: all {total} sections are written"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{done} sections not written in 120 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 240 s for the generation to end, asserts it ended `generated` with all `total` sections.
    pub async fn assert_generation_completes(&self, id: &str, total: u64) {
        let deadline = Instant::now() + Duration::from_secs(240);
        let progress = loop {
            let progress = self.progress(id).await;
            if progress["project_status"] != "generating" {
                break progress;
            }
            assert!(
                Instant::now() < deadline,
                "generation did not complete in 240 s: {progress}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(progress["project_status"], "generated", "{progress}");
        assert_eq!(progress["done"].as_u64(), Some(total), "{progress}");
    }
}

/// Every one of the project's `total` sections has exactly one stored result.
pub async fn assert_every_section_stored_once(database_url: &str, project: &str, total: u64) {
    let store = aibid::store::Store::connect(database_url, 1).await.unwrap();
    let versions = sqlx::query(
        "SELECT section_id, COUNT(*) AS n FROM section_versions WHERE project_id = $1 GROUP BY section_id",
    )
    .bind(project)
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

/// Cluster mode on one machine: `aibid migrate`, then `api`, `worker` and `scheduler` processes on the given
/// database and Redis, a task stream of their own, quick reclaim and scheduler rounds, the LLM at `llm_url`.
pub struct Cluster {
    pub api: RoleProcess,
    pub worker: RoleProcess,
    pub scheduler: RoleProcess,
    /// The API's public address.
    pub base: String,
    /// The API's readiness URL (on its metrics port).
    pub ready: String,
}

pub const CLUSTER_ADMIN: (&str, &str) = ("admin@example.com", "cluster-test-admin-pw");

impl Cluster {
    pub async fn start(database_url: &str, redis_url: &str, llm_url: &str) -> Cluster {
        let stream = format!("aibid-test-{}", aibid::store::new_id());
        let (api_port, metrics_port) = (free_port(), free_port());
        let common = [
            ("DATABASE_URL", database_url.to_string()),
            ("REDIS_URL", redis_url.to_string()),
            (
                "JWT_SECRET",
                "cluster-test-jwt-secret-0123456789abcdef".into(),
            ),
            ("LLM_API_KEY", "sk-cluster-test".into()),
            ("LLM_BASE_URL", llm_url.to_string()),
            ("LLM_MAX_RETRIES", "0".into()),
            ("WORKER_CONCURRENCY", "2".into()),
        ];
        let args = [
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
            let mut env = common.to_vec();
            env.extend_from_slice(extra);
            env
        };
        let mut migrate = RoleProcess::spawn("migrate", &[], &with(&[]));
        assert!(migrate.0.wait().unwrap().success(), "aibid migrate");
        let api = RoleProcess::spawn(
            "api",
            &args,
            &with(&[
                ("API_PORT", api_port.to_string()),
                ("UI_PORT", api_port.to_string()),
                ("METRICS_PORT", metrics_port.to_string()),
                ("ADMIN_EMAIL", CLUSTER_ADMIN.0.into()),
                ("ADMIN_PASSWORD", CLUSTER_ADMIN.1.into()),
            ]),
        );
        let worker = RoleProcess::spawn(
            "worker",
            &args,
            &with(&[("METRICS_PORT", free_port().to_string())]),
        );
        let scheduler = RoleProcess::spawn(
            "scheduler",
            &args,
            &with(&[("METRICS_PORT", free_port().to_string())]),
        );
        let base = format!("http://127.0.0.1:{api_port}");
        wait_answering(&format!("{base}/health")).await;
        Cluster {
            api,
            worker,
            scheduler,
            base,
            ready: format!("http://127.0.0.1:{metrics_port}/ready"),
        }
    }

    pub async fn login(&self) -> Api {
        Api::login(&self.base, CLUSTER_ADMIN.0, CLUSTER_ADMIN.1).await
    }

    /// Asserts no role process has exited.
    pub fn assert_all_running(&mut self) {
        for (name, process) in [
            ("api", &mut self.api),
            ("worker", &mut self.worker),
            ("scheduler", &mut self.scheduler),
        ] {
            assert!(
                process.0.try_wait().unwrap().is_none(),
                "aibid {name} exited"
            );
        }
    }
}
