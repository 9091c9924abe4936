//! The compressed rollup tiers: closed days of `rollup_1m` and `rollup_1h` become one
//! pco block per series and day (`rollup_1m_blocks`, `rollup_1h_blocks`; codec in
//! `store::rollup_codec`), and the one stitched reader every consumer of a rollup tier
//! goes through for those days (rows and blocks; a bucket in both: the row wins,
//! because only a recompute after the compaction writes a row for a compacted day).
//!
//! A day goes through two steps, each one transaction under the day's exclusive
//! advisory lock, which the downsampler takes shared before it writes a bucket of the
//! day (`lock_days_shared`), so no recompute commits in the middle of either step:
//! 1. `compact_day` (rows kept): the rows are encoded, every block decoded again and
//!    compared bit for bit, the blocks inserted, their bucket and point totals checked
//!    against the rows in SQL, and the day recorded in `rollup_block_days`. Readers
//!    switch to the stitched read at that commit; the rows are still there, identical,
//!    for a reader that listed the day before.
//! 2. `compact_day` (rows given up), `drop_rows_after` later or after a late recompute:
//!    the rows are laid over the blocks, the blocks of the series whose rows differ
//!    from them rewritten (right after step 1: none), and the rows removed
//!    (the minute tier's day partition truncated, the hour tier's day deleted from its
//!    month).
//!
//! A kill at any moment leaves either the rows or the committed, verified blocks (plus
//! rows that win over them) as the truth.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

use super::partitions::{PartitionSet, PartitionedTable};
use super::rollup_codec::{self, RollupBuckets};
use super::rollups::{TIER_1H, TIER_1M};
use crate::model::TimeRange;
use crate::query::partial::Partial;
use crate::store::samples::{report_corrupt, CorruptBlock};

/// Advisory lock namespace of rollup days (the raw ranges use another one).
const LOCK_NAMESPACE: i32 = 0x5647_5231;
const DAY_MS: i64 = 86_400_000;

/// One rollup tier and its compressed form. Table names come from this fixed list only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierTables {
    pub tier: i16,
    pub rows: PartitionedTable,
    pub blocks: PartitionedTable,
    /// The tier's bucket width.
    pub width_ms: i64,
    read_rows: &'static str,
    read_blocks: &'static str,
    stitched: &'static str,
    delete_blocks: &'static str,
    totals_rows: &'static str,
    totals_blocks: &'static str,
}

pub const MINUTE_TABLES: TierTables = TierTables {
    tier: TIER_1M,
    rows: PartitionedTable::Rollup1m,
    blocks: PartitionedTable::Rollup1mBlocks,
    width_ms: 60_000,
    read_rows: "SELECT series_id, (extract(epoch FROM bucket) * 1000)::bigint, min, max, sum, count
         FROM rollup_1m WHERE series_id BETWEEN $1 AND $2 AND bucket >= $3 AND bucket < $4
         ORDER BY series_id, bucket",
    read_blocks: "SELECT series_id, data FROM rollup_1m_blocks
         WHERE day = $1 AND series_id BETWEEN $2 AND $3",
    stitched: "SELECT series_id, NULL::bytea, (extract(epoch FROM bucket) * 1000)::bigint, min, max, sum, count
         FROM rollup_1m WHERE series_id = ANY($1) AND bucket >= $2 AND bucket < $3
         UNION ALL
         SELECT series_id, data, (extract(epoch FROM day::timestamp) * 1000)::bigint, NULL, NULL, NULL, NULL
         FROM rollup_1m_blocks WHERE series_id = ANY($1) AND day >= $4 AND day <= $5",
    delete_blocks: "DELETE FROM rollup_1m_blocks WHERE day = $1 AND series_id = ANY($2)",
    totals_rows: "SELECT count(*)::bigint, COALESCE(sum(count), 0)::bigint FROM rollup_1m
         WHERE bucket >= $1 AND bucket < $2",
    totals_blocks: "SELECT COALESCE(sum(buckets), 0)::bigint, COALESCE(sum(points), 0)::bigint
         FROM rollup_1m_blocks WHERE day = $1",
};

pub const HOUR_TABLES: TierTables = TierTables {
    tier: TIER_1H,
    rows: PartitionedTable::Rollup1h,
    blocks: PartitionedTable::Rollup1hBlocks,
    width_ms: 3_600_000,
    read_rows: "SELECT series_id, (extract(epoch FROM bucket) * 1000)::bigint, min, max, sum, count
         FROM rollup_1h WHERE series_id BETWEEN $1 AND $2 AND bucket >= $3 AND bucket < $4
         ORDER BY series_id, bucket",
    read_blocks: "SELECT series_id, data FROM rollup_1h_blocks
         WHERE day = $1 AND series_id BETWEEN $2 AND $3",
    stitched: "SELECT series_id, NULL::bytea, (extract(epoch FROM bucket) * 1000)::bigint, min, max, sum, count
         FROM rollup_1h WHERE series_id = ANY($1) AND bucket >= $2 AND bucket < $3
         UNION ALL
         SELECT series_id, data, (extract(epoch FROM day::timestamp) * 1000)::bigint, NULL, NULL, NULL, NULL
         FROM rollup_1h_blocks WHERE series_id = ANY($1) AND day >= $4 AND day <= $5",
    delete_blocks: "DELETE FROM rollup_1h_blocks WHERE day = $1 AND series_id = ANY($2)",
    totals_rows: "SELECT count(*)::bigint, COALESCE(sum(count), 0)::bigint FROM rollup_1h
         WHERE bucket >= $1 AND bucket < $2",
    totals_blocks: "SELECT COALESCE(sum(buckets), 0)::bigint, COALESCE(sum(points), 0)::bigint
         FROM rollup_1h_blocks WHERE day = $1",
};

/// The tables of a tier number (`TIER_1M`, `TIER_1H`).
pub fn tables_of(tier: i16) -> TierTables {
    if tier == TIER_1H {
        HOUR_TABLES
    } else {
        MINUTE_TABLES
    }
}

fn lock_key(tier: i16, day: NaiveDate) -> i32 {
    i32::from(tier) * 1_000_000 + (day - DateTime::UNIX_EPOCH.date_naive()).num_days() as i32
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn next_day(day: NaiveDate) -> NaiveDate {
    day.checked_add_days(Days::new(1)).unwrap_or(day)
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Waits until no compaction of these days of `tier` is running and keeps them from
/// starting until the caller's transaction ends: the downsampler calls it before it
/// writes buckets of the days, so its rows never land in the middle of a compaction.
pub async fn lock_days_shared(
    conn: &mut PgConnection,
    tier: i16,
    days: &[NaiveDate],
) -> Result<(), sqlx::Error> {
    let mut keys: Vec<i32> = days.iter().map(|d| lock_key(tier, *d)).collect();
    keys.sort();
    keys.dedup();
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1, k) FROM unnest($2::int[]) AS k")
        .bind(LOCK_NAMESPACE)
        .bind(&keys)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that a recompute wrote rows for compacted days of `tier` (a later pass
/// merges them into the blocks). Same transaction as the rows.
pub async fn note_rows(
    conn: &mut PgConnection,
    tier: i16,
    days: &[NaiveDate],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE rollup_block_days SET has_rows = true WHERE tier = $1 AND day = ANY($2) AND NOT has_rows")
        .bind(tier)
        .bind(days)
        .execute(conn)
        .await?;
    Ok(())
}

/// Days of `tier` in `[from, to]` that have blocks, ascending.
pub async fn compacted_days(
    conn: &mut PgConnection,
    tier: i16,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT day FROM rollup_block_days WHERE tier = $1 AND day >= $2 AND day <= $3 ORDER BY day",
    )
    .bind(tier)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// `range` cut at day boundaries into runs that are wholly compacted or wholly not, in
/// time order: `(piece, compacted)`.
pub fn split_by_days(range: TimeRange, compacted: &[NaiveDate]) -> Vec<(TimeRange, bool)> {
    let mut out: Vec<(TimeRange, bool)> = Vec::new();
    let mut start = range.start_ms;
    while start < range.end_ms {
        let day_end = (start.div_euclid(DAY_MS) + 1) * DAY_MS;
        let end = day_end.min(range.end_ms);
        let is = compacted.binary_search(&time(start).date_naive()).is_ok();
        match out.last_mut() {
            Some((piece, c)) if *c == is => piece.end_ms = end,
            _ => out.push((
                TimeRange {
                    start_ms: start,
                    end_ms: end,
                },
                is,
            )),
        }
        start = end;
    }
    out
}

/// (series, block bytes, bucket start or the block's day start, min, max, sum, count):
/// a row of the tier has no bytes, a block nothing after its day.
type StitchedRow = (
    i64,
    Option<Vec<u8>>,
    Option<i64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<i64>,
);

/// The buckets of `tier` for `ids` in `range` (bucket starts), rows and blocks
/// stitched in one statement (one snapshot), per series in id order. Decoding runs on
/// the blocking pool. A corrupt block fails the read with a [`CorruptBlock`].
pub async fn read_rollup(
    conn: &mut PgConnection,
    tables: TierTables,
    ids: &[i64],
    range: TimeRange,
) -> Result<Vec<(i64, RollupBuckets)>, sqlx::Error> {
    if ids.is_empty() || range.end_ms <= range.start_ms {
        return Ok(Vec::new());
    }
    let rows: Vec<StitchedRow> = sqlx::query_as(tables.stitched)
        .bind(ids)
        .bind(time(range.start_ms))
        .bind(time(range.end_ms))
        .bind(time(range.start_ms).date_naive())
        .bind(time(range.end_ms - 1).date_naive())
        .fetch_all(&mut *conn)
        .await?;
    let table = tables.blocks.parent();
    tokio::task::spawn_blocking(move || stitch(rows, range, table))
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("rollup decoding task failed: {e}")))?
}

/// A block's day start (ms; absent: unknown) and its bytes.
type DayBlock = (Option<i64>, Vec<u8>);

fn stitch(
    rows: Vec<StitchedRow>,
    range: TimeRange,
    table: &'static str,
) -> Result<Vec<(i64, RollupBuckets)>, sqlx::Error> {
    let mut blocks: HashMap<i64, Vec<DayBlock>> = HashMap::new();
    let mut newer: HashMap<i64, RollupBuckets> = HashMap::new();
    for (series_id, data, bucket, min, max, sum, count) in rows {
        match (data, bucket, min, max, sum, count) {
            (Some(data), day, ..) => blocks.entry(series_id).or_default().push((day, data)),
            (None, Some(bucket), Some(min), Some(max), Some(sum), Some(count)) => {
                let r = newer.entry(series_id).or_default();
                r.buckets_ms.push(bucket);
                r.partials.push(Partial {
                    min,
                    max,
                    sum,
                    count,
                });
            }
            _ => {}
        }
    }
    let mut ids: Vec<i64> = blocks.keys().chain(newer.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mut old = RollupBuckets::default();
        for (day_ms, data) in blocks.remove(&id).unwrap_or_default() {
            let day = rollup_codec::decode(&data).map_err(|cause| {
                // The block's own day, not the range read: the row to look at or repair.
                let (start_ms, end_ms) = match day_ms {
                    Some(d) => (d, d + DAY_MS),
                    None => (range.start_ms, range.end_ms),
                };
                report_corrupt(CorruptBlock {
                    table,
                    series_id: id,
                    start_ms,
                    end_ms,
                    cause,
                })
            })?;
            old.buckets_ms.extend(day.buckets_ms);
            old.partials.extend(day.partials);
        }
        // Blocks of several days arrive in any order.
        if old.buckets_ms.windows(2).any(|w| w[0] > w[1]) {
            let mut pairs: Vec<(i64, Partial)> =
                old.buckets_ms.into_iter().zip(old.partials).collect();
            pairs.sort_by_key(|(b, _)| *b);
            (old.buckets_ms, old.partials) = pairs.into_iter().unzip();
        }
        let mut r = newer.remove(&id).unwrap_or_default();
        // Rows arrive from a UNION: sort them too.
        if r.buckets_ms.windows(2).any(|w| w[0] > w[1]) {
            let mut pairs: Vec<(i64, Partial)> = r.buckets_ms.into_iter().zip(r.partials).collect();
            pairs.sort_by_key(|(b, _)| *b);
            (r.buckets_ms, r.partials) = pairs.into_iter().unzip();
        }
        let mut merged = old.overlaid(r);
        let keep: Vec<bool> = merged
            .buckets_ms
            .iter()
            .map(|b| *b >= range.start_ms && *b < range.end_ms)
            .collect();
        if keep.iter().any(|k| !k) {
            let mut k = keep.iter();
            merged.partials.retain(|_| *k.next().expect("parallel"));
            merged
                .buckets_ms
                .retain(|b| *b >= range.start_ms && *b < range.end_ms);
        }
        if !merged.is_empty() {
            out.push((id, merged));
        }
    }
    Ok(out)
}

/// Days of `tier` that are closed and not compacted yet, oldest first: the day ended
/// before `closed_before`, no bucket of it (or, for the hour tier, of its minutes)
/// waits for a recompute, and it has rows (a minute-tier day partition; for the hour
/// tier, a day whose minutes are already compacted).
pub async fn closed_days(
    pool: &PgPool,
    tier: i16,
    closed_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<NaiveDate>, sqlx::Error> {
    let candidates: Vec<NaiveDate> = if tier == TIER_1M {
        super::partitions::list_partitions(pool, PartitionedTable::Rollup1m)
            .await?
            .into_iter()
            .map(|(_, day)| day)
            .collect()
    } else {
        sqlx::query_scalar("SELECT day FROM rollup_block_days WHERE tier = $1")
            .bind(TIER_1M)
            .fetch_all(pool)
            .await?
    };
    let candidates: Vec<NaiveDate> = candidates
        .into_iter()
        .filter(|d| day_start(next_day(*d)) <= closed_before)
        .collect();
    sqlx::query_scalar(
        "SELECT d FROM unnest($1::date[]) AS d
         WHERE NOT EXISTS (SELECT 1 FROM rollup_block_days b WHERE b.tier = $2 AND b.day = d)
           AND NOT EXISTS (SELECT 1 FROM rollup_dirty r WHERE r.tier <= $2
                           AND r.bucket >= d::timestamp AT TIME ZONE 'UTC'
                           AND r.bucket < (d + 1)::timestamp AT TIME ZONE 'UTC')
         ORDER BY d LIMIT $3",
    )
    .bind(&candidates)
    .bind(tier)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Compacted days of `tier` that still hold rows, compacted before `compacted_before`.
pub async fn days_with_rows(
    pool: &PgPool,
    tier: i16,
    compacted_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT day FROM rollup_block_days WHERE tier = $1 AND has_rows AND compacted_at <= $2
         ORDER BY day LIMIT $3",
    )
    .bind(tier)
    .bind(compacted_before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How a compaction step went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DayOutcome {
    pub series: u64,
    pub buckets: u64,
    pub rows_given_up: u64,
}

/// Limits of one compaction step, from `[rollup_compaction]`.
#[derive(Debug, Clone, Copy)]
pub struct DayLimits {
    pub level: usize,
    pub series_chunk: i64,
    pub lock_timeout: Duration,
}

type BucketRow = (i64, i64, f64, f64, f64, i64);

/// One encoded series-day: (series, buckets, points, bytes).
type NewBlock = (i64, i32, i64, Vec<u8>);

fn encode_chunk(
    tables: TierTables,
    rows: Vec<BucketRow>,
    old: Vec<(i64, Vec<u8>)>,
    day: NaiveDate,
    level: usize,
) -> Result<Vec<NewBlock>, sqlx::Error> {
    let day_ms = day_start(day).timestamp_millis();
    let mut series: std::collections::BTreeMap<i64, (RollupBuckets, RollupBuckets)> =
        Default::default();
    for (id, data) in old {
        let decoded = rollup_codec::decode(&data).map_err(|cause| {
            report_corrupt(CorruptBlock {
                table: tables.blocks.parent(),
                series_id: id,
                start_ms: day_ms,
                end_ms: day_ms + DAY_MS,
                cause,
            })
        })?;
        series.entry(id).or_default().0 = decoded;
    }
    for (id, bucket, min, max, sum, count) in rows {
        let r = &mut series.entry(id).or_default().1;
        r.buckets_ms.push(bucket);
        r.partials.push(Partial {
            min,
            max,
            sum,
            count,
        });
    }
    let mut out = Vec::with_capacity(series.len());
    for (id, (old, rows)) in series {
        // Rows the block already holds bit for bit (the second step right after the
        // first, or a late recompute of a minute this series has no new point in):
        // the block stays, so giving up the rows writes nothing and leaves no dead
        // copy of the day behind in a partition that is never written again.
        if !old.is_empty() && holds(&old, &rows) {
            continue;
        }
        let merged = old.overlaid(rows);
        if merged.is_empty() {
            continue;
        }
        let bytes = rollup_codec::encode_verified(&merged, level).map_err(|e| {
            sqlx::Error::Protocol(format!("encoding rollup block of series {id}: {e}"))
        })?;
        let points = merged.partials.iter().map(|p| p.count).sum();
        out.push((id, merged.len() as i32, points, bytes));
    }
    Ok(out)
}

/// Whether every bucket of `rows` is in `block` with the same bits.
fn holds(block: &RollupBuckets, rows: &RollupBuckets) -> bool {
    rows.buckets_ms.iter().zip(&rows.partials).all(|(b, p)| {
        block.buckets_ms.binary_search(b).is_ok_and(|i| {
            let q = &block.partials[i];
            q.min.to_bits() == p.min.to_bits()
                && q.max.to_bits() == p.max.to_bits()
                && q.sum.to_bits() == p.sum.to_bits()
                && q.count == p.count
        })
    })
}

/// Compacts one day of a tier (see the module comment): with `give_up_rows` false the
/// first step (skipped if the day already has blocks), with it true the second.
pub async fn compact_day(
    pool: &PgPool,
    partitions: &PartitionSet,
    tables: TierTables,
    day: NaiveDate,
    give_up_rows: bool,
    limits: DayLimits,
) -> Result<DayOutcome, sqlx::Error> {
    partitions.ensure(pool, tables.blocks, [day]).await?;
    let (first, last): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT min(id), max(id) FROM series")
            .fetch_one(pool)
            .await?;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(format!("{}ms", limits.lock_timeout.as_millis().max(1)))
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(LOCK_NAMESPACE)
        .bind(lock_key(tables.tier, day))
        .execute(&mut *tx)
        .await?;
    let state: Option<bool> =
        sqlx::query_scalar("SELECT has_rows FROM rollup_block_days WHERE tier = $1 AND day = $2")
            .bind(tables.tier)
            .bind(day)
            .fetch_optional(&mut *tx)
            .await?;
    match (state, give_up_rows) {
        (Some(_), false) | (None, true) | (Some(false), true) => {
            tx.commit().await?;
            return Ok(DayOutcome::default());
        }
        _ => {}
    }
    let (from, to) = (day_start(day), day_start(next_day(day)));
    let (rows_buckets, rows_points): (i64, i64) = sqlx::query_as(tables.totals_rows)
        .bind(from)
        .bind(to)
        .fetch_one(&mut *tx)
        .await?;
    let mut outcome = DayOutcome::default();
    if let (Some(first), Some(last)) = (first, last) {
        let chunk = limits.series_chunk.max(1);
        let mut lo = first;
        while lo <= last {
            let hi = last.min(lo.saturating_add(chunk - 1));
            let rows: Vec<BucketRow> = sqlx::query_as(tables.read_rows)
                .bind(lo)
                .bind(hi)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *tx)
                .await?;
            let old: Vec<(i64, Vec<u8>)> = sqlx::query_as(tables.read_blocks)
                .bind(day)
                .bind(lo)
                .bind(hi)
                .fetch_all(&mut *tx)
                .await?;
            let level = limits.level;
            let encoded =
                tokio::task::spawn_blocking(move || encode_chunk(tables, rows, old, day, level))
                    .await
                    .map_err(|e| {
                        sqlx::Error::Protocol(format!("rollup encoding task failed: {e}"))
                    })??;
            if !encoded.is_empty() {
                let rewritten: Vec<i64> = encoded.iter().map(|b| b.0).collect();
                sqlx::query(tables.delete_blocks)
                    .bind(day)
                    .bind(&rewritten)
                    .execute(&mut *tx)
                    .await?;
                outcome.series += encoded.len() as u64;
                outcome.buckets += encoded.iter().map(|b| b.1 as u64).sum::<u64>();
                let (mut ids, mut buckets, mut points, mut data) = (vec![], vec![], vec![], vec![]);
                for (id, n, p, bytes) in encoded {
                    ids.push(id);
                    buckets.push(n);
                    points.push(p);
                    data.push(bytes);
                }
                insert_blocks(&mut tx, tables, day, &ids, &buckets, &points, &data).await?;
            }
            lo = hi.saturating_add(1);
        }
    }
    let (block_buckets, block_points): (i64, i64) = sqlx::query_as(tables.totals_blocks)
        .bind(day)
        .fetch_one(&mut *tx)
        .await?;
    // From rows alone the blocks hold exactly the rows; laid over older blocks, every
    // row's bucket is in them (a row replaces a bucket or adds one).
    let consistent = if give_up_rows {
        block_buckets >= rows_buckets
    } else {
        block_buckets == rows_buckets && block_points == rows_points
    };
    if !consistent {
        return Err(sqlx::Error::Protocol(format!(
            "rollup blocks of tier {} on {day} hold {block_buckets} buckets / {block_points} points, rows {rows_buckets} / {rows_points}; not compacted",
            tables.tier
        )));
    }
    if give_up_rows {
        outcome.rows_given_up = rows_buckets as u64;
        give_up(&mut tx, tables, day).await?;
        sqlx::query("UPDATE rollup_block_days SET has_rows = false WHERE tier = $1 AND day = $2")
            .bind(tables.tier)
            .bind(day)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query("INSERT INTO rollup_block_days (tier, day) VALUES ($1, $2)")
            .bind(tables.tier)
            .bind(day)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

async fn insert_blocks(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tables: TierTables,
    day: NaiveDate,
    ids: &[i64],
    buckets: &[i32],
    points: &[i64],
    data: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    let statement = if tables.tier == TIER_1H {
        "INSERT INTO rollup_1h_blocks (series_id, day, buckets, points, data)
         SELECT s, $2, b, p, d FROM unnest($1::bigint[], $3::int[], $4::bigint[], $5::bytea[]) AS t(s, b, p, d)"
    } else {
        "INSERT INTO rollup_1m_blocks (series_id, day, buckets, points, data)
         SELECT s, $2, b, p, d FROM unnest($1::bigint[], $3::int[], $4::bigint[], $5::bytea[]) AS t(s, b, p, d)"
    };
    sqlx::query(statement)
        .bind(ids)
        .bind(day)
        .bind(buckets)
        .bind(points)
        .bind(data)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes the day's rows now that the blocks hold them: the minute tier's partition
/// is the day itself and is truncated (no dead rows to vacuum); the hour tier's month
/// partition loses the day's rows.
async fn give_up(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tables: TierTables,
    day: NaiveDate,
) -> Result<(), sqlx::Error> {
    if tables.tier == TIER_1M {
        // Rebuilt from the date: the statement only ever names our own partitions.
        let name = tables.rows.partition_name(day);
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&name)
            .fetch_one(&mut **tx)
            .await?;
        if exists {
            sqlx::query(&format!("TRUNCATE {name}"))
                .execute(&mut **tx)
                .await?;
        }
    } else {
        sqlx::query("DELETE FROM rollup_1h WHERE bucket >= $1 AND bucket < $2")
            .bind(day_start(day))
            .bind(day_start(next_day(day)))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Forgets compacted days older than their tier's retention (retention drops the
/// block partitions themselves).
pub async fn forget_expired(
    pool: &PgPool,
    minute_cutoff: DateTime<Utc>,
    hour_cutoff: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut forgotten = 0;
    for (tier, cutoff) in [(TIER_1M, minute_cutoff), (TIER_1H, hour_cutoff)] {
        forgotten += sqlx::query("DELETE FROM rollup_block_days WHERE tier = $1 AND day < $2")
            .bind(tier)
            .bind(cutoff.date_naive())
            .execute(pool)
            .await?
            .rows_affected();
    }
    Ok(forgotten)
}

/// Bytes on disk (heap, TOAST, indexes) of the compressed rollup tiers, for
/// `vigil_storage_bytes{tier}`.
pub async fn storage_bytes(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.tier, COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint
         FROM (VALUES ('rollup_1m_blocks', 'rollup_1m_blocks'),
                      ('rollup_1h_blocks', 'rollup_1h_blocks')) AS t(tier, root)
         LEFT JOIN pg_partition_tree(t.root::regclass) p ON p.isleaf
         LEFT JOIN pg_class c ON c.oid = p.relid
         GROUP BY t.tier",
    )
    .fetch_all(pool)
    .await
}

/// Compacted days of either tier still holding rows: the merge backlog for `/metrics`.
pub async fn pending_days(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM rollup_block_days WHERE has_rows")
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranges_split_at_compacted_days() {
        let day0 = day_start(d("2026-11-30")).timestamp_millis();
        let range = TimeRange {
            start_ms: day0 + 3_600_000,
            end_ms: day0 + 3 * DAY_MS + 60_000,
        };
        let pieces = split_by_days(range, &[d("2026-12-01"), d("2026-12-02")]);
        assert_eq!(
            pieces,
            vec![
                (
                    TimeRange {
                        start_ms: range.start_ms,
                        end_ms: day0 + DAY_MS
                    },
                    false
                ),
                (
                    TimeRange {
                        start_ms: day0 + DAY_MS,
                        end_ms: day0 + 3 * DAY_MS
                    },
                    true
                ),
                (
                    TimeRange {
                        start_ms: day0 + 3 * DAY_MS,
                        end_ms: range.end_ms
                    },
                    false
                ),
            ]
        );
        assert_eq!(split_by_days(range, &[]), vec![(range, false)]);
        assert!(lock_key(TIER_1H, d("2026-12-01")) > lock_key(TIER_1M, d("2026-12-01")));
    }

    #[test]
    fn rows_a_block_already_holds_cause_no_rewrite() {
        let block = RollupBuckets {
            buckets_ms: vec![0, 60_000],
            partials: vec![Partial::of(1.0), Partial::of(2.0)],
        };
        let same = RollupBuckets {
            buckets_ms: vec![60_000],
            partials: vec![Partial::of(2.0)],
        };
        assert!(holds(&block, &same));
        assert!(holds(&block, &RollupBuckets::default()));
        let changed = RollupBuckets {
            buckets_ms: vec![60_000],
            partials: vec![Partial::of(-2.0)],
        };
        assert!(!holds(&block, &changed));
        let added = RollupBuckets {
            buckets_ms: vec![120_000],
            partials: vec![Partial::of(2.0)],
        };
        assert!(!holds(&block, &added));
        let day = [Partial::of(1.0), Partial::of(2.0)].to_vec();
        let rows = vec![(5, 0, 1.0, 1.0, 1.0, 1), (5, 60_000, 2.0, 2.0, 2.0, 1)];
        let old = vec![(
            5,
            rollup_codec::encode(
                &RollupBuckets {
                    buckets_ms: vec![0, 60_000],
                    partials: day,
                },
                4,
            )
            .unwrap(),
        )];
        let d = NaiveDate::default();
        assert!(encode_chunk(MINUTE_TABLES, rows.clone(), old, d, 4)
            .unwrap()
            .is_empty());
        assert_eq!(
            encode_chunk(MINUTE_TABLES, rows, Vec::new(), d, 4)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn stitched_rows_win_and_the_range_trims() {
        let day = RollupBuckets {
            buckets_ms: vec![0, 60_000, 120_000],
            partials: vec![Partial::of(1.0), Partial::of(2.0), Partial::of(3.0)],
        };
        let bytes = rollup_codec::encode(&day, 4).unwrap();
        let rows = vec![
            (
                7,
                None,
                Some(60_000),
                Some(5.0),
                Some(5.0),
                Some(5.0),
                Some(1),
            ),
            (7, Some(bytes), None, None, None, None, None),
            (3, None, Some(0), Some(9.0), Some(9.0), Some(9.0), Some(1)),
        ];
        let out = stitch(
            rows,
            TimeRange {
                start_ms: 0,
                end_ms: 120_000,
            },
            "rollup_1m_blocks",
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, 3);
        assert_eq!(out[1].0, 7);
        assert_eq!(out[1].1.buckets_ms, vec![0, 60_000]);
        assert_eq!(out[1].1.partials[1].sum, 5.0);
        let corrupt = vec![(1, Some(vec![1, 2, 3]), Some(DAY_MS), None, None, None, None)];
        let error = stitch(
            corrupt,
            TimeRange {
                start_ms: 0,
                end_ms: 3 * DAY_MS,
            },
            "rollup_1m_blocks",
        )
        .unwrap_err();
        assert!(crate::store::samples::is_corrupt_block(&error));
        assert!(
            error.to_string().contains(&format!(
                "series 1 in rollup_1m_blocks over [{DAY_MS}, {})",
                2 * DAY_MS
            )),
            "the block's day is named: {error}"
        );
    }
}
