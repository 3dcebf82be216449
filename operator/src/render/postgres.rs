//! Managed PostgreSQL: a single-primary StatefulSet (streaming replicas are the operations work), a headless Service
//! for stable pod DNS, a client Service, and the guide's postgresql.conf in a ConfigMap.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    ExecAction, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Probe,
    SecretKeySelector, Service, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::labels::{self, Component};
use super::service;
use super::{pod, Credentials, CONFIG_HASH_ANNOTATION};
use crate::crd::{BiddingDeployment, ManagedDatabase, VolumeSpec};

pub const PORT: i32 = 5432;
pub const USER: &str = "aibid";
pub const DATABASE: &str = "aibid";
/// uid of the `postgres` user in the official image.
const POSTGRES_UID: i64 = 999;
pub const DATA_CLAIM: &str = "data";

pub fn headless_name(bd: &BiddingDeployment) -> String {
    format!("{}-postgres-headless", bd.name_any())
}

pub fn url(bd: &BiddingDeployment, credentials: &Credentials) -> String {
    format!(
        "postgresql://{USER}:{}@{}:{PORT}/{DATABASE}",
        credentials.postgres_password,
        Component::Postgres.name(bd)
    )
}

/// The guide's postgresql.conf for 2 CPU / 4 GiB, with the spec's overrides.
pub fn postgresql_conf(db: &ManagedDatabase) -> String {
    let p = &db.parameters;
    let mut conf = format!(
        "listen_addresses = '*'\nport = {PORT}\nmax_connections = {}\nshared_buffers = {}\neffective_cache_size = {}\n\
         work_mem = {}\nmaintenance_work_mem = {}\ncheckpoint_completion_target = 0.9\nwal_buffers = 16MB\n\
         default_statistics_target = 100\nrandom_page_cost = 1.1\neffective_io_concurrency = 200\nmin_wal_size = 1GB\n\
         max_wal_size = 4GB\nwal_level = replica\nmax_wal_senders = 10\nlog_min_duration_statement = 1000\n\
         log_checkpoints = on\nlog_connections = on\nlog_lock_waits = on\npassword_encryption = scram-sha-256\n",
        p.max_connections, p.shared_buffers, p.effective_cache_size, p.work_mem, p.maintenance_work_mem
    );
    for (key, value) in &p.extra {
        conf.push_str(&format!("{key} = {value}\n"));
    }
    conf
}

pub fn config_map(bd: &BiddingDeployment, db: &ManagedDatabase) -> ConfigMap {
    ConfigMap {
        metadata: labels::owned_meta(
            bd,
            Component::Postgres.name(bd),
            labels::labels(bd, Component::Postgres, None),
        ),
        data: Some(BTreeMap::from([(
            "postgresql.conf".to_string(),
            postgresql_conf(db),
        )])),
        ..Default::default()
    }
}

pub fn headless_service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("postgres", PORT, "postgres")];
    service::headless(bd, Component::Postgres, headless_name(bd), ports)
}

pub fn service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("postgres", PORT, "postgres")];
    service::cluster_ip(bd, Component::Postgres, Component::Postgres.name(bd), ports)
}

/// A volume claim template; StatefulSet PVCs carry no ownerReference, so they outlive the CR unless
/// `retainOnDelete: false` asks the StatefulSet controller to delete them with it.
pub fn claim_template(
    bd: &BiddingDeployment,
    component: Component,
    volume: &VolumeSpec,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_CLAIM.into()),
            labels: Some(labels::selector_labels(bd, component)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: volume.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(volume.size.clone()),
                )])),
                limits: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn retention_policy(volume: &VolumeSpec) -> StatefulSetPersistentVolumeClaimRetentionPolicy {
    let when_deleted = if volume.retain_on_delete {
        "Retain"
    } else {
        "Delete"
    };
    StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: Some(when_deleted.into()),
        when_scaled: Some("Retain".into()),
    }
}

pub fn exec_probe(script: &str, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

pub fn secret_env(name: &str, secret: String, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret,
                key: key.into(),
                optional: None,
            }),
            ..Default::default()
        }),
    }
}

pub fn plain_env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

pub fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

pub fn config_volume(name: &str, config_map: String) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map,
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        ..Default::default()
    }
}

pub fn stateful_set(bd: &BiddingDeployment, db: &ManagedDatabase) -> StatefulSet {
    let component = Component::Postgres;
    let config_hash = hex::encode(Sha256::digest(postgresql_conf(db).as_bytes()));
    let container = Container {
        name: "postgres".into(),
        image: Some(db.image.clone()),
        args: Some(vec![
            "-c".into(),
            "config_file=/etc/postgresql/postgresql.conf".into(),
        ]),
        env: Some(vec![
            plain_env("POSTGRES_USER", USER),
            plain_env("POSTGRES_DB", DATABASE),
            secret_env(
                "POSTGRES_PASSWORD",
                super::generated_secret_name(bd),
                "postgres-password",
            ),
            plain_env("PGDATA", "/var/lib/postgresql/data/pgdata"),
        ]),
        ports: Some(vec![pod::port("postgres", PORT)]),
        resources: Some(pod::resources(&db.resources)),
        readiness_probe: Some(exec_probe(
            &format!("pg_isready -U {USER} -d {DATABASE} -h 127.0.0.1"),
            5,
            3,
        )),
        liveness_probe: Some(exec_probe(
            &format!("pg_isready -U {USER} -d {DATABASE} -h 127.0.0.1"),
            10,
            6,
        )),
        security_context: Some(pod::restricted_container_security()),
        volume_mounts: Some(vec![
            mount(DATA_CLAIM, "/var/lib/postgresql/data"),
            mount("config", "/etc/postgresql"),
            mount("run", "/var/run/postgresql"),
            mount("tmp", "/tmp"),
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
            persistent_volume_claim_retention_policy: Some(retention_policy(&db.storage)),
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
                    security_context: Some(pod::pod_security(POSTGRES_UID)),
                    termination_grace_period_seconds: Some(60),
                    containers: vec![container],
                    volumes: Some(vec![
                        config_volume("config", component.name(bd)),
                        empty_dir("run"),
                        empty_dir("tmp"),
                    ]),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![claim_template(bd, component, &db.storage)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::settings::settings;
    use crate::render::testing::{find, observed, sample};
    use crate::render::{render_all, Component};

    #[test]
    fn postgresql_conf_has_the_guides_parameters() {
        let conf = postgresql_conf(&ManagedDatabase::default());
        for line in [
            "max_connections = 200",
            "shared_buffers = 1GB",
            "effective_cache_size = 3GB",
            "listen_addresses = '*'",
        ] {
            assert!(conf.contains(line), "postgresql.conf lacks {line}");
        }
    }

    #[test]
    fn changing_the_llm_model_or_app_version_leaves_the_database_untouched() {
        let before = sample();
        let mut after = before.clone();
        after.spec.llm.model = "other-model".into();
        after.spec.version = "9.9.9".into();
        let obs = observed();
        let pick = |bd: &BiddingDeployment| {
            render_all(bd, &obs)
                .into_iter()
                .filter(|c| c.component == Component::Postgres)
                .collect::<Vec<_>>()
        };
        assert_eq!(pick(&before), pick(&after));
        let _ = settings(&before, &obs);
    }

    #[test]
    fn a_cr_label_change_touches_no_statefulset_field_kubernetes_refuses() {
        let before = sample();
        let mut after = before.clone();
        after.metadata.labels = Some(BTreeMap::from([("cost-centre".into(), "bids".into())]));
        let immutable = |bd: &BiddingDeployment| {
            let children = render_all(bd, &observed());
            let sts = find(&children, "StatefulSet", "bids-postgres").clone();
            let spec = &sts["spec"];
            (
                spec["selector"].clone(),
                spec["volumeClaimTemplates"].clone(),
                spec["serviceName"].clone(),
            )
        };
        assert_eq!(immutable(&before), immutable(&after));
    }

    #[test]
    fn database_volumes_are_retained_unless_the_spec_says_otherwise() {
        let mut db = ManagedDatabase::default();
        assert_eq!(
            retention_policy(&db.storage).when_deleted.as_deref(),
            Some("Retain")
        );
        db.storage.retain_on_delete = false;
        assert_eq!(
            retention_policy(&db.storage).when_deleted.as_deref(),
            Some("Delete")
        );
    }
}
