//! The ConfigMap with every non-secret setting; pods read single keys from it (env `configMapKeyRef`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;

use super::labels::{self, Component};
use super::settings::{Setting, Value};
use crate::crd::BiddingDeployment;

pub fn config_map_name(bd: &BiddingDeployment) -> String {
    format!("{}-config", bd.name_any())
}

pub fn config_map(bd: &BiddingDeployment, all: &[Setting]) -> ConfigMap {
    let data: BTreeMap<String, String> = all
        .iter()
        .filter_map(|setting| match &setting.value {
            Value::Plain(value) => Some((setting.name.to_string(), value.clone())),
            Value::Secret { .. } => None,
        })
        .collect();
    ConfigMap {
        metadata: labels::owned_meta(bd, config_map_name(bd), labels::labels(bd, Component::Config, None)),
        data: Some(data),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::settings::settings;
    use crate::render::testing::{observed, sample};

    #[test]
    fn the_config_map_holds_plain_settings_and_no_secret() {
        let bd = sample();
        let data = config_map(&bd, &settings(&bd, &observed())).data.unwrap_or_default();
        assert_eq!(data.get("WORKER_CONCURRENCY").map(String::as_str), Some("4"));
        assert_eq!(data.get("MAX_FILE_SIZE").map(String::as_str), Some("52428800"));
        for secret in ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY", "ADMIN_PASSWORD"] {
            assert!(!data.contains_key(secret), "{secret} must not be in a ConfigMap");
        }
    }
}
