//! Monitoring objects for kube-prometheus-stack: the alert rules of `alerts/aibid-rules.yml` as a PrometheusRule,
//! a ServiceMonitor scraping the metrics port of the API, worker, scheduler and task-monitor Services, and the Grafana dashboards of `dashboards/` as a
//! ConfigMap the Grafana sidecar picks up by label. Each is switched by `spec.monitoring`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::{CustomResource, ResourceExt};
use serde::{Deserialize, Serialize};

use super::labels::{self, Component};
use super::{child, Child};
use crate::crd::{BiddingDeployment, MonitoringSpec};

/// The rules file promtool checks and tests (hack/checks/alerts.sh); rendered as it is.
pub const RULES_YAML: &str = include_str!("../../../alerts/aibid-rules.yml");
pub const DASHBOARDS: [(&str, &str); 2] = [
    (
        "aibid-system-overview.json",
        include_str!("../../../dashboards/system-overview.json"),
    ),
    (
        "aibid-business.json",
        include_str!("../../../dashboards/business.json"),
    ),
];
/// The components with a `metrics` port on a Service: api and monitor on their own Services, workers and scheduler
/// on their headless `<cr>-<component>-metrics` Services (the service serves /metrics only on METRICS_PORT), and
/// PostgreSQL through the postgres-exporter sidecar on the primary and read-only Services.
pub const SCRAPED: [Component; 6] = [
    Component::Api,
    Component::Worker,
    Component::Scheduler,
    Component::Monitor,
    Component::Postgres,
    Component::PostgresReplica,
];
const SCRAPE_INTERVAL: &str = "30s";

/// prometheus-operator's PrometheusRule (monitoring.coreos.com/v1), only the fields rendered here.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "PrometheusRule",
    namespaced,
    schema = "disabled"
)]
pub struct PrometheusRuleSpec {
    pub groups: serde_json::Value,
}

/// prometheus-operator's ServiceMonitor (monitoring.coreos.com/v1), only the fields rendered here.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "ServiceMonitor",
    namespaced,
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    pub selector: LabelSelector,
    pub endpoints: Vec<ScrapeEndpoint>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScrapeEndpoint {
    pub port: String,
    pub path: String,
    pub interval: String,
    pub relabelings: Vec<Relabeling>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Relabeling {
    pub source_labels: Vec<String>,
    pub target_label: String,
    pub action: String,
}

pub fn rule_name(bd: &BiddingDeployment) -> String {
    format!("{}-alerts", bd.name_any())
}

pub fn dashboards_name(bd: &BiddingDeployment) -> String {
    format!("{}-dashboards", bd.name_any())
}

/// The monitoring objects `spec.monitoring` asks for (none when it is absent).
pub fn children(bd: &BiddingDeployment) -> Vec<Child> {
    let Some(spec) = &bd.spec.monitoring else {
        return Vec::new();
    };
    let mut children = Vec::new();
    if spec.prometheus_rule {
        children.push(child(Component::Monitoring, &prometheus_rule(bd, spec)));
    }
    if spec.service_monitor {
        children.push(child(Component::Monitoring, &service_monitor(bd, spec)));
    }
    if spec.dashboards {
        children.push(child(
            Component::Monitoring,
            &dashboards_config_map(bd, spec),
        ));
    }
    children
}

/// Labels of the rule and monitor: ours plus the ones kube-prometheus-stack selects by (e.g. `release`).
fn selected_labels(bd: &BiddingDeployment, spec: &MonitoringSpec) -> BTreeMap<String, String> {
    let mut labels = labels::labels(bd, Component::Monitoring, None);
    labels.extend(spec.selector_labels.clone());
    labels
}

/// The rule groups of the embedded rules file; it is part of the binary and parsed by a test, so it cannot fail
/// at run time.
pub fn rule_groups() -> serde_json::Value {
    // Parsed once per process: YAML parsing was a tenth of every render's time (perf, hack/bench-operator.sh).
    static GROUPS: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        let rules: serde_json::Value = serde_yaml::from_str(RULES_YAML).unwrap_or_default();
        rules.get("groups").cloned().unwrap_or_default()
    });
    GROUPS.clone()
}

pub fn prometheus_rule(bd: &BiddingDeployment, spec: &MonitoringSpec) -> PrometheusRule {
    let mut rule = PrometheusRule::new(
        &rule_name(bd),
        PrometheusRuleSpec {
            groups: rule_groups(),
        },
    );
    rule.metadata = labels::owned_meta(bd, rule_name(bd), selected_labels(bd, spec));
    rule
}

pub fn service_monitor(bd: &BiddingDeployment, spec: &MonitoringSpec) -> ServiceMonitor {
    // Select by the stable selector labels minus the component, which the expression below narrows instead.
    let mut match_labels = labels::selector_labels(bd, Component::Api);
    match_labels.remove("app.kubernetes.io/component");
    let selector = LabelSelector {
        match_labels: Some(match_labels),
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "app.kubernetes.io/component".into(),
            operator: "In".into(),
            values: Some(
                SCRAPED
                    .iter()
                    .map(|component| component.as_str().to_string())
                    .collect(),
            ),
        }]),
    };
    // The alert rules tell components apart by a `component` target label.
    let endpoint = ScrapeEndpoint {
        port: "metrics".into(),
        path: "/metrics".into(),
        interval: SCRAPE_INTERVAL.into(),
        relabelings: vec![Relabeling {
            source_labels: vec![
                "__meta_kubernetes_service_label_app_kubernetes_io_component".into(),
            ],
            target_label: "component".into(),
            action: "replace".into(),
        }],
    };
    let mut monitor = ServiceMonitor::new(
        &bd.name_any(),
        ServiceMonitorSpec {
            selector,
            endpoints: vec![endpoint],
        },
    );
    monitor.metadata = labels::owned_meta(bd, bd.name_any(), selected_labels(bd, spec));
    monitor
}

pub fn dashboards_config_map(bd: &BiddingDeployment, spec: &MonitoringSpec) -> ConfigMap {
    let mut labels = labels::labels(bd, Component::Monitoring, None);
    labels.insert(spec.dashboard_label.clone(), "1".into());
    ConfigMap {
        metadata: labels::owned_meta(bd, dashboards_name(bd), labels),
        data: Some(
            DASHBOARDS
                .iter()
                .map(|(name, json)| (name.to_string(), json.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::{find, observed, sample};

    fn with_monitoring(yaml: &str) -> BiddingDeployment {
        let mut bd = sample();
        bd.spec.monitoring = Some(serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{e}")));
        bd
    }

    fn alert_names(groups: &serde_json::Value) -> Vec<String> {
        groups
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
            .filter_map(|rule| rule["alert"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn the_prometheus_rule_carries_every_alert_of_the_tested_rules_file() {
        let bd = with_monitoring("selectorLabels: {release: kube-prometheus-stack}");
        let children = super::super::render_all(&bd, &observed());
        let rule = find(&children, "PrometheusRule", "bids-alerts");
        assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(
            rule["metadata"]["labels"]["release"], "kube-prometheus-stack",
            "kube-prometheus-stack selects by it"
        );
        let names = alert_names(&rule["spec"]["groups"]);
        for alert in [
            "ServiceDown",
            "HighAPILatency",
            "HighTaskQueueLength",
            "DatabaseConnectionHigh",
            "HighMemoryUsage",
            "DiskSpaceLow",
            "BackupMissing",
            "BackupFailed",
            "ReplicationLagHigh",
            "WorkerHeartbeatMissing",
            "LLMErrorRateHigh",
            "PVCAlmostFull",
        ] {
            assert!(
                names.iter().any(|name| name == alert),
                "{alert} missing from {names:?}"
            );
        }
        let first = &rule["spec"]["groups"][0]["rules"][0];
        assert!(
            first["expr"].as_str().is_some_and(|e| e.contains("up{")),
            "expressions are kept verbatim: {first}"
        );
        assert!(first["annotations"]["runbook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/alerts/runbooks/ServiceDown.md")));
    }

    #[test]
    fn the_service_monitor_scrapes_the_metrics_port_of_every_aibid_role() {
        let bd = with_monitoring("selectorLabels: {release: prom}");
        let children = super::super::render_all(&bd, &observed());
        let monitor = find(&children, "ServiceMonitor", "bids");
        assert_eq!(monitor["metadata"]["labels"]["release"], "prom");
        let selector = &monitor["spec"]["selector"];
        assert_eq!(
            selector["matchLabels"]["app.kubernetes.io/instance"],
            "bids"
        );
        assert_eq!(
            selector["matchExpressions"][0]["values"],
            serde_json::json!([
                "api",
                "worker",
                "scheduler",
                "monitor",
                "postgres",
                "postgres-replica"
            ]),
            "postgres-exporter sidecars are scraped through the primary and read-only Services"
        );
        let endpoint = &monitor["spec"]["endpoints"][0];
        assert_eq!(
            (endpoint["port"].as_str(), endpoint["path"].as_str()),
            (Some("metrics"), Some("/metrics"))
        );
        assert_eq!(
            endpoint["relabelings"][0]["targetLabel"], "component",
            "the alert rules match on it"
        );
        // The port the monitor names exists on both Services it selects.
        for service in ["bids-api", "bids-monitor"] {
            let ports = find(&children, "Service", service)["spec"]["ports"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                ports.iter().any(|p| p["name"] == "metrics"),
                "{service} has no metrics port: {ports:?}"
            );
            let labels = &find(&children, "Service", service)["metadata"]["labels"];
            assert_eq!(labels["app.kubernetes.io/instance"], "bids");
        }
    }

    #[test]
    fn dashboards_are_labelled_for_the_grafana_sidecar_and_are_json() {
        let default_label = with_monitoring("{}");
        let config_map = dashboards_config_map(
            &default_label,
            default_label
                .spec
                .monitoring
                .as_ref()
                .unwrap_or_else(|| panic!()),
        );
        assert_eq!(
            config_map
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("grafana_dashboard"))
                .map(String::as_str),
            Some("1")
        );
        let custom = with_monitoring("dashboardLabel: team-dashboards");
        let config_map = dashboards_config_map(
            &custom,
            custom.spec.monitoring.as_ref().unwrap_or_else(|| panic!()),
        );
        assert!(config_map
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key("team-dashboards")));
        for (name, text) in config_map.data.unwrap_or_default() {
            let dashboard: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                dashboard["uid"]
                    .as_str()
                    .is_some_and(|uid| uid.starts_with("aibid-")),
                "{name}"
            );
        }
    }

    #[test]
    fn monitoring_objects_follow_their_switches() {
        assert!(
            children(&sample()).is_empty(),
            "nothing without spec.monitoring"
        );
        let kinds = |bd: &BiddingDeployment| {
            children(bd)
                .iter()
                .map(|c| c.kind().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(&with_monitoring("{}")),
            ["PrometheusRule", "ServiceMonitor", "ConfigMap"]
        );
        assert_eq!(
            kinds(&with_monitoring(
                "{prometheusRule: false, dashboards: false}"
            )),
            ["ServiceMonitor"]
        );
    }

    #[test]
    fn the_embedded_rules_file_parses() {
        assert_eq!(alert_names(&rule_groups()).len(), 12);
    }
}
