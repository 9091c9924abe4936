//! The one raw-sample reader: every consumer that needs raw points (the query router's
//! raw tier, the downsampler's recomputes, alert windows, the PromQL engine) reads them
//! through [`read_raw`], so a new storage tier (compressed blocks, late points) is added
//! here and nowhere else.
//!
//! Samples come back per series, sorted by time; a series with no sample in the range
//! is absent. Duplicate timestamps within a series are kept as stored.

use sqlx::PgPool;

use crate::model::TimeRange;

/// The raw samples of one series inside a time range, in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesSamples {
    pub series_id: i64,
    /// Milliseconds since the epoch, ascending.
    pub times_ms: Vec<i64>,
    /// Parallel to `times_ms`.
    pub values: Vec<f64>,
}

impl SeriesSamples {
    pub fn len(&self) -> usize {
        self.times_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times_ms.is_empty()
    }
}

// Hot rows, late points and blocks in one statement: a statement reads one snapshot,
// so a compaction committing meanwhile cannot show its points twice or not at all,
// and one round trip answers the whole read. Raw rows of compacted ranges whose
// partition is not dropped yet are in the blocks, so rows are read only over the gaps
// between those ranges (a multirange difference); each gap is its own index scan,
// pruned to its own partitions when it runs (`OFFSET 0` keeps the planner from
// flattening the scan into one over every row of the series, filtered against the
// gaps afterwards). The range bounds repeated inside it prune, when the statement is
// planned, the partitions created ahead of time: planning all of them cost 2-6 ms per
// read. A filter on every row against the compacted ranges cost a subplan per row
// (seconds for a few hundred thousand rows). A block spans at
// most one day, so `range_start` bounds prune the block partitions (day blocks and
// hour blocks, which are kept apart). Rows come back
// with `times` NULL and their time in `t`; blocks with their range in `t` and `end_ms`.
const READ: &str = "WITH gaps AS (
        SELECT lower(g) AS s, upper(g) AS e
        FROM unnest(tstzmultirange(tstzrange($2, $3)) - coalesce(
            (SELECT range_agg(tstzrange(range_start, range_end)) FROM compaction_ranges
             WHERE state = 'compacted' AND NOT raw_dropped AND range_start < $3 AND range_end > $2),
            '{}'::tstzmultirange)) AS g)
    SELECT p.series_id, (extract(epoch FROM p.time) * 1000)::bigint AS t, p.value,
           NULL::bigint AS end_ms, NULL::bytea AS times, NULL::bytea AS vals
    FROM gaps CROSS JOIN LATERAL (
        SELECT series_id, time, value FROM points
        WHERE series_id = ANY($1) AND time >= gaps.s AND time < gaps.e
          AND time >= $2 AND time < $3
        OFFSET 0) p
    UNION ALL
    SELECT series_id, (extract(epoch FROM time) * 1000)::bigint, value, NULL, NULL, NULL
    FROM points_late
    WHERE series_id = ANY($1) AND time >= $2 AND time < $3
    UNION ALL
    SELECT series_id, (extract(epoch FROM range_start) * 1000)::bigint, NULL,
           (extract(epoch FROM range_end) * 1000)::bigint, times, vals
    FROM points_blocks
    WHERE series_id = ANY($1)
      AND range_start < $3 AND range_start > $2 - interval '1 day' AND range_end > $2
      AND min_time < $3 AND max_time >= $2
    UNION ALL
    SELECT series_id, (extract(epoch FROM range_start) * 1000)::bigint, NULL,
           (extract(epoch FROM range_end) * 1000)::bigint, times, vals
    FROM points_hour_blocks
    WHERE series_id = ANY($1)
      AND range_start < $3 AND range_start > $2 - interval '1 day' AND range_end > $2
      AND min_time < $3 AND max_time >= $2";
// A read under a statement timeout sets it for its own transaction only, in the same
// round trip as the BEGIN (a simple query of several statements; the timeout is a
// number of milliseconds from the configuration). The same round trip asks for a plan
// made for the read's own bounds: those prune the partitions when it is planned
// (~0.5 ms), while a generic plan covers every partition, including those created
// days ahead, and costs 8-12 ms to make on each pooled connection (the slowest
// answers after a restart, when every connection makes its own).
const TIMED: &str = "BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_custom_plan";
// What a read of the range would fetch: the points of the blocks (the same pruning as
// `READ`'s blocks, from the small heap columns only) and how much of the range is compacted.
const ESTIMATE: &str = "SELECT
    (SELECT coalesce(sum(count), 0)::bigint FROM (
        SELECT count FROM points_blocks
        WHERE series_id = ANY($1) AND range_start < $3 AND range_start > $2 - interval '1 day'
          AND range_end > $2 AND min_time < $3 AND max_time >= $2
        UNION ALL
        SELECT count FROM points_hour_blocks
        WHERE series_id = ANY($1) AND range_start < $3 AND range_start > $2 - interval '1 day'
          AND range_end > $2 AND min_time < $3 AND max_time >= $2) b),
    (SELECT coalesce(sum(extract(epoch FROM least(range_end, $3) - greatest(range_start, $2)) * 1000), 0)::bigint
       FROM compaction_ranges WHERE state = 'compacted' AND range_start < $3 AND range_end > $2)";

/// Points inside the compressed blocks a [`read_raw`] of `series_ids` over `range`
/// would decode, and the milliseconds of the range that are compacted (the query
/// planner's cost estimate).
pub async fn estimate_raw_read(
    pool: &PgPool,
    series_ids: &[i64],
    range: TimeRange,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(ESTIMATE)
        .bind(series_ids)
        .bind(timestamp(range.start_ms))
        .bind(timestamp(range.end_ms))
        .fetch_one(pool)
        .await
}

/// Blocks that could not be decoded since the process started (a `/metrics` counter).
static DECODE_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn decode_errors() -> u64 {
    DECODE_ERRORS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A block that failed to decode, named by table, series and range (in the log and the
/// error): enough to find its row.
#[derive(Debug, thiserror::Error)]
#[error("undecodable block of series {series_id} in {table} over [{start_ms}, {end_ms}): {cause}")]
pub struct CorruptBlock {
    /// `points_blocks`, `rollup_1m_blocks` or `rollup_1h_blocks`.
    pub table: &'static str,
    pub series_id: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub cause: crate::store::blocks::BlockError,
}

/// Whether `error` is a corrupt block's (made by [`report_corrupt`]): bad data in one
/// place, not a database that fails.
pub fn is_corrupt_block(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Decode(cause) if cause.is::<CorruptBlock>())
}

/// Counts and logs a corrupt block; the caller fails its request or pass with it.
pub fn report_corrupt(corrupt: CorruptBlock) -> sqlx::Error {
    DECODE_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::error!(
        table = corrupt.table,
        series_id = corrupt.series_id,
        start_ms = corrupt.start_ms,
        end_ms = corrupt.end_ms,
        cause = %corrupt.cause,
        "A compressed block cannot be decoded."
    );
    sqlx::Error::Decode(Box::new(corrupt))
}

/// Raw samples of `series_ids` in `[range.start_ms, range.end_ms)`, one entry per series
/// that has any, ordered by series id: hot rows, compressed blocks and late points
/// stitched, each series in time order (equal timestamps ordered by value bits, so the
/// order does not depend on where the points are stored). A corrupt block fails the
/// read with `sqlx::Error::Decode` holding a [`CorruptBlock`].
pub async fn read_raw(
    pool: &PgPool,
    series_ids: &[i64],
    range: TimeRange,
) -> Result<Vec<SeriesSamples>, sqlx::Error> {
    if series_ids.is_empty() || range.end_ms <= range.start_ms {
        return Ok(Vec::new());
    }
    read(pool, series_ids, range, None).await
}

/// [`read_raw`] under a statement timeout (the query router's budget).
pub async fn read_raw_timeout(
    pool: &PgPool,
    series_ids: &[i64],
    range: TimeRange,
    timeout: std::time::Duration,
) -> Result<Vec<SeriesSamples>, sqlx::Error> {
    if series_ids.is_empty() || range.end_ms <= range.start_ms {
        return Ok(Vec::new());
    }
    read(pool, series_ids, range, Some(timeout)).await
}

type Row = (i64, i64, f64);
/// series id, range start and end (ms), timestamps column, values column.
type BlockRow = (i64, i64, i64, Vec<u8>, Vec<u8>);
/// Rows plus encoded block bytes up to which a read is stitched on the caller's thread
/// (about 0.2 ms of decoding and sorting at most).
const INLINE_STITCH_WORK: usize = 32 * 1024;
/// One row of [`READ`]: a raw row (value set) or a block (end and columns set).
type ReadRow = (
    i64,
    i64,
    Option<f64>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

async fn read(
    pool: &PgPool,
    series_ids: &[i64],
    range: TimeRange,
    timeout: Option<std::time::Duration>,
) -> Result<Vec<SeriesSamples>, sqlx::Error> {
    let (start, end) = (timestamp(range.start_ms), timestamp(range.end_ms));
    let query = sqlx::query_as::<_, ReadRow>(READ)
        .bind(series_ids)
        .bind(start)
        .bind(end);
    let fetched: Vec<ReadRow> = match timeout {
        Some(timeout) => {
            let mut tx = pool
                .begin_with(format!(
                    "{TIMED}; SET LOCAL statement_timeout = {}",
                    timeout.as_millis().max(1)
                ))
                .await?;
            let fetched = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            fetched
        }
        None => query.fetch_all(pool).await?,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut blocks: Vec<BlockRow> = Vec::new();
    for (series_id, t, value, end_ms, times, vals) in fetched {
        match (value, end_ms, times, vals) {
            (_, Some(end_ms), Some(times), Some(vals)) => {
                blocks.push((series_id, t, end_ms, times, vals))
            }
            (Some(value), ..) => rows.push((series_id, t, value)),
            _ => {
                return Err(sqlx::Error::Protocol(
                    "raw read returned a row that is neither a point nor a block".into(),
                ))
            }
        }
    }
    // A small read (one series over a day: a few kilobytes of blocks) is stitched here:
    // the hop to the blocking pool would cost more than the work.
    let work = rows.len() + blocks.iter().map(|b| b.3.len() + b.4.len()).sum::<usize>();
    if work <= INLINE_STITCH_WORK {
        return stitch(rows, blocks, range).map_err(report_corrupt);
    }
    tokio::task::spawn_blocking(move || stitch(rows, blocks, range))
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("block decoding task failed: {e}")))?
        .map_err(report_corrupt)
}

/// Decodes the blocks and merges them with the hot rows and late points.
fn stitch(
    rows: Vec<Row>,
    blocks: Vec<BlockRow>,
    range: TimeRange,
) -> Result<Vec<SeriesSamples>, CorruptBlock> {
    let mut per_series: std::collections::BTreeMap<i64, Parts> = Default::default();
    for (series_id, t, v) in rows {
        per_series.entry(series_id).or_default().rows.push((t, v));
    }
    for (series_id, times_ms, values) in decode_blocks(blocks, range)? {
        if !times_ms.is_empty() {
            per_series
                .entry(series_id)
                .or_default()
                .blocks
                .push((times_ms, values));
        }
    }
    Ok(per_series
        .into_iter()
        .filter_map(|(series_id, parts)| parts.merge(series_id))
        .collect())
}

/// What one series' samples are stitched from.
#[derive(Default)]
struct Parts {
    rows: Vec<(i64, f64)>,
    /// Decoded blocks, each cut to the range: times (ms) and values.
    blocks: Vec<(Vec<i64>, Vec<f64>)>,
}

impl Parts {
    /// One time-ordered series (equal times ordered by value bits), or `None` if empty.
    fn merge(mut self, series_id: i64) -> Option<SeriesSamples> {
        // The common case, a series held in blocks only whose times strictly increase
        // across them: the decoded columns are the answer, with no copy and no sort.
        self.blocks.sort_by_key(|(t, _)| t[0]);
        let increasing = self.rows.is_empty()
            && self
                .blocks
                .iter()
                .all(|(t, _)| t.windows(2).all(|w| w[0] < w[1]))
            && self
                .blocks
                .windows(2)
                .all(|w| w[0].0[w[0].0.len() - 1] < w[1].0[0]);
        if increasing {
            let mut blocks = self.blocks.into_iter();
            let (mut times_ms, mut values) = blocks.next()?;
            for (t, v) in blocks {
                times_ms.extend(t);
                values.extend(v);
            }
            return Some(SeriesSamples {
                series_id,
                times_ms,
                values,
            });
        }
        let mut points = self.rows;
        for (t, v) in self.blocks {
            points.extend(t.into_iter().zip(v));
        }
        if points.is_empty() {
            return None;
        }
        points.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.to_bits().cmp(&b.1.to_bits())));
        let (times_ms, values) = points.into_iter().unzip();
        Some(SeriesSamples {
            series_id,
            times_ms,
            values,
        })
    }
}

/// A decoded block cut to the range: series id, times (ms), values.
type Decoded = (i64, Vec<i64>, Vec<f64>);

/// Decodes every block (on up to four threads: a wide query decodes millions of
/// points) and keeps the points inside the range.
fn decode_blocks(blocks: Vec<BlockRow>, range: TimeRange) -> Result<Vec<Decoded>, CorruptBlock> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    if threads == 1 || blocks.len() < 16 {
        return blocks.iter().map(|b| decode_block(b, range)).collect();
    }
    let chunk = blocks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = blocks
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|b| decode_block(b, range))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(blocks.len());
        for h in handles {
            out.extend(h.join().expect("block decoding never panics")?);
        }
        Ok(out)
    })
}

fn decode_block(block: &BlockRow, range: TimeRange) -> Result<Decoded, CorruptBlock> {
    let (series_id, start_ms, end_ms, times, vals) = block;
    let (times_us, mut values) =
        crate::store::blocks::decode(times, vals).map_err(|cause| CorruptBlock {
            table: crate::store::blocks_compaction::block_table(*start_ms, *end_ms),
            series_id: *series_id,
            start_ms: *start_ms,
            end_ms: *end_ms,
            cause,
        })?;
    let mut times_ms: Vec<i64> = times_us.into_iter().map(us_to_ms).collect();
    if times_ms.windows(2).all(|w| w[0] <= w[1]) {
        let lo = times_ms.partition_point(|t| *t < range.start_ms);
        let hi = times_ms.partition_point(|t| *t < range.end_ms);
        times_ms.truncate(hi);
        values.truncate(hi);
        times_ms.drain(..lo);
        values.drain(..lo);
    } else {
        let keep: Vec<bool> = times_ms
            .iter()
            .map(|t| *t >= range.start_ms && *t < range.end_ms)
            .collect();
        let mut k = keep.iter();
        times_ms.retain(|_| *k.next().unwrap_or(&false));
        let mut k = keep.iter();
        values.retain(|_| *k.next().unwrap_or(&false));
    }
    Ok((*series_id, times_ms, values))
}

/// Microseconds to milliseconds as PostgreSQL's `(extract(epoch ...) * 1000)::bigint`
/// rounds them (half away from zero), so blocks and rows agree.
pub fn us_to_ms(us: i64) -> i64 {
    if us >= 0 {
        (us + 500) / 1000
    } else {
        -((-us + 500) / 1000)
    }
}

/// Rows ordered by (series, time) into one [`SeriesSamples`] per series.
pub fn group_rows(rows: Vec<(i64, i64, f64)>) -> Vec<SeriesSamples> {
    let mut out: Vec<SeriesSamples> = Vec::new();
    for (series_id, time_ms, value) in rows {
        match out.last_mut() {
            Some(last) if last.series_id == series_id => {
                last.times_ms.push(time_ms);
                last.values.push(value);
            }
            _ => out.push(SeriesSamples {
                series_id,
                times_ms: vec![time_ms],
                values: vec![value],
            }),
        }
    }
    out
}

fn timestamp(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stitch_merges_rows_blocks_and_late_points_in_one_order() {
        let block = crate::store::blocks::encode(&[5_000, 30_000_000], &[2.0, 3.0], 4).unwrap();
        let blocks = vec![(1, 0, 3_600_000, block.times, block.values)];
        let hot = vec![(1, 20_000, 9.0), (2, 1, 1.0)];
        let late = vec![(1, 5, 1.0), (1, 5, 0.5)];
        let range = TimeRange {
            start_ms: 0,
            end_ms: 30_000,
        };
        let rows = hot.into_iter().chain(late).collect();
        let out = stitch(rows, blocks, range).unwrap();
        // The block's point at 30 000 ms is outside the range; equal times by value bits.
        assert_eq!(out[0].times_ms, vec![5, 5, 5, 20_000]);
        assert_eq!(out[0].values, vec![0.5, 1.0, 2.0, 9.0]);
        assert_eq!(out[1].series_id, 2);
        let bad = vec![(3, 0, 1, vec![1u8, 0, 0, 0, 0, 0], vec![7u8])];
        let err = stitch(vec![], bad, range).unwrap_err();
        assert_eq!(err.series_id, 3);
        assert_eq!(us_to_ms(-1_500), -2);
        assert_eq!(us_to_ms(1_499), 1);
    }

    #[test]
    fn blocks_only_series_are_joined_in_time_order_and_cut_to_the_range() {
        let day1 = crate::store::blocks::encode(&[10_000_000, 20_000_000], &[1.0, 2.0], 4).unwrap();
        let day2 = crate::store::blocks::encode(&[30_000_000, 40_000_000], &[3.0, 4.0], 4).unwrap();
        // Listed newest first: the order of the rows must not matter.
        let blocks = vec![
            (7, 0, 1, day2.times, day2.values),
            (7, 0, 1, day1.times, day1.values),
        ];
        let range = TimeRange {
            start_ms: 20_000,
            end_ms: 40_000,
        };
        let out = stitch(vec![], blocks, range).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].times_ms, vec![20_000, 30_000]);
        assert_eq!(out[0].values, vec![2.0, 3.0]);
        // Many blocks go through the threaded decoder and come back in series order.
        let many: Vec<BlockRow> = (0..40)
            .rev()
            .map(|id| {
                let b = crate::store::blocks::encode(&[25_000_000], &[id as f64], 4).unwrap();
                (id, 0, 1, b.times, b.values)
            })
            .collect();
        let out = stitch(vec![], many, range).unwrap();
        assert_eq!(out.len(), 40);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, s)| s.series_id == i as i64 && s.values == vec![i as f64]));
    }

    #[test]
    fn rows_group_per_series_in_order() {
        let grouped = group_rows(vec![(1, 10, 1.0), (1, 20, 2.0), (3, 5, 7.5)]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].times_ms, vec![10, 20]);
        assert_eq!(grouped[0].values, vec![1.0, 2.0]);
        assert_eq!(grouped[1].series_id, 3);
        assert_eq!(grouped[1].len(), 1);
    }
}
