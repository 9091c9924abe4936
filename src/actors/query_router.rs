//! `QueryRouterActor`: answers dashboard queries.
//!
//! Takes [`RunQuery`] from the query HTTP handler. Looks the normalised query up in
//! the Redis cache; on a miss, asks the circuit breaker, picks the storage tier for
//! the range, resolves the matching series and runs the aggregate, then caches the
//! answer (short TTL for ranges that reach into the last minute, long otherwise).
//! Holds no state besides its handles, so a restart loses nothing; queries are
//! answered concurrently (each is its own future), bounded by the mailbox and the
//! database pool.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::breaker::{BreakerState, CircuitBreaker};
use crate::config::Settings;
use crate::model::query::format_time;
use crate::model::{DataPoint, QueryMeta, QueryResult, QuerySpec};
use crate::store::aggregate::{aggregate, matching_series, pick_tier};
use crate::store::is_transient;
use crate::store::redis::RedisStore;
use crate::telemetry::Metrics;

/// Answer one parsed query.
#[derive(Message)]
#[rtype(result = "Result<QueryResult, QueryFailure>")]
pub struct RunQuery {
    pub spec: QuerySpec,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryFailure {
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("query failed: {0}")]
    Internal(#[source] sqlx::Error),
}

pub struct QueryRouterActor {
    settings: Arc<Settings>,
    pg: PgPool,
    redis: RedisStore,
    breaker: Arc<CircuitBreaker>,
    metrics: Arc<Metrics>,
}

impl QueryRouterActor {
    pub fn new(settings: Arc<Settings>, pg: PgPool, redis: RedisStore, breaker: Arc<CircuitBreaker>, metrics: Arc<Metrics>) -> QueryRouterActor {
        QueryRouterActor { settings, pg, redis, breaker, metrics }
    }
}

impl Actor for QueryRouterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.settings.actors.mailbox_capacity);
    }
}

impl Supervised for QueryRouterActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics.actor_restarts.with_label_values(&["query_router"]).inc();
    }
}

impl Handler<RunQuery> for QueryRouterActor {
    type Result = ResponseFuture<Result<QueryResult, QueryFailure>>;

    fn handle(&mut self, msg: RunQuery, _: &mut Self::Context) -> Self::Result {
        let settings = self.settings.clone();
        let pg = self.pg.clone();
        let redis = self.redis.clone();
        let breaker = self.breaker.clone();
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let started = Instant::now();
            let spec = msg.spec;
            let key = redis.query_key(&hex::encode(Sha256::digest(spec.cache_identity())));
            if let Some(hit) = redis.get(&key).await.and_then(|json| serde_json::from_str::<QueryResult>(&json).ok()) {
                metrics.cache_hits.with_label_values(&["query"]).inc();
                metrics.query_seconds.with_label_values(&["true"]).observe(started.elapsed().as_secs_f64());
                let mut hit = hit;
                hit.meta.cached = true;
                return Ok(hit);
            }
            metrics.cache_misses.with_label_values(&["query"]).inc();

            let result = run_on_database(&settings, &pg, &breaker, &spec).await;
            metrics.query_breaker_open.set(i64::from(breaker.state() != BreakerState::Closed));
            let result = result?;
            let now_ms = chrono::Utc::now().timestamp_millis();
            let ttl = if spec.range.end_ms >= now_ms - 60_000 {
                settings.query.cache_ttl_live
            } else {
                settings.query.cache_ttl_historical
            };
            if let Ok(json) = serde_json::to_string(&result) {
                redis.set_ex(&key, &json, ttl).await;
            }
            metrics.query_seconds.with_label_values(&["false"]).observe(started.elapsed().as_secs_f64());
            Ok(result)
        })
    }
}

async fn run_on_database(settings: &Settings, pg: &PgPool, breaker: &CircuitBreaker, spec: &QuerySpec) -> Result<QueryResult, QueryFailure> {
    if !breaker.allow() {
        return Err(QueryFailure::Unavailable("circuit breaker open after repeated database failures".into()));
    }
    let tier = pick_tier(spec.range, spec.step);
    let outcome = async {
        let series = matching_series(pg, spec.metric.as_str(), &spec.tags).await?;
        let rows = if series.is_empty() {
            Vec::new()
        } else {
            aggregate(pg, tier, &series, spec.range, spec.step, spec.aggregation, settings.query.timeout).await?
        };
        Ok::<_, sqlx::Error>((series.len(), rows))
    }
    .await;
    match outcome {
        Ok((series, rows)) => {
            breaker.record_success();
            Ok(QueryResult {
                data: rows.into_iter().map(|(t, value)| DataPoint { time: format_time(t), value }).collect(),
                meta: QueryMeta {
                    table: tier.table().into(),
                    resolution: tier.resolution().into(),
                    step: spec.step.label(),
                    step_ms: spec.step.millis(),
                    cached: false,
                    series,
                    start: format_time(spec.range.start_ms),
                    end: format_time(spec.range.end_ms),
                },
            })
        }
        Err(error) => {
            breaker.record_failure();
            let cancelled = matches!(&error, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"));
            if is_transient(&error) || cancelled {
                tracing::warn!(%error, "Query failed on the database.");
                Err(QueryFailure::Unavailable(if cancelled { "query timed out".into() } else { "database unreachable".into() }))
            } else {
                tracing::error!(%error, "Query failed.");
                Err(QueryFailure::Internal(error))
            }
        }
    }
}
