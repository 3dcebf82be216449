//! Against the real kube-apiserver v1.20.2 (+ etcd, + garbage collector) from `hack/env/k8s.sh`: the controller
//! creates every child with ownerReferences, reports status, rolls only what a change touches, writes nothing when
//! nothing changed, survives restarts, shares one Lease between replicas, and leaves volumes behind on deletion.

mod common;

use std::time::Duration;

use aibid_operator::crd::BiddingDeployment;
use aibid_operator::metrics::Metrics;
use aibid_operator::run::{self, RunConfig};
use common::*;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;

async fn patch_spec(client: &kube::Client, ns: &str, name: &str, spec: serde_json::Value) {
    Api::<BiddingDeployment>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "spec": spec })),
        )
        .await
        .unwrap_or_else(|e| panic!("patching spec: {e}"));
}

/// Install, migrate, mark workloads ready: the state later scenarios start from.
async fn converged(client: &kube::Client, prefix: &str) -> (String, Operator) {
    install_crd(client).await;
    let ns = namespace(client, prefix).await;
    let operator = start_operator(client, &ns).await;
    create(client, &sample("bids", &ns)).await;
    complete_migration(client, &ns).await;
    mark_all_ready(client, &ns, "bids").await;
    wait_condition(client, &ns, "bids", "Ready", "True", "AllComponentsReady").await;
    (ns, operator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_becomes_owned_children_and_a_ready_status() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "create").await;
    let _operator = start_operator(&client, &ns).await;
    create(&client, &sample("bids", &ns)).await;

    // Before the migration Job completes: infrastructure only, no app pods, a condition saying why.
    let bd = wait_condition(
        &client,
        &ns,
        "bids",
        "Progressing",
        "True",
        "MigrationRunning",
    )
    .await;
    assert_eq!(
        condition(&bd, "Ready").map(|c| c.1).as_deref(),
        Some("MigrationPending")
    );
    assert!(
        get(&client, &ns, "apps/v1", "Deployment", "bids-api")
            .await
            .is_none(),
        "API must wait for the migration"
    );
    let kinds = condition(&bd, "KindsAvailable").unwrap_or_default();
    assert_eq!(
        kinds.1, "KindsNotServed",
        "1.20 serves no policy/v1: {kinds:?}"
    );
    assert!(
        kinds.2.contains("policy/v1 PodDisruptionBudget"),
        "{kinds:?}"
    );

    complete_migration(&client, &ns).await;
    let api = wait_exists(&client, &ns, "apps/v1", "Deployment", "bids-api").await;
    let owner = &api.metadata.owner_references.clone().unwrap_or_default()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("BiddingDeployment", "bids", Some(true))
    );
    for (api_version, kind, name) in [
        ("v1", "ConfigMap", "bids-config"),
        ("v1", "Secret", "bids-connection"),
        ("v1", "Service", "bids-api"),
        ("v1", "Service", "bids-postgres-headless"),
        ("apps/v1", "Deployment", "bids-worker"),
        ("apps/v1", "Deployment", "bids-scheduler"),
        ("apps/v1", "Deployment", "bids-monitor"),
        ("apps/v1", "StatefulSet", "bids-postgres"),
        ("apps/v1", "StatefulSet", "bids-redis"),
        ("networking.k8s.io/v1", "Ingress", "bids"),
        ("networking.k8s.io/v1", "Ingress", "bids-metrics"),
    ] {
        let child = wait_exists(&client, &ns, api_version, kind, name).await;
        assert!(
            child
                .owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && o.name == "bids"),
            "{kind} {name} not owned"
        );
    }
    let generated = wait_exists(&client, &ns, "v1", "Secret", "bids-generated").await;
    assert!(
        generated.owner_references().is_empty(),
        "the database's passwords must outlive the CR like its volume"
    );
    let files = wait_exists(&client, &ns, "v1", "PersistentVolumeClaim", "bids-files").await;
    assert!(
        files.owner_references().is_empty(),
        "the files volume must not be garbage-collected with the CR"
    );

    mark_all_ready(&client, &ns, "bids").await;
    let bd = wait_condition(&client, &ns, "bids", "Ready", "True", "AllComponentsReady").await;
    let status = bd.status.clone().unwrap_or_default();
    assert_eq!(
        (
            status.version.as_deref(),
            status.api_ready.as_deref(),
            status.workers_ready.as_deref()
        ),
        (Some("1.0.0"), Some("3/3"), Some("3/3"))
    );
    assert_eq!(status.observed_generation, bd.metadata.generation);
    assert_eq!(
        status.endpoints.external.as_deref(),
        Some("https://bids.example.com")
    );
    for kind in ["DatabaseReady", "RedisReady"] {
        assert_eq!(
            condition(&bd, kind).map(|c| c.0).as_deref(),
            Some("True"),
            "{kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_llm_model_rolls_api_and_workers_and_nothing_else() {
    let client = client().await;
    let (ns, _operator) = converged(&client, "llm").await;
    let before = child_versions(&client, &ns).await;
    patch_spec(
        &client,
        &ns,
        "bids",
        json!({"llm": {"model": "deepseek-reasoner"}}),
    )
    .await;
    wait_for(
        "status of generation 2",
        Duration::from_secs(60),
        || async {
            (bd(&client, &ns, "bids").await.status?.observed_generation == Some(2)).then_some(())
        },
    )
    .await;
    let after = child_versions(&client, &ns).await;
    let changed: Vec<&String> = before
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert_eq!(
        changed,
        vec![
            "ConfigMap/bids-config",
            "Deployment/bids-api",
            "Deployment/bids-worker"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciling_an_unchanged_cr_writes_nothing() {
    let client = client().await;
    let (ns, operator) = converged(&client, "idle").await;
    // Let the last status write's own watch event settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (writes, versions) = (
        operator.metrics.writes_so_far(),
        child_versions(&client, &ns).await,
    );
    let reconciled = reconciliations(&operator.metrics);
    // An annotation change triggers a reconcile without changing anything rendered.
    Api::<BiddingDeployment>::namespaced(client.clone(), &ns)
        .patch(
            "bids",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"touched": "yes"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("annotating: {e}"));
    wait_for("another reconcile", Duration::from_secs(30), || async {
        (reconciliations(&operator.metrics) > reconciled).then_some(())
    })
    .await;
    assert_eq!(
        operator.metrics.writes_so_far(),
        writes,
        "a reconcile of an unchanged CR must not write"
    );
    assert_eq!(child_versions(&client, &ns).await, versions);
}

fn reconciliations(metrics: &Metrics) -> u64 {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("aibid_operator_reconcile_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_cr_collects_children_but_keeps_the_files_volume() {
    let client = client().await;
    let (ns, operator) = converged(&client, "delete").await;
    drop(operator);
    Api::<BiddingDeployment>::namespaced(client.clone(), &ns)
        .delete("bids", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    // The garbage collector learns a new CRD kind on its discovery resync (about 30 s).
    wait_for(
        "garbage collection of the API Deployment",
        Duration::from_secs(120),
        || async {
            get(&client, &ns, "apps/v1", "Deployment", "bids-api")
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        get(&client, &ns, "apps/v1", "StatefulSet", "bids-postgres")
            .await
            .is_none()
            || {
                // GC deletes in no particular order; give it the same grace.
                wait_for("StatefulSet gone", Duration::from_secs(60), || async {
                    get(&client, &ns, "apps/v1", "StatefulSet", "bids-postgres")
                        .await
                        .is_none()
                        .then_some(true)
                })
                .await
            }
    );
    assert!(
        get(&client, &ns, "v1", "PersistentVolumeClaim", "bids-files")
            .await
            .is_some(),
        "the files volume must survive"
    );
    // The keys and passwords of the retained database survive too, and a re-created CR adopts them.
    let kept = get(&client, &ns, "v1", "Secret", "bids-generated")
        .await
        .unwrap_or_else(|| {
            panic!("the generated Secret must survive the CR while the database volume does")
        });
    assert!(
        kept.owner_references().is_empty(),
        "{:?}",
        kept.owner_references()
    );
    // The old migration Job goes with the CR too. Until it has, the re-created CR's Job of the same name could be
    // that one, already completed by this test and about to be collected.
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), &ns);
    wait_for(
        "garbage collection of the migration Job",
        Duration::from_secs(120),
        || async {
            jobs.list(&Default::default())
                .await
                .ok()
                .filter(|list| list.items.is_empty())
                .map(|_| ())
        },
    )
    .await;
    let _operator = start_operator(&client, &ns).await;
    create(&client, &sample("bids", &ns)).await;
    complete_migration(&client, &ns).await;
    wait_exists(&client, &ns, "apps/v1", "Deployment", "bids-api").await;
    let adopted = wait_exists(&client, &ns, "v1", "Secret", "bids-generated").await;
    assert_eq!(
        kept.data["data"], adopted.data["data"],
        "re-creating the CR must keep the passwords the retained database was initialised with"
    );
}

async fn wait_gone(client: &kube::Client, ns: &str, api_version: &str, kind: &str, name: &str) {
    wait_for(
        &format!("{kind} {name} to be pruned"),
        Duration::from_secs(60),
        || async {
            get(client, ns, api_version, kind, name)
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
}

/// The CR's status as stored (not through the typed struct, which cannot tell absent from null).
async fn raw_status(client: &kube::Client, ns: &str) -> serde_json::Value {
    get(
        client,
        ns,
        "aibid.dev/v1alpha1",
        "BiddingDeployment",
        "bids",
    )
    .await
    .map(|bd| bd.data["status"].clone())
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_off_the_monitor_and_the_ingress_deletes_their_objects_and_endpoints() {
    let client = client().await;
    let (ns, operator) = converged(&client, "prune").await;
    assert!(raw_status(&client, &ns).await["endpoints"]["monitor"].is_string());
    patch_spec(
        &client,
        &ns,
        "bids",
        json!({"monitor": {"enabled": false}, "ingress": null}),
    )
    .await;
    for (api_version, kind, name) in [
        ("apps/v1", "Deployment", "bids-monitor"),
        ("v1", "Service", "bids-monitor"),
        ("networking.k8s.io/v1", "Ingress", "bids"),
        ("networking.k8s.io/v1", "Ingress", "bids-metrics"),
        ("v1", "ConfigMap", "bids-security-headers"),
    ] {
        wait_gone(&client, &ns, api_version, kind, name).await;
    }
    for (api_version, kind, name) in [
        ("v1", "PersistentVolumeClaim", "bids-files"),
        ("v1", "Secret", "bids-generated"),
        ("apps/v1", "Deployment", "bids-api"),
        ("apps/v1", "StatefulSet", "bids-postgres"),
    ] {
        assert!(
            get(&client, &ns, api_version, kind, name).await.is_some(),
            "{kind} {name} must stay"
        );
    }
    // Cleared status fields disappear...
    wait_for("endpoints cleared", Duration::from_secs(60), || async {
        let status = raw_status(&client, &ns).await;
        let endpoints = &status["endpoints"];
        (endpoints.get("monitor").is_none() && endpoints.get("external").is_none()).then_some(())
    })
    .await;
    // ...and an unchanged CR afterwards writes nothing (a lingering field would be rewritten every time).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (writes, reconciled) = (
        operator.metrics.writes_so_far(),
        reconciliations(&operator.metrics),
    );
    Api::<BiddingDeployment>::namespaced(client.clone(), &ns)
        .patch(
            "bids",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"touched": "yes"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("annotating: {e}"));
    wait_for("another reconcile", Duration::from_secs(30), || async {
        (reconciliations(&operator.metrics) > reconciled).then_some(())
    })
    .await;
    assert_eq!(operator.metrics.writes_so_far(), writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_child_that_cannot_be_applied_does_not_block_the_others_or_the_status() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "applyfail").await;
    // Someone else's Deployment under the worker's name, with a selector Kubernetes will not let us change.
    let foreign: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bids-worker"},
        "spec": {"selector": {"matchLabels": {"app": "foreign"}},
                 "template": {"metadata": {"labels": {"app": "foreign"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<kube::api::DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("apps/v1", "Deployment"),
    )
    .create(&kube::api::PostParams::default(), &foreign)
    .await
    .unwrap_or_else(|e| panic!("foreign Deployment: {e}"));
    let _operator = start_operator(&client, &ns).await;
    create(&client, &sample("bids", &ns)).await;
    // Changing the log level while the migration Job exists makes a new Job, not a 422 on the immutable one.
    let first_job = wait_exists_job(&client, &ns).await;
    patch_spec(&client, &ns, "bids", json!({"logging": {"level": "debug"}})).await;
    wait_for("a new migration Job", Duration::from_secs(60), || async {
        let name = wait_exists_job(&client, &ns).await;
        (name != first_job).then_some(())
    })
    .await;
    wait_gone(&client, &ns, "batch/v1", "Job", &first_job).await;
    complete_migration(&client, &ns).await;
    let bd = wait_condition(&client, &ns, "bids", "Degraded", "True", "ApplyFailed").await;
    let message = condition(&bd, "Degraded").unwrap_or_default().2;
    assert!(message.contains("Deployment bids-worker"), "{message}");
    for name in ["bids-api", "bids-scheduler", "bids-monitor"] {
        wait_exists(&client, &ns, "apps/v1", "Deployment", name).await;
    }
    assert_eq!(
        bd.status.and_then(|s| s.version).as_deref(),
        Some("1.0.0"),
        "status is still written"
    );
}

/// Name of the one migration Job in `ns` (waits for it).
async fn wait_exists_job(client: &kube::Client, ns: &str) -> String {
    wait_for("a migration Job", Duration::from_secs(60), || async {
        let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), ns);
        let list = jobs.list(&Default::default()).await.ok()?;
        let live: Vec<_> = list
            .items
            .into_iter()
            .filter(|j| j.metadata.deletion_timestamp.is_none())
            .collect();
        (live.len() == 1).then(|| live[0].name_any())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_referenced_secret_is_a_condition_and_rotating_it_rolls_the_pods_that_read_it() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "rotate").await;
    let _operator = start_operator(&client, &ns).await;
    let mut cr = sample("bids", &ns);
    cr.spec.llm.api_key_secret_ref = Some(aibid_operator::crd::SecretKeyRef {
        name: "llm".into(),
        key: "api-key".into(),
    });
    create(&client, &cr).await;
    let missing = wait_condition(&client, &ns, "bids", "Degraded", "True", "SecretMissing").await;
    let message = condition(&missing, "Degraded").unwrap_or_default().2;
    assert!(
        message.contains("llm") && message.contains("api-key"),
        "{message}"
    );
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    let secret = |value: &str| {
        serde_json::from_value::<k8s_openapi::api::core::v1::Secret>(json!({
            "metadata": {"name": "llm"}, "stringData": {"api-key": value}
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    };
    secrets
        .create(&kube::api::PostParams::default(), &secret("first"))
        .await
        .unwrap_or_else(|e| panic!("creating Secret: {e}"));
    complete_migration(&client, &ns).await;
    let touch = |n: &'static str| {
        let client = client.clone();
        let ns = ns.clone();
        async move {
            // Secrets are re-read on every reconcile (and at least every resync); poke one now.
            Api::<BiddingDeployment>::namespaced(client, &ns)
                .patch(
                    "bids",
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"metadata": {"annotations": {"poke": n}}})),
                )
                .await
                .unwrap_or_else(|e| panic!("annotating: {e}"));
        }
    };
    touch("1").await;
    let hash = |name: &'static str| {
        let client = client.clone();
        let ns = ns.clone();
        async move {
            get(&client, &ns, "apps/v1", "Deployment", name)
                .await
                .and_then(|d| {
                    d.data["spec"]["template"]["metadata"]["annotations"]["aibid.dev/secret-sha256"]
                        .as_str()
                        .map(str::to_string)
                })
        }
    };
    let before = wait_for(
        "API with the first key",
        Duration::from_secs(60),
        || async {
            let bd = bd(&client, &ns, "bids").await;
            let (_, reason, _) = condition(&bd, "Degraded")?;
            if reason == "SecretMissing" {
                return None;
            }
            Some((hash("bids-api").await?, hash("bids-scheduler").await?))
        },
    )
    .await;
    let mut rotated = secret("second");
    rotated.metadata.resource_version = None;
    secrets
        .replace("llm", &kube::api::PostParams::default(), &{
            let mut current = secrets.get("llm").await.unwrap_or_else(|e| panic!("{e}"));
            current.data = None;
            current.string_data = rotated.string_data.clone();
            current
        })
        .await
        .unwrap_or_else(|e| panic!("rotating: {e}"));
    touch("2").await;
    let after = wait_for(
        "API rolled for the new key",
        Duration::from_secs(60),
        || async {
            let api = hash("bids-api").await?;
            (api != before.0).then_some(api)
        },
    )
    .await;
    assert_ne!(after, before.0);
    assert_eq!(
        hash("bids-scheduler").await,
        Some(before.1),
        "the scheduler does not read the LLM key and must not roll"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_killed_midway_resumes_without_regenerating_secrets() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "restart").await;
    let first = start_operator(&client, &ns).await;
    create(&client, &sample("bids", &ns)).await;
    let secret = wait_exists(&client, &ns, "v1", "Secret", "bids-generated").await;
    // Killed right after its first write, before the rest of the children were applied.
    drop(first);
    let _second = start_operator(&client, &ns).await;
    complete_migration(&client, &ns).await;
    mark_all_ready(&client, &ns, "bids").await;
    wait_condition(&client, &ns, "bids", "Ready", "True", "AllComponentsReady").await;
    let again = wait_exists(&client, &ns, "v1", "Secret", "bids-generated").await;
    assert_eq!(
        secret.data["data"], again.data["data"],
        "generated credentials must never be regenerated"
    );
    assert_eq!(secret.resource_version(), again.resource_version());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_lease_and_the_second_takes_over() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "lease").await;
    let config = |identity: &str| RunConfig {
        namespace: Some(ns.clone()),
        identity: identity.into(),
        lease_namespace: ns.clone(),
        lease_name: "aibid-operator-leader".into(),
        lease_duration: Duration::from_secs(3),
    };
    let (a_metrics, b_metrics) = (Metrics::shared(), Metrics::shared());
    let a = tokio::spawn(run::run(
        client.clone(),
        config("replica-a"),
        a_metrics.clone(),
    ));
    wait_for("replica-a leads", Duration::from_secs(30), || async {
        (a_metrics.leader.get() == 1).then_some(())
    })
    .await;
    let b = tokio::spawn(run::run(
        client.clone(),
        config("replica-b"),
        b_metrics.clone(),
    ));
    create(&client, &sample("bids", &ns)).await;
    wait_exists(&client, &ns, "v1", "Secret", "bids-generated").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        b_metrics.leader.get(),
        0,
        "replica-b must wait while replica-a renews the lease"
    );
    assert_eq!(b_metrics.writes_so_far(), 0, "the follower must not write");

    a.abort();
    wait_for("replica-b takes over", Duration::from_secs(30), || async {
        (b_metrics.leader.get() == 1).then_some(())
    })
    .await;
    complete_migration(&client, &ns).await;
    wait_exists(&client, &ns, "apps/v1", "Deployment", "bids-api").await;
    assert!(b_metrics.writes_so_far() > 0, "the new leader reconciles");
    b.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_that_cannot_change_give_a_condition_not_a_crash() {
    let client = client().await;
    let (ns, _operator) = converged(&client, "storage").await;
    // Shrinking is refused before the API server sees it.
    patch_spec(&client, &ns, "bids", json!({"storage": {"size": "100Gi"}})).await;
    let bd = wait_condition(
        &client,
        &ns,
        "bids",
        "Degraded",
        "True",
        "StorageShrinkRefused",
    )
    .await;
    assert!(condition(&bd, "Degraded")
        .unwrap_or_default()
        .2
        .contains("bids-files"));
    // Growing an unbound claim (no expandable class here) is refused by the API server: reported, not fatal.
    patch_spec(&client, &ns, "bids", json!({"storage": {"size": "300Gi"}})).await;
    wait_condition(
        &client,
        &ns,
        "bids",
        "Degraded",
        "True",
        "StorageResizeUnsupported",
    )
    .await;
    // A database volume change keeps the StatefulSet's immutable claim templates as they are.
    let sts_before = wait_exists(&client, &ns, "apps/v1", "StatefulSet", "bids-postgres").await;
    patch_spec(&client, &ns, "bids", json!({"storage": {"size": "200Gi"}, "database": {"managed": {"storage": {"size": "150Gi"}}}})).await;
    wait_for(
        "status of the database change",
        Duration::from_secs(60),
        || async { (bd_generation_observed(&client, &ns).await).then_some(()) },
    )
    .await;
    let sts_after = wait_exists(&client, &ns, "apps/v1", "StatefulSet", "bids-postgres").await;
    assert_eq!(
        sts_before.data["spec"]["volumeClaimTemplates"],
        sts_after.data["spec"]["volumeClaimTemplates"]
    );
}

async fn bd_generation_observed(client: &kube::Client, ns: &str) -> bool {
    let bd = bd(client, ns, "bids").await;
    bd.status.and_then(|s| s.observed_generation) == bd.metadata.generation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scale_subresource_scales_the_api() {
    let client = client().await;
    let (ns, _operator) = converged(&client, "scale").await;
    let api = Api::<BiddingDeployment>::namespaced(client.clone(), &ns);
    api.patch_scale(
        "bids",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"replicas": 5}})),
    )
    .await
    .unwrap_or_else(|e| panic!("scaling: {e}"));
    wait_for(
        "API Deployment with 5 replicas",
        Duration::from_secs(60),
        || async {
            let deployment = get(&client, &ns, "apps/v1", "Deployment", "bids-api").await?;
            (deployment.data["spec"]["replicas"] == 5).then_some(())
        },
    )
    .await;
    let worker = get(&client, &ns, "apps/v1", "Deployment", "bids-worker").await;
    assert_eq!(
        worker.map(|w| w.data["spec"]["replicas"].clone()),
        Some(json!(3)),
        "workers keep their own count"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_1_20_lacks_are_named_in_a_condition_not_a_crash() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "kinds").await;
    let operator = start_operator(&client, &ns).await;
    let mut cr = sample("bids", &ns);
    cr.spec.api.autoscaling = Some(aibid_operator::crd::AutoscalingSpec {
        min_replicas: 2,
        max_replicas: 6,
        target_cpu_utilization: 70,
    });
    cr.spec.backup = Some(serde_json::from_value(json!({})).unwrap_or_else(|e| panic!("{e}")));
    create(&client, &cr).await;
    complete_migration(&client, &ns).await;
    wait_exists(&client, &ns, "apps/v1", "Deployment", "bids-api").await;
    let bd = wait_condition(
        &client,
        &ns,
        "bids",
        "KindsAvailable",
        "False",
        "KindsNotServed",
    )
    .await;
    let message = condition(&bd, "KindsAvailable").unwrap_or_default().2;
    for kind in ["autoscaling/v2 HorizontalPodAutoscaler", "batch/v1 CronJob"] {
        assert!(message.contains(kind), "{message}");
    }
    assert!(!operator.task.is_finished(), "the controller keeps running");
}

/// Every Event the controller published about `bids` in `ns`: (action, reason, name@resourceVersion).
async fn bd_events(client: &kube::Client, ns: &str) -> Vec<(String, String, String)> {
    use k8s_openapi::api::events::v1::Event;
    let mut events: Vec<_> = Api::<Event>::namespaced(client.clone(), ns)
        .list(&Default::default())
        .await
        .unwrap_or_else(|e| panic!("listing events: {e}"))
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("bids"))
        .map(|e| {
            (
                e.action.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                format!(
                    "{}@{}",
                    e.name_any(),
                    e.resource_version().unwrap_or_default()
                ),
            )
        })
        .collect();
    events.sort();
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_published_on_condition_transitions_only() {
    let client = client().await;
    let (ns, operator) = converged(&client, "events").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = bd_events(&client, &ns).await;
    assert!(
        ready
            .iter()
            .any(|(action, reason, _)| action == "ReadyChanged" && reason == "AllComponentsReady"),
        "becoming Ready is an Event: {ready:?}"
    );

    // A reconcile that changes no condition publishes nothing and touches no existing Event.
    let reconciled = reconciliations(&operator.metrics);
    Api::<BiddingDeployment>::namespaced(client.clone(), &ns)
        .patch(
            "bids",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"touched": "yes"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("annotating: {e}"));
    wait_for("another reconcile", Duration::from_secs(30), || async {
        (reconciliations(&operator.metrics) > reconciled).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        bd_events(&client, &ns).await,
        ready,
        "no transition, no Event"
    );

    // More workers than are ready: Ready flips to False, which is published.
    patch_spec(&client, &ns, "bids", json!({"worker": {"replicas": 7}})).await;
    let flipped = wait_for("an Event for Ready=False", Duration::from_secs(30), || {
        let client = client.clone();
        let ns = ns.clone();
        let before = ready.len();
        async move {
            let now = bd_events(&client, &ns).await;
            (now.len() > before).then_some(now)
        }
    })
    .await;
    assert!(
        flipped
            .iter()
            .any(|(action, _, _)| action == "ReadyChanged"),
        "{flipped:?}"
    );
}
