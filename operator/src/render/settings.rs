//! The environment the aibid processes read: one list of names shared with the service
//! (`workloads/service/src/config/env_names.rs`), each setting's value source and which components read it.
//! Per-component fingerprints of exactly those values go into pod-template annotations.

use sha2::{Digest, Sha256};

use super::labels::Component::{self, Api, Migration, Monitor, Scheduler, Worker};
use super::Observed;
use crate::crd::{BiddingDeployment, LogFormat, LogLevel};
use kube::ResourceExt;

/// Every variable the operator can render. The service's list must name the same ones (tested on both sides).
pub const ENV_VARS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "REDIS_URL",
    "WORKER_CONCURRENCY",
    "JWT_SECRET",
    "ENCRYPTION_KEY",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "UPLOAD_PATH",
    "OUTPUT_PATH",
    "MAX_FILE_SIZE",
    "LLM_PROVIDER",
    "LLM_API_KEY",
    "LLM_MODEL",
    "LLM_BASE_URL",
    "LLM_TIMEOUT",
    "LLM_MAX_RETRIES",
    "METRICS_ENABLED",
    "METRICS_PORT",
    "API_PORT",
    "UI_PORT",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "RETENTION_DAYS",
];

pub const API_PORT: i32 = 8000;
pub const UI_PORT: i32 = 7860;
pub const METRICS_PORT: i32 = 9090;
pub const DATA_MOUNT: &str = "/data";

/// Where a setting's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Non-secret: stored in the ConfigMap.
    Plain(String),
    /// A Secret key. `known` is the content when the operator manages that Secret (it feeds the fingerprint);
    /// a user's Secret is fingerprinted by its reference.
    Secret {
        name: String,
        key: String,
        known: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: &'static str,
    pub value: Value,
    pub used_by: &'static [Component],
}

const APP: &[Component] = &[Api, Worker, Scheduler, Monitor, Migration];
const SERVING: &[Component] = &[Api, Worker, Scheduler, Monitor];
const FILES: &[Component] = &[Api, Worker, Scheduler];
const LLM: &[Component] = &[Api, Worker];

/// Name of the Secret holding the connection URLs of managed PostgreSQL/Redis (rendered on every reconcile).
pub fn connection_secret_name(bd: &BiddingDeployment) -> String {
    format!("{}-connection", bd.name_any())
}

fn generated(bd: &BiddingDeployment, key: &str, value: &str) -> Value {
    Value::Secret {
        name: super::generated_secret_name(bd),
        key: key.into(),
        known: Some(value.into()),
    }
}

/// A user's Secret key; `known` is the sha256 of its current value when reconcile could read it.
fn user_secret(reference: &crate::crd::SecretKeyRef, observed: &Observed) -> Value {
    let digest = observed
        .secret_digests
        .get(&(reference.name.clone(), reference.key.clone()));
    Value::Secret {
        name: reference.name.clone(),
        key: reference.key.clone(),
        known: digest.map(|digest| format!("sha256:{digest}")),
    }
}

fn plain(value: impl ToString) -> Value {
    Value::Plain(value.to_string())
}

/// All settings of `bd`, in [`ENV_VARS`] order; optional ones (LLM key, base URL) only when configured.
pub fn settings(bd: &BiddingDeployment, observed: &Observed) -> Vec<Setting> {
    let spec = &bd.spec;
    let creds = &observed.credentials;
    let connection = |key: &str, url: String| Value::Secret {
        name: connection_secret_name(bd),
        key: key.into(),
        known: Some(url),
    };
    let database_url = match &spec.database.external {
        Some(external) => user_secret(&external.url_secret_ref, observed),
        None => connection("database-url", super::postgres::url(bd, creds)),
    };
    let redis_url = match &spec.redis.external {
        Some(external) => user_secret(&external.url_secret_ref, observed),
        None => connection("redis-url", super::redis::url(bd, creds)),
    };
    let jwt = match &spec.security.jwt_secret_ref {
        Some(reference) => user_secret(reference, observed),
        None => generated(bd, "jwt-secret", &creds.jwt_secret),
    };
    let encryption = match &spec.security.encryption_key_secret_ref {
        Some(reference) => user_secret(reference, observed),
        None => generated(bd, "encryption-key", &creds.encryption_key),
    };
    let admin_password = match &spec.security.admin_password_secret_ref {
        Some(reference) => user_secret(reference, observed),
        None => generated(bd, "admin-password", &creds.admin_password),
    };
    let log_level = match spec.logging.level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    let log_format = match spec.logging.format {
        LogFormat::Json => "json",
        LogFormat::Text => "text",
    };
    let mut all = vec![
        Setting {
            name: "DATABASE_URL",
            value: database_url,
            used_by: APP,
        },
        Setting {
            name: "DATABASE_POOL_SIZE",
            value: plain(spec.database.pool_size),
            used_by: SERVING,
        },
        Setting {
            name: "REDIS_URL",
            value: redis_url,
            used_by: SERVING,
        },
        Setting {
            name: "WORKER_CONCURRENCY",
            value: plain(spec.worker.concurrency),
            used_by: &[Worker],
        },
        Setting {
            name: "JWT_SECRET",
            value: jwt,
            // The monitor role logs users in with the same tokens as the API.
            used_by: &[Api, Monitor],
        },
        Setting {
            name: "ENCRYPTION_KEY",
            value: encryption,
            used_by: LLM,
        },
        Setting {
            name: "LOG_LEVEL",
            value: plain(log_level),
            used_by: APP,
        },
        Setting {
            name: "LOG_FORMAT",
            value: plain(log_format),
            used_by: APP,
        },
        Setting {
            name: "UPLOAD_PATH",
            value: plain(format!("{DATA_MOUNT}/uploads")),
            used_by: FILES,
        },
        Setting {
            name: "OUTPUT_PATH",
            value: plain(format!("{DATA_MOUNT}/outputs")),
            used_by: FILES,
        },
        // Bytes: the service compares request sizes against it.
        Setting {
            name: "MAX_FILE_SIZE",
            value: plain(i64::from(spec.max_upload_mib) * 1024 * 1024),
            used_by: &[Api],
        },
        Setting {
            name: "LLM_PROVIDER",
            value: plain(&spec.llm.provider),
            used_by: LLM,
        },
    ];
    if let Some(reference) = &spec.llm.api_key_secret_ref {
        all.push(Setting {
            name: "LLM_API_KEY",
            value: user_secret(reference, observed),
            used_by: LLM,
        });
    }
    all.push(Setting {
        name: "LLM_MODEL",
        value: plain(&spec.llm.model),
        used_by: LLM,
    });
    if let Some(base_url) = &spec.llm.base_url {
        all.push(Setting {
            name: "LLM_BASE_URL",
            value: plain(base_url),
            used_by: LLM,
        });
    }
    all.extend([
        Setting {
            name: "LLM_TIMEOUT",
            value: plain(spec.llm.timeout_seconds),
            used_by: LLM,
        },
        Setting {
            name: "LLM_MAX_RETRIES",
            value: plain(spec.llm.max_retries),
            used_by: LLM,
        },
        Setting {
            name: "METRICS_ENABLED",
            value: plain("true"),
            used_by: SERVING,
        },
        Setting {
            name: "METRICS_PORT",
            value: plain(METRICS_PORT),
            used_by: SERVING,
        },
        // The monitor serves its pages on API_PORT too; its Service exposes them as 5555.
        Setting {
            name: "API_PORT",
            value: plain(API_PORT),
            used_by: &[Api, Monitor],
        },
        Setting {
            name: "UI_PORT",
            value: plain(UI_PORT),
            used_by: &[Api],
        },
        Setting {
            name: "ADMIN_EMAIL",
            value: plain(&spec.security.admin_email),
            used_by: &[Api, Migration],
        },
        Setting {
            name: "ADMIN_PASSWORD",
            value: admin_password,
            used_by: &[Api, Migration],
        },
        Setting {
            name: "RETENTION_DAYS",
            value: plain(spec.retention_days),
            used_by: &[Scheduler],
        },
    ]);
    all
}

/// Settings one component reads.
pub fn for_component(all: &[Setting], component: Component) -> impl Iterator<Item = &Setting> {
    all.iter()
        .filter(move |setting| setting.used_by.contains(&component))
}

/// sha256 of the config values and of the secret values (or references) one component reads, so that a change
/// rolls exactly the pods that read what changed.
pub fn fingerprints(all: &[Setting], component: Component) -> (String, String) {
    let mut config = Sha256::new();
    let mut secret = Sha256::new();
    for setting in for_component(all, component) {
        match &setting.value {
            Value::Plain(value) => {
                config.update(setting.name);
                config.update([0]);
                config.update(value);
                config.update([0]);
            }
            Value::Secret { name, key, known } => {
                for part in [setting.name, name, key, known.as_deref().unwrap_or("")] {
                    secret.update(part);
                    secret.update([0]);
                }
            }
        }
    }
    (
        hex::encode(config.finalize()),
        hex::encode(secret.finalize()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::{observed, sample};

    #[test]
    fn every_rendered_name_is_in_the_shared_list_and_each_appears_once() {
        let mut bd = sample();
        bd.spec.llm.api_key_secret_ref = Some(crate::crd::SecretKeyRef {
            name: "llm".into(),
            key: "key".into(),
        });
        bd.spec.llm.base_url = Some("https://llm.example/v1".into());
        let names: Vec<&str> = settings(&bd, &observed()).iter().map(|s| s.name).collect();
        assert_eq!(
            names, ENV_VARS,
            "with every option set the operator renders exactly the shared list, in order"
        );
    }

    /// The service's list (`workloads/service/src/config/env_names.rs`) and ours must agree both ways.
    #[test]
    fn the_service_reads_exactly_the_names_the_operator_renders() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../workloads/service/src/config/env_names.rs"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("the service's env var list {path} is missing ({e}); it is the other half of this contract")
        });
        let service: std::collections::BTreeSet<&str> = text
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|name| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            })
            .collect();
        let ours: std::collections::BTreeSet<&str> = ENV_VARS.iter().copied().collect();
        assert_eq!(
            ours.difference(&service).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "rendered but not read by the service"
        );
        assert_eq!(
            service.difference(&ours).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "read by the service but not renderable"
        );
    }

    #[test]
    fn changing_the_llm_model_changes_api_and_worker_fingerprints_only() {
        let before = sample();
        let mut after = before.clone();
        after.spec.llm.model = "deepseek-reasoner".into();
        let (a, b) = (
            settings(&before, &observed()),
            settings(&after, &observed()),
        );
        for component in [Api, Worker] {
            assert_ne!(
                fingerprints(&a, component),
                fingerprints(&b, component),
                "{component:?} must roll"
            );
        }
        for component in [Scheduler, Monitor, Migration] {
            assert_eq!(
                fingerprints(&a, component),
                fingerprints(&b, component),
                "{component:?} must not roll"
            );
        }
    }

    #[test]
    fn the_monitor_can_log_users_in_with_the_apis_jwt_secret() {
        let all = settings(&sample(), &observed());
        let jwt = |component| {
            for_component(&all, component)
                .find(|s| s.name == "JWT_SECRET")
                .map(|s| s.value.clone())
        };
        assert!(jwt(Monitor).is_some(), "the monitor role needs JWT_SECRET");
        assert_eq!(
            jwt(Monitor),
            jwt(Api),
            "tokens from one must verify on the other"
        );
        assert!(jwt(Worker).is_none() && jwt(Scheduler).is_none());
    }

    #[test]
    fn worker_concurrency_rolls_only_workers() {
        let before = sample();
        let mut after = before.clone();
        after.spec.worker.concurrency = 8;
        let (a, b) = (
            settings(&before, &observed()),
            settings(&after, &observed()),
        );
        assert_ne!(fingerprints(&a, Worker), fingerprints(&b, Worker));
        for component in [Api, Scheduler, Monitor, Migration] {
            assert_eq!(fingerprints(&a, component), fingerprints(&b, component));
        }
    }
}
