//! PodDisruptionBudgets (policy/v1) for API and workers when more than one pod runs: a drain takes one at a time.
//! Single-pod components get none (a budget of zero would block node drains forever).

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{self, Component};
use crate::crd::{AutoscalingSpec, BiddingDeployment};

fn at_least_two(replicas: i32, autoscaling: &Option<AutoscalingSpec>) -> bool {
    autoscaling.as_ref().map_or(replicas, |a| a.min_replicas) >= 2
}

pub fn budgets(bd: &BiddingDeployment) -> Vec<(Component, PodDisruptionBudget)> {
    let spec = &bd.spec;
    [
        (Component::Api, at_least_two(spec.api.replicas, &spec.api.autoscaling)),
        (Component::Worker, at_least_two(spec.worker.replicas, &spec.worker.autoscaling)),
    ]
    .into_iter()
    .filter(|(_, wanted)| *wanted)
    .map(|(component, _)| {
        let pdb = PodDisruptionBudget {
            metadata: labels::owned_meta(bd, component.name(bd), labels::labels(bd, component, None)),
            spec: Some(PodDisruptionBudgetSpec {
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(labels::selector(bd, component)),
                ..Default::default()
            }),
            ..Default::default()
        };
        (component, pdb)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::sample;

    #[test]
    fn only_multi_pod_components_get_a_budget() {
        let mut bd = sample();
        assert_eq!(budgets(&bd).len(), 2);
        bd.spec.worker.replicas = 1;
        let components: Vec<Component> = budgets(&bd).into_iter().map(|(c, _)| c).collect();
        assert_eq!(components, vec![Component::Api]);
    }
}
