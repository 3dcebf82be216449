//! The task monitor (the guide's Flower on port 5555): queue and worker pages, a Deployment and a Service.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::Service;

use super::labels::{self, Component};
use super::pod::{self, AppPod};
use super::service;
use super::settings::{Setting, API_PORT, METRICS_PORT};
use crate::crd::BiddingDeployment;

/// The port the guide publishes the monitor on.
pub const MONITOR_PORT: i32 = 5555;

pub fn deployment(bd: &BiddingDeployment, all: &[Setting], version: &str) -> Deployment {
    let component = Component::Monitor;
    Deployment {
        metadata: labels::owned_meta(
            bd,
            component.name(bd),
            labels::labels(bd, component, Some(version)),
        ),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: labels::selector(bd, component),
            template: pod::app_template(
                bd,
                all,
                AppPod {
                    component,
                    role: "monitor",
                    version,
                    resources: &bd.spec.monitor.resources,
                    ports: vec![
                        pod::port("http", API_PORT),
                        pod::port("metrics", METRICS_PORT),
                    ],
                    probe_port: Some("http"),
                    mounts_files: false,
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn service(bd: &BiddingDeployment) -> Service {
    let ports = vec![
        service::port("http", MONITOR_PORT, "http"),
        service::port("metrics", METRICS_PORT, "metrics"),
    ];
    service::cluster_ip(bd, Component::Monitor, Component::Monitor.name(bd), ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monitor_is_reachable_on_the_guides_port_5555() {
        let service = service(&crate::render::testing::sample());
        let ports = service.spec.and_then(|s| s.ports).unwrap_or_default();
        assert!(ports.iter().any(|p| p.port == MONITOR_PORT));
    }
}
