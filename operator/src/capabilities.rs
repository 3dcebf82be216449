//! Which optional kinds the API server serves (asked once through discovery). Kinds it lacks — policy/v1 PDB and
//! autoscaling/v2 HPA on 1.20, monitoring CRDs without kube-prometheus-stack — are skipped with a condition.

use std::collections::BTreeSet;

use kube::Client;

/// (apiVersion, kind) pairs the operator may render that not every server has.
pub const OPTIONAL_KINDS: [(&str, &str); 5] = [
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("batch/v1", "CronJob"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capabilities {
    /// Optional kinds the server serves.
    served: BTreeSet<(String, String)>,
    /// Server minor version (e.g. 20), for fields older servers reject under server-side apply.
    pub minor: u32,
}

impl Capabilities {
    /// A server that serves everything (used by `render` and unit tests).
    pub fn everything() -> Self {
        let served = OPTIONAL_KINDS.iter().map(|(v, k)| (v.to_string(), k.to_string())).collect();
        Self { served, minor: u32::MAX }
    }

    pub fn from_parts(served: impl IntoIterator<Item = (String, String)>, minor: u32) -> Self {
        Self { served: served.into_iter().collect(), minor }
    }

    pub async fn discover(client: &Client) -> Result<Self, kube::Error> {
        let version = client.apiserver_version().await?;
        let minor = version.minor.trim_end_matches('+').parse().unwrap_or(0);
        let mut served = BTreeSet::new();
        for (api_version, kind) in OPTIONAL_KINDS {
            // A 404 means the group/version is not served at all.
            match client.list_api_group_resources(api_version).await {
                Ok(list) if list.resources.iter().any(|r| r.kind == kind) => {
                    served.insert((api_version.to_string(), kind.to_string()));
                }
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(other) => return Err(other),
            }
        }
        Ok(Self { served, minor })
    }

    /// Whether an object of this apiVersion/kind can be applied; core kinds are always served.
    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        let optional = OPTIONAL_KINDS.iter().any(|(v, k)| *v == api_version && *k == kind);
        !optional || self.served.contains(&(api_version.to_string(), kind.to_string()))
    }

    /// StatefulSet `persistentVolumeClaimRetentionPolicy` (beta since 1.27; older servers reject it under SSA).
    pub fn pvc_retention_policy(&self) -> bool {
        self.minor >= 27
    }
}
