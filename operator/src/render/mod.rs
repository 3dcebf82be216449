//! What the installation should look like: pure functions from a `BiddingDeployment` (plus the few observed facts
//! in [`Observed`]) to Kubernetes objects, one module per component. Nothing here talks to the API server.

pub mod api;
pub mod autoscaling;
pub mod backup;
pub mod config;
pub mod disruption;
pub mod ingress;
pub mod labels;
pub mod migration;
pub mod monitor;
pub mod monitoring;
pub mod pod;
pub mod postgres;
pub mod redis;
pub mod restore;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod service_account;
pub mod settings;
pub mod storage;
pub mod worker;

use kube::core::{ApiResource, GroupVersionKind};
use kube::ResourceExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crd::BiddingDeployment;
pub use labels::Component;

pub const GENERATED_SECRET_SUFFIX: &str = "-generated";
/// Annotation holding the sha256 of the applied object, compared before every apply to skip unchanged writes.
pub const APPLIED_HASH_ANNOTATION: &str = "aibid.dev/applied-sha256";
pub const CONFIG_HASH_ANNOTATION: &str = "aibid.dev/config-sha256";
pub const SECRET_HASH_ANNOTATION: &str = "aibid.dev/secret-sha256";

/// Secret values the operator generates once per installation and afterwards only reads back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub jwt_secret: String,
    pub encryption_key: String,
    pub admin_password: String,
    pub postgres_password: String,
    pub redis_password: String,
}

impl Credentials {
    /// Stand-ins for `render -f`, which has no cluster to read the generated Secret from.
    pub fn placeholders() -> Self {
        let value = "generated-in-cluster-by-aibid-operator".to_string();
        Self {
            jwt_secret: value.clone(),
            encryption_key: value.clone(),
            admin_password: value.clone(),
            postgres_password: value.clone(),
            redis_password: value,
        }
    }
}

/// What rendering needs from the cluster besides the spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub credentials: Credentials,
    /// The aibid version whose database migration completed; API/worker/scheduler/monitor run it.
    /// `None` before the first migration: those Deployments are not rendered yet.
    pub migrated_version: Option<String>,
    /// sha256 of each user Secret key the spec references, by (Secret name, key): part of the pod-template
    /// fingerprint, so rotating such a Secret rolls exactly the pods that read it. Absent keys are not listed.
    pub secret_digests: std::collections::BTreeMap<(String, String), String>,
}

/// Which API group/version a rendered object needs; kinds an old server lacks are skipped with a condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Child {
    pub resource: ApiResource,
    pub name: String,
    pub component: Component,
    /// The object as applied (apiVersion/kind set, no empty atomic fields, hash annotation included).
    pub object: serde_json::Value,
}

impl Child {
    pub fn kind(&self) -> &str {
        &self.resource.kind
    }
    pub fn api_version(&self) -> &str {
        &self.resource.api_version
    }
    pub fn applied_hash(&self) -> Option<&str> {
        self.object
            .pointer("/metadata/annotations")?
            .get(APPLIED_HASH_ANNOTATION)?
            .as_str()
    }
}

/// Feeds serialised JSON straight into sha256, without building the string first.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serialise a typed object into a [`Child`], stamping the sha256 of its content as an annotation.
pub fn child<K>(component: Component, object: &K) -> Child
where
    K: kube::Resource<DynamicType = ()> + Serialize,
{
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        &K::group(&()),
        &K::version(&()),
        &K::kind(&()),
    ));
    let name = object.meta().name.clone().unwrap_or_default();
    let mut value = serde_json::to_value(object).unwrap_or(serde_json::Value::Null);
    let mut hasher = HashWriter(Sha256::new());
    // Writing into a hasher cannot fail; serialising a `Value` cannot either.
    let _ = serde_json::to_writer(&mut hasher, &value);
    let hash = hex::encode(hasher.0.finalize());
    if let Some(metadata) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(APPLIED_HASH_ANNOTATION.into(), hash.into());
        }
    }
    Child {
        resource,
        name,
        component,
        object: value,
    }
}

/// Every child of `bd`, in apply order (config and storage before the pods that use them), deterministic.
pub fn render_all(bd: &BiddingDeployment, observed: &Observed) -> Vec<Child> {
    let all = settings::settings(bd, observed);
    let mut children = vec![
        child(Component::Config, &service_account::service_account(bd)),
        child(Component::Config, &config::config_map(bd, &all)),
        child(
            Component::Config,
            &secrets::connection_secret(bd, &observed.credentials),
        ),
        child(Component::Storage, &storage::files_claim(bd)),
    ];
    if bd.spec.database.managed().is_some() || bd.spec.redis.managed().is_some() {
        children.push(child(Component::Config, &postgres::scripts_config_map(bd)));
    }
    if let Some(db) = bd.spec.database.managed() {
        children.push(child(Component::Postgres, &postgres::config_map(bd, &db)));
        children.push(child(Component::Postgres, &postgres::headless_service(bd)));
        children.push(child(Component::Postgres, &postgres::service(bd, &db)));
        children.push(child(Component::Postgres, &postgres::stateful_set(bd, &db)));
        let replica = Component::PostgresReplica;
        children.push(child(replica, &postgres::replica_headless_service(bd)));
        children.push(child(replica, &postgres::read_only_service(bd, &db)));
        children.push(child(replica, &postgres::replica_stateful_set(bd, &db)));
    }
    if let Some(redis) = bd.spec.redis.managed() {
        children.push(child(Component::Redis, &redis::config_map(bd, &redis)));
        children.push(child(Component::Redis, &redis::headless_service(bd)));
        children.push(child(Component::Redis, &redis::service(bd)));
        children.push(child(Component::Redis, &redis::stateful_set(bd, &redis)));
        let replica = Component::RedisReplica;
        children.push(child(replica, &redis::replica_headless_service(bd)));
        children.push(child(replica, &redis::replica_stateful_set(bd, &redis)));
    }
    if observed.migrated_version.as_deref() != Some(bd.spec.version.as_str()) {
        children.push(child(Component::Migration, &migration::job(bd, &all)));
    }
    if let Some(version) = observed.migrated_version.as_deref() {
        children.push(child(Component::Api, &api::deployment(bd, &all, version)));
        children.push(child(Component::Api, &api::service(bd)));
        children.push(child(
            Component::Worker,
            &worker::deployment(bd, &all, version),
        ));
        children.push(child(
            Component::Worker,
            &service::metrics_headless(bd, Component::Worker),
        ));
        children.push(child(
            Component::Scheduler,
            &scheduler::deployment(bd, &all, version),
        ));
        children.push(child(
            Component::Scheduler,
            &service::metrics_headless(bd, Component::Scheduler),
        ));
        if bd.spec.monitor.enabled {
            children.push(child(
                Component::Monitor,
                &monitor::deployment(bd, &all, version),
            ));
            children.push(child(Component::Monitor, &monitor::service(bd)));
        }
    }
    children.extend(
        disruption::budgets(bd)
            .iter()
            .map(|(component, pdb)| child(*component, pdb)),
    );
    children.extend(
        autoscaling::autoscalers(bd)
            .iter()
            .map(|(component, hpa)| child(*component, hpa)),
    );
    if let Some(spec) = &bd.spec.ingress {
        children.push(child(Component::Ingress, &ingress::security_headers(bd)));
        children.push(child(Component::Ingress, &ingress::app_ingress(bd, spec)));
        if let Some(metrics) = ingress::metrics_ingress(bd, spec) {
            children.push(child(Component::Ingress, &metrics));
        }
    }
    children.extend(backup::children(bd));
    children.extend(monitoring::children(bd));
    children
}

/// `render -f`: every child as one YAML stream, in apply order.
pub fn to_yaml_stream(children: &[Child]) -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for child in children {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&child.object)?);
    }
    Ok(out)
}

/// Name of the generated Secret (created once by reconcile; see [`secrets::generated_secret`]).
pub fn generated_secret_name(bd: &BiddingDeployment) -> String {
    format!("{}{GENERATED_SECRET_SUFFIX}", bd.name_any())
}

#[cfg(test)]
pub mod testing {
    //! Shared fixtures for render tests.
    use super::*;

    pub fn sample() -> BiddingDeployment {
        let mut bd: BiddingDeployment = serde_yaml::from_str(
            "apiVersion: aibid.dev/v1alpha1\nkind: BiddingDeployment\nmetadata: {name: bids, namespace: tenders, uid: 0b1c2d3e-0000-4000-8000-000000000001}\nspec:\n  version: '1.0.0'\n  ingress: {host: bids.example.com, tlsSecretName: bids-tls, metricsAllowedCidrs: ['10.0.0.0/8']}\n",
        )
        .unwrap_or_else(|e| panic!("sample CR must parse: {e}"));
        bd.metadata.generation = Some(1);
        bd
    }

    pub fn observed() -> Observed {
        Observed {
            credentials: Credentials::placeholders(),
            migrated_version: Some("1.0.0".into()),
            secret_digests: Default::default(),
        }
    }

    pub fn find<'a>(children: &'a [Child], kind: &str, name: &str) -> &'a serde_json::Value {
        &children
            .iter()
            .find(|c| c.kind() == kind && c.name == name)
            .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
            .object
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    fn walk_for_empty_selectors(value: &serde_json::Value, path: &str, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let here = format!("{path}/{key}");
                    if (key == "selector" || key == "labelSelector")
                        && inner.as_object().is_some_and(|m| m.is_empty())
                    {
                        found.push(here.clone());
                    }
                    walk_for_empty_selectors(inner, &here, found);
                }
            }
            serde_json::Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| {
                walk_for_empty_selectors(item, &format!("{path}/{i}"), found)
            }),
            _ => {}
        }
    }

    #[test]
    fn every_child_has_kind_api_version_labels_owner_and_no_empty_selector() {
        let mut bd = sample();
        bd.spec.api.autoscaling = Some(crate::crd::AutoscalingSpec {
            min_replicas: 2,
            max_replicas: 6,
            target_cpu_utilization: 70,
        });
        let children = render_all(&bd, &observed());
        assert!(
            children.len() >= 20,
            "rendered only {} children",
            children.len()
        );
        for child in &children {
            let object = &child.object;
            assert_eq!(
                object["kind"].as_str(),
                Some(child.kind()),
                "{}",
                child.name
            );
            assert_eq!(
                object["apiVersion"].as_str(),
                Some(child.api_version()),
                "{}",
                child.name
            );
            assert_eq!(
                object["metadata"]["labels"]["app.kubernetes.io/instance"], "bids",
                "{}",
                child.name
            );
            let mut empty = Vec::new();
            walk_for_empty_selectors(object, "", &mut empty);
            assert!(
                empty.is_empty(),
                "{} {} has empty selectors at {empty:?}",
                child.kind(),
                child.name
            );
            let owned = object["metadata"]["ownerReferences"][0]["controller"] == true;
            let retained = child.kind() == "PersistentVolumeClaim";
            assert!(
                owned != retained,
                "{} {}: owned={owned}",
                child.kind(),
                child.name
            );
        }
    }

    #[test]
    fn changing_a_cr_label_does_not_touch_statefulsets() {
        let before = sample();
        let mut after = before.clone();
        after.metadata.labels = Some(std::collections::BTreeMap::from([(
            "cost-centre".to_string(),
            "bids".to_string(),
        )]));
        let specs = |bd: &BiddingDeployment| {
            let children = render_all(bd, &observed());
            ["bids-postgres", "bids-redis"]
                .map(|name| find(&children, "StatefulSet", name)["spec"].clone())
        };
        assert_eq!(
            specs(&before),
            specs(&after),
            "a CR label change must not restart PostgreSQL or Redis"
        );
        let children = render_all(&after, &observed());
        assert_eq!(
            find(&children, "StatefulSet", "bids-postgres")["metadata"]["labels"]["cost-centre"],
            "bids",
            "the StatefulSet object itself still carries the CR's labels"
        );
    }

    #[test]
    fn every_role_exposes_its_metrics_port_to_the_scrape_and_the_public_ingress_does_not() {
        let children = render_all(&sample(), &observed());
        let services: Vec<&Child> = children.iter().filter(|c| c.kind() == "Service").collect();
        for role in ["api", "worker", "scheduler", "monitor"] {
            let exposed = services.iter().any(|svc| {
                svc.object["metadata"]["labels"]["app.kubernetes.io/component"] == role
                    && svc.object["spec"]["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["name"] == "metrics" && p["port"] == settings::METRICS_PORT)
            });
            assert!(exposed, "no Service exposes the metrics port of {role}");
            let deployment = find(&children, "Deployment", &format!("bids-{role}"));
            assert!(
                deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == "metrics" && p["containerPort"] == settings::METRICS_PORT),
                "{role} pods must name their metrics port"
            );
        }
        let backends = |name: &str| {
            find(&children, "Ingress", name)["spec"]["rules"][0]["http"]["paths"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let metrics = backends("bids-metrics");
        assert_eq!(metrics[0]["path"], "/metrics");
        assert_eq!(metrics[0]["backend"]["service"]["port"]["name"], "metrics");
        for path in backends("bids") {
            assert_ne!(path["path"], "/metrics");
            assert_ne!(
                path["backend"]["service"]["port"]["name"], "metrics",
                "the public Ingress must not reach the metrics port"
            );
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        let (a, b) = (
            render_all(&sample(), &observed()),
            render_all(&sample(), &observed()),
        );
        assert_eq!(to_yaml_stream(&a).ok(), to_yaml_stream(&b).ok());
    }

    #[test]
    fn before_the_first_migration_only_the_job_and_infrastructure_are_rendered() {
        let observed = Observed {
            migrated_version: None,
            ..observed()
        };
        let children = render_all(&sample(), &observed);
        assert!(children.iter().any(|c| c.kind() == "Job"));
        assert!(
            !children.iter().any(|c| c.kind() == "Deployment"),
            "no app pods before the schema exists"
        );
    }

    #[test]
    fn a_new_version_keeps_pods_on_the_migrated_version_until_its_job_completes() {
        let mut bd = sample();
        bd.spec.version = "1.1.0".into();
        let children = render_all(&bd, &observed());
        let api = find(&children, "Deployment", "bids-api");
        assert_eq!(
            api["spec"]["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/aibid/aibid:1.0.0"
        );
        let job = children
            .iter()
            .find(|c| c.kind() == "Job")
            .unwrap_or_else(|| panic!("migration job missing"));
        assert_eq!(
            job.object["spec"]["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/aibid/aibid:1.1.0"
        );
    }
}
