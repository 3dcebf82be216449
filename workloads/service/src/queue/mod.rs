//! The task queue: carries task ids from the API to workers. Embedded mode uses an in-process queue; cluster mode
//! uses Redis Streams with a consumer group. Task state lives in the database, so the queue only needs
//! at-least-once delivery; idempotence is the store's job.

pub mod local;
pub mod redis_streams;

use std::time::Duration;

/// One delivery of a task id to a consumer; acknowledge it only after the task's result is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub task_id: String,
    /// The broker's id for this delivery (the Redis stream entry id; a counter locally).
    pub delivery_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("queue message without a task id: {0}")]
    Malformed(String),
}

/// What every queue does. Implemented by [`local::LocalQueue`] and [`redis_streams::RedisQueue`].
pub trait TaskQueue: Send + Sync {
    fn enqueue(
        &self,
        task_id: &str,
    ) -> impl std::future::Future<Output = Result<(), QueueError>> + Send;
    /// Next delivery for `consumer`, waiting up to `wait`; work of a consumer silent for longer than the reclaim
    /// timeout is handed out again first.
    fn receive(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> impl std::future::Future<Output = Result<Option<Delivery>, QueueError>> + Send;
    fn ack(
        &self,
        delivery: &Delivery,
    ) -> impl std::future::Future<Output = Result<(), QueueError>> + Send;
    /// Tells the broker the consumer still works on a delivery (so it is not reclaimed).
    fn keep_alive(
        &self,
        consumer: &str,
        delivery: &Delivery,
    ) -> impl std::future::Future<Output = Result<(), QueueError>> + Send;
    /// Messages not yet acknowledged (waiting or in flight).
    fn length(&self) -> impl std::future::Future<Output = Result<u64, QueueError>> + Send;
    fn ping(&self) -> impl std::future::Future<Output = bool> + Send;
}

/// The queue a process was configured with.
#[derive(Clone)]
pub enum Queue {
    Local(local::LocalQueue),
    Redis(redis_streams::RedisQueue),
}

impl Queue {
    pub fn name(&self) -> &'static str {
        match self {
            Queue::Local(_) => "local",
            Queue::Redis(_) => "redis",
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $q:ident => $body:expr) => {
        match $self {
            Queue::Local($q) => $body,
            Queue::Redis($q) => $body,
        }
    };
}

impl TaskQueue for Queue {
    async fn enqueue(&self, task_id: &str) -> Result<(), QueueError> {
        dispatch!(self, q => q.enqueue(task_id).await)
    }
    async fn receive(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> Result<Option<Delivery>, QueueError> {
        dispatch!(self, q => q.receive(consumer, wait).await)
    }
    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        dispatch!(self, q => q.ack(delivery).await)
    }
    async fn keep_alive(&self, consumer: &str, delivery: &Delivery) -> Result<(), QueueError> {
        dispatch!(self, q => q.keep_alive(consumer, delivery).await)
    }
    async fn length(&self) -> Result<u64, QueueError> {
        dispatch!(self, q => q.length().await)
    }
    async fn ping(&self) -> bool {
        dispatch!(self, q => q.ping().await)
    }
}
