//! `CompactorActor`: turns closed raw ranges into compressed blocks.
//!
//! Every `compaction.interval` (when `compaction.enabled`) one round:
//! 1. compacts the raw ranges that ended `compaction.after` ago (hours; see
//!    `store::blocks_compaction` for the crash-safe steps), at most
//!    `compaction.max_ranges_per_round` of them;
//! 2. drops the raw partitions of ranges compacted `compaction.drop_raw_after` ago;
//! 3. merges late points of compacted ranges into their blocks;
//! 4. merges the hour blocks of fully compacted days into one block per series and day
//!    (`compaction.merge_series_per_transaction` series per transaction);
//! 5. publishes the backlog (`/health`, `/metrics`) and the bytes on disk per tier.
//!
//! Parsing the streamed rows, encoding and decoding run on the blocking pool, never on
//! this actor's thread (`compaction.encode_tasks` encoding tasks at once; a
//! `compaction.points_per_second` budget paces the read to leave room for ingest). A step
//! that fails (a corrupt block, the database away) is logged and counted and retried
//! next round; nothing is lost because every step is one transaction. Holds no state.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use chrono::Utc;
use sqlx::PgPool;

use crate::config::Settings;
use crate::store::blocks_compaction as store;
use crate::store::partitions::{
    day_of, drop_hour_blocks, drop_raw_range, PartitionSet, PartitionedTable,
};
use crate::telemetry::Metrics;

const DAY_MS: i64 = 86_400_000;

/// Run one compaction round now.
#[derive(Message)]
#[rtype(result = "Result<RoundReport, String>")]
pub struct RunCompaction;

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub ranges: u64,
    pub points: u64,
    pub raw_dropped: u64,
    pub merged_points: u64,
    pub failures: u64,
}

pub struct CompactorActor {
    settings: Arc<Settings>,
    pg: PgPool,
    partitions: Arc<PartitionSet>,
    metrics: Arc<Metrics>,
}

impl CompactorActor {
    pub fn new(
        settings: Arc<Settings>,
        pg: PgPool,
        partitions: Arc<PartitionSet>,
        metrics: Arc<Metrics>,
    ) -> Self {
        CompactorActor {
            settings,
            pg,
            partitions,
            metrics,
        }
    }
}

impl Actor for CompactorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.settings.compaction.enabled {
            ctx.run_interval(self.settings.compaction.interval, |_, ctx| {
                ctx.notify(RunCompaction)
            });
        }
    }
}

impl Supervised for CompactorActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["compactor"])
            .inc();
    }
}

impl Handler<RunCompaction> for CompactorActor {
    // Atomic: rounds never overlap within one instance.
    type Result = AtomicResponse<Self, Result<RoundReport, String>>;

    fn handle(&mut self, _: RunCompaction, _: &mut Self::Context) -> Self::Result {
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

fn failed(metrics: &Metrics, report: &mut RoundReport, what: &str, error: &sqlx::Error) {
    metrics.compaction.failures.inc();
    report.failures += 1;
    tracing::warn!(%error, step = what, "Compaction step failed; retrying next round.");
}

async fn round(
    settings: &Settings,
    pg: &PgPool,
    partitions: &PartitionSet,
    metrics: &Metrics,
) -> RoundReport {
    let c = &settings.compaction;
    let mut report = RoundReport::default();
    let due_ms = Utc::now().timestamp_millis() - c.after.as_millis() as i64;

    match store::due_ranges(pg, due_ms, i64::from(c.max_ranges_per_round)).await {
        Ok(ranges) => {
            for range in ranges {
                let started = Instant::now();
                let step = async {
                    for table in [PartitionedTable::Blocks, PartitionedTable::HourBlocks] {
                        partitions
                            .ensure(pg, table, [day_of(range.start_ms)])
                            .await?;
                    }
                    if !range.compacting {
                        store::begin_compacting(pg, range).await?;
                    }
                    let options = store::CompactOptions {
                        level: c.level,
                        encode_tasks: c.encode_tasks,
                        points_per_second: c.points_per_second,
                    };
                    store::compact_range(pg, range, options).await
                };
                match step.await {
                    Ok(done) => {
                        metrics.compaction.ranges.inc();
                        metrics.compaction.points.inc_by(done.points);
                        metrics
                            .compaction
                            .seconds
                            .observe(started.elapsed().as_secs_f64());
                        report.ranges += 1;
                        report.points += done.points;
                        tracing::debug!(
                            start_ms = range.start_ms,
                            points = done.points,
                            blocks = done.blocks,
                            read_ms = done.read.as_millis() as u64,
                            encode_ms = done.encode.as_millis() as u64,
                            write_ms = done.write.as_millis() as u64,
                            "Compacted a raw range."
                        );
                    }
                    Err(error) => failed(metrics, &mut report, "compact", &error),
                }
            }
        }
        Err(error) => failed(metrics, &mut report, "list due ranges", &error),
    }

    match store::compacted_with_raw(pg, c.drop_raw_after).await {
        Ok(ranges) => {
            for (start_ms, end_ms) in ranges {
                let step = async {
                    drop_raw_range(pg, start_ms, end_ms, c.drop_timeout).await?;
                    store::mark_raw_dropped(pg, start_ms).await
                };
                match step.await {
                    Ok(()) => report.raw_dropped += 1,
                    Err(error) => failed(metrics, &mut report, "drop raw partition", &error),
                }
            }
        }
        Err(error) => failed(metrics, &mut report, "list compacted ranges", &error),
    }

    match store::ranges_with_late_points(pg, i64::from(c.max_ranges_per_round)).await {
        Ok(ranges) => {
            for target in ranges {
                // A merged day's hour-block partition is gone: a late point of a series
                // without a block there makes an hour block again (merged next round).
                let step = async {
                    for table in [PartitionedTable::Blocks, PartitionedTable::HourBlocks] {
                        partitions.ensure(pg, table, [day_of(target.0)]).await?;
                    }
                    store::rewrite_blocks(pg, target, None, c.level).await
                };
                match step.await {
                    Ok(done) => report.merged_points += done.points,
                    Err(error) => failed(metrics, &mut report, "merge late points", &error),
                }
            }
        }
        Err(error) => failed(metrics, &mut report, "list late points", &error),
    }

    match store::days_to_merge(pg, due_ms, 2).await {
        Ok(days) => {
            for day in days {
                loop {
                    let batch = i64::from(c.merge_series_per_transaction.max(1));
                    let series = match store::series_to_merge(pg, day, batch).await {
                        Ok(series) if series.is_empty() => break,
                        Ok(series) => series,
                        Err(error) => {
                            failed(metrics, &mut report, "list series to merge", &error);
                            break;
                        }
                    };
                    match store::rewrite_blocks(pg, (day, day + DAY_MS), Some(&series), c.level)
                        .await
                    {
                        Ok(done) => report.merged_points += done.points,
                        Err(error) => {
                            failed(metrics, &mut report, "merge a day", &error);
                            break;
                        }
                    }
                }
            }
        }
        Err(error) => failed(metrics, &mut report, "list days to merge", &error),
    }

    // A merged day's hour-block partition holds dead rows only: dropping it is what
    // gives their space back (a drop cut short is retried next round).
    match store::merged_hour_block_days(pg, due_ms).await {
        Ok(days) => {
            for day in days {
                match drop_hour_blocks(pg, day_of(day), c.drop_timeout).await {
                    Ok(()) => partitions.forget(PartitionedTable::HourBlocks, day_of(day)),
                    Err(error) => failed(metrics, &mut report, "drop merged hour blocks", &error),
                }
            }
        }
        Err(error) => failed(metrics, &mut report, "list merged days", &error),
    }
    metrics
        .compaction
        .merged_points
        .inc_by(report.merged_points);

    if let Ok((pending, oldest_end)) = store::backlog(pg, due_ms).await {
        metrics.compaction.pending_ranges.set(pending);
        let lag = oldest_end.map_or(0, |end| (due_ms - end).max(0) / 1000);
        metrics.compaction.lag_seconds.set(lag);
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
