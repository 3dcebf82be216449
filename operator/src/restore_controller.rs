//! The `BiddingRestore` controller. Each restore follows the pure phase machine of [`restore::step`]: wait while an
//! earlier restore of the same deployment runs (Pending), scale API, workers and scheduler to zero (ScalingDown),
//! run the restore Job (Restoring; the script checks the backup against its manifest, so the Job's outcome is the
//! verification), scale back (ScalingUp) and record Succeeded or Failed. Phases are written to status before the
//! action they announce, so the BiddingDeployment reconcile (which reads them through [`app_held`]) never scales
//! the app back up while a restore needs it at zero.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use crate::crd::{BiddingDeployment, BiddingRestore, BiddingRestoreStatus};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::reconcile::{event_recorder, FIELD_MANAGER};
use crate::render::backup::KIND_LABEL;
use crate::render::restore::{self, JobState, RestoreAction, RestoreFacts, RestorePhase};
use crate::render::{Child, Component, APPLIED_HASH_ANNOTATION};

/// The components a restore stops: everything that writes to the database or the files volume.
pub const APP_COMPONENTS: [Component; 3] =
    [Component::Api, Component::Worker, Component::Scheduler];
/// How often a waiting restore looks again at the restore ahead of it.
const PENDING_RECHECK: Duration = Duration::from_secs(5);
/// How often an active restore looks at pods and Deployments (neither is watched by this controller).
const ACTIVE_RECHECK: Duration = Duration::from_secs(2);
const ERROR_RETRY: Duration = Duration::from_secs(10);

pub struct RestoreContext {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
}

impl RestoreContext {
    pub fn new(client: Client, metrics: Arc<Metrics>, identity: &str) -> Self {
        Self {
            recorder: event_recorder(&client, identity),
            client,
            metrics,
        }
    }
}

/// Run the restore controller until its watch streams end.
pub async fn controller(client: Client, ctx: Arc<RestoreContext>, namespace: Option<&str>) {
    let restore_jobs = watcher::Config::default().labels(&format!("{KIND_LABEL}=restore"));
    Controller::new(
        crate::run::api::<BiddingRestore>(&client, namespace),
        watcher::Config::default(),
    )
    .owns(crate::run::api::<Job>(&client, namespace), restore_jobs)
    .run(reconcile, error_policy, ctx)
    .for_each(|result| async move {
        match result {
            Ok((object, _)) => debug!(name = %object.name, "restore reconciled"),
            Err(error) => warn!(%error, "restore controller error"),
        }
    })
    .await;
}

fn error_policy(restore: Arc<BiddingRestore>, error: &Error, ctx: Arc<RestoreContext>) -> Action {
    ctx.metrics
        .errors
        .get_or_create(&crate::metrics::ErrorLabels {
            error: error.metric_label(),
        })
        .inc();
    warn!(name = %restore.name_any(), namespace = ?restore.namespace(), error = %error, "restore step failed");
    Action::requeue(ERROR_RETRY)
}

/// True while a restore of `bd` needs API, workers and scheduler at zero replicas. A cluster without the
/// BiddingRestore CRD has no restores.
pub async fn app_held(client: &Client, bd: &BiddingDeployment, ns: &str) -> Result<bool> {
    let restores: Api<BiddingRestore> = Api::namespaced(client.clone(), ns);
    let list = match restores.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(false),
        Err(e) => return Err(Error::kube("list BiddingRestores", e)),
    };
    Ok(list.items.iter().any(|restore| {
        restore.spec.deployment_ref == bd.name_any()
            && phase_of(restore).is_some_and(RestorePhase::holds_app_at_zero)
    }))
}

/// Render API, worker and scheduler Deployments at zero replicas, with a content hash of their own so the
/// hold is applied (and lifted) like any other change.
pub fn hold_at_zero(child: &mut Child) {
    if child.kind() != "Deployment" || !APP_COMPONENTS.contains(&child.component) {
        return;
    }
    if let Some(spec) = child.object.get_mut("spec").and_then(|s| s.as_object_mut()) {
        spec.insert("replicas".into(), json!(0));
    }
    let hash = hex::encode(Sha256::digest(child.object.to_string().as_bytes()));
    if let Some(annotations) = child
        .object
        .pointer_mut("/metadata/annotations")
        .and_then(|a| a.as_object_mut())
    {
        annotations.insert(APPLIED_HASH_ANNOTATION.into(), hash.into());
    }
}

/// Replicas each app component runs when no restore holds it: the spec's count, or the autoscaler's minimum.
pub fn desired_replicas(bd: &BiddingDeployment, component: Component) -> i32 {
    let spec = &bd.spec;
    match component {
        Component::Api => spec
            .api
            .autoscaling
            .as_ref()
            .map_or(spec.api.replicas, |a| a.min_replicas),
        Component::Worker => spec
            .worker
            .autoscaling
            .as_ref()
            .map_or(spec.worker.replicas, |a| a.min_replicas),
        _ => 1,
    }
}

fn phase_of(restore: &BiddingRestore) -> Option<RestorePhase> {
    RestorePhase::parse(restore.status.as_ref().and_then(|s| s.phase.as_deref()))
}

fn is_finished(phase: Option<RestorePhase>) -> bool {
    matches!(phase, Some(RestorePhase::Succeeded | RestorePhase::Failed))
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// What to write into status for one step.
struct Outcome {
    phase: RestorePhase,
    reason: &'static str,
    message: String,
}

async fn reconcile(restore: Arc<BiddingRestore>, ctx: Arc<RestoreContext>) -> Result<Action> {
    let ns = restore
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(restore.name_any()))?;
    let current = phase_of(&restore);
    if is_finished(current) || restore.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let target = &restore.spec.deployment_ref;
    let deployments: Api<BiddingDeployment> = Api::namespaced(ctx.client.clone(), &ns);
    let bd = deployments
        .get_opt(target)
        .await
        .map_err(|e| Error::kube(format!("get BiddingDeployment {target}"), e))?;
    let Some(bd) = bd else {
        let outcome = Outcome {
            phase: RestorePhase::Failed,
            reason: "DeploymentNotFound",
            message: format!("BiddingDeployment {target} does not exist in namespace {ns}; nothing was scaled or restored"),
        };
        record(&restore, &ctx, &ns, current, outcome).await?;
        return Ok(Action::await_change());
    };
    if bd.spec.backup.is_none() && current.is_none_or(|p| p == RestorePhase::Pending) {
        let outcome = Outcome {
            phase: RestorePhase::Failed,
            reason: "NoBackupVolume",
            message: format!("BiddingDeployment {target} has no spec.backup, so there is no backup volume to restore from; nothing was scaled or restored"),
        };
        record(&restore, &ctx, &ns, current, outcome).await?;
        return Ok(Action::await_change());
    }

    let (facts, earlier) = facts(&restore, &bd, &ctx, &ns, current).await?;
    let (phase, action) = restore::step(current, &facts);
    let outcome = describe(phase, &facts, earlier.as_deref(), &bd);
    // Status first: the phase is the hold the BiddingDeployment reconcile respects.
    record(&restore, &ctx, &ns, current, outcome).await?;
    match action {
        RestoreAction::Wait => {}
        RestoreAction::ScaleAppToZero => scale_app(&ctx, &bd, &ns, |_| 0).await?,
        RestoreAction::CreateJob => create_job(&ctx, &bd, &restore, &ns).await?,
        RestoreAction::ScaleAppBack => {
            scale_app(&ctx, &bd, &ns, |component| desired_replicas(&bd, component)).await?
        }
        RestoreAction::Finish => return Ok(Action::await_change()),
    }
    Ok(Action::requeue(if phase == RestorePhase::Pending {
        PENDING_RECHECK
    } else {
        ACTIVE_RECHECK
    }))
}

/// The facts the current phase needs (others keep neutral values `step` does not consult there), and the name
/// of the restore this one waits for.
async fn facts(
    restore: &BiddingRestore,
    bd: &BiddingDeployment,
    ctx: &RestoreContext,
    ns: &str,
    current: Option<RestorePhase>,
) -> Result<(RestoreFacts, Option<String>)> {
    let mut facts = RestoreFacts {
        earlier_restore_active: false,
        app_pods_running: 0,
        job: JobState::Absent,
        app_ready: false,
    };
    let mut earlier = None;
    match current {
        None | Some(RestorePhase::Pending) => {
            earlier = earlier_active_restore(restore, ctx, ns).await?;
            facts.earlier_restore_active = earlier.is_some();
        }
        Some(RestorePhase::ScalingDown) => {
            facts.app_pods_running = app_still_running(ctx, bd, ns).await?;
        }
        Some(RestorePhase::Restoring) => facts.job = job_state(ctx, restore, ns).await?,
        Some(RestorePhase::ScalingUp) => {
            facts.job = job_state(ctx, restore, ns).await?;
            facts.app_ready = app_ready(ctx, bd, ns).await?;
        }
        Some(RestorePhase::Succeeded | RestorePhase::Failed) => {}
    }
    Ok((facts, earlier))
}

/// The oldest unfinished restore of the same deployment created before this one (ties broken by name).
async fn earlier_active_restore(
    restore: &BiddingRestore,
    ctx: &RestoreContext,
    ns: &str,
) -> Result<Option<String>> {
    let api: Api<BiddingRestore> = Api::namespaced(ctx.client.clone(), ns);
    let all = api
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("list BiddingRestores", e))?;
    let order = |r: &BiddingRestore| (r.creation_timestamp().map(|t| t.0), r.name_any());
    let mine = order(restore);
    let mut ahead: Vec<&BiddingRestore> = all
        .items
        .iter()
        .filter(|other| {
            other.spec.deployment_ref == restore.spec.deployment_ref
                && other.uid() != restore.uid()
                && !is_finished(phase_of(other))
                && order(other) < mine
        })
        .collect();
    ahead.sort_by_key(|r| order(r));
    Ok(ahead.first().map(|r| r.name_any()))
}

fn component_selector(bd: &BiddingDeployment) -> String {
    let names: Vec<&str> = APP_COMPONENTS.iter().map(|c| c.as_str()).collect();
    format!(
        "app.kubernetes.io/instance={},app.kubernetes.io/component in ({})",
        bd.name_any(),
        names.join(",")
    )
}

/// App pods not yet gone plus replicas the app Deployments still ask for: zero means nothing can write any more.
async fn app_still_running(ctx: &RestoreContext, bd: &BiddingDeployment, ns: &str) -> Result<i32> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let listed = pods
        .list(&ListParams::default().labels(&component_selector(bd)))
        .await
        .map_err(|e| Error::kube("list app pods", e))?;
    let live_pods = listed
        .items
        .iter()
        .filter(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .count();
    let mut requested = 0;
    for deployment in app_deployments(ctx, bd, ns).await?.into_iter().flatten() {
        requested += deployment.1.spec.and_then(|s| s.replicas).unwrap_or(1);
    }
    Ok(i32::try_from(live_pods).unwrap_or(i32::MAX) + requested)
}

async fn app_deployments(
    ctx: &RestoreContext,
    bd: &BiddingDeployment,
    ns: &str,
) -> Result<Vec<Option<(Component, Deployment)>>> {
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    let mut found = Vec::new();
    for component in APP_COMPONENTS {
        let name = component.name(bd);
        let deployment = api
            .get_opt(&name)
            .await
            .map_err(|e| Error::kube(format!("get Deployment {name}"), e))?;
        found.push(deployment.map(|d| (component, d)));
    }
    Ok(found)
}

/// Every app Deployment back at its desired replicas, rolled out and ready. A Deployment that does not exist
/// (no migration yet) has nothing to wait for.
async fn app_ready(ctx: &RestoreContext, bd: &BiddingDeployment, ns: &str) -> Result<bool> {
    Ok(app_deployments(ctx, bd, ns)
        .await?
        .into_iter()
        .flatten()
        .all(|(component, deployment)| {
            let desired = desired_replicas(bd, component);
            let spec_replicas = deployment.spec.as_ref().and_then(|s| s.replicas);
            let status = deployment.status.unwrap_or_default();
            let seen = status.observed_generation.unwrap_or(0)
                >= deployment.metadata.generation.unwrap_or(0);
            spec_replicas == Some(desired) && seen && status.ready_replicas.unwrap_or(0) >= desired
        }))
}

async fn scale_app(
    ctx: &RestoreContext,
    bd: &BiddingDeployment,
    ns: &str,
    replicas: impl Fn(Component) -> i32,
) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    for (component, deployment) in app_deployments(ctx, bd, ns).await?.into_iter().flatten() {
        let want = replicas(component);
        if deployment.spec.as_ref().and_then(|s| s.replicas) == Some(want) {
            continue;
        }
        let name = deployment.name_any();
        let patch = json!({"spec": {"replicas": want}});
        api.patch_scale(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| Error::kube(format!("scale Deployment {name} to {want}"), e))?;
        ctx.metrics.record_write("Deployment/scale");
        info!(deployment = %name, replicas = want, "scaled for restore");
    }
    Ok(())
}

async fn job_state(ctx: &RestoreContext, restore: &BiddingRestore, ns: &str) -> Result<JobState> {
    let name = restore::job_name(restore);
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let Some(job) = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::kube(format!("get Job {name}"), e))?
    else {
        return Ok(JobState::Absent);
    };
    let status = job.status.unwrap_or_default();
    let condition = |kind: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind && c.status == "True")
            .cloned()
    };
    if condition("Complete").is_some() || status.succeeded.unwrap_or(0) > 0 {
        return Ok(JobState::Succeeded);
    }
    if let Some(failed) = condition("Failed") {
        let why = [failed.reason, failed.message]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        return Ok(JobState::Failed(if why.is_empty() {
            "the Job failed without a reason".into()
        } else {
            why
        }));
    }
    Ok(JobState::Running)
}

async fn create_job(
    ctx: &RestoreContext,
    bd: &BiddingDeployment,
    restore: &BiddingRestore,
    ns: &str,
) -> Result<()> {
    let job = restore::job(bd, restore);
    let name = restore::job_name(restore);
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match api.create(&params, &job).await {
        Ok(_) => {
            ctx.metrics.record_write("Job");
            info!(job = %name, "restore Job created");
            Ok(())
        }
        // Created by an earlier attempt whose status write was lost: the same Job, keep it.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(Error::kube(format!("create Job {name}"), e)),
    }
}

fn describe(
    phase: RestorePhase,
    facts: &RestoreFacts,
    earlier: Option<&str>,
    bd: &BiddingDeployment,
) -> Outcome {
    let (reason, message) = match phase {
        RestorePhase::Pending => (
            "WaitingForEarlierRestore",
            format!(
                "waiting for restore {} of BiddingDeployment {} to finish",
                earlier.unwrap_or("(unknown)"),
                bd.name_any()
            ),
        ),
        RestorePhase::ScalingDown => (
            "ScalingAppDown",
            format!(
                "stopping API, workers and scheduler ({} pods or replicas left)",
                facts.app_pods_running
            ),
        ),
        RestorePhase::Restoring => (
            "RestoreJobRunning",
            "the restore Job runs and checks the result against the backup manifest".into(),
        ),
        RestorePhase::ScalingUp => match &facts.job {
            JobState::Failed(why) => (
                "RestoreJobFailed",
                format!("the restore Job failed ({why}); the previous data is untouched; scaling the app back"),
            ),
            _ => (
                "ScalingAppUp",
                "restore verified; waiting for API, workers and scheduler to be ready again".into(),
            ),
        },
        RestorePhase::Succeeded => (
            "Restored",
            "backup restored and verified against its manifest; the app runs again".into(),
        ),
        RestorePhase::Failed => match &facts.job {
            JobState::Failed(why) => (
                "RestoreJobFailed",
                format!("the restore Job failed ({why}); the previous data is untouched and the app runs again"),
            ),
            _ => ("RestoreFailed", "the restore did not complete".into()),
        },
    };
    Outcome {
        phase,
        reason,
        message,
    }
}

/// Write the step into status (only when something changed) and publish an Event when the phase changed.
async fn record(
    restore: &BiddingRestore,
    ctx: &RestoreContext,
    ns: &str,
    previous: Option<RestorePhase>,
    outcome: Outcome,
) -> Result<()> {
    let old = restore.status.clone().unwrap_or_default();
    let new = next_status(restore, &old, &outcome, now());
    if new == old {
        return Ok(());
    }
    let api: Api<BiddingRestore> = Api::namespaced(ctx.client.clone(), ns);
    api.patch_status(
        &restore.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": new })),
    )
    .await
    .map_err(|e| {
        Error::kube(
            format!("update status of BiddingRestore {}", restore.name_any()),
            e,
        )
    })?;
    ctx.metrics.record_write("BiddingRestoreStatus");
    if previous != Some(outcome.phase) || old.reason.as_deref() != Some(outcome.reason) {
        let event = Event {
            type_: if outcome.phase == RestorePhase::Failed {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: outcome.reason.into(),
            note: Some(format!("{}: {}", outcome.phase.as_str(), outcome.message)),
            action: "Restore".into(),
            secondary: None,
        };
        match ctx.recorder.publish(&event, &restore.object_ref(&())).await {
            Ok(()) => ctx.metrics.record_write("Event"),
            Err(e) => warn!(error = %e, "could not publish restore event"),
        }
    }
    Ok(())
}

/// The status after one step; timestamps are kept once set.
fn next_status(
    restore: &BiddingRestore,
    old: &BiddingRestoreStatus,
    outcome: &Outcome,
    now: Time,
) -> BiddingRestoreStatus {
    let finished = is_finished(Some(outcome.phase));
    // A restore that fails before scaling anything (missing deployment) never started.
    let started = matches!(
        outcome.phase,
        RestorePhase::ScalingDown | RestorePhase::Restoring | RestorePhase::ScalingUp
    );
    let condition_status = match outcome.phase {
        RestorePhase::Succeeded => "True",
        RestorePhase::Failed => "False",
        _ => "Unknown",
    };
    let mut condition = Condition {
        type_: "Succeeded".into(),
        status: condition_status.into(),
        reason: outcome.reason.into(),
        message: outcome.message.clone(),
        observed_generation: restore.metadata.generation,
        last_transition_time: now.clone(),
    };
    if let Some(previous) = old.conditions.iter().find(|c| c.type_ == "Succeeded") {
        if previous.status == condition.status {
            condition.last_transition_time = previous.last_transition_time.clone();
        }
    }
    let job_created = matches!(
        outcome.phase,
        RestorePhase::Restoring
            | RestorePhase::ScalingUp
            | RestorePhase::Succeeded
            | RestorePhase::Failed
    ) && (old.job_name.is_some() || outcome.phase == RestorePhase::Restoring);
    BiddingRestoreStatus {
        phase: Some(outcome.phase.as_str().into()),
        conditions: vec![condition],
        reason: Some(outcome.reason.into()),
        message: Some(outcome.message.clone()),
        job_name: job_created.then(|| restore::job_name(restore)),
        start_time: old
            .start_time
            .clone()
            .or_else(|| started.then(|| now.clone())),
        completion_time: old
            .completion_time
            .clone()
            .or_else(|| finished.then_some(now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::{observed, sample};

    fn restore() -> BiddingRestore {
        serde_yaml::from_str("apiVersion: aibid.dev/v1alpha1\nkind: BiddingRestore\nmetadata: {name: monday, namespace: tenders}\nspec: {deploymentRef: bids}\n")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(seconds: i64) -> Time {
        Time(
            k8s_openapi::jiff::Timestamp::from_second(seconds)
                .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        )
    }

    #[test]
    fn a_hold_zeroes_api_workers_and_scheduler_only_and_changes_their_hash() {
        let children = crate::render::render_all(&sample(), &observed());
        for child in children {
            let mut held = child.clone();
            hold_at_zero(&mut held);
            let is_app = child.kind() == "Deployment" && APP_COMPONENTS.contains(&child.component);
            assert_eq!(held != child, is_app, "{} {}", child.kind(), child.name);
            if is_app {
                assert_eq!(held.object["spec"]["replicas"], 0, "{}", child.name);
                assert_ne!(held.applied_hash(), child.applied_hash());
            }
        }
    }

    #[test]
    fn desired_replicas_follow_the_spec_or_the_autoscaler_minimum() {
        let mut bd = sample();
        bd.spec.worker.replicas = 5;
        bd.spec.api.autoscaling = Some(crate::crd::AutoscalingSpec {
            min_replicas: 2,
            max_replicas: 6,
            target_cpu_utilization: 70,
        });
        assert_eq!(desired_replicas(&bd, Component::Api), 2);
        assert_eq!(desired_replicas(&bd, Component::Worker), 5);
        assert_eq!(desired_replicas(&bd, Component::Scheduler), 1);
    }

    #[test]
    fn status_keeps_start_time_and_stamps_completion_once() {
        let br = restore();
        let scaling = Outcome {
            phase: RestorePhase::ScalingDown,
            reason: "ScalingAppDown",
            message: "x".into(),
        };
        let first = next_status(&br, &BiddingRestoreStatus::default(), &scaling, at(10));
        assert_eq!(first.start_time, Some(at(10)));
        assert_eq!(first.completion_time, None);
        assert_eq!(first.job_name, None);
        let restoring = Outcome {
            phase: RestorePhase::Restoring,
            reason: "RestoreJobRunning",
            message: "y".into(),
        };
        let second = next_status(&br, &first, &restoring, at(20));
        assert_eq!(second.job_name.as_deref(), Some("monday-restore"));
        let done = Outcome {
            phase: RestorePhase::Succeeded,
            reason: "Restored",
            message: "z".into(),
        };
        let third = next_status(&br, &second, &done, at(30));
        assert_eq!(
            (third.start_time.clone(), third.completion_time.clone()),
            (Some(at(10)), Some(at(30)))
        );
        assert_eq!(third.conditions[0].status, "True");
        assert_eq!(third.job_name.as_deref(), Some("monday-restore"));
    }

    #[test]
    fn a_restore_of_a_missing_deployment_fails_without_a_start_time() {
        let failed = Outcome {
            phase: RestorePhase::Failed,
            reason: "DeploymentNotFound",
            message: "gone".into(),
        };
        let status = next_status(&restore(), &BiddingRestoreStatus::default(), &failed, at(5));
        assert_eq!(status.start_time, None);
        assert_eq!(status.completion_time, Some(at(5)));
        assert_eq!(status.conditions[0].status, "False");
        assert_eq!(status.job_name, None);
    }
}
