//! Prometheus metrics with the names DESIGN.md promises (alerts and dashboards depend on them).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

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
pub struct WorkerLabels {
    pub worker: String,
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
    /// Projects by lifecycle event: status created | completed | failed.
    pub projects: Family<StatusLabels, Counter>,
    pub documents_parsed: Family<ParseLabels, Counter>,
    pub worker_heartbeat: Family<WorkerLabels, Gauge>,
    /// Set from the database before each scrape (see `http::health::metrics`), so every pod reports the same.
    pub active_users: Gauge,
    resident_memory: Gauge<f64, AtomicU64>,
    cpu_seconds: Counter<f64, AtomicU64>,
    /// Serialises the read-then-add of `cpu_seconds`, so two concurrent scrapes cannot add the same delta twice.
    cpu_update: Mutex<()>,
    /// When this process last wrote each user's `last_seen`: the database is written at most once a minute per user.
    last_seen_written: Mutex<HashMap<String, i64>>,
}

/// Seconds between two `last_seen` writes for one user.
pub const LAST_SEEN_EVERY: i64 = 60;
/// The window of `aibid_active_users`.
pub const ACTIVE_USERS_WINDOW: i64 = 15 * 60;

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
        let projects = Family::<StatusLabels, Counter>::default();
        let documents_parsed = Family::<ParseLabels, Counter>::default();
        let worker_heartbeat = Family::<WorkerLabels, Gauge>::default();
        let active_users = Gauge::default();
        let resident_memory = Gauge::<f64, AtomicU64>::default();
        let cpu_seconds = Counter::<f64, AtomicU64>::default();
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
        registry.register(
            "aibid_projects",
            "Projects created, completed and failed",
            projects.clone(),
        );
        registry.register(
            "aibid_worker_heartbeat_timestamp_seconds",
            "Unix time of the last heartbeat per worker",
            worker_heartbeat.clone(),
        );
        registry.register(
            "aibid_active_users",
            "Distinct users with a request in the last 15 minutes",
            active_users.clone(),
        );
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
            "process_cpu_seconds",
            "User and system CPU time spent in seconds",
            cpu_seconds.clone(),
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
            worker_heartbeat,
            active_users,
            resident_memory,
            cpu_seconds,
            cpu_update: Mutex::new(()),
            last_seen_written: Mutex::new(HashMap::new()),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.resident_memory.set(resident_memory_bytes());
        if let Some(total) = cpu_seconds() {
            // prometheus-client counters only go up by increments: add what was spent since the last scrape.
            let _serial = self.cpu_update.lock().unwrap_or_else(|e| e.into_inner());
            let delta = total - self.cpu_seconds.get();
            if delta > 0.0 {
                self.cpu_seconds.inc_by(delta);
            }
        }
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

    pub fn project_event(&self, status: &str) {
        self.projects
            .get_or_create(&StatusLabels {
                status: status.into(),
            })
            .inc();
    }

    pub fn worker_heartbeat(&self, worker: &str, at: i64) {
        self.worker_heartbeat
            .get_or_create(&WorkerLabels {
                worker: worker.into(),
            })
            .set(at);
    }

    /// True when `user`'s `last_seen` should be written now (not written by this process in the last minute);
    /// records `now` as written.
    pub fn last_seen_due(&self, user: &str, now: i64) -> bool {
        let mut written = self
            .last_seen_written
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if written
            .get(user)
            .is_some_and(|at| now - at < LAST_SEEN_EVERY)
        {
            return false;
        }
        // Users idle past the window need no entry; this bounds the map by the active users.
        written.retain(|_, at| now - *at < ACTIVE_USERS_WINDOW);
        written.insert(user.to_string(), now);
        true
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

/// Page size of /proc/self/statm and clock ticks of /proc/self/stat. libc is not a dependency of this crate, so
/// `sysconf` is not called: these are the values of every Linux platform the image is built for (x86_64, aarch64).
const PAGE_SIZE: f64 = 4096.0;
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of this process from /proc/self/stat (Linux); None elsewhere. Hand-written, like the RSS below:
/// prometheus-client has no process collector, and the crates that add one pull in procfs and more.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_cpu_seconds(&stat)
}

/// Fields 14 and 15 (utime, stime); counted after the `)` closing the command name, which may hold spaces.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SECOND)
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
        .map(|pages| pages * PAGE_SIZE)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_come_from_utime_and_stime_after_the_command_name() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1 0 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
        assert_eq!(parse_cpu_seconds("garbage"), None);
    }

    #[test]
    fn process_metrics_are_exported_with_the_names_dashboards_use() {
        let metrics = Metrics::new();
        let text = metrics.render();
        assert!(text.contains("process_cpu_seconds_total "), "{text}");
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
    }

    #[test]
    fn last_seen_is_due_once_a_minute_per_user() {
        let metrics = Metrics::new();
        assert!(metrics.last_seen_due("u1", 1000));
        assert!(!metrics.last_seen_due("u1", 1030));
        assert!(metrics.last_seen_due("u2", 1030));
        assert!(metrics.last_seen_due("u1", 1000 + LAST_SEEN_EVERY));
    }
}
