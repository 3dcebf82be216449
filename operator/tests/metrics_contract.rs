//! The metric contract of alerts/exported-metrics.txt checked against the code: every `aibid-operator` row is a
//! metric the operator's registry (`operator/src/metrics.rs`) really exposes, with the listed type, and every
//! `postgres-exporter` row that comes from our custom query is a metric the rendered exporter query file defines.
//! (hack/checks/alerts.sh checks the other direction: every name a rule or dashboard uses is listed.)

use std::collections::BTreeMap;

use aibid_operator::metrics::{BackupLabels, ErrorLabels, Metrics, OutcomeLabels};
use aibid_operator::render::postgres;

const CONTRACT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../alerts/exported-metrics.txt"
);

struct Row {
    name: String,
    exporter: String,
    kind: String,
    line: usize,
}

fn contract() -> Vec<Row> {
    let text = std::fs::read_to_string(CONTRACT).unwrap_or_else(|e| panic!("{CONTRACT}: {e}"));
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let fields: Vec<&str> = line.split('#').next()?.split_whitespace().collect();
            match fields.as_slice() {
                [] => None,
                [name, exporter, kind, ..] => Some(Row {
                    name: name.to_string(),
                    exporter: exporter.to_string(),
                    kind: kind.to_string(),
                    line: index + 1,
                }),
                _ => panic!(
                    "{CONTRACT}:{}: expected `name exporter type labels`, got {line:?}",
                    index + 1
                ),
            }
        })
        .collect()
}

/// Sample name -> type of every metric family in an OpenMetrics exposition. `# TYPE` lines name counters without
/// their `_total` suffix; rules and dashboards (and the contract) use the sample name.
fn exposed(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.strip_prefix("# TYPE ")?.split_whitespace();
            let (family, kind) = (parts.next()?, parts.next()?);
            let name = match kind {
                "counter" => format!("{family}_total"),
                _ => family.to_string(),
            };
            Some((name, kind.to_string()))
        })
        .collect()
}

/// prometheus-client leaves a labelled family out of the exposition until it has a sample, so give every family
/// of `Metrics` one. A family added to metrics.rs needs a line here too, or the test reports it missing.
fn touch_every_family(metrics: &Metrics) {
    let _ = metrics
        .reconciliations
        .get_or_create(&OutcomeLabels { outcome: "probe" });
    let _ = metrics
        .errors
        .get_or_create(&ErrorLabels { error: "probe" });
    metrics.record_write("probe");
    let backup = BackupLabels {
        namespace: "probe".into(),
        deployment: "probe".into(),
        kind: "db",
    };
    let _ = metrics.backup_last_success.get_or_create(&backup);
    let _ = metrics.backup_last_failure.get_or_create(&backup);
}

#[test]
fn every_operator_metric_of_the_contract_is_registered_in_metrics_rs() {
    let metrics = Metrics::default();
    touch_every_family(&metrics);
    let registered = exposed(&metrics.encode());
    // The parser must see what metrics.rs registers, or an empty map would make every row look missing.
    assert_eq!(
        registered.get("aibid_operator_leader").map(String::as_str),
        Some("gauge"),
        "cannot read the operator's exposition: {registered:?}"
    );
    let rows: Vec<Row> = contract()
        .into_iter()
        .filter(|row| row.exporter == "aibid-operator")
        .collect();
    assert!(
        !rows.is_empty(),
        "{CONTRACT} lists no aibid-operator metric"
    );
    let problems: Vec<String> = rows
        .iter()
        .filter_map(|row| match registered.get(&row.name) {
            Some(kind) if *kind == row.kind => None,
            Some(kind) => Some(format!(
                "{} (exported-metrics.txt:{}) is listed as a {} but operator/src/metrics.rs registers a {kind}",
                row.name, row.line, row.kind
            )),
            None => Some(format!(
                "{} (exported-metrics.txt:{}, a {}) is not exported: register it in `Metrics::default()` in \
                 operator/src/metrics.rs (registry.register; a labelled family also needs a sample in \
                 touch_every_family of this test) and set it where the operator learns the value, or remove the \
                 row and every rule/dashboard using it",
                row.name, row.line, row.kind
            )),
        })
        .collect();
    assert!(
        problems.is_empty(),
        "alerts/exported-metrics.txt promises operator metrics the code does not export \
         (registered: {:?}):\n  {}",
        registered.keys().collect::<Vec<_>>(),
        problems.join("\n  ")
    );
}

#[test]
fn the_replication_lag_metric_comes_from_the_rendered_exporter_query() {
    let lag_metric = format!("{}_{}", postgres::LAG_QUERY, postgres::LAG_COLUMN);
    let row = contract()
        .into_iter()
        .find(|row| row.name == lag_metric)
        .unwrap_or_else(|| panic!("{CONTRACT} does not list {lag_metric}"));
    assert_eq!(
        (row.exporter.as_str(), row.kind.as_str()),
        ("postgres-exporter", "gauge")
    );
    let queries: serde_yaml::Value = serde_yaml::from_str(&postgres::exporter_queries())
        .unwrap_or_else(|e| panic!("exporter queries are not YAML: {e}"));
    let usage = &queries[postgres::LAG_QUERY]["metrics"][0][postgres::LAG_COLUMN]["usage"];
    assert_eq!(usage.as_str(), Some("GAUGE"), "{queries:?}");
    let sql = queries[postgres::LAG_QUERY]["query"]
        .as_str()
        .unwrap_or_default();
    assert!(
        sql.contains(&format!("AS {}", postgres::LAG_COLUMN)),
        "the query must name its column {}: {sql}",
        postgres::LAG_COLUMN
    );
}
