//! Services in front of a component's pods: ClusterIP for clients, headless for stable StatefulSet pod DNS.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{self, Component};
use crate::crd::BiddingDeployment;

pub fn port(name: &str, port: i32, target: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(target.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A ClusterIP Service named `name` selecting `component`'s pods.
pub fn cluster_ip(
    bd: &BiddingDeployment,
    component: Component,
    name: String,
    ports: Vec<ServicePort>,
) -> Service {
    Service {
        metadata: labels::owned_meta(bd, name, labels::labels(bd, component, None)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels::selector_labels(bd, component)),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A headless Service (`clusterIP: None`) giving each StatefulSet pod a DNS name, also before it is ready.
pub fn headless(
    bd: &BiddingDeployment,
    component: Component,
    name: String,
    ports: Vec<ServicePort>,
) -> Service {
    Service {
        metadata: labels::owned_meta(bd, name, labels::labels(bd, component, None)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(labels::selector_labels(bd, component)),
            ports: Some(ports),
            publish_not_ready_addresses: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A headless Service `<cr>-<component>-metrics` exposing only the `metrics` port of a component that has no
/// client Service (workers, scheduler), so the ServiceMonitor scrapes every pod of it. A Service rather than a
/// PodMonitor: one ServiceMonitor then covers all four roles, and plain Prometheus `kubernetes_sd` (endpoints)
/// finds them too, without another CRD kind.
pub fn metrics_headless(bd: &BiddingDeployment, component: Component) -> Service {
    headless(
        bd,
        component,
        format!("{}-metrics", component.name(bd)),
        vec![port("metrics", super::settings::METRICS_PORT, "metrics")],
    )
}
