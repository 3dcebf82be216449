//! Make the cluster match the render: read the generated Secret (create it once), follow the migration Job,
//! server-side apply every changed child under one field manager, handle immutable StatefulSet volume fields,
//! then write status (only when it changed) and publish Events on condition transitions.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::capabilities::Capabilities;
use crate::crd::{BiddingDeployment, BiddingDeploymentStatus};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::quantity;
use crate::render::{
    self, migration, secrets, Child, Component, Observed, APPLIED_HASH_ANNOTATION,
};
use crate::status::{self, Migration, Observations, Workload};

/// The one field manager all applies use.
pub const FIELD_MANAGER: &str = "aibid-operator";
/// Requeue interval when nothing is wrong (status of pods is also watched through `.owns()`).
const RESYNC: Duration = Duration::from_secs(300);
const BACKOFF_BASE: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Publishes Events as this operator instance (both controllers report under one name).
pub fn event_recorder(client: &Client, identity: &str) -> Recorder {
    let reporter = Reporter {
        controller: FIELD_MANAGER.into(),
        instance: Some(identity.into()),
    };
    Recorder::new(client.clone(), reporter)
}

/// Shared state of the controller.
pub struct Context {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    pub capabilities: Capabilities,
    pub recorder: Recorder,
    /// Consecutive failures per object, for exponential backoff; reset by a success.
    failures: Mutex<HashMap<ObjectRef<BiddingDeployment>, u32>>,
}

impl Context {
    pub fn new(
        client: Client,
        metrics: Arc<Metrics>,
        capabilities: Capabilities,
        identity: &str,
    ) -> Self {
        Self {
            recorder: event_recorder(&client, identity),
            client,
            metrics,
            capabilities,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef<BiddingDeployment>, u32>> {
        // A poisoned lock only means another reconcile panicked; the counts are still usable.
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Delay before retrying `bd` after its n-th consecutive failure: 2 s, 4 s, 8 s ... capped at 5 min.
    pub fn backoff(&self, bd: &BiddingDeployment) -> Duration {
        let mut failures = self.failures();
        let count = failures.entry(ObjectRef::from(bd)).or_insert(0);
        *count = count.saturating_add(1);
        BACKOFF_BASE
            .saturating_mul(2u32.saturating_pow(count.saturating_sub(1).min(16)))
            .min(BACKOFF_MAX)
    }

    fn succeeded(&self, bd: &BiddingDeployment) {
        self.failures().remove(&ObjectRef::from(bd));
    }
}

/// Entry point for the controller: instrumented and thin; the work is in [`reconcile_inner`].
pub async fn reconcile(bd: Arc<BiddingDeployment>, ctx: Arc<Context>) -> Result<Action> {
    let started = std::time::Instant::now();
    let result = reconcile_inner(&bd, &ctx).await;
    ctx.metrics
        .duration
        .observe(started.elapsed().as_secs_f64());
    let outcome = if result.is_ok() { "success" } else { "error" };
    ctx.metrics
        .reconciliations
        .get_or_create(&crate::metrics::OutcomeLabels { outcome })
        .inc();
    if result.is_ok() {
        ctx.succeeded(&bd);
    }
    result
}

pub fn error_policy(bd: Arc<BiddingDeployment>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics
        .errors
        .get_or_create(&crate::metrics::ErrorLabels {
            error: error.metric_label(),
        })
        .inc();
    let delay = ctx.backoff(&bd);
    warn!(name = %bd.name_any(), namespace = ?bd.namespace(), error = %error, retry_in_s = delay.as_secs(), "reconcile failed");
    Action::requeue(delay)
}

async fn reconcile_inner(bd: &BiddingDeployment, ctx: &Context) -> Result<Action> {
    // Being deleted: garbage collection removes owned children; retained volumes carry no ownerReference.
    if bd.meta().deletion_timestamp.is_some() {
        crate::backup_status::forget(&ctx.metrics, bd);
        return Ok(Action::await_change());
    }
    let ns = bd
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(bd.name_any()))?;
    if bd.spec.database.managed.is_some() && bd.spec.database.external.is_some() {
        return Err(Error::InvalidSpec(
            "set database.managed or database.external, not both".into(),
        ));
    }
    let credentials = credentials(bd, ctx, &ns).await?;
    let mut problems = Vec::new();
    let secret_digests = referenced_secret_digests(bd, ctx, &ns, &mut problems).await?;
    let mut observed = Observed {
        credentials,
        migrated_version: None,
        secret_digests,
    };
    // The migration Job is named from its content (Jobs are immutable), so its name needs the settings.
    let job_name = migration::job(bd, &render::settings::settings(bd, &observed))
        .metadata
        .name
        .unwrap_or_default();
    let (migrated_version, migration) = migration_state(bd, ctx, &ns, &job_name).await?;
    observed.migrated_version = migrated_version.clone();

    let mut seen = Observations {
        migrated_version,
        migration,
        api: None,
        worker: None,
        postgres: bd.spec.database.managed().map(|_| None),
        redis: bd.spec.redis.managed().map(|_| None),
        skipped_kinds: vec![],
        problems,
    };
    // One failed apply does not stop the others nor the status: failures become a Degraded condition.
    let mut failed = Vec::new();
    let mut rendered = BTreeSet::new();
    // A running restore holds API, workers and scheduler at zero replicas until it scales them back.
    let held = crate::restore_controller::app_held(&ctx.client, bd, &ns).await?;
    for mut child in render::render_all(bd, &observed) {
        if held {
            crate::restore_controller::hold_at_zero(&mut child);
        }
        if !ctx.capabilities.serves(child.api_version(), child.kind()) {
            let label = format!("{} {}", child.api_version(), child.kind());
            if !seen.skipped_kinds.contains(&label) {
                seen.skipped_kinds.push(label);
            }
            continue;
        }
        rendered.insert((child.kind().to_string(), child.name.clone()));
        if child.kind() == "StatefulSet" && !ctx.capabilities.pvc_retention_policy() {
            strip_retention_policy(&mut child, &mut seen);
        }
        match apply(ctx, &ns, &mut child, &mut seen).await {
            Ok(live) => observe(&child, live.as_ref(), &mut seen),
            Err(error) => {
                seen.problems.push((
                    "ApplyFailed".into(),
                    format!("{} {}: {error}", child.kind(), child.name),
                ));
                failed.push(error);
            }
        }
    }
    if let Err(error) = prune(bd, ctx, &ns, &rendered).await {
        seen.problems
            .push(("PruneFailed".into(), error.to_string()));
        failed.push(error);
    }
    let backups = crate::backup_status::observe(&ctx.client, bd, &ns).await?;
    crate::backup_status::export(&ctx.metrics, bd, backups.as_ref());
    update_status(bd, ctx, &ns, &seen, backups.as_ref()).await?;
    match failed.into_iter().next() {
        // The first failure drives the error metric and the backoff; all of them are in the status.
        Some(first) => Err(first),
        None => Ok(Action::requeue(RESYNC)),
    }
}

/// The user's Secret keys referenced by the spec (LLM key, JWT/encryption/admin refs, external URLs).
pub fn referenced_secret_keys(bd: &BiddingDeployment) -> Vec<&crate::crd::SecretKeyRef> {
    let spec = &bd.spec;
    [
        spec.llm.api_key_secret_ref.as_ref(),
        spec.security.jwt_secret_ref.as_ref(),
        spec.security.encryption_key_secret_ref.as_ref(),
        spec.security.admin_password_secret_ref.as_ref(),
        spec.database.external.as_ref().map(|e| &e.url_secret_ref),
        spec.redis.external.as_ref().map(|e| &e.url_secret_ref),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// sha256 of each referenced Secret key's value, so a rotated Secret rolls the pods that read it. A missing Secret
/// or key becomes a `SecretMissing` problem naming both; its pods are still rendered (they wait for the Secret).
async fn referenced_secret_digests(
    bd: &BiddingDeployment,
    ctx: &Context,
    ns: &str,
    problems: &mut Vec<(String, String)>,
) -> Result<BTreeMap<(String, String), String>> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let mut secrets: BTreeMap<String, Option<Secret>> = BTreeMap::new();
    let mut digests = BTreeMap::new();
    for reference in referenced_secret_keys(bd) {
        if !secrets.contains_key(&reference.name) {
            let secret = api
                .get_opt(&reference.name)
                .await
                .map_err(|e| Error::kube(format!("get Secret {}", reference.name), e))?;
            secrets.insert(reference.name.clone(), secret);
        }
        let value = secrets
            .get(&reference.name)
            .and_then(Option::as_ref)
            .and_then(|secret| secret.data.as_ref()?.get(&reference.key));
        match value {
            Some(bytes) => {
                digests.insert(
                    (reference.name.clone(), reference.key.clone()),
                    hex::encode(Sha256::digest(&bytes.0)),
                );
            }
            None => problems.push((
                "SecretMissing".into(),
                format!(
                    "Secret {ns}/{} has no key {} (referenced by the spec)",
                    reference.name, reference.key
                ),
            )),
        }
    }
    Ok(digests)
}

/// Read the generated Secret, or create it (once) with fresh values when absent. Never updated afterwards.
async fn credentials(
    bd: &BiddingDeployment,
    ctx: &Context,
    ns: &str,
) -> Result<render::Credentials> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let name = render::generated_secret_name(bd);
    let existing = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::kube(format!("get Secret {name}"), e))?;
    let secret = match existing {
        Some(secret) => adopt_generated_secret(bd, ctx, &api, secret).await?,
        None => {
            let fresh = secrets::generated_secret(bd, &secrets::generate_credentials());
            match api
                .create(
                    &PostParams {
                        field_manager: Some(FIELD_MANAGER.into()),
                        ..Default::default()
                    },
                    &fresh,
                )
                .await
            {
                Ok(created) => {
                    ctx.metrics.record_write("Secret");
                    info!(secret = %name, "generated credentials");
                    created
                }
                // Someone (a previous leader) created it meanwhile: use theirs.
                Err(kube::Error::Api(status)) if status.code == 409 => api
                    .get(&name)
                    .await
                    .map_err(|e| Error::kube(format!("get Secret {name}"), e))?,
                Err(e) => return Err(Error::kube(format!("create Secret {name}"), e)),
            }
        }
    };
    secrets::read_credentials(&secret)
        .map_err(|problem| Error::GeneratedSecretDamaged { name, problem })
}

/// Give an existing generated Secret the ownerReferences the spec asks for: none while it must outlive the CR (a
/// re-created CR adopts the retained one), a controller reference to this CR otherwise. Its data is never touched.
async fn adopt_generated_secret(
    bd: &BiddingDeployment,
    ctx: &Context,
    api: &Api<Secret>,
    secret: Secret,
) -> Result<Secret> {
    let desired = secrets::generated_secret_meta(bd).owner_references;
    let current = secret
        .metadata
        .owner_references
        .clone()
        .filter(|owners| !owners.is_empty());
    if desired == current {
        return Ok(secret);
    }
    let name = secret.name_any();
    // A JSON merge patch replaces the whole list; `null` removes it.
    let patch = json!({"metadata": {"ownerReferences": desired}});
    let adopted = api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::kube(format!("adopt Secret {name}"), e))?;
    ctx.metrics.record_write("Secret");
    info!(secret = %name, "generated credentials adopted");
    Ok(adopted)
}

/// The version the app pods may run, and where the migration to `spec.version` stands.
async fn migration_state(
    bd: &BiddingDeployment,
    ctx: &Context,
    ns: &str,
    job_name: &str,
) -> Result<(Option<String>, Migration)> {
    let migrated = bd.status.as_ref().and_then(|s| s.version.clone());
    if migrated.as_deref() == Some(bd.spec.version.as_str()) {
        return Ok((migrated, Migration::Done));
    }
    let name = job_name.to_string();
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let job = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::kube(format!("get Job {name}"), e))?;
    let status = job.and_then(|job| job.status).unwrap_or_default();
    let condition = |kind: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind && c.status == "True")
            .cloned()
    };
    if status.succeeded.unwrap_or(0) > 0 || condition("Complete").is_some() {
        return Ok((Some(bd.spec.version.clone()), Migration::Done));
    }
    if let Some(failed) = condition("Failed") {
        let message = failed
            .message
            .or(failed.reason)
            .unwrap_or_else(|| "no message".into());
        return Ok((migrated, Migration::Failed { job: name, message }));
    }
    Ok((migrated, Migration::Running { job: name }))
}

/// Servers before 1.27 reject the field under server-side apply; without it volumes are retained (the default).
fn strip_retention_policy(child: &mut Child, seen: &mut Observations) {
    let deletes = child
        .object
        .pointer("/spec/persistentVolumeClaimRetentionPolicy/whenDeleted")
        == Some(&json!("Delete"));
    if let Some(spec) = child.object.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("persistentVolumeClaimRetentionPolicy");
    }
    if deletes {
        let label = "apps/v1 StatefulSet.spec.persistentVolumeClaimRetentionPolicy".to_string();
        if !seen.skipped_kinds.contains(&label) {
            seen.skipped_kinds.push(label);
        }
    }
}

fn live_hash(live: &DynamicObject) -> Option<&str> {
    live.metadata
        .annotations
        .as_ref()?
        .get(APPLIED_HASH_ANNOTATION)
        .map(String::as_str)
}

/// Apply one child unless its live copy already carries the same content hash. Returns the live object.
async fn apply(
    ctx: &Context,
    ns: &str,
    child: &mut Child,
    seen: &mut Observations,
) -> Result<Option<DynamicObject>> {
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &child.resource);
    let (kind, name) = (child.resource.kind.clone(), child.name.clone());
    let context = move |verb: &str| format!("{verb} {kind} {name}");
    let live = api
        .get_opt(&child.name)
        .await
        .map_err(|e| Error::kube(context("get"), e))?;
    if let Some(live) = &live {
        if child.kind() == "StatefulSet" {
            keep_immutable_claims(ctx, ns, child, live, seen).await?;
        }
        if child.kind() == "PersistentVolumeClaim" && refuses_shrink(child, live, seen) {
            return Ok(Some(live.clone()));
        }
        if live_hash(live) == child.applied_hash() {
            return Ok(Some(live.clone()));
        }
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match api
        .patch(&child.name, &params, &Patch::Apply(&child.object))
        .await
    {
        Ok(applied) => {
            ctx.metrics.record_write(child.kind());
            Ok(Some(applied))
        }
        // A PVC whose class cannot expand: say so in a condition instead of failing the whole reconcile.
        Err(kube::Error::Api(status))
            if child.kind() == "PersistentVolumeClaim" && status.code == 422 =>
        {
            seen.problems.push((
                "StorageResizeUnsupported".into(),
                format!("PVC {}: {}", child.name, status.message),
            ));
            Ok(live)
        }
        Err(e) => Err(Error::kube(context("apply"), e)),
    }
}

fn storage_of(object: &Value) -> Option<String> {
    object
        .pointer("/spec/resources/requests/storage")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Shrinking a PVC is impossible; refuse before the API server does, with a condition.
fn refuses_shrink(child: &Child, live: &DynamicObject, seen: &mut Observations) -> bool {
    let desired = storage_of(&child.object);
    let current = storage_of(&live.data);
    let smaller = match (
        desired.as_deref().and_then(quantity::to_units),
        current.as_deref().and_then(quantity::to_units),
    ) {
        (Some(want), Some(have)) => want < have,
        _ => false,
    };
    if smaller {
        seen.problems.push((
            "StorageShrinkRefused".into(),
            format!(
                "PVC {} is {} and cannot shrink to {}",
                child.name,
                current.unwrap_or_default(),
                desired.unwrap_or_default()
            ),
        ));
    }
    smaller
}

/// volumeClaimTemplates cannot change on a live StatefulSet: keep the live ones in the applied object and resize
/// the existing PVCs directly when their StorageClass allows expansion; otherwise report why not.
async fn keep_immutable_claims(
    ctx: &Context,
    ns: &str,
    child: &mut Child,
    live: &DynamicObject,
    seen: &mut Observations,
) -> Result<()> {
    let Some(live_templates) = live.data.pointer("/spec/volumeClaimTemplates").cloned() else {
        return Ok(());
    };
    let desired_templates = child
        .object
        .pointer("/spec/volumeClaimTemplates")
        .cloned()
        .unwrap_or(Value::Null);
    if same_claims(&desired_templates, &live_templates) {
        return Ok(());
    }
    if let Some(spec) = child.object.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("volumeClaimTemplates".into(), live_templates.clone());
    }
    let replicas = live
        .data
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    for (desired, current) in desired_templates
        .as_array()
        .into_iter()
        .flatten()
        .zip(live_templates.as_array().into_iter().flatten())
    {
        let claim = desired
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or(render::postgres::DATA_CLAIM);
        if desired.pointer("/spec/storageClassName") != current.pointer("/spec/storageClassName") {
            seen.problems.push((
                "StorageClassImmutable".into(),
                format!(
                    "StatefulSet {}: storageClassName of {claim} cannot change",
                    child.name
                ),
            ));
            continue;
        }
        let (Some(want), Some(have)) = (storage_of(desired), storage_of(current)) else {
            continue;
        };
        match (quantity::to_units(&want), quantity::to_units(&have)) {
            (Some(w), Some(h)) if w < h => {
                seen.problems.push((
                    "StorageShrinkRefused".into(),
                    format!(
                        "StatefulSet {}: {claim} is {have}, cannot shrink to {want}",
                        child.name
                    ),
                ));
            }
            (Some(w), Some(h)) if w > h => {
                for ordinal in 0..replicas {
                    let pvc = format!("{claim}-{}-{ordinal}", child.name);
                    if let Err(error) = resize_claim(ctx, ns, &pvc, &want, seen).await {
                        seen.problems
                            .push(("StorageResizeFailed".into(), error.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn same_claims(desired: &Value, live: &Value) -> bool {
    let key = |templates: &Value| -> Vec<(Option<Value>, Option<Value>, Option<Value>)> {
        templates
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t.pointer("/metadata/name").cloned(),
                    t.pointer("/spec/storageClassName").cloned(),
                    t.pointer("/spec/resources/requests/storage").cloned(),
                )
            })
            .collect()
    };
    key(desired) == key(live)
}

async fn resize_claim(
    ctx: &Context,
    ns: &str,
    pvc: &str,
    size: &str,
    seen: &mut Observations,
) -> Result<()> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let Some(claim) = claims
        .get_opt(pvc)
        .await
        .map_err(|e| Error::kube(format!("get PVC {pvc}"), e))?
    else {
        return Ok(());
    };
    if storage_of(&serde_json::to_value(&claim).unwrap_or_default()).as_deref() == Some(size) {
        return Ok(());
    }
    let class = claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone());
    let expandable = match &class {
        Some(class) => Api::<StorageClass>::all(ctx.client.clone())
            .get_opt(class)
            .await
            .map_err(|e| Error::kube(format!("get StorageClass {class}"), e))?
            .and_then(|sc| sc.allow_volume_expansion)
            .unwrap_or(false),
        None => false,
    };
    if !expandable {
        seen.problems.push((
            "StorageResizeUnsupported".into(),
            format!("PVC {pvc}: StorageClass {} does not allow volume expansion; resize by hand or migrate", class.unwrap_or_else(|| "(none)".into())),
        ));
        return Ok(());
    }
    let patch = json!({"spec": {"resources": {"requests": {"storage": size}}}});
    claims
        .patch(pvc, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::kube(format!("resize PVC {pvc}"), e))?;
    ctx.metrics.record_write("PersistentVolumeClaim");
    Ok(())
}

fn workload(live: &DynamicObject) -> Workload {
    let int = |path: &str| live.data.pointer(path).and_then(Value::as_i64).unwrap_or(0) as i32;
    let generation = live.metadata.generation.unwrap_or(0);
    let observed = live
        .data
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let desired = int("/spec/replicas");
    let updated = observed >= generation && int("/status/updatedReplicas") >= desired;
    Workload {
        desired,
        ready: int("/status/readyReplicas"),
        updated,
    }
}

fn observe(child: &Child, live: Option<&DynamicObject>, seen: &mut Observations) {
    let Some(live) = live else { return };
    match (child.kind(), child.component) {
        ("Deployment", Component::Api) => seen.api = Some(workload(live)),
        ("Deployment", Component::Worker) => seen.worker = Some(workload(live)),
        ("StatefulSet", Component::Postgres) => seen.postgres = Some(Some(workload(live))),
        ("StatefulSet", Component::Redis) => seen.redis = Some(Some(workload(live))),
        _ => {}
    }
}

async fn update_status(
    bd: &BiddingDeployment,
    ctx: &Context,
    ns: &str,
    seen: &Observations,
    backups: Option<&crate::backup_status::BackupSummary>,
) -> Result<()> {
    let old = bd.status.clone().unwrap_or_default();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut new = status::compute(bd, seen, now.clone());
    crate::backup_status::apply(bd, &mut new, backups, &now);
    if new == old {
        return Ok(());
    }
    let api: Api<BiddingDeployment> = Api::namespaced(ctx.client.clone(), ns);
    let (old_value, new_value) = (
        serde_json::to_value(&old).map_err(|e| Error::Serialization(e.to_string()))?,
        serde_json::to_value(&new).map_err(|e| Error::Serialization(e.to_string()))?,
    );
    let patch = json!({ "status": merge_patch(&old_value, &new_value) });
    api.patch_status(
        &bd.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| {
        Error::kube(
            format!("update status of BiddingDeployment {}", bd.name_any()),
            e,
        )
    })?;
    ctx.metrics.record_write("BiddingDeploymentStatus");
    publish_transitions(bd, ctx, &old, &new).await;
    Ok(())
}

/// JSON merge patch (RFC 7386) turning `old` into `new`: changed values, and `null` for every field that `new`
/// no longer has, so a cleared status field disappears instead of lingering (and being rewritten forever).
pub fn merge_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = serde_json::Map::new();
            for key in old.keys().filter(|key| !new.contains_key(*key)) {
                patch.insert(key.clone(), Value::Null);
            }
            for (key, value) in new {
                match old.get(key) {
                    Some(previous) if previous == value => {}
                    Some(previous @ Value::Object(_)) if value.is_object() => {
                        patch.insert(key.clone(), merge_patch(previous, value));
                    }
                    _ => {
                        patch.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

/// Kinds the operator renders and may delete again once they are no longer rendered. Never PVCs (user data) and
/// never Secrets: the generated one must survive, the connection one is always rendered, and leaving Secrets out
/// keeps the operator from needing to list them.
pub const PRUNABLE: [(&str, &str); 12] = [
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "Ingress"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
];

/// Whether a live object is a child of `bd` that the current render no longer contains and may be deleted:
/// controlled by this CR (uid), labelled as ours, not rendered, not the generated Secret, and for Jobs only
/// migration Jobs that did not succeed (finished ones stay until their TTL for inspection).
pub fn is_stale_child(
    bd: &BiddingDeployment,
    kind: &str,
    live: &DynamicObject,
    rendered: &BTreeSet<(String, String)>,
) -> bool {
    let name = live.name_any();
    let controlled = live
        .owner_references()
        .iter()
        .any(|o| o.controller == Some(true) && Some(&o.uid) == bd.metadata.uid.as_ref());
    let labels = live.labels();
    let ours = labels
        .get("app.kubernetes.io/managed-by")
        .map(String::as_str)
        == Some(render::labels::MANAGED_BY);
    let protected = match kind {
        "Secret" => name == render::generated_secret_name(bd),
        "Job" => {
            labels
                .get("app.kubernetes.io/component")
                .map(String::as_str)
                != Some(Component::Migration.as_str())
                || live
                    .data
                    .pointer("/status/succeeded")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    > 0
        }
        _ => false,
    };
    controlled && ours && !protected && !rendered.contains(&(kind.to_string(), name))
}

/// Delete children of `bd` that are no longer rendered (autoscaling off, monitor disabled, ingress removed,
/// managed database switched to external...). Kinds the server does not serve are skipped.
async fn prune(
    bd: &BiddingDeployment,
    ctx: &Context,
    ns: &str,
    rendered: &BTreeSet<(String, String)>,
) -> Result<()> {
    let selector = format!(
        "{},app.kubernetes.io/instance={}",
        child_selector(),
        bd.name_any()
    );
    for (api_version, kind) in PRUNABLE {
        if !ctx.capabilities.serves(api_version, kind) {
            continue;
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let resource = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            group, version, kind,
        ));
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &resource);
        let live = match api
            .list(&kube::api::ListParams::default().labels(&selector))
            .await
        {
            Ok(list) => list.items,
            // The kind stopped being served since discovery (a CRD removed): nothing of it to prune.
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(e) => return Err(Error::kube(format!("list {kind}"), e)),
        };
        for object in live
            .iter()
            .filter(|o| is_stale_child(bd, kind, o, rendered))
        {
            let name = object.name_any();
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {
                    ctx.metrics.record_write(kind);
                    info!(kind, name = %name, "pruned a child that is no longer rendered");
                }
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(Error::kube(format!("delete {kind} {name}"), e)),
            }
        }
    }
    Ok(())
}

/// One Event per condition that changed; failures to publish are logged, never fatal.
async fn publish_transitions(
    bd: &BiddingDeployment,
    ctx: &Context,
    old: &BiddingDeploymentStatus,
    new: &BiddingDeploymentStatus,
) {
    let reference = bd.object_ref(&());
    for condition in status::transitions(old, new) {
        let bad = (condition.type_ == "Degraded") == (condition.status == "True");
        let event = Event {
            type_: if bad {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: condition.reason.clone(),
            note: Some(format!(
                "{} is {}: {}",
                condition.type_, condition.status, condition.message
            )),
            action: format!("{}Changed", condition.type_),
            secondary: None,
        };
        match ctx.recorder.publish(&event, &reference).await {
            Ok(()) => ctx.metrics.record_write("Event"),
            Err(e) => warn!(error = %e, "could not publish event"),
        }
    }
}

/// Labels on BiddingDeployment children, for label-filtered `.owns()` watches.
pub fn child_selector() -> String {
    format!(
        "app.kubernetes.io/managed-by={}",
        render::labels::MANAGED_BY
    )
}

/// Only for tests: the `BTreeMap` of applied hashes keyed by kind/name, to compare renders.
pub fn applied_hashes(children: &[Child]) -> BTreeMap<String, String> {
    children
        .iter()
        .map(|c| {
            (
                format!("{}/{}", c.kind(), c.name),
                c.applied_hash().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_skip_compares_the_rendered_annotation() {
        let bd = crate::render::testing::sample();
        let children = render::render_all(&bd, &crate::render::testing::observed());
        let child = &children[1];
        let live: DynamicObject =
            serde_json::from_value(child.object.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(live_hash(&live), child.applied_hash());
        assert!(child.applied_hash().is_some());
    }

    #[test]
    fn a_cleared_status_field_is_nulled_and_an_unchanged_one_is_not_sent() {
        let old = json!({"endpoints": {"api": "http://a", "monitor": "http://m"}, "version": "1"});
        let new = json!({"endpoints": {"api": "http://a"}, "version": "1"});
        assert_eq!(
            merge_patch(&old, &new),
            json!({"endpoints": {"monitor": null}})
        );
        assert_eq!(merge_patch(&new, &new), json!({}));
    }

    #[test]
    fn only_unrendered_children_controlled_by_this_cr_are_stale() {
        let bd = crate::render::testing::sample();
        let children = render::render_all(&bd, &crate::render::testing::observed());
        let live = |kind: &str, name: &str| -> DynamicObject {
            serde_json::from_value(
                children
                    .iter()
                    .find(|c| c.kind() == kind && c.name == name)
                    .unwrap_or_else(|| panic!("{kind} {name}"))
                    .object
                    .clone(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let mut rendered: BTreeSet<(String, String)> = children
            .iter()
            .map(|c| (c.kind().to_string(), c.name.clone()))
            .collect();
        let monitor = live("Deployment", "bids-monitor");
        assert!(!is_stale_child(&bd, "Deployment", &monitor, &rendered));
        rendered.remove(&("Deployment".into(), "bids-monitor".into()));
        assert!(is_stale_child(&bd, "Deployment", &monitor, &rendered));
        let mut foreign = monitor.clone();
        foreign.metadata.owner_references = None;
        assert!(
            !is_stale_child(&bd, "Deployment", &foreign, &rendered),
            "not ours"
        );
        let mut generated: DynamicObject = serde_json::from_value(
            serde_json::to_value(secrets::generated_secret(
                &bd,
                &render::Credentials::placeholders(),
            ))
            .unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        generated.metadata.owner_references = monitor.metadata.owner_references.clone();
        assert!(
            !is_stale_child(&bd, "Secret", &generated, &rendered),
            "the generated Secret is never pruned"
        );
        // Every kind render_all can produce is prunable, except the user-data PVCs.
        let mut everything = bd.clone();
        everything.spec.api.autoscaling = Some(crate::crd::AutoscalingSpec {
            min_replicas: 2,
            max_replicas: 4,
            target_cpu_utilization: 70,
        });
        everything.spec.backup =
            Some(serde_json::from_value(json!({})).unwrap_or_else(|e| panic!("{e}")));
        everything.spec.monitoring =
            Some(serde_json::from_value(json!({})).unwrap_or_else(|e| panic!("{e}")));
        for child in render::render_all(&everything, &crate::render::testing::observed()) {
            let known = PRUNABLE
                .iter()
                .any(|(v, k)| *v == child.api_version() && *k == child.kind());
            assert!(
                known || matches!(child.kind(), "PersistentVolumeClaim" | "Secret"),
                "{} {} could never be pruned",
                child.api_version(),
                child.kind()
            );
        }
    }

    #[test]
    fn claim_comparison_sees_size_and_class_changes() {
        let a = json!([{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "10Gi"}}}}]);
        let b = json!([{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "20Gi"}}}}]);
        assert!(same_claims(&a, &a.clone()));
        assert!(!same_claims(&a, &b));
    }
}
