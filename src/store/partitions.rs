//! Daily partitions of `points`. A COPY into a range with no partition fails, so the
//! writer asks for the partitions of a batch's days before it writes; known days are
//! remembered in memory, so the common case costs a hash lookup.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::PgPool;

/// Remembers which day partitions exist, shared by all writers of one process.
#[derive(Debug, Default)]
pub struct PartitionSet {
    known: Mutex<HashSet<NaiveDate>>,
}

/// The partition name for a day: built from a date, never from user input.
pub fn partition_name(day: NaiveDate) -> String {
    format!("points_p{}", day.format("%Y%m%d"))
}

pub fn day_of(timestamp_ms: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(timestamp_ms)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

impl PartitionSet {
    /// Makes sure every day in `days` has its partition; returns how many were created.
    pub async fn ensure(&self, pool: &PgPool, days: impl IntoIterator<Item = NaiveDate>) -> Result<usize, sqlx::Error> {
        let missing: Vec<NaiveDate> = {
            let known = self.known.lock().expect("partition set lock is never poisoned");
            let mut missing: Vec<NaiveDate> = days.into_iter().filter(|d| !known.contains(d)).collect();
            missing.sort();
            missing.dedup();
            missing
        };
        let mut created = 0;
        for day in missing {
            if create_partition(pool, day).await? {
                created += 1;
            }
            self.known.lock().expect("partition set lock is never poisoned").insert(day);
        }
        Ok(created)
    }

    /// Forgets a day (after retention dropped it) so a late write recreates it.
    pub fn forget(&self, day: NaiveDate) {
        self.known.lock().expect("partition set lock is never poisoned").remove(&day);
    }
}

/// Creates one day's partition if it is missing. Returns whether it was created.
async fn create_partition(pool: &PgPool, day: NaiveDate) -> Result<bool, sqlx::Error> {
    let name = partition_name(day);
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let mut tx = pool.begin().await?;
    // Concurrent CREATE ... IF NOT EXISTS of the same partition can still fail on the
    // catalog's unique index; writers of every instance serialise on this lock.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('vigil.points.partitions'))")
        .execute(&mut *tx)
        .await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        let statement = format!(
            "CREATE TABLE {name} PARTITION OF points FOR VALUES FROM ('{day}') TO ('{next}')"
        );
        sqlx::query(&statement).execute(&mut *tx).await?;
        tracing::info!(partition = %name, "Created a points partition.");
    }
    tx.commit().await?;
    Ok(!exists)
}

/// Days from today to `ahead` days later: the partitions kept ready in advance.
pub fn days_ahead(now: DateTime<Utc>, ahead: u32) -> Vec<NaiveDate> {
    let today = now.date_naive();
    (0..=ahead as u64).filter_map(|i| today.checked_add_days(Days::new(i))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_days() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(partition_name(day), "points_p20261122");
        assert_eq!(day_of(1_795_305_600_000 - 1), NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        assert_eq!(day_of(1_795_305_600_000), day);
        let now = DateTime::<Utc>::from_timestamp_millis(1_795_305_600_000).unwrap();
        assert_eq!(days_ahead(now, 2).len(), 3);
    }
}
