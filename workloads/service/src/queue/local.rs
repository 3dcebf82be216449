//! The in-process queue of embedded mode. Nothing survives the process here: on start, `up` re-enqueues every
//! unfinished task from the database instead.

use super::{Delivery, QueueError, TaskQueue};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct LocalQueue {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    waiting: Mutex<VecDeque<String>>,
    in_flight: AtomicU64,
    counter: AtomicU64,
    notify: Notify,
}

impl LocalQueue {
    fn pop(&self) -> Option<String> {
        self.inner.waiting.lock().ok()?.pop_front()
    }
}

impl TaskQueue for LocalQueue {
    async fn enqueue(&self, task_id: &str) -> Result<(), QueueError> {
        if let Ok(mut waiting) = self.inner.waiting.lock() {
            waiting.push_back(task_id.to_string());
        }
        self.inner.notify.notify_one();
        Ok(())
    }

    async fn receive(
        &self,
        _consumer: &str,
        wait: Duration,
    ) -> Result<Option<Delivery>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(task_id) = self.pop() {
                self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
                let n = self.inner.counter.fetch_add(1, Ordering::SeqCst);
                return Ok(Some(Delivery {
                    task_id,
                    delivery_id: n.to_string(),
                }));
            }
            if tokio::time::timeout_at(deadline, self.inner.notify.notified())
                .await
                .is_err()
            {
                return Ok(None);
            }
        }
    }

    async fn ack(&self, _delivery: &Delivery) -> Result<(), QueueError> {
        let _ = self
            .inner
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        Ok(())
    }

    async fn keep_alive(&self, _consumer: &str, _delivery: &Delivery) -> Result<(), QueueError> {
        Ok(())
    }

    async fn length(&self) -> Result<u64, QueueError> {
        let waiting = self
            .inner
            .waiting
            .lock()
            .map(|w| w.len() as u64)
            .unwrap_or(0);
        Ok(waiting + self.inner.in_flight.load(Ordering::SeqCst))
    }

    async fn ping(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_and_counts_until_acknowledged() {
        let q = LocalQueue::default();
        q.enqueue("a").await.unwrap();
        q.enqueue("b").await.unwrap();
        let first = q
            .receive("w", Duration::from_millis(10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.task_id, "a");
        assert_eq!(q.length().await.unwrap(), 2);
        q.ack(&first).await.unwrap();
        assert_eq!(q.length().await.unwrap(), 1);
        assert_eq!(
            q.receive("w", Duration::from_millis(10))
                .await
                .unwrap()
                .unwrap()
                .task_id,
            "b"
        );
        assert!(q
            .receive("w", Duration::from_millis(10))
            .await
            .unwrap()
            .is_none());
    }
}
