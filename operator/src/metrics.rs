//! Prometheus metrics of the operator: reconciliations by outcome, errors by bounded label, durations,
//! API writes by kind and leadership. Served on `/metrics` next to `/health`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// One backup kind of one BiddingDeployment; `namespace` is the deployment's (the ServiceMonitor honours it).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackupLabels {
    pub namespace: String,
    pub deployment: String,
    pub kind: &'static str,
}

pub struct Metrics {
    pub reconciliations: Family<OutcomeLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub duration: Histogram,
    pub writes: Family<KindLabels, Counter>,
    pub leader: Gauge,
    /// `aibid_backup_last_success_timestamp_seconds`: set by `backup_status::export`.
    pub backup_last_success: Family<BackupLabels, Gauge>,
    /// `aibid_backup_last_failure_timestamp_seconds`.
    pub backup_last_failure: Family<BackupLabels, Gauge>,
    /// Total API writes (creates, applies, patches) — what tests read to prove "no write when nothing changed".
    pub write_count: AtomicU64,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        // Operator internals carry the `aibid_operator_` prefix; the backup gauges keep the names the alert rules use.
        let mut root = Registry::default();
        let backup_last_success = Family::<BackupLabels, Gauge>::default();
        let backup_last_failure = Family::<BackupLabels, Gauge>::default();
        root.register(
            "aibid_backup_last_success_timestamp_seconds",
            "Finish time of the newest successful backup Job per kind (the time backups were enabled until the first success)",
            backup_last_success.clone(),
        );
        root.register(
            "aibid_backup_last_failure_timestamp_seconds",
            "Finish time of the newest failed backup Job per kind (0 until one fails)",
            backup_last_failure.clone(),
        );
        let registry = root.sub_registry_with_prefix("aibid_operator");
        let reconciliations = Family::<OutcomeLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let writes = Family::<KindLabels, Counter>::default();
        let leader = Gauge::default();
        // Exported as aibid_operator_reconcile_total (the name alerts/exported-metrics.txt and the dashboards use).
        registry.register(
            "reconcile",
            "Reconciliations by outcome",
            reconciliations.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconcile errors by error kind",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconciliation took",
            duration.clone(),
        );
        registry.register(
            "api_writes",
            "Writes to the API server by object kind",
            writes.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease",
            leader.clone(),
        );
        Self {
            reconciliations,
            errors,
            duration,
            writes,
            leader,
            backup_last_success,
            backup_last_failure,
            write_count: AtomicU64::new(0),
            registry: root,
        }
    }
}

impl Metrics {
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn record_write(&self, kind: &str) {
        self.writes
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .inc();
        self.write_count.fetch_add(1, Ordering::SeqCst);
    }

    pub fn writes_so_far(&self) -> u64 {
        self.write_count.load(Ordering::SeqCst)
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail except on fmt errors, which String never raises.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// alerts/exported-metrics.txt lists what the dashboards and alert rules read from the operator.
    #[test]
    fn every_operator_metric_the_dashboards_use_is_exported() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../alerts/exported-metrics.txt"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let metrics = Metrics::default();
        metrics
            .reconciliations
            .get_or_create(&OutcomeLabels { outcome: "success" })
            .inc();
        metrics
            .errors
            .get_or_create(&ErrorLabels { error: "Kube" })
            .inc();
        let exported = metrics.encode();
        let expected: Vec<(&str, &str)> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let mut columns = line.split_whitespace();
                let (name, exporter) = (columns.next()?, columns.next()?);
                let labels = columns.nth(1)?;
                (exporter == "aibid-operator" && name.starts_with("aibid_operator_"))
                    .then_some((name, labels))
            })
            .collect();
        assert!(expected.len() >= 2, "{path} lists no operator metrics");
        for (name, labels) in expected {
            let sample = exported
                .lines()
                .find(|line| {
                    line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
                })
                .unwrap_or_else(|| panic!("{name} not exported:\n{exported}"));
            for label in labels.split(',').filter(|l| *l != "-") {
                assert!(
                    sample.contains(&format!("{label}=\"")),
                    "{name} lacks label {label}: {sample}"
                );
            }
        }
    }
}
