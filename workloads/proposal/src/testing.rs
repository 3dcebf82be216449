//! `FakeLlm`: a local OpenAI-compatible `/chat/completions` server for tests (the only allowed stand-in for
//! the external LLM). It records every request (time, body, headers), tracks the most requests in flight,
//! and answers each call as scripted: normally, slowly, 429 + Retry-After, 500, truncated, malformed, empty.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How the fake answers one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FakeReply {
    /// A well-formed answer that responds to every 〔ID〕 listed in the last user message.
    Normal,
    /// This content with `finish_reason=stop`.
    Text { content: String },
    /// This content with `finish_reason=length` (the client is expected to ask to continue).
    Truncated { content: String },
    /// A normal answer after a delay.
    Slow { delay_ms: u64 },
    RateLimited { retry_after_secs: u64 },
    ServerError,
    /// A 200 whose body is not JSON.
    Malformed,
    /// A 200 with `"choices": []`.
    EmptyChoices,
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub received_at: Instant,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The JSON body (or the raw text as a JSON string when it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// All message contents of the request, joined (what the model would read).
    pub fn prompt_text(&self) -> String {
        self.body["messages"]
            .as_array()
            .map(|messages| {
                messages.iter().filter_map(|m| m["content"].as_str()).collect::<Vec<_>>().join("\n")
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct FakeState {
    script: Mutex<VecDeque<FakeReply>>,
    default_reply: Mutex<Option<FakeReply>>,
    /// Added to every reply, to hold requests in flight.
    delay: Mutex<Duration>,
    requests: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct FakeLlm {
    addr: SocketAddr,
    state: Arc<FakeState>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start() -> std::io::Result<FakeLlm> {
        FakeLlm::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeLlm> {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/chat/completions", post(chat))
            .route("/v1/chat/completions", post(chat))
            .route("/fake/script", post(push_script))
            .route("/fake/requests", get(list_requests))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeLlm { addr, state, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give `LlmConfig` (the client appends `/chat/completions`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues replies for the next calls, in order; after them the default reply is used.
    pub fn push(&self, replies: impl IntoIterator<Item = FakeReply>) {
        locked(&self.state.script).extend(replies);
    }

    /// The reply once the script is used up (`Normal` unless set).
    pub fn set_default(&self, reply: FakeReply) {
        *locked(&self.state.default_reply) = Some(reply);
    }

    /// Delays every reply, e.g. to keep calls in flight while measuring concurrency.
    pub fn set_delay(&self, delay: Duration) {
        *locked(&self.state.delay) = delay;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        locked(&self.state.requests).clone()
    }

    /// The most chat requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct InFlight(Arc<FakeState>);

impl InFlight {
    fn enter(state: &Arc<FakeState>) -> InFlight {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(Arc::clone(state))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn chat(State(state): State<Arc<FakeState>>, headers: HeaderMap, body: String) -> Response {
    let _in_flight = InFlight::enter(&state);
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    locked(&state.requests).push(RecordedRequest {
        received_at: Instant::now(),
        path: "/chat/completions".into(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: parsed.clone(),
    });
    let reply = locked(&state.script)
        .pop_front()
        .or_else(|| locked(&state.default_reply).clone())
        .unwrap_or(FakeReply::Normal);
    let delay = *locked(&state.delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match reply {
        FakeReply::Normal => completion(&parsed, normal_answer(&parsed), "stop"),
        FakeReply::Text { content } => completion(&parsed, content, "stop"),
        FakeReply::Truncated { content } => completion(&parsed, content, "length"),
        FakeReply::Slow { delay_ms } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            completion(&parsed, normal_answer(&parsed), "stop")
        }
        FakeReply::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            Json(json!({"error": {"message": "rate limited", "type": "rate_limit"}})),
        )
            .into_response(),
        FakeReply::ServerError => {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": {"message": "internal error"}}))).into_response()
        }
        FakeReply::Malformed => {
            (StatusCode::OK, [("content-type", "application/json")], "{\"choices\": [ {\"message\": ").into_response()
        }
        FakeReply::EmptyChoices => {
            Json(json!({"id": "fake", "object": "chat.completion", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 0}}))
                .into_response()
        }
    }
}

fn completion(request: &Value, content: String, finish_reason: &str) -> Response {
    let prompt_chars: usize = request["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["content"].as_str()).map(|c| c.chars().count()).sum())
        .unwrap_or(0);
    let completion_tokens = content.chars().count();
    Json(json!({
        "id": "fake-completion",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": prompt_chars, "completion_tokens": completion_tokens, "total_tokens": prompt_chars + completion_tokens}
    }))
    .into_response()
}

/// Responds to every 〔ID〕 of the last user message, with a deviation row for parameter ids ("PA-").
fn normal_answer(request: &Value) -> String {
    let last_user = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let mut ids: Vec<&str> = Vec::new();
    let mut rest = last_user;
    while let Some(start) = rest.find('〔') {
        let after = &rest[start + '〔'.len_utf8()..];
        let Some(end) = after.find('〕') else { break };
        let id = &after[..end];
        if !id.is_empty() && id.len() <= 24 && !ids.contains(&id) {
            ids.push(id);
        }
        rest = &after[end..];
    }
    let mut answer = String::from("### 总体响应\n我方已认真研究招标文件，对本章节的全部要求作出如下响应。\n\n");
    let mut table = String::new();
    for id in &ids {
        answer.push_str(&format!("- 针对该项要求，我方完全响应并承诺在合同履行中严格执行。〔{id}〕\n"));
        if id.starts_with("PA-") {
            table.push_str(&format!("| {id} | 见招标文件 | 【待填写：实际响应值】 | 无偏离 |\n"));
        }
    }
    if !table.is_empty() {
        answer.push_str("\n| 编号 | 招标要求 | 投标响应 | 偏离情况 |\n|---|---|---|---|\n");
        answer.push_str(&table);
    }
    answer
}

async fn push_script(State(state): State<Arc<FakeState>>, Json(replies): Json<Vec<FakeReply>>) -> StatusCode {
    locked(&state.script).extend(replies);
    StatusCode::NO_CONTENT
}

async fn list_requests(State(state): State<Arc<FakeState>>) -> Json<Value> {
    let requests = locked(&state.requests);
    Json(Value::Array(
        requests
            .iter()
            .map(|r| json!({"path": r.path, "headers": r.headers.iter().filter(|(n, _)| n != "authorization").map(|(n, v)| json!([n, v])).collect::<Vec<_>>(), "body": r.body}))
            .collect(),
    ))
}
