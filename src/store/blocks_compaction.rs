//! The compactor's statements: raw ranges become verified pco blocks, late points and
//! hour blocks are merged into day blocks. Every step is one transaction, so a crash at
//! any moment leaves either the raw rows or the verified blocks as the truth, and a
//! rerun of the same step does the same thing again (idempotent).
//!
//! 1. `begin_compacting`: raw -> compacting under the range's exclusive advisory lock
//!    (writers hold it shared while they COPY; see `points::compaction_barrier`). From
//!    then on the range's raw rows are frozen and new points go to `points_late`.
//! 2. `compact_range`: read the frozen rows, encode each series on the blocking pool
//!    (every block decoded again and compared bit for bit), then in one transaction
//!    insert the blocks, check their point count and sum against the raw rows once
//!    more in SQL, and flip the range to compacted. Readers switch from the rows to the
//!    blocks at that commit.
//! 3. `drop_compacted_raw`: a little later, drop the raw partition.
//! 4. `rewrite_blocks`: late points of a compacted range, or the hour blocks of a fully
//!    compacted day, are merged (decode, merge, encode) into one block per series.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::store::blocks;
use crate::store::points::compaction_barrier::{lock_key, LOCK_NAMESPACE};
use crate::store::samples::{report_corrupt, CorruptBlock};

const DAY_MS: i64 = 86_400_000;

/// A raw range and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRange {
    pub start_ms: i64,
    pub end_ms: i64,
    pub compacting: bool,
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    pub points: u64,
    pub blocks: u64,
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Ranges not compacted yet that ended at or before `due_ms`, oldest first.
pub async fn due_ranges(
    pool: &PgPool,
    due_ms: i64,
    limit: i64,
) -> Result<Vec<RawRange>, sqlx::Error> {
    let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
        "SELECT (extract(epoch FROM range_start) * 1000)::bigint,
                (extract(epoch FROM range_end) * 1000)::bigint, state = 'compacting'
         FROM compaction_ranges WHERE state <> 'compacted' AND range_end <= $1
         ORDER BY range_start LIMIT $2",
    )
    .bind(time(due_ms))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(start_ms, end_ms, compacting)| RawRange {
            start_ms,
            end_ms,
            compacting,
        })
        .collect())
}

/// `(ranges waiting, end of the oldest waiting range)` for ranges due by `due_ms`.
pub async fn backlog(pool: &PgPool, due_ms: i64) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), (extract(epoch FROM min(range_end)) * 1000)::bigint
         FROM compaction_ranges WHERE state <> 'compacted' AND range_end <= $1",
    )
    .bind(time(due_ms))
    .fetch_one(pool)
    .await
}

/// raw -> compacting, waiting for the writers still inside the range to commit.
pub async fn begin_compacting(pool: &PgPool, range: RawRange) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(LOCK_NAMESPACE)
        .bind(lock_key(range.start_ms))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE compaction_ranges SET state = 'compacting' WHERE range_start = $1 AND state = 'raw'",
    )
    .bind(time(range.start_ms))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One encoded series block with its pruning and verification figures.
pub struct NewBlock {
    pub series_id: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub min_time_us: i64,
    pub max_time_us: i64,
    pub count: i32,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub encoded: blocks::EncodedBlock,
}

/// Encodes one series' samples (µs, sorted) into a verified block.
pub fn build_block(
    series_id: i64,
    (start_ms, end_ms): (i64, i64),
    times_us: &[i64],
    values: &[f64],
    level: usize,
) -> Result<NewBlock, blocks::BlockError> {
    let encoded = blocks::encode_verified(times_us, values, level)?;
    let finite = values.iter().copied().filter(|v| !v.is_nan());
    let (min, max) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    Ok(NewBlock {
        series_id,
        start_ms,
        end_ms,
        min_time_us: times_us.first().copied().unwrap_or(0),
        max_time_us: times_us.last().copied().unwrap_or(0),
        count: times_us.len() as i32,
        min,
        max,
        sum: values.iter().sum(),
        encoded,
    })
}

async fn insert_blocks(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    built: &[NewBlock],
) -> Result<(), sqlx::Error> {
    // Bounded statements: a day of a big installation has millions of series.
    for chunk in built.chunks(2000) {
        let us = |v: i64| DateTime::<Utc>::from_timestamp_micros(v).unwrap_or_default();
        sqlx::query(
            "INSERT INTO points_blocks
                (series_id, range_start, range_end, min_time, max_time, count, min, max, sum, times, vals)
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[],
                 $4::timestamptz[], $5::timestamptz[], $6::int[], $7::float8[], $8::float8[],
                 $9::float8[], $10::bytea[], $11::bytea[])",
        )
        .bind(chunk.iter().map(|b| b.series_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| time(b.start_ms)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| time(b.end_ms)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| us(b.min_time_us)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| us(b.max_time_us)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| b.count).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| b.min).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| b.max).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| b.sum).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| b.encoded.times.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|b| b.encoded.values.clone()).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Samples grouped per series, timestamps in µs.
type SeriesPoints = BTreeMap<i64, (Vec<i64>, Vec<f64>)>;

fn encode_all(
    series: SeriesPoints,
    span: (i64, i64),
    level: usize,
) -> Result<Vec<NewBlock>, sqlx::Error> {
    series
        .into_iter()
        .filter(|(_, (t, _))| !t.is_empty())
        .map(|(id, (t, v))| {
            build_block(id, span, &t, &v, level)
                .map_err(|e| sqlx::Error::Protocol(format!("encoding series {id}: {e}")))
        })
        .collect()
}

async fn on_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, sqlx::Error> + Send + 'static,
) -> Result<T, sqlx::Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("block codec task failed: {e}")))?
}

/// Compacts one range that is in state compacting: blocks in, range flipped, in one
/// transaction. Returns the points and blocks written.
pub async fn compact_range(
    pool: &PgPool,
    range: RawRange,
    level: usize,
) -> Result<StepOutcome, sqlx::Error> {
    let (start, end) = (time(range.start_ms), time(range.end_ms));
    // The rows are frozen (no writer can add to a compacting range), so reading them
    // outside the writing transaction is safe; it keeps that transaction short.
    let rows: Vec<(i64, DateTime<Utc>, f64)> = sqlx::query_as(
        "SELECT series_id, time, value FROM points WHERE time >= $1 AND time < $2
         ORDER BY series_id, time",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let points = rows.len() as u64;
    let raw_sum: f64 = rows.iter().map(|r| r.2).sum();
    let span = (range.start_ms, range.end_ms);
    let built = on_blocking(move || {
        let mut series = SeriesPoints::new();
        for (id, t, v) in rows {
            let entry = series.entry(id).or_default();
            entry.0.push(t.timestamp_micros());
            entry.1.push(v);
        }
        encode_all(series, span, level)
    })
    .await?;
    let mut tx = pool.begin().await?;
    // Another instance may have compacted the range meanwhile: the row lock orders us
    // after it, and we then find the range done.
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM compaction_ranges WHERE range_start = $1 FOR UPDATE")
            .bind(start)
            .fetch_optional(&mut *tx)
            .await?;
    if state.as_deref() != Some("compacting") {
        tx.rollback().await?;
        return Ok(StepOutcome::default());
    }
    // A rerun after a crash finds no blocks of this range (they commit with the flip),
    // but delete anyway so a rerun can never double a range.
    sqlx::query("DELETE FROM points_blocks WHERE range_start = $1 AND range_end = $2")
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await?;
    insert_blocks(&mut tx, &built).await?;
    let (raw_count, raw_sql_sum): (i64, Option<f64>) =
        sqlx::query_as("SELECT count(*), sum(value) FROM points WHERE time >= $1 AND time < $2")
            .bind(start)
            .bind(end)
            .fetch_one(&mut *tx)
            .await?;
    let block_count: i64 = built.iter().map(|b| i64::from(b.count)).sum();
    let block_sum: f64 = built.iter().map(|b| b.sum).sum();
    if raw_count != block_count
        || raw_count as u64 != points
        || !sums_agree(raw_sum, block_sum)
        || !sums_agree(raw_sql_sum.unwrap_or(0.0), block_sum)
    {
        tx.rollback().await?;
        return Err(sqlx::Error::Protocol(format!(
            "blocks of [{}, {}) do not match the raw rows: {block_count} points (sum {block_sum}) against {raw_count} (sum {raw_sum})",
            range.start_ms, range.end_ms
        )));
    }
    sqlx::query(
        "UPDATE compaction_ranges SET state = 'compacted', points = $2, compacted_at = now()
         WHERE range_start = $1",
    )
    .bind(start)
    .bind(raw_count)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StepOutcome {
        points,
        blocks: built.len() as u64,
    })
}

/// Float sums in a different order: equal up to rounding (or both non-finite alike).
fn sums_agree(a: f64, b: f64) -> bool {
    if !a.is_finite() || !b.is_finite() {
        return a.is_nan() || b.is_nan() || a == b;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Compacted ranges whose raw partition still exists and that were compacted more
/// than `grace` ago.
pub async fn compacted_with_raw(
    pool: &PgPool,
    grace: Duration,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT (extract(epoch FROM range_start) * 1000)::bigint,
                (extract(epoch FROM range_end) * 1000)::bigint
         FROM compaction_ranges
         WHERE state = 'compacted' AND NOT raw_dropped
           AND compacted_at <= now() - make_interval(secs => $1)
         ORDER BY range_start",
    )
    .bind(grace.as_secs_f64())
    .fetch_all(pool)
    .await
}

pub async fn mark_raw_dropped(pool: &PgPool, start_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE compaction_ranges SET raw_dropped = true WHERE range_start = $1")
        .bind(time(start_ms))
        .execute(pool)
        .await?;
    Ok(())
}

/// Compacted ranges holding late points, oldest first.
pub async fn ranges_with_late_points(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT (extract(epoch FROM r.range_start) * 1000)::bigint,
                (extract(epoch FROM r.range_end) * 1000)::bigint
         FROM compaction_ranges r
         WHERE r.state = 'compacted' AND EXISTS (
             SELECT 1 FROM points_late l WHERE l.time >= r.range_start AND l.time < r.range_end)
         ORDER BY r.range_start LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Days (start ms) ended before `before_ms` whose ranges are all compacted but that
/// still hold blocks shorter than the day: ready to merge into day blocks.
pub async fn days_to_merge(
    pool: &PgPool,
    before_ms: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (extract(epoch FROM d) * 1000)::bigint FROM (
             SELECT date_bin('1 day', range_start, TIMESTAMPTZ '1970-01-01+00') AS d
             FROM compaction_ranges GROUP BY 1
             HAVING bool_and(state = 'compacted') AND max(range_end) <= $1) days
         WHERE EXISTS (SELECT 1 FROM points_blocks b
                       WHERE b.range_start >= days.d AND b.range_start < days.d + interval '1 day'
                         AND b.range_end - b.range_start < interval '1 day')
         ORDER BY 1 LIMIT $2",
    )
    .bind(time(before_ms))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Series of `day` that still have blocks shorter than the day, up to `limit`.
pub async fn series_to_merge(
    pool: &PgPool,
    day_ms: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT series_id FROM points_blocks
         WHERE range_start >= $1 AND range_start < $1 + interval '1 day'
           AND range_end - range_start < interval '1 day'
         ORDER BY 1 LIMIT $2",
    )
    .bind(time(day_ms))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Merges, in one transaction, the blocks overlapping `target` and the late points in
/// it, for `series` (or for every series with late points there), into one block per
/// series spanning the target and those blocks. Returns points and blocks written.
pub async fn rewrite_blocks(
    pool: &PgPool,
    target: (i64, i64),
    series: Option<&[i64]>,
    level: usize,
) -> Result<StepOutcome, sqlx::Error> {
    let (start, end) = (time(target.0), time(target.1));
    let ids: Option<Vec<i64>> = series.map(<[i64]>::to_vec);
    let mut tx = pool.begin().await?;
    let late: Vec<(i64, DateTime<Utc>, f64)> = sqlx::query_as(
        "DELETE FROM points_late
         WHERE time >= $1 AND time < $2 AND ($3::bigint[] IS NULL OR series_id = ANY($3))
         RETURNING series_id, time, value",
    )
    .bind(start)
    .bind(end)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut touched: Vec<i64> = match &ids {
        Some(ids) => ids.clone(),
        None => late.iter().map(|r| r.0).collect(),
    };
    touched.sort_unstable();
    touched.dedup();
    if touched.is_empty() {
        tx.commit().await?;
        return Ok(StepOutcome::default());
    }
    let old: Vec<(i64, i64, i64, i32, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "DELETE FROM points_blocks
         WHERE series_id = ANY($1) AND range_start < $3 AND range_end > $2
           AND range_start > $2 - interval '1 day'
         RETURNING series_id, (extract(epoch FROM range_start) * 1000)::bigint,
                   (extract(epoch FROM range_end) * 1000)::bigint, count, times, vals",
    )
    .bind(&touched)
    .bind(start)
    .bind(end)
    .fetch_all(&mut *tx)
    .await?;
    let expected: i64 = late.len() as i64 + old.iter().map(|b| i64::from(b.3)).sum::<i64>();
    let built = on_blocking(move || merge_blocks(target, old, late, level)).await?;
    let written: i64 = built.iter().map(|b| i64::from(b.count)).sum();
    if written != expected {
        tx.rollback().await?;
        return Err(sqlx::Error::Protocol(format!(
            "merged blocks of [{}, {}) hold {written} points, expected {expected}",
            target.0, target.1
        )));
    }
    insert_blocks(&mut tx, &built).await?;
    tx.commit().await?;
    Ok(StepOutcome {
        points: written as u64,
        blocks: built.len() as u64,
    })
}

#[allow(clippy::type_complexity)]
fn merge_blocks(
    target: (i64, i64),
    old: Vec<(i64, i64, i64, i32, Vec<u8>, Vec<u8>)>,
    late: Vec<(i64, DateTime<Utc>, f64)>,
    level: usize,
) -> Result<Vec<NewBlock>, sqlx::Error> {
    let mut points: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    let mut spans: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (series_id, start_ms, end_ms, _, times, vals) in old {
        let (t, v) = blocks::decode(&times, &vals).map_err(|cause| {
            report_corrupt(CorruptBlock {
                series_id,
                start_ms,
                end_ms,
                cause,
            })
        })?;
        points
            .entry(series_id)
            .or_default()
            .extend(t.into_iter().zip(v));
        let span = spans.entry(series_id).or_insert(target);
        *span = (span.0.min(start_ms), span.1.max(end_ms));
    }
    for (series_id, t, v) in late {
        points
            .entry(series_id)
            .or_default()
            .push((t.timestamp_micros(), v));
    }
    let mut out = Vec::with_capacity(points.len());
    for (series_id, mut samples) in points {
        samples.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.to_bits().cmp(&b.1.to_bits())));
        let (t, v): (Vec<i64>, Vec<f64>) = samples.into_iter().unzip();
        let span = spans.get(&series_id).copied().unwrap_or(target);
        // Never wider than a day: readers prune blocks by a day's span.
        let span = if span.1 - span.0 > DAY_MS {
            target
        } else {
            span
        };
        out.push(
            build_block(series_id, span, &t, &v, level)
                .map_err(|e| sqlx::Error::Protocol(format!("encoding series {series_id}: {e}")))?,
        );
    }
    Ok(out)
}

/// Forgets ranges and late points older than `cutoff` (their partitions are dropped
/// by retention).
pub async fn forget_expired(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let late = sqlx::query("DELETE FROM points_late WHERE time < $1")
        .bind(cutoff)
        .execute(pool)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM compaction_ranges WHERE range_end <= $1")
        .bind(cutoff)
        .execute(pool)
        .await?;
    Ok(late)
}

/// Bytes on disk (heap, TOAST, indexes) per tier, for `vigil_storage_bytes{tier}`.
pub async fn storage_bytes(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.tier, COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint
         FROM (VALUES ('raw', 'points'), ('blocks', 'points_blocks'), ('late', 'points_late'),
                      ('rollup_1m', 'rollup_1m'), ('rollup_1h', 'rollup_1h')) AS t(tier, root)
         LEFT JOIN pg_partition_tree(t.root::regclass) p ON p.isleaf
         LEFT JOIN pg_class c ON c.oid = p.relid
         GROUP BY t.tier",
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_blocks_keep_every_point_and_span_their_sources() {
        let hour = 3_600_000;
        let a = build_block(1, (0, hour), &[1_000, 2_000], &[1.5, 2.5], 4).unwrap();
        let b = build_block(1, (hour, 2 * hour), &[hour * 1000 + 5], &[9.0], 4).unwrap();
        let old = vec![
            (1, 0, hour, 2, a.encoded.times, a.encoded.values),
            (1, hour, 2 * hour, 1, b.encoded.times, b.encoded.values),
        ];
        let late = vec![(1, DateTime::from_timestamp_micros(1_500).unwrap(), -3.0)];
        let merged = merge_blocks((0, 2 * hour), old, late, 4).unwrap();
        assert_eq!(merged.len(), 1);
        assert_eq!((merged[0].start_ms, merged[0].end_ms), (0, 2 * hour));
        assert_eq!(merged[0].count, 4);
        let (t, v) = blocks::decode(&merged[0].encoded.times, &merged[0].encoded.values).unwrap();
        assert_eq!(t, vec![1_000, 1_500, 2_000, hour * 1000 + 5]);
        assert_eq!(v, vec![1.5, -3.0, 2.5, 9.0]);
        assert_eq!(merged[0].sum, 10.0);
    }

    #[test]
    fn sums_agree_up_to_rounding_only() {
        assert!(sums_agree(0.1 + 0.2, 0.3));
        assert!(!sums_agree(1.0, 1.001));
        assert!(sums_agree(f64::NAN, f64::NAN));
    }
}
