//! BackupReady, `status.lastBackup` and the `aibid_backup_last_{success,failure}_timestamp_seconds` gauges, read
//! back from the Jobs the backup CronJobs create (labelled `aibid.dev/backup-kind`). Finished Jobs disappear after
//! a week (TTL and history limits), so the newest results are kept in `status.lastBackup` and merged with what the
//! remaining Jobs show; a weekly kind is therefore not reported late just because its last Job was cleaned up.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use crate::crd::{BackupRun, BiddingDeployment, BiddingDeploymentStatus, LastBackup};
use crate::error::{Error, Result};
use crate::metrics::{BackupLabels, Metrics};
use crate::render::backup::{self, BackupKind, BackupReadiness, BackupRecord, KIND_LABEL};

pub const CONDITION: &str = "BackupReady";

/// What the backup Jobs and the previous status say about one deployment's backups.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupSummary {
    pub readiness: BackupReadiness,
    /// Per kind (`db`, `files`, `full`): newest success and failure with their Job names.
    pub last_backup: BTreeMap<String, LastBackup>,
    /// The same as seconds since the epoch, what [`backup::readiness`] and the gauges use.
    pub records: BTreeMap<BackupKind, BackupRecord>,
    /// When backups were switched on (the CR's creation): stands in for a first success.
    pub enabled_since: i64,
}

/// List the backup Jobs of `bd` and summarise them; `None` when `spec.backup` is absent.
pub async fn observe(
    client: &Client,
    bd: &BiddingDeployment,
    ns: &str,
) -> Result<Option<BackupSummary>> {
    if bd.spec.backup.is_none() {
        return Ok(None);
    }
    let kinds: Vec<&str> = BackupKind::ALL.iter().map(|k| k.as_str()).collect();
    let selector = format!(
        "app.kubernetes.io/instance={},{KIND_LABEL} in ({})",
        bd.name_any(),
        kinds.join(",")
    );
    let jobs = Api::<Job>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| Error::kube("list backup Jobs", e))?;
    Ok(summarize(bd, &jobs.items, Timestamp::now().as_second()))
}

/// Pure part of [`observe`]: merge the Jobs' results with `bd`'s previous `status.lastBackup`.
pub fn summarize(bd: &BiddingDeployment, jobs: &[Job], now: i64) -> Option<BackupSummary> {
    bd.spec.backup.as_ref()?;
    let previous = bd
        .status
        .as_ref()
        .map(|s| s.last_backup.clone())
        .unwrap_or_default();
    let from_jobs = newest_runs(jobs);
    let history = backup::history(jobs);
    let mut last_backup = BTreeMap::new();
    let mut records = BTreeMap::new();
    for kind in BackupKind::ALL {
        let old = previous.get(kind.as_str()).cloned().unwrap_or_default();
        let fresh = from_jobs.get(&kind).cloned().unwrap_or_default();
        let merged = LastBackup {
            success: newer(old.success, fresh.success),
            failure: newer(old.failure, fresh.failure),
        };
        let seen = history.get(&kind).copied().unwrap_or_default();
        let record = BackupRecord {
            last_success: seen.last_success.max(merged.success.as_ref().map(seconds)),
            last_failure: seen.last_failure.max(merged.failure.as_ref().map(seconds)),
        };
        if record != BackupRecord::default() {
            records.insert(kind, record);
        }
        if merged != LastBackup::default() {
            last_backup.insert(kind.as_str().to_string(), merged);
        }
    }
    let enabled_since = bd
        .creation_timestamp()
        .map_or(now, |created| created.0.as_second());
    Some(BackupSummary {
        readiness: backup::readiness(&records, enabled_since, now),
        last_backup,
        records,
        enabled_since,
    })
}

fn seconds(run: &BackupRun) -> i64 {
    run.time.0.as_second()
}

fn newer(a: Option<BackupRun>, b: Option<BackupRun>) -> Option<BackupRun> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if seconds(&b) >= seconds(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Newest finished success and failure per kind, with the Job's name.
fn newest_runs(jobs: &[Job]) -> BTreeMap<BackupKind, LastBackup> {
    let mut runs: BTreeMap<BackupKind, LastBackup> = BTreeMap::new();
    for job in jobs {
        let Some(kind) = job
            .labels()
            .get(KIND_LABEL)
            .and_then(|value| BackupKind::from_label(value))
        else {
            continue;
        };
        let Some((succeeded, at)) = backup::finished(job) else {
            continue;
        };
        let Ok(time) = Timestamp::from_second(at) else {
            continue;
        };
        let run = BackupRun {
            time: Time(time),
            job: job.name_any(),
        };
        let entry = runs.entry(kind).or_default();
        if succeeded {
            entry.success = newer(entry.success.take(), Some(run));
        } else {
            entry.failure = newer(entry.failure.take(), Some(run));
        }
    }
    runs
}

/// Add BackupReady and `lastBackup` to a freshly computed status; lastTransitionTime moves only on a flip.
pub fn apply(
    bd: &BiddingDeployment,
    status: &mut BiddingDeploymentStatus,
    summary: Option<&BackupSummary>,
    now: &Time,
) {
    let (ready, reason, message) = match summary {
        Some(summary) => (
            summary.readiness.ready,
            summary.readiness.reason,
            summary.readiness.message.clone(),
        ),
        None => (
            false,
            "BackupNotConfigured",
            "spec.backup is absent: no backups are taken".to_string(),
        ),
    };
    let mut condition = Condition {
        type_: CONDITION.into(),
        status: if ready { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        observed_generation: bd.metadata.generation,
        last_transition_time: now.clone(),
    };
    let previous = bd
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == CONDITION));
    if let Some(previous) = previous {
        if previous.status == condition.status {
            condition.last_transition_time = previous.last_transition_time.clone();
        }
    }
    status.conditions.retain(|c| c.type_ != CONDITION);
    status.conditions.push(condition);
    status.last_backup = summary.map(|s| s.last_backup.clone()).unwrap_or_default();
}

fn labels(bd: &BiddingDeployment, kind: BackupKind) -> BackupLabels {
    BackupLabels {
        namespace: bd.namespace().unwrap_or_default(),
        deployment: bd.name_any(),
        kind: kind.as_str(),
    }
}

/// Set the gauges: the last success (the time backups were enabled until the first one) and the last failure
/// (0 until a backup fails). Without backups the deployment's gauges are removed.
pub fn export(metrics: &Metrics, bd: &BiddingDeployment, summary: Option<&BackupSummary>) {
    let Some(summary) = summary else {
        forget(metrics, bd);
        return;
    };
    for kind in BackupKind::ALL {
        let record = summary.records.get(&kind).copied().unwrap_or_default();
        metrics
            .backup_last_success
            .get_or_create(&labels(bd, kind))
            .set(record.last_success.unwrap_or(summary.enabled_since));
        metrics
            .backup_last_failure
            .get_or_create(&labels(bd, kind))
            .set(record.last_failure.unwrap_or(0));
    }
}

/// Drop the gauges of a deleted deployment (or one whose backups were switched off).
pub fn forget(metrics: &Metrics, bd: &BiddingDeployment) {
    for kind in BackupKind::ALL {
        metrics.backup_last_success.remove(&labels(bd, kind));
        metrics.backup_last_failure.remove(&labels(bd, kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    const DAY: i64 = 86400;
    const CREATED: i64 = 100 * DAY;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    fn with_backups() -> BiddingDeployment {
        let mut bd = sample();
        bd.spec.backup = Some(serde_yaml::from_str("{}").unwrap_or_else(|e| panic!("{e}")));
        bd.metadata.creation_timestamp = Some(at(CREATED));
        bd
    }

    fn job(name: &str, kind: &str, outcome: &str, when: i64) -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(BTreeMap::from([(KIND_LABEL.to_string(), kind.to_string())])),
                ..Default::default()
            },
            status: Some(JobStatus {
                completion_time: (outcome == "Complete").then(|| at(when)),
                conditions: Some(vec![JobCondition {
                    type_: outcome.into(),
                    status: "True".into(),
                    last_transition_time: Some(at(when)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn fresh_jobs(now: i64) -> Vec<Job> {
        vec![
            job("bids-backup-db-1", "db", "Complete", now - 3600),
            job("bids-backup-db-0", "db", "Complete", now - DAY - 3600),
            job("bids-backup-files-1", "files", "Complete", now - 1800),
            job("bids-backup-full-1", "full", "Complete", now - 3 * DAY),
        ]
    }

    #[test]
    fn fresh_backups_are_ready_and_name_the_newest_job_per_kind() {
        let now = CREATED + 10 * DAY;
        let summary = summarize(&with_backups(), &fresh_jobs(now), now)
            .unwrap_or_else(|| panic!("backups are configured"));
        assert_eq!(
            (summary.readiness.ready, summary.readiness.reason),
            (true, "BackupsSucceeded")
        );
        let db = &summary.last_backup["db"];
        assert_eq!(
            db.success
                .as_ref()
                .map(|r| (r.job.as_str(), r.time.clone())),
            Some(("bids-backup-db-1", at(now - 3600)))
        );
        assert_eq!(db.failure, None);
    }

    #[test]
    fn a_daily_kind_older_than_26_hours_is_late_and_says_since_when() {
        let now = CREATED + 10 * DAY;
        let mut jobs = fresh_jobs(now);
        jobs.retain(|j| j.labels()[KIND_LABEL] != "db");
        jobs.push(job("bids-backup-db-0", "db", "Complete", now - 27 * 3600));
        let summary =
            summarize(&with_backups(), &jobs, now).unwrap_or_else(|| panic!("configured"));
        assert_eq!(
            (summary.readiness.ready, summary.readiness.reason),
            (false, "BackupLate")
        );
        assert!(
            summary.readiness.message.contains("db ("),
            "{}",
            summary.readiness.message
        );
        assert!(!summary.readiness.message.contains("files"));
        // 25 hours is within the grace.
        let mut jobs = fresh_jobs(now);
        jobs.push(job("bids-backup-db-2", "db", "Complete", now - 25 * 3600));
        assert!(summarize(&with_backups(), &jobs, now).is_some_and(|s| s.readiness.ready));
    }

    #[test]
    fn the_weekly_full_backup_is_late_only_after_eight_days() {
        let now = CREATED + 30 * DAY;
        let mut jobs = fresh_jobs(now);
        jobs.retain(|j| j.labels()[KIND_LABEL] != "full");
        jobs.push(job(
            "bids-backup-full-0",
            "full",
            "Complete",
            now - 7 * DAY - 3600,
        ));
        assert!(summarize(&with_backups(), &jobs, now).is_some_and(|s| s.readiness.ready));
        let later = now + DAY;
        let mut jobs = fresh_jobs(later);
        jobs.retain(|j| j.labels()[KIND_LABEL] != "full");
        jobs.push(job(
            "bids-backup-full-0",
            "full",
            "Complete",
            now - 7 * DAY - 3600,
        ));
        let summary =
            summarize(&with_backups(), &jobs, later).unwrap_or_else(|| panic!("configured"));
        assert_eq!(summary.readiness.reason, "BackupLate");
        assert!(summary.readiness.message.contains("full"));
    }

    #[test]
    fn a_failure_after_the_last_success_is_reported_and_timed() {
        let now = CREATED + 10 * DAY;
        let mut jobs = fresh_jobs(now);
        jobs.push(job("bids-backup-files-2", "files", "Failed", now - 60));
        let summary =
            summarize(&with_backups(), &jobs, now).unwrap_or_else(|| panic!("configured"));
        assert_eq!(
            (summary.readiness.ready, summary.readiness.reason),
            (false, "BackupFailed")
        );
        assert_eq!(
            summary.last_backup["files"]
                .failure
                .as_ref()
                .map(|r| r.job.as_str()),
            Some("bids-backup-files-2")
        );
        let metrics = Metrics::default();
        export(&metrics, &with_backups(), Some(&summary));
        let text = metrics.encode();
        let expected_failure = format!(
            "aibid_backup_last_failure_timestamp_seconds{{namespace=\"tenders\",deployment=\"bids\",kind=\"files\"}} {}",
            now - 60
        );
        assert!(text.contains(&expected_failure), "{text}");
        assert!(
            text.contains("aibid_backup_last_failure_timestamp_seconds{namespace=\"tenders\",deployment=\"bids\",kind=\"db\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn results_of_cleaned_up_jobs_are_remembered_from_status() {
        let now = CREATED + 10 * DAY;
        let mut bd = with_backups();
        let first = summarize(&bd, &fresh_jobs(now), now).unwrap_or_else(|| panic!("configured"));
        bd.status = Some(BiddingDeploymentStatus {
            last_backup: first.last_backup.clone(),
            ..Default::default()
        });
        // A day later the full backup's Job is gone (TTL); status still knows it.
        let later = now + DAY;
        let jobs: Vec<Job> = fresh_jobs(later)
            .into_iter()
            .filter(|j| j.labels()[KIND_LABEL] != "full")
            .collect();
        let second = summarize(&bd, &jobs, later).unwrap_or_else(|| panic!("configured"));
        assert_eq!(second.last_backup["full"], first.last_backup["full"]);
        assert!(second.readiness.ready, "{:?}", second.readiness);
    }

    #[test]
    fn a_new_installation_gauges_its_enable_time_until_the_first_success() {
        let bd = with_backups();
        let summary = summarize(&bd, &[], CREATED + 3600).unwrap_or_else(|| panic!("configured"));
        assert_eq!(summary.readiness.reason, "NoBackupYet");
        let metrics = Metrics::default();
        export(&metrics, &bd, Some(&summary));
        assert!(metrics.encode().contains(&format!(
            "aibid_backup_last_success_timestamp_seconds{{namespace=\"tenders\",deployment=\"bids\",kind=\"full\"}} {CREATED}"
        )));
        forget(&metrics, &bd);
        assert!(!metrics
            .encode()
            .contains("aibid_backup_last_success_timestamp_seconds{"));
    }

    #[test]
    fn the_condition_keeps_its_transition_time_and_says_when_backups_are_off() {
        let now = CREATED + 10 * DAY;
        let mut bd = with_backups();
        let summary = summarize(&bd, &fresh_jobs(now), now);
        let mut status = BiddingDeploymentStatus::default();
        apply(&bd, &mut status, summary.as_ref(), &at(now));
        bd.status = Some(status.clone());
        let mut again = BiddingDeploymentStatus::default();
        apply(&bd, &mut again, summary.as_ref(), &at(now + 60));
        assert_eq!(again, status, "nothing changed, nothing to write");
        let mut off = sample();
        off.status = None;
        let mut status = BiddingDeploymentStatus::default();
        apply(&off, &mut status, None, &at(now));
        let condition = &status.conditions[0];
        assert_eq!(
            (
                condition.type_.as_str(),
                condition.status.as_str(),
                condition.reason.as_str()
            ),
            ("BackupReady", "False", "BackupNotConfigured")
        );
        assert!(summarize(&off, &fresh_jobs(now), now).is_none());
    }
}
