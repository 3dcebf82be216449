//! Managed Redis (guide 3.4.2): the primary StatefulSet `<name>-redis` (one pod, `<name>-redis-0`, behind the client
//! Service `<name>-redis`) and optional replicas in `<name>-redis-replica` that follow the primary by its stable
//! headless-Service DNS name (never a pod IP, which changes when the pod restarts). Every pod starts through
//! `redis-start.sh`: AOF (`appendonly yes`), `maxmemory` + eviction policy from the spec, `requirepass` from the
//! generated Secret written only into the pod's runtime config, and the dangerous commands renamed away.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::labels::{self, Component};
use super::postgres::{
    claim_template, config_volume, empty_dir, exec_probe, mount, plain_env, pod_dns_name,
    retention_policy, scripts_volume, secret_env, DATABASE_SCRIPTS, DATA_CLAIM, SCRIPTS_MOUNT,
};
use super::service;
use super::{pod, Credentials, CONFIG_HASH_ANNOTATION};
use crate::crd::{BiddingDeployment, ManagedRedis};

pub const PORT: i32 = 6379;
/// uid of the `redis` user in the official image.
const REDIS_UID: i64 = 999;
/// Commands that wipe or reconfigure the server; renamed to "" (disabled) as the guide advises.
pub const DISABLED_COMMANDS: [&str; 4] = ["FLUSHALL", "FLUSHDB", "DEBUG", "CONFIG"];
const START_SCRIPT: &str = "redis-start.sh";

pub fn headless_name(bd: &BiddingDeployment) -> String {
    format!("{}-redis-headless", bd.name_any())
}

pub fn replica_headless_name(bd: &BiddingDeployment) -> String {
    format!("{}-headless", Component::RedisReplica.name(bd))
}

/// The primary's DNS name, which replicas follow.
pub fn primary_host(bd: &BiddingDeployment) -> String {
    pod_dns_name(bd, &Component::Redis.name(bd), &headless_name(bd))
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
        "bind 0.0.0.0\nport {PORT}\nprotected-mode yes\nappendonly yes\nappendfsync everysec\n\
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

pub fn replica_headless_service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("redis", PORT, "redis")];
    service::headless(
        bd,
        Component::RedisReplica,
        replica_headless_name(bd),
        ports,
    )
}

/// Clients: the primary only (replicas refuse writes).
pub fn service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("redis", PORT, "redis")];
    service::cluster_ip(bd, Component::Redis, Component::Redis.name(bd), ports)
}

fn config_hash(redis: &ManagedRedis) -> String {
    let script = DATABASE_SCRIPTS
        .iter()
        .find(|(name, _)| *name == START_SCRIPT)
        .map(|(_, text)| *text)
        .unwrap_or_default();
    hex::encode(Sha256::digest(
        format!("{}{script}", redis_conf(redis)).as_bytes(),
    ))
}

fn redis_set(bd: &BiddingDeployment, redis: &ManagedRedis, component: Component) -> StatefulSet {
    let primary = component == Component::Redis;
    let ping = "redis-cli --no-auth-warning -a \"$REDIS_PASSWORD\" ping | grep -q PONG";
    let mut env = vec![
        plain_env("REDIS_ROLE", if primary { "primary" } else { "replica" }),
        secret_env(
            "REDIS_PASSWORD",
            super::generated_secret_name(bd),
            "redis-password",
        ),
        plain_env("REDIS_RUNTIME_CONF", "/tmp/redis-runtime.conf"),
    ];
    if !primary {
        env.push(plain_env("REDIS_PRIMARY_HOST", &primary_host(bd)));
        env.push(plain_env("REDIS_PRIMARY_PORT", &PORT.to_string()));
    }
    let container = Container {
        name: "redis".into(),
        image: Some(redis.image.clone()),
        // The password goes into the runtime config in the pod's /tmp, never into a ConfigMap or the command line.
        command: Some(vec![
            "bash".into(),
            format!("{SCRIPTS_MOUNT}/{START_SCRIPT}"),
            "/etc/redis/redis.conf".into(),
        ]),
        env: Some(env),
        // Redis keeps its AOF and RDB files in its working directory; a `dir` line in redis.conf would be a path
        // that must exist wherever the config is read.
        working_dir: Some("/data".into()),
        ports: Some(vec![pod::port("redis", PORT)]),
        resources: Some(pod::resources(&redis.resources)),
        readiness_probe: Some(exec_probe(ping, 5, 3)),
        liveness_probe: Some(exec_probe(ping, 10, 6)),
        security_context: Some(pod::restricted_container_security()),
        volume_mounts: Some(vec![
            mount(DATA_CLAIM, "/data"),
            mount("config", "/etc/redis"),
            mount("scripts", SCRIPTS_MOUNT),
            mount("tmp", "/tmp"),
        ]),
        ..Default::default()
    };
    let (replicas, service_name) = if primary {
        (1, headless_name(bd))
    } else {
        (redis.replicas, replica_headless_name(bd))
    };
    StatefulSet {
        metadata: labels::owned_meta(bd, component.name(bd), labels::labels(bd, component, None)),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(service_name),
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
                        config_hash(redis),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    security_context: Some(pod::pod_security(REDIS_UID)),
                    containers: vec![container],
                    volumes: Some(vec![
                        config_volume("config", Component::Redis.name(bd)),
                        scripts_volume(bd),
                        empty_dir("tmp"),
                    ]),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![claim_template(bd, component, &redis.storage)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The primary: `<name>-redis-0`, the only pod of this StatefulSet.
pub fn stateful_set(bd: &BiddingDeployment, redis: &ManagedRedis) -> StatefulSet {
    redis_set(bd, redis, Component::Redis)
}

/// `redis.managed.replicas` read-only replicas (rendered with 0 pods when none are asked for).
pub fn replica_stateful_set(bd: &BiddingDeployment, redis: &ManagedRedis) -> StatefulSet {
    redis_set(bd, redis, Component::RedisReplica)
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

    fn env_of(sts: &StatefulSet) -> BTreeMap<String, String> {
        let container = &sts
            .spec
            .clone()
            .and_then(|s| s.template.spec)
            .unwrap_or_default()
            .containers[0];
        container
            .env
            .iter()
            .flatten()
            .map(|e| {
                let value = match (&e.value, &e.value_from) {
                    (Some(v), _) => v.clone(),
                    (None, Some(from)) => from
                        .secret_key_ref
                        .as_ref()
                        .map(|r| format!("secret:{}/{}", r.name, r.key))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                (e.name.clone(), value)
            })
            .collect()
    }

    #[test]
    fn redis_requires_the_generated_password_and_keeps_it_out_of_the_command_line() {
        let bd = crate::render::testing::sample();
        let sts = stateful_set(&bd, &ManagedRedis::default());
        let env = env_of(&sts);
        assert_eq!(
            env["REDIS_PASSWORD"],
            "secret:bids-generated/redis-password"
        );
        let command = sts
            .spec
            .and_then(|s| s.template.spec)
            .map(|p| p.containers[0].command.clone().unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(
            command,
            ["bash", "/scripts/redis-start.sh", "/etc/redis/redis.conf"]
        );
    }

    #[test]
    fn the_replica_follows_the_primary_by_its_headless_dns_name() {
        let bd = crate::render::testing::sample();
        let redis = ManagedRedis {
            replicas: 2,
            ..ManagedRedis::default()
        };
        let primary = stateful_set(&bd, &redis);
        let replica = replica_stateful_set(&bd, &redis);
        assert_eq!(primary.spec.as_ref().and_then(|s| s.replicas), Some(1));
        assert_eq!(replica.spec.as_ref().and_then(|s| s.replicas), Some(2));
        assert_eq!(env_of(&primary)["REDIS_ROLE"], "primary");
        let env = env_of(&replica);
        assert_eq!(env["REDIS_ROLE"], "replica");
        assert_eq!(
            env["REDIS_PRIMARY_HOST"],
            "bids-redis-0.bids-redis-headless.tenders.svc"
        );
        // The primary's Service never selects replicas, which refuse writes.
        let selector = |s: &StatefulSet| {
            s.spec
                .as_ref()
                .and_then(|spec| spec.selector.match_labels.clone())
                .unwrap_or_default()
        };
        let client = service(&bd);
        let client_selector = client.spec.and_then(|s| s.selector).unwrap_or_default();
        assert_eq!(client_selector, selector(&primary));
        assert_ne!(client_selector, selector(&replica));
    }

    #[test]
    fn maxmemory_and_policy_come_from_the_spec() {
        let redis = ManagedRedis {
            maxmemory: "512mb".into(),
            maxmemory_policy: crate::crd::MaxmemoryPolicy::Noeviction,
            ..ManagedRedis::default()
        };
        let conf = redis_conf(&redis);
        assert!(conf.contains("maxmemory 512mb\n"), "{conf}");
        assert!(conf.contains("maxmemory-policy noeviction\n"), "{conf}");
        assert!(conf.contains("appendonly yes\n"), "{conf}");
    }
}
