//! Circuit breaker: after `failures` consecutive failures it opens and calls are
//! refused at once; after `open_for` one probe is let through, and its success closes
//! the breaker again. Queries use one around the database (503 at once, never an
//! empty result that a dashboard would draw as "no data"); notifiers one per target.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probing: bool,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    /// What it protects, for the log line when it opens.
    name: String,
    failures: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub fn new(name: impl Into<String>, failures: u32, open_for: Duration) -> CircuitBreaker {
        CircuitBreaker {
            name: name.into(),
            failures,
            open_for,
            inner: Mutex::new(Inner {
                consecutive_failures: 0,
                opened_at: None,
                probing: false,
            }),
        }
    }

    /// Whether a call may go ahead now. While half-open only one probe is admitted.
    pub fn allow(&self) -> bool {
        let mut inner = self.inner.lock().expect("breaker lock is never poisoned");
        match inner.opened_at {
            None => true,
            Some(at) if at.elapsed() >= self.open_for && !inner.probing => {
                inner.probing = true;
                true
            }
            Some(_) => false,
        }
    }

    pub fn record_success(&self) {
        let mut inner = self.inner.lock().expect("breaker lock is never poisoned");
        inner.consecutive_failures = 0;
        inner.opened_at = None;
        inner.probing = false;
    }

    pub fn record_failure(&self) {
        let mut inner = self.inner.lock().expect("breaker lock is never poisoned");
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        if inner.probing || inner.consecutive_failures >= self.failures {
            if inner.opened_at.is_none() {
                tracing::warn!(
                    breaker = %self.name,
                    "Circuit breaker opened: calls keep failing; refusing them for a while."
                );
            }
            inner.opened_at = Some(Instant::now());
            inner.probing = false;
        }
    }

    pub fn state(&self) -> BreakerState {
        let inner = self.inner.lock().expect("breaker lock is never poisoned");
        match inner.opened_at {
            None => BreakerState::Closed,
            Some(at) if at.elapsed() >= self.open_for => BreakerState::HalfOpen,
            Some(_) => BreakerState::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes_after_the_pause() {
        let breaker = CircuitBreaker::new("test", 3, Duration::from_millis(50));
        breaker.record_failure();
        breaker.record_failure();
        assert!(breaker.allow());
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allow(), "one probe after open_for");
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allow());
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allow());
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = CircuitBreaker::new("test", 2, Duration::from_secs(60));
        breaker.record_failure();
        breaker.record_success();
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
