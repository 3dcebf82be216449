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

/// `<cr>-migrate-<first 10 hex of sha256(version)>`: stable per version, always a valid object name.
pub fn job_name(bd: &BiddingDeployment, version: &str) -> String {
    let digest = hex::encode(Sha256::digest(version.as_bytes()));
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
    Job {
        metadata: labels::owned_meta(bd, job_name(bd, version), labels::labels(bd, component, Some(version))),
        spec: Some(JobSpec {
            backoff_limit: Some(6),
            active_deadline_seconds: Some(1800),
            // Keep finished Jobs a week for inspection; status.version remembers the result after that.
            ttl_seconds_after_finished: Some(7 * 24 * 3600),
            template,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;

    #[test]
    fn each_version_gets_its_own_short_job_name() {
        let bd = sample();
        assert_ne!(job_name(&bd, "1.0.0"), job_name(&bd, "1.1.0"));
        assert!(job_name(&bd, &"v".repeat(128)).len() <= 63);
    }
}
