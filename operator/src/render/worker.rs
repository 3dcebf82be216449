//! The worker Deployment: runs generation tasks from the Redis queue, `WORKER_CONCURRENCY` at a time.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};

use super::labels::{self, Component};
use super::pod::{self, AppPod};
use super::settings::{Setting, METRICS_PORT};
use crate::crd::BiddingDeployment;

pub fn deployment(bd: &BiddingDeployment, all: &[Setting], version: &str) -> Deployment {
    let component = Component::Worker;
    Deployment {
        metadata: labels::owned_meta(bd, component.name(bd), labels::labels(bd, component, Some(version))),
        spec: Some(DeploymentSpec {
            replicas: bd.spec.worker.autoscaling.is_none().then_some(bd.spec.worker.replicas),
            selector: labels::selector(bd, component),
            strategy: Some(super::api::rolling_without_capacity_loss()),
            template: pod::app_template(
                bd,
                all,
                AppPod {
                    component,
                    role: "worker",
                    version,
                    resources: &bd.spec.worker.resources,
                    ports: vec![pod::port("metrics", METRICS_PORT)],
                    probe_port: Some("metrics"),
                    mounts_files: true,
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::settings::settings;
    use crate::render::testing::{observed, sample};

    #[test]
    fn workers_get_the_guides_sizing_and_read_their_concurrency() {
        let bd = sample();
        let deployment = deployment(&bd, &settings(&bd, &observed()), "1.0.0");
        let spec = deployment.spec.unwrap_or_default();
        assert_eq!(spec.replicas, Some(3));
        let container = &spec.template.spec.unwrap_or_default().containers[0];
        let limits = container.resources.as_ref().and_then(|r| r.limits.clone()).unwrap_or_default();
        assert_eq!(limits.get("cpu").map(|q| q.0.as_str()), Some("2"));
        assert_eq!(limits.get("memory").map(|q| q.0.as_str()), Some("4Gi"));
        let env: Vec<&str> = container.env.iter().flatten().map(|e| e.name.as_str()).collect();
        assert!(env.contains(&"WORKER_CONCURRENCY") && !env.contains(&"JWT_SECRET"));
    }
}
