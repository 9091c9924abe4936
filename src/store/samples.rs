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

// One snapshot for all three sources (REPEATABLE READ): a compaction committing
// between two of the reads would otherwise show its points twice or not at all.
const SNAPSHOT: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
const COMPACTED: &str = "SELECT (extract(epoch FROM range_start) * 1000)::bigint,
        (extract(epoch FROM range_end) * 1000)::bigint
    FROM compaction_ranges
    WHERE state = 'compacted' AND NOT raw_dropped AND range_start < $2 AND range_end > $1";
const RAW_ROWS: &str = "SELECT series_id, (extract(epoch FROM time) * 1000)::bigint, value
    FROM points WHERE series_id = ANY($1) AND time >= $2 AND time < $3
    ORDER BY series_id, time";
// Raw rows of compacted ranges whose partition is not dropped yet are in the blocks;
// without series ids, every series (the downsampler).
const RAW_ROWS_OUTSIDE: &str = "SELECT series_id, (extract(epoch FROM time) * 1000)::bigint, value
    FROM points p WHERE ($1::bigint[] IS NULL OR series_id = ANY($1)) AND time >= $2 AND time < $3
      AND NOT EXISTS (SELECT 1 FROM unnest($4::timestamptz[], $5::timestamptz[]) AS c(s, e)
                      WHERE p.time >= c.s AND p.time < c.e)";
// A block spans at most one day, so `range_start` bounds prune the partitions.
const BLOCKS: &str = "SELECT series_id, (extract(epoch FROM range_start) * 1000)::bigint,
        (extract(epoch FROM range_end) * 1000)::bigint, times, vals
    FROM points_blocks
    WHERE ($1::bigint[] IS NULL OR series_id = ANY($1))
      AND range_start < $3 AND range_start > $2 - interval '1 day' AND range_end > $2
      AND min_time < $3 AND max_time >= $2";
const LATE: &str = "SELECT series_id, (extract(epoch FROM time) * 1000)::bigint, value
    FROM points_late
    WHERE ($1::bigint[] IS NULL OR series_id = ANY($1)) AND time >= $2 AND time < $3";

/// Blocks that could not be decoded since the process started (a `/metrics` counter).
static DECODE_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn decode_errors() -> u64 {
    DECODE_ERRORS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A block that failed to decode, named by series and range (in the log and the error).
#[derive(Debug, thiserror::Error)]
#[error("undecodable block of series {series_id} over [{start_ms}, {end_ms}): {cause}")]
pub struct CorruptBlock {
    pub series_id: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub cause: crate::store::blocks::BlockError,
}

/// Counts and logs a corrupt block; the caller fails its request or pass with it.
pub fn report_corrupt(corrupt: CorruptBlock) -> sqlx::Error {
    DECODE_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::error!(
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
    read(pool, Some(series_ids), range, None).await
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
    read(pool, Some(series_ids), range, Some(timeout)).await
}

/// Every series' raw samples in the range (the downsampler's recompute of a time slice).
pub async fn read_raw_all(
    pool: &PgPool,
    range: TimeRange,
) -> Result<Vec<SeriesSamples>, sqlx::Error> {
    if range.end_ms <= range.start_ms {
        return Ok(Vec::new());
    }
    read(pool, None, range, None).await
}

type Row = (i64, i64, f64);

async fn read(
    pool: &PgPool,
    series_ids: Option<&[i64]>,
    range: TimeRange,
    timeout: Option<std::time::Duration>,
) -> Result<Vec<SeriesSamples>, sqlx::Error> {
    let (start, end) = (timestamp(range.start_ms), timestamp(range.end_ms));
    let mut tx = pool.begin().await?;
    sqlx::query(SNAPSHOT).execute(&mut *tx).await?;
    if let Some(timeout) = timeout {
        sqlx::query("SELECT set_config('statement_timeout', $1, true)")
            .bind(format!("{}ms", timeout.as_millis().max(1)))
            .execute(&mut *tx)
            .await?;
    }
    let compacted: Vec<(i64, i64)> = sqlx::query_as(COMPACTED)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *tx)
        .await?;
    let ids: Option<Vec<i64>> = series_ids.map(<[i64]>::to_vec);
    let hot: Vec<Row> = if compacted.is_empty() && ids.is_some() {
        sqlx::query_as(RAW_ROWS)
            .bind(&ids)
            .bind(start)
            .bind(end)
            .fetch_all(&mut *tx)
            .await?
    } else {
        let starts: Vec<_> = compacted.iter().map(|c| timestamp(c.0)).collect();
        let ends: Vec<_> = compacted.iter().map(|c| timestamp(c.1)).collect();
        sqlx::query_as(RAW_ROWS_OUTSIDE)
            .bind(&ids)
            .bind(start)
            .bind(end)
            .bind(starts)
            .bind(ends)
            .fetch_all(&mut *tx)
            .await?
    };
    let blocks: Vec<(i64, i64, i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(BLOCKS)
        .bind(&ids)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *tx)
        .await?;
    let late: Vec<Row> = sqlx::query_as(LATE)
        .bind(&ids)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    tokio::task::spawn_blocking(move || stitch(hot, blocks, late, range))
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("block decoding task failed: {e}")))?
        .map_err(report_corrupt)
}

/// Decodes the blocks and merges them with the hot rows and late points.
fn stitch(
    hot: Vec<Row>,
    blocks: Vec<(i64, i64, i64, Vec<u8>, Vec<u8>)>,
    late: Vec<Row>,
    range: TimeRange,
) -> Result<Vec<SeriesSamples>, CorruptBlock> {
    let mut per_series: std::collections::BTreeMap<i64, Vec<(i64, f64)>> = Default::default();
    for (series_id, t, v) in hot.into_iter().chain(late) {
        per_series.entry(series_id).or_default().push((t, v));
    }
    for (series_id, start_ms, end_ms, times, vals) in blocks {
        let (times_us, values) =
            crate::store::blocks::decode(&times, &vals).map_err(|cause| CorruptBlock {
                series_id,
                start_ms,
                end_ms,
                cause,
            })?;
        let entry = per_series.entry(series_id).or_default();
        for (us, v) in times_us.into_iter().zip(values) {
            let ms = us_to_ms(us);
            if ms >= range.start_ms && ms < range.end_ms {
                entry.push((ms, v));
            }
        }
    }
    Ok(per_series
        .into_iter()
        .filter(|(_, points)| !points.is_empty())
        .map(|(series_id, mut points)| {
            points.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.to_bits().cmp(&b.1.to_bits())));
            let (times_ms, values) = points.into_iter().unzip();
            SeriesSamples {
                series_id,
                times_ms,
                values,
            }
        })
        .collect())
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
    fn rows_group_per_series_in_order() {
        let grouped = group_rows(vec![(1, 10, 1.0), (1, 20, 2.0), (3, 5, 7.5)]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].times_ms, vec![10, 20]);
        assert_eq!(grouped[0].values, vec![1.0, 2.0]);
        assert_eq!(grouped[1].series_id, 3);
        assert_eq!(grouped[1].len(), 1);
    }
}
