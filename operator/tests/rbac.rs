//! The least-privilege RBAC of `manifests/base/rbac.yaml` (same rules as the Helm chart) is enough: the operator,
//! impersonating its ServiceAccount on the real v1.20.2 API server, takes the Lease and converges a sample.

mod common;

use std::time::Duration;

use aibid_operator::metrics::Metrics;
use aibid_operator::run::{self, RunConfig};
use common::*;
use kube::api::{Api, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};

const OPERATOR_NAMESPACE: &str = "aibid-system";

/// Create, or bring an existing object (from an earlier run on the shared server) up to this file's rules.
async fn create_ignoring_conflicts(api: &Api<DynamicObject>, object: &DynamicObject) {
    match api.create(&PostParams::default(), object).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let name = object.name_any();
            let current = api
                .get(&name)
                .await
                .unwrap_or_else(|e| panic!("reading RBAC object {name}: {e}"));
            let mut replacement = object.clone();
            replacement.metadata.resource_version = current.resource_version();
            match api
                .replace(&name, &PostParams::default(), &replacement)
                .await
            {
                Ok(_) => {}
                // A parallel test replaced it at the same moment with the same file.
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(e) => panic!("updating RBAC object {name}: {e}"),
            }
        }
        Err(e) => panic!("creating RBAC object: {e}"),
    }
}

async fn install_rbac(admin: &Client) {
    let ns: DynamicObject = serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}}))
        .unwrap_or_else(|e| panic!("{e}"));
    create_ignoring_conflicts(
        &Api::all_with(admin.clone(), &resource("v1", "Namespace")),
        &ns,
    )
    .await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../manifests/base/rbac.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value: serde_json::Value =
            serde::Deserialize::deserialize(document).unwrap_or_else(|e| panic!("{path}: {e}"));
        let object: DynamicObject =
            serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (api_version, kind) = (
            value["apiVersion"].as_str().unwrap_or_default(),
            value["kind"].as_str().unwrap_or_default(),
        );
        let resource = resource(api_version, kind);
        let api = if kind.starts_with("Cluster") {
            Api::all_with(admin.clone(), &resource)
        } else {
            Api::namespaced_with(admin.clone(), OPERATOR_NAMESPACE, &resource)
        };
        create_ignoring_conflicts(&api, &object).await;
    }
}

async fn as_service_account() -> Client {
    let path = std::env::var("AIBID_TEST_KUBECONFIG")
        .unwrap_or_else(|_| panic!("AIBID_TEST_KUBECONFIG is not set: run ./hack/test.sh"));
    let kubeconfig = Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    config.auth_info.impersonate = Some(format!(
        "system:serviceaccount:{OPERATOR_NAMESPACE}:aibid-operator"
    ));
    Client::try_from(config).unwrap_or_else(|e| panic!("client: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_converges_with_only_its_least_privilege_rbac() {
    let admin = client().await;
    install_crd(&admin).await;
    install_rbac(&admin).await;
    let ns = namespace(&admin, "rbac").await;
    let operator_client = as_service_account().await;
    let config = RunConfig {
        namespace: Some(ns.clone()),
        identity: "rbac-test".into(),
        lease_namespace: OPERATOR_NAMESPACE.into(),
        lease_name: format!("leader-{ns}"),
        lease_duration: Duration::from_secs(5),
    };
    let metrics = Metrics::shared();
    let operator = tokio::spawn(run::run(operator_client, config, metrics.clone()));
    create(&admin, &sample("bids", &ns)).await;
    complete_migration(&admin, &ns).await;
    mark_all_ready(&admin, &ns, "bids").await;
    wait_condition(&admin, &ns, "bids", "Ready", "True", "AllComponentsReady").await;
    assert_eq!(
        errors(&metrics),
        0,
        "no reconcile may fail for lack of permissions"
    );
    operator.abort();
}

fn errors(metrics: &Metrics) -> u64 {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("aibid_operator_reconcile_errors_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
