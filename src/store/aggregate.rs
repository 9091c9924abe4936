//! Dashboard query SQL: the rollup tiers' partials, and the raw tier through
//! `samples::read_raw`. Which tiers answer which segment is the planner's
//! (`query::planner`).
//!
//! Every statement is static; the aggregation is never spliced in. Rollup-answerable
//! aggregations (avg, min, max, sum, count) are computed as per-bucket partials
//! (min, max, sum, count) from each tier segment and merged in Rust, so a bucket that
//! straddles two tiers (the not-yet-materialised tail, a range edge inside a rollup
//! bucket) is still exact. Percentiles and rate need the raw points.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::PgPool;

use crate::model::{Aggregation, Labels, Step, TimeRange};
pub use crate::query::partial::Partial;
use crate::query::planner::Tier;
pub use crate::query::raw_buckets::Buckets;
use crate::query::raw_buckets::{raw_partials, raw_percentiles, raw_rates};
use crate::store::rollup_blocks;
use crate::store::rollup_codec::RollupBuckets;
use crate::store::samples::read_raw_timeout;

/// The table holding a tier's data (the planner knows tiers by resolution only).
pub fn tier_table(tier: Tier) -> &'static str {
    match tier {
        Tier::Raw => "points",
        Tier::Minute => "rollup_1m",
        Tier::Hour => "rollup_1h",
    }
}

/// Which series to read, and the result group of each.
pub struct SeriesSelection {
    pub ids: Vec<i64>,
    /// Parallel to `ids` when grouping; `None`: everything is group 0.
    pub groups: Option<Vec<i32>>,
}

/// Series of `metric` whose labels contain `tags`, with their labels.
pub async fn matching_series(
    pool: &PgPool,
    metric: &str,
    tags: &Labels,
) -> Result<Vec<(i64, sqlx::types::Json<Labels>)>, sqlx::Error> {
    let filter = serde_json::to_string(tags).expect("labels serialise");
    sqlx::query_as("SELECT id, labels FROM series WHERE metric = $1 AND labels @> $2::jsonb")
        .bind(metric)
        .bind(filter)
        .fetch_all(pool)
        .await
}

// Buckets are aligned to multiples of the step since the Unix epoch; `$1` is the step
// in seconds. Grouped variants join the series ids with their group numbers. Raw
// points are not read here: the raw tier goes through `samples::read_raw` (hot rows,
// compressed blocks and late points) and is aggregated in Rust below.
const MINUTE_PARTIALS: &str = "SELECT 0, (extract(epoch FROM date_bin(make_interval(secs => $1), bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(min), max(max), sum(sum), sum(count)::bigint
    FROM rollup_1m WHERE series_id = ANY($2) AND bucket >= $4 AND bucket < $5 GROUP BY 2";
const MINUTE_PARTIALS_GROUPED: &str = "SELECT g.grp, (extract(epoch FROM date_bin(make_interval(secs => $1), r.bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(r.min), max(r.max), sum(r.sum), sum(r.count)::bigint
    FROM rollup_1m r JOIN unnest($2::bigint[], $3::int[]) AS g(sid, grp) ON r.series_id = g.sid
    WHERE r.bucket >= $4 AND r.bucket < $5 GROUP BY 1, 2";
const HOUR_PARTIALS: &str = "SELECT 0, (extract(epoch FROM date_bin(make_interval(secs => $1), bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(min), max(max), sum(sum), sum(count)::bigint
    FROM rollup_1h WHERE series_id = ANY($2) AND bucket >= $4 AND bucket < $5 GROUP BY 2";
const HOUR_PARTIALS_GROUPED: &str = "SELECT g.grp, (extract(epoch FROM date_bin(make_interval(secs => $1), r.bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(r.min), max(r.max), sum(r.sum), sum(r.count)::bigint
    FROM rollup_1h r JOIN unnest($2::bigint[], $3::int[]) AS g(sid, grp) ON r.series_id = g.sid
    WHERE r.bucket >= $4 AND r.bucket < $5 GROUP BY 1, 2";
/// The rollup statement of a tier; raw segments are read through `samples::read_raw`.
fn partials_statement(tier: Tier, grouped: bool) -> Option<&'static str> {
    match (tier, grouped) {
        (Tier::Raw, _) => None,
        (Tier::Minute, false) => Some(MINUTE_PARTIALS),
        (Tier::Minute, true) => Some(MINUTE_PARTIALS_GROUPED),
        (Tier::Hour, false) => Some(HOUR_PARTIALS),
        (Tier::Hour, true) => Some(HOUR_PARTIALS_GROUPED),
    }
}

fn timestamp(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn groups_of(selection: &SeriesSelection) -> Vec<i32> {
    selection
        .groups
        .clone()
        .unwrap_or_else(|| vec![0; selection.ids.len()])
}

/// `ranges` (sorted, disjoint) in runs of ranges that touch: each run is one raw
/// read. Reading the hull of ranges with a gap between them (the head and the live
/// end of a range whose middle is cached) would fetch every raw point of the gap,
/// the most expensive part of a refresh over live data, only to drop it.
fn touching_runs(ranges: &[TimeRange]) -> Vec<Vec<TimeRange>> {
    let mut runs: Vec<Vec<TimeRange>> = Vec::new();
    for range in ranges {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|last| last.end_ms >= range.start_ms) => {
                run.push(*range)
            }
            _ => runs.push(vec![*range]),
        }
    }
    runs
}

/// The smallest range holding every range of `ranges` (sorted).
fn hull(ranges: &[TimeRange]) -> Option<TimeRange> {
    Some(TimeRange {
        start_ms: ranges.first()?.start_ms,
        end_ms: ranges.last()?.end_ms,
    })
}

/// Runs the query over its segments under one statement timeout and returns final
/// values per group and bucket. The segments are in time order and disjoint but need
/// not be contiguous (the parts of a range missing from the cache): raw segments that
/// touch are answered from one raw read, so compressed blocks spanning several of them
/// are fetched and decoded once, and segments apart are read apart.
pub async fn aggregate(
    pool: &PgPool,
    segments: &[(Tier, TimeRange)],
    selection: &SeriesSelection,
    step: Step,
    aggregation: Aggregation,
    timeout: Duration,
) -> Result<Buckets, sqlx::Error> {
    let step_secs = step.millis() as f64 / 1000.0;
    let group_of: HashMap<i64, i32> = selection
        .ids
        .iter()
        .copied()
        .zip(groups_of(selection))
        .collect();
    let step_ms = step.millis().max(1);
    if !aggregation.rollups_can_answer() {
        let all: Vec<TimeRange> = segments.iter().map(|s| s.1).collect();
        let q = aggregation.quantile();
        // A rate's first sample in a bucket takes the sample before it, which may sit
        // anywhere earlier in the range: rates read the hull, as a single read of the
        // whole range would, so every bucket equals the uncached answer's.
        let runs = if q.is_none() {
            vec![all]
        } else {
            touching_runs(&all)
        };
        let mut out = Buckets::new();
        for run in runs {
            let Some(range) = hull(&run) else {
                continue;
            };
            // The previous sample of a rate may lie up to one step before the range.
            let read = TimeRange {
                start_ms: range.start_ms - if q.is_none() { step_ms } else { 0 },
                end_ms: range.end_ms,
            };
            let samples = read_raw_timeout(pool, &selection.ids, read, timeout).await?;
            let group_of = group_of.clone();
            out.extend(
                tokio::task::spawn_blocking(move || match q {
                    None => raw_rates(&samples, &group_of, step_ms, range),
                    Some(q) => raw_percentiles(&samples, &group_of, step_ms, q, range),
                })
                .await
                .map_err(|e| sqlx::Error::Protocol(format!("bucketing task failed: {e}")))?,
            );
        }
        // Runs follow each other in time, each in key order.
        out.sort_by_key(|(key, _)| *key);
        return Ok(out);
    }
    let raw_ranges: Vec<TimeRange> = segments
        .iter()
        .filter(|(tier, _)| *tier == Tier::Raw)
        .map(|s| s.1)
        .collect();
    // Raw segments first, on a connection of their own: holding the rollup
    // transaction's connection while waiting for another one would let a burst of
    // queries (a dashboard's batch) take every connection and wait on each other.
    let mut partials: Vec<((i32, i64), Partial)> = Vec::new();
    for run in touching_runs(&raw_ranges) {
        let Some(read) = hull(&run) else {
            continue;
        };
        let samples = read_raw_timeout(pool, &selection.ids, read, timeout).await?;
        let group_of = group_of.clone();
        partials.extend(
            tokio::task::spawn_blocking(move || raw_partials(&samples, &group_of, step_ms, &run))
                .await
                .map_err(|e| sqlx::Error::Protocol(format!("bucketing task failed: {e}")))?,
        );
    }
    let rollup_segments: Vec<(Tier, &'static str, TimeRange)> = segments
        .iter()
        .filter_map(|(tier, range)| {
            partials_statement(*tier, selection.groups.is_some()).map(|s| (*tier, s, *range))
        })
        .collect();
    if !rollup_segments.is_empty() {
        let mut tx = pool.begin().await?;
        // A runaway query is cancelled by the server itself, freeing its connection. And
        // always plan for the actual series ids and range: after five runs PostgreSQL
        // would otherwise switch to a generic plan, measured 15 s -> 274 s for a wide query.
        sqlx::query("SELECT set_config('statement_timeout', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true)")
            .bind(format!("{}ms", timeout.as_millis()))
            .execute(&mut *tx)
            .await?;
        let groups = groups_of(selection);
        for (tier, statement, range) in rollup_segments {
            let tables = if tier == Tier::Hour {
                rollup_blocks::HOUR_TABLES
            } else {
                rollup_blocks::MINUTE_TABLES
            };
            // Days compacted into blocks are read through the stitched reader (rows
            // and blocks); the others by SQL over the rows as before.
            let compacted = rollup_blocks::compacted_days(
                &mut tx,
                tables.tier,
                timestamp(range.start_ms).date_naive(),
                timestamp(range.end_ms - 1).date_naive(),
            )
            .await?;
            for (piece, is_compacted) in rollup_blocks::split_by_days(range, &compacted) {
                if is_compacted {
                    let series =
                        rollup_blocks::read_rollup(&mut tx, tables, &selection.ids, piece).await?;
                    let group_of = group_of.clone();
                    partials.extend(
                        tokio::task::spawn_blocking(move || {
                            fold_rollup(series, &group_of, step_ms)
                        })
                        .await
                        .map_err(|e| {
                            sqlx::Error::Protocol(format!("bucketing task failed: {e}"))
                        })?,
                    );
                    continue;
                }
                let rows: Vec<(i32, i64, f64, f64, f64, i64)> = sqlx::query_as(statement)
                    .bind(step_secs)
                    .bind(&selection.ids)
                    .bind(&groups)
                    .bind(timestamp(piece.start_ms))
                    .bind(timestamp(piece.end_ms))
                    .fetch_all(&mut *tx)
                    .await?;
                partials.extend(rows.into_iter().map(|(g, b, min, max, sum, count)| {
                    (
                        (g, b),
                        Partial {
                            min,
                            max,
                            sum,
                            count,
                        },
                    )
                }));
            }
        }
        tx.commit().await?;
    }
    // A bucket straddling two segments has one partial from each: merge neighbours
    // after a stable sort (segment order, so sums add up in time order).
    partials.sort_by_key(|(k, _)| *k);
    let mut out: Vec<((i32, i64), Partial)> = Vec::with_capacity(partials.len());
    for (key, p) in partials {
        match out.last_mut() {
            Some((k, q)) if *k == key => q.merge(p),
            _ => out.push((key, p)),
        }
    }
    Ok(out
        .into_iter()
        .map(|(k, p)| (k, p.value(aggregation)))
        .collect())
}

/// Rollup buckets of compacted days folded into one partial per (group, step bucket),
/// buckets aligned to multiples of the step since the epoch as `date_bin` aligns them.
fn fold_rollup(
    series: Vec<(i64, RollupBuckets)>,
    group_of: &HashMap<i64, i32>,
    step_ms: i64,
) -> Vec<((i32, i64), Partial)> {
    let mut folded: HashMap<(i32, i64), Partial> = HashMap::new();
    for (id, buckets) in series {
        let group = group_of.get(&id).copied().unwrap_or(0);
        let mut current: Option<(i64, Partial)> = None;
        for (b, p) in buckets.buckets_ms.iter().zip(&buckets.partials) {
            let key = b.div_euclid(step_ms) * step_ms;
            match current.as_mut() {
                Some((k, acc)) if *k == key => acc.merge(*p),
                _ => {
                    if let Some((k, acc)) = current.replace((key, *p)) {
                        folded
                            .entry((group, k))
                            .or_insert(Partial::EMPTY)
                            .merge(acc);
                    }
                }
            }
        }
        if let Some((k, acc)) = current {
            folded
                .entry((group, k))
                .or_insert(Partial::EMPTY)
                .merge(acc);
        }
    }
    folded.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacted_rollups_fold_into_step_buckets_per_group() {
        let p = Partial::of;
        let series = vec![
            (
                1,
                RollupBuckets {
                    buckets_ms: vec![0, 60_000, 120_000],
                    partials: vec![p(1.0), p(2.0), p(3.0)],
                },
            ),
            (
                2,
                RollupBuckets {
                    buckets_ms: vec![60_000],
                    partials: vec![p(10.0)],
                },
            ),
        ];
        let groups = HashMap::from([(1, 0), (2, 0)]);
        let mut out = fold_rollup(series, &groups, 120_000);
        out.sort_by_key(|(k, _)| *k);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, (0, 0));
        assert_eq!((out[0].1.min, out[0].1.max, out[0].1.count), (1.0, 10.0, 3));
        assert_eq!(out[1].0, (0, 120_000));
        assert_eq!(out[1].1.sum, 3.0);
    }

    fn r(start_ms: i64, end_ms: i64) -> TimeRange {
        TimeRange { start_ms, end_ms }
    }

    #[test]
    fn only_touching_segments_share_a_read() {
        assert!(touching_runs(&[]).is_empty());
        let runs = touching_runs(&[r(0, 10), r(10, 20), r(50, 60), r(60, 70), r(90, 95)]);
        assert_eq!(
            runs,
            vec![
                vec![r(0, 10), r(10, 20)],
                vec![r(50, 60), r(60, 70)],
                vec![r(90, 95)]
            ]
        );
    }
}
