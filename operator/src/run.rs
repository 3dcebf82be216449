//! `aibid-operator run`: hold the leader Lease, discover what the server serves, run the controller with
//! `.owns()` watches on the children, and serve `/metrics` and `/health`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use tracing::{debug, info, warn};

use crate::capabilities::Capabilities;
use crate::crd::{BiddingDeployment, BiddingRestore};
use crate::lease::LeaseLock;
use crate::metrics::Metrics;
use crate::reconcile::{self, Context};
use crate::restore_controller::{self, RestoreContext};

#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Watch one namespace, or all when `None`.
    pub namespace: Option<String>,
    pub identity: String,
    pub lease_namespace: String,
    pub lease_name: String,
    pub lease_duration: Duration,
}

pub(crate) fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Reconciles running at once. Each holds every rendered child of its CR (dashboards and scripts included, about a
/// megabyte); unbounded, 500 CRs at start-up peaked the operator at 85 MiB RSS (hack/bench-operator.sh). The API
/// server, not the operator, is what limits how fast they converge.
pub const MAX_CONCURRENT_RECONCILES: u16 = 8;

/// Run the controller until the watch streams end (or the future is dropped).
pub async fn controller(client: Client, ctx: Arc<Context>, namespace: Option<&str>) {
    let children = watcher::Config::default().labels(&reconcile::child_selector());
    Controller::new(
        api::<BiddingDeployment>(&client, namespace),
        watcher::Config::default(),
    )
    .owns(api::<Deployment>(&client, namespace), children.clone())
    .owns(api::<StatefulSet>(&client, namespace), children.clone())
    .owns(api::<Job>(&client, namespace), children.clone())
    .owns(api::<Service>(&client, namespace), children.clone())
    .owns(api::<ConfigMap>(&client, namespace), children.clone())
    .owns(api::<Ingress>(&client, namespace), children)
    // A restore's phase holds the app at zero or releases it; backup Jobs (owned by CronJobs) feed BackupReady.
    .watches(
        api::<BiddingRestore>(&client, namespace),
        watcher::Config::default(),
        |restore| {
            let ns = restore.namespace().unwrap_or_default();
            Some(ObjectRef::new(&restore.spec.deployment_ref).within(&ns))
        },
    )
    .watches(
        api::<Job>(&client, namespace),
        watcher::Config::default().labels(crate::render::backup::KIND_LABEL),
        |job| {
            let ns = job.namespace().unwrap_or_default();
            job.labels()
                .get("app.kubernetes.io/instance")
                .map(|name| ObjectRef::new(name).within(&ns))
        },
    )
    // Child status updates arrive in bursts during rollouts; one reconcile per burst is enough.
    .with_config(
        controller::Config::default()
            .debounce(Duration::from_millis(500))
            .concurrency(MAX_CONCURRENT_RECONCILES),
    )
    .run(reconcile::reconcile, reconcile::error_policy, ctx)
    .for_each(|result| async move {
        match result {
            Ok((object, _)) => debug!(name = %object.name, "reconciled"),
            Err(error) => warn!(%error, "controller error"),
        }
    })
    .await;
}

/// Become leader, then reconcile until leadership is lost (returned as an error so the process restarts).
pub async fn run(client: Client, config: RunConfig, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    run_until(client, config, metrics, std::future::pending()).await
}

/// [`run`] until `shutdown` completes (SIGTERM, Ctrl-C): then stop reconciling and release the Lease, so the
/// next replica leads at once.
pub async fn run_until(
    client: Client,
    config: RunConfig,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let lease = LeaseLock::new(
        client.clone(),
        &config.lease_namespace,
        &config.lease_name,
        &config.identity,
        config.lease_duration,
    );
    info!(identity = %config.identity, lease = %config.lease_name, "waiting for the leader lease");
    tokio::pin!(shutdown);
    tokio::select! {
        acquired = lease.acquire() => acquired?,
        () = &mut shutdown => return Ok(()),
    }
    metrics.leader.set(1);
    info!(identity = %config.identity, "leading");
    let capabilities = Capabilities::discover(&client).await?;
    let ctx = Arc::new(Context::new(
        client.clone(),
        metrics.clone(),
        capabilities,
        &config.identity,
    ));
    let restores = Arc::new(RestoreContext::new(
        client.clone(),
        metrics.clone(),
        &config.identity,
    ));
    let namespace = config.namespace.as_deref();
    let controllers = async {
        tokio::join!(
            controller(client.clone(), ctx, namespace),
            restore_controller::controller(client.clone(), restores, namespace)
        );
    };
    let result = tokio::select! {
        () = controllers => Ok(()),
        lost = lease.hold() => Err(anyhow::anyhow!("leader lease lost: {lost}")),
        () = &mut shutdown => {
            info!(identity = %config.identity, "shutting down: releasing the leader lease");
            if let Err(error) = lease.release().await {
                warn!(%error, "could not release the leader lease; it expires by itself");
            }
            Ok(())
        }
    };
    metrics.leader.set(0);
    result
}

/// `/metrics` (Prometheus text) and `/health`.
pub async fn serve_http(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.encode(),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
