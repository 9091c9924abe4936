//! `DownsamplerActor`: keeps the rollup tiers up to date.
//!
//! Every `rollup.interval` it recomputes settled dirty 1-minute buckets from raw
//! points (in rounds of `rollup.max_buckets_per_round`, each its own transaction),
//! then dirty 1-hour buckets from the 1-minute tier once every minute of the hour is
//! materialised, until nothing settled is left or a round budget runs out. Buckets are
//! claimed with `FOR UPDATE SKIP LOCKED`, so several instances can run it without
//! doing the same work twice. It publishes each tier's lag (how far behind real time
//! its oldest pending bucket is) on `/metrics` and answers [`RollupStatus`] for
//! `/health` and the query router. Holds no state: a restart just runs the next round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::config::Settings;
use crate::store::partitions::PartitionSet;
use crate::store::rollups::{
    floor_to, oldest_dirty, recompute_hours, recompute_minutes, TIER_1H, TIER_1M,
};
use crate::telemetry::Metrics;

/// Run rounds until nothing settled is left (or the budget is spent).
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct RunRollups;

/// Longest a single tick keeps working before yielding to the next tick.
const TICK_BUDGET: Duration = Duration::from_secs(30);

pub struct DownsamplerActor {
    settings: Arc<Settings>,
    pg: PgPool,
    partitions: Arc<PartitionSet>,
    metrics: Arc<Metrics>,
}

impl DownsamplerActor {
    pub fn new(
        settings: Arc<Settings>,
        pg: PgPool,
        partitions: Arc<PartitionSet>,
        metrics: Arc<Metrics>,
    ) -> Self {
        DownsamplerActor {
            settings,
            pg,
            partitions,
            metrics,
        }
    }
}

impl Actor for DownsamplerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.settings.rollup.interval, |_, ctx| {
            ctx.notify(RunRollups)
        });
    }
}

impl Supervised for DownsamplerActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["downsampler"])
            .inc();
    }
}

impl Handler<RunRollups> for DownsamplerActor {
    // Atomic: rounds never overlap within one instance.
    type Result = AtomicResponse<Self, Result<usize, String>>;

    fn handle(&mut self, _: RunRollups, _: &mut Self::Context) -> Self::Result {
        let settings = self.settings.clone();
        let pg = self.pg.clone();
        let partitions = self.partitions.clone();
        let metrics = self.metrics.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let result = run_until_caught_up(&settings, &pg, &partitions, &metrics).await;
                if let Err(error) = &result {
                    tracing::warn!(%error, "Rollup round failed; retrying next interval.");
                }
                result.map_err(|e| e.to_string())
            }
            .into_actor(self),
        ))
    }
}

async fn run_until_caught_up(
    settings: &Settings,
    pg: &PgPool,
    partitions: &PartitionSet,
    metrics: &Metrics,
) -> Result<usize, sqlx::Error> {
    let started = Instant::now();
    let max = settings.rollup.max_buckets_per_round as i64;
    let settle = chrono::Duration::from_std(settings.rollup.settle).unwrap_or_default();
    let raw_keep =
        chrono::Duration::from_std(settings.retention.raw).unwrap_or(chrono::Duration::MAX);
    let minute_keep =
        chrono::Duration::from_std(settings.retention.rollup_1m).unwrap_or(chrono::Duration::MAX);
    let mut total = 0;
    loop {
        let now = Utc::now();
        let settled = floor_to(now - settle, 60);
        let chunk = settings.rollup.recompute_series_chunk as i64;
        let minutes =
            recompute_minutes(pg, partitions, settled, now - raw_keep, max, chunk).await?;
        metrics
            .rollup_buckets
            .with_label_values(&["1m"])
            .inc_by(minutes.buckets as u64);
        let hours_settled = minute_tier_complete_before(pg, settled).await?;
        let hours = recompute_hours(
            pg,
            partitions,
            floor_to(hours_settled, 3600),
            now - minute_keep,
            max,
            chunk,
        )
        .await?;
        metrics
            .rollup_buckets
            .with_label_values(&["1h"])
            .inc_by(hours.buckets as u64);
        total += minutes.buckets + hours.buckets;
        if minutes.buckets == 0 && hours.buckets == 0 || started.elapsed() > TICK_BUDGET {
            break;
        }
    }
    publish_lag(pg, metrics, settle).await?;
    Ok(total)
}

/// Everything before this instant is materialised in the 1-minute tier.
pub async fn minute_tier_complete_before(
    pg: &PgPool,
    settled: DateTime<Utc>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    Ok(match oldest_dirty(pg, TIER_1M).await? {
        Some(oldest) if oldest < settled => oldest,
        _ => settled,
    })
}

/// Everything before this instant is materialised in the 1-hour tier.
pub async fn hour_tier_complete_before(
    pg: &PgPool,
    minute_complete: DateTime<Utc>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    let limit = floor_to(minute_complete, 3600);
    Ok(match oldest_dirty(pg, TIER_1H).await? {
        Some(oldest) if oldest < limit => oldest,
        _ => limit,
    })
}

async fn publish_lag(
    pg: &PgPool,
    metrics: &Metrics,
    settle: chrono::Duration,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let minute = minute_tier_complete_before(pg, floor_to(now - settle, 60)).await?;
    let hour = hour_tier_complete_before(pg, minute).await?;
    metrics
        .rollup_lag_seconds
        .with_label_values(&["1m"])
        .set((now - minute).num_seconds());
    metrics
        .rollup_lag_seconds
        .with_label_values(&["1h"])
        .set((now - hour).num_seconds());
    Ok(())
}
