//! The database migration Job (`aibid migrate`) for one aibid version.
//! Ordering choice: API/worker/scheduler/monitor run the last version whose Job *completed* (status.version);
//! a new version's Job runs first and the Deployments roll only afterwards, so old pods never see a newer schema
//! mid-rollout and new pods never start against an unmigrated database. Jobs are immutable, hence one per version.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::labels::{self, Component};
use super::pod::{self, AppPod};
use super::settings::Setting;
use crate::crd::BiddingDeployment;

/// `<cr>-migrate-<first 10 hex of sha256(JobSpec)>`: a Job's template is immutable, so any change of what the Job
/// would run (version, settings, labels) is a new Job rather than a refused update; always a valid object name.
pub fn job_name(bd: &BiddingDeployment, spec: &JobSpec) -> String {
    let content = serde_json::to_vec(spec).unwrap_or_default();
    let digest = hex::encode(Sha256::digest(&content));
    format!("{}-migrate-{}", bd.name_any(), &digest[..10])
}

pub fn job(bd: &BiddingDeployment, all: &[Setting]) -> Job {
    let component = Component::Migration;
    let version = bd.spec.version.as_str();
    let mut template = pod::app_template(
        bd,
        all,
        AppPod {
            component,
            role: "migrate",
            version,
            resources: &bd.spec.scheduler.resources,
            ports: vec![],
            probe_port: None,
            mounts_files: false,
        },
    );
    if let Some(spec) = template.spec.as_mut() {
        spec.restart_policy = Some("Never".into());
    }
    let spec = JobSpec {
        backoff_limit: Some(6),
        active_deadline_seconds: Some(1800),
        // Keep finished Jobs a week for inspection; status.version remembers the result after that.
        ttl_seconds_after_finished: Some(7 * 24 * 3600),
        template,
        ..Default::default()
    };
    Job {
        metadata: labels::owned_meta(
            bd,
            job_name(bd, &spec),
            labels::labels(bd, component, Some(version)),
        ),
        spec: Some(spec),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::settings::settings;
    use crate::render::testing::{observed, sample};

    #[test]
    fn any_change_to_what_the_job_runs_is_a_new_job_never_an_update_of_an_immutable_one() {
        let name = |bd: &BiddingDeployment| {
            job(bd, &settings(bd, &observed()))
                .metadata
                .name
                .unwrap_or_default()
        };
        let bd = sample();
        assert_eq!(name(&bd), name(&bd.clone()), "stable while nothing changes");
        let mut newer = bd.clone();
        newer.spec.version = "1.1.0".into();
        let mut louder = bd.clone();
        louder.spec.logging.level = crate::crd::LogLevel::Debug;
        let mut labelled = bd.clone();
        labelled.metadata.labels = Some([("team".to_string(), "bids".to_string())].into());
        for changed in [&newer, &louder, &labelled] {
            assert_ne!(name(&bd), name(changed));
        }
        let mut long = bd.clone();
        long.spec.version = "v".repeat(128);
        assert!(name(&long).len() <= 63);
    }
}
