//! Sliding-window rate limits shared by every Vigil instance through Redis (a sorted
//! set of hit times per subject, as in the backend seed). When Redis is down each
//! process keeps its own window instead: limits stay in force, per process, rather
//! than switching off during an outage.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::redis::RedisStore;

/// Subjects tracked by the fallback windows at most; beyond it the quietest are
/// forgotten, so a flood of distinct IPs cannot grow the map without bound.
const MAX_LOCAL_SUBJECTS: usize = 10_000;

/// A limit: `max` hits per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// Over the limit: retry after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u32,
}

#[derive(Clone)]
pub struct RateLimiter {
    redis: RedisStore,
    local: Arc<Mutex<HashMap<String, VecDeque<i64>>>>,
}

impl RateLimiter {
    pub fn new(redis: RedisStore) -> RateLimiter {
        RateLimiter {
            redis,
            local: Arc::default(),
        }
    }

    /// Records a hit and says whether it is over the limit (ingest: every request
    /// counts, refused ones too, so hammering does not pay off).
    pub async fn hit(&self, scope: &str, subject: &str, limit: Limit) -> Result<(), Limited> {
        self.step(scope, subject, limit, true, |count| {
            count > limit.max as u64
        })
        .await
    }

    /// Whether `subject` has used up its limit, without recording (logins check
    /// before verifying a password and record only failures).
    pub async fn check(&self, scope: &str, subject: &str, limit: Limit) -> Result<(), Limited> {
        self.step(scope, subject, limit, false, |count| {
            count >= limit.max as u64
        })
        .await
    }

    /// Records a hit without judging it (a failed login).
    pub async fn record(&self, scope: &str, subject: &str, limit: Limit) {
        let _ = self.step(scope, subject, limit, true, |_| false).await;
    }

    /// Forgets a subject's hits (a successful login clears its account's failures).
    pub async fn reset(&self, scope: &str, subject: &str) {
        let key = self.redis.rate_key(scope, subject);
        self.redis.del(std::slice::from_ref(&key)).await;
        self.local
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }

    async fn step(
        &self,
        scope: &str,
        subject: &str,
        limit: Limit,
        record: bool,
        over: impl Fn(u64) -> bool,
    ) -> Result<(), Limited> {
        let now = chrono::Utc::now().timestamp_millis();
        let key = self.redis.rate_key(scope, subject);
        let (count, oldest) = match self
            .redis
            .sliding_window(&key, now, limit.window, record)
            .await
        {
            Some(state) => state,
            None => self.local_step(key, now, limit.window, record),
        };
        if over(count) {
            let window_ms = limit.window.as_millis() as i64;
            let wait_ms = oldest.map_or(window_ms, |oldest| oldest + window_ms - now);
            Err(Limited {
                retry_after_secs: ((wait_ms.max(0) + 999) / 1000).max(1) as u32,
            })
        } else {
            Ok(())
        }
    }

    fn local_step(
        &self,
        key: String,
        now: i64,
        window: Duration,
        record: bool,
    ) -> (u64, Option<i64>) {
        let window_ms = window.as_millis() as i64;
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if local.len() >= MAX_LOCAL_SUBJECTS && !local.contains_key(&key) {
            local.retain(|_, hits| hits.back().is_some_and(|last| *last > now - window_ms));
            if local.len() >= MAX_LOCAL_SUBJECTS {
                if let Some(victim) = local.keys().next().cloned() {
                    local.remove(&victim);
                }
            }
        }
        let hits = local.entry(key).or_default();
        while hits.front().is_some_and(|first| *first <= now - window_ms) {
            hits.pop_front();
        }
        if record {
            hits.push_back(now);
        }
        (hits.len() as u64, hits.front().copied())
    }
}
