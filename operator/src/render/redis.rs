//! Managed Redis (guide 3.4.2): a StatefulSet with AOF (`appendonly yes`), `maxmemory` + eviction policy,
//! `requirepass` from the generated Secret, and the dangerous commands renamed away.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::labels::{self, Component};
use super::postgres::{
    claim_template, config_volume, exec_probe, mount, retention_policy, secret_env, DATA_CLAIM,
};
use super::service;
use super::{pod, Credentials, CONFIG_HASH_ANNOTATION};
use crate::crd::{BiddingDeployment, ManagedRedis};

pub const PORT: i32 = 6379;
/// uid of the `redis` user in the official image.
const REDIS_UID: i64 = 999;
/// Commands that wipe or reconfigure the server; renamed to "" (disabled) as the guide advises.
pub const DISABLED_COMMANDS: [&str; 4] = ["FLUSHALL", "FLUSHDB", "DEBUG", "CONFIG"];

pub fn headless_name(bd: &BiddingDeployment) -> String {
    format!("{}-redis-headless", bd.name_any())
}

pub fn url(bd: &BiddingDeployment, credentials: &Credentials) -> String {
    format!(
        "redis://:{}@{}:{PORT}/0",
        credentials.redis_password,
        Component::Redis.name(bd)
    )
}

pub fn redis_conf(redis: &ManagedRedis) -> String {
    let mut conf = format!(
        "bind 0.0.0.0\nport {PORT}\nprotected-mode yes\ndir /data\nappendonly yes\nappendfsync everysec\n\
         maxmemory {}\nmaxmemory-policy {}\ntcp-keepalive 300\n",
        redis.maxmemory,
        redis.maxmemory_policy.as_redis()
    );
    for command in DISABLED_COMMANDS {
        conf.push_str(&format!("rename-command {command} \"\"\n"));
    }
    conf
}

pub fn config_map(bd: &BiddingDeployment, redis: &ManagedRedis) -> ConfigMap {
    ConfigMap {
        metadata: labels::owned_meta(
            bd,
            Component::Redis.name(bd),
            labels::labels(bd, Component::Redis, None),
        ),
        data: Some(BTreeMap::from([(
            "redis.conf".to_string(),
            redis_conf(redis),
        )])),
        ..Default::default()
    }
}

pub fn headless_service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("redis", PORT, "redis")];
    service::headless(bd, Component::Redis, headless_name(bd), ports)
}

pub fn service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("redis", PORT, "redis")];
    service::cluster_ip(bd, Component::Redis, Component::Redis.name(bd), ports)
}

pub fn stateful_set(bd: &BiddingDeployment, redis: &ManagedRedis) -> StatefulSet {
    let component = Component::Redis;
    let config_hash = hex::encode(Sha256::digest(redis_conf(redis).as_bytes()));
    let ping = "redis-cli --no-auth-warning -a \"$REDIS_PASSWORD\" ping | grep -q PONG";
    let container = Container {
        name: "redis".into(),
        image: Some(redis.image.clone()),
        // $(REDIS_PASSWORD) is expanded by the kubelet, so the password never lands in the ConfigMap.
        command: Some(vec![
            "redis-server".into(),
            "/etc/redis/redis.conf".into(),
            "--requirepass".into(),
            "$(REDIS_PASSWORD)".into(),
        ]),
        env: Some(vec![secret_env(
            "REDIS_PASSWORD",
            super::generated_secret_name(bd),
            "redis-password",
        )]),
        ports: Some(vec![pod::port("redis", PORT)]),
        resources: Some(pod::resources(&redis.resources)),
        readiness_probe: Some(exec_probe(ping, 5, 3)),
        liveness_probe: Some(exec_probe(ping, 10, 6)),
        security_context: Some(pod::restricted_container_security()),
        volume_mounts: Some(vec![
            mount(DATA_CLAIM, "/data"),
            mount("config", "/etc/redis"),
        ]),
        ..Default::default()
    };
    StatefulSet {
        metadata: labels::owned_meta(bd, component.name(bd), labels::labels(bd, component, None)),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(headless_name(bd)),
            selector: labels::selector(bd, component),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: None,
            }),
            persistent_volume_claim_retention_policy: Some(retention_policy(&redis.storage)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels::stateful_pod_labels(bd, component)),
                    annotations: Some(BTreeMap::from([(
                        CONFIG_HASH_ANNOTATION.to_string(),
                        config_hash,
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    security_context: Some(pod::pod_security(REDIS_UID)),
                    containers: vec![container],
                    volumes: Some(vec![config_volume("config", component.name(bd))]),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![claim_template(bd, component, &redis.storage)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_persists_evicts_by_lru_and_refuses_dangerous_commands() {
        let conf = redis_conf(&ManagedRedis::default());
        for line in [
            "appendonly yes",
            "maxmemory 1536mb",
            "maxmemory-policy allkeys-lru",
            "rename-command FLUSHALL \"\"",
        ] {
            assert!(conf.contains(line), "redis.conf lacks {line}");
        }
        assert!(
            !conf.contains("requirepass"),
            "the password must not be written into a ConfigMap"
        );
    }

    #[test]
    fn redis_requires_the_generated_password() {
        let bd = crate::render::testing::sample();
        let sts = stateful_set(&bd, &ManagedRedis::default());
        let container = &sts
            .spec
            .and_then(|s| s.template.spec)
            .unwrap_or_default()
            .containers[0];
        assert!(container
            .command
            .iter()
            .flatten()
            .any(|arg| arg == "--requirepass"));
        let env = &container
            .env
            .as_ref()
            .map(|e| e[0].clone())
            .unwrap_or_default();
        let key = env
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .map(|r| r.key.clone());
        assert_eq!(key.as_deref(), Some("redis-password"));
    }
}
