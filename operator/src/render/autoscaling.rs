//! HorizontalPodAutoscalers (autoscaling/v2) for API and workers when `autoscaling` is set.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};

use super::labels::{self, Component};
use crate::crd::{AutoscalingSpec, BiddingDeployment};

fn autoscaler(bd: &BiddingDeployment, component: Component, spec: &AutoscalingSpec) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: labels::owned_meta(bd, component.name(bd), labels::labels(bd, component, None)),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: component.name(bd),
            },
            min_replicas: Some(spec.min_replicas),
            max_replicas: spec.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(spec.target_cpu_utilization),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn autoscalers(bd: &BiddingDeployment) -> Vec<(Component, HorizontalPodAutoscaler)> {
    [(Component::Api, &bd.spec.api.autoscaling), (Component::Worker, &bd.spec.worker.autoscaling)]
        .into_iter()
        .filter_map(|(component, spec)| spec.as_ref().map(|spec| (component, autoscaler(bd, component, spec))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;

    #[test]
    fn autoscaling_workers_creates_one_hpa_targeting_the_worker_deployment() {
        let mut bd = sample();
        assert!(autoscalers(&bd).is_empty());
        bd.spec.worker.autoscaling = Some(AutoscalingSpec { min_replicas: 2, max_replicas: 10, target_cpu_utilization: 60 });
        let hpas = autoscalers(&bd);
        assert_eq!(hpas.len(), 1);
        let spec = hpas[0].1.spec.clone().unwrap_or_default();
        assert_eq!((spec.scale_target_ref.name.as_str(), spec.min_replicas, spec.max_replicas), ("bids-worker", Some(2), 10));
    }
}
