//! Restore (`BiddingRestore`): the Job that runs `operator/scripts/restore.sh` for a named or the latest backup, and
//! the pure phase machine a restore follows: wait for other restores, scale the app to zero, restore, scale back.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};

use super::backup::{self, ScriptJob, BACKUP_MOUNT, KIND_LABEL, SCRIPTS_MOUNT};
use super::labels::{self, Component};
use super::postgres::plain_env;
use crate::crd::{BiddingDeployment, BiddingRestore, RestoreWhat};

pub fn job_name(restore: &BiddingRestore) -> String {
    format!("{}-restore", restore.name_any())
}

pub fn what_argument(what: RestoreWhat) -> &'static str {
    match what {
        RestoreWhat::Database => "database",
        RestoreWhat::Files => "files",
        RestoreWhat::Both => "both",
    }
}

/// The restore Job, owned by the BiddingRestore (so deleting the restore removes it, never the deployment).
pub fn job(bd: &BiddingDeployment, restore: &BiddingRestore) -> Job {
    let what = restore.spec.what;
    let mut env = vec![
        plain_env("HOME", "/tmp"),
        plain_env("BACKUP_DIR", BACKUP_MOUNT),
        plain_env("RESTORE_KEEP_PREVIOUS", "1"),
    ];
    if what != RestoreWhat::Files {
        env.extend(backup::database_env(bd));
    }
    let script = ScriptJob {
        kind: "restore",
        args: vec![
            format!("{SCRIPTS_MOUNT}/restore.sh"),
            restore.spec.backup.clone(),
            what_argument(what).into(),
        ],
        env,
        files: (what != RestoreWhat::Database).then_some(false),
        active_deadline_seconds: 6 * 3600,
    };
    let mut labels = labels::labels(bd, Component::Backup, None);
    labels.insert(KIND_LABEL.into(), "restore".into());
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(restore)),
            namespace: restore.namespace(),
            labels: Some(labels.clone()),
            owner_references: restore.controller_owner_ref(&()).map(|owner| vec![owner]),
            ..Default::default()
        },
        // No retry: a failed restore is looked at by a person before anything runs again.
        spec: Some(backup::script_job_spec(bd, script, labels, 0)),
        ..Default::default()
    }
}

/// Where a restore is; stored as `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePhase {
    /// Another restore of the same deployment runs; this one waits.
    Pending,
    /// API, workers and scheduler are being scaled to zero.
    ScalingDown,
    /// The restore Job runs.
    Restoring,
    /// The Job finished; the app is scaled back to its spec.
    ScalingUp,
    Succeeded,
    Failed,
}

impl RestorePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::ScalingDown => "ScalingDown",
            Self::Restoring => "Restoring",
            Self::ScalingUp => "ScalingUp",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }

    pub fn parse(phase: Option<&str>) -> Option<Self> {
        [
            Self::Pending,
            Self::ScalingDown,
            Self::Restoring,
            Self::ScalingUp,
            Self::Succeeded,
            Self::Failed,
        ]
        .into_iter()
        .find(|candidate| Some(candidate.as_str()) == phase)
    }

    /// While a restore is in one of these phases the deployment's app runs zero replicas.
    pub fn holds_app_at_zero(self) -> bool {
        matches!(self, Self::ScalingDown | Self::Restoring)
    }
}

/// What the controller observed for one restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreFacts {
    /// An older restore of the same deployment has not finished.
    pub earlier_restore_active: bool,
    /// API, worker and scheduler pods still running.
    pub app_pods_running: i32,
    pub job: JobState,
    /// API and workers ready again at their spec's replicas.
    pub app_ready: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Absent,
    Running,
    Succeeded,
    /// With the reason Kubernetes or the script gave.
    Failed(String),
}

/// What the controller does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreAction {
    Wait,
    ScaleAppToZero,
    CreateJob,
    ScaleAppBack,
    Finish,
}

/// One step of the restore: the phase to record and what to do. Pure, so every path is unit-tested.
/// A failed Job still scales the app back: the restore script changes nothing unless it succeeded.
pub fn step(phase: Option<RestorePhase>, facts: &RestoreFacts) -> (RestorePhase, RestoreAction) {
    use RestoreAction::*;
    use RestorePhase::*;
    match phase {
        None | Some(Pending) if facts.earlier_restore_active => (Pending, Wait),
        None | Some(Pending) => (ScalingDown, ScaleAppToZero),
        Some(ScalingDown) if facts.app_pods_running > 0 => (ScalingDown, ScaleAppToZero),
        Some(ScalingDown) => (Restoring, CreateJob),
        Some(Restoring) => match &facts.job {
            JobState::Absent => (Restoring, CreateJob),
            JobState::Running => (Restoring, Wait),
            JobState::Succeeded | JobState::Failed(_) => (ScalingUp, ScaleAppBack),
        },
        Some(ScalingUp) if !facts.app_ready => (ScalingUp, ScaleAppBack),
        Some(ScalingUp) => match &facts.job {
            JobState::Failed(_) => (Failed, Finish),
            _ => (Succeeded, Finish),
        },
        Some(done @ (Succeeded | Failed)) => (done, Finish),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;
    use RestoreAction::*;
    use RestorePhase::*;

    fn restore(what: &str) -> BiddingRestore {
        serde_yaml::from_str(&format!(
            "apiVersion: aibid.dev/v1alpha1\nkind: BiddingRestore\nmetadata: {{name: monday, namespace: tenders, uid: 0b1c2d3e-0000-4000-8000-000000000009}}\nspec: {{deploymentRef: bids, backup: db-20261203T020000Z, what: {what}}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn facts(job: JobState) -> RestoreFacts {
        RestoreFacts {
            earlier_restore_active: false,
            app_pods_running: 0,
            job,
            app_ready: true,
        }
    }

    #[test]
    fn the_job_restores_the_named_backup_owned_by_the_restore() {
        let job = job(&sample(), &restore("database"));
        assert_eq!(job.metadata.name.as_deref(), Some("monday-restore"));
        let owner = job.metadata.owner_references.unwrap_or_default();
        assert_eq!(
            owner.first().map(|o| (o.kind.as_str(), o.name.as_str())),
            Some(("BiddingRestore", "monday"))
        );
        let pod = job
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.clone())
            .unwrap_or_else(|| panic!("no pod"));
        let args = pod.containers[0].args.clone().unwrap_or_default();
        assert_eq!(
            args,
            ["/scripts/restore.sh", "db-20261203T020000Z", "database"]
        );
        assert!(
            !pod.volumes.iter().flatten().any(|v| v.name == "files"),
            "a database restore leaves files alone"
        );
        assert_eq!(job.spec.as_ref().and_then(|s| s.backoff_limit), Some(0));
    }

    #[test]
    fn a_files_restore_mounts_the_files_volume_writable_and_needs_no_database() {
        let job = job(&sample(), &restore("files"));
        let pod = job
            .spec
            .and_then(|s| s.template.spec)
            .unwrap_or_else(|| panic!("no pod"));
        let files = pod.containers[0]
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == "files")
            .cloned();
        assert_eq!(
            files.map(|m| (m.mount_path, m.read_only)),
            Some(("/data".to_string(), None))
        );
        assert!(!pod.containers[0]
            .env
            .iter()
            .flatten()
            .any(|e| e.name == "PGPASSWORD"));
    }

    #[test]
    fn a_second_restore_waits_for_the_first() {
        let busy = RestoreFacts {
            earlier_restore_active: true,
            ..facts(JobState::Absent)
        };
        assert_eq!(step(None, &busy), (Pending, Wait));
        assert_eq!(
            step(Some(Pending), &facts(JobState::Absent)),
            (ScalingDown, ScaleAppToZero)
        );
    }

    #[test]
    fn the_job_starts_only_when_no_app_pod_runs_any_more() {
        let draining = RestoreFacts {
            app_pods_running: 2,
            ..facts(JobState::Absent)
        };
        assert_eq!(
            step(Some(ScalingDown), &draining),
            (ScalingDown, ScaleAppToZero)
        );
        assert_eq!(
            step(Some(ScalingDown), &facts(JobState::Absent)),
            (Restoring, CreateJob)
        );
        assert!(
            ScalingDown.holds_app_at_zero()
                && Restoring.holds_app_at_zero()
                && !ScalingUp.holds_app_at_zero()
        );
    }

    #[test]
    fn success_and_failure_both_scale_the_app_back_and_record_the_result() {
        assert_eq!(
            step(Some(Restoring), &facts(JobState::Running)),
            (Restoring, Wait)
        );
        assert_eq!(
            step(Some(Restoring), &facts(JobState::Succeeded)),
            (ScalingUp, ScaleAppBack)
        );
        let failed = facts(JobState::Failed("exit code 3: row counts differ".into()));
        assert_eq!(step(Some(Restoring), &failed), (ScalingUp, ScaleAppBack));
        let not_ready = RestoreFacts {
            app_ready: false,
            ..facts(JobState::Succeeded)
        };
        assert_eq!(step(Some(ScalingUp), &not_ready), (ScalingUp, ScaleAppBack));
        assert_eq!(
            step(Some(ScalingUp), &facts(JobState::Succeeded)),
            (Succeeded, Finish)
        );
        assert_eq!(step(Some(ScalingUp), &failed), (Failed, Finish));
        assert_eq!(
            step(Some(Succeeded), &facts(JobState::Absent)),
            (Succeeded, Finish),
            "finished restores never rerun"
        );
    }

    #[test]
    fn phases_round_trip_through_status() {
        for phase in [
            Pending,
            ScalingDown,
            Restoring,
            ScalingUp,
            Succeeded,
            Failed,
        ] {
            assert_eq!(RestorePhase::parse(Some(phase.as_str())), Some(phase));
        }
        assert_eq!(RestorePhase::parse(Some("Bogus")), None);
    }
}
