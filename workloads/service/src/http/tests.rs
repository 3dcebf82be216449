//! The API over real TCP against SQLite and against PostgreSQL + Redis: the whole flow, the rules, organisation
//! isolation, bad uploads, secrets and headers. Sections are written by the template writer (no LLM involved).

use super::{router, AppState};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::queue::local::LocalQueue;
use crate::queue::redis_streams::RedisQueue;
use crate::queue::Queue;
use crate::store::accounts::Role;
use crate::store::{testing, Store};
use crate::worker::Worker;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const JWT_SECRET: &str = "test-jwt-secret-0123456789-abcdefghijklmnop";
const ADMIN_PASSWORD: &str = "admin-password-1";
const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/smart_campus_network.txt"
);

struct TestApp {
    base: String,
    client: reqwest::Client,
    state: AppState,
    dir: PathBuf,
    _shutdown: watch::Sender<bool>,
}

impl TestApp {
    async fn start(store: Store, queue: Queue, extra: &[(&str, &str)]) -> TestApp {
        let dir = std::env::temp_dir().join(format!("aibid-http-{}", crate::store::new_id()));
        let uploads = dir.join("uploads").display().to_string();
        let outputs = dir.join("outputs").display().to_string();
        let mut pairs = vec![
            ("UPLOAD_PATH", uploads.as_str()),
            ("OUTPUT_PATH", outputs.as_str()),
            ("JWT_SECRET", JWT_SECRET),
        ];
        pairs.extend_from_slice(extra);
        let settings = Arc::new(Settings::from_pairs(&pairs).unwrap());
        store
            .ensure_first_admin("admin@example.com", ADMIN_PASSWORD)
            .await
            .unwrap();
        let metrics = Arc::new(Metrics::new());
        let (tx, rx) = watch::channel(false);
        let state = AppState {
            settings: settings.clone(),
            store: store.clone(),
            queue: queue.clone(),
            metrics: metrics.clone(),
            keys: Arc::new(super::auth::Keys::new(JWT_SECRET.as_bytes())),
            shutdown: rx.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let worker = Worker {
            id: format!("test-{}", crate::store::new_id()),
            host: "test-host".into(),
            store,
            queue,
            writer: crate::pipeline::section_writer(&settings, Some(metrics.clone())).unwrap(),
            metrics,
            backoff: Duration::from_millis(50),
            heartbeat_every: Duration::from_secs(1),
        };
        tokio::spawn(worker.run(2, rx));
        TestApp {
            base,
            client: reqwest::Client::new(),
            state,
            dir,
            _shutdown: tx,
        }
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .client
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {email}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn upload(
        &self,
        project: &str,
        token: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        let response = self
            .client
            .post(format!("{}/api/projects/{project}/documents", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn wait_generated(&self, project: &str, token: &str) -> Value {
        for _ in 0..600 {
            let (_, progress) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/projects/{project}/progress"),
                    token,
                    None,
                )
                .await;
            if progress["project_status"] != "generating" {
                return progress;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("generation of {project} did not finish within 60 s");
    }

    /// A new project of the token's organisation; returns its id.
    async fn project(&self, token: &str, name: &str) -> String {
        let (status, project) = self
            .call(
                Method::POST,
                "/api/projects",
                token,
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{project}");
        project["id"].as_str().unwrap().to_string()
    }

    /// A new project with the example tender uploaded; returns its id.
    async fn uploaded_project(&self, token: &str, name: &str) -> String {
        let id = self.project(token, name).await;
        let (status, uploaded) = self
            .upload(&id, token, "t.txt", std::fs::read(EXAMPLE).unwrap())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{uploaded}");
        id
    }

    /// A technical specialist of the admin's organisation, logged in; returns the token.
    async fn specialist(&self) -> String {
        let org = self
            .state
            .store
            .user_by_email("admin@example.com")
            .await
            .unwrap()
            .unwrap()
            .org_id;
        self.state
            .store
            .create_user(
                &org,
                "tech@example.com",
                "tech-password",
                Role::TechnicalSpecialist,
            )
            .await
            .unwrap();
        self.login("tech@example.com", "tech-password").await
    }

    /// A supervisor of a second organisation ("B 公司"), logged in; returns the token.
    async fn other_organisation_supervisor(&self) -> String {
        let org_b = self
            .state
            .store
            .create_organisation("B 公司")
            .await
            .unwrap();
        self.state
            .store
            .create_user(&org_b, "b@example.com", "b-password", Role::Supervisor)
            .await
            .unwrap();
        self.login("b@example.com", "b-password").await
    }

    /// The text of `/metrics`.
    async fn metrics_text(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    fn files_in(&self, sub: &str) -> usize {
        std::fs::read_dir(self.dir.join(sub))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

use reqwest::Method;

/// What a finished flow leaves for further checks.
struct FinishedFlow {
    admin: String,
    project: String,
    download: String,
}

/// Upload -> ledger -> outline -> approval -> generation -> review -> export, on any store and queue.
async fn whole_flow(app: &TestApp) -> FinishedFlow {
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let (status, project) = app
        .call(
            Method::POST,
            "/api/projects",
            &admin,
            Some(json!({"name": "智慧校园网络"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = project["id"].as_str().unwrap().to_string();

    let (status, uploaded) = app
        .upload(
            &id,
            &admin,
            "../../招标文件.txt",
            std::fs::read(EXAMPLE).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(uploaded["document"]["original_name"], "招标文件.txt");
    assert!(uploaded["requirements"].as_u64().unwrap() > 10);
    assert_eq!(app.files_in("uploads"), 1);

    let (_, ledger) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/ledger"),
            &admin,
            None,
        )
        .await;
    let first = ledger[0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/projects/{id}/ledger/{first}"),
            &admin,
            Some(json!({"text": "人工修订的要求"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, early) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/generation"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "generation must wait for outline approval: {early}"
    );

    let (_, outline) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/outline"),
            &admin,
            None,
        )
        .await;
    let version = outline["version"].as_i64().unwrap();
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/outline/approve"),
            &admin,
            Some(json!({"version": version})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, started) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/generation"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");

    let progress = app.wait_generated(&id, &admin).await;
    assert_eq!(progress["project_status"], "generated", "{progress}");
    assert_eq!(progress["percent"], 100.0);
    let total = progress["total"].as_u64().unwrap();
    assert_eq!(progress["done"].as_u64().unwrap(), total);

    // Every section exactly once, with one generated version.
    let (_, sections) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/sections"),
            &admin,
            None,
        )
        .await;
    let sections = sections.as_array().unwrap().clone();
    assert_eq!(sections.len() as u64, total);
    assert!(sections
        .iter()
        .all(|s| s["version"] == 1 && s["text"].as_str().is_some_and(|t| !t.is_empty())));

    // A specialist may approve up to three revisions; the fourth needs a supervisor.
    let tech = app.specialist().await;
    let section = sections[0]["section_id"].as_str().unwrap().to_string();
    // An edit answers the items tagged in it: keep the section's tags, as the editor's text does.
    let tags: String = sections[0]["draft"]["answered_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| format!("〔{}〕", id.as_str().unwrap()))
        .collect();
    for n in 1..=4 {
        let (status, body) = app
            .call(
                Method::PUT,
                &format!("/api/projects/{id}/sections/{section}"),
                &tech,
                Some(json!({"text": format!("第{n}次修订的正文。{tags}"), "version": n})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, stale) = app
        .call(
            Method::PUT,
            &format!("/api/projects/{id}/sections/{section}"),
            &tech,
            Some(json!({"text": "基于旧版本的修改", "version": 2})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an edit of an old version: {stale}"
    );
    let (status, stale) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/sections/{section}/approve"),
            &admin,
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an approval of an old version: {stale}"
    );
    let (status, refused) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/sections/{section}/approve"),
            &tech,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, approved) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/sections/{section}/approve"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(approved["status"], "approved");

    // Starting generation again rewrites nothing that is written: with every section written it is refused, and the
    // approved section keeps its text, revision count and review (so the supervisor rule cannot be reset this way).
    let (status, again) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/generation"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (_, kept) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/sections/{section}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (&kept["status"], &kept["revision_count"], &kept["text"]),
        (&json!("approved"), &json!(4), &json!("第4次修订的正文。")),
        "{kept}"
    );
    let (status, cancel) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/generation/cancel"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing runs: {cancel}");

    let (status, originality) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/originality"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(originality.as_array().unwrap().len() as u64, total);

    let (status, check) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/export/check"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    let (status, export) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/exports"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{export} / check: {check}");
    let download = app
        .client
        .get(format!(
            "{}{}",
            app.base,
            export["download"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let bytes = download.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a .docx is a zip");

    let (_, audit) = app.call(Method::GET, "/api/audit", &admin, None).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    for action in [
        "project.created",
        "document.uploaded",
        "outline.approved",
        "generation.started",
        "section.approved",
        "export.created",
    ] {
        assert!(
            actions.contains(&action),
            "audit log misses {action}: {actions:?}"
        );
    }
    FinishedFlow {
        admin,
        project: id,
        download: export["download"].as_str().unwrap().to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_flow_on_sqlite_with_the_in_process_queue() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    whole_flow(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_encryption_key_set_stored_files_are_encrypted_and_served_plain() {
    const KEY: &str = "test-encryption-key-0123456789-abcdefghij";
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[("ENCRYPTION_KEY", KEY)],
    )
    .await;
    // Upload, ledger, generation and a downloaded .docx starting with PK: all checked inside.
    let flow = whole_flow(&app).await;

    let example = std::fs::read(EXAMPLE).unwrap();
    let project_number = "JSZC-2026-0417".as_bytes();
    assert!(example
        .windows(project_number.len())
        .any(|w| w == project_number));
    let stored = |sub: &str| -> Vec<(PathBuf, Vec<u8>)> {
        std::fs::read_dir(app.dir.join(sub))
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect()
    };
    let uploads = stored("uploads");
    let outputs = stored("outputs");
    assert_eq!((uploads.len(), outputs.len()), (1, 1));
    for (path, bytes) in uploads.iter().chain(&outputs) {
        assert!(
            bytes.starts_with(crate::files::MAGIC),
            "{} is not encrypted",
            path.display()
        );
        assert!(
            !bytes
                .windows(project_number.len())
                .any(|w| w == project_number),
            "{} holds plaintext of the tender",
            path.display()
        );
    }

    // The recorded checksum is of the plaintext the user uploaded.
    let (_, documents) = app
        .call(
            Method::GET,
            &format!("/api/projects/{}/documents", flow.project),
            &flow.admin,
            None,
        )
        .await;
    use sha2::Digest;
    assert_eq!(
        documents[0]["sha256"],
        hex::encode(sha2::Sha256::digest(&example))
    );

    // An export written with another key is refused with a message naming the setting, not a 500.
    let (export_path, _) = &outputs[0];
    let other = crate::files::StoredFiles::new(Some("another-encryption-key-0123456789-abcdef"));
    std::fs::write(export_path, other.seal(b"PK other", "x").unwrap()).unwrap();
    let (status, body) = app
        .call(Method::GET, &flow.download, &flow.admin, None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("ENCRYPTION_KEY")),
        "{body}"
    );
    assert!(!body.to_string().contains(KEY), "the key leaked: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_flow_on_postgres_with_redis_streams() {
    let redis = std::env::var("AIBID_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("AIBID_TEST_REDIS_URL is not set: run ./hack/test.sh (it starts Redis)")
    });
    let stream = format!("aibid-flow-{}", crate::store::new_id());
    let queue = RedisQueue::connect(&redis, &stream, Duration::from_secs(30))
        .await
        .unwrap();
    let app = TestApp::start(testing::postgres().await, Queue::Redis(queue), &[]).await;
    whole_flow(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_organisation_sees_nothing() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let id = &app.uploaded_project(&admin, "A 的项目").await;

    let intruder = app.other_organisation_supervisor().await;
    for (method, path, body) in [
        (Method::GET, format!("/api/projects/{id}"), None),
        (
            Method::PATCH,
            format!("/api/projects/{id}"),
            Some(json!({"name": "stolen"})),
        ),
        (Method::DELETE, format!("/api/projects/{id}"), None),
        (Method::GET, format!("/api/projects/{id}/documents"), None),
        (Method::GET, format!("/api/projects/{id}/ledger"), None),
        (Method::GET, format!("/api/projects/{id}/outline"), None),
        (Method::POST, format!("/api/projects/{id}/generation"), None),
        (Method::GET, format!("/api/projects/{id}/sections"), None),
        (Method::POST, format!("/api/projects/{id}/exports"), None),
        (
            Method::GET,
            format!("/api/projects/{id}/exports/anything"),
            None,
        ),
    ] {
        let (status, body) = app.call(method.clone(), &path, &intruder, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    let (status, _) = app
        .upload(id, &intruder, "x.txt", std::fs::read(EXAMPLE).unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app
        .call(Method::GET, "/api/projects", &intruder, None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let (_, own) = app
        .call(Method::GET, &format!("/api/projects/{id}"), &admin, None)
        .await;
    assert_eq!(own["name"], "A 的项目", "nothing of A changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_item_leads_to_its_source_passage_and_only_for_its_organisation() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let id = &app.uploaded_project(&admin, "出处").await;
    let (_, ledger) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/ledger"),
            &admin,
            None,
        )
        .await;
    let items = ledger.as_array().unwrap();
    // A few items of different kinds, from the start, middle and end of the tender.
    for item in [&items[0], &items[items.len() / 2], &items[items.len() - 1]] {
        let item_id = item["id"].as_str().unwrap();
        let (status, passage) = app
            .call(
                Method::GET,
                &format!("/api/projects/{id}/ledger/{item_id}/source"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{item_id}: {passage}");
        assert_eq!(passage["anchor"], item["anchor"], "{passage}");
        let anchored: Vec<&Value> = passage["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["anchored"] == true)
            .collect();
        assert_eq!(anchored.len(), 1, "one anchored block: {passage}");
        let original = squeeze_all(item["original_text"].as_str().unwrap());
        let prefix: String = original.chars().take(24).collect();
        assert!(
            squeeze_all(anchored[0]["text"].as_str().unwrap()).contains(&prefix),
            "the anchored block holds the item's text {original:?}: {passage}"
        );
        assert!(
            passage["blocks"].as_array().unwrap().len() > 1,
            "context around the block: {passage}"
        );
        assert!(
            !passage["heading_path"].as_array().unwrap().is_empty(),
            "the headings above it: {passage}"
        );
    }
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/ledger/NO-SUCH-ITEM/source"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let intruder = app.other_organisation_supervisor().await;
    let first = items[0]["id"].as_str().unwrap();
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/ledger/{first}/source"),
            &intruder,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body
        .to_string()
        .contains(&squeeze_all(items[0]["text"].as_str().unwrap())));
}

fn squeeze_all(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_get_a_4xx_and_store_nothing() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[("MAX_FILE_SIZE", "64KiB")],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let id = &app.project(&admin, "坏文件").await;
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("empty.pdf", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "big.txt",
            "招标".repeat(40_000).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        ("image.pdf", png, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "broken.docx",
            b"PK\x03\x04 this is not a real zip archive".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (name, bytes, expected) in cases {
        let (status, body) = app.upload(id, &admin, name, bytes).await;
        assert_eq!(status, expected, "{name}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: the error says what is wrong: {body}"
        );
    }
    let (_, documents) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/documents"),
            &admin,
            None,
        )
        .await;
    assert_eq!(documents.as_array().unwrap().len(), 0);
    assert_eq!(
        app.files_in("uploads"),
        0,
        "no file stored for a refused upload"
    );
    let (_, ledger) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/ledger"),
            &admin,
            None,
        )
        .await;
    assert_eq!(ledger.as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_metrics_and_errors_never_leak_secrets() {
    let llm_key = "sk-test-llm-key-that-must-not-leak";
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[("LLM_API_KEY", llm_key)],
    )
    .await;
    let health = app
        .client
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ] {
        assert_eq!(
            health.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
    assert!(health.headers().contains_key("strict-transport-security"));
    assert!(health.headers().contains_key("content-security-policy"));

    let bad_login = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": "admin@example.com", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), StatusCode::UNAUTHORIZED);
    let body: Value = bad_login.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");

    let unauthenticated = app
        .client
        .get(format!("{}/api/projects", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let forged = app
        .client
        .get(format!("{}/api/projects", app.base))
        .bearer_auth("eyJhbGciOiJIUzI1NiJ9.e30.forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let mut seen = String::new();
    for path in [
        "/api/projects",
        "/api/audit",
        "/api/monitor",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/",
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        seen.push_str(&r.text().await.unwrap());
    }
    for secret in [JWT_SECRET, ADMIN_PASSWORD, llm_key] {
        assert!(!seen.contains(secret), "a response contains a secret");
    }
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("http_request_duration_seconds_count{method=\"GET\",route=\"/api/projects\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("http_request_duration_seconds_bucket{"),
        "the duration is a histogram"
    );
    for name in [
        "http_requests_total",
        "aibid_queue_length",
        "process_resident_memory_bytes",
    ] {
        assert!(metrics.contains(name), "metric {name} missing");
    }
}

/// `/docs` is Swagger UI served from the binary: the page, its script and stylesheet load from this server (no CDN),
/// and the initializer points at the generated `/openapi.json`, which offers bearer-token authorization.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_serve_swagger_ui_with_its_assets_from_the_binary() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let get = |path: String| {
        let url = if path.starts_with("http") {
            path
        } else {
            format!("{}{path}", app.base)
        };
        app.client.get(url).send()
    };
    let page = get("/docs".into()).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page_url = page.url().clone();
    assert_eq!(
        page_url.path(),
        "/docs/",
        "/docs redirects to the UI's folder"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("swagger-ui"),
        "not the Swagger UI page: {html}"
    );

    // Every script and stylesheet the page names is served here, non-empty.
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
        .map(str::to_string)
        .collect();
    for needed in [
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
        "swagger-ui.css",
    ] {
        assert!(
            assets.iter().any(|a| a.ends_with(needed)),
            "{needed} missing from {assets:?}"
        );
    }
    let mut initializer = String::new();
    for asset in &assets {
        let url = page_url.join(asset).unwrap();
        assert_eq!(
            url.origin(),
            page_url.origin(),
            "{asset} is not served by the binary"
        );
        let response = get(url.to_string()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let body = response.text().await.unwrap();
        assert!(body.len() > 100, "{url} is (nearly) empty");
        if asset.ends_with("swagger-initializer.js") {
            initializer = body;
        }
    }
    assert!(
        initializer.contains("/openapi.json"),
        "the UI does not load the generated spec: {initializer}"
    );

    let spec: Value = get("/openapi.json".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/api/projects/{id}/documents"]["post"].is_object());
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Operations are grouped by resource name, not by Rust module path.
    assert_eq!(
        spec["paths"]["/api/projects"]["get"]["tags"],
        json!(["projects"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_while_the_database_is_down_and_recovers_without_restart() {
    let pg = testing::PrivatePostgres::init();
    let store = Store::connect(&pg.url(), 4).await.unwrap();
    store.migrate().await.unwrap();
    let app = TestApp::start(store, Queue::Local(LocalQueue::default()), &[]).await;
    assert_eq!(ready(&app).await.status(), StatusCode::OK);

    pg.stop();
    let down = ready(&app).await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["database"], false);
    let admin_login = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": "admin@example.com", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        admin_login.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a request needing the database answers 503, not 500"
    );
    assert_eq!(
        app.client
            .get(format!("{}/health", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "liveness stays up"
    );

    pg.start();
    let mut recovered = false;
    for _ in 0..50 {
        if ready(&app).await.status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "/ready did not recover after the database came back"
    );
    app.login("admin@example.com", ADMIN_PASSWORD).await;
}

async fn ready(app: &TestApp) -> reqwest::Response {
    app.client
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .unwrap()
}

/// The `monitor` role's router: its own login, the monitor view and the probes, and nothing of the project API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_role_serves_the_monitor_and_not_the_project_api() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let monitor_app = super::monitor_router(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, monitor_app).await });
    let monitor = TestApp {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state: app.state.clone(),
        dir: app.dir.clone(),
        _shutdown: watch::channel(false).0,
    };

    let root = monitor.client.get(&monitor.base).send().await.unwrap();
    assert!(root.status().is_redirection(), "/ is {}", root.status());
    assert_eq!(root.headers()["location"], "/monitor");
    let page = monitor
        .client
        .get(format!("{}/monitor", monitor.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("任务监控"));

    let (status, _) = monitor.call(Method::GET, "/api/monitor", "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = monitor.login("admin@example.com", ADMIN_PASSWORD).await;
    let (status, view) = monitor
        .call(Method::GET, "/api/monitor", &token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(view["workers"].is_array(), "{view}");
    let (status, _) = monitor
        .call(Method::GET, "/api/projects", &token, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = monitor.call(Method::GET, "/ready", "", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_lists_running_and_failed_tasks_of_its_own_organisation_only() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let other = app.other_organisation_supervisor().await;
    let (mut running, mut failed_ids) = (Vec::new(), Vec::new());
    for (token, name) in [(&admin, "A 的项目"), (&other, "B 的项目")] {
        let project = app.project(token, name).await;
        // Stored but never queued, so the test's worker leaves it alone; a pretend worker claims it.
        let task = app
            .state
            .store
            .create_task(&project, "section", Some("sec-1"))
            .await
            .unwrap();
        let claimed = app
            .state
            .store
            .start_task(&task, "pretend-worker")
            .await
            .unwrap();
        assert!(claimed.is_some());
        running.push(task);
        // And one failed task per organisation.
        let failed = app
            .state
            .store
            .create_task(&project, "section", Some("sec-2"))
            .await
            .unwrap();
        app.state
            .store
            .start_task(&failed, "pretend-worker")
            .await
            .unwrap();
        assert!(app
            .state
            .store
            .finish_task(&failed, "failed", Some("LLM timeout"))
            .await
            .unwrap());
        failed_ids.push(failed);
    }
    let (status, view) = app.call(Method::GET, "/api/monitor", &admin, None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let listed = view["running_tasks"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "only A's running task: {view}");
    assert_eq!(listed[0]["id"], running[0].as_str());
    assert_eq!(listed[0]["project_name"], "A 的项目");
    assert_eq!(listed[0]["section_id"], "sec-1");
    assert_eq!(listed[0]["worker"], "pretend-worker");
    assert!(listed[0]["started_at"].as_i64().unwrap() > 0, "{view}");
    let failed = view["failed_tasks"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "only A's failed task: {view}");
    assert_eq!(failed[0]["id"], failed_ids[0].as_str());
    // The totals count the same tasks as the lists: B's work is neither listed nor counted.
    assert_eq!(
        (&view["running"], &view["failed"], &view["queued"]),
        (&json!(1), &json!(1), &json!(0)),
        "{view}"
    );
}

/// axum's own rejections answer like every other error: JSON `{error, message}` with the right 4xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_rejections_are_json_errors_too() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let url = |path: &str| format!("{}{path}", app.base);
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            "body that is not JSON",
            app.client
                .post(url("/api/projects"))
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "JSON without the required field",
            app.client
                .post(url("/api/projects"))
                .bearer_auth(&admin)
                .json(&json!({"title": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
        ),
        (
            "body without a JSON content type",
            app.client
                .post(url("/api/projects"))
                .bearer_auth(&admin)
                .body("{\"name\": \"x\"}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "path parameter that is not UTF-8",
            app.client
                .get(url("/api/projects/%FF%FE"))
                .bearer_auth(&admin),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "unknown route",
            app.client
                .get(url("/api/no-such-thing"))
                .bearer_auth(&admin),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "wrong method",
            app.client.delete(url("/health")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (what, request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{what}"
        );
        assert_eq!(
            response
                .headers()
                .get("x-content-type-options")
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{what}: the security headers stay"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], code, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    let (_, unknown) = app
        .call(Method::GET, "/api/no-such-thing", &admin, None)
        .await;
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("/api/no-such-thing"),
        "{unknown}"
    );
    let wrong_method = app.client.delete(url("/health")).send().await.unwrap();
    assert_eq!(
        wrong_method
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("GET,HEAD"),
        "the Allow header survives the rewrite"
    );
}

/// The names alerts/exported-metrics.txt assigns to an aibid exporter (`aibid:api`, `aibid:monitor`), with their
/// type.
fn contracted_aibid_metrics() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../alerts/exported-metrics.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows: Vec<(String, String)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let columns: Vec<&str> = l.split_whitespace().collect();
            match columns.as_slice() {
                [name, exporter, kind, ..] if exporter.starts_with("aibid:") => {
                    Some((name.to_string(), kind.to_string()))
                }
                _ => None,
            }
        })
        .collect();
    assert!(rows.len() >= 10, "{path}: too few aibid rows: {rows:?}");
    rows
}

/// True when the exposition has a sample (not only HELP/TYPE) of `name`.
fn has_sample(exposition: &str, name: &str) -> bool {
    exposition.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_include_every_name_the_alerts_and_dashboards_use() {
    // The LLM writer (against the fake model) so aibid_llm_requests_total has samples too.
    let llm = aibid_proposal::testing::FakeLlm::start().await.unwrap();
    let llm_url = llm.base_url();
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[
            ("LLM_API_KEY", "sk-metrics-contract"),
            ("LLM_BASE_URL", llm_url.as_str()),
        ],
    )
    .await;
    whole_flow(&app).await;
    let exposition = app.metrics_text().await;
    let mut missing = Vec::new();
    for (name, kind) in contracted_aibid_metrics() {
        let samples = if kind == "histogram" {
            vec![format!("{name}_bucket"), format!("{name}_count")]
        } else {
            vec![name]
        };
        missing.extend(samples.into_iter().filter(|s| !has_sample(&exposition, s)));
    }
    assert!(
        missing.is_empty(),
        "/metrics has no sample of {missing:?} (contract: alerts/exported-metrics.txt):\n{exposition}"
    );
    for sample in [
        "aibid_projects_total{status=\"created\"} 1",
        "aibid_projects_total{status=\"completed\"} 1",
        // The flow's admin and technical specialist made requests.
        "aibid_active_users 2",
    ] {
        assert!(
            exposition.lines().any(|l| l == sample),
            "{sample} missing:\n{exposition}"
        );
    }
    assert!(
        exposition.contains("aibid_tasks_total{kind=\"section\",outcome=\"ok\"}"),
        "{exposition}"
    );
}

/// A project with the example tender uploaded and its outline approved; returns its id.
async fn approved_project(app: &TestApp, token: &str, name: &str) -> String {
    let id = app.uploaded_project(token, name).await;
    let (_, outline) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/outline"),
            token,
            None,
        )
        .await;
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/outline/approve"),
            token,
            Some(json!({ "version": outline["version"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// The LLM answers garbage: every section task is tried MAX_ATTEMPTS times with backoff and then fails; the
/// project ends `failed`; the export is refused with a 409 naming each failed section and why; the task monitor
/// lists the failed tasks; once the LLM answers again, a retry from the monitor completes the project and the
/// export goes through, with every section stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_tasks_block_the_export_until_a_retry_from_the_monitor_recovers_them() {
    use aibid_proposal::testing::{FakeLlm, FakeReply};
    let llm = FakeLlm::start().await.unwrap();
    llm.set_default(FakeReply::Malformed);
    let llm_url = llm.base_url();
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[
            ("LLM_API_KEY", "sk-retry-test"),
            ("LLM_BASE_URL", llm_url.as_str()),
            ("LLM_MAX_RETRIES", "0"),
        ],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let id = approved_project(&app, &admin, "模型故障").await;
    let (status, started) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/generation"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let total = started["tasks"].as_u64().unwrap();

    let progress = app.wait_generated(&id, &admin).await;
    assert_eq!(progress["project_status"], "failed", "{progress}");
    let attempts = crate::worker::MAX_ATTEMPTS as usize;
    assert_eq!(
        llm.requests().len(),
        total as usize * attempts,
        "each section tried {attempts} times (LLM_MAX_RETRIES=0: one request per attempt)"
    );

    // The monitor lists every failed task with its attempts and error.
    let (status, monitor) = app.call(Method::GET, "/api/monitor", &admin, None).await;
    assert_eq!(status, StatusCode::OK, "{monitor}");
    let failed = monitor["failed_tasks"].as_array().unwrap().clone();
    assert_eq!(failed.len() as u64, total, "{monitor}");
    assert!(
        failed.iter().all(|t| t["attempts"] == attempts as i64
            && t["error"].as_str().is_some_and(|e| !e.is_empty())),
        "{monitor}"
    );

    // Export: the check and the refusal both name the failed sections and the reason.
    let (_, check) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/export/check"),
            &admin,
            None,
        )
        .await;
    assert_eq!(check["ready"], false, "{check}");
    let (_, sections) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/sections"),
            &admin,
            None,
        )
        .await;
    let first_title = sections[0]["title"].as_str().unwrap().to_string();
    let (status, refused) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/exports"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("生成失败") && message.contains(&first_title),
        "the refusal names the failed sections: {refused}"
    );
    assert_eq!(app.files_in("outputs"), 0, "nothing exported");

    // A person retries from the monitor once the model answers again; a task that is not failed cannot be.
    llm.set_default(FakeReply::Normal);
    for task in &failed {
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/tasks/{}/retry", task["id"].as_str().unwrap()),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let mut progress = Value::Null;
    for _ in 0..600 {
        progress = app
            .call(
                Method::GET,
                &format!("/api/projects/{id}/progress"),
                &admin,
                None,
            )
            .await
            .1;
        if progress["project_status"] == "generated" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(progress["project_status"], "generated", "{progress}");
    assert_eq!(progress["done"].as_u64(), Some(total), "{progress}");
    let (status, again) = app
        .call(
            Method::POST,
            &format!("/api/tasks/{}/retry", failed[0]["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a done task: {again}");

    let (status, export) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/exports"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{export}");
    let (_, sections) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/sections"),
            &admin,
            None,
        )
        .await;
    assert!(
        sections
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["version"] == 1 && s["status"] == "done"),
        "every section stored once: {sections}"
    );

    let metrics = app.metrics_text().await;
    for (outcome, count) in [
        ("retried", total * (attempts as u64 - 1)),
        ("failed", total),
        ("ok", total),
    ] {
        let sample = format!("aibid_tasks_total{{kind=\"section\",outcome=\"{outcome}\"}} {count}");
        assert!(
            metrics.lines().any(|l| l == sample),
            "{sample} missing:\n{metrics}"
        );
    }
}

/// While a generation runs, the tender, ledger and outline cannot change under it; an edited outline is checked
/// before it is stored; a failed task is retried only from an approved outline; deleting a project removes its
/// stored files too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_generation_locks_its_inputs_and_a_deleted_project_leaves_no_files() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let id = approved_project(&app, &admin, "锁定的项目").await;
    let outline_path = format!("/api/projects/{id}/outline");
    let (_, view) = app.call(Method::GET, &outline_path, &admin, None).await;
    let outline = view["outline"].clone();
    let first_item = outline["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s["requirement_ids"][0].as_str())
        .unwrap()
        .to_string();

    // A run in progress (the status is what every handler reads).
    app.state
        .store
        .set_project_status(&id, "generating")
        .await
        .unwrap();
    let (status, body) = app
        .upload(&id, &admin, "t.txt", std::fs::read(EXAMPLE).unwrap())
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "upload: {body}");
    let (status, body) = app
        .call(Method::PUT, &outline_path, &admin, Some(outline.clone()))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "outline: {body}");
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/api/projects/{id}/ledger/{first_item}"),
            &admin,
            Some(json!({"text": "改"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "ledger: {body}");
    assert_eq!(
        app.files_in("uploads"),
        1,
        "the refused upload stored nothing"
    );
    app.state
        .store
        .set_project_status(&id, "approved")
        .await
        .unwrap();

    // An edited outline must be addressable and refer to this ledger only.
    for (field, value, names) in [
        ("id", json!(""), "section id"),
        ("id", json!("../x"), "section id"),
        ("title", json!("  "), "title"),
        ("level", json!(9), "level"),
        ("word_budget", json!(4_000_000_000u64), "word_budget"),
        ("requirement_ids", json!(["ZZ-999"]), "ZZ-999"),
    ] {
        let mut bad = outline.clone();
        bad["sections"][0][field] = value;
        let (status, body) = app
            .call(Method::PUT, &outline_path, &admin, Some(bad))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(names),
            "{field}: {body}"
        );
    }
    let (status, body) = app
        .call(Method::PUT, &outline_path, &admin, Some(outline.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "the outline as planned: {body}");

    // The latest outline is now an unapproved edit: a failed task of a failed section may not be retried from it.
    let store = &app.state.store;
    store
        .prepare_sections(&id, &[("sec-1".into(), "1 投标函".into())])
        .await
        .unwrap();
    store
        .set_section_status(&id, "sec-1", "failed", Some("LLM timeout"))
        .await
        .unwrap();
    let task = store
        .create_task(&id, "section", Some("sec-1"))
        .await
        .unwrap();
    store.start_task(&task, "pretend-worker").await.unwrap();
    store
        .finish_task(&task, "failed", Some("LLM timeout"))
        .await
        .unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/tasks/{task}/retry"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("approved"),
        "refused for the outline, not the section: {body}"
    );
    assert_eq!(store.task(&task).await.unwrap().unwrap().status, "failed");

    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/generation/cancel"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "not running: {body}");

    let (status, _) = app
        .call(Method::DELETE, &format!("/api/projects/{id}"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.files_in("uploads"),
        0,
        "the tender file went with its project"
    );
}

/// A project holds one tender: a new upload replaces the ledger. An edit survives a re-upload of the same tender;
/// items the new tender does not have leave the ledger; an id that now names a different requirement loses the
/// edit made to the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_upload_replaces_the_ledger_and_keeps_edits_only_on_the_same_requirement() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let id = app.uploaded_project(&admin, "换标书").await;
    let ledger_path = format!("/api/projects/{id}/ledger");
    let example = std::fs::read_to_string(EXAMPLE).unwrap();
    let (_, ledger) = app.call(Method::GET, &ledger_path, &admin, None).await;
    let items = ledger.as_array().unwrap().clone();
    // Two items to edit, both with their extracted text verbatim on one line of the file.
    let on_a_line = |item: &&Value| {
        let original = item["original_text"].as_str().unwrap();
        example.lines().any(|line| line.contains(original))
    };
    let mut editable = items.iter().filter(on_a_line);
    let (kept, reworded) = (editable.next().unwrap(), editable.next().unwrap());
    for item in [kept, reworded] {
        let (status, body) = app
            .call(
                Method::PATCH,
                &format!("{ledger_path}/{}", item["id"].as_str().unwrap()),
                &admin,
                Some(json!({"text": "人工修订"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // The same tender with one requirement reworded, and without its last lines.
    let original = reworded["original_text"].as_str().unwrap();
    let changed = example.replacen(
        original,
        "投标人须具备本地化驻场服务能力并承诺七日内到场",
        1,
    );
    let lines: Vec<&str> = changed.lines().collect();
    let shorter = lines[..lines.len() * 3 / 4].join("\n");
    let (status, uploaded) = app
        .upload(&id, &admin, "t2.txt", shorter.into_bytes())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    let (_, ledger) = app.call(Method::GET, &ledger_path, &admin, None).await;
    let ledger = ledger.as_array().unwrap();
    assert_eq!(
        ledger.len() as u64,
        uploaded["requirements"].as_u64().unwrap(),
        "nothing of the earlier analysis is left over"
    );
    assert!(
        ledger.len() < items.len(),
        "the cut lines took items with them"
    );
    let find = |item: &Value| ledger.iter().find(|i| i["id"] == item["id"]).cloned();
    let kept_now = find(kept).expect("the unchanged item is still there");
    assert_eq!(
        (&kept_now["text"], &kept_now["edited_by"].is_string()),
        (&json!("人工修订"), &true),
        "{kept_now}"
    );
    let reworded_now = find(reworded).expect("the reworded item keeps its id");
    assert_ne!(reworded_now["text"], "人工修订", "{reworded_now}");
    assert!(reworded_now["edited_by"].is_null(), "{reworded_now}");
}

/// A person marks ledger items answered in an edit with the LLM's 〔ID〕 tags; the tags leave the text, and the
/// items count as answered for the export check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_tags_in_an_edit_mark_items_answered() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let id = approved_project(&app, &admin, "标注响应").await;
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/projects/{id}/generation"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.wait_generated(&id, &admin).await;
    let (_, sections) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/sections"),
            &admin,
            None,
        )
        .await;
    let section = sections
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["draft"]["answered_ids"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .unwrap()
        .clone();
    let section_id = section["section_id"].as_str().unwrap();
    let answered: Vec<String> = section["draft"]["answered_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // As if the writer had answered nothing: the same draft with an empty answered list.
    let mut bare = section["draft"].clone();
    bare["answered_ids"] = json!([]);
    app.state
        .store
        .edit_section(&id, section_id, &bare.to_string(), "test")
        .await
        .unwrap();
    let (_, check) = app
        .call(
            Method::GET,
            &format!("/api/projects/{id}/export/check"),
            &admin,
            None,
        )
        .await;
    assert_eq!(check["ready"], false, "{check}");

    let tags: String = answered.iter().map(|id| format!("〔{id}〕")).collect();
    let (status, edited) = app
        .call(
            Method::PUT,
            &format!("/api/projects/{id}/sections/{section_id}"),
            &admin,
            Some(json!({ "text": format!("我方完全响应本节全部要求。{tags}") })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["draft"]["answered_ids"], json!(answered), "{edited}");
    assert!(!edited["text"].as_str().unwrap().contains('〔'), "{edited}");
    assert!(
        edited["editable_text"].as_str().unwrap().ends_with(&tags),
        "the editor gets the tags back: {edited}"
    );
    let check_path = format!("/api/projects/{id}/export/check");
    let (_, check) = app.call(Method::GET, &check_path, &admin, None).await;
    assert_eq!(check["ready"], true, "{check}");

    // Removing the tags (or the answers) answers nothing any more, and the export check says so.
    let (status, edited) = app
        .call(
            Method::PUT,
            &format!("/api/projects/{id}/sections/{section_id}"),
            &admin,
            Some(json!({ "text": "全部删掉了" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["draft"]["answered_ids"], json!([]), "{edited}");
    let (_, check) = app.call(Method::GET, &check_path, &admin, None).await;
    assert_eq!(check["ready"], false, "{check}");
}

/// Review rules around rewritten sections: a specialist cannot undo an approval by regenerating or editing; an
/// old failed task cannot be retried over a section written since (and leaves the monitor); two generation starts
/// at once give one run and 409s, not a 500; the originality report compares a proposal with earlier ones only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rewritten_sections_keep_their_review_and_originality_looks_back_only() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    let tech = app.specialist().await;

    let first = approved_project(&app, &admin, "较早的方案").await;
    // Parallel starts: exactly one run.
    let start = format!("/api/projects/{first}/generation");
    let starts =
        futures::future::join_all((0..6).map(|_| app.call(Method::POST, &start, &admin, None)))
            .await;
    let codes: Vec<StatusCode> = starts.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == StatusCode::ACCEPTED).count(),
        1,
        "{starts:?}"
    );
    assert!(
        codes
            .iter()
            .all(|c| *c == StatusCode::ACCEPTED || *c == StatusCode::CONFLICT),
        "{starts:?}"
    );
    app.wait_generated(&first, &admin).await;

    // An old failed task of a section that has been written since.
    let store = &app.state.store;
    let old = store
        .create_task(&first, "section", Some("sec-1"))
        .await
        .unwrap();
    store.start_task(&old, "pretend-worker").await.unwrap();
    store
        .finish_task(&old, "failed", Some("LLM timeout"))
        .await
        .unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/tasks/{old}/retry"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Approved by the admin (a supervisor): the specialist may neither regenerate nor edit it.
    let section = format!("/api/projects/{first}/sections/sec-1");
    let (status, _) = app
        .call(Method::POST, &format!("{section}/approve"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .call(Method::POST, &format!("{section}/regenerate"), &tech, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app
        .call(Method::PUT, &section, &tech, Some(json!({"text": "改"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let missing = format!("/api/projects/{first}/sections/sec-99/regenerate");
    let (status, body) = app.call(Method::POST, &missing, &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A regenerate by the admin supersedes the old failed task: the monitor no longer offers it.
    let (status, _) = app
        .call(Method::POST, &format!("{section}/regenerate"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.wait_generated(&first, &admin).await;
    let (_, monitor) = app.call(Method::GET, "/api/monitor", &admin, None).await;
    assert!(
        monitor["failed_tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != old.as_str()),
        "{monitor}"
    );

    // The same tender again, later (creation times are in seconds): it repeats the earlier proposal, and the
    // earlier one repeats nothing.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = approved_project(&app, &admin, "较晚的方案").await;
    let start = format!("/api/projects/{second}/generation");
    let (status, _) = app.call(Method::POST, &start, &admin, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.wait_generated(&second, &admin).await;
    let mut reports = Vec::new();
    for project in [&second, &first] {
        let path = format!("/api/projects/{project}/originality");
        let (status, report) = app.call(Method::GET, &path, &admin, None).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        reports.push(report.as_array().unwrap().clone());
    }
    assert!(
        reports[0]
            .iter()
            .any(|s| s["similarity"].as_f64().unwrap() > 0.5
                && s["closest_source"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("较早的方案")),
        "the later proposal repeats the earlier one: {:?}",
        reports[0]
    );
    assert!(
        reports[1]
            .iter()
            .all(|s| s["similarity"].as_f64().unwrap() == 0.0 && s["closest_source"].is_null()),
        "the earlier proposal has nothing earlier: {:?}",
        reports[1]
    );
}

/// The scheduler's retention job removes uploads and exports older than RETENTION_DAYS and nothing newer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_only_files_past_their_days() {
    let app = TestApp::start(
        testing::sqlite().await,
        Queue::Local(LocalQueue::default()),
        &[],
    )
    .await;
    let admin = app.login("admin@example.com", ADMIN_PASSWORD).await;
    app.uploaded_project(&admin, "保留期").await;
    assert_eq!(app.files_in("uploads"), 1);
    let settings = &app.state.settings;
    let now = crate::store::now();
    let within = now + i64::from(settings.retention_days) * 86_400 - 60;
    let removed = crate::server::retention_cleanup(settings, &app.state.store, within)
        .await
        .unwrap();
    assert_eq!(
        (removed, app.files_in("uploads")),
        (0, 1),
        "still within its days"
    );
    let past = now + i64::from(settings.retention_days) * 86_400 + 60;
    let removed = crate::server::retention_cleanup(settings, &app.state.store, past)
        .await
        .unwrap();
    assert_eq!((removed, app.files_in("uploads")), (1, 0));
}
