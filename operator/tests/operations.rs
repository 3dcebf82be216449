//! Operations against the real kube-apiserver v1.20.2 from `hack/env/k8s.sh`: BiddingRestore phases, BackupReady
//! from backup Job results, and `diagnose`. Nothing runs pods there, so the tests stand in for the Job and
//! Deployment controllers by writing their status.

mod common;

use std::time::Duration;

use aibid_operator::crd::{BiddingDeployment, BiddingRestore};
use aibid_operator::restore_controller::{self, RestoreContext};
use common::*;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::task::JoinHandle;

struct Controllers {
    operator: Operator,
    restores: JoinHandle<()>,
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.restores.abort();
    }
}

async fn start(client: &Client, ns: &str) -> Controllers {
    let operator = start_operator(client, ns).await;
    let ctx = std::sync::Arc::new(RestoreContext::new(
        client.clone(),
        operator.metrics.clone(),
        "test",
    ));
    let (client, ns) = (client.clone(), ns.to_string());
    let restores =
        tokio::spawn(async move { restore_controller::controller(client, ctx, Some(&ns)).await });
    Controllers { operator, restores }
}

fn with_backups(ns: &str) -> BiddingDeployment {
    let mut bd = sample("bids", ns);
    bd.spec.backup = Some(serde_yaml::from_str("{}").unwrap_or_else(|e| panic!("{e}")));
    bd
}

/// A migrated, ready installation with backups configured, and both controllers running.
async fn converged(client: &Client, prefix: &str) -> (String, Controllers) {
    install_crd(client).await;
    let ns = namespace(client, prefix).await;
    let controllers = start(client, &ns).await;
    create(client, &with_backups(&ns)).await;
    complete_migration(client, &ns).await;
    mark_all_ready(client, &ns, "bids").await;
    mark_ready(client, &ns, "Deployment", "bids-scheduler").await;
    wait_condition(client, &ns, "bids", "Ready", "True", "AllComponentsReady").await;
    (ns, controllers)
}

async fn create_restore(client: &Client, ns: &str, name: &str, deployment: &str, what: &str) {
    let restore: BiddingRestore = serde_yaml::from_str(&format!(
        "apiVersion: aibid.dev/v1alpha1\nkind: BiddingRestore\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{deploymentRef: {deployment}, backup: latest, what: {what}}}\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<BiddingRestore>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &restore)
        .await
        .unwrap_or_else(|e| panic!("create BiddingRestore {name}: {e}"));
}

async fn restore(client: &Client, ns: &str, name: &str) -> BiddingRestore {
    Api::<BiddingRestore>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get BiddingRestore {name}: {e}"))
}

fn phase(restore: &BiddingRestore) -> Option<String> {
    restore.status.as_ref()?.phase.clone()
}

async fn wait_phase(client: &Client, ns: &str, name: &str, want: &str) -> BiddingRestore {
    wait_for(
        &format!("restore {name} in phase {want}"),
        Duration::from_secs(60),
        || async {
            let restore = restore(client, ns, name).await;
            (phase(&restore).as_deref() == Some(want)).then_some(restore)
        },
    )
    .await
}

/// Stand in for the Deployment controller until the restore reaches `want`: the app's pods become ready at
/// whatever replicas the Deployments ask for.
async fn wait_phase_marking_app_ready(
    client: &Client,
    ns: &str,
    name: &str,
    want: &str,
) -> BiddingRestore {
    wait_for(
        &format!("restore {name} in phase {want}"),
        Duration::from_secs(60),
        || async {
            for component in ["api", "worker", "scheduler"] {
                mark_ready(client, ns, "Deployment", &format!("bids-{component}")).await;
            }
            let restore = restore(client, ns, name).await;
            (phase(&restore).as_deref() == Some(want)).then_some(restore)
        },
    )
    .await
}

async fn replicas(client: &Client, ns: &str, component: &str) -> Option<i64> {
    get(
        client,
        ns,
        "apps/v1",
        "Deployment",
        &format!("bids-{component}"),
    )
    .await?
    .data
    .pointer("/spec/replicas")?
    .as_i64()
}

async fn wait_replicas(client: &Client, ns: &str, want: [(&str, i64); 3]) {
    wait_for(
        &format!("app Deployments at {want:?}"),
        Duration::from_secs(60),
        || async {
            for (component, count) in want {
                if replicas(client, ns, component).await != Some(count) {
                    return None;
                }
            }
            Some(())
        },
    )
    .await
}

const AT_ZERO: [(&str, i64); 3] = [("api", 0), ("worker", 0), ("scheduler", 0)];

/// Stand in for the Job controller: mark the Job complete or failed at `finished` (an RFC 3339 time).
async fn finish_job(client: &Client, ns: &str, name: &str, succeeded: bool, finished: &str) {
    let status = if succeeded {
        json!({"status": {"succeeded": 1, "startTime": finished, "completionTime": finished,
            "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": finished}]}})
    } else {
        json!({"status": {"failed": 1, "startTime": finished,
            "conditions": [{"type": "Failed", "status": "True", "lastTransitionTime": finished,
                "reason": "BackoffLimitExceeded", "message": "exit code 3: row counts differ from the manifest"}]}})
    };
    Api::<Job>::namespaced(client.clone(), ns)
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap_or_else(|e| panic!("status of Job {name}: {e}"));
}

fn now_minus(seconds: i64) -> String {
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    k8s_openapi::jiff::Timestamp::from_second(now - seconds)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}

async fn event_reasons(client: &Client, ns: &str, regarding: &str) -> Vec<String> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    events
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("list events: {e}"))
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(regarding))
        .filter_map(|e| e.reason)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_stops_the_app_runs_its_job_and_scales_back() {
    let client = client().await;
    let (ns, _controllers) = converged(&client, "restore-ok").await;
    create_restore(&client, &ns, "monday", "bids", "database").await;

    wait_replicas(&client, &ns, AT_ZERO).await;
    let job = wait_exists(&client, &ns, "batch/v1", "Job", "monday-restore").await;
    let owner = job.owner_references().first().cloned();
    assert_eq!(
        owner.map(|o| (o.kind, o.name)),
        Some(("BiddingRestore".to_string(), "monday".to_string()))
    );
    assert_eq!(
        job.data["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["/scripts/restore.sh", "latest", "database"])
    );
    let running = wait_phase(&client, &ns, "monday", "Restoring").await;
    let status = running.status.clone().unwrap_or_default();
    assert!(status.start_time.is_some(), "{status:?}");
    assert_eq!(status.job_name.as_deref(), Some("monday-restore"));

    // A spec change while the restore runs is reconciled, but the hold keeps the app at zero.
    Api::<BiddingDeployment>::namespaced(client.clone(), &ns)
        .patch(
            "bids",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"api": {"replicas": 4}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("patching spec: {e}"));
    wait_for(
        "generation 2 reconciled",
        Duration::from_secs(60),
        || async {
            (bd(&client, &ns, "bids").await.status?.observed_generation == Some(2)).then_some(())
        },
    )
    .await;
    assert_eq!(replicas(&client, &ns, "api").await, Some(0));
    assert_eq!(
        phase(&restore(&client, &ns, "monday").await).as_deref(),
        Some("Restoring")
    );

    finish_job(&client, &ns, "monday-restore", true, &now_minus(0)).await;
    wait_replicas(&client, &ns, [("api", 4), ("worker", 3), ("scheduler", 1)]).await;
    let done = wait_phase_marking_app_ready(&client, &ns, "monday", "Succeeded").await;
    let status = done.status.unwrap_or_default();
    assert_eq!(status.reason.as_deref(), Some("Restored"));
    assert!(status.completion_time.is_some() && status.start_time.is_some());
    assert_eq!(
        status.conditions.first().map(|c| c.status.as_str()),
        Some("True")
    );
    let reasons = event_reasons(&client, &ns, "monday").await;
    for reason in [
        "ScalingAppDown",
        "RestoreJobRunning",
        "ScalingAppUp",
        "Restored",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "no {reason} event in {reasons:?}"
        );
    }
    // Finished restores stay finished: the app keeps running.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(replicas(&client, &ns, "api").await, Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_restore_waits_and_a_failed_one_still_scales_the_app_back() {
    let client = client().await;
    let (ns, _controllers) = converged(&client, "restore-two").await;
    // Created within the same second: ties go by name, so "first" goes first.
    create_restore(&client, &ns, "first", "bids", "both").await;
    create_restore(&client, &ns, "second", "bids", "files").await;

    wait_phase(&client, &ns, "first", "Restoring").await;
    let waiting = wait_phase(&client, &ns, "second", "Pending").await;
    let status = waiting.status.clone().unwrap_or_default();
    assert_eq!(status.reason.as_deref(), Some("WaitingForEarlierRestore"));
    assert!(
        status
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("first"),
        "{status:?}"
    );
    assert!(get(&client, &ns, "batch/v1", "Job", "second-restore")
        .await
        .is_none());

    finish_job(&client, &ns, "first-restore", false, &now_minus(0)).await;
    wait_replicas(&client, &ns, [("api", 3), ("worker", 3), ("scheduler", 1)]).await;
    let failed = wait_phase_marking_app_ready(&client, &ns, "first", "Failed").await;
    let status = failed.status.unwrap_or_default();
    assert_eq!(status.reason.as_deref(), Some("RestoreJobFailed"));
    assert!(
        status
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("row counts differ"),
        "{status:?}"
    );
    assert!(event_reasons(&client, &ns, "first")
        .await
        .iter()
        .any(|r| r == "RestoreJobFailed"));

    // Now the second one runs: the app goes down again and its own Job is created.
    wait_exists(&client, &ns, "batch/v1", "Job", "second-restore").await;
    wait_replicas(&client, &ns, AT_ZERO).await;
    finish_job(&client, &ns, "second-restore", true, &now_minus(0)).await;
    wait_phase_marking_app_ready(&client, &ns, "second", "Succeeded").await;
    assert_eq!(replicas(&client, &ns, "worker").await, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_of_a_missing_deployment_fails_with_a_clear_message() {
    let client = client().await;
    install_crd(&client).await;
    let ns = namespace(&client, "restore-missing").await;
    let _controllers = start(&client, &ns).await;
    create_restore(&client, &ns, "orphan", "nowhere", "both").await;
    let failed = wait_phase(&client, &ns, "orphan", "Failed").await;
    let status = failed.status.unwrap_or_default();
    assert_eq!(status.reason.as_deref(), Some("DeploymentNotFound"));
    assert!(
        status
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("BiddingDeployment nowhere does not exist"),
        "{status:?}"
    );
    assert!(get(&client, &ns, "batch/v1", "Job", "orphan-restore")
        .await
        .is_none());
}

/// A Job as a backup CronJob would create it (same labels), with its status set as the Job controller would.
async fn backup_job(
    client: &Client,
    ns: &str,
    name: &str,
    kind: &str,
    succeeded: bool,
    finished: &str,
) {
    let job: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": {
            "app.kubernetes.io/instance": "bids", "app.kubernetes.io/name": "aibid",
            "app.kubernetes.io/component": "backup", "aibid.dev/backup-kind": kind}},
        "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": kind, "image": "postgres:15", "args": ["/scripts/backup.sh", kind]}]}}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<Job>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &job)
        .await
        .unwrap_or_else(|e| panic!("create Job {name}: {e}"));
    finish_job(client, ns, name, succeeded, finished).await;
}

fn metric_line(
    metrics: &aibid_operator::metrics::Metrics,
    name: &str,
    ns: &str,
    kind: &str,
) -> Option<i64> {
    let prefix = format!("{name}{{namespace=\"{ns}\",deployment=\"bids\",kind=\"{kind}\"}} ");
    metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_ready_and_last_backup_follow_the_backup_jobs() {
    let client = client().await;
    let (ns, controllers) = converged(&client, "backups").await;
    let metrics = controllers.operator.metrics.clone();
    wait_condition(&client, &ns, "bids", "BackupReady", "True", "NoBackupYet").await;

    let hour = 3600;
    backup_job(
        &client,
        &ns,
        "bids-backup-db-1",
        "db",
        true,
        &now_minus(2 * hour),
    )
    .await;
    backup_job(
        &client,
        &ns,
        "bids-backup-files-1",
        "files",
        true,
        &now_minus(hour),
    )
    .await;
    // The weekly full backup last succeeded 9 days ago: late, and the message names it.
    backup_job(
        &client,
        &ns,
        "bids-backup-full-1",
        "full",
        true,
        &now_minus(9 * 24 * hour),
    )
    .await;
    let bd = wait_condition(&client, &ns, "bids", "BackupReady", "False", "BackupLate").await;
    let message = condition(&bd, "BackupReady").unwrap_or_default().2;
    assert!(
        message.contains("full") && !message.contains("db"),
        "{message}"
    );
    backup_job(
        &client,
        &ns,
        "bids-backup-full-2",
        "full",
        true,
        &now_minus(3 * 24 * hour),
    )
    .await;
    let bd = wait_condition(
        &client,
        &ns,
        "bids",
        "BackupReady",
        "True",
        "BackupsSucceeded",
    )
    .await;
    let last = bd.status.clone().unwrap_or_default().last_backup;
    assert_eq!(
        last.get("db")
            .and_then(|k| k.success.as_ref())
            .map(|r| r.job.as_str()),
        Some("bids-backup-db-1")
    );
    let files_time = last
        .get("files")
        .and_then(|k| k.success.as_ref())
        .map(|r| r.time.0.as_second());
    assert!(files_time.is_some());
    wait_for("success gauge", Duration::from_secs(30), || async {
        (metric_line(
            &metrics,
            "aibid_backup_last_success_timestamp_seconds",
            &ns,
            "files",
        ) == files_time)
            .then_some(())
    })
    .await;
    assert_eq!(
        metric_line(
            &metrics,
            "aibid_backup_last_failure_timestamp_seconds",
            &ns,
            "files"
        ),
        Some(0)
    );

    // A newer failed files backup: not ready, named, and the failure gauge moves.
    backup_job(
        &client,
        &ns,
        "bids-backup-files-2",
        "files",
        false,
        &now_minus(60),
    )
    .await;
    let bd = wait_condition(&client, &ns, "bids", "BackupReady", "False", "BackupFailed").await;
    assert!(condition(&bd, "BackupReady")
        .unwrap_or_default()
        .2
        .contains("files"));
    let failure = bd
        .status
        .unwrap_or_default()
        .last_backup
        .get("files")
        .and_then(|k| k.failure.clone());
    assert_eq!(
        failure.as_ref().map(|r| r.job.as_str()),
        Some("bids-backup-files-2")
    );
    wait_for("failure gauge", Duration::from_secs(30), || async {
        (metric_line(
            &metrics,
            "aibid_backup_last_failure_timestamp_seconds",
            &ns,
            "files",
        ) == failure.as_ref().map(|r| r.time.0.as_second()))
        .then_some(())
    })
    .await;

    // A successful retry clears it.
    backup_job(
        &client,
        &ns,
        "bids-backup-files-3",
        "files",
        true,
        &now_minus(30),
    )
    .await;
    wait_condition(
        &client,
        &ns,
        "bids",
        "BackupReady",
        "True",
        "BackupsSucceeded",
    )
    .await;
    Api::<Job>::namespaced(client.clone(), &ns)
        .delete("bids-backup-db-1", &Default::default())
        .await
        .unwrap_or_else(|e| panic!("delete Job: {e}"));
    // The deleted Job's success is remembered in status; only a genuinely old dump is late. Deleting alone
    // changes nothing, so the next Job's arrival is what triggers the reconcile.
    backup_job(
        &client,
        &ns,
        "bids-backup-verify-1",
        "verify",
        true,
        &now_minus(10),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bd = wait_condition(
        &client,
        &ns,
        "bids",
        "BackupReady",
        "True",
        "BackupsSucceeded",
    )
    .await;
    assert!(bd.status.unwrap_or_default().last_backup.contains_key("db"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_prints_conditions_components_backups_restores_and_warnings() {
    let client = client().await;
    let (ns, _controllers) = converged(&client, "diagnose").await;
    backup_job(
        &client,
        &ns,
        "bids-backup-db-1",
        "db",
        true,
        &now_minus(3600),
    )
    .await;
    wait_for("lastBackup of db", Duration::from_secs(60), || async {
        bd(&client, &ns, "bids")
            .await
            .status?
            .last_backup
            .get("db")
            .map(|_| ())
    })
    .await;
    // A restore of another (missing) deployment leaves a warning Event that is not about bids.
    create_restore(&client, &ns, "elsewhere", "nowhere", "both").await;
    wait_phase(&client, &ns, "elsewhere", "Failed").await;
    // The worker is short of one ready pod.
    let workers: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(client.clone(), &ns);
    workers
        .patch_status(
            "bids-worker",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"readyReplicas": 2, "availableReplicas": 2}})),
        )
        .await
        .unwrap_or_else(|e| panic!("worker status: {e}"));

    let report = aibid_operator::diagnose::report(&client, &ns, "bids")
        .await
        .unwrap_or_else(|e| panic!("diagnose: {e}"));
    for expected in [
        "Ready=True AllComponentsReady",
        "BackupReady=",
        "DatabaseReady=True",
        "Deployment  bids-api",
        "3/3",
        "bids-worker                  2/3  <- not all ready",
        "StatefulSet bids-postgres",
        "bids-files",
        "db     last success",
        "(bids-backup-db-1)",
        "full   last success never",
        "Restores in progress:\n  none",
        "BiddingDeployment/bids KindsNotServed",
        "Task queue:\n  skipped:",
    ] {
        assert!(
            report.contains(expected),
            "report lacks {expected:?}:\n{report}"
        );
    }
    assert!(
        !report.contains("DeploymentNotFound"),
        "another deployment's restore is not listed:\n{report}"
    );
    let missing = aibid_operator::diagnose::report(&client, &ns, "absent").await;
    assert!(
        missing.is_err_and(|e| e.to_string().contains("BiddingDeployment absent not found")),
        "a missing deployment is a clear error"
    );
}
