//! The scheduler Deployment: exactly one replica, replaced with `Recreate` so periodic jobs never run twice.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};

use super::labels::{self, Component};
use super::pod::{self, AppPod};
use super::settings::{Setting, METRICS_PORT};
use crate::crd::BiddingDeployment;

pub fn deployment(bd: &BiddingDeployment, all: &[Setting], version: &str) -> Deployment {
    let component = Component::Scheduler;
    Deployment {
        metadata: labels::owned_meta(bd, component.name(bd), labels::labels(bd, component, Some(version))),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: labels::selector(bd, component),
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), rolling_update: None }),
            template: pod::app_template(
                bd,
                all,
                AppPod {
                    component,
                    role: "scheduler",
                    version,
                    resources: &bd.spec.scheduler.resources,
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
    fn there_is_exactly_one_scheduler_and_it_is_never_doubled_during_a_rollout() {
        let mut bd = sample();
        bd.spec.api.replicas = 7;
        let spec = deployment(&bd, &settings(&bd, &observed()), "1.0.0").spec.unwrap_or_default();
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.strategy.and_then(|s| s.type_).as_deref(), Some("Recreate"));
    }
}
