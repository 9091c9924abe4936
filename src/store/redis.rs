//! Redis: optional, for speed only. Every key Vigil writes is built here, under the
//! configured prefix. When Redis is down every call returns "nothing cached" and
//! the caller goes to PostgreSQL; the first failure of an incident is logged and every
//! bypass is counted. After a failure, calls skip Redis without trying for
//! `redis.reconnect_interval`, then one call probes again: otherwise every request
//! would wait out `redis.timeout` (twice, for a read and a write-back) while Redis is
//! away.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use crate::config::RedisSettings;
use crate::telemetry::Metrics;

#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    manager: Option<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    down: AtomicBool,
    /// When the last call failed (ms since the epoch); calls skip Redis until
    /// `reconnect_interval` after it.
    failed_at_ms: AtomicI64,
    reconnect_interval: Duration,
    metrics: Arc<Metrics>,
}

impl RedisStore {
    /// Never fails: a bad URL or unreachable server leaves the cache bypassed, and the
    /// manager reconnects by itself when Redis comes back.
    pub fn new(settings: &RedisSettings, metrics: Arc<Metrics>) -> RedisStore {
        let manager = redis::Client::open(settings.url.as_str())
            .and_then(|client| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(settings.timeout.max(Duration::from_millis(500))))
                    .set_response_timeout(Some(settings.timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(settings.reconnect_interval);
                ConnectionManager::new_lazy_with_config(client, config)
            })
            .map_err(|e| tracing::warn!(error = %e, "Redis is not usable; caches are bypassed."))
            .ok();
        RedisStore {
            inner: Arc::new(Inner {
                manager,
                prefix: settings.key_prefix.clone(),
                timeout: settings.timeout,
                down: AtomicBool::new(false),
                failed_at_ms: AtomicI64::new(0),
                reconnect_interval: settings.reconnect_interval,
                metrics,
            }),
        }
    }

    /// Key of a cached series id. `database` identifies the PostgreSQL database the
    /// ids belong to (cluster system identifier + database oid), so a recreated or
    /// different database never reads another one's ids.
    pub fn series_key(&self, database: &str, series_key: &str) -> String {
        format!("{}series:{}:{}", self.inner.prefix, database, series_key)
    }

    pub fn query_key(&self, digest: &str) -> String {
        format!("{}query:{}", self.inner.prefix, digest)
    }

    // --- alerting ---
    /// The mirror of one rule's instance states (JSON), written after every evaluation.
    pub fn alert_state_key(&self, rule_id: &uuid::Uuid) -> String {
        format!("{}alert:state:{}", self.inner.prefix, rule_id)
    }

    /// A resolved session or API token, by the hex digest of its secret.
    pub fn credential_key(&self, digest_hex: &str) -> String {
        format!("{}cred:{}", self.inner.prefix, digest_hex)
    }

    pub fn dashboard_key(&self, id: &uuid::Uuid) -> String {
        format!("{}dashboard:{}", self.inner.prefix, id)
    }

    /// A sliding-window counter: `scope` names the limit, `subject` who is limited.
    pub fn rate_key(&self, scope: &str, subject: &str) -> String {
        format!("{}rate:{}:{}", self.inner.prefix, scope, subject)
    }

    /// The key prefix, for tests that clean up after themselves.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The connection, or `None` while Redis is unusable or was down too recently to
    /// try again.
    fn manager(&self) -> Option<ConnectionManager> {
        if self.inner.down.load(Ordering::Relaxed) {
            let since = now_ms() - self.inner.failed_at_ms.load(Ordering::Relaxed);
            if since < self.inner.reconnect_interval.as_millis() as i64 {
                return None;
            }
        }
        self.inner.manager.clone()
    }

    fn manager_unconditionally(&self) -> Option<ConnectionManager> {
        self.inner.manager.clone()
    }

    fn record<T>(
        &self,
        result: Result<Result<T, redis::RedisError>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        match result {
            Ok(Ok(value)) => {
                if self.inner.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is reachable again; caches are back in use.");
                }
                Some(value)
            }
            Ok(Err(error)) => {
                self.mark_down(&error.to_string());
                None
            }
            Err(_) => {
                self.mark_down("timed out");
                None
            }
        }
    }

    fn mark_down(&self, why: &str) {
        self.inner.failed_at_ms.store(now_ms(), Ordering::Relaxed);
        self.inner.metrics.cache_bypassed.inc();
        if !self.inner.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = why,
                "Redis is unreachable; caches are bypassed until it is back."
            );
        }
    }

    /// Whether the last call failed (for `/health`).
    pub fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::Relaxed)
    }

    pub async fn get(&self, key: &str) -> Option<String> {
        let Some(mut conn) = self.manager() else {
            self.inner.metrics.cache_bypassed.inc();
            return None;
        };
        let result =
            tokio::time::timeout(self.inner.timeout, conn.get::<_, Option<String>>(key)).await;
        self.record(result).flatten()
    }

    pub async fn set_ex(&self, key: &str, value: &str, ttl: Duration) {
        let Some(mut conn) = self.manager() else {
            self.inner.metrics.cache_bypassed.inc();
            return;
        };
        let seconds = ttl.as_secs().max(1);
        let result = tokio::time::timeout(
            self.inner.timeout,
            conn.set_ex::<_, _, ()>(key, value, seconds),
        )
        .await;
        self.record(result);
    }

    /// Values of `keys`, `None` where missing (or everything `None` when Redis is down).
    /// `String` values (the series ids) or raw bytes (cached query parts).
    pub async fn mget<V: redis::FromRedisValue + Clone>(&self, keys: &[String]) -> Vec<Option<V>> {
        if keys.is_empty() {
            return Vec::new();
        }
        let Some(mut conn) = self.manager() else {
            self.inner.metrics.cache_bypassed.inc();
            return vec![None; keys.len()];
        };
        let result = tokio::time::timeout(self.inner.timeout, async {
            redis::cmd("MGET")
                .arg(keys)
                .query_async::<Vec<Option<V>>>(&mut conn)
                .await
        })
        .await;
        self.record(result)
            .unwrap_or_else(|| vec![None; keys.len()])
    }

    /// Sets many keys with one TTL in one round trip.
    pub async fn set_many_ex<V: redis::ToSingleRedisArg + Send + Sync>(
        &self,
        entries: &[(String, V)],
        ttl: Duration,
    ) {
        if entries.is_empty() {
            return;
        }
        let Some(mut conn) = self.manager() else {
            self.inner.metrics.cache_bypassed.inc();
            return;
        };
        let mut pipe = redis::pipe();
        for (key, value) in entries {
            pipe.set_ex(key, value, ttl.as_secs().max(1)).ignore();
        }
        let result =
            tokio::time::timeout(self.inner.timeout, pipe.query_async::<()>(&mut conn)).await;
        self.record(result);
    }

    /// Like [`Self::set_many_ex`], with a TTL of its own for each entry (ms precision).
    pub async fn set_each_ex<V: redis::ToSingleRedisArg + Send + Sync>(
        &self,
        entries: &[(String, V, Duration)],
    ) {
        if entries.is_empty() {
            return;
        }
        let Some(mut conn) = self.manager() else {
            self.inner.metrics.cache_bypassed.inc();
            return;
        };
        let mut pipe = redis::pipe();
        for (key, value, ttl) in entries {
            pipe.pset_ex(key, value, (ttl.as_millis() as u64).max(1))
                .ignore();
        }
        let result =
            tokio::time::timeout(self.inner.timeout, pipe.query_async::<()>(&mut conn)).await;
        self.record(result);
    }

    /// Deletes `keys`; false when Redis could not be told.
    pub async fn del(&self, keys: &[String]) -> bool {
        if keys.is_empty() {
            return true;
        }
        let Some(mut conn) = self.manager() else {
            return false;
        };
        let result =
            tokio::time::timeout(self.inner.timeout, conn.del::<_, ()>(keys.to_vec())).await;
        self.record(result).is_some()
    }

    /// One step of a sliding-window rate limit kept in a sorted set of timestamps:
    /// drops entries older than `window`, adds `now_ms` when `record` is set, and
    /// returns how many entries are in the window and the oldest one's time. `None`
    /// when Redis is down (the caller falls back to a per-process window).
    pub async fn sliding_window(
        &self,
        key: &str,
        now_ms: i64,
        window: Duration,
        record: bool,
    ) -> Option<(u64, Option<i64>)> {
        let mut conn = self.manager()?;
        let window_ms = window.as_millis() as i64;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg(key)
            .arg("-inf")
            .arg(now_ms - window_ms)
            .ignore();
        if record {
            // The member must be unique per hit; the score is the time.
            let member = format!("{now_ms}-{}", rand::random::<u64>());
            pipe.cmd("ZADD").arg(key).arg(now_ms).arg(member).ignore();
        }
        pipe.cmd("ZCARD")
            .arg(key)
            .cmd("ZRANGE")
            .arg(key)
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .cmd("PEXPIRE")
            .arg(key)
            .arg(window_ms)
            .ignore();
        let result = tokio::time::timeout(
            self.inner.timeout,
            pipe.query_async::<(u64, Vec<(String, f64)>)>(&mut conn),
        )
        .await;
        let (count, oldest) = self.record(result)?;
        Some((count, oldest.first().map(|(_, score)| *score as i64)))
    }

    /// PING with its latency, for `/health`.
    pub async fn ping(&self) -> Result<Duration, String> {
        // Health checks always probe, so they also end a skip period early.
        let Some(mut conn) = self.manager_unconditionally() else {
            return Err("redis url is not usable".into());
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.inner.timeout, async {
            redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await;
        match self.record(result) {
            Some(_) => Ok(started.elapsed()),
            None => Err("unreachable".into()),
        }
    }

    /// Deletes every key under the prefix (tests, and `vigil` admin tasks).
    pub async fn delete_prefixed(&self) -> usize {
        let Some(mut conn) = self.manager_unconditionally() else {
            return 0;
        };
        let pattern = format!("{}*", self.inner.prefix);
        let keys: Vec<String> = match redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut conn)
            .await
        {
            Ok(keys) => keys,
            Err(_) => return 0,
        };
        if keys.is_empty() {
            return 0;
        }
        let _: Result<(), _> = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await;
        keys.len()
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
