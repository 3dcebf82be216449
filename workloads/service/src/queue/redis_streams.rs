//! Redis Streams queue: one stream, one consumer group. A delivery is acknowledged (XACK + XDEL) only after the
//! task's result is stored; deliveries idle longer than the reclaim timeout (their consumer died) are taken over
//! with XAUTOCLAIM, looked for at most every [`RECLAIM_CHECK_EVERY`] while there is nothing to take over (not before
//! every read: that doubled the round trips of each task). Live consumers reset the idle time with XCLAIM ... JUSTID
//! while they work.
//! A Redis that restarted empty has neither stream nor group (NOGROUP): they are created again and work goes on;
//! the deliveries it lost are re-sent by the scheduler from the database (see [`RedisQueue::outstanding_task_ids`]).

use super::{Delivery, QueueError, TaskQueue};
use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const GROUP: &str = "workers";
const FIELD: &str = "task";
/// The longest a dead consumer's delivery waits beyond the reclaim timeout before a live one looks for it.
const RECLAIM_CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct RedisQueue {
    connection: ConnectionManager,
    /// Separate connection for blocking reads, so a BLOCK does not stall enqueues on the shared one.
    blocking: ConnectionManager,
    stream: String,
    reclaim_after: Duration,
    /// When this process last looked for deliveries to reclaim and found none (shared by its consumers).
    reclaim_checked: Arc<Mutex<Option<Instant>>>,
}

impl RedisQueue {
    pub async fn connect(
        url: &str,
        stream: &str,
        reclaim_after: Duration,
    ) -> Result<RedisQueue, QueueError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(3))
            .set_response_timeout(Duration::from_secs(30));
        let connection = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
        let blocking = ConnectionManager::new_with_config(client, config).await?;
        let queue = RedisQueue {
            connection,
            blocking,
            stream: stream.to_string(),
            reclaim_after,
            reclaim_checked: Arc::new(Mutex::new(None)),
        };
        queue.ensure_group().await?;
        Ok(queue)
    }

    async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut conn = self.connection.clone();
        let created: Result<(), redis::RedisError> =
            conn.xgroup_create_mkstream(&self.stream, GROUP, "0").await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => Ok(other?),
        }
    }

    /// Runs `op`; on NOGROUP (Redis restarted empty, or the stream was deleted) creates the group again and retries once.
    async fn with_group<T, F, Fut>(&self, op: F) -> Result<T, QueueError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, redis::RedisError>>,
    {
        match op().await {
            Err(e) if e.code() == Some("NOGROUP") => {
                tracing::warn!(stream = %self.stream, "consumer group missing (Redis restarted empty?); creating it again");
                self.ensure_group().await?;
                Ok(op().await?)
            }
            other => Ok(other?),
        }
    }

    /// One delivery idle longer than the reclaim timeout (its consumer died), now this consumer's.
    async fn reclaim_one(&self, consumer: &str) -> Result<Option<Delivery>, QueueError> {
        let reclaimed: StreamAutoClaimReply = self
            .with_group(|| {
                let mut conn = self.connection.clone();
                async move {
                    conn.xautoclaim_options(
                        &self.stream,
                        GROUP,
                        consumer,
                        self.reclaim_after.as_millis() as u64,
                        "0-0",
                        StreamAutoClaimOptions::default().count(1),
                    )
                    .await
                }
            })
            .await?;
        reclaimed.claimed.first().map(Self::delivery).transpose()
    }

    /// Task ids of every entry still in the stream: waiting or delivered but not acknowledged (acknowledged entries
    /// are deleted). The scheduler re-sends queued tasks that are missing here.
    pub async fn outstanding_task_ids(
        &self,
    ) -> Result<std::collections::HashSet<String>, QueueError> {
        let mut conn = self.connection.clone();
        let mut ids = std::collections::HashSet::new();
        let mut start = "-".to_string();
        loop {
            let page: redis::streams::StreamRangeReply =
                conn.xrange_count(&self.stream, &start, "+", 1000).await?;
            let Some(last) = page.ids.last().map(|e| e.id.clone()) else {
                break;
            };
            let full_page = page.ids.len() == 1000;
            for entry in &page.ids {
                ids.insert(Self::delivery(entry)?.task_id);
            }
            if !full_page {
                break;
            }
            start = format!("({last}");
        }
        Ok(ids)
    }

    /// True when it is time to look for deliveries to reclaim; a look that finds one keeps it due, so the rest of a
    /// dead consumer's deliveries follow at once.
    fn reclaim_due(&self) -> bool {
        let every = RECLAIM_CHECK_EVERY.min(self.reclaim_after / 4);
        // A poisoned lock only means a consumer panicked; the time in it is still usable.
        let checked = self
            .reclaim_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        checked.is_none_or(|at| at.elapsed() >= every)
    }

    fn reclaim_found_nothing(&self) {
        *self
            .reclaim_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    fn delivery(entry: &redis::streams::StreamId) -> Result<Delivery, QueueError> {
        let task_id: String = entry
            .get(FIELD)
            .ok_or_else(|| QueueError::Malformed(entry.id.clone()))?;
        Ok(Delivery {
            task_id,
            delivery_id: entry.id.clone(),
        })
    }
}

impl TaskQueue for RedisQueue {
    async fn enqueue(&self, task_id: &str) -> Result<(), QueueError> {
        let mut conn = self.connection.clone();
        let _: String = conn.xadd(&self.stream, "*", &[(FIELD, task_id)]).await?;
        Ok(())
    }

    async fn receive(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> Result<Option<Delivery>, QueueError> {
        if self.reclaim_due() {
            if let Some(delivery) = self.reclaim_one(consumer).await? {
                return Ok(Some(delivery));
            }
            self.reclaim_found_nothing();
        }
        let reply: Option<StreamReadReply> = self
            .with_group(|| {
                let mut blocking = self.blocking.clone();
                let options = StreamReadOptions::default()
                    .group(GROUP, consumer)
                    .count(1)
                    .block(wait.as_millis().max(1) as usize);
                async move {
                    blocking
                        .xread_options(&[&self.stream], &[">"], &options)
                        .await
                }
            })
            .await?;
        let entry = reply
            .and_then(|r| r.keys.into_iter().next())
            .and_then(|k| k.ids.into_iter().next());
        entry.map(|e| Self::delivery(&e)).transpose()
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        let mut conn = self.connection.clone();
        // One round trip. Deleting acknowledged entries keeps XLEN equal to the outstanding work (the queue-length
        // metric).
        let done: Result<(i64, i64), redis::RedisError> = redis::pipe()
            .xack(&self.stream, GROUP, &[&delivery.delivery_id])
            .xdel(&self.stream, &[&delivery.delivery_id])
            .query_async(&mut conn)
            .await;
        match done {
            // Redis restarted empty: the delivery is gone with the group, nothing left to acknowledge.
            Err(e) if e.code() == Some("NOGROUP") => Ok(()),
            other => other.map(|_| ()).map_err(QueueError::from),
        }
    }

    async fn keep_alive(&self, consumer: &str, delivery: &Delivery) -> Result<(), QueueError> {
        let mut conn = self.connection.clone();
        let _: redis::Value = redis::cmd("XCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(&delivery.delivery_id)
            .arg("JUSTID")
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn length(&self) -> Result<u64, QueueError> {
        let mut conn = self.connection.clone();
        Ok(conn.xlen(&self.stream).await?)
    }

    async fn ping(&self) -> bool {
        let mut conn = self.connection.clone();
        let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
        pong.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_url() -> String {
        std::env::var("AIBID_TEST_REDIS_URL").unwrap_or_else(|_| {
            panic!("AIBID_TEST_REDIS_URL is not set: run ./hack/test.sh (it starts Redis)")
        })
    }

    async fn queue(reclaim_after: Duration) -> RedisQueue {
        let stream = format!("aibid-test-{}", uuid::Uuid::new_v4());
        RedisQueue::connect(&redis_url(), &stream, reclaim_after)
            .await
            .unwrap_or_else(|e| panic!("redis: {e}"))
    }

    #[tokio::test]
    async fn unacknowledged_work_of_a_silent_consumer_is_reclaimed_after_the_timeout() {
        let q = queue(Duration::from_millis(300)).await;
        q.enqueue("task-1").await.unwrap();
        let first = q
            .receive("dead-worker", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.task_id, "task-1");
        // Before the timeout nobody else gets it.
        assert!(q
            .receive("live-worker", Duration::from_millis(50))
            .await
            .unwrap()
            .is_none());
        tokio::time::sleep(Duration::from_millis(400)).await;
        let again = q
            .receive("live-worker", Duration::from_millis(50))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, first);
        assert_eq!(q.length().await.unwrap(), 1);
        q.ack(&again).await.unwrap();
        assert_eq!(q.length().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn keep_alive_prevents_reclaim_of_work_in_progress() {
        let q = queue(Duration::from_millis(300)).await;
        q.enqueue("task-2").await.unwrap();
        let d = q
            .receive("busy-worker", Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            q.keep_alive("busy-worker", &d).await.unwrap();
        }
        assert!(q
            .receive("other-worker", Duration::from_millis(50))
            .await
            .unwrap()
            .is_none());
    }
}
