//! The `BiddingDeployment` and `BiddingRestore` custom resources (`aibid.dev/v1alpha1`): spec areas, defaults
//! (the deployment guide's production sizing) and the schema validation the API server enforces.
//! Rendering backups, monitoring objects and restores is owned by `render/backup.rs`, `render/monitoring.rs`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kubernetes quantity such as `2`, `500m`, `4Gi`.
pub const QUANTITY_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$";
/// DNS-1123 name (Secret, StorageClass, IngressClass names).
pub const NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// One aibid installation: API, workers, scheduler, task monitor, PostgreSQL, Redis, shared storage and ingress.
// Several `printcolumn(...)` entries repeat `type_ = "string"`, which clippy mistakes for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "aibid.dev",
    version = "v1alpha1",
    kind = "BiddingDeployment",
    namespaced,
    shortname = "bd",
    category = "aibid",
    doc = "An aibid installation: API, workers, scheduler, task monitor, PostgreSQL, Redis, storage and ingress",
    status = "BiddingDeploymentStatus",
    derive = "PartialEq",
    scale(
        spec_replicas_path = ".spec.api.replicas",
        status_replicas_path = ".status.api.replicas"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "API", type_ = "string", json_path = ".status.apiReady"),
    printcolumn(name = "Workers", type_ = "string", json_path = ".status.workersReady"),
    printcolumn(name = "Version", type_ = "string", json_path = ".status.version"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct BiddingDeploymentSpec {
    /// aibid version: the image tag of `image` that API, workers, scheduler, monitor and migrations run.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"))]
    pub version: String,
    /// Image repository of the `aibid` binary (without tag).
    #[serde(default = "default_image")]
    #[schemars(length(min = 1, max = 255))]
    pub image: String,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    #[serde(default)]
    pub api: ApiSpec,
    #[serde(default)]
    pub worker: WorkerSpec,
    #[serde(default)]
    pub scheduler: SchedulerSpec,
    #[serde(default)]
    pub monitor: MonitorSpec,
    #[serde(default)]
    pub database: DatabaseSpec,
    #[serde(default)]
    pub redis: RedisSpec,
    #[serde(default)]
    pub storage: FileStorageSpec,
    #[serde(default)]
    pub llm: LlmSpec,
    #[serde(default)]
    pub security: SecuritySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
    #[serde(default)]
    pub logging: LoggingSpec,
    /// Largest accepted upload, in MiB (the guide's 50 MB).
    #[serde(default = "default_max_upload_mib")]
    #[schemars(range(min = 1, max = 2048))]
    pub max_upload_mib: i32,
    /// Days that finished projects' files are kept before the scheduler removes them.
    #[serde(default = "default_retention_days")]
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: i32,
    /// Backups (rendered by `render/backup.rs`). Absent: no backup CronJobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,
    /// PrometheusRule, ServiceMonitor and dashboards (rendered by `render/monitoring.rs`). Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSpec>,
}

/// CPU and memory of one container; requests equal limits for predictable scheduling, as the guide sizes them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"))]
    pub cpu: String,
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"))]
    pub memory: String,
}

impl Resources {
    fn new(cpu: &str, memory: &str) -> Self {
        Self {
            cpu: cpu.into(),
            memory: memory.into(),
        }
    }
}

/// Horizontal autoscaling; when set, the HPA owns the replica count.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minReplicas <= self.maxReplicas").message("minReplicas must not exceed maxReplicas"))]
pub struct AutoscalingSpec {
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: i32,
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: i32,
    /// Average CPU utilisation (percent of the request) the HPA aims for.
    #[serde(default = "default_target_cpu")]
    #[schemars(range(min = 10, max = 100))]
    pub target_cpu_utilization: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    #[serde(default = "three")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    #[serde(default = "api_resources")]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,
}

impl Default for ApiSpec {
    fn default() -> Self {
        Self {
            replicas: 3,
            resources: api_resources(),
            autoscaling: None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerSpec {
    #[serde(default = "three")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// Tasks one worker runs at once.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: i32,
    #[serde(default = "worker_resources")]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,
}

impl Default for WorkerSpec {
    fn default() -> Self {
        Self {
            replicas: 3,
            concurrency: 4,
            resources: worker_resources(),
            autoscaling: None,
        }
    }
}

/// The scheduler always runs exactly one replica (periodic jobs must not run twice).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerSpec {
    #[serde(default = "small_resources")]
    pub resources: Resources,
}

impl Default for SchedulerSpec {
    fn default() -> Self {
        Self {
            resources: small_resources(),
        }
    }
}

/// The task monitor (the guide's Flower on 5555): queue and worker pages plus metrics.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitorSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "small_resources")]
    pub resources: Resources,
}

impl Default for MonitorSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            resources: small_resources(),
        }
    }
}

/// A key inside a Secret in the BiddingDeployment's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub name: String,
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// A persistent volume: size may grow (never shrink), the class is fixed at creation.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(oldSelf.storageClassName) == has(self.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)").message("storageClassName is immutable"))]
pub struct VolumeSpec {
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"))]
    #[x_kube(validation = Rule::new("quantity(self).compareTo(quantity(oldSelf)) >= 0").message("storage size may not shrink"))]
    pub size: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Keep the volume when the BiddingDeployment is deleted (default). `false` deletes it with the CR.
    #[serde(default = "yes")]
    pub retain_on_delete: bool,
}

impl VolumeSpec {
    fn sized(size: &str) -> Self {
        Self {
            size: size.into(),
            storage_class_name: None,
            retain_on_delete: true,
        }
    }
}

/// Either a managed PostgreSQL StatefulSet (default) or an external database.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.managed) && has(self.external))").message("set database.managed or database.external, not both"))]
pub struct DatabaseSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedDatabase>,
    /// A Secret key holding the full `postgresql://` URL of an external database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalService>,
    /// Connections each API/worker process keeps open.
    #[serde(default = "default_pool_size")]
    #[schemars(range(min = 1, max = 200))]
    pub pool_size: i32,
}

impl Default for DatabaseSpec {
    fn default() -> Self {
        Self {
            managed: Some(ManagedDatabase::default()),
            external: None,
            pool_size: default_pool_size(),
        }
    }
}

impl DatabaseSpec {
    /// The managed database, also when neither variant was written (managed is the default).
    pub fn managed(&self) -> Option<ManagedDatabase> {
        match (&self.managed, &self.external) {
            (_, Some(_)) => None,
            (Some(managed), None) => Some(managed.clone()),
            (None, None) => Some(ManagedDatabase::default()),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalService {
    pub url_secret_ref: SecretKeyRef,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDatabase {
    #[serde(default = "default_postgres_image")]
    pub image: String,
    #[serde(default = "database_volume")]
    pub storage: VolumeSpec,
    #[serde(default = "database_resources")]
    pub resources: Resources,
    #[serde(default)]
    pub parameters: PostgresParameters,
    /// Streaming replicas besides the primary, in the StatefulSet `<name>-postgres-replica` behind the read-only
    /// Service `<name>-postgres-ro`; 0 = primary only. The primary is always `<name>-postgres-0`.
    #[serde(default)]
    #[schemars(range(min = 0, max = 5))]
    pub replicas: i32,
    /// Password of the `replicator` role the replicas connect as. Absent: the generated `postgres-password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_password_secret_ref: Option<SecretKeyRef>,
    /// The postgres-exporter sidecar in every PostgreSQL pod (metrics port 9187, scraped by the ServiceMonitor).
    #[serde(default)]
    pub exporter: PostgresExporter,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresExporter {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_postgres_exporter_image")]
    #[schemars(length(min = 1, max = 255))]
    pub image: String,
    #[serde(default = "exporter_resources")]
    pub resources: Resources,
}

impl Default for PostgresExporter {
    fn default() -> Self {
        Self {
            enabled: true,
            image: default_postgres_exporter_image(),
            resources: exporter_resources(),
        }
    }
}

impl Default for ManagedDatabase {
    fn default() -> Self {
        Self {
            image: default_postgres_image(),
            storage: database_volume(),
            resources: database_resources(),
            parameters: PostgresParameters::default(),
            replicas: 0,
            replication_password_secret_ref: None,
            exporter: PostgresExporter::default(),
        }
    }
}

/// postgresql.conf values from the guide (sized for 2 CPU / 4 GiB).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresParameters {
    #[serde(default = "default_max_connections")]
    #[schemars(range(min = 10, max = 5000))]
    pub max_connections: i32,
    #[serde(default = "default_shared_buffers")]
    #[schemars(regex(pattern = r"^[0-9]+(kB|MB|GB|TB)$"))]
    pub shared_buffers: String,
    #[serde(default = "default_effective_cache_size")]
    #[schemars(regex(pattern = r"^[0-9]+(kB|MB|GB|TB)$"))]
    pub effective_cache_size: String,
    #[serde(default = "default_work_mem")]
    #[schemars(regex(pattern = r"^[0-9]+(kB|MB|GB|TB)$"))]
    pub work_mem: String,
    #[serde(default = "default_maintenance_work_mem")]
    #[schemars(regex(pattern = r"^[0-9]+(kB|MB|GB|TB)$"))]
    pub maintenance_work_mem: String,
    /// Further `postgresql.conf` entries, written verbatim after the ones above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Default for PostgresParameters {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            shared_buffers: default_shared_buffers(),
            effective_cache_size: default_effective_cache_size(),
            work_mem: default_work_mem(),
            maintenance_work_mem: default_maintenance_work_mem(),
            extra: BTreeMap::new(),
        }
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.managed) && has(self.external))").message("set redis.managed or redis.external, not both"))]
pub struct RedisSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedRedis>,
    /// A Secret key holding the full `redis://` URL of an external Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalService>,
}

impl Default for RedisSpec {
    fn default() -> Self {
        Self {
            managed: Some(ManagedRedis::default()),
            external: None,
        }
    }
}

impl RedisSpec {
    /// The managed Redis, also when neither variant was written (managed is the default).
    pub fn managed(&self) -> Option<ManagedRedis> {
        match (&self.managed, &self.external) {
            (_, Some(_)) => None,
            (Some(managed), None) => Some(managed.clone()),
            (None, None) => Some(ManagedRedis::default()),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedRedis {
    #[serde(default = "default_redis_image")]
    pub image: String,
    #[serde(default = "redis_volume")]
    pub storage: VolumeSpec,
    #[serde(default = "redis_resources")]
    pub resources: Resources,
    /// `maxmemory` in Redis units; leave headroom below the memory limit for AOF rewrites.
    #[serde(default = "default_maxmemory")]
    #[schemars(regex(pattern = r"^[0-9]+(kb|mb|gb)$"))]
    pub maxmemory: String,
    #[serde(default = "default_maxmemory_policy")]
    pub maxmemory_policy: MaxmemoryPolicy,
    /// Replicas in the StatefulSet `<name>-redis-replica`, following `<name>-redis-0` by its headless-Service DNS
    /// name; 0 = primary only. Clients use the primary (`<name>-redis`).
    #[serde(default)]
    #[schemars(range(min = 0, max = 5))]
    pub replicas: i32,
}

impl Default for ManagedRedis {
    fn default() -> Self {
        Self {
            image: default_redis_image(),
            storage: redis_volume(),
            resources: redis_resources(),
            maxmemory: default_maxmemory(),
            maxmemory_policy: default_maxmemory_policy(),
            replicas: 0,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaxmemoryPolicy {
    AllkeysLru,
    AllkeysLfu,
    VolatileLru,
    Noeviction,
}

impl MaxmemoryPolicy {
    pub fn as_redis(self) -> &'static str {
        match self {
            Self::AllkeysLru => "allkeys-lru",
            Self::AllkeysLfu => "allkeys-lfu",
            Self::VolatileLru => "volatile-lru",
            Self::Noeviction => "noeviction",
        }
    }
}

/// Uploaded tenders and generated proposals, shared by API and workers. Same size/class rules as [`VolumeSpec`].
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(oldSelf.storageClassName) == has(self.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)").message("storageClassName is immutable"))]
pub struct FileStorageSpec {
    #[serde(default = "default_files_size")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"))]
    #[x_kube(validation = Rule::new("quantity(self).compareTo(quantity(oldSelf)) >= 0").message("storage size may not shrink"))]
    pub size: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    #[serde(default = "yes")]
    pub retain_on_delete: bool,
    /// ReadWriteMany when API and workers run on several nodes (the default).
    #[serde(default = "default_access_mode")]
    pub access_mode: AccessMode,
}

impl Default for FileStorageSpec {
    fn default() -> Self {
        Self {
            size: default_files_size(),
            storage_class_name: None,
            retain_on_delete: true,
            access_mode: default_access_mode(),
        }
    }
}

impl FileStorageSpec {
    pub fn volume(&self) -> VolumeSpec {
        VolumeSpec {
            size: self.size.clone(),
            storage_class_name: self.storage_class_name.clone(),
            retain_on_delete: self.retain_on_delete,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AccessMode {
    ReadWriteMany,
    ReadWriteOnce,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmSpec {
    /// OpenAI-compatible provider name; `template` writes without an LLM.
    #[serde(default = "default_llm_provider")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,31}$"))]
    pub provider: String,
    #[serde(default = "default_llm_model")]
    #[schemars(length(min = 1, max = 128))]
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<SecretKeyRef>,
    #[serde(default = "default_llm_timeout")]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_seconds: i32,
    #[serde(default = "default_llm_retries")]
    #[schemars(range(min = 0, max = 10))]
    pub max_retries: i32,
}

impl Default for LlmSpec {
    fn default() -> Self {
        Self {
            provider: default_llm_provider(),
            model: default_llm_model(),
            base_url: None,
            api_key_secret_ref: None,
            timeout_seconds: default_llm_timeout(),
            max_retries: default_llm_retries(),
        }
    }
}

/// Secrets the service needs; each one absent is generated once by the operator and never regenerated.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecuritySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_secret_ref: Option<SecretKeyRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key_secret_ref: Option<SecretKeyRef>,
    #[serde(default = "default_admin_email")]
    #[schemars(regex(pattern = r"^[^@\s]+@[^@\s]+$"))]
    pub admin_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password_secret_ref: Option<SecretKeyRef>,
}

impl Default for SecuritySpec {
    fn default() -> Self {
        Self {
            jwt_secret_ref: None,
            encryption_key_secret_ref: None,
            admin_email: default_admin_email(),
            admin_password_secret_ref: None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    #[schemars(regex(
        pattern = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub host: String,
    /// Secret of type kubernetes.io/tls for `host`; absent: plain HTTP (not for production).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Source ranges allowed to scrape `/metrics` through the separate metrics Ingress; empty: no metrics Ingress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^[0-9a-fA-F:.]+/[0-9]{1,3}$")))]
    pub metrics_allowed_cidrs: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggingSpec {
    #[serde(default = "default_log_level")]
    pub level: LogLevel,
    #[serde(default = "default_log_format")]
    pub format: LogFormat,
}

impl Default for LoggingSpec {
    fn default() -> Self {
        Self {
            level: default_log_level(),
            format: default_log_format(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Backup schedules and destination (guide 7.1-7.2). Rendered by `render/backup.rs` (issue 5).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    /// IANA time zone of the schedules.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default = "default_database_schedule")]
    pub database_schedule: String,
    #[serde(default = "thirty")]
    #[schemars(range(min = 1, max = 3650))]
    pub database_keep_days: i32,
    #[serde(default = "default_files_schedule")]
    pub files_schedule: String,
    #[serde(default = "seven")]
    #[schemars(range(min = 1, max = 3650))]
    pub files_keep_days: i32,
    #[serde(default = "default_full_schedule")]
    pub full_schedule: String,
    /// The PVC backups are written to.
    #[serde(default = "backup_volume")]
    pub destination: VolumeSpec,
}

/// Monitoring objects (rendered by `render/monitoring.rs`, issue 5); skipped with a condition when their CRDs are absent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    #[serde(default = "yes")]
    pub prometheus_rule: bool,
    #[serde(default = "yes")]
    pub service_monitor: bool,
    #[serde(default = "yes")]
    pub dashboards: bool,
    /// Labels kube-prometheus-stack selects rules and monitors by.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector_labels: BTreeMap<String, String>,
    /// Label the Grafana sidecar picks dashboard ConfigMaps up by.
    #[serde(default = "default_dashboard_label")]
    pub dashboard_label: String,
}

/// Observed state, written only by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BiddingDeploymentStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Version the API and workers run (the last one whose migration completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub api: ReplicaStatus,
    #[serde(default)]
    pub worker: ReplicaStatus,
    /// `ready/desired` of the API, for the printer column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_ready: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_ready: Option<String>,
    #[serde(default)]
    pub endpoints: Endpoints,
    /// Newest finished backup Jobs per kind (`db`, `files`, `full`), kept here once their Jobs are gone.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_backup: BTreeMap<String, LastBackup>,
}

/// The newest successful and the newest failed backup Job of one kind.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastBackup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<BackupRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<BackupRun>,
}

/// One finished backup Job: when it finished and its name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRun {
    pub time: Time,
    pub job: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub ready_replicas: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The pod that is the PostgreSQL primary (ordinal 0 of the primary StatefulSet; failover is manual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_primary: Option<String>,
    /// The read-only Service in front of the streaming replicas, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_read_only: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<String>,
}

/// Restore of a BiddingDeployment from a backup, driven by `restore_controller.rs`.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "aibid.dev",
    version = "v1alpha1",
    kind = "BiddingRestore",
    namespaced,
    category = "aibid",
    status = "BiddingRestoreStatus",
    derive = "PartialEq",
    printcolumn(
        name = "Deployment",
        type_ = "string",
        json_path = ".spec.deploymentRef"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Reason", type_ = "string", json_path = ".status.reason"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct BiddingRestoreSpec {
    /// Name of the BiddingDeployment in the same namespace.
    pub deployment_ref: String,
    /// Backup name, or `latest`.
    #[serde(default = "default_backup_name")]
    pub backup: String,
    #[serde(default = "default_restore_what")]
    pub what: RestoreWhat,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RestoreWhat {
    Database,
    Files,
    Both,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BiddingRestoreStatus {
    /// Pending, ScalingDown, Restoring, ScalingUp, Succeeded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// One condition `Succeeded`: Unknown while the restore runs, then True or False.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// CamelCase reason of the current phase, e.g. WaitingForEarlierRestore or RestoreJobFailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The restore Job, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// When the app began to scale down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the restore reached Succeeded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
}

/// Both CRDs as one YAML stream: what `crdgen` prints and `crds/aibid.dev.yaml` holds.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt;
    Ok(format!(
        "---\n{}---\n{}",
        serde_yaml::to_string(&BiddingDeployment::crd())?,
        serde_yaml::to_string(&BiddingRestore::crd())?
    ))
}

fn default_image() -> String {
    "ghcr.io/aibid/aibid".into()
}
fn three() -> i32 {
    3
}
fn seven() -> i32 {
    7
}
fn thirty() -> i32 {
    30
}
fn yes() -> bool {
    true
}
fn default_concurrency() -> i32 {
    4
}
fn default_target_cpu() -> i32 {
    70
}
fn default_max_upload_mib() -> i32 {
    50
}
fn default_retention_days() -> i32 {
    90
}
fn api_resources() -> Resources {
    Resources::new("1", "2Gi")
}
fn worker_resources() -> Resources {
    Resources::new("2", "4Gi")
}
fn small_resources() -> Resources {
    Resources::new("250m", "512Mi")
}
fn database_resources() -> Resources {
    Resources::new("2", "4Gi")
}
fn redis_resources() -> Resources {
    Resources::new("1", "2Gi")
}
fn database_volume() -> VolumeSpec {
    VolumeSpec::sized("100Gi")
}
fn redis_volume() -> VolumeSpec {
    VolumeSpec::sized("10Gi")
}
fn default_files_size() -> String {
    "200Gi".into()
}
fn backup_volume() -> VolumeSpec {
    VolumeSpec::sized("200Gi")
}
fn default_access_mode() -> AccessMode {
    AccessMode::ReadWriteMany
}
fn default_pool_size() -> i32 {
    20
}
fn default_postgres_image() -> String {
    "postgres:15".into()
}
fn default_redis_image() -> String {
    "redis:7".into()
}
fn default_postgres_exporter_image() -> String {
    "quay.io/prometheuscommunity/postgres-exporter:v0.17.1".into()
}
fn exporter_resources() -> Resources {
    Resources::new("100m", "128Mi")
}
fn default_max_connections() -> i32 {
    200
}
fn default_shared_buffers() -> String {
    "1GB".into()
}
fn default_effective_cache_size() -> String {
    "3GB".into()
}
fn default_work_mem() -> String {
    "16MB".into()
}
fn default_maintenance_work_mem() -> String {
    "256MB".into()
}
fn default_maxmemory() -> String {
    "1536mb".into()
}
fn default_maxmemory_policy() -> MaxmemoryPolicy {
    MaxmemoryPolicy::AllkeysLru
}
fn default_llm_provider() -> String {
    "deepseek".into()
}
fn default_llm_model() -> String {
    "deepseek-chat".into()
}
fn default_llm_timeout() -> i32 {
    300
}
fn default_llm_retries() -> i32 {
    3
}
fn default_admin_email() -> String {
    "admin@aibid.local".into()
}
fn default_log_level() -> LogLevel {
    LogLevel::Info
}
fn default_log_format() -> LogFormat {
    LogFormat::Json
}
fn default_time_zone() -> String {
    "UTC".into()
}
fn default_database_schedule() -> String {
    "0 2 * * *".into()
}
fn default_files_schedule() -> String {
    "0 3 * * *".into()
}
fn default_full_schedule() -> String {
    "0 4 * * 0".into()
}
fn default_dashboard_label() -> String {
    "grafana_dashboard".into()
}
fn default_backup_name() -> String {
    "latest".into()
}
fn default_restore_what() -> RestoreWhat {
    RestoreWhat::Both
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;

    fn minimal() -> BiddingDeployment {
        serde_yaml::from_str("apiVersion: aibid.dev/v1alpha1\nkind: BiddingDeployment\nmetadata: {name: bids}\nspec: {version: '1.2.0'}\n")
            .unwrap_or_else(|e| panic!("minimal CR must parse: {e}"))
    }

    #[test]
    fn a_minimal_spec_gets_the_guides_production_sizing() {
        let spec = minimal().spec;
        assert_eq!(
            (
                spec.api.replicas,
                spec.api.resources.cpu.as_str(),
                spec.api.resources.memory.as_str()
            ),
            (3, "1", "2Gi")
        );
        assert_eq!((spec.worker.replicas, spec.worker.concurrency), (3, 4));
        assert_eq!(spec.worker.resources, Resources::new("2", "4Gi"));
        let db = spec
            .database
            .managed()
            .unwrap_or_else(|| panic!("managed database is the default"));
        assert_eq!(db.resources, Resources::new("2", "4Gi"));
        assert_eq!(db.parameters.max_connections, 200);
        let redis = spec
            .redis
            .managed()
            .unwrap_or_else(|| panic!("managed redis is the default"));
        assert_eq!(redis.resources, Resources::new("1", "2Gi"));
        assert_eq!(redis.maxmemory_policy, MaxmemoryPolicy::AllkeysLru);
    }

    #[test]
    fn an_external_database_replaces_the_managed_one() {
        let mut spec = minimal().spec;
        spec.database.external = Some(ExternalService {
            url_secret_ref: SecretKeyRef {
                name: "db".into(),
                key: "url".into(),
            },
        });
        assert!(spec.database.managed().is_none());
    }

    #[test]
    fn the_schema_carries_ranges_patterns_and_cel_rules() {
        let crd = serde_json::to_string(&BiddingDeployment::crd()).unwrap_or_default();
        for needle in [
            "storage size may not shrink",
            "storageClassName is immutable",
            "minReplicas must not exceed maxReplicas",
            "\"maximum\":100",
            "\"pattern\"",
            "\"specReplicasPath\":\".spec.api.replicas\"",
            "\"shortNames\":[\"bd\"]",
        ] {
            assert!(crd.contains(needle), "CRD lacks {needle}");
        }
    }
}
