//! A concurrency bound for LLM calls that halves when the endpoint answers 429 and grows back by one
//! after a run of successes. Hand-written: tokio's Semaphore cannot shrink while permits are out.

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Successes (at the current limit) before the limit grows by one again.
const SUCCESSES_BEFORE_GROWTH: usize = 4;

pub(crate) struct AdaptiveLimit {
    max: usize,
    state: Mutex<State>,
    released: Notify,
}

struct State {
    limit: usize,
    in_flight: usize,
    successes: usize,
}

pub(crate) struct Permit {
    owner: Arc<AdaptiveLimit>,
}

impl AdaptiveLimit {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(AdaptiveLimit {
            max,
            state: Mutex::new(State { limit: max, in_flight: 0, successes: 0 }),
            released: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain counters behind; they are still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            // Register before looking, so a release between the check and the await is not missed.
            released.as_mut().enable();
            {
                let mut state = self.state();
                if state.in_flight < state.limit {
                    state.in_flight += 1;
                    return Permit { owner: Arc::clone(self) };
                }
            }
            released.await;
        }
    }

    pub(crate) fn current_limit(&self) -> usize {
        self.state().limit
    }

    pub(crate) fn on_rate_limited(&self) {
        let mut state = self.state();
        state.limit = (state.limit / 2).max(1);
        state.successes = 0;
    }

    pub(crate) fn on_success(&self) {
        let grew = {
            let mut state = self.state();
            state.successes += 1;
            if state.limit < self.max && state.successes >= SUCCESSES_BEFORE_GROWTH {
                state.limit += 1;
                state.successes = 0;
                true
            } else {
                false
            }
        };
        if grew {
            self.released.notify_waiters();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.owner.state().in_flight -= 1;
        self.owner.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn halves_on_rate_limit_and_recovers_after_successes() {
        let limit = AdaptiveLimit::new(8);
        limit.on_rate_limited();
        assert_eq!(limit.current_limit(), 4);
        limit.on_rate_limited();
        limit.on_rate_limited();
        limit.on_rate_limited();
        assert_eq!(limit.current_limit(), 1);
        for _ in 0..SUCCESSES_BEFORE_GROWTH {
            limit.on_success();
        }
        assert_eq!(limit.current_limit(), 2);
    }

    #[tokio::test]
    async fn a_waiter_proceeds_when_a_permit_is_released() {
        let limit = AdaptiveLimit::new(1);
        let first = limit.acquire().await;
        let waiter = {
            let limit = Arc::clone(&limit);
            tokio::spawn(async move {
                let _permit = limit.acquire().await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        let joined = tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await;
        assert!(matches!(joined, Ok(Ok(()))));
    }
}
