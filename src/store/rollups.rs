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

/// Per series and bucket of `spec.width`, the partials of the raw samples in
/// `[start, end)`, inserted with `spec.insert`. Series are read and inserted in chunks
/// of `series_chunk` consecutive ids, so a round's memory is bounded by the chunk, not
/// by the number of series (a million series x a run of minutes would not fit).
async fn insert_from_raw(
    pool: &PgPool,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    spec: &TierRecompute,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    series_chunk: i64,
) -> Result<u64, sqlx::Error> {
    let range = crate::model::TimeRange {
        start_ms: start.timestamp_millis(),
        end_ms: end.timestamp_millis(),
    };
    let (first, last): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT min(id), max(id) FROM series")
            .fetch_one(pool)
            .await?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(0);
    };
    let chunk = series_chunk.max(1);
    let mut rows = 0;
    let mut from = first;
    while from <= last {
        let ids: Vec<i64> = (from..=last.min(from.saturating_add(chunk - 1))).collect();
        from = from.saturating_add(chunk);
        let samples = crate::store::samples::read_raw(pool, &ids, range).await?;
        rows += insert_partials(tx, spec, &samples).await?;
    }
    Ok(rows)
}

async fn insert_partials(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    spec: &TierRecompute,
    samples: &[crate::store::samples::SeriesSamples],
) -> Result<u64, sqlx::Error> {
    let width_ms = spec.width.num_milliseconds().max(1);
    let (mut ids, mut buckets, mut mins, mut maxs, mut sums, mut counts) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (series_id, bucket, partial) in
        crate::query::raw_buckets::series_partials(samples, width_ms)
    {
        ids.push(series_id);
        buckets.push(DateTime::<Utc>::from_timestamp_millis(bucket).unwrap_or_default());
        mins.push(partial.min);
        maxs.push(partial.max);
        sums.push(partial.sum);
        counts.push(partial.count);
    }
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(spec.insert)
        .bind(ids)
        .bind(buckets)
        .bind(mins)
        .bind(maxs)
        .bind(sums)
        .bind(counts)
        .execute(&mut **tx)
        .await?
        .rows_affected())
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
/// that lie wholly before `settled_before` (every minute of them materialised).
pub async fn recompute_hours(
    pool: &PgPool,
    partitions: &PartitionSet,
    settled_before: DateTime<Utc>,
    oldest: DateTime<Utc>,
    max: i64,
) -> Result<RoundOutcome, sqlx::Error> {
    recompute(
        pool,
        partitions,
        &HOURS,
        settled_before,
        oldest,
        max,
        i64::MAX,
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
    let mut rows = 0;
    for (start, end) in runs(&buckets, spec.width) {
        sqlx::query(spec.delete)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await?;
        rows += if spec.from_raw {
            insert_from_raw(pool, &mut tx, spec, (start, end), series_chunk).await?
        } else {
            sqlx::query(spec.insert)
                .bind(start)
                .bind(end)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
    }
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
