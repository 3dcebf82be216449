//! Helpers for tests against the real kube-apiserver v1.20.2 started by `hack/env/k8s.sh`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aibid_operator::capabilities::Capabilities;
use aibid_operator::crd::BiddingDeployment;
use aibid_operator::metrics::Metrics;
use aibid_operator::reconcile::Context;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, CustomResourceExt, ResourceExt};
use serde_json::json;
use tokio::task::JoinHandle;

pub async fn client() -> Client {
    let path = std::env::var("AIBID_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!("AIBID_TEST_KUBECONFIG is not set: run ./hack/test.sh (it starts kube-apiserver v1.20.2 via hack/env/k8s.sh)")
    });
    let kubeconfig = Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("kubeconfig {path}: {e}"));
    Client::try_from(config).unwrap_or_else(|e| panic!("client: {e}"))
}

/// Install both CRDs (the controller watches BiddingRestores too) and wait until they are established.
pub async fn install_crd(client: &Client) {
    install_one_crd(client, BiddingDeployment::crd()).await;
    install_one_crd(client, aibid_operator::crd::BiddingRestore::crd()).await;
}

/// Install one CRD (create, or replace when present) and wait until it is established. Not server-side apply:
/// 1.20 rejects the `x-kubernetes-validations` fields under SSA, while create/replace drop them silently.
async fn install_one_crd(client: &Client, crd: CustomResourceDefinition) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.name_any();
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let mut replacement = crd.clone();
            let current = crds
                .get(&name)
                .await
                .unwrap_or_else(|e| panic!("reading CRD: {e}"));
            replacement.metadata.resource_version = current.resource_version();
            // Parallel tests install it at once: a conflict means another one just did.
            if let Err(e) = crds
                .replace(&name, &PostParams::default(), &replacement)
                .await
            {
                assert!(
                    matches!(&e, kube::Error::Api(s) if s.code == 409),
                    "replacing CRD: {e}"
                );
            }
        }
        Err(e) => panic!("installing CRD: {e}"),
    }
    wait_for("CRD established", Duration::from_secs(30), || {
        let crds = crds.clone();
        let name = name.clone();
        async move {
            let crd = crds.get(&name).await.ok()?;
            let established = crd
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        }
    })
    .await;
}

/// A fresh namespace per test, so tests run in parallel.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", &uuid_like()[..8]);
    let ns = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("namespace: {e}"));
    name
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:016x}",
        nanos.wrapping_mul(6364136223846793005) ^ u128::from(std::process::id())
    )
}

pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub struct Operator {
    pub metrics: Arc<Metrics>,
    pub task: JoinHandle<()>,
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The controller in-process, watching only `ns`.
pub async fn start_operator(client: &Client, ns: &str) -> Operator {
    let metrics = Metrics::shared();
    let capabilities = Capabilities::discover(client)
        .await
        .unwrap_or_else(|e| panic!("discovery: {e}"));
    let ctx = Arc::new(Context::new(
        client.clone(),
        metrics.clone(),
        capabilities,
        "test",
    ));
    let (client, ns) = (client.clone(), ns.to_string());
    let task =
        tokio::spawn(async move { aibid_operator::run::controller(client, ctx, Some(&ns)).await });
    Operator { metrics, task }
}

pub fn sample(name: &str, ns: &str) -> BiddingDeployment {
    let yaml = format!(
        "apiVersion: aibid.dev/v1alpha1\nkind: BiddingDeployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  version: '1.0.0'\n  ingress: {{host: bids.example.com, tlsSecretName: bids-tls, metricsAllowedCidrs: ['10.0.0.0/8']}}\n"
    );
    serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("sample: {e}"))
}

pub async fn create(client: &Client, bd: &BiddingDeployment) {
    let api: Api<BiddingDeployment> =
        Api::namespaced(client.clone(), &bd.namespace().unwrap_or_default());
    api.create(&PostParams::default(), bd)
        .await
        .unwrap_or_else(|e| panic!("create CR: {e}"));
}

pub fn resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(group, version, kind))
}

pub async fn get(
    client: &Client,
    ns: &str,
    api_version: &str,
    kind: &str,
    name: &str,
) -> Option<DynamicObject> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &resource(api_version, kind));
    api.get_opt(name)
        .await
        .unwrap_or_else(|e| panic!("get {kind} {name}: {e}"))
}

pub async fn wait_exists(
    client: &Client,
    ns: &str,
    api_version: &str,
    kind: &str,
    name: &str,
) -> DynamicObject {
    wait_for(&format!("{kind} {name}"), Duration::from_secs(60), || {
        get(client, ns, api_version, kind, name)
    })
    .await
}

pub async fn bd(client: &Client, ns: &str, name: &str) -> BiddingDeployment {
    Api::<BiddingDeployment>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get CR: {e}"))
}

pub fn condition(bd: &BiddingDeployment, kind: &str) -> Option<(String, String, String)> {
    bd.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub async fn wait_condition(
    client: &Client,
    ns: &str,
    name: &str,
    kind: &str,
    status: &str,
    reason: &str,
) -> BiddingDeployment {
    wait_for(
        &format!("{kind}={status} ({reason})"),
        Duration::from_secs(60),
        || async {
            let bd = bd(client, ns, name).await;
            let (s, r, _) = condition(&bd, kind)?;
            (s == status && r == reason).then_some(bd)
        },
    )
    .await
}

/// Stand in for the Job controller and kubelet: mark the migration Job complete.
pub async fn complete_migration(client: &Client, ns: &str) {
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), ns);
    let job = wait_for("migration Job", Duration::from_secs(60), || async {
        jobs.list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .next()
    })
    .await;
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let status = json!({"status": {"succeeded": 1, "startTime": now, "completionTime": now,
        "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": now}]}});
    jobs.patch_status(
        &job.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&status),
    )
    .await
    .unwrap_or_else(|e| panic!("completing Job: {e}"));
}

/// Stand in for the workload controllers: mark a Deployment/StatefulSet as fully rolled out and ready.
pub async fn mark_ready(client: &Client, ns: &str, kind: &str, name: &str) {
    let object = wait_exists(client, ns, "apps/v1", kind, name).await;
    let replicas = object
        .data
        .pointer("/spec/replicas")
        .and_then(|v| v.as_i64())
        .unwrap_or(1);
    let generation = object.metadata.generation.unwrap_or(1);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &resource("apps/v1", kind));
    let status = json!({"status": {"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
        "updatedReplicas": replicas, "availableReplicas": replicas, "currentReplicas": replicas}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap_or_else(|e| panic!("status of {kind} {name}: {e}"));
}

pub async fn mark_all_ready(client: &Client, ns: &str, name: &str) {
    for (kind, component) in [
        ("Deployment", "api"),
        ("Deployment", "worker"),
        ("StatefulSet", "postgres"),
        ("StatefulSet", "redis"),
    ] {
        mark_ready(client, ns, kind, &format!("{name}-{component}")).await;
    }
}

/// resourceVersion of every object labelled as this installation's child, keyed `Kind/name`.
pub async fn child_versions(client: &Client, ns: &str) -> BTreeMap<String, String> {
    let mut versions = BTreeMap::new();
    for (api_version, kind) in [
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("v1", "ServiceAccount"),
        ("v1", "PersistentVolumeClaim"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "Job"),
        ("networking.k8s.io/v1", "Ingress"),
    ] {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), ns, &resource(api_version, kind));
        let list = api
            .list(&ListParams::default().labels("app.kubernetes.io/managed-by=aibid-operator"))
            .await
            .unwrap_or_else(|e| panic!("list {kind}: {e}"));
        for item in list.items {
            versions.insert(
                format!("{kind}/{}", item.name_any()),
                item.resource_version().unwrap_or_default(),
            );
        }
    }
    versions
}
