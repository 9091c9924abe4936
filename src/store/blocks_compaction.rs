//! The compactor's statements: raw ranges become verified pco blocks, late points and
//! hour blocks are merged into day blocks. Every step is one transaction, so a crash at
//! any moment leaves either the raw rows or the verified blocks as the truth, and a
//! rerun of the same step does the same thing again (idempotent).
//!
//! 1. `begin_compacting`: raw -> compacting under the range's exclusive advisory lock
//!    (writers hold it shared while they COPY; see `points::compaction_barrier`). From
//!    then on the range's raw rows are frozen and new points go to `points_late`.
//! 2. `compact_range`: stream the frozen rows out with binary COPY (while a second
//!    connection counts and sums them in SQL), encode the series on the blocking pool
//!    in `encode_tasks` parallel shares (every block decoded again and compared bit for
//!    bit), check the blocks' point count and sum against both the rows read and the
//!    SQL figures, then in one transaction COPY the blocks in and flip the range to
//!    compacted. Readers switch from the rows to the blocks at that commit.
//! 3. `drop_compacted_raw`: a little later, drop the raw partition.
//! 4. `rewrite_blocks`: late points of a compacted range, or the hour blocks of a fully
//!    compacted day, are merged (decode, merge, encode) into one block per series.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sqlx::postgres::PgPoolCopyExt;
use sqlx::PgPool;

use crate::store::blocks;
use crate::store::copy_binary::{
    BlockCopyWriter, BlockRow, CopyFormatError, RawRowParser, COPY_BLOCKS_IN, COPY_HOUR_BLOCKS_IN,
};
use crate::store::partitions::PartitionedTable;
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

/// What one step did, and for a compaction where its time went (wall clock).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    pub points: u64,
    pub blocks: u64,
    /// Streaming and grouping the raw rows (the SQL check runs alongside).
    pub read: Duration,
    /// Sorting where needed, encoding and verifying every block.
    pub encode: Duration,
    /// The transaction: blocks COPYed in, the range flipped, the commit.
    pub write: Duration,
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

/// How `compact_range` spends the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactOptions {
    /// pco compression level.
    pub level: usize,
    /// Encoding tasks run at once on the blocking pool, each a share of the series.
    pub encode_tasks: usize,
    /// Raw points read per second at most (0: as fast as PostgreSQL sends them).
    pub points_per_second: u64,
}

impl CompactOptions {
    /// One encoding task, no budget: the figures of a single core.
    pub fn level(level: usize) -> Self {
        CompactOptions {
            level,
            encode_tasks: 1,
            points_per_second: 0,
        }
    }
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

/// The table a block of `[start_ms, end_ms)` is written to: blocks spanning a whole day
/// go to `points_blocks`, shorter ones (hour blocks, with or without late points merged
/// in) to `points_hour_blocks`. Blocks shorter than a day written before the hour
/// table existed stay in `points_blocks` until their day is merged.
pub fn block_table(start_ms: i64, end_ms: i64) -> &'static str {
    if end_ms - start_ms >= DAY_MS {
        PartitionedTable::Blocks.parent()
    } else {
        PartitionedTable::HourBlocks.parent()
    }
}

/// Writes `built`, each block into its [`block_table`].
async fn insert_blocks(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    built: &[NewBlock],
) -> Result<(), sqlx::Error> {
    let (days, hours): (Vec<&NewBlock>, Vec<&NewBlock>) = built
        .iter()
        .partition(|b| block_table(b.start_ms, b.end_ms) == PartitionedTable::Blocks.parent());
    copy_blocks_in(tx, COPY_BLOCKS_IN, &days).await?;
    copy_blocks_in(tx, COPY_HOUR_BLOCKS_IN, &hours).await
}

async fn copy_blocks_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    statement: &str,
    built: &[&NewBlock],
) -> Result<(), sqlx::Error> {
    if built.is_empty() {
        return Ok(());
    }
    let bytes: usize = built
        .iter()
        .map(|b| b.encoded.times.len() + b.encoded.values.len() + 120)
        .sum();
    let mut writer = BlockCopyWriter::with_capacity(bytes);
    for b in built {
        writer.push(&BlockRow {
            series_id: b.series_id,
            range_start_us: b.start_ms * 1000,
            range_end_us: b.end_ms * 1000,
            min_time_us: b.min_time_us,
            max_time_us: b.max_time_us,
            count: b.count,
            min: b.min,
            max: b.max,
            sum: b.sum,
            times: &b.encoded.times,
            vals: &b.encoded.values,
        });
    }
    let mut copy = tx.copy_in_raw(statement).await?;
    copy.send(writer.finish()).await?;
    copy.finish().await?;
    Ok(())
}

/// series id, range start and end (ms), count, timestamps column, values column.
type StoredBlock = (i64, i64, i64, i32, Vec<u8>, Vec<u8>);

/// One series' samples as read: timestamps in µs and values, in arrival order.
#[derive(Default)]
struct SeriesRows {
    times: Vec<i64>,
    values: Vec<f64>,
}

/// Raw rows grouped per series as they stream in. The rows come in heap order (no
/// ORDER BY: sorting a range's rows cost PostgreSQL more than everything else the
/// compaction does), so a series is complete only at the end of the stream.
#[derive(Default)]
struct Grouper {
    index: HashMap<i64, usize>,
    series: Vec<(i64, SeriesRows)>,
    /// The last series seen: ingest writes a series' points of a batch together.
    last: Option<(i64, usize)>,
    points: u64,
    sum: f64,
}

impl Grouper {
    fn push(&mut self, series_id: i64, time_us: i64, value: f64) {
        let slot = match self.last {
            Some((id, slot)) if id == series_id => slot,
            _ => {
                let next = self.series.len();
                let slot = *self.index.entry(series_id).or_insert(next);
                if slot == next {
                    self.series.push((series_id, SeriesRows::default()));
                }
                self.last = Some((series_id, slot));
                slot
            }
        };
        let rows = &mut self.series[slot].1;
        rows.times.push(time_us);
        rows.values.push(value);
        self.points += 1;
        self.sum += value;
    }

    /// The series in id order, cut into at most `parts` runs of about equal points.
    fn into_parts(self, parts: usize) -> Vec<Vec<(i64, SeriesRows)>> {
        let mut series = self.series;
        series.sort_unstable_by_key(|s| s.0);
        let share = (self.points as usize).div_ceil(parts.max(1)).max(1);
        let mut out = Vec::with_capacity(parts);
        let mut current = Vec::new();
        let mut filled = 0;
        for s in series {
            filled += s.1.times.len();
            current.push(s);
            if filled >= share {
                out.push(std::mem::take(&mut current));
                filled = 0;
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }
}

/// Sorts one series by time (value bits breaking ties), unless it is in time order
/// already, as rows mostly arrive.
fn sort_series(rows: SeriesRows) -> (Vec<i64>, Vec<f64>) {
    let sorted = rows.times.windows(2).all(|w| w[0] <= w[1]);
    if sorted {
        return (rows.times, rows.values);
    }
    let mut pairs: Vec<(i64, f64)> = rows.times.into_iter().zip(rows.values).collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.to_bits().cmp(&b.1.to_bits())));
    pairs.into_iter().unzip()
}

fn encode_part(
    part: Vec<(i64, SeriesRows)>,
    span: (i64, i64),
    level: usize,
) -> Result<Vec<NewBlock>, sqlx::Error> {
    part.into_iter()
        .filter(|(_, rows)| !rows.times.is_empty())
        .map(|(id, rows)| {
            let (t, v) = sort_series(rows);
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

/// The statement streaming a range's raw rows. COPY takes no parameters: the bounds
/// are literals formatted here from the range's times, never from input.
fn copy_raw_out(range: RawRange) -> String {
    format!(
        "COPY (SELECT series_id, time, value FROM points WHERE time >= '{}' AND time < '{}') \
         TO STDOUT (FORMAT binary)",
        literal(range.start_ms),
        literal(range.end_ms)
    )
}

fn literal(ms: i64) -> String {
    time(ms).format("%Y-%m-%d %H:%M:%S%.3f+00").to_string()
}

/// Streams the range's raw rows into a [`Grouper`] on the blocking pool (the parse
/// is CPU work), pacing the stream to `points_per_second` when set. Pausing the read
/// pauses the PostgreSQL backend too: it blocks on the full socket.
async fn read_range(
    pool: &PgPool,
    range: RawRange,
    points_per_second: u64,
) -> Result<Grouper, sqlx::Error> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(READ_BUFFERS_IN_FLIGHT);
    let parse = tokio::task::spawn_blocking(move || {
        let mut parser = RawRowParser::new();
        let mut grouper = Grouper::default();
        while let Some(chunk) = receiver.blocking_recv() {
            parser.feed(&chunk, |id, t, v| grouper.push(id, t, v))?;
        }
        parser.finish()?;
        Ok::<_, CopyFormatError>(grouper)
    });
    let started = Instant::now();
    let mut stream = pool.copy_out_raw(&copy_raw_out(range)).await?;
    let mut bytes_read = 0usize;
    let mut sent = Ok(());
    // PostgreSQL sends one message per row: gathered into buffers of READ_BUFFER_BYTES,
    // the parser is woken once per ~1,700 rows instead of for every one.
    let mut buffer = Vec::with_capacity(READ_BUFFER_BYTES);
    loop {
        let next = stream.next().await.transpose()?;
        if let Some(chunk) = &next {
            buffer.extend_from_slice(chunk);
            if buffer.len() < READ_BUFFER_BYTES {
                continue;
            }
        }
        bytes_read += buffer.len();
        let full = std::mem::replace(&mut buffer, Vec::with_capacity(READ_BUFFER_BYTES));
        if sender.send(full).await.is_err() {
            // The parser stopped on bad input: its error says why.
            sent = Err(());
            break;
        }
        if next.is_none() {
            break;
        }
        if points_per_second > 0 {
            let points = (bytes_read / RAW_TUPLE_BYTES) as f64;
            let due = Duration::from_secs_f64(points / points_per_second as f64);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(ahead).await;
            }
        }
    }
    drop(stream);
    drop(sender);
    let parsed = parse
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("raw row parser task failed: {e}")))?;
    match (parsed, sent) {
        (Ok(grouper), Ok(())) => Ok(grouper),
        (Err(e), _) => Err(sqlx::Error::Protocol(format!(
            "raw rows of [{}, {}): {e}",
            range.start_ms, range.end_ms
        ))),
        (Ok(_), Err(())) => Err(sqlx::Error::Protocol("raw row parser stopped early".into())),
    }
}

/// Bytes of a raw binary COPY tuple of `(int8, timestamptz, float8)`.
const RAW_TUPLE_BYTES: usize = 38;
/// Bytes of rows handed to the parser at a time.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Buffers between the socket and the parser: enough to keep both busy.
const READ_BUFFERS_IN_FLIGHT: usize = 8;

/// Compacts one range that is in state compacting: blocks in, range flipped, in one
/// transaction. Returns the points and blocks written and where the time went.
///
/// The rows are frozen (no writer can add to a compacting range), so reading them
/// outside the writing transaction is safe, and so is counting and summing them in
/// SQL on a second connection while they stream in: the check reads the table
/// independently of the COPY parser, at the cost of a scan that runs on the other
/// core, and it keeps the writing transaction short.
pub async fn compact_range(
    pool: &PgPool,
    range: RawRange,
    options: CompactOptions,
) -> Result<StepOutcome, sqlx::Error> {
    let (start, end) = (time(range.start_ms), time(range.end_ms));
    let started = Instant::now();
    let check = async {
        sqlx::query_as::<_, (i64, Option<f64>)>(
            "SELECT count(*), sum(value) FROM points WHERE time >= $1 AND time < $2",
        )
        .bind(start)
        .bind(end)
        .fetch_one(pool)
        .await
    };
    let (grouper, (raw_count, raw_sql_sum)) =
        tokio::try_join!(read_range(pool, range, options.points_per_second), check)?;
    let read = started.elapsed();
    let (points, raw_sum) = (grouper.points, grouper.sum);
    let span = (range.start_ms, range.end_ms);
    let tasks: Vec<_> = grouper
        .into_parts(options.encode_tasks)
        .into_iter()
        .map(|part| on_blocking(move || encode_part(part, span, options.level)))
        .collect();
    let mut built = Vec::new();
    for part in futures_util::future::try_join_all(tasks).await? {
        built.extend(part);
    }
    let encoded = started.elapsed();

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
    // A rerun after a crash finds no blocks of this range (they commit with the flip),
    // but delete anyway so a rerun can never double a range.
    for statement in [
        "DELETE FROM points_hour_blocks WHERE range_start = $1 AND range_end = $2",
        "DELETE FROM points_blocks WHERE range_start = $1 AND range_end = $2",
    ] {
        sqlx::query(statement)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await?;
    }
    insert_blocks(&mut tx, &built).await?;
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
        read,
        encode: encoded - read,
        write: started.elapsed() - encoded,
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
         WHERE EXISTS (SELECT 1 FROM points_hour_blocks b
                       WHERE b.range_start >= days.d AND b.range_start < days.d + interval '1 day')
            OR EXISTS (SELECT 1 FROM points_blocks b
                       WHERE b.range_start >= days.d AND b.range_start < days.d + interval '1 day'
                         AND b.range_end - b.range_start < interval '1 day')
         ORDER BY 1 LIMIT $2",
    )
    .bind(time(before_ms))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Days (start ms) ended before `before_ms` whose ranges are all compacted, that still
/// have an hour-block partition but no live hour block in it: merged, so the partition
/// can go. Partition names are listed from the catalog and parsed back into days.
pub async fn merged_hour_block_days(
    pool: &PgPool,
    before_ms: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let table = PartitionedTable::HourBlocks;
    let mut days = Vec::new();
    for (_, day) in crate::store::partitions::list_partitions(pool, table).await? {
        let Some(day_ms) = day
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
        else {
            continue;
        };
        let merged: bool = sqlx::query_scalar(
            "SELECT $2 <= $3
                AND NOT EXISTS (SELECT 1 FROM compaction_ranges
                                WHERE range_start >= $1 AND range_start < $2 AND state <> 'compacted')
                AND NOT EXISTS (SELECT 1 FROM points_hour_blocks
                                WHERE range_start >= $1 AND range_start < $2)",
        )
        .bind(time(day_ms))
        .bind(time(day_ms + DAY_MS))
        .bind(time(before_ms))
        .fetch_one(pool)
        .await?;
        if merged {
            days.push(day_ms);
        }
    }
    Ok(days)
}

/// Series of `day` that still have blocks shorter than the day, up to `limit`.
pub async fn series_to_merge(
    pool: &PgPool,
    day_ms: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT series_id FROM points_hour_blocks
         WHERE range_start >= $1 AND range_start < $1 + interval '1 day'
         UNION
         SELECT series_id FROM points_blocks
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
    let old: Vec<StoredBlock> = sqlx::query_as(
        "WITH days AS (
             DELETE FROM points_blocks
             WHERE series_id = ANY($1) AND range_start < $3 AND range_end > $2
               AND range_start > $2 - interval '1 day'
             RETURNING series_id, range_start, range_end, count, times, vals),
         hours AS (
             DELETE FROM points_hour_blocks
             WHERE series_id = ANY($1) AND range_start < $3 AND range_end > $2
               AND range_start > $2 - interval '1 day'
             RETURNING series_id, range_start, range_end, count, times, vals)
         SELECT series_id, (extract(epoch FROM range_start) * 1000)::bigint,
                (extract(epoch FROM range_end) * 1000)::bigint, count, times, vals
         FROM (SELECT * FROM days UNION ALL SELECT * FROM hours) b",
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
        ..StepOutcome::default()
    })
}

fn merge_blocks(
    target: (i64, i64),
    old: Vec<StoredBlock>,
    late: Vec<(i64, DateTime<Utc>, f64)>,
    level: usize,
) -> Result<Vec<NewBlock>, sqlx::Error> {
    let mut points: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    let mut spans: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (series_id, start_ms, end_ms, _, times, vals) in old {
        let (t, v) = blocks::decode(&times, &vals).map_err(|cause| {
            report_corrupt(CorruptBlock {
                table: block_table(start_ms, end_ms),
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
         FROM (VALUES ('raw', 'points'), ('blocks', 'points_blocks'),
                      ('blocks', 'points_hour_blocks'), ('late', 'points_late'),
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
