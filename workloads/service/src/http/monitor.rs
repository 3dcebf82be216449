//! The task monitor (the guide's Flower): queue length, workers with heartbeats, running and failed tasks, and
//! retry.

use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::queue::TaskQueue;
use crate::store::accounts::Role;
use crate::store::tasks::Task;
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkerView {
    pub id: String,
    pub host: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    /// Seconds since the last heartbeat.
    pub silent_for: i64,
}

/// A task a worker is writing now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RunningTaskView {
    pub id: String,
    pub project_id: String,
    pub project_name: String,
    pub section_id: Option<String>,
    pub worker: Option<String>,
    pub attempts: i64,
    pub started_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MonitorView {
    pub queue: String,
    /// Messages in the shared queue, of every organisation (the queue and the workers are shared
    /// infrastructure); the counts and lists below are this organisation's only.
    pub queue_length: Option<u64>,
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    pub workers: Vec<WorkerView>,
    pub running_tasks: Vec<RunningTaskView>,
    pub failed_tasks: Vec<Task>,
}

#[utoipa::path(get, path = "/api/monitor", responses((status = 200, body = MonitorView)))]
pub async fn view(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MonitorView>> {
    user.require(&[Role::Supervisor, Role::BidManager])?;
    let now = crate::store::now();
    let workers = state
        .store
        .workers()
        .await?
        .into_iter()
        .map(|(id, host, started_at, heartbeat_at)| WorkerView {
            id,
            host,
            started_at,
            heartbeat_at,
            silent_for: now - heartbeat_at,
        })
        .collect();
    // Only this organisation's tasks are listed.
    let failed_tasks = state.store.failed_tasks(&user.org_id, 200).await?;
    let running_tasks = state
        .store
        .running_tasks(&user.org_id, 200)
        .await?
        .into_iter()
        .map(|(task, started_at, project_name)| RunningTaskView {
            id: task.id,
            project_id: task.project_id,
            project_name,
            section_id: task.section_id,
            worker: task.worker,
            attempts: task.attempts,
            started_at,
            heartbeat_at: task.heartbeat_at,
        })
        .collect();
    let counts = state.store.task_counts(&user.org_id).await?;
    Ok(Json(MonitorView {
        queue: state.queue.name().into(),
        queue_length: state.queue.length().await.ok(),
        queued: counts.queued,
        running: counts.running,
        failed: counts.failed,
        workers,
        running_tasks,
        failed_tasks,
    }))
}

#[utoipa::path(post, path = "/api/tasks/{id}/retry", responses((status = 202), (status = 409)))]
pub async fn retry(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    user.require(&[Role::Supervisor, Role::BidManager])?;
    let task = state
        .store
        .task(&id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    state
        .store
        .project(&user.org_id, &task.project_id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    if task.status != "failed" {
        return Err(ApiError::Conflict(format!(
            "only failed tasks can be retried (this one is {})",
            task.status
        )));
    }
    // A section written since (by a newer run, a regenerate or a person) is not overwritten by an old task.
    if let Some(section) = &task.section_id {
        let status = state
            .store
            .section_states(&task.project_id)
            .await?
            .into_iter()
            .find(|s| &s.section_id == section)
            .map(|s| s.status);
        if status.as_deref() != Some("failed") {
            return Err(ApiError::Conflict(format!(
                "section {section} is {}; regenerate it instead of retrying this task",
                status.as_deref().unwrap_or("no longer in the outline")
            )));
        }
    }
    // The same rule as starting generation: a section is written only from an approved outline.
    super::generation::approved_outline(&state, &task.project_id).await?;
    state.store.retry_task(&id).await?;
    if let Some(section) = &task.section_id {
        state
            .store
            .set_section_status(&task.project_id, section, "pending", None)
            .await?;
    }
    state
        .store
        .set_project_status(&task.project_id, "generating")
        .await?;
    state.queue.enqueue(&id).await?;
    state
        .store
        .audit(
            Some(&user.org_id),
            Some(&user.id),
            "task.retried",
            Some(&id),
            None,
        )
        .await?;
    Ok(axum::http::StatusCode::ACCEPTED)
}
