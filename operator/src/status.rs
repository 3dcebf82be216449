//! Status from what reconcile observed: conditions (Ready, Progressing, Degraded, DatabaseReady, RedisReady,
//! KindsAvailable) with CamelCase reasons and observedGeneration; lastTransitionTime moves only when a status flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;

use crate::crd::{BiddingDeployment, BiddingDeploymentStatus, Endpoints, ReplicaStatus};
use crate::render::Component;

/// Desired and ready pods of one workload; `None` when it does not exist (yet).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Workload {
    pub desired: i32,
    pub ready: i32,
    /// The controller has seen the latest spec and all pods run it.
    pub updated: bool,
}

impl Workload {
    pub fn is_ready(&self) -> bool {
        self.updated && self.ready >= self.desired
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Migration {
    /// status.version already equals spec.version.
    Done,
    Running {
        job: String,
    },
    Failed {
        job: String,
        message: String,
    },
}

/// What one reconciliation saw; everything the conditions are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Observations {
    pub migrated_version: Option<String>,
    pub migration: Migration,
    pub api: Option<Workload>,
    pub worker: Option<Workload>,
    /// `None` = external (not managed).
    pub postgres: Option<Option<Workload>>,
    pub redis: Option<Option<Workload>>,
    /// Kinds skipped because the server does not serve them ("policy/v1 PodDisruptionBudget", ...).
    pub skipped_kinds: Vec<String>,
    /// Things the operator refused or could not do, with a CamelCase reason each.
    pub problems: Vec<(String, String)>,
}

fn condition(
    kind: &str,
    ok: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: kind.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

fn store_ready(
    kind: &str,
    store: &Option<Option<Workload>>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    match store {
        None => condition(
            kind,
            true,
            "External",
            "an external service is configured".into(),
            generation,
            now,
        ),
        Some(Some(w)) if w.is_ready() => condition(
            kind,
            true,
            "PrimaryReady",
            format!("{}/{} pods ready", w.ready, w.desired),
            generation,
            now,
        ),
        Some(Some(w)) => condition(
            kind,
            false,
            "PrimaryNotReady",
            format!("{}/{} pods ready", w.ready, w.desired),
            generation,
            now,
        ),
        Some(None) => condition(
            kind,
            false,
            "NotCreated",
            "the StatefulSet does not exist yet".into(),
            generation,
            now,
        ),
    }
}

fn replica_status(workload: &Option<Workload>) -> ReplicaStatus {
    workload
        .map(|w| ReplicaStatus {
            replicas: w.desired,
            ready_replicas: w.ready,
        })
        .unwrap_or_default()
}

pub fn endpoints(bd: &BiddingDeployment) -> Endpoints {
    let ns = bd.namespace().unwrap_or_default();
    let svc = |component: Component, port: i32| format!("{}.{ns}.svc:{port}", component.name(bd));
    use crate::render::settings::{API_PORT, UI_PORT};
    Endpoints {
        api: Some(format!("http://{}", svc(Component::Api, API_PORT))),
        ui: Some(format!("http://{}", svc(Component::Api, UI_PORT))),
        monitor: bd.spec.monitor.enabled.then(|| {
            format!(
                "http://{}",
                svc(Component::Monitor, crate::render::monitor::MONITOR_PORT)
            )
        }),
        database: Some(match bd.spec.database.managed() {
            Some(_) => svc(Component::Postgres, crate::render::postgres::PORT),
            None => "external".into(),
        }),
        database_primary: bd.spec.database.managed().map(|_| {
            format!(
                "{}-0 (StatefulSet {})",
                Component::Postgres.name(bd),
                Component::Postgres.name(bd)
            )
        }),
        database_read_only: bd
            .spec
            .database
            .managed()
            .filter(|db| db.replicas > 0)
            .map(|_| {
                format!(
                    "{}.{ns}.svc:{}",
                    crate::render::postgres::read_only_name(bd),
                    crate::render::postgres::PORT
                )
            }),
        redis: Some(match bd.spec.redis.managed() {
            Some(_) => svc(Component::Redis, crate::render::redis::PORT),
            None => "external".into(),
        }),
        external: bd.spec.ingress.as_ref().map(|i| {
            let scheme = if i.tls_secret_name.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", i.host)
        }),
    }
}

/// The new status. Conditions whose status did not change keep their previous lastTransitionTime.
pub fn compute(bd: &BiddingDeployment, seen: &Observations, now: Time) -> BiddingDeploymentStatus {
    let generation = bd.metadata.generation;
    let previous = bd.status.clone().unwrap_or_default();
    let database = store_ready("DatabaseReady", &seen.postgres, generation, &now);
    let redis = store_ready("RedisReady", &seen.redis, generation, &now);
    let api_ready = seen.api.is_some_and(|w| w.is_ready());
    let workers_ready = seen.worker.is_some_and(|w| w.is_ready());

    let degraded = match (&seen.migration, seen.problems.first()) {
        (Migration::Failed { job, message }, _) => condition(
            "Degraded",
            true,
            "MigrationFailed",
            format!("Job {job} failed: {message}"),
            generation,
            &now,
        ),
        (_, Some((reason, message))) => {
            condition("Degraded", true, reason, message.clone(), generation, &now)
        }
        _ => condition(
            "Degraded",
            false,
            "AsExpected",
            "no problems observed".into(),
            generation,
            &now,
        ),
    };
    let progressing = match &seen.migration {
        Migration::Running { job } => condition(
            "Progressing",
            true,
            "MigrationRunning",
            format!(
                "waiting for Job {job} to migrate the database to {}",
                bd.spec.version
            ),
            generation,
            &now,
        ),
        _ if seen.api.is_some_and(|w| !w.updated) || seen.worker.is_some_and(|w| !w.updated) => {
            condition(
                "Progressing",
                true,
                "RollingOut",
                "API or worker pods are being replaced".into(),
                generation,
                &now,
            )
        }
        _ => condition(
            "Progressing",
            false,
            "Stable",
            "all components run the desired spec".into(),
            generation,
            &now,
        ),
    };
    let blockers: [(bool, &str, &str); 5] = [
        (
            matches!(seen.migration, Migration::Done),
            "MigrationPending",
            "the database migration has not completed",
        ),
        (
            database.status == "True",
            "DatabaseNotReady",
            "PostgreSQL is not ready",
        ),
        (
            redis.status == "True",
            "RedisNotReady",
            "Redis is not ready",
        ),
        (api_ready, "ApiNotReady", "API pods are not all ready"),
        (
            workers_ready,
            "WorkersNotReady",
            "worker pods are not all ready",
        ),
    ];
    let ready = match blockers.iter().find(|(ok, _, _)| !ok) {
        Some((_, reason, message)) => {
            condition("Ready", false, reason, (*message).into(), generation, &now)
        }
        None => condition(
            "Ready",
            true,
            "AllComponentsReady",
            "every component is ready".into(),
            generation,
            &now,
        ),
    };
    let kinds = if seen.skipped_kinds.is_empty() {
        condition(
            "KindsAvailable",
            true,
            "AllKindsServed",
            "every rendered kind is served".into(),
            generation,
            &now,
        )
    } else {
        condition(
            "KindsAvailable",
            false,
            "KindsNotServed",
            format!(
                "the API server does not serve {}; those objects were skipped",
                seen.skipped_kinds.join(", ")
            ),
            generation,
            &now,
        )
    };
    let conditions = [ready, progressing, degraded, database, redis, kinds]
        .into_iter()
        .map(|mut fresh| {
            if let Some(old) = previous.conditions.iter().find(|c| c.type_ == fresh.type_) {
                if old.status == fresh.status {
                    fresh.last_transition_time = old.last_transition_time.clone();
                }
            }
            fresh
        })
        .collect();
    let ratio = |w: &Option<Workload>| w.map(|w| format!("{}/{}", w.ready, w.desired));
    BiddingDeploymentStatus {
        observed_generation: generation,
        conditions,
        version: seen.migrated_version.clone(),
        api: replica_status(&seen.api),
        worker: replica_status(&seen.worker),
        api_ready: ratio(&seen.api),
        workers_ready: ratio(&seen.worker),
        endpoints: endpoints(bd),
        // lastBackup and BackupReady are added by `backup_status::apply`.
        ..Default::default()
    }
}

/// Conditions whose status differs between two statuses (what Events are published for).
pub fn transitions<'a>(
    old: &'a BiddingDeploymentStatus,
    new: &'a BiddingDeploymentStatus,
) -> Vec<&'a Condition> {
    new.conditions
        .iter()
        .filter(|fresh| {
            !old.conditions.iter().any(|c| {
                c.type_ == fresh.type_ && c.status == fresh.status && c.reason == fresh.reason
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    fn healthy() -> Observations {
        let ready = Workload {
            desired: 3,
            ready: 3,
            updated: true,
        };
        Observations {
            migrated_version: Some("1.0.0".into()),
            migration: Migration::Done,
            api: Some(ready),
            worker: Some(ready),
            postgres: Some(Some(Workload {
                desired: 1,
                ready: 1,
                updated: true,
            })),
            redis: Some(Some(Workload {
                desired: 1,
                ready: 1,
                updated: true,
            })),
            skipped_kinds: vec![],
            problems: vec![],
        }
    }

    fn get<'a>(status: &'a BiddingDeploymentStatus, kind: &str) -> &'a Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == kind)
            .unwrap_or_else(|| panic!("no {kind} condition"))
    }

    #[test]
    fn a_healthy_installation_is_ready_and_reports_counts() {
        let status = compute(&sample(), &healthy(), at(100));
        assert_eq!(
            (
                get(&status, "Ready").status.as_str(),
                get(&status, "Ready").reason.as_str()
            ),
            ("True", "AllComponentsReady")
        );
        assert_eq!(status.api_ready.as_deref(), Some("3/3"));
        assert!(status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(1)));
    }

    #[test]
    fn last_transition_time_moves_only_when_the_status_flips() {
        let mut bd = sample();
        bd.status = Some(compute(&bd, &healthy(), at(100)));
        let same = compute(&bd, &healthy(), at(200));
        assert_eq!(get(&same, "Ready").last_transition_time, at(100));
        let mut broken = healthy();
        broken.redis = Some(Some(Workload {
            desired: 1,
            ready: 0,
            updated: true,
        }));
        let flipped = compute(&bd, &broken, at(300));
        assert_eq!(
            (
                get(&flipped, "Ready").reason.as_str(),
                get(&flipped, "Ready").last_transition_time.clone()
            ),
            ("RedisNotReady", at(300))
        );
        assert_eq!(get(&flipped, "DatabaseReady").last_transition_time, at(100));
        let old = bd.status.clone().unwrap_or_default();
        let moved: Vec<&str> = transitions(&old, &flipped)
            .iter()
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(moved, vec!["Ready", "RedisReady"]);
    }

    #[test]
    fn missing_kinds_and_running_migrations_are_explained() {
        let mut seen = healthy();
        seen.skipped_kinds = vec!["policy/v1 PodDisruptionBudget".into()];
        seen.migration = Migration::Running {
            job: "bids-migrate-x".into(),
        };
        let status = compute(&sample(), &seen, at(1));
        assert_eq!(get(&status, "KindsAvailable").reason, "KindsNotServed");
        assert!(get(&status, "KindsAvailable")
            .message
            .contains("policy/v1 PodDisruptionBudget"));
        assert_eq!(get(&status, "Progressing").reason, "MigrationRunning");
        assert_eq!(get(&status, "Ready").reason, "MigrationPending");
    }
}
