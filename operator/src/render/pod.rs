//! Pod templates of the aibid processes: image, env from the ConfigMap/Secrets, probes on /health and /ready,
//! the shared files volume, non-root security context and the config/secret fingerprints that roll them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapKeySelector, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, LocalObjectReference, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{self, Component};
use super::settings::{self, Setting, Value, DATA_MOUNT};
use super::{CONFIG_HASH_ANNOTATION, SECRET_HASH_ANNOTATION};
use crate::crd::{BiddingDeployment, Resources};

/// The non-root user the aibid image runs as (see workloads/service/Dockerfile).
pub const RUN_AS_USER: i64 = 10001;

/// Requests equal to limits: the guide sizes each pod exactly.
pub fn resources(spec: &Resources) -> ResourceRequirements {
    let amounts = BTreeMap::from([
        ("cpu".to_string(), Quantity(spec.cpu.clone())),
        ("memory".to_string(), Quantity(spec.memory.clone())),
    ]);
    ResourceRequirements { limits: Some(amounts.clone()), requests: Some(amounts), ..Default::default() }
}

/// Env vars of one component: plain settings from the ConfigMap, secret ones from their Secret.
pub fn env(bd: &BiddingDeployment, all: &[Setting], component: Component) -> Vec<EnvVar> {
    let config_map = super::config::config_map_name(bd);
    settings::for_component(all, component)
        .map(|setting| {
            let source = match &setting.value {
                Value::Plain(_) => EnvVarSource {
                    config_map_key_ref: Some(ConfigMapKeySelector {
                        name: config_map.clone(),
                        key: setting.name.into(),
                        optional: None,
                    }),
                    ..Default::default()
                },
                Value::Secret { name, key, .. } => EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector { name: name.clone(), key: key.clone(), optional: None }),
                    ..Default::default()
                },
            };
            EnvVar { name: setting.name.into(), value: None, value_from: Some(source) }
        })
        .collect()
}

pub fn http_probe(path: &str, port: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Default::default()
    }
}

pub fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort { name: Some(name.into()), container_port: number, protocol: Some("TCP".into()), ..Default::default() }
}

pub fn restricted_container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: None }),
        ..Default::default()
    }
}

pub fn pod_security(user: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(user),
        run_as_group: Some(user),
        fs_group: Some(user),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), localhost_profile: None }),
        ..Default::default()
    }
}

pub fn image(bd: &BiddingDeployment, version: &str) -> String {
    format!("{}:{version}", bd.spec.image)
}

/// One aibid process (`aibid <role>`) of `component`, running `version`.
pub struct AppPod<'a> {
    pub component: Component,
    pub role: &'a str,
    pub version: &'a str,
    pub resources: &'a Resources,
    pub ports: Vec<ContainerPort>,
    /// Named port serving /health and /ready; `None` for run-to-completion pods.
    pub probe_port: Option<&'a str>,
    pub mounts_files: bool,
}

pub fn app_template(bd: &BiddingDeployment, all: &[Setting], pod: AppPod<'_>) -> PodTemplateSpec {
    let (config_hash, secret_hash) = settings::fingerprints(all, pod.component);
    let mut mounts = vec![VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..Default::default() }];
    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }];
    if pod.mounts_files {
        mounts.push(VolumeMount { name: "files".into(), mount_path: DATA_MOUNT.into(), ..Default::default() });
        volumes.push(Volume {
            name: "files".into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: super::storage::files_claim_name(bd),
                read_only: None,
            }),
            ..Default::default()
        });
    }
    let container = Container {
        name: pod.component.as_str().into(),
        image: Some(image(bd, pod.version)),
        args: Some(vec![pod.role.into()]),
        env: Some(env(bd, all, pod.component)),
        ports: (!pod.ports.is_empty()).then_some(pod.ports),
        resources: Some(resources(pod.resources)),
        liveness_probe: pod.probe_port.map(|port| http_probe("/health", port, 10, 3)),
        readiness_probe: pod.probe_port.map(|port| http_probe("/ready", port, 5, 3)),
        startup_probe: pod.probe_port.map(|port| http_probe("/health", port, 5, 30)),
        security_context: Some(restricted_container_security()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let pull_secrets: Vec<LocalObjectReference> =
        bd.spec.image_pull_secrets.iter().map(|name| LocalObjectReference { name: name.clone() }).collect();
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels::labels(bd, pod.component, Some(pod.version))),
            annotations: Some(BTreeMap::from([
                (CONFIG_HASH_ANNOTATION.to_string(), config_hash),
                (SECRET_HASH_ANNOTATION.to_string(), secret_hash),
            ])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(super::service_account::name(bd)),
            automount_service_account_token: Some(false),
            security_context: Some(pod_security(RUN_AS_USER)),
            containers: vec![container],
            volumes: Some(volumes),
            image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
            ..Default::default()
        }),
    }
}
