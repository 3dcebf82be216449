//! Durable tasks: each pipeline step and each section is a row whose state survives any process.
//! The queue only carries task ids; the row says whether the work still needs doing.

use super::{new_id, now, DbError, Store};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: String,
    pub project_id: String,
    /// "section" (write one section) or "noop" (benchmarks)
    pub kind: String,
    pub section_id: Option<String>,
    /// queued, running, done, failed, cancelled
    pub status: String,
    pub attempts: i64,
    pub worker: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub heartbeat_at: Option<i64>,
    pub finished_at: Option<i64>,
}

fn task_from_row(r: &sqlx::any::AnyRow) -> Result<Task, DbError> {
    Ok(Task {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        kind: r.try_get("kind")?,
        section_id: r.try_get("section_id")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        worker: r.try_get("worker")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        heartbeat_at: r.try_get("heartbeat_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TaskCounts {
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
}

const TASK_COLUMNS: &str =
    "id, project_id, kind, section_id, status, attempts, worker, error, created_at, heartbeat_at, finished_at";

impl Store {
    pub async fn create_task(
        &self,
        project_id: &str,
        kind: &str,
        section_id: Option<&str>,
    ) -> Result<String, DbError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO tasks (id, project_id, kind, section_id, status, created_at) VALUES ($1, $2, $3, $4, 'queued', $5)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(kind)
        .bind(section_id)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn task(&self, id: &str) -> Result<Option<Task>, DbError> {
        let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Marks a task running for `worker`; None when it is finished or cancelled (a duplicate delivery).
    pub async fn start_task(&self, id: &str, worker: &str) -> Result<Option<Task>, DbError> {
        let t = now();
        let claimed = sqlx::query(&format!(
            "UPDATE tasks SET status = 'running', worker = $1, started_at = $2, heartbeat_at = $2, \
             attempts = attempts + 1 WHERE id = $3 AND status IN ('queued', 'running') RETURNING {TASK_COLUMNS}"
        ))
        .bind(worker)
        .bind(t)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        claimed.as_ref().map(task_from_row).transpose()
    }

    /// Stores the end of a task; false when it was cancelled meanwhile (the cancellation stays).
    pub async fn finish_task(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<bool, DbError> {
        let done = sqlx::query("UPDATE tasks SET status = $1, error = $2, finished_at = $3 WHERE id = $4 AND status <> 'cancelled'")
            .bind(status)
            .bind(error)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A running task back to queued after a failed attempt that will be retried; false when it is no longer
    /// running (cancelled or finished meanwhile). `heartbeat_at` marks when it was queued again, so the scheduler
    /// gives the re-send time to reach the queue before it counts the task as lost.
    pub async fn requeue_task(&self, id: &str, error: &str) -> Result<bool, DbError> {
        let requeued = sqlx::query(
            "UPDATE tasks SET status = 'queued', error = $1, worker = NULL, heartbeat_at = $2 \
                     WHERE id = $3 AND status = 'running'",
        )
        .bind(error)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(requeued.rows_affected() == 1)
    }

    /// A failed task back to queued with fresh attempts (a person pressed retry).
    pub async fn retry_task(&self, id: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE tasks SET status = 'queued', attempts = 0, error = NULL, worker = NULL, finished_at = NULL \
                     WHERE id = $1 AND status = 'failed'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ids of tasks not yet finished, oldest first (re-enqueued when an embedded process restarts).
    pub async fn unfinished_tasks(&self) -> Result<Vec<String>, DbError> {
        let rows = sqlx::query(
            "SELECT id FROM tasks WHERE status IN ('queued', 'running') ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.try_get("id")).collect()
    }

    /// Ids of tasks queued (created or re-queued) before `cutoff`: normally on the queue long since; those the
    /// queue does not hold were lost (Redis restarted empty, or was down when they were sent).
    pub async fn queued_tasks_before(&self, cutoff: i64) -> Result<Vec<String>, DbError> {
        let rows = sqlx::query(
            "SELECT id FROM tasks WHERE status = 'queued' AND COALESCE(heartbeat_at, created_at) < $1 \
             ORDER BY created_at",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.try_get("id")).collect()
    }

    pub async fn cancel_project_tasks(&self, project_id: &str) -> Result<u64, DbError> {
        let done = sqlx::query(
            "UPDATE tasks SET status = 'cancelled', finished_at = $1 WHERE project_id = $2 AND status IN ('queued', 'running')",
        )
        .bind(now())
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Failed tasks a newer run replaces (all of the project's, or one section's) leave the failed list, so the
    /// monitor cannot retry one over the newer result; they count as cancelled.
    pub async fn supersede_failed_tasks(
        &self,
        project_id: &str,
        section_id: Option<&str>,
    ) -> Result<u64, DbError> {
        let done = sqlx::query(
            "UPDATE tasks SET status = 'cancelled' WHERE project_id = $1 AND status = 'failed' \
             AND ($2 IS NULL OR section_id = $2)",
        )
        .bind(project_id)
        .bind(section_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn project_tasks(&self, project_id: &str) -> Result<Vec<Task>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE project_id = $1 ORDER BY created_at"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// Running tasks whose worker stopped sending heartbeats before `cutoff`.
    pub async fn stale_tasks(&self, cutoff: i64) -> Result<Vec<Task>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE status = 'running' AND COALESCE(heartbeat_at, 0) < $1"
        ))
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// The organisation's failed tasks, newest first (the monitor's list).
    pub async fn failed_tasks(&self, org_id: &str, limit: i64) -> Result<Vec<Task>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE status = 'failed' \
             AND project_id IN (SELECT id FROM projects WHERE org_id = $1) ORDER BY finished_at DESC LIMIT $2"
        ))
        .bind(org_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// The organisation's running tasks with the time a worker took each and the project's name, newest first
    /// (the monitor's list).
    pub async fn running_tasks(
        &self,
        org_id: &str,
        limit: i64,
    ) -> Result<Vec<(Task, Option<i64>, String)>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS}, started_at, \
             (SELECT name FROM projects WHERE projects.id = tasks.project_id) AS project_name FROM tasks \
             WHERE status = 'running' AND project_id IN (SELECT id FROM projects WHERE org_id = $1) \
             ORDER BY started_at DESC LIMIT $2"
        ))
        .bind(org_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    task_from_row(r)?,
                    r.try_get("started_at")?,
                    r.try_get("project_name")?,
                ))
            })
            .collect()
    }

    pub async fn heartbeat(
        &self,
        worker: &str,
        host: &str,
        task_id: Option<&str>,
    ) -> Result<(), DbError> {
        let t = now();
        sqlx::query(
            "INSERT INTO workers (id, host, started_at, heartbeat_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        )
        .bind(worker)
        .bind(host)
        .bind(t)
        .execute(&self.pool)
        .await?;
        if let Some(task) = task_id {
            sqlx::query("UPDATE tasks SET heartbeat_at = $1 WHERE id = $2 AND worker = $3")
                .bind(t)
                .bind(task)
                .bind(worker)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// A worker that stopped cleanly leaves the monitor's list.
    pub async fn forget_worker(&self, worker: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM workers WHERE id = $1")
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Drops workers silent since before `cutoff` (killed ones, which could not say goodbye); returns how many.
    pub async fn prune_workers(&self, cutoff: i64) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM workers WHERE heartbeat_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn workers(&self) -> Result<Vec<(String, String, i64, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT id, host, started_at, heartbeat_at FROM workers ORDER BY heartbeat_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("host")?,
                    r.try_get("started_at")?,
                    r.try_get("heartbeat_at")?,
                ))
            })
            .collect()
    }

    /// The organisation's queued, running and failed tasks, counted in one query (the monitor's totals, which
    /// must agree with its lists and say nothing about other organisations).
    pub async fn task_counts(&self, org_id: &str) -> Result<TaskCounts, DbError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM tasks WHERE status IN ('queued', 'running', 'failed') \
             AND project_id IN (SELECT id FROM projects WHERE org_id = $1) GROUP BY status",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = TaskCounts::default();
        for row in &rows {
            let n: i64 = row.try_get("n")?;
            match row.try_get::<String, _>("status")?.as_str() {
                "queued" => counts.queued = n,
                "running" => counts.running = n,
                _ => counts.failed = n,
            }
        }
        Ok(counts)
    }
}
