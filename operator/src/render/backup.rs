//! Backups (guide 7.1-7.2): CronJobs running `operator/scripts/backup.sh` for the database (daily 02:00), the
//! uploads and outputs (daily 03:00) and both (weekly, Sunday 04:00) onto the backup PVC, an optional weekly verify
//! that restores the newest dump into a scratch database, and reading results back from finished Jobs.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec,
    ResourceRequirements, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use super::labels::{self, Component};
use super::postgres::{self, empty_dir, mount, plain_env, secret_env};
use super::{child, pod, Child};
use crate::crd::{BackupSpec, BiddingDeployment};

/// The scripts the backup and restore Jobs run, mounted from one ConfigMap (they source each other by directory).
pub const SCRIPTS: [(&str, &str); 5] = [
    ("backup-lib.sh", include_str!("../../scripts/backup-lib.sh")),
    ("backup.sh", include_str!("../../scripts/backup.sh")),
    ("retention.sh", include_str!("../../scripts/retention.sh")),
    ("verify.sh", include_str!("../../scripts/verify.sh")),
    ("restore.sh", include_str!("../../scripts/restore.sh")),
];
pub const SCRIPTS_MOUNT: &str = "/scripts";
pub const BACKUP_MOUNT: &str = "/backups";
/// Label on backup CronJobs and their Jobs naming the kind (`db`, `files`, `full`, `verify`).
pub const KIND_LABEL: &str = "aibid.dev/backup-kind";
/// Directories of the files volume that are archived; configuration lives in the BiddingDeployment itself.
const FILES_PATHS: &str = "/data/uploads /data/outputs";
const DEFAULT_POSTGRES_IMAGE: &str = "postgres:15";
/// A run that starts more than an hour late is skipped: it would overlap the next kind's run.
const STARTING_DEADLINE_SECONDS: i64 = 3600;
/// Finished Jobs stay a week, long enough for the weekly kinds' last result to be read back.
pub(crate) const TTL_AFTER_FINISHED_SECONDS: i32 = 7 * 24 * 3600;
const VERIFY_SCHEDULE: &str = "0 6 * * 0";

/// What one CronJob backs up; `as_str` is the backup.sh argument, the backup-name prefix and the metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackupKind {
    Database,
    Files,
    Full,
}

impl BackupKind {
    pub const ALL: [BackupKind; 3] = [Self::Database, Self::Files, Self::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Database => "db",
            Self::Files => "files",
            Self::Full => "full",
        }
    }

    pub fn from_label(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    fn schedule(self, spec: &BackupSpec) -> &str {
        match self {
            Self::Database => &spec.database_schedule,
            Self::Files => &spec.files_schedule,
            Self::Full => &spec.full_schedule,
        }
    }

    /// Full backups are kept as long as database dumps (30 days by default: four or five weekly copies).
    fn keep_days(self, spec: &BackupSpec) -> i32 {
        match self {
            Self::Database | Self::Full => spec.database_keep_days,
            Self::Files => spec.files_keep_days,
        }
    }

    fn active_deadline_seconds(self) -> i64 {
        match self {
            Self::Database | Self::Files => 4 * 3600,
            Self::Full => 8 * 3600,
        }
    }

    /// How old the newest success may get before the backup counts as late (the BackupMissing alert's limits).
    pub fn allowed_age_seconds(self) -> i64 {
        match self {
            Self::Database | Self::Files => 26 * 3600,
            Self::Full => 8 * 24 * 3600,
        }
    }

    fn reads_database(self) -> bool {
        matches!(self, Self::Database | Self::Full)
    }

    fn reads_files(self) -> bool {
        matches!(self, Self::Files | Self::Full)
    }
}

pub fn claim_name(bd: &BiddingDeployment) -> String {
    format!("{}-backups", bd.name_any())
}

pub fn scripts_name(bd: &BiddingDeployment) -> String {
    format!("{}-backup-scripts", bd.name_any())
}

pub fn cron_job_name(bd: &BiddingDeployment, kind: &str) -> String {
    format!("{}-backup-{kind}", bd.name_any())
}

/// Every backup object of `bd`, or none when `spec.backup` is absent.
pub fn children(bd: &BiddingDeployment) -> Vec<Child> {
    let Some(spec) = &bd.spec.backup else {
        return Vec::new();
    };
    let mut children = vec![
        child(Component::Backup, &claim(bd, spec)),
        child(Component::Backup, &scripts_config_map(bd)),
    ];
    children.extend(
        BackupKind::ALL
            .iter()
            .map(|kind| child(Component::Backup, &cron_job(bd, spec, *kind))),
    );
    if bd.spec.database.managed().is_some() {
        children.push(child(Component::Backup, &verify_cron_job(bd, spec)));
    }
    children
}

/// The backup volume; like the database volume it outlives the CR unless `destination.retainOnDelete: false`.
pub fn claim(bd: &BiddingDeployment, spec: &BackupSpec) -> PersistentVolumeClaim {
    let volume = &spec.destination;
    let labels = labels::labels(bd, Component::Backup, None);
    let metadata = if volume.retain_on_delete {
        labels::retained_meta(bd, claim_name(bd), labels)
    } else {
        labels::owned_meta(bd, claim_name(bd), labels)
    };
    PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: volume.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(volume.size.clone()),
                )])),
                limits: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn scripts_config_map(bd: &BiddingDeployment) -> ConfigMap {
    ConfigMap {
        metadata: labels::owned_meta(
            bd,
            scripts_name(bd),
            labels::labels(bd, Component::Backup, None),
        ),
        data: Some(
            SCRIPTS
                .iter()
                .map(|(name, text)| (name.to_string(), text.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

pub fn cron_job(bd: &BiddingDeployment, spec: &BackupSpec, kind: BackupKind) -> CronJob {
    let mut env = vec![
        plain_env("HOME", "/tmp"),
        plain_env("BACKUP_DIR", BACKUP_MOUNT),
        plain_env("RETAIN_DAYS", &kind.keep_days(spec).to_string()),
    ];
    if kind.reads_database() {
        env.extend(database_env(bd));
    }
    if kind.reads_files() {
        env.push(plain_env("FILES_PATHS", FILES_PATHS));
    }
    let job = ScriptJob {
        kind: kind.as_str(),
        args: vec![format!("{SCRIPTS_MOUNT}/backup.sh"), kind.as_str().into()],
        env,
        files: kind.reads_files().then_some(true),
        active_deadline_seconds: kind.active_deadline_seconds(),
    };
    scheduled(bd, spec, kind.schedule(spec), job)
}

/// Weekly proof that the newest dump restores: verify.sh into a scratch database on the managed server.
pub fn verify_cron_job(bd: &BiddingDeployment, spec: &BackupSpec) -> CronJob {
    let mut env = vec![
        plain_env("HOME", "/tmp"),
        plain_env("BACKUP_DIR", BACKUP_MOUNT),
        plain_env("VERIFY_DATABASE", "aibid_verify"),
    ];
    env.extend(database_env(bd));
    let job = ScriptJob {
        kind: "verify",
        args: vec![format!("{SCRIPTS_MOUNT}/verify.sh"), "latest".into()],
        env,
        files: None,
        active_deadline_seconds: 4 * 3600,
    };
    scheduled(bd, spec, VERIFY_SCHEDULE, job)
}

/// libpq settings of the database the scripts dump: the managed server, or the external URL from its Secret.
pub(crate) fn database_env(bd: &BiddingDeployment) -> Vec<EnvVar> {
    match &bd.spec.database.external {
        Some(external) => {
            vec![secret_env(
                "DATABASE_URL",
                external.url_secret_ref.name.clone(),
                &external.url_secret_ref.key,
            )]
        }
        None => vec![
            plain_env("PGHOST", &Component::Postgres.name(bd)),
            plain_env("PGPORT", &postgres::PORT.to_string()),
            plain_env("PGUSER", postgres::USER),
            plain_env("PGDATABASE", postgres::DATABASE),
            secret_env(
                "PGPASSWORD",
                super::generated_secret_name(bd),
                "postgres-password",
            ),
        ],
    }
}

pub(crate) struct ScriptJob {
    /// Value of [`KIND_LABEL`] and the container name.
    pub kind: &'static str,
    pub args: Vec<String>,
    pub env: Vec<EnvVar>,
    /// Mount the files volume: `Some(true)` read-only, `Some(false)` writable.
    pub files: Option<bool>,
    pub active_deadline_seconds: i64,
}

fn scheduled(bd: &BiddingDeployment, spec: &BackupSpec, schedule: &str, job: ScriptJob) -> CronJob {
    let mut labels = labels::labels(bd, Component::Backup, None);
    labels.insert(KIND_LABEL.into(), job.kind.into());
    CronJob {
        metadata: labels::owned_meta(bd, cron_job_name(bd, job.kind), labels.clone()),
        spec: Some(CronJobSpec {
            schedule: schedule.into(),
            time_zone: Some(spec.time_zone.clone()),
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(STARTING_DEADLINE_SECONDS),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..Default::default()
                }),
                // One retry: every attempt starts from scratch and a failed one leaves nothing behind.
                spec: Some(script_job_spec(bd, job, labels, 1)),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Job running one of the scripts with the backup volume (and the files volume when it needs it) mounted.
pub(crate) fn script_job_spec(
    bd: &BiddingDeployment,
    job: ScriptJob,
    labels: BTreeMap<String, String>,
    backoff_limit: i32,
) -> JobSpec {
    let image = bd
        .spec
        .database
        .managed()
        .map_or_else(|| DEFAULT_POSTGRES_IMAGE.to_string(), |db| db.image);
    let mut volumes = vec![
        Volume {
            name: "scripts".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: scripts_name(bd),
                default_mode: Some(0o555),
                ..Default::default()
            }),
            ..Default::default()
        },
        claim_volume("backups", claim_name(bd), false),
        empty_dir("tmp"),
    ];
    let mut mounts = vec![
        mount("scripts", SCRIPTS_MOUNT),
        mount("backups", BACKUP_MOUNT),
        mount("tmp", "/tmp"),
    ];
    if let Some(read_only) = job.files {
        volumes.push(claim_volume(
            "files",
            super::storage::files_claim_name(bd),
            read_only,
        ));
        mounts.push(VolumeMount {
            read_only: read_only.then_some(true),
            ..mount("files", super::settings::DATA_MOUNT)
        });
    }
    let container = Container {
        name: job.kind.into(),
        image: Some(image),
        command: Some(vec!["bash".into()]),
        args: Some(job.args),
        env: Some(job.env),
        volume_mounts: Some(mounts),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), Quantity("100m".into())),
                ("memory".to_string(), Quantity("256Mi".into())),
            ])),
            limits: Some(BTreeMap::from([(
                "memory".to_string(),
                Quantity("1Gi".into()),
            )])),
            ..Default::default()
        }),
        security_context: Some(pod::restricted_container_security()),
        ..Default::default()
    };
    JobSpec {
        backoff_limit: Some(backoff_limit),
        active_deadline_seconds: Some(job.active_deadline_seconds),
        ttl_seconds_after_finished: Some(TTL_AFTER_FINISHED_SECONDS),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                restart_policy: Some("Never".into()),
                containers: vec![container],
                volumes: Some(volumes),
                // The app's uid: the files volume is written by the app, and one owner keeps both volumes consistent.
                security_context: Some(pod::pod_security(pod::RUN_AS_USER)),
                ..Default::default()
            }),
        },
        ..Default::default()
    }
}

fn claim_volume(name: &str, claim: String, read_only: bool) -> Volume {
    Volume {
        name: name.into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim,
            read_only: read_only.then_some(true),
        }),
        ..Default::default()
    }
}

/// Last finished success and failure of one backup kind, in seconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackupRecord {
    pub last_success: Option<i64>,
    pub last_failure: Option<i64>,
}

/// Results per kind read back from the backup Jobs (labelled [`KIND_LABEL`]) that still exist.
pub fn history(jobs: &[Job]) -> BTreeMap<BackupKind, BackupRecord> {
    let mut history = BTreeMap::new();
    for job in jobs {
        let Some(kind) = job
            .labels()
            .get(KIND_LABEL)
            .and_then(|value| BackupKind::from_label(value))
        else {
            continue;
        };
        let record: &mut BackupRecord = history.entry(kind).or_default();
        match finished(job) {
            Some((true, at)) => record.last_success = record.last_success.max(Some(at)),
            Some((false, at)) => record.last_failure = record.last_failure.max(Some(at)),
            None => {}
        }
    }
    history
}

/// `(succeeded, when)` of a finished Job; `None` while it runs.
pub(crate) fn finished(job: &Job) -> Option<(bool, i64)> {
    let status = job.status.as_ref()?;
    let condition = |kind: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind && c.status == "True")
    };
    if let Some(complete) = condition("Complete") {
        let at = status
            .completion_time
            .as_ref()
            .or(complete.last_transition_time.as_ref())?;
        return Some((true, at.0.as_second()));
    }
    let failed = condition("Failed")?;
    Some((false, failed.last_transition_time.as_ref()?.0.as_second()))
}

/// The BackupReady condition: ready when every kind succeeded recently and its last attempt did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupReadiness {
    pub ready: bool,
    /// CamelCase reason: BackupsSucceeded, BackupFailed, BackupLate or NoBackupYet.
    pub reason: &'static str,
    pub message: String,
}

/// `enabled_since` (when backups were switched on, e.g. the CR's creation) stands in for a first success, so a new
/// installation is not late before its first scheduled run, and one whose backups never ran becomes late.
pub fn readiness(
    history: &BTreeMap<BackupKind, BackupRecord>,
    enabled_since: i64,
    now: i64,
) -> BackupReadiness {
    let mut failed = Vec::new();
    let mut late = Vec::new();
    let mut never = Vec::new();
    for kind in BackupKind::ALL {
        let record = history.get(&kind).copied().unwrap_or_default();
        let newest_success = record.last_success.unwrap_or(enabled_since);
        if record
            .last_failure
            .is_some_and(|failure| Some(failure) > record.last_success)
        {
            failed.push(kind.as_str());
        } else if now - newest_success > kind.allowed_age_seconds() {
            // The time, not the age: the message (and so the status) stays the same from one reconcile to the next.
            let since = k8s_openapi::jiff::Timestamp::from_second(newest_success)
                .map_or_else(|_| newest_success.to_string(), |t| t.to_string());
            let what = if record.last_success.is_some() {
                "last success"
            } else {
                "enabled"
            };
            late.push(format!(
                "{} ({what} {since}, allowed age {}h)",
                kind.as_str(),
                kind.allowed_age_seconds() / 3600
            ));
        } else if record.last_success.is_none() {
            never.push(kind.as_str());
        }
    }
    if !failed.is_empty() {
        BackupReadiness {
            ready: false,
            reason: "BackupFailed",
            message: format!("the last backup failed for: {}", failed.join(", ")),
        }
    } else if !late.is_empty() {
        BackupReadiness {
            ready: false,
            reason: "BackupLate",
            message: format!("backups are late: {}", late.join(", ")),
        }
    } else if !never.is_empty() {
        BackupReadiness {
            ready: true,
            reason: "NoBackupYet",
            message: format!(
                "waiting for the first scheduled backup of: {}",
                never.join(", ")
            ),
        }
    } else {
        BackupReadiness {
            ready: true,
            reason: "BackupsSucceeded",
            message: "every backup kind succeeded on schedule".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::{observed, sample};
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn with_backups() -> BiddingDeployment {
        let mut bd = sample();
        bd.spec.backup =
            Some(serde_yaml::from_str("timeZone: Asia/Shanghai").unwrap_or_else(|e| panic!("{e}")));
        bd
    }

    fn spec(bd: &BiddingDeployment) -> &BackupSpec {
        bd.spec
            .backup
            .as_ref()
            .unwrap_or_else(|| panic!("sample has backups"))
    }

    fn cron_spec(cron: &CronJob) -> &CronJobSpec {
        cron.spec
            .as_ref()
            .unwrap_or_else(|| panic!("CronJob without spec"))
    }

    fn pod_spec(cron: &CronJob) -> &PodSpec {
        cron_spec(cron)
            .job_template
            .spec
            .as_ref()
            .and_then(|job| job.template.spec.as_ref())
            .unwrap_or_else(|| panic!("no pod"))
    }

    fn env_of(cron: &CronJob) -> BTreeMap<String, String> {
        pod_spec(cron).containers[0]
            .env
            .iter()
            .flatten()
            .map(|var| {
                let from_secret = var
                    .value_from
                    .as_ref()
                    .and_then(|source| source.secret_key_ref.as_ref());
                let value = var
                    .value
                    .clone()
                    .or(from_secret.map(|s| format!("secret:{}/{}", s.name, s.key)));
                (var.name.clone(), value.unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn schedules_are_the_guides_in_the_specs_time_zone() {
        let bd = with_backups();
        let expected = [
            (BackupKind::Database, "0 2 * * *"),
            (BackupKind::Files, "0 3 * * *"),
            (BackupKind::Full, "0 4 * * 0"),
        ];
        for (kind, schedule) in expected {
            let cron = cron_job(&bd, spec(&bd), kind);
            let cron = cron_spec(&cron);
            assert_eq!(cron.schedule, schedule, "{kind:?}");
            assert_eq!(cron.time_zone.as_deref(), Some("Asia/Shanghai"), "{kind:?}");
        }
    }

    #[test]
    fn backups_never_overlap_never_run_forever_and_clean_up_after_themselves() {
        let bd = with_backups();
        for kind in BackupKind::ALL {
            let cron = cron_job(&bd, spec(&bd), kind);
            let cron = cron_spec(&cron);
            assert_eq!(cron.concurrency_policy.as_deref(), Some("Forbid"));
            assert_eq!(cron.starting_deadline_seconds, Some(3600));
            assert_eq!(
                (
                    cron.successful_jobs_history_limit,
                    cron.failed_jobs_history_limit
                ),
                (Some(3), Some(3))
            );
            let job = cron
                .job_template
                .spec
                .as_ref()
                .unwrap_or_else(|| panic!("no job spec"));
            assert!(
                job.active_deadline_seconds
                    .is_some_and(|s| s > 0 && s < 24 * 3600),
                "{kind:?}"
            );
            assert_eq!(job.ttl_seconds_after_finished, Some(7 * 24 * 3600));
            assert_eq!(
                pod_spec(&cron_job(&bd, spec(&bd), kind))
                    .restart_policy
                    .as_deref(),
                Some("Never")
            );
        }
    }

    #[test]
    fn retention_follows_the_spec_30_days_for_dumps_7_for_files() {
        let mut bd = with_backups();
        assert_eq!(
            env_of(&cron_job(&bd, spec(&bd), BackupKind::Database))["RETAIN_DAYS"],
            "30"
        );
        assert_eq!(
            env_of(&cron_job(&bd, spec(&bd), BackupKind::Files))["RETAIN_DAYS"],
            "7"
        );
        if let Some(backup) = bd.spec.backup.as_mut() {
            backup.database_keep_days = 90;
        }
        assert_eq!(
            env_of(&cron_job(&bd, spec(&bd), BackupKind::Database))["RETAIN_DAYS"],
            "90"
        );
        assert_eq!(
            env_of(&cron_job(&bd, spec(&bd), BackupKind::Full))["RETAIN_DAYS"],
            "90"
        );
    }

    #[test]
    fn the_database_dump_reads_the_managed_server_with_the_generated_password() {
        let bd = with_backups();
        let env = env_of(&cron_job(&bd, spec(&bd), BackupKind::Database));
        assert_eq!(env["PGHOST"], "bids-postgres");
        assert_eq!(env["PGDATABASE"], "aibid");
        assert_eq!(env["PGPASSWORD"], "secret:bids-generated/postgres-password");
        assert!(
            !env.contains_key("FILES_PATHS"),
            "a database dump does not read the files volume"
        );
        assert_eq!(
            pod_spec(&cron_job(&bd, spec(&bd), BackupKind::Database)).containers[0]
                .args
                .as_ref()
                .map(|a| a[1].as_str()),
            Some("db")
        );
    }

    #[test]
    fn an_external_database_is_dumped_from_its_url_secret() {
        let mut bd = with_backups();
        bd.spec.database.external = Some(
            serde_yaml::from_str("urlSecretRef: {name: db-url, key: url}")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let env = env_of(&cron_job(&bd, spec(&bd), BackupKind::Database));
        assert_eq!(env["DATABASE_URL"], "secret:db-url/url");
        assert!(!env.contains_key("PGHOST"));
        let names: Vec<_> = children(&bd).iter().map(|c| c.name.clone()).collect();
        assert!(
            !names.contains(&"bids-backup-verify".to_string()),
            "no scratch database on someone else's server"
        );
    }

    #[test]
    fn the_files_archive_reads_uploads_and_outputs_read_only() {
        let bd = with_backups();
        let cron = cron_job(&bd, spec(&bd), BackupKind::Files);
        let pod = pod_spec(&cron);
        let files = pod.containers[0]
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == "files");
        assert_eq!(
            files.map(|m| (m.mount_path.as_str(), m.read_only)),
            Some(("/data", Some(true)))
        );
        let claim = pod
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == "files")
            .and_then(|v| v.persistent_volume_claim.as_ref());
        assert_eq!(claim.map(|c| c.claim_name.as_str()), Some("bids-files"));
        assert_eq!(env_of(&cron)["FILES_PATHS"], "/data/uploads /data/outputs");
        assert!(!env_of(&cron).contains_key("PGPASSWORD"));
    }

    #[test]
    fn jobs_run_the_scripts_this_repository_tests() {
        let bd = with_backups();
        let config_map = scripts_config_map(&bd);
        let data = config_map.data.unwrap_or_default();
        for (name, text) in SCRIPTS {
            assert_eq!(data.get(name).map(String::as_str), Some(text), "{name}");
        }
        assert!(
            data["backup.sh"].contains("retention.sh"),
            "backup.sh runs retention after success"
        );
        let cron = cron_job(&bd, spec(&bd), BackupKind::Full);
        assert_eq!(
            pod_spec(&cron).containers[0].args,
            Some(vec!["/scripts/backup.sh".to_string(), "full".to_string()])
        );
    }

    #[test]
    fn the_backup_volume_survives_the_cr_unless_asked_otherwise() {
        let mut bd = with_backups();
        assert_eq!(claim(&bd, spec(&bd)).metadata.owner_references, None);
        if let Some(backup) = bd.spec.backup.as_mut() {
            backup.destination.retain_on_delete = false;
        }
        assert_eq!(
            claim(&bd, spec(&bd))
                .metadata
                .owner_references
                .map(|o| o.len()),
            Some(1)
        );
    }

    #[test]
    fn no_backup_spec_renders_no_backup_objects_and_changing_the_schedule_touches_only_its_cronjob()
    {
        assert!(children(&sample()).is_empty());
        let bd = with_backups();
        let mut changed = bd.clone();
        if let Some(backup) = changed.spec.backup.as_mut() {
            backup.files_schedule = "30 1 * * *".into();
        }
        let before = super::super::render_all(&bd, &observed());
        let after = super::super::render_all(&changed, &observed());
        let differing: Vec<_> = before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a.object != b.object)
            .map(|(a, _)| format!("{} {}", a.kind(), a.name))
            .collect();
        assert_eq!(differing, vec!["CronJob bids-backup-files"]);
    }

    fn job(kind: &str, outcome: &str, at: i64) -> Job {
        let time =
            Time(k8s_openapi::jiff::Timestamp::from_second(at).unwrap_or_else(|e| panic!("{e}")));
        Job {
            metadata: ObjectMeta {
                labels: Some(BTreeMap::from([(KIND_LABEL.to_string(), kind.to_string())])),
                ..Default::default()
            },
            status: Some(JobStatus {
                completion_time: (outcome == "Complete").then(|| time.clone()),
                conditions: Some(vec![JobCondition {
                    type_: outcome.into(),
                    status: "True".into(),
                    last_transition_time: Some(time),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    const DAY: i64 = 86400;

    #[test]
    fn history_keeps_the_newest_success_and_failure_per_kind() {
        let jobs = [
            job("db", "Complete", 10 * DAY),
            job("db", "Complete", 12 * DAY),
            job("db", "Failed", 11 * DAY),
            job("files", "Failed", 12 * DAY),
            job("verify", "Complete", 12 * DAY),
        ];
        let history = history(&jobs);
        assert_eq!(
            history[&BackupKind::Database],
            BackupRecord {
                last_success: Some(12 * DAY),
                last_failure: Some(11 * DAY)
            }
        );
        assert_eq!(
            history[&BackupKind::Files],
            BackupRecord {
                last_success: None,
                last_failure: Some(12 * DAY)
            }
        );
        assert!(!history.contains_key(&BackupKind::Full));
    }

    #[test]
    fn backup_ready_says_why_when_failing_or_late() {
        let now = 40 * DAY;
        let fresh = [
            job("db", "Complete", now - 3600),
            job("files", "Complete", now - 3600),
            job("full", "Complete", now - 2 * DAY),
        ];
        assert_eq!(
            readiness(&history(&fresh), 0, now).reason,
            "BackupsSucceeded"
        );
        let mut failing = fresh.to_vec();
        failing.push(job("files", "Failed", now - 60));
        let failed = readiness(&history(&failing), 0, now);
        assert_eq!((failed.ready, failed.reason), (false, "BackupFailed"));
        assert!(failed.message.contains("files"), "{}", failed.message);
        let late = [
            job("db", "Complete", now - 2 * DAY),
            job("files", "Complete", now - 3600),
            job("full", "Complete", now - 2 * DAY),
        ];
        let late = readiness(&history(&late), 0, now);
        assert_eq!((late.ready, late.reason), (false, "BackupLate"));
        assert!(late.message.contains("db"), "{}", late.message);
    }

    #[test]
    fn a_new_installation_waits_for_its_first_backup_then_becomes_late() {
        let enabled = 100 * DAY;
        let waiting = readiness(&BTreeMap::new(), enabled, enabled + 3600);
        assert_eq!((waiting.ready, waiting.reason), (true, "NoBackupYet"));
        let never_ran = readiness(&BTreeMap::new(), enabled, enabled + 2 * DAY);
        assert_eq!((never_ran.ready, never_ran.reason), (false, "BackupLate"));
    }
}
