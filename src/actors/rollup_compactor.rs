//! `RollupCompactorActor`: compresses closed days of the rollup tiers.
//!
//! Every `rollup_compaction.interval` (when `rollup_compaction.enabled`), and on
//! [`RunRollupCompaction`] from `app::Maintenance` (tests, admin tasks), one round per
//! tier, minutes first (the hour tier's days follow its minutes):
//! 1. compacts up to `rollup_compaction.max_days_per_round` closed days (ended
//!    `rollup_compaction.after` ago, nothing of them waiting for a recompute) into one
//!    block per series and day, the rows kept;
//! 2. for days compacted `rollup_compaction.drop_rows_after` ago that still hold rows
//!    (right after step 1, or after a late point's recompute), lays the rows over the
//!    blocks, rewrites them and gives the rows up;
//! 3. publishes the bytes on disk of the compressed tiers and the merge backlog.
//!
//! Each step is one transaction (see `store::rollup_blocks`); encoding and decoding
//! run on the blocking pool, never on this actor's thread. A step that fails is logged
//! and counted and retried next round. Holds no state: a restart runs the next round.

use std::sync::Arc;

use actix::prelude::*;
use chrono::Utc;
use sqlx::PgPool;

use crate::config::Settings;
use crate::store::partitions::PartitionSet;
use crate::store::rollup_blocks::{self as store, DayLimits, TierTables};
use crate::telemetry::Metrics;

/// Run one rollup compaction round now.
#[derive(Message)]
#[rtype(result = "Result<RollupCompactionReport, String>")]
pub struct RunRollupCompaction;

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RollupCompactionReport {
    /// Days compacted (step 1), both tiers.
    pub days: u64,
    /// Days whose rows were merged into the blocks and given up (step 2).
    pub merged_days: u64,
    /// Buckets written into blocks.
    pub buckets: u64,
    pub failures: u64,
}

pub struct RollupCompactorActor {
    settings: Arc<Settings>,
    pg: PgPool,
    /// Shared with the writers: the block partitions are created on demand.
    partitions: Arc<PartitionSet>,
    metrics: Arc<Metrics>,
}

impl RollupCompactorActor {
    pub fn new(
        settings: Arc<Settings>,
        pg: PgPool,
        partitions: Arc<PartitionSet>,
        metrics: Arc<Metrics>,
    ) -> Self {
        RollupCompactorActor {
            settings,
            pg,
            partitions,
            metrics,
        }
    }
}

impl Actor for RollupCompactorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.settings.rollup_compaction.enabled {
            ctx.run_interval(self.settings.rollup_compaction.interval, |_, ctx| {
                ctx.notify(RunRollupCompaction)
            });
        }
    }
}

impl Supervised for RollupCompactorActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["rollup_compactor"])
            .inc();
    }
}

impl Handler<RunRollupCompaction> for RollupCompactorActor {
    // Atomic: rounds never overlap within one instance.
    type Result = AtomicResponse<Self, Result<RollupCompactionReport, String>>;

    fn handle(&mut self, _: RunRollupCompaction, _: &mut Self::Context) -> Self::Result {
        let (settings, pg, partitions, metrics) = (
            self.settings.clone(),
            self.pg.clone(),
            self.partitions.clone(),
            self.metrics.clone(),
        );
        AtomicResponse::new(Box::pin(
            async move { Ok(round(&settings, &pg, &partitions, &metrics).await) }.into_actor(self),
        ))
    }
}

fn failed(metrics: &Metrics, report: &mut RollupCompactionReport, what: &str, error: &sqlx::Error) {
    metrics.rollup_compaction.failures.inc();
    report.failures += 1;
    tracing::warn!(%error, step = what, "Rollup compaction step failed; retrying next round.");
}

fn tier_label(tables: TierTables) -> &'static str {
    if tables.tier == store::HOUR_TABLES.tier {
        "1h"
    } else {
        "1m"
    }
}

async fn round(
    settings: &Settings,
    pg: &PgPool,
    partitions: &PartitionSet,
    metrics: &Metrics,
) -> RollupCompactionReport {
    let c = &settings.rollup_compaction;
    let mut report = RollupCompactionReport::default();
    let limits = DayLimits {
        level: c.level,
        series_chunk: i64::from(c.series_per_batch),
        lock_timeout: c.lock_timeout,
    };
    let now = Utc::now();
    let closed_before = now - chrono::Duration::from_std(c.after).unwrap_or_default();
    let drop_rows_after = chrono::Duration::from_std(c.drop_rows_after).unwrap_or_default();
    let max_days = i64::from(c.max_days_per_round);
    for tables in [store::MINUTE_TABLES, store::HOUR_TABLES] {
        let label = tier_label(tables);
        match store::closed_days(pg, tables.tier, closed_before, max_days).await {
            Ok(days) => {
                for day in days {
                    match store::compact_day(pg, partitions, tables, day, false, limits).await {
                        Ok(done) => {
                            metrics
                                .rollup_compaction
                                .days
                                .with_label_values(&[label, "compact"])
                                .inc();
                            report.days += 1;
                            report.buckets += done.buckets;
                            tracing::debug!(tier = label, %day, series = done.series, buckets = done.buckets, "Compacted a rollup day.");
                        }
                        Err(error) => failed(metrics, &mut report, "compact a rollup day", &error),
                    }
                }
            }
            Err(error) => failed(metrics, &mut report, "list closed rollup days", &error),
        }
        // Taken now, after step 1: a day it just compacted may be due already.
        let merge_before = Utc::now() - drop_rows_after;
        match store::days_with_rows(pg, tables.tier, merge_before, max_days).await {
            Ok(days) => {
                for day in days {
                    match store::compact_day(pg, partitions, tables, day, true, limits).await {
                        Ok(done) => {
                            metrics
                                .rollup_compaction
                                .days
                                .with_label_values(&[label, "merge"])
                                .inc();
                            report.merged_days += 1;
                            report.buckets += done.buckets;
                        }
                        Err(error) => failed(metrics, &mut report, "merge rollup rows", &error),
                    }
                }
            }
            Err(error) => failed(metrics, &mut report, "list rollup days with rows", &error),
        }
    }
    if let Ok(pending) = store::pending_days(pg).await {
        metrics.rollup_compaction.pending_days.set(pending);
    }
    if let Ok(tiers) = store::storage_bytes(pg).await {
        for (tier, bytes) in tiers {
            metrics
                .compaction
                .storage_bytes
                .with_label_values(&[&tier])
                .set(bytes);
        }
    }
    report
}
