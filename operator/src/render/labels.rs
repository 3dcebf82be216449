//! `app.kubernetes.io/*` labels, selectors and owned object metadata shared by every rendered child.
//! Selectors use only labels that never change for an installation, so they stay valid for immutable fields.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::{Resource, ResourceExt};

use crate::crd::BiddingDeployment;

pub const MANAGED_BY: &str = "aibid-operator";

/// The parts of one installation; each names its objects `<cr>-<part>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    Api,
    Worker,
    Scheduler,
    Monitor,
    Migration,
    Postgres,
    /// The streaming replicas of PostgreSQL (their own StatefulSet, so the read-only Service can select them).
    PostgresReplica,
    Redis,
    RedisReplica,
    Storage,
    Ingress,
    Config,
    Backup,
    Monitoring,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Worker => "worker",
            Self::Scheduler => "scheduler",
            Self::Monitor => "monitor",
            Self::Migration => "migration",
            Self::Postgres => "postgres",
            Self::PostgresReplica => "postgres-replica",
            Self::Redis => "redis",
            Self::RedisReplica => "redis-replica",
            Self::Storage => "storage",
            Self::Ingress => "ingress",
            Self::Config => "config",
            Self::Backup => "backup",
            Self::Monitoring => "monitoring",
        }
    }

    /// Object name of this component for `bd`.
    pub fn name(self, bd: &BiddingDeployment) -> String {
        format!("{}-{}", bd.name_any(), self.as_str())
    }

    /// Components that run the aibid image (and so carry its version label).
    pub fn runs_aibid(self) -> bool {
        matches!(
            self,
            Self::Api | Self::Worker | Self::Scheduler | Self::Monitor | Self::Migration
        )
    }
}

/// Labels that select the pods of one component: stable for the life of the installation.
pub fn selector_labels(bd: &BiddingDeployment, component: Component) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "aibid".to_string()),
        ("app.kubernetes.io/instance".to_string(), bd.name_any()),
        (
            "app.kubernetes.io/component".to_string(),
            component.as_str().to_string(),
        ),
    ])
}

/// Full labels of a component's objects: the selector labels, the standard recommended labels and the CR's own
/// labels (except `app.kubernetes.io/*`, which the operator owns).
pub fn labels(
    bd: &BiddingDeployment,
    component: Component,
    version: Option<&str>,
) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = bd
        .labels()
        .iter()
        .filter(|(key, _)| !key.starts_with("app.kubernetes.io/"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    labels.extend(selector_labels(bd, component));
    labels.insert("app.kubernetes.io/part-of".into(), "aibid".into());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    if let (true, Some(version)) = (component.runs_aibid(), version) {
        labels.insert("app.kubernetes.io/version".into(), version.into());
    }
    labels
}

/// Labels of StatefulSet pod templates: only what never changes for an installation, without the CR's own
/// labels, so relabelling the CR does not restart PostgreSQL or Redis.
pub fn stateful_pod_labels(
    bd: &BiddingDeployment,
    component: Component,
) -> BTreeMap<String, String> {
    let mut labels = selector_labels(bd, component);
    labels.insert("app.kubernetes.io/part-of".into(), "aibid".into());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    labels
}

pub fn selector(bd: &BiddingDeployment, component: Component) -> LabelSelector {
    LabelSelector {
        match_labels: Some(selector_labels(bd, component)),
        match_expressions: None,
    }
}

/// Metadata of a child owned by `bd` (controller ownerReference when the CR has a uid, i.e. came from a cluster).
pub fn owned_meta(
    bd: &BiddingDeployment,
    name: String,
    labels: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: bd.namespace(),
        labels: Some(labels),
        owner_references: bd.controller_owner_ref(&()).map(|owner| vec![owner]),
        ..ObjectMeta::default()
    }
}

/// Metadata of a child that must outlive the CR (retained volumes): same labels, no ownerReference.
pub fn retained_meta(
    bd: &BiddingDeployment,
    name: String,
    labels: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        owner_references: None,
        ..owned_meta(bd, name, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;

    #[test]
    fn cr_labels_reach_metadata_but_never_the_selector() {
        let mut bd = sample();
        bd.metadata.labels = Some(BTreeMap::from([("team".into(), "bids".into())]));
        let labels = labels(&bd, Component::Api, Some("1.0.0"));
        assert_eq!(labels.get("team").map(String::as_str), Some("bids"));
        assert!(!selector_labels(&bd, Component::Api).contains_key("team"));
        assert_eq!(
            labels
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str),
            Some(MANAGED_BY)
        );
    }

    #[test]
    fn database_labels_do_not_carry_the_app_version() {
        let bd = sample();
        assert!(!labels(&bd, Component::Postgres, Some("2.0.0"))
            .contains_key("app.kubernetes.io/version"));
        assert!(
            labels(&bd, Component::Worker, Some("2.0.0")).contains_key("app.kubernetes.io/version")
        );
    }
}
