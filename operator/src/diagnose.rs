//! `aibid-operator diagnose NAME [-n NS]`: what the guide's troubleshooting chapter (8) has a person check by hand,
//! read from the API in one go: conditions, each component's ready/desired replicas, volumes, the last backup per
//! kind, running restores, recent warning Events of the CR and its children, and the task queue length.

use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use crate::crd::{BiddingDeployment, BiddingRestore};
use crate::render::backup::BackupKind;
use crate::render::restore::RestorePhase;
use crate::render::Component;

/// How many of the newest warning Events are shown.
const EVENT_LIMIT: usize = 15;

/// The report as text; an error only when the BiddingDeployment cannot be read.
pub async fn report(client: &Client, ns: &str, name: &str) -> anyhow::Result<String> {
    let bd = Api::<BiddingDeployment>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|e| anyhow::anyhow!("reading BiddingDeployment {ns}/{name}: {e}"))?
        .ok_or_else(|| anyhow::anyhow!("BiddingDeployment {name} not found in namespace {ns}"))?;
    let status = bd.status.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "BiddingDeployment {ns}/{name}: spec version {}, running version {}, generation {} (observed {})",
        bd.spec.version,
        status.version.as_deref().unwrap_or("none yet"),
        bd.metadata.generation.unwrap_or(0),
        status
            .observed_generation
            .map_or_else(|| "never".into(), |g| g.to_string())
    );

    let _ = writeln!(out, "\nConditions:");
    if status.conditions.is_empty() {
        let _ = writeln!(
            out,
            "  (none: the operator has not reconciled this deployment yet; is it running?)"
        );
    }
    for c in &status.conditions {
        let _ = writeln!(
            out,
            "  {}={} {}: {}",
            c.type_, c.status, c.reason, c.message
        );
    }

    let _ = writeln!(out, "\nComponents (ready/desired):");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    for component in [
        Component::Api,
        Component::Worker,
        Component::Scheduler,
        Component::Monitor,
    ] {
        let object = component.name(&bd);
        let line = match deployments.get_opt(&object).await {
            Ok(Some(d)) => {
                let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let ready = d.status.and_then(|s| s.ready_replicas).unwrap_or(0);
                format!("{ready}/{desired}{}", flag(ready, desired))
            }
            Ok(None) => "absent".into(),
            Err(e) => format!("unreadable: {e}"),
        };
        let _ = writeln!(
            out,
            "  {:<10} Deployment  {object:<28} {line}",
            component.as_str()
        );
    }
    let stateful_sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    for component in [Component::Postgres, Component::Redis] {
        let object = component.name(&bd);
        let line = match stateful_sets.get_opt(&object).await {
            Ok(Some(s)) => {
                let desired = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let ready = s.status.and_then(|s| s.ready_replicas).unwrap_or(0);
                format!("{ready}/{desired}{}", flag(ready, desired))
            }
            Ok(None) => "absent (external, or not created yet)".into(),
            Err(e) => format!("unreadable: {e}"),
        };
        let _ = writeln!(
            out,
            "  {:<10} StatefulSet {object:<28} {line}",
            component.as_str()
        );
    }

    let _ = writeln!(out, "\nVolumes:");
    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={name}")))
        .await;
    match claims {
        Ok(list) if list.items.is_empty() => {
            let _ = writeln!(out, "  (no PersistentVolumeClaims labelled for {name})");
        }
        Ok(list) => {
            for claim in list.items {
                let requested = claim
                    .spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
                    .map_or_else(|| "?".into(), |q| q.0.clone());
                let phase = claim
                    .status
                    .and_then(|s| s.phase)
                    .unwrap_or_else(|| "Unknown".into());
                let note = if phase == "Bound" {
                    ""
                } else {
                    "  <- not bound"
                };
                let _ = writeln!(
                    out,
                    "  {:<36} {phase:<8} {requested}{note}",
                    claim.metadata.name.unwrap_or_default()
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  unreadable: {e}");
        }
    }

    let _ = writeln!(out, "\nLast backup per kind:");
    if bd.spec.backup.is_none() {
        let _ = writeln!(out, "  backups are not configured (spec.backup is absent)");
    } else {
        for kind in BackupKind::ALL {
            let record = status.last_backup.get(kind.as_str());
            let success = record
                .and_then(|r| r.success.as_ref())
                .map_or_else(|| "never".into(), |r| format!("{} ({})", r.time.0, r.job));
            let failure = record
                .and_then(|r| r.failure.as_ref())
                .map(|r| format!("; last failure {} ({})", r.time.0, r.job))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<6} last success {success}{failure}",
                kind.as_str()
            );
        }
    }

    let _ = writeln!(out, "\nRestores in progress:");
    let mut restore_names = Vec::new();
    match Api::<BiddingRestore>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => {
            let ours: Vec<_> = list
                .items
                .iter()
                .filter(|r| r.spec.deployment_ref == name)
                .collect();
            restore_names = ours.iter().map(|r| r.name_any()).collect();
            let running: Vec<_> = ours
                .into_iter()
                .filter(|r| {
                    let phase = r.status.as_ref().and_then(|s| s.phase.as_deref());
                    !matches!(
                        RestorePhase::parse(phase),
                        Some(RestorePhase::Succeeded | RestorePhase::Failed)
                    )
                })
                .collect();
            if running.is_empty() {
                let _ = writeln!(out, "  none");
            }
            for restore in running {
                let status = restore.status.clone().unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {} phase {} {}: {}",
                    restore.name_any(),
                    status.phase.as_deref().unwrap_or("(not started)"),
                    status.reason.as_deref().unwrap_or(""),
                    status.message.as_deref().unwrap_or("")
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  unreadable: {e}");
        }
    }

    let _ = writeln!(out, "\nRecent warning events (CR, children, restores):");
    match warning_events(client, ns, name, &restore_names).await {
        Ok(events) if events.is_empty() => {
            let _ = writeln!(out, "  none");
        }
        Ok(events) => {
            for line in events {
                let _ = writeln!(out, "  {line}");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  unreadable: {e}");
        }
    }

    let _ = writeln!(out, "\nTask queue:");
    match queue_length(client, ns, &Component::Api.name(&bd)).await {
        Ok(lines) if lines.is_empty() => {
            let _ = writeln!(
                out,
                "  the API's /metrics answered without aibid_queue_length"
            );
        }
        Ok(lines) => {
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
        Err(why) => {
            let _ = writeln!(
                out,
                "  skipped: the API's /metrics is not reachable through the API server's service proxy ({why})"
            );
        }
    }
    Ok(out)
}

fn flag(ready: i32, desired: i32) -> &'static str {
    if ready < desired {
        "  <- not all ready"
    } else {
        ""
    }
}

/// Warning Events about the CR, objects named `<name>-...` (its children) and its restores, newest last.
async fn warning_events(
    client: &Client,
    ns: &str,
    name: &str,
    restores: &[String],
) -> kube::Result<Vec<String>> {
    let events = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    let child_prefix = format!("{name}-");
    let data_prefix = format!("data-{name}-");
    let mut warnings: Vec<(String, String)> = events
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter_map(|e| {
            let regarding = e.regarding.clone().unwrap_or_default();
            let object = regarding.name.clone().unwrap_or_default();
            let kind = regarding.kind.clone().unwrap_or_default();
            let ours = object == name
                || object.starts_with(&child_prefix)
                || object.starts_with(&data_prefix)
                || (kind == "BiddingRestore" && restores.contains(&object));
            if !ours {
                return None;
            }
            let when = e
                .event_time
                .as_ref()
                .map(|t| t.0.to_string())
                .or_else(|| {
                    e.deprecated_last_timestamp
                        .as_ref()
                        .map(|t| t.0.to_string())
                })
                .or_else(|| {
                    e.metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|t| t.0.to_string())
                })
                .unwrap_or_default();
            let text = format!(
                "{when} {kind}/{object} {}: {}",
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default()
            );
            Some((when, text))
        })
        .collect();
    warnings.sort();
    let skip = warnings.len().saturating_sub(EVENT_LIMIT);
    Ok(warnings
        .into_iter()
        .skip(skip)
        .map(|(_, text)| text)
        .collect())
}

/// `aibid_queue_length` lines from the API Service's metrics port, through the API server's service proxy
/// (works from a workstation; needs `services/proxy` get permission).
async fn queue_length(client: &Client, ns: &str, service: &str) -> Result<Vec<String>, String> {
    let path = format!("/api/v1/namespaces/{ns}/services/{service}:metrics/proxy/metrics");
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let call = client.request_text(request);
    let text = tokio::time::timeout(std::time::Duration::from_secs(5), call)
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| match e {
            kube::Error::Api(status) => format!("{} {}", status.code, status.message),
            other => other.to_string(),
        })?;
    Ok(text
        .lines()
        .filter(|line| line.starts_with("aibid_queue_length"))
        .map(str::to_string)
        .collect())
}
