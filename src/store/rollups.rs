//! The rollup tiers: marking buckets dirty, recomputing them, and where each tier's
//! materialised data ends.
//!
//! Every write appends the 1-minute buckets it touches to `rollup_dirty` (same
//! transaction as the points; writers never update or wait). The downsampler claims
//! settled buckets by deleting all their marks, then recomputes them whole from the
//! tier below (delete + insert, so a recompute is idempotent) in the same transaction,
//! and marks the 1-hour buckets above them. A mark is committed with its points, so a
//! claimed mark's points are visible to the recompute that follows; marks committed
//! after the claim stay for the next round. Late data of any age (within raw retention)
//! therefore reaches the rollups, with no watermark to fall behind.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use sqlx::{PgConnection, PgPool};

use super::partitions::{PartitionSet, PartitionedTable};

pub const TIER_1M: i16 = 1;
pub const TIER_1H: i16 = 2;

/// Who marked a bucket, recorded for operators: writers use their pool index.
const DOWNSAMPLER_SHARD: i32 = -1;

/// Marks 1-minute buckets (ms since the epoch, sorted) as needing a recompute.
pub async fn mark_dirty_minutes(
    conn: &mut PgConnection,
    minutes_ms: &[i64],
    shard: i32,
) -> Result<(), sqlx::Error> {
    if minutes_ms.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO rollup_dirty (tier, bucket, shard)
         SELECT $1, to_timestamp(m / 1000.0), $3 FROM unnest($2::bigint[]) AS m",
    )
    .bind(TIER_1M)
    .bind(minutes_ms)
    .bind(shard)
    .execute(conn)
    .await?;
    Ok(())
}

/// What one downsampler round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundOutcome {
    pub buckets: usize,
    pub rows: u64,
}

/// Contiguous runs `[start, end)` of buckets `step` apart.
fn runs(buckets: &[DateTime<Utc>], step: ChronoDuration) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for &b in buckets {
        match out.last_mut() {
            Some((_, end)) if *end == b => *end = b + step,
            _ => out.push((b, b + step)),
        }
    }
    out
}

/// How one tier is recomputed from the tier below it.
struct TierRecompute {
    tier: i16,
    width: ChronoDuration,
    table: PartitionedTable,
    delete: &'static str,
    insert: &'static str,
    /// The tier above, whose buckets a recompute here marks dirty: (tier, width in s).
    parent: Option<(i16, i64)>,
    /// Computed from raw samples (`insert` takes per-bucket arrays) rather than by SQL
    /// over the tier below (`insert` takes the range).
    from_raw: bool,
}

const MINUTES: TierRecompute = TierRecompute {
    tier: TIER_1M,
    width: ChronoDuration::minutes(1),
    table: PartitionedTable::Rollup1m,
    delete: "DELETE FROM rollup_1m WHERE bucket >= $1 AND bucket < $2",
    // Raw points are read through `samples::read_raw` (hot rows, compressed blocks,
    // late points) and aggregated in Rust; the partials arrive as arrays.
    insert: "INSERT INTO rollup_1m (series_id, bucket, min, max, sum, count)
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[], $4::float8[],
                                  $5::float8[], $6::bigint[])",
    parent: Some((TIER_1H, 3600)),
    from_raw: true,
};

const HOURS: TierRecompute = TierRecompute {
    tier: TIER_1H,
    width: ChronoDuration::hours(1),
    table: PartitionedTable::Rollup1h,
    delete: "DELETE FROM rollup_1h WHERE bucket >= $1 AND bucket < $2",
    insert: "INSERT INTO rollup_1h (series_id, bucket, min, max, sum, count)
             SELECT series_id, date_bin('1 hour', bucket, TIMESTAMPTZ '1970-01-01+00'),
                    min(min), max(max), sum(sum), sum(count)::bigint
             FROM rollup_1m WHERE bucket >= $1 AND bucket < $2
             GROUP BY 1, 2",
    parent: None,
    from_raw: false,
};

/// The hour tier's insert when its minutes come through the stitched reader (days whose
/// minutes are compacted into blocks, which SQL cannot read).
const HOURS_FROM_ARRAYS: &str = "INSERT INTO rollup_1h (series_id, bucket, min, max, sum, count)
     SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[], $4::float8[],
                          $5::float8[], $6::bigint[])";

/// Consecutive runs of `series_chunk` ids from the lowest series id to the highest:
/// recomputes read and insert series a chunk at a time, so a round's memory is bounded
/// by the chunk, not by the number of series (a million series x a run of minutes
/// would not fit).
async fn series_chunks(pool: &PgPool, series_chunk: i64) -> Result<Vec<Vec<i64>>, sqlx::Error> {
    let (first, last): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT min(id), max(id) FROM series")
            .fetch_one(pool)
            .await?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let chunk = series_chunk.max(1);
    let mut out = Vec::new();
    let mut from = first;
    while from <= last {
        out.push((from..=last.min(from.saturating_add(chunk - 1))).collect());
        from = from.saturating_add(chunk);
    }
    Ok(out)
}

/// Partials per series and bucket, as the arrays the inserts unnest.
#[derive(Default)]
struct PartialArrays {
    ids: Vec<i64>,
    buckets: Vec<DateTime<Utc>>,
    mins: Vec<f64>,
    maxs: Vec<f64>,
    sums: Vec<f64>,
    counts: Vec<i64>,
}

impl PartialArrays {
    fn push(&mut self, series_id: i64, bucket_ms: i64, p: crate::query::partial::Partial) {
        self.ids.push(series_id);
        self.buckets
            .push(DateTime::<Utc>::from_timestamp_millis(bucket_ms).unwrap_or_default());
        self.mins.push(p.min);
        self.maxs.push(p.max);
        self.sums.push(p.sum);
        self.counts.push(p.count);
    }

    async fn insert(
        self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        statement: &'static str,
    ) -> Result<u64, sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(0);
        }
        Ok(sqlx::query(statement)
            .bind(self.ids)
            .bind(self.buckets)
            .bind(self.mins)
            .bind(self.maxs)
            .bind(self.sums)
            .bind(self.counts)
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }
}

fn range_of(start: DateTime<Utc>, end: DateTime<Utc>) -> crate::model::TimeRange {
    crate::model::TimeRange {
        start_ms: start.timestamp_millis(),
        end_ms: end.timestamp_millis(),
    }
}

/// Hour buckets of `[start, end)` from the minute tier's rows and blocks stitched
/// (`rollup_blocks::read_rollup`), `series_chunk` series at a time.
async fn insert_hours_from_stitched(
    pool: &PgPool,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    series_chunk: i64,
) -> Result<u64, sqlx::Error> {
    let mut rows = 0;
    for ids in series_chunks(pool, series_chunk).await? {
        let minutes = super::rollup_blocks::read_rollup(
            tx,
            super::rollup_blocks::MINUTE_TABLES,
            &ids,
            range_of(start, end),
        )
        .await?;
        let mut arrays = PartialArrays::default();
        for (series_id, day) in minutes {
            let mut current: Option<(i64, crate::query::partial::Partial)> = None;
            for (bucket, p) in day.buckets_ms.iter().zip(&day.partials) {
                let hour = bucket.div_euclid(3_600_000) * 3_600_000;
                match current.as_mut() {
                    Some((h, acc)) if *h == hour => acc.merge(*p),
                    _ => {
                        if let Some((h, acc)) = current.replace((hour, *p)) {
                            arrays.push(series_id, h, acc);
                        }
                    }
                }
            }
            if let Some((h, acc)) = current {
                arrays.push(series_id, h, acc);
            }
        }
        rows += arrays.insert(tx, HOURS_FROM_ARRAYS).await?;
    }
    Ok(rows)
}

/// Per series and bucket of `spec.width`, the partials of the raw samples in
/// `[start, end)`, inserted with `spec.insert`, `series_chunk` series at a time.
async fn insert_from_raw(
    pool: &PgPool,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    spec: &TierRecompute,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    series_chunk: i64,
) -> Result<u64, sqlx::Error> {
    let width_ms = spec.width.num_milliseconds().max(1);
    let mut rows = 0;
    for ids in series_chunks(pool, series_chunk).await? {
        let samples = crate::store::samples::read_raw(pool, &ids, range_of(start, end)).await?;
        let mut arrays = PartialArrays::default();
        for (series_id, bucket, partial) in
            crate::query::raw_buckets::series_partials(&samples, width_ms)
        {
            arrays.push(series_id, bucket, partial);
        }
        rows += arrays.insert(tx, spec.insert).await?;
    }
    Ok(rows)
}

/// Recomputes up to `max` dirty 1-minute buckets that ended before `settled_before`
/// and are not older than `oldest` (raw data before it is gone).
pub async fn recompute_minutes(
    pool: &PgPool,
    partitions: &PartitionSet,
    settled_before: DateTime<Utc>,
    oldest: DateTime<Utc>,
    max: i64,
    series_chunk: i64,
) -> Result<RoundOutcome, sqlx::Error> {
    recompute(
        pool,
        partitions,
        &MINUTES,
        settled_before,
        oldest,
        max,
        series_chunk,
    )
    .await
}

/// Recomputes up to `max` dirty 1-hour buckets from the 1-minute tier, but only hours
/// that lie wholly before `settled_before` (every minute of them materialised). Hours
/// of days whose minutes are compacted read them in chunks of `series_chunk` series.
pub async fn recompute_hours(
    pool: &PgPool,
    partitions: &PartitionSet,
    settled_before: DateTime<Utc>,
    oldest: DateTime<Utc>,
    max: i64,
    series_chunk: i64,
) -> Result<RoundOutcome, sqlx::Error> {
    recompute(
        pool,
        partitions,
        &HOURS,
        settled_before,
        oldest,
        max,
        series_chunk,
    )
    .await
}

async fn recompute(
    pool: &PgPool,
    partitions: &PartitionSet,
    spec: &TierRecompute,
    settled_before: DateTime<Utc>,
    oldest: DateTime<Utc>,
    max: i64,
    series_chunk: i64,
) -> Result<RoundOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Claim first, recompute after: see the module comment for why this order is safe.
    let claimed: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "WITH chosen AS (
             SELECT DISTINCT bucket FROM rollup_dirty
             WHERE tier = $1 AND bucket + $2 <= $3 AND bucket >= $4
             ORDER BY bucket LIMIT $5)
         DELETE FROM rollup_dirty d USING chosen
         WHERE d.tier = $1 AND d.bucket = chosen.bucket
         RETURNING d.bucket",
    )
    .bind(spec.tier)
    .bind(spec.width)
    .bind(settled_before)
    .bind(oldest)
    .bind(max)
    .fetch_all(&mut *tx)
    .await?;
    if claimed.is_empty() {
        tx.commit().await?;
        return Ok(RoundOutcome::default());
    }
    let mut buckets: Vec<DateTime<Utc>> = claimed;
    buckets.sort();
    buckets.dedup();
    partitions
        .ensure(pool, spec.table, buckets.iter().map(|b| b.date_naive()))
        .await?;
    let mut days: Vec<chrono::NaiveDate> = buckets.iter().map(|b| b.date_naive()).collect();
    days.dedup();
    // Before any row of these days is written: a compaction of one of them either
    // finished (these rows then win over its blocks) or waits for this transaction.
    super::rollup_blocks::lock_days_shared(&mut tx, spec.tier, &days).await?;
    let minutes_compacted = if spec.from_raw {
        Vec::new()
    } else {
        super::rollup_blocks::compacted_days(&mut tx, TIER_1M, days[0], days[days.len() - 1])
            .await?
    };
    let mut rows = 0;
    for (start, end) in runs(&buckets, spec.width) {
        sqlx::query(spec.delete)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await?;
        if spec.from_raw {
            rows += insert_from_raw(pool, &mut tx, spec, (start, end), series_chunk).await?;
            continue;
        }
        let run = range_of(start, end);
        for (piece, compacted) in super::rollup_blocks::split_by_days(run, &minutes_compacted) {
            let (from, to) = (
                DateTime::<Utc>::from_timestamp_millis(piece.start_ms).unwrap_or(start),
                DateTime::<Utc>::from_timestamp_millis(piece.end_ms).unwrap_or(end),
            );
            rows += if compacted {
                insert_hours_from_stitched(pool, &mut tx, (from, to), series_chunk).await?
            } else {
                sqlx::query(spec.insert)
                    .bind(from)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            };
        }
    }
    super::rollup_blocks::note_rows(&mut tx, spec.tier, &days).await?;
    if let Some((parent, seconds)) = spec.parent {
        let mut above: Vec<DateTime<Utc>> = buckets.iter().map(|b| floor_to(*b, seconds)).collect();
        above.dedup();
        sqlx::query(
            "INSERT INTO rollup_dirty (tier, bucket, shard)
             SELECT $1, b, $3 FROM unnest($2::timestamptz[]) AS b",
        )
        .bind(parent)
        .bind(&above)
        .bind(DOWNSAMPLER_SHARD)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(RoundOutcome {
        buckets: buckets.len(),
        rows,
    })
}

/// The oldest bucket still waiting for a recompute in `tier`, if any.
pub async fn oldest_dirty(pool: &PgPool, tier: i16) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(bucket) FROM rollup_dirty WHERE tier = $1")
        .bind(tier)
        .fetch_one(pool)
        .await
}

/// Forgets dirty marks for buckets whose source data retention already dropped.
pub async fn forget_expired(
    pool: &PgPool,
    tier: i16,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM rollup_dirty WHERE tier = $1 AND bucket < $2")
            .bind(tier)
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// `t` rounded down to a multiple of `seconds` since the epoch.
pub fn floor_to(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    let ms = t.timestamp_millis();
    let step = seconds * 1000;
    DateTime::from_timestamp_millis(ms.div_euclid(step) * step).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_contiguous_buckets() {
        let t = |m: i64| DateTime::from_timestamp(m * 60, 0).unwrap();
        let out = runs(
            &[t(1), t(2), t(3), t(7), t(9), t(10)],
            ChronoDuration::minutes(1),
        );
        assert_eq!(out, vec![(t(1), t(4)), (t(7), t(8)), (t(9), t(11))]);
        assert_eq!(
            floor_to(DateTime::from_timestamp(3_725, 0).unwrap(), 3600),
            DateTime::from_timestamp(3_600, 0).unwrap()
        );
    }
}
