//! The API Deployment (HTTP API + web UI + /metrics) and its Service.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{self, Component};
use super::pod::{self, AppPod};
use super::service;
use super::settings::{Setting, API_PORT, METRICS_PORT, UI_PORT};
use crate::crd::BiddingDeployment;

pub fn deployment(bd: &BiddingDeployment, all: &[Setting], version: &str) -> Deployment {
    let component = Component::Api;
    Deployment {
        metadata: labels::owned_meta(
            bd,
            component.name(bd),
            labels::labels(bd, component, Some(version)),
        ),
        spec: Some(DeploymentSpec {
            // With autoscaling the HPA owns the count; leaving it out keeps the operator from fighting it.
            replicas: bd
                .spec
                .api
                .autoscaling
                .is_none()
                .then_some(bd.spec.api.replicas),
            selector: labels::selector(bd, component),
            strategy: Some(rolling_without_capacity_loss()),
            template: pod::app_template(
                bd,
                all,
                AppPod {
                    component,
                    role: "api",
                    version,
                    resources: &bd.spec.api.resources,
                    ports: vec![
                        pod::port("http", API_PORT),
                        pod::port("ui", UI_PORT),
                        pod::port("metrics", METRICS_PORT),
                    ],
                    probe_port: Some("http"),
                    mounts_files: true,
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Surge one pod, never drop below the desired count during a rollout.
pub fn rolling_without_capacity_loss() -> DeploymentStrategy {
    DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(IntOrString::Int(1)),
            max_unavailable: Some(IntOrString::Int(0)),
        }),
    }
}

pub fn service(bd: &BiddingDeployment) -> Service {
    let ports = vec![
        service::port("http", API_PORT, "http"),
        service::port("ui", UI_PORT, "ui"),
        service::port("metrics", METRICS_PORT, "metrics"),
    ];
    service::cluster_ip(bd, Component::Api, Component::Api.name(bd), ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::settings::settings;
    use crate::render::testing::{observed, sample};

    #[test]
    fn the_api_runs_the_guides_three_replicas_with_health_and_readiness_probes() {
        let bd = sample();
        let deployment = deployment(&bd, &settings(&bd, &observed()), "1.0.0");
        let spec = deployment.spec.unwrap_or_default();
        assert_eq!(spec.replicas, Some(3));
        let container = &spec.template.spec.unwrap_or_default().containers[0];
        let path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
            probe
                .as_ref()
                .and_then(|p| p.http_get.as_ref())
                .and_then(|h| h.path.clone())
        };
        assert_eq!(path(&container.liveness_probe).as_deref(), Some("/health"));
        assert_eq!(path(&container.readiness_probe).as_deref(), Some("/ready"));
        assert_eq!(container.args.as_deref(), Some(&["api".to_string()][..]));
    }

    #[test]
    fn with_autoscaling_the_replica_count_is_left_to_the_hpa() {
        let mut bd = sample();
        bd.spec.api.autoscaling = Some(crate::crd::AutoscalingSpec {
            min_replicas: 2,
            max_replicas: 5,
            target_cpu_utilization: 70,
        });
        let deployment = deployment(&bd, &settings(&bd, &observed()), "1.0.0");
        assert_eq!(deployment.spec.and_then(|s| s.replicas), None);
    }
}
