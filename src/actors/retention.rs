//! `RetentionActor`: the life cycle of the time partitions.
//!
//! Every `database.maintenance_interval` (and once at start) it creates the partitions
//! of every tier for today and `database.partitions_ahead_days` ahead, so writers and
//! the downsampler rarely create one on the hot path; drops the partitions whose whole
//! period is older than the tier's `[retention]` (never a row-by-row DELETE); forgets
//! dirty marks whose source data is gone; and prunes redelivery-dedup records older
//! than `database.dedup_retention`, and sessions past their idle or absolute timeout
//! (refused already; this keeps the table small). It holds no state; a restart runs the next round.

use std::sync::Arc;

use actix::prelude::*;
use chrono::Utc;
use sqlx::PgPool;

use crate::config::Settings;
use crate::store::partitions::{days_ahead, drop_expired, PartitionSet, PartitionedTable};
use crate::store::points::prune_batch_ids;
use crate::store::rollups::{forget_expired, TIER_1H, TIER_1M};
use crate::telemetry::Metrics;

/// Run one maintenance round now; answers with the partitions dropped.
#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct RunMaintenance;

pub struct RetentionActor {
    settings: Arc<Settings>,
    pg: PgPool,
    partitions: Arc<PartitionSet>,
    metrics: Arc<Metrics>,
}

impl RetentionActor {
    pub fn new(
        settings: Arc<Settings>,
        pg: PgPool,
        partitions: Arc<PartitionSet>,
        metrics: Arc<Metrics>,
    ) -> Self {
        RetentionActor {
            settings,
            pg,
            partitions,
            metrics,
        }
    }
}

impl Actor for RetentionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.notify(RunMaintenance);
        ctx.run_interval(self.settings.database.maintenance_interval, |_, ctx| {
            ctx.notify(RunMaintenance)
        });
    }
}

impl Supervised for RetentionActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["retention"])
            .inc();
    }
}

/// How long each table keeps its data.
fn retention_of(settings: &Settings, table: PartitionedTable) -> std::time::Duration {
    match table {
        PartitionedTable::Points => settings.retention.raw,
        PartitionedTable::Rollup1m => settings.retention.rollup_1m,
        PartitionedTable::Rollup1h => settings.retention.rollup_1h,
        // The compressed raw tier: same age as the raw rows it replaces.
        PartitionedTable::Blocks | PartitionedTable::HourBlocks => settings.retention.raw,
        // The compressed rollup tiers: same age as the rows they replace.
        PartitionedTable::Rollup1mBlocks => settings.retention.rollup_1m,
        PartitionedTable::Rollup1hBlocks => settings.retention.rollup_1h,
    }
}

impl Handler<RunMaintenance> for RetentionActor {
    // Atomic: rounds never overlap, and a test's explicit round waits for the periodic one.
    type Result = AtomicResponse<Self, Vec<String>>;

    fn handle(&mut self, _: RunMaintenance, _: &mut Self::Context) -> Self::Result {
        let pg = self.pg.clone();
        let partitions = self.partitions.clone();
        let metrics = self.metrics.clone();
        let settings = self.settings.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let now = Utc::now();
                let mut dropped = Vec::new();
                for table in PartitionedTable::ALL {
                    match partitions.ensure(&pg, table, days_ahead(now, settings.database.partitions_ahead_days)).await {
                        Ok(created) => metrics.partitions_created.inc_by(created as u64),
                        Err(error) => tracing::warn!(%error, table = table.parent(), "Could not create future partitions; will retry next round."),
                    }
                    let keep = chrono::Duration::from_std(retention_of(&settings, table)).unwrap_or(chrono::Duration::MAX);
                    match drop_expired(&pg, &partitions, table, now - keep, settings.retention.drop_timeout).await {
                        Ok(names) => {
                            metrics.partitions_dropped.inc_by(names.len() as u64);
                            dropped.extend(names);
                        }
                        Err(error) => tracing::warn!(%error, table = table.parent(), "Could not drop expired partitions; will retry next round."),
                    }
                }
                let raw = chrono::Duration::from_std(settings.retention.raw).unwrap_or(chrono::Duration::MAX);
                let minute = chrono::Duration::from_std(settings.retention.rollup_1m).unwrap_or(chrono::Duration::MAX);
                for (tier, keep) in [(TIER_1M, raw), (TIER_1H, minute)] {
                    if let Err(error) = forget_expired(&pg, tier, now - keep).await {
                        tracing::warn!(%error, "Could not forget expired dirty marks; will retry next round.");
                    }
                }
                if let Err(error) = crate::store::rollup_blocks::forget_expired(&pg, now - minute, now - chrono::Duration::from_std(settings.retention.rollup_1h).unwrap_or(chrono::Duration::MAX)).await {
                    tracing::warn!(%error, "Could not forget expired rollup block days; will retry next round.");
                }
                // Late points and range states of the compressed tier expire with the raw tier.
                if let Err(error) = crate::store::blocks_compaction::forget_expired(&pg, now - raw).await {
                    tracing::warn!(%error, "Could not forget expired compaction ranges; will retry next round.");
                }
                // No write can reach a span older than ingest.max_age, so its
                // cache generation can no longer change.
                let max_age = chrono::Duration::from_std(settings.ingest.max_age).unwrap_or(chrono::Duration::MAX);
                let oldest_writable = now.checked_sub_signed(max_age).map_or(i64::MIN, |t| t.timestamp_millis());
                if let Err(error) = crate::store::query_generations::forget_expired(&pg, oldest_writable.saturating_sub(crate::store::query_generations::GENERATION_SPAN_MS)).await {
                    tracing::warn!(%error, "Could not forget expired query-cache generations; will retry next round.");
                }
                match prune_batch_ids(&pg, settings.database.dedup_retention.as_secs_f64()).await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "Pruned old redelivery-dedup records."),
                    Err(error) => tracing::warn!(%error, "Could not prune dedup records; will retry next round."),
                }
                match crate::store::credentials::purge_sessions(&pg, settings.auth.session_idle_timeout).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "Removed ended sessions."),
                    Err(error) => tracing::warn!(%error, "Could not remove ended sessions; will retry next round."),
                }
                metrics.retention_last_run_timestamp.set(Utc::now().timestamp());
                dropped
            }
            .into_actor(self),
        ))
    }
}
