//! Time partitions of the points and rollup tables. A write into a range with no
//! partition fails, so writers and the downsampler ask for the partitions of the
//! periods they touch before they write; known periods are remembered in memory, so
//! the common case costs a hash lookup. Retention drops whole partitions.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use sqlx::PgPool;

/// A partitioned table and the length of its partitions. Partition names are built
/// from dates by this code, never from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionedTable {
    /// `points`, one partition a day.
    Points,
    /// `rollup_1m`, one partition a day.
    Rollup1m,
    /// `rollup_1h`, one partition a month.
    Rollup1h,
    /// `points_blocks` (the compressed raw tier: day blocks), one partition a day.
    Blocks,
    /// `points_hour_blocks` (the compressed raw tier: hour blocks not merged into their
    /// day yet), one partition a day, dropped once the day is merged.
    HourBlocks,
    /// `rollup_1m_blocks` (the compressed minute tier), one partition a day.
    Rollup1mBlocks,
    /// `rollup_1h_blocks` (the compressed hour tier), one partition a month.
    Rollup1hBlocks,
}

impl PartitionedTable {
    pub const ALL: [PartitionedTable; 7] = [
        PartitionedTable::Points,
        PartitionedTable::Rollup1m,
        PartitionedTable::Rollup1h,
        PartitionedTable::Blocks,
        PartitionedTable::HourBlocks,
        PartitionedTable::Rollup1mBlocks,
        PartitionedTable::Rollup1hBlocks,
    ];

    pub fn parent(self) -> &'static str {
        match self {
            PartitionedTable::Points => "points",
            PartitionedTable::Rollup1m => "rollup_1m",
            PartitionedTable::Rollup1h => "rollup_1h",
            PartitionedTable::Blocks => "points_blocks",
            PartitionedTable::HourBlocks => "points_hour_blocks",
            PartitionedTable::Rollup1mBlocks => "rollup_1m_blocks",
            PartitionedTable::Rollup1hBlocks => "rollup_1h_blocks",
        }
    }

    fn monthly(self) -> bool {
        matches!(
            self,
            PartitionedTable::Rollup1h | PartitionedTable::Rollup1hBlocks
        )
    }

    /// First day of the partition that holds `day`.
    pub fn period_start(self, day: NaiveDate) -> NaiveDate {
        if self.monthly() {
            day.with_day(1).unwrap_or(day)
        } else {
            day
        }
    }

    /// First day after the partition that starts at `start`.
    pub fn period_end(self, start: NaiveDate) -> NaiveDate {
        if self.monthly() {
            start.checked_add_months(Months::new(1)).unwrap_or(start)
        } else {
            start.checked_add_days(Days::new(1)).unwrap_or(start)
        }
    }

    /// `points_p20261122`, `rollup_1m_p20261122`, `rollup_1h_p202611`.
    pub fn partition_name(self, start: NaiveDate) -> String {
        if self.monthly() {
            format!("{}_p{}", self.parent(), start.format("%Y%m"))
        } else {
            format!("{}_p{}", self.parent(), start.format("%Y%m%d"))
        }
    }

    /// The period start encoded in a partition name of this table, if it is one.
    pub fn parse_partition_name(self, name: &str) -> Option<NaiveDate> {
        let suffix = name.strip_prefix(self.parent())?.strip_prefix("_p")?;
        let start = if self.monthly() {
            NaiveDate::parse_from_str(&format!("{suffix}01"), "%Y%m%d").ok()?
        } else {
            NaiveDate::parse_from_str(suffix, "%Y%m%d").ok()?
        };
        (self.partition_name(start) == name).then_some(start)
    }
}

/// Remembers which partitions exist, shared by all writers of one process.
#[derive(Debug, Default)]
pub struct PartitionSet {
    known: Mutex<HashSet<(PartitionedTable, NaiveDate)>>,
}

/// Convenience for the points table (daily partitions).
pub fn partition_name(day: NaiveDate) -> String {
    PartitionedTable::Points.partition_name(day)
}

pub fn day_of(timestamp_ms: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(timestamp_ms)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

impl PartitionSet {
    /// Makes sure every day in `days` has its partition of `table`; returns how many
    /// were created.
    pub async fn ensure(
        &self,
        pool: &PgPool,
        table: PartitionedTable,
        days: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<usize, sqlx::Error> {
        let missing: Vec<NaiveDate> = {
            let known = self
                .known
                .lock()
                .expect("partition set lock is never poisoned");
            let mut missing: Vec<NaiveDate> = days
                .into_iter()
                .map(|d| table.period_start(d))
                .filter(|d| !known.contains(&(table, *d)))
                .collect();
            missing.sort();
            missing.dedup();
            missing
        };
        let mut created = 0;
        for start in missing {
            if create_partition(pool, table, start).await? {
                created += 1;
            }
            self.known
                .lock()
                .expect("partition set lock is never poisoned")
                .insert((table, start));
        }
        Ok(created)
    }

    /// Forgets a partition (after retention dropped it) so a late write recreates it.
    pub fn forget(&self, table: PartitionedTable, start: NaiveDate) {
        self.known
            .lock()
            .expect("partition set lock is never poisoned")
            .remove(&(table, start));
    }
}

/// Creates one partition if it is missing. Returns whether it was created.
async fn create_partition(
    pool: &PgPool,
    table: PartitionedTable,
    start: NaiveDate,
) -> Result<bool, sqlx::Error> {
    let name = table.partition_name(start);
    let end = table.period_end(start);
    let mut tx = pool.begin().await?;
    // Concurrent CREATE ... IF NOT EXISTS of the same partition can still fail on the
    // catalog's unique index; every instance serialises on this lock.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('vigil.partitions'))")
        .execute(&mut *tx)
        .await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        let parent = table.parent();
        if table == PartitionedTable::Points {
            create_hourly_points_partition(&mut tx, start).await?;
        } else {
            let statement = format!(
                "CREATE TABLE {name} PARTITION OF {parent} FOR VALUES FROM ('{start}') TO ('{end}')"
            );
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        tracing::info!(partition = %name, "Created a partition.");
    }
    tx.commit().await?;
    Ok(!exists)
}

const HOUR_MS: i64 = 3_600_000;

/// A `points` day partition, itself partitioned by hour: each hour is a raw range the
/// compactor turns into blocks and then drops, so uncompressed rows only ever cover
/// the hours not compacted yet. The ranges are registered (state raw) in the same
/// transaction, so a writer that finds the partition also finds the range's state.
async fn create_hourly_points_partition(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    start: NaiveDate,
) -> Result<(), sqlx::Error> {
    let name = PartitionedTable::Points.partition_name(start);
    let end = PartitionedTable::Points.period_end(start);
    sqlx::query(&format!(
        "CREATE TABLE {name} PARTITION OF points FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00') PARTITION BY RANGE (time)"
    ))
    .execute(&mut **tx)
    .await?;
    let day_ms = start
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default();
    for hour in 0..24 {
        let from = day_ms + hour * HOUR_MS;
        let leaf = hour_partition_name(from);
        let (a, b) = (literal(from), literal(from + HOUR_MS));
        sqlx::query(&format!(
            "CREATE TABLE {leaf} PARTITION OF {name} FOR VALUES FROM ('{a}') TO ('{b}')"
        ))
        .execute(&mut **tx)
        .await?;
    }
    let starts: Vec<DateTime<Utc>> = (0..24)
        .filter_map(|h| DateTime::from_timestamp_millis(day_ms + h * HOUR_MS))
        .collect();
    sqlx::query(
        "INSERT INTO compaction_ranges (range_start, range_end)
         SELECT s, s + interval '1 hour' FROM unnest($1::timestamptz[]) AS s
         ON CONFLICT DO NOTHING",
    )
    .bind(&starts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn literal(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S+00")
        .to_string()
}

/// `points_p20261122_h05`: the raw partition of one hour.
pub fn hour_partition_name(hour_start_ms: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_millis(hour_start_ms).unwrap_or_default();
    format!("points_p{}", t.format("%Y%m%d_h%H"))
}

/// The partition holding exactly the raw range `[start_ms, end_ms)`: an hour leaf, or
/// a whole (unpartitioned) day from before hourly partitions. Names are built from the
/// times here, never from input.
pub fn raw_range_partition(start_ms: i64, end_ms: i64) -> Option<String> {
    match end_ms - start_ms {
        HOUR_MS => Some(hour_partition_name(start_ms)),
        d if d == 24 * HOUR_MS => Some(partition_name(day_of(start_ms))),
        _ => None,
    }
}

/// Drops the raw partition of a compacted range (its rows live in blocks now), unless
/// it is already gone. The hour is detached from its day concurrently first (see
/// [`detach_and_drop`]), so neither ingest nor reads queue behind the drop; `timeout`
/// bounds how long the detach waits for the reads that began before it.
pub async fn drop_raw_range(
    pool: &PgPool,
    start_ms: i64,
    end_ms: i64,
    timeout: std::time::Duration,
) -> Result<bool, sqlx::Error> {
    let Some(name) = raw_range_partition(start_ms, end_ms) else {
        return Ok(false);
    };
    let parent = if end_ms - start_ms == HOUR_MS {
        partition_name(day_of(start_ms))
    } else {
        PartitionedTable::Points.parent().to_string()
    };
    detach_and_drop(pool, &parent, &name, timeout).await?;
    Ok(true)
}

/// Drops the hour-block partition of `day` once the day is merged into day blocks:
/// every row in it is dead then, and dropping it is what gives its space back.
/// Concurrently, as [`drop_raw_range`], so no read queues behind it.
pub async fn drop_hour_blocks(
    pool: &PgPool,
    day: NaiveDate,
    timeout: std::time::Duration,
) -> Result<(), sqlx::Error> {
    let table = PartitionedTable::HourBlocks;
    detach_and_drop(pool, table.parent(), &table.partition_name(day), timeout).await
}

/// Drops partition `name` of `parent` without ever holding a lock that readers or
/// writers of `parent` wait for. A plain `DROP TABLE` of a partition takes the parent's
/// ACCESS EXCLUSIVE lock: it queues behind every running read, and every later COPY
/// and query then queues behind it, so one long read stalls ingest for its length.
/// `DETACH PARTITION ... CONCURRENTLY` takes SHARE UPDATE EXCLUSIVE (which conflicts
/// with neither), waits for the transactions that may still see the partition, and
/// leaves a table nobody reads, dropped then. A detach cut short by `timeout` or a
/// crash stays pending in the catalog and is finalised by the next call. Names are
/// built by the caller from times, never from input.
async fn detach_and_drop(
    pool: &PgPool,
    parent: &str,
    name: &str,
    timeout: std::time::Duration,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let result = async {
        // DETACH ... CONCURRENTLY cannot run in a transaction, so the timeout is the
        // session's for the time of this call.
        sqlx::query("SELECT set_config('statement_timeout', $1, false)")
            .bind(format!("{}", timeout.as_millis().max(1)))
            .execute(&mut *conn)
            .await?;
        let attached: Option<bool> = sqlx::query_scalar(
            "SELECT i.inhdetachpending FROM pg_inherits i
             WHERE i.inhrelid = to_regclass($1) AND i.inhparent = to_regclass($2)",
        )
        .bind(name)
        .bind(parent)
        .fetch_optional(&mut *conn)
        .await?;
        match attached {
            Some(true) => {
                sqlx::raw_sql(&format!(
                    "ALTER TABLE {parent} DETACH PARTITION {name} FINALIZE"
                ))
                .execute(&mut *conn)
                .await?;
            }
            Some(false) => {
                sqlx::raw_sql(&format!(
                    "ALTER TABLE {parent} DETACH PARTITION {name} CONCURRENTLY"
                ))
                .execute(&mut *conn)
                .await?;
            }
            None => {}
        }
        sqlx::raw_sql(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *conn)
            .await?;
        sqlx::raw_sql("RESET statement_timeout")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        // Its session may still carry the timeout: never hand it to another caller.
        conn.close_on_drop();
    }
    result
}

/// Partitions of `table` as `(name, period start)`, oldest first.
pub async fn list_partitions(
    pool: &PgPool,
    table: PartitionedTable,
) -> Result<Vec<(String, NaiveDate)>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname = $1",
    )
    .bind(table.parent())
    .fetch_all(pool)
    .await?;
    let mut parsed: Vec<(String, NaiveDate)> = names
        .into_iter()
        .filter_map(|n| table.parse_partition_name(&n).map(|d| (n, d)))
        .collect();
    parsed.sort_by_key(|(_, d)| *d);
    Ok(parsed)
}

/// Drops the partitions of `table` whose whole period ended on or before `cutoff`
/// (a partition holding any unexpired data is kept). Returns the dropped names.
pub async fn drop_expired(
    pool: &PgPool,
    set: &PartitionSet,
    table: PartitionedTable,
    cutoff: DateTime<Utc>,
    timeout: std::time::Duration,
) -> Result<Vec<String>, sqlx::Error> {
    let cutoff_day = cutoff.date_naive();
    let mut dropped = Vec::new();
    for (_, start) in list_partitions(pool, table).await? {
        if table.period_end(start) > cutoff_day {
            continue;
        }
        // Rebuilt from the parsed date: the statement only ever names our own partitions.
        let name = table.partition_name(start);
        detach_and_drop(pool, table.parent(), &name, timeout).await?;
        set.forget(table, start);
        tracing::info!(partition = %name, "Dropped an expired partition.");
        dropped.push(name);
    }
    Ok(dropped)
}

/// Days from today to `ahead` days later: the partitions kept ready in advance.
pub fn days_ahead(now: DateTime<Utc>, ahead: u32) -> Vec<NaiveDate> {
    let today = now.date_naive();
    (0..=ahead as u64)
        .filter_map(|i| today.checked_add_days(Days::new(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_days() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(partition_name(day), "points_p20261122");
        assert_eq!(
            day_of(1_795_305_600_000 - 1),
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
        );
        assert_eq!(day_of(1_795_305_600_000), day);
        let now = DateTime::<Utc>::from_timestamp_millis(1_795_305_600_000).unwrap();
        assert_eq!(days_ahead(now, 2).len(), 3);
    }

    #[test]
    fn monthly_partitions_of_the_hour_tier() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let table = PartitionedTable::Rollup1h;
        let start = table.period_start(day);
        assert_eq!(start, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(
            table.period_end(start),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(table.partition_name(start), "rollup_1h_p202611");
        assert_eq!(table.parse_partition_name("rollup_1h_p202611"), Some(start));
        assert_eq!(
            PartitionedTable::Rollup1m.parse_partition_name("rollup_1m_p20261122"),
            Some(day)
        );
        assert_eq!(
            PartitionedTable::Points.parse_partition_name("points_p2026112"),
            None
        );
        assert_eq!(
            PartitionedTable::Points.parse_partition_name("points_blocks_p20261122"),
            None
        );
        assert_eq!(
            PartitionedTable::Blocks.parse_partition_name("points_blocks_p20261122"),
            Some(day)
        );
        assert_eq!(
            hour_partition_name(1_795_305_600_000 + 5 * HOUR_MS),
            "points_p20261122_h05"
        );
        assert_eq!(
            raw_range_partition(1_795_305_600_000, 1_795_305_600_000 + 24 * HOUR_MS).as_deref(),
            Some("points_p20261122")
        );
        assert_eq!(
            PartitionedTable::Points.parse_partition_name("points_p20261122; DROP"),
            None
        );
    }
}
