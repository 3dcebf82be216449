//! The LLM section writer: OpenAI-compatible `/chat/completions` over reqwest (rustls). Retries timeouts,
//! 429 (Retry-After honoured) and 5xx with exponential backoff and jitter, bounds concurrency (halving on 429),
//! continues answers cut off by `finish_reason=length`, counts tokens, and never lets the key into errors.

use super::limit::AdaptiveLimit;
use super::{DeviationRow, SectionDraft, SectionRequest, SectionWriter, Usage, WriteError};
use crate::content::{parse_markdown, ContentBlock};
use aibid_tender::RequirementKind;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings of an OpenAI-compatible endpoint. `Debug` never shows the key.
#[derive(Clone)]
pub struct LlmConfig {
    /// Without the `/chat/completions` suffix, e.g. `https://api.deepseek.com` or `https://host/v1`.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub timeout: Duration,
    /// Retries after the first attempt, on timeouts, 429 and 5xx.
    pub max_retries: u32,
    pub max_concurrency: usize,
    /// First backoff step; doubles per retry, plus up to half of it as jitter.
    pub backoff_base: Duration,
    /// Rounds of "please continue" after `finish_reason=length`.
    pub max_continuations: u32,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: "https://api.deepseek.com".into(),
            api_key: String::new(),
            model: "deepseek-chat".into(),
            timeout: Duration::from_secs(300),
            max_retries: 3,
            max_concurrency: 4,
            backoff_base: Duration::from_secs(1),
            max_continuations: 3,
        }
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field(
                "api_key",
                &if self.api_key.is_empty() {
                    "<unset>"
                } else {
                    "<redacted>"
                },
            )
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_concurrency", &self.max_concurrency)
            .field("backoff_base", &self.backoff_base)
            .field("max_continuations", &self.max_continuations)
            .finish()
    }
}

pub struct LlmWriter {
    config: LlmConfig,
    client: reqwest::Client,
    limit: Arc<AdaptiveLimit>,
    total: Mutex<Usage>,
    on_attempt: Option<AttemptObserver>,
}

/// Told the outcome of every HTTP attempt ("ok", "timeout", "rate_limited", "server_error", "client_error",
/// "transport", "malformed"), so a service can count requests and errors (retries included) in its metrics.
pub type AttemptObserver = Arc<dyn Fn(&'static str) + Send + Sync>;

/// How one HTTP attempt ended when it did not succeed.
enum Failure {
    Retryable {
        error: WriteError,
        retry_after: Option<Duration>,
        rate_limited: bool,
    },
    Fatal(WriteError),
}

struct Completion {
    content: String,
    finish_reason: Option<String>,
    usage: Usage,
}

const SYSTEM_PROMPT: &str = "你是资深的政府采购投标文件撰写专家。请为投标文件撰写指定章节的正文，要求：\n\
1. 只输出该章节正文（Markdown：小标题用“### ”，列表用“- ”，表格用“| 列 | 列 |”），不要重复章节编号和章节标题；\n\
2. 逐条响应给出的每一项招标要求，在响应该项的段落末尾标注其编号，格式为〔编号〕，例如〔SC-001〕；\n\
3. 技术参数用表格逐项响应，表头为：| 编号 | 招标要求 | 投标响应 | 偏离情况 |，编号列填写需求编号；\n\
4. 不得编造资质证书编号、人员姓名、业绩合同、价格等事实，需由投标人填写之处写成【待填写：说明】；\n\
5. 项目名称、项目编号必须与给出的项目信息完全一致；篇幅以给出的字数为目标。";

const CONTINUE_PROMPT: &str = "请从上文中断处继续输出，不要重复已经输出的内容。";

impl LlmWriter {
    pub fn new(config: LlmConfig) -> Result<LlmWriter, WriteError> {
        if config.api_key.trim().is_empty() {
            return Err(WriteError::Config("the API key is empty".into()));
        }
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(WriteError::Config(format!(
                "base URL {:?} must start with http:// or https://",
                config.base_url
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| WriteError::Config(format!("cannot build the HTTP client: {e}")))?;
        let limit = AdaptiveLimit::new(config.max_concurrency);
        Ok(LlmWriter {
            config,
            client,
            limit,
            total: Mutex::new(Usage::default()),
            on_attempt: None,
        })
    }

    /// Calls `observer` with the outcome of every HTTP attempt.
    pub fn with_attempt_observer(mut self, observer: AttemptObserver) -> LlmWriter {
        self.on_attempt = Some(observer);
        self
    }

    /// Tokens spent by this writer so far, over all sections.
    pub fn total_usage(&self) -> Usage {
        *self.total.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The concurrency bound now in force (lower than the maximum after 429s).
    pub fn current_concurrency_limit(&self) -> usize {
        self.limit.current_limit()
    }

    fn endpoint(&self) -> String {
        format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        )
    }

    /// Removes the key from any text that may end up in an error or a log.
    fn redact(&self, text: &str) -> String {
        let key = self.config.api_key.trim();
        if key.is_empty() {
            text.to_string()
        } else {
            text.replace(key, "<redacted>")
        }
    }

    /// One chat completion with retries, inside the concurrency bound.
    async fn complete(&self, messages: &[Value]) -> Result<Completion, WriteError> {
        let body = json!({ "model": self.config.model, "messages": messages, "temperature": 0.3, "stream": false });
        let mut attempt = 0u32;
        loop {
            let outcome = {
                let _permit = self.limit.acquire().await;
                self.attempt(&body).await
            };
            if let Some(observe) = &self.on_attempt {
                observe(attempt_outcome(&outcome));
            }
            match outcome {
                Ok(completion) => {
                    self.limit.on_success();
                    return Ok(completion);
                }
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retryable {
                    error,
                    retry_after,
                    rate_limited,
                }) => {
                    if rate_limited {
                        self.limit.on_rate_limited();
                    }
                    if attempt >= self.config.max_retries {
                        return Err(WriteError::RetriesExhausted {
                            attempts: attempt + 1,
                            last_error: error.to_string(),
                        });
                    }
                    let wait = self.backoff(attempt).max(retry_after.unwrap_or_default());
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .config
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16));
        let jitter = step.mul_f64(fastrand::f64() * 0.5);
        step + jitter
    }

    async fn attempt(&self, body: &Value) -> Result<Completion, Failure> {
        let sent = self
            .client
            .post(self.endpoint())
            .bearer_auth(self.config.api_key.trim())
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Err(self.transport_failure(e)),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|secs| secs.is_finite() && *secs >= 0.0)
            .map(Duration::from_secs_f64);
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => return Err(self.transport_failure(e)),
        };
        if !status.is_success() {
            let error = WriteError::Http {
                status: status.as_u16(),
                body: self.redact(&snippet(&text)),
            };
            return Err(if status.as_u16() == 429 {
                Failure::Retryable {
                    error,
                    retry_after,
                    rate_limited: true,
                }
            } else if status.is_server_error() {
                Failure::Retryable {
                    error,
                    retry_after: None,
                    rate_limited: false,
                }
            } else {
                Failure::Fatal(error)
            });
        }
        parse_completion(&text).map_err(|e| Failure::Fatal(map_error_text(e, |t| self.redact(t))))
    }

    fn transport_failure(&self, error: reqwest::Error) -> Failure {
        // reqwest errors carry the URL but not headers; redact anyway in case a key was put into the URL.
        let message = self.redact(&error.to_string());
        if error.is_timeout() {
            Failure::Retryable {
                error: WriteError::Timeout(self.config.timeout),
                retry_after: None,
                rate_limited: false,
            }
        } else if error.is_connect() || error.is_request() || error.is_body() {
            Failure::Retryable {
                error: WriteError::Transport(message),
                retry_after: None,
                rate_limited: false,
            }
        } else {
            Failure::Fatal(WriteError::Transport(message))
        }
    }
}

#[async_trait::async_trait]
impl SectionWriter for LlmWriter {
    fn name(&self) -> String {
        format!("llm:{}", self.config.model)
    }

    async fn write(&self, request: &SectionRequest) -> Result<SectionDraft, WriteError> {
        let mut messages = vec![
            json!({"role": "system", "content": SYSTEM_PROMPT}),
            json!({"role": "user", "content": section_prompt(request)}),
        ];
        let mut content = String::new();
        let mut usage = Usage::default();
        let mut rounds = 0;
        loop {
            let completion = self.complete(&messages).await?;
            usage += completion.usage;
            content.push_str(&completion.content);
            if completion.finish_reason.as_deref() != Some("length") {
                break;
            }
            if rounds >= self.config.max_continuations {
                *self.total.lock().unwrap_or_else(|p| p.into_inner()) += usage;
                return Err(WriteError::Truncated(rounds));
            }
            rounds += 1;
            messages.push(json!({"role": "assistant", "content": completion.content}));
            messages.push(json!({"role": "user", "content": CONTINUE_PROMPT}));
        }
        *self.total.lock().unwrap_or_else(|p| p.into_inner()) += usage;
        if content.trim().is_empty() {
            return Err(WriteError::EmptyContent);
        }
        let mut draft = draft_from_answer(request, &content);
        draft.usage = usage;
        Ok(draft)
    }
}

fn attempt_outcome(outcome: &Result<Completion, Failure>) -> &'static str {
    let error = match outcome {
        Ok(_) => return "ok",
        Err(Failure::Retryable { error, .. } | Failure::Fatal(error)) => error,
    };
    match error {
        WriteError::Timeout(_) => "timeout",
        WriteError::Http { status: 429, .. } => "rate_limited",
        WriteError::Http { status, .. } if *status >= 500 => "server_error",
        WriteError::Http { .. } => "client_error",
        WriteError::Transport(_) => "transport",
        _ => "malformed",
    }
}

fn map_error_text(error: WriteError, redact: impl Fn(&str) -> String) -> WriteError {
    match error {
        WriteError::MalformedResponse(detail) => WriteError::MalformedResponse(redact(&detail)),
        other => other,
    }
}

fn snippet(text: &str) -> String {
    let short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<ChatChoice>,
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct ChatChoice {
    message: Option<ChatMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChatMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChatUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn parse_completion(text: &str) -> Result<Completion, WriteError> {
    let response: ChatResponse = serde_json::from_str(text).map_err(|e| {
        WriteError::MalformedResponse(format!("{e} (body starts: {})", snippet(text)))
    })?;
    let usage = response
        .usage
        .map(|u| Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        })
        .unwrap_or_default();
    let choice = response
        .choices
        .into_iter()
        .next()
        .ok_or(WriteError::EmptyContent)?;
    let content = choice.message.and_then(|m| m.content).unwrap_or_default();
    if content.is_empty() && choice.finish_reason.as_deref() != Some("length") {
        return Err(WriteError::EmptyContent);
    }
    Ok(Completion {
        content,
        finish_reason: choice.finish_reason,
        usage,
    })
}

/// The user message for one section: facts, place in the outline, items, passages, budget.
pub(crate) fn section_prompt(request: &SectionRequest) -> String {
    let mut prompt = String::new();
    let facts = &request.facts;
    let fact = crate::fact_line;
    let _ = writeln!(prompt, "【项目信息】");
    let _ = writeln!(prompt, "{}", fact("项目名称", &facts.project_name));
    let _ = writeln!(prompt, "{}", fact("项目编号", &facts.project_code));
    let _ = writeln!(prompt, "{}", fact("预算/最高限价", &facts.budget));
    let _ = writeln!(prompt, "{}", fact("投标截止时间", &facts.deadline));
    let _ = writeln!(
        prompt,
        "\n【投标文件结构】{}",
        request.context.parts.join("；")
    );
    let section = &request.section;
    let _ = writeln!(
        prompt,
        "\n【本章节】{} {}（目标约 {} 字）",
        section.number, section.title, section.word_budget
    );
    if let Some(parent) = &request.context.parent {
        let _ = writeln!(prompt, "所属上级章节：{parent}");
    }
    if let Some(previous) = &request.context.previous {
        let _ = writeln!(prompt, "前一章节：{previous}");
    }
    if let Some(next) = &request.context.next {
        let _ = writeln!(prompt, "后一章节：{next}");
    }
    if !request.context.children.is_empty() {
        let _ = writeln!(
            prompt,
            "本章节的下级章节（另行撰写，本节只写概述，不要展开）：{}",
            request.context.children.join("；")
        );
    }
    let _ = writeln!(prompt, "\n【本章节须逐条响应的招标要求】");
    if request.items.is_empty() {
        let _ = writeln!(
            prompt,
            "（无具体条目，请按章节标题和招标文件格式要求撰写。）"
        );
    }
    for item in &request.items {
        let mut tags = vec![kind_label(item.kind).to_string()];
        if let Some(marker) = &item.marker {
            tags.push(format!("标记{marker}"));
        }
        if let Some(points) = item.points {
            tags.push(format!("{points}分"));
        }
        if let Some(category) = &item.category {
            tags.push(category.clone());
        }
        let _ = writeln!(
            prompt,
            "- {}（{}）{}",
            super::answer_tag(&item.id),
            tags.join("，"),
            item.text.trim()
        );
    }
    if !request.passages.is_empty() {
        let _ = writeln!(prompt, "\n【招标文件相关原文】");
        for passage in &request.passages {
            if let Some(heading) = &passage.heading {
                let _ = writeln!(prompt, "〈{heading}〉");
            }
            let _ = writeln!(prompt, "{}\n", passage.text.trim());
        }
    }
    prompt
}

fn kind_label(kind: RequirementKind) -> &'static str {
    match kind {
        RequirementKind::Qualification => "资格要求",
        RequirementKind::Scoring => "评分项",
        RequirementKind::Mandatory => "实质性要求",
        RequirementKind::Parameter => "技术参数",
        RequirementKind::Commercial => "商务条款",
        RequirementKind::Format => "格式要求",
        RequirementKind::Disqualification => "废标条款",
    }
}

/// Turns the model's Markdown into blocks; 〔ID〕 tags become the answered list and leave the text.
fn draft_from_answer(request: &SectionRequest, content: &str) -> SectionDraft {
    let (text, mut answered) =
        super::take_answer_tags(content, request.items.iter().map(|i| i.id.as_str()));
    let blocks = parse_markdown(&text);
    let mut deviations = Vec::new();
    for block in &blocks {
        let ContentBlock::Table { header, rows } = block else {
            continue;
        };
        if !header.iter().any(|h| h.contains("招标要求")) {
            continue;
        }
        for row in rows {
            let Some(item) = row
                .first()
                .and_then(|id| request.items.iter().find(|i| i.id == id.trim()))
            else {
                continue;
            };
            let cell = |i: usize| row.get(i).cloned().unwrap_or_default();
            deviations.push(DeviationRow {
                requirement_id: item.id.clone(),
                required: cell(1),
                offered: cell(2),
                deviation: cell(3),
            });
            if !answered.contains(&item.id) {
                answered.push(item.id.clone());
            }
        }
    }
    SectionDraft {
        blocks,
        answered_ids: answered,
        deviations,
        usage: Usage::default(),
    }
}
