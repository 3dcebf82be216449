//! Starting and cancelling generation (only from an approved outline), per-section progress, and a
//! Server-Sent Events stream of the same progress.

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::projects::owned_project;
use super::AppState;
use crate::queue::TaskQueue;
use crate::store::accounts::Role;
use crate::store::tasks::Task;
use aibid_proposal::outline::Outline;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures::Stream;
use serde::Serialize;
use std::convert::Infallible;
use std::time::Duration;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SectionProgress {
    pub section_id: String,
    pub title: String,
    pub status: String,
    pub revision_count: i64,
    pub error: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub project_status: String,
    pub total: usize,
    pub done: usize,
    pub failed: usize,
    pub running: usize,
    pub percent: f64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    /// Estimated seconds left from the pace so far; None before the first section finishes.
    pub eta_seconds: Option<i64>,
    pub sections: Vec<SectionProgress>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    pub tasks: usize,
}

#[utoipa::path(post, path = "/api/projects/{id}/generation", responses((status = 202, body = Started), (status = 409)))]
pub async fn start(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(axum::http::StatusCode, Json<Started>)> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    let project = owned_project(&state, &user, &id).await?;
    if project.status == "generating" {
        return Err(ApiError::Conflict("generation is already running".into()));
    }
    let outline = approved_outline(&state, &id).await?;
    let sections: Vec<(String, String)> = outline
        .sections
        .iter()
        .map(|s| (s.id.clone(), format!("{} {}", s.number, s.title)))
        .collect();
    // Refuse before changing anything while the queue is down, so the project does not sit in "generating".
    if !state.queue.ping().await {
        return Err(ApiError::UnavailableBecause(
            "the task queue is unreachable; generation was not started, try again shortly".into(),
        ));
    }
    // One start wins: the status changes in one statement, so parallel starts cannot each begin a run.
    if !state.store.claim_generation(&id).await? {
        return Err(ApiError::Conflict("generation is already running".into()));
    }
    let task_ids = match create_run(&state, &id, &sections).await {
        Ok(task_ids) => task_ids,
        Err(e) => {
            let _ = state.store.set_project_status(&id, &project.status).await;
            return Err(e);
        }
    };
    for task in &task_ids {
        // The tasks are stored: one the queue misses now (it went down a moment ago) is re-sent by the scheduler.
        if let Err(e) = state.queue.enqueue(task).await {
            tracing::warn!(%task, error = %e, "task not queued; the scheduler will re-send it");
        }
    }
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "generation.started",
            Some(&id),
            None,
        )
        .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(Started {
            tasks: task_ids.len(),
        }),
    ))
}

/// The project's latest outline if it is approved: sections are written only from one (a run, a retry); 409
/// otherwise.
pub(super) async fn approved_outline(state: &AppState, id: &str) -> ApiResult<Outline> {
    let outline = state
        .store
        .latest_outline(id)
        .await?
        .ok_or(ApiError::Conflict("upload a tender first".into()))?;
    if outline.approved_at.is_none() {
        return Err(ApiError::Conflict(
            "the outline must be approved before content generation starts".into(),
        ));
    }
    serde_json::from_value(outline.outline).map_err(|e| ApiError::Internal(e.into()))
}

/// The tasks of a new run. Sections already written (edited, approved) keep their content, versions and revision
/// count: a run writes only what is missing or failed; rewriting a written section is the per-section regenerate.
async fn create_run(
    state: &AppState,
    id: &str,
    sections: &[(String, String)],
) -> ApiResult<Vec<String>> {
    let to_write = state.store.prepare_sections(id, sections).await?;
    if to_write.is_empty() {
        return Err(ApiError::Conflict(
            "every section of the approved outline is already written; regenerate single sections to rewrite them"
                .into(),
        ));
    }
    state.store.cancel_project_tasks(id).await?;
    state.store.supersede_failed_tasks(id, None).await?;
    let mut task_ids = Vec::with_capacity(to_write.len());
    for section_id in &to_write {
        task_ids.push(
            state
                .store
                .create_task(id, "section", Some(section_id))
                .await?,
        );
    }
    Ok(task_ids)
}

#[utoipa::path(post, path = "/api/projects/{id}/generation/cancel", responses((status = 200, body = Progress), (status = 409)))]
pub async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Progress>> {
    user.require(&[Role::BidManager, Role::Supervisor])?;
    let project = owned_project(&state, &user, &id).await?;
    if project.status != "generating" {
        return Err(ApiError::Conflict(format!(
            "generation is not running (the project is {})",
            project.status
        )));
    }
    let cancelled = state.store.cancel_project_tasks(&id).await?;
    state.store.set_project_status(&id, "cancelled").await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "generation.cancelled",
            Some(&id),
            Some(&cancelled.to_string()),
        )
        .await?;
    Ok(Json(progress_of(&state, &id).await?))
}

/// Seconds left at the pace of the current run: only the newest task of each section counts, and of those only
/// the ones created with the oldest unfinished task (one start or regenerate), so earlier runs' tasks neither
/// stretch the elapsed time nor count as done. None while nothing is unfinished or nothing of the run is done.
pub fn eta_of_current_run(tasks: &[Task], now: i64) -> Option<i64> {
    let mut newest: std::collections::HashMap<&str, &Task> = std::collections::HashMap::new();
    for task in tasks.iter().filter(|t| t.kind == "section") {
        let key = task.section_id.as_deref().unwrap_or_default();
        if newest
            .get(key)
            .is_none_or(|seen| seen.created_at < task.created_at)
        {
            newest.insert(key, task);
        }
    }
    let unfinished = |t: &&&Task| t.status == "queued" || t.status == "running";
    let start = newest
        .values()
        .filter(unfinished)
        .map(|t| t.created_at)
        .min()?;
    // One run's tasks are created in one request, which may straddle a second boundary.
    let run: Vec<&Task> = newest
        .values()
        .copied()
        .filter(|t| t.created_at >= start - 1)
        .collect();
    let remaining = run.iter().filter(unfinished).count();
    let done = run.iter().filter(|t| t.status == "done").count();
    if done == 0 {
        return None;
    }
    let per_task = (now - start) as f64 / done as f64;
    Some((per_task * remaining as f64).round() as i64)
}

pub async fn progress_of(state: &AppState, id: &str) -> ApiResult<Progress> {
    let project_status = state.store.project_org(id).await?.map(|_| ());
    project_status.ok_or(ApiError::NotFound("project"))?;
    let sections = state.store.section_states(id).await?;
    let tasks = state.store.project_tasks(id).await?;
    let total = sections.len();
    let done = sections
        .iter()
        .filter(|s| s.status == "done" || s.status == "approved")
        .count();
    let failed = sections.iter().filter(|s| s.status == "failed").count();
    let running = sections.iter().filter(|s| s.status == "running").count();
    let eta_seconds = eta_of_current_run(&tasks, crate::store::now());
    let status = state.store.project_status(id).await?.unwrap_or_default();
    Ok(Progress {
        project_status: status,
        total,
        done,
        failed,
        running,
        percent: if total == 0 {
            0.0
        } else {
            (done as f64 * 1000.0 / total as f64).round() / 10.0
        },
        tokens_in: sections.iter().map(|s| s.tokens_in).sum(),
        tokens_out: sections.iter().map(|s| s.tokens_out).sum(),
        eta_seconds,
        sections: sections
            .into_iter()
            .map(|s| SectionProgress {
                section_id: s.section_id,
                title: s.title,
                status: s.status,
                revision_count: s.revision_count,
                error: s.error,
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/api/projects/{id}/progress", responses((status = 200, body = Progress)))]
pub async fn progress(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Progress>> {
    owned_project(&state, &user, &id).await?;
    Ok(Json(progress_of(&state, &id).await?))
}

/// `progress` events once a second until generation is no longer running or the server stops (the client
/// reconnects to another pod).
#[utoipa::path(get, path = "/api/projects/{id}/events", responses((status = 200, content_type = "text/event-stream")))]
pub async fn events(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    owned_project(&state, &user, &id).await?;
    let mut shutdown = state.shutdown.clone();
    let stream = async_stream::stream! {
        while !*shutdown.borrow() {
            match progress_of(&state, &id).await {
                Ok(p) => {
                    let finished = p.project_status != "generating";
                    let data = serde_json::to_string(&p).unwrap_or_else(|_| "{}".into());
                    yield Ok(Event::default().event("progress").data(data));
                    if finished { break; }
                }
                Err(_) => yield Ok(Event::default().event("error").data("{\"error\":\"unavailable\"}")),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                Ok(()) = shutdown.changed() => {}
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod eta_tests {
    use super::*;

    fn task(section: &str, status: &str, created_at: i64) -> Task {
        Task {
            id: format!("{section}-{created_at}"),
            project_id: "p".into(),
            kind: "section".into(),
            section_id: Some(section.into()),
            status: status.into(),
            attempts: 1,
            worker: None,
            error: None,
            created_at,
            heartbeat_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn earlier_runs_do_not_count() {
        // Run one at t=0 finished all three sections; run two started at t=1000 (one request straddling a second).
        let tasks = vec![
            task("a", "done", 0),
            task("b", "done", 0),
            task("c", "cancelled", 0),
            task("a", "done", 1000),
            task("b", "running", 1001),
            task("c", "queued", 1000),
        ];
        // 60 s for one section of this run, two left.
        assert_eq!(eta_of_current_run(&tasks, 1060), Some(120));
    }

    #[test]
    fn a_single_regenerated_section_has_no_pace_until_it_is_done() {
        let tasks = vec![
            task("a", "done", 0),
            task("b", "done", 0),
            task("a", "running", 500),
        ];
        assert_eq!(eta_of_current_run(&tasks, 560), None);
        assert_eq!(eta_of_current_run(&[task("a", "done", 0)], 10), None);
    }
}
