//! Prometheus metrics with the names DESIGN.md promises (alerts and dashboards depend on them).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmLabels {
    pub provider: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    pub direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ParseLabels {
    pub format: String,
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_duration: Family<HttpLabels, Histogram>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub queue_length: Family<QueueLabels, Gauge>,
    pub tasks: Family<TaskLabels, Counter>,
    pub task_duration: Histogram,
    pub llm_requests: Family<LlmLabels, Counter>,
    pub llm_tokens: Family<DirectionLabels, Counter>,
    pub projects: Family<StatusLabels, Gauge>,
    pub documents_parsed: Family<ParseLabels, Counter>,
    resident_memory: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let http_requests = Family::<HttpLabels, Counter>::default();
        let queue_length = Family::<QueueLabels, Gauge>::default();
        let tasks = Family::<TaskLabels, Counter>::default();
        let task_duration = Histogram::new(exponential_buckets(0.01, 2.0, 16));
        let llm_requests = Family::<LlmLabels, Counter>::default();
        let llm_tokens = Family::<DirectionLabels, Counter>::default();
        let projects = Family::<StatusLabels, Gauge>::default();
        let documents_parsed = Family::<ParseLabels, Counter>::default();
        let resident_memory = Gauge::<f64, AtomicU64>::default();
        let start_time: Gauge = Gauge::default();
        start_time.set(crate::store::now());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_duration.clone(),
        );
        registry.register("http_requests", "HTTP requests", http_requests.clone());
        registry.register(
            "aibid_queue_length",
            "Tasks waiting or in flight per queue",
            queue_length.clone(),
        );
        registry.register(
            "aibid_tasks",
            "Finished tasks by kind and outcome",
            tasks.clone(),
        );
        registry.register(
            "aibid_task_duration_seconds",
            "Task run time",
            task_duration.clone(),
        );
        registry.register(
            "aibid_llm_requests",
            "LLM requests by provider and outcome",
            llm_requests.clone(),
        );
        registry.register(
            "aibid_llm_tokens",
            "LLM tokens by direction",
            llm_tokens.clone(),
        );
        registry.register("aibid_projects", "Projects by status", projects.clone());
        registry.register(
            "aibid_documents_parsed",
            "Parsed documents by format and outcome",
            documents_parsed.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_memory.clone(),
        );
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch",
            start_time.clone(),
        );
        Metrics {
            registry,
            http_duration,
            http_requests,
            queue_length,
            tasks,
            task_duration,
            llm_requests,
            llm_tokens,
            projects,
            documents_parsed,
            resident_memory,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.resident_memory.set(resident_memory_bytes());
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = HttpLabels {
            method: method.to_string(),
            route: route.to_string(),
            status: status.to_string(),
        };
        self.http_duration.get_or_create(&labels).observe(seconds);
        self.http_requests.get_or_create(&labels).inc();
    }

    pub fn task_finished(&self, kind: &str, outcome: &str, seconds: f64) {
        self.tasks
            .get_or_create(&TaskLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.task_duration.observe(seconds);
    }
}

/// RSS from /proc (Linux); 0 elsewhere. Hand-written: the prometheus-client crate has no process collector.
fn resident_memory_bytes() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|pages| pages.parse::<f64>().ok())
        })
        .map(|pages| pages * 4096.0)
        .unwrap_or(0.0)
}
