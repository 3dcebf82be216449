//! Managed PostgreSQL: the primary StatefulSet `<name>-postgres` (always one pod, `<name>-postgres-0`) and the
//! streaming replicas in their own StatefulSet `<name>-postgres-replica`, so that Services can tell them apart by
//! label: `<name>-postgres` selects the primary (reads and writes), `<name>-postgres-ro` the replicas. Pod labels
//! come only from pod templates (no controller relabels pods), and a Service cannot select "every ordinal but 0",
//! hence two StatefulSets. Replicas clone the primary with `pg-replica-bootstrap.sh` (init container) from its
//! stable headless-Service DNS name; the primary runs `pg-primary-setup.sh` (postStart) for the replication role and
//! pg_hba rule. Every pod carries a postgres-exporter sidecar. Failover is manual (operator/README.md).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    ExecAction, Lifecycle, LifecycleHandler, ObjectFieldSelector, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Probe, SecretKeySelector, Service, Volume,
    VolumeMount, VolumeResourceRequirements,
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
/// postgres-exporter's port, named `metrics` on the pods and Services the ServiceMonitor scrapes.
pub const METRICS_PORT: i32 = 9187;
pub const REPLICATION_USER: &str = "replicator";
/// Where the database scripts ConfigMap is mounted in PostgreSQL and Redis pods.
pub const SCRIPTS_MOUNT: &str = "/scripts";
const DATA_MOUNT: &str = "/var/lib/postgresql/data";
const PGDATA: &str = "/var/lib/postgresql/data/pgdata";
const SOCKET_DIR: &str = "/var/run/postgresql";
/// The scripts the PostgreSQL and Redis pods run, tested against real servers by hack/checks/replication.sh.
pub const DATABASE_SCRIPTS: [(&str, &str); 4] = [
    (
        "pg-primary-setup.sh",
        include_str!("../../scripts/pg-primary-setup.sh"),
    ),
    (
        "pg-replica-bootstrap.sh",
        include_str!("../../scripts/pg-replica-bootstrap.sh"),
    ),
    (
        "pg-replication-lag.sql",
        include_str!("../../scripts/pg-replication-lag.sql"),
    ),
    (
        "redis-start.sh",
        include_str!("../../scripts/redis-start.sh"),
    ),
];
/// Key of the postgres-exporter custom-query file in the scripts ConfigMap.
pub const EXPORTER_QUERIES: &str = "postgres-exporter-queries.yaml";
/// Query name and column of the replication-lag metric: postgres-exporter names it `<query>_<column>`,
/// i.e. `aibid_pg_replica_lag_seconds`. The exporter's built-in `pg_replication_lag_seconds` is not used: it
/// grows on an idle standby that has replayed everything, which would page on quiet nights.
pub const LAG_QUERY: &str = "aibid_pg_replica";
pub const LAG_COLUMN: &str = "lag_seconds";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Primary,
    Replica,
}

impl Role {
    fn component(self) -> Component {
        match self {
            Self::Primary => Component::Postgres,
            Self::Replica => Component::PostgresReplica,
        }
    }
}

pub fn headless_name(bd: &BiddingDeployment) -> String {
    format!("{}-postgres-headless", bd.name_any())
}

pub fn replica_headless_name(bd: &BiddingDeployment) -> String {
    format!("{}-headless", Component::PostgresReplica.name(bd))
}

pub fn read_only_name(bd: &BiddingDeployment) -> String {
    format!("{}-postgres-ro", bd.name_any())
}

pub fn scripts_name(bd: &BiddingDeployment) -> String {
    format!("{}-database-scripts", bd.name_any())
}

/// The stable DNS name of pod 0 of a StatefulSet behind `headless`: survives pod restarts, unlike its IP.
pub fn pod_dns_name(bd: &BiddingDeployment, stateful_set: &str, headless: &str) -> String {
    match bd.namespace() {
        Some(ns) => format!("{stateful_set}-0.{headless}.{ns}.svc"),
        None => format!("{stateful_set}-0.{headless}"),
    }
}

/// The primary's DNS name, which replicas stream from.
pub fn primary_host(bd: &BiddingDeployment) -> String {
    pod_dns_name(bd, &Component::Postgres.name(bd), &headless_name(bd))
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
         max_wal_size = 4GB\nwal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\n\
         hot_standby = on\nwal_keep_size = 1GB\nmax_slot_wal_keep_size = 10GB\nlog_min_duration_statement = 1000\n\
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

/// The database scripts and the exporter's custom queries, mounted at [`SCRIPTS_MOUNT`] by PostgreSQL and Redis pods.
pub fn scripts_config_map(bd: &BiddingDeployment) -> ConfigMap {
    let mut data: BTreeMap<String, String> = DATABASE_SCRIPTS
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    data.insert(EXPORTER_QUERIES.into(), exporter_queries());
    ConfigMap {
        metadata: labels::owned_meta(
            bd,
            scripts_name(bd),
            labels::labels(bd, Component::Config, None),
        ),
        data: Some(data),
        ..Default::default()
    }
}

/// postgres-exporter's `--extend.query-path` file: the tested lag query of pg-replication-lag.sql as a gauge.
pub fn exporter_queries() -> String {
    let sql = DATABASE_SCRIPTS
        .iter()
        .find(|(name, _)| *name == "pg-replication-lag.sql")
        .map(|(_, text)| *text)
        .unwrap_or_default();
    let queries = serde_json::json!({
        LAG_QUERY: {
            "query": sql,
            "master": true,
            "metrics": [{
                LAG_COLUMN: {
                    "usage": "GAUGE",
                    "description": "Seconds this standby is behind its primary; 0 on the primary and on a standby that has replayed all it received",
                }
            }]
        }
    });
    // Serialising a JSON value into YAML cannot fail.
    serde_yaml::to_string(&queries).unwrap_or_default()
}

fn ports(db: &ManagedDatabase) -> Vec<k8s_openapi::api::core::v1::ServicePort> {
    let mut ports = vec![service::port("postgres", PORT, "postgres")];
    if db.exporter.enabled {
        ports.push(service::port("metrics", METRICS_PORT, "metrics"));
    }
    ports
}

/// Stable DNS names for the primary pod (no metrics port: the ServiceMonitor scrapes the client Services only).
pub fn headless_service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("postgres", PORT, "postgres")];
    service::headless(bd, Component::Postgres, headless_name(bd), ports)
}

pub fn replica_headless_service(bd: &BiddingDeployment) -> Service {
    let ports = vec![service::port("postgres", PORT, "postgres")];
    service::headless(
        bd,
        Component::PostgresReplica,
        replica_headless_name(bd),
        ports,
    )
}

/// Reads and writes: the primary only.
pub fn service(bd: &BiddingDeployment, db: &ManagedDatabase) -> Service {
    service::cluster_ip(
        bd,
        Component::Postgres,
        Component::Postgres.name(bd),
        ports(db),
    )
}

/// Read-only queries: the streaming replicas (no endpoints while `replicas` is 0).
pub fn read_only_service(bd: &BiddingDeployment, db: &ManagedDatabase) -> Service {
    service::cluster_ip(
        bd,
        Component::PostgresReplica,
        read_only_name(bd),
        ports(db),
    )
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

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                api_version: None,
            }),
            ..Default::default()
        }),
    }
}

/// The replication role's password: the user's Secret, else the generated PostgreSQL password.
fn replication_password_env(bd: &BiddingDeployment, db: &ManagedDatabase) -> EnvVar {
    match &db.replication_password_secret_ref {
        Some(reference) => secret_env(
            "REPLICATION_PASSWORD",
            reference.name.clone(),
            &reference.key,
        ),
        None => secret_env(
            "REPLICATION_PASSWORD",
            super::generated_secret_name(bd),
            "postgres-password",
        ),
    }
}

pub fn scripts_volume(bd: &BiddingDeployment) -> Volume {
    Volume {
        name: "scripts".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: scripts_name(bd),
            default_mode: Some(0o555),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn script_command(script: &str) -> Vec<String> {
    vec!["bash".into(), format!("{SCRIPTS_MOUNT}/{script}")]
}

/// Fingerprint of everything a PostgreSQL pod reads from ConfigMaps, so a change rolls the pods.
fn config_hash(db: &ManagedDatabase) -> String {
    let mut hasher = Sha256::new();
    hasher.update(postgresql_conf(db).as_bytes());
    for (name, text) in DATABASE_SCRIPTS {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.update(exporter_queries().as_bytes());
    hex::encode(hasher.finalize())
}

fn exporter_container(bd: &BiddingDeployment, db: &ManagedDatabase) -> Container {
    Container {
        name: "postgres-exporter".into(),
        image: Some(db.exporter.image.clone()),
        args: Some(vec![format!(
            "--extend.query-path={SCRIPTS_MOUNT}/{EXPORTER_QUERIES}"
        )]),
        env: Some(vec![
            plain_env(
                "DATA_SOURCE_URI",
                &format!("127.0.0.1:{PORT}/postgres?sslmode=disable"),
            ),
            plain_env("DATA_SOURCE_USER", USER),
            secret_env(
                "DATA_SOURCE_PASS",
                super::generated_secret_name(bd),
                "postgres-password",
            ),
        ]),
        ports: Some(vec![pod::port("metrics", METRICS_PORT)]),
        resources: Some(pod::resources(&db.exporter.resources)),
        security_context: Some(pod::restricted_container_security()),
        volume_mounts: Some(vec![mount("scripts", SCRIPTS_MOUNT)]),
        ..Default::default()
    }
}

/// Init container of a replica pod: clones the primary into an empty volume, leaves an existing standby alone.
fn bootstrap_container(bd: &BiddingDeployment, db: &ManagedDatabase) -> Container {
    Container {
        name: "clone-primary".into(),
        image: Some(db.image.clone()),
        command: Some(script_command("pg-replica-bootstrap.sh")),
        env: Some(vec![
            plain_env("PGDATA", PGDATA),
            plain_env("PRIMARY_HOST", &primary_host(bd)),
            plain_env("PRIMARY_PORT", &PORT.to_string()),
            plain_env("REPLICATION_USER", REPLICATION_USER),
            replication_password_env(bd, db),
            field_env("POD_NAME", "metadata.name"),
        ]),
        resources: Some(pod::resources(&db.resources)),
        security_context: Some(pod::restricted_container_security()),
        volume_mounts: Some(vec![
            mount(DATA_CLAIM, DATA_MOUNT),
            mount("scripts", SCRIPTS_MOUNT),
            mount("run", SOCKET_DIR),
            mount("tmp", "/tmp"),
        ]),
        ..Default::default()
    }
}

fn postgres_container(bd: &BiddingDeployment, db: &ManagedDatabase, role: Role) -> Container {
    let mut env = vec![
        plain_env("POSTGRES_USER", USER),
        plain_env("POSTGRES_DB", DATABASE),
        secret_env(
            "POSTGRES_PASSWORD",
            super::generated_secret_name(bd),
            "postgres-password",
        ),
        plain_env("PGDATA", PGDATA),
    ];
    let mut lifecycle = None;
    if role == Role::Primary {
        // What pg-primary-setup.sh connects with: the superuser over the local socket.
        env.extend([
            plain_env("PGHOST", SOCKET_DIR),
            plain_env("PGPORT", &PORT.to_string()),
            plain_env("PGUSER", USER),
            plain_env("REPLICATION_USER", REPLICATION_USER),
            replication_password_env(bd, db),
        ]);
        lifecycle = Some(Lifecycle {
            post_start: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(script_command("pg-primary-setup.sh")),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let ready = format!("pg_isready -U {USER} -d {DATABASE} -h 127.0.0.1");
    Container {
        name: "postgres".into(),
        image: Some(db.image.clone()),
        args: Some(vec![
            "-c".into(),
            "config_file=/etc/postgresql/postgresql.conf".into(),
        ]),
        env: Some(env),
        lifecycle,
        ports: Some(vec![pod::port("postgres", PORT)]),
        resources: Some(pod::resources(&db.resources)),
        readiness_probe: Some(exec_probe(&ready, 5, 3)),
        liveness_probe: Some(exec_probe(&ready, 10, 6)),
        security_context: Some(pod::restricted_container_security()),
        volume_mounts: Some(vec![
            mount(DATA_CLAIM, DATA_MOUNT),
            mount("config", "/etc/postgresql"),
            mount("scripts", SCRIPTS_MOUNT),
            mount("run", SOCKET_DIR),
            mount("tmp", "/tmp"),
        ]),
        ..Default::default()
    }
}

fn postgres_set(bd: &BiddingDeployment, db: &ManagedDatabase, role: Role) -> StatefulSet {
    let component = role.component();
    let (replicas, service_name) = match role {
        Role::Primary => (1, headless_name(bd)),
        Role::Replica => (db.replicas, replica_headless_name(bd)),
    };
    let mut containers = vec![postgres_container(bd, db, role)];
    if db.exporter.enabled {
        containers.push(exporter_container(bd, db));
    }
    let init_containers = (role == Role::Replica).then(|| vec![bootstrap_container(bd, db)]);
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
            persistent_volume_claim_retention_policy: Some(retention_policy(&db.storage)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels::stateful_pod_labels(bd, component)),
                    annotations: Some(BTreeMap::from([(
                        CONFIG_HASH_ANNOTATION.to_string(),
                        config_hash(db),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    security_context: Some(pod::pod_security(POSTGRES_UID)),
                    termination_grace_period_seconds: Some(60),
                    init_containers,
                    containers,
                    volumes: Some(vec![
                        config_volume("config", Component::Postgres.name(bd)),
                        scripts_volume(bd),
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

/// The primary: `<name>-postgres-0`, the only pod of this StatefulSet.
pub fn stateful_set(bd: &BiddingDeployment, db: &ManagedDatabase) -> StatefulSet {
    postgres_set(bd, db, Role::Primary)
}

/// `database.managed.replicas` hot standbys streaming from the primary (rendered with 0 pods when none are asked
/// for, so scaling down needs no deletion).
pub fn replica_stateful_set(bd: &BiddingDeployment, db: &ManagedDatabase) -> StatefulSet {
    postgres_set(bd, db, Role::Replica)
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

    fn with_replicas(replicas: i32) -> BiddingDeployment {
        let mut bd = sample();
        bd.spec.database.managed = Some(ManagedDatabase {
            replicas,
            ..ManagedDatabase::default()
        });
        bd
    }

    fn env_map(container: &serde_json::Value) -> BTreeMap<String, String> {
        container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let value = match (&e["value"], &e["valueFrom"]) {
                    (serde_json::Value::String(v), _) => v.clone(),
                    (_, from) if from["secretKeyRef"].is_object() => format!(
                        "secret:{}/{}",
                        from["secretKeyRef"]["name"].as_str().unwrap_or(""),
                        from["secretKeyRef"]["key"].as_str().unwrap_or("")
                    ),
                    (_, from) => format!(
                        "field:{}",
                        from["fieldRef"]["fieldPath"].as_str().unwrap_or("")
                    ),
                };
                (e["name"].as_str().unwrap_or("").to_string(), value)
            })
            .collect()
    }

    #[test]
    fn replicas_clone_the_primary_by_its_dns_name_and_the_ro_service_selects_only_them() {
        let children = render_all(&with_replicas(2), &observed());
        let primary = find(&children, "StatefulSet", "bids-postgres");
        let replica = find(&children, "StatefulSet", "bids-postgres-replica");
        assert_eq!(primary["spec"]["replicas"], 1, "the primary is one pod");
        assert_eq!(replica["spec"]["replicas"], 2);
        let init = &replica["spec"]["template"]["spec"]["initContainers"][0];
        assert_eq!(
            init["command"],
            serde_json::json!(["bash", "/scripts/pg-replica-bootstrap.sh"])
        );
        let env = env_map(init);
        assert_eq!(
            env["PRIMARY_HOST"],
            "bids-postgres-0.bids-postgres-headless.tenders.svc"
        );
        assert_eq!(
            env["REPLICATION_PASSWORD"],
            "secret:bids-generated/postgres-password"
        );
        assert_eq!(env["POD_NAME"], "field:metadata.name", "one slot per pod");
        assert_eq!(
            env["PGDATA"], PGDATA,
            "the clone lands where the server reads it"
        );

        let read_only = find(&children, "Service", "bids-postgres-ro");
        let client = find(&children, "Service", "bids-postgres");
        let pod_labels =
            |sts: &serde_json::Value| sts["spec"]["template"]["metadata"]["labels"].clone();
        let selects = |svc: &serde_json::Value, sts: &serde_json::Value| {
            svc["spec"]["selector"]
                .as_object()
                .is_some_and(|sel| sel.iter().all(|(k, v)| pod_labels(sts)[k] == *v))
        };
        assert!(selects(read_only, replica) && !selects(read_only, primary));
        assert!(selects(client, primary) && !selects(client, replica));
        // The StatefulSets' selectors must not overlap, or their controllers would fight over pods.
        let component = "app.kubernetes.io/component";
        assert_ne!(
            primary["spec"]["selector"]["matchLabels"][component],
            pod_labels(replica)[component]
        );
    }

    #[test]
    fn the_primary_runs_the_setup_script_after_start_with_the_users_replication_secret() {
        let mut bd = with_replicas(1);
        if let Some(db) = bd.spec.database.managed.as_mut() {
            db.replication_password_secret_ref = Some(crate::crd::SecretKeyRef {
                name: "pg-repl".into(),
                key: "password".into(),
            });
        }
        let children = render_all(&bd, &observed());
        let primary = find(&children, "StatefulSet", "bids-postgres");
        let container = &primary["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["lifecycle"]["postStart"]["exec"]["command"],
            serde_json::json!(["bash", "/scripts/pg-primary-setup.sh"])
        );
        let env = env_map(container);
        assert_eq!(env["REPLICATION_PASSWORD"], "secret:pg-repl/password");
        assert_eq!(
            (env["PGHOST"].as_str(), env["PGUSER"].as_str()),
            (SOCKET_DIR, USER)
        );
        let scripts = find(&children, "ConfigMap", "bids-database-scripts");
        for (name, text) in DATABASE_SCRIPTS {
            assert_eq!(scripts["data"][name], text, "{name} in the ConfigMap");
        }
    }

    #[test]
    fn every_postgres_pod_has_an_exporter_the_service_monitor_can_scrape() {
        let children = render_all(&with_replicas(1), &observed());
        for (sts, svc) in [
            ("bids-postgres", "bids-postgres"),
            ("bids-postgres-replica", "bids-postgres-ro"),
        ] {
            let pod = &find(&children, "StatefulSet", sts)["spec"]["template"]["spec"];
            let exporter = pod["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["name"] == "postgres-exporter")
                .unwrap_or_else(|| panic!("{sts} has no exporter"));
            assert!(exporter["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("quay.io/prometheuscommunity/postgres-exporter:")));
            assert_eq!(exporter["ports"][0]["name"], "metrics");
            assert_eq!(
                exporter["args"][0],
                format!("--extend.query-path={SCRIPTS_MOUNT}/{EXPORTER_QUERIES}")
            );
            let ports = find(&children, "Service", svc)["spec"]["ports"].clone();
            assert!(
                ports.as_array().is_some_and(|p| p
                    .iter()
                    .any(|p| p["name"] == "metrics" && p["port"] == METRICS_PORT)),
                "{svc} ports: {ports}"
            );
        }
        let mut bd = with_replicas(0);
        if let Some(db) = bd.spec.database.managed.as_mut() {
            db.exporter.enabled = false;
        }
        let children = render_all(&bd, &observed());
        let pod = &find(&children, "StatefulSet", "bids-postgres")["spec"]["template"]["spec"];
        assert_eq!(pod["containers"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn slot_wal_retention_is_capped_so_a_dead_replica_cannot_fill_the_primary() {
        let conf = postgresql_conf(&ManagedDatabase::default());
        assert!(conf.contains("max_slot_wal_keep_size = 10GB\n"), "{conf}");
        assert!(conf.contains("wal_level = replica\n"), "{conf}");
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
