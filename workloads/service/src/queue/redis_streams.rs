//! Redis Streams queue: one stream, one consumer group. A delivery is acknowledged (XACK + XDEL) only after the
//! task's result is stored; deliveries idle longer than the reclaim timeout (their consumer died) are taken over
//! with XAUTOCLAIM. Live consumers reset the idle time with XCLAIM ... JUSTID while they work.
//! A Redis that restarted empty has neither stream nor group (NOGROUP): they are created again and work goes on;
//! the deliveries it lost are re-sent by the scheduler from the database (see [`RedisQueue::outstanding_task_ids`]).

use super::{Delivery, QueueError, TaskQueue};
use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamReadOptions, StreamReadReply,
};
use redis::AsyncCommands;
use std::time::Duration;

const GROUP: &str = "workers";
const FIELD: &str = "task";

#[derive(Clone)]
pub struct RedisQueue {
    connection: ConnectionManager,
    /// Separate connection for blocking reads, so a BLOCK does not stall enqueues on the shared one.
    blocking: ConnectionManager,
    stream: String,
    reclaim_after: Duration,
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
        if let Some(entry) = reclaimed.claimed.first() {
            return Self::delivery(entry).map(Some);
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
        let acked: Result<i64, redis::RedisError> = conn
            .xack(&self.stream, GROUP, &[&delivery.delivery_id])
            .await;
        match acked {
            // Redis restarted empty: the delivery is gone with the group, nothing left to acknowledge.
            Err(e) if e.code() == Some("NOGROUP") => return Ok(()),
            other => {
                other?;
            }
        }
        // Deleting acknowledged entries keeps XLEN equal to the outstanding work (the queue-length metric).
        let _: i64 = conn.xdel(&self.stream, &[&delivery.delivery_id]).await?;
        Ok(())
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
