//! The worker role: takes task ids from the queue, runs each task at most once to a stored result, and only then
//! acknowledges. Failed attempts are retried with exponential backoff; a worker that dies leaves its delivery
//! unacknowledged, and another worker reclaims it after the queue's timeout.

use crate::metrics::Metrics;
use crate::queue::{Delivery, Queue, TaskQueue};
use crate::store::tasks::Task;
use crate::store::Store;
use aibid_proposal::write::SectionWriter;
use aibid_proposal::SectionStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Attempts per task before it is marked failed (the LLM writer retries HTTP errors itself within one attempt).
pub const MAX_ATTEMPTS: i64 = 3;

#[derive(Clone)]
pub struct Worker {
    pub id: String,
    /// The machine (pod) this worker runs on, shown on the task monitor.
    pub host: String,
    pub store: Store,
    pub queue: Queue,
    pub writer: Arc<dyn SectionWriter>,
    pub metrics: Arc<Metrics>,
    /// First retry delay; doubles per attempt.
    pub backoff: Duration,
    pub heartbeat_every: Duration,
}

impl Worker {
    /// Runs `concurrency` consumers until `shutdown` turns true; a consumer finishes its current task first.
    pub async fn run(self, concurrency: usize, shutdown: watch::Receiver<bool>) {
        let mut consumers = tokio::task::JoinSet::new();
        for n in 0..concurrency.max(1) {
            let mut worker = self.clone();
            worker.id = format!("{}-{n}", self.id);
            consumers.spawn(worker.consume(shutdown.clone()));
        }
        while consumers.join_next().await.is_some() {}
    }

    async fn consume(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "worker started");
        let mut last_beat: Option<Instant> = None;
        while !*shutdown.borrow() {
            if last_beat.is_none_or(|t| t.elapsed() >= self.heartbeat_every) {
                self.heartbeat(None).await;
                last_beat = Some(Instant::now());
            }
            let delivery = tokio::select! {
                d = self.queue.receive(&self.id, Duration::from_secs(2)) => d,
                _ = shutdown.changed() => break,
            };
            match delivery {
                Ok(Some(delivery)) => self.handle(delivery).await,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "queue unavailable; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        if let Err(e) = self.store.forget_worker(&self.id).await {
            tracing::warn!(worker = %self.id, error = %e, "worker not removed from the monitor's list");
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }

    /// One delivery: claim the task row, run it, store the result, then acknowledge.
    pub async fn handle(&self, delivery: Delivery) {
        let task = match self.store.start_task(&delivery.task_id, &self.id).await {
            Ok(Some(task)) => task,
            // Finished, cancelled or unknown: a duplicate delivery, nothing to do.
            Ok(None) => {
                let _ = self.queue.ack(&delivery).await;
                return;
            }
            // Database down: leave the delivery unacknowledged so it is reclaimed later.
            Err(e) => {
                tracing::warn!(task = %delivery.task_id, error = %e, "cannot claim task");
                return;
            }
        };
        let started = Instant::now();
        let outcome = self.run_with_heartbeat(&task, &delivery).await;
        let seconds = started.elapsed().as_secs_f64();
        // The outcome label of aibid_tasks_total: ok | failed | retried | cancelled.
        let stored = match &outcome {
            Ok(()) => self
                .store
                .finish_task(&task.id, "done", None)
                .await
                .map(|stored| if stored { "ok" } else { "cancelled" }),
            Err(error) if task.attempts < MAX_ATTEMPTS => {
                tracing::warn!(task = %task.id, attempt = task.attempts, %error, "task failed; will retry");
                tokio::time::sleep(
                    self.backoff * 2u32.saturating_pow(task.attempts.saturating_sub(1) as u32),
                )
                .await;
                match self.store.requeue_task(&task.id, error).await {
                    Ok(true) => self
                        .queue
                        .enqueue(&task.id)
                        .await
                        .map(|_| "retried")
                        .map_err(|e| sqlx::Error::Protocol(e.to_string())),
                    // Cancelled while waiting for the retry: the cancellation stands.
                    Ok(false) => Ok("cancelled"),
                    Err(e) => Err(e),
                }
            }
            Err(error) => {
                tracing::error!(task = %task.id, %error, "task failed for good");
                if let Some(section) = &task.section_id {
                    let _ = self
                        .store
                        .set_section_status(
                            &task.project_id,
                            section,
                            "failed",
                            Some(error.as_str()),
                        )
                        .await;
                }
                self.store
                    .finish_task(&task.id, "failed", Some(error.as_str()))
                    .await
                    .map(|stored| if stored { "failed" } else { "cancelled" })
            }
        };
        match stored {
            Ok(outcome) => {
                self.metrics.task_finished(&task.kind, outcome, seconds);
                // Only a section's end can complete a project's generation.
                if task.section_id.is_some() {
                    let _ = self.finish_project_if_done(&task.project_id).await;
                }
                if let Err(e) = self.queue.ack(&delivery).await {
                    tracing::warn!(task = %task.id, error = %e, "ack failed; the task may run again (its result is kept once)");
                }
            }
            Err(e) => {
                tracing::warn!(task = %task.id, error = %e, "result not stored; leaving the delivery for reclaim")
            }
        }
    }

    /// Records the heartbeat in the database (the task monitor and stale-task reclaim read it) and in this
    /// process's `aibid_worker_heartbeat_timestamp_seconds`.
    async fn heartbeat(&self, task_id: Option<&str>) {
        match self.store.heartbeat(&self.id, &self.host, task_id).await {
            Ok(()) => self.metrics.worker_heartbeat(&self.id, crate::store::now()),
            Err(e) => tracing::warn!(worker = %self.id, error = %e, "heartbeat not stored"),
        }
    }

    async fn run_with_heartbeat(&self, task: &Task, delivery: &Delivery) -> Result<(), String> {
        let work = self.run_task(task);
        tokio::pin!(work);
        // The claim stored the first heartbeat: a task shorter than the interval costs no extra writes.
        let mut beat = tokio::time::interval_at(
            tokio::time::Instant::now() + self.heartbeat_every,
            self.heartbeat_every,
        );
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = beat.tick() => {
                    self.heartbeat(Some(&task.id)).await;
                    let _ = self.queue.keep_alive(&self.id, delivery).await;
                }
            }
        }
    }

    async fn run_task(&self, task: &Task) -> Result<(), String> {
        match task.kind.as_str() {
            "noop" => Ok(()),
            "section" => {
                let section_id = task
                    .section_id
                    .as_deref()
                    .ok_or("section task without a section id")?;
                self.write_section(&task.project_id, section_id).await
            }
            other => Err(format!("unknown task kind {other:?}")),
        }
    }

    async fn write_section(&self, project_id: &str, section_id: &str) -> Result<(), String> {
        let inputs = crate::pipeline::ProjectInputs::load(&self.store, project_id)
            .await
            .map_err(|e| e.to_string())?;
        let _ = self
            .store
            .set_section_status(project_id, section_id, "running", None)
            .await;
        let result = aibid_proposal::write_section(
            &inputs.document,
            &inputs.ledger,
            &inputs.outline,
            section_id,
            self.writer.as_ref(),
        )
        .await;
        match result.status {
            SectionStatus::Complete { draft } => {
                let tokens = (
                    draft.usage.prompt_tokens as i64,
                    draft.usage.completion_tokens as i64,
                );
                self.metrics
                    .llm_tokens
                    .get_or_create(&crate::metrics::DirectionLabels {
                        direction: "in".into(),
                    })
                    .inc_by(tokens.0 as u64);
                self.metrics
                    .llm_tokens
                    .get_or_create(&crate::metrics::DirectionLabels {
                        direction: "out".into(),
                    })
                    .inc_by(tokens.1 as u64);
                let json = serde_json::to_string(&draft).map_err(|e| e.to_string())?;
                // false: another run stored this section first; keeping one result is the point.
                self.store
                    .record_generated_section(project_id, section_id, &json, tokens)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            SectionStatus::Failed { error } => Err(error),
            SectionStatus::Pending => Err("section was not written".into()),
        }
    }

    async fn finish_project_if_done(&self, project_id: &str) -> Result<(), sqlx::Error> {
        let tally = self.store.section_tally(project_id).await?;
        if tally.total > 0 && tally.open == 0 {
            let failed = tally.failed > 0;
            let status = if failed { "failed" } else { "generated" };
            if self
                .store
                .finish_project_generation(project_id, status)
                .await?
            {
                self.metrics
                    .project_event(if failed { "failed" } else { "completed" });
            }
        }
        Ok(())
    }
}
