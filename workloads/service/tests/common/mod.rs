//! Helpers of the integration tests that run the `aibid` binary: free ports, a private Redis a test may stop and
//! restart (the shared one stays up for everyone else), role processes and HTTP polling.
#![allow(dead_code)] // each test file uses a different part

use reqwest::Method;
use serde_json::{json, Value};
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
}
