//! What Vigil asks of PostgreSQL about its own upkeep: whether autovacuum runs, how
//! many dead rows the tables Vigil churns hold, VACUUM of one of them, and the
//! summaries of the BRIN indexes Vigil's reads rely on.
//!
//! Table names reach SQL only from [`CHURNED_TABLES`] (a fixed list in code) and from
//! PostgreSQL's own catalogue (the leaf partitions of those tables), and are checked
//! to be plain identifiers before they are quoted into a statement.

use std::time::Duration;

use sqlx::PgPool;

/// The tables Vigil's actors update or delete from, i.e. every table that collects
/// dead rows: rollup recomputes (delete + insert), the dirty-minute log, the raw
/// tier's late points and compaction ranges, the redelivery-dedup record, the query
/// cache generations, the notification outbox, alert state, sessions and tokens,
/// and the dashboards and users edited through the API. `points` and `series` are
/// insert-only (expired data goes by dropping partitions) and are not listed.
/// Partitioned tables stand for all their leaf partitions.
pub const CHURNED_TABLES: &[&str] = &[
    "rollup_1m",
    "rollup_1h",
    "rollup_dirty",
    "points_late",
    "points_blocks",
    "points_hour_blocks",
    "compaction_ranges",
    "ingest_batches",
    "query_generations",
    "metric_definitions",
    "notification_outbox",
    "alert_rules",
    "alert_instances",
    "alert_leases",
    "alert_silences",
    "sessions",
    "api_tokens",
    "users",
    "dashboards",
    "panels",
];

/// The server's `autovacuum` setting (a table may still opt out on its own).
pub async fn autovacuum_enabled(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let setting: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await?;
    Ok(setting == "on")
}

/// Dead and live row counts of one heap table, as the statistics system has them.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    /// The table itself (a leaf partition for partitioned tables).
    pub table: String,
    /// The listed table it belongs to.
    pub parent: String,
    pub live: i64,
    pub dead: i64,
}

/// Row counts of every [`CHURNED_TABLES`] table and of every leaf partition under
/// one, in the current schema.
pub async fn churned_table_rows(pool: &PgPool) -> Result<Vec<TableRows>, sqlx::Error> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "WITH RECURSIVE tree(relid, root) AS (
             SELECT c.oid, c.relname::text FROM pg_class c
             WHERE c.relname = ANY($1) AND c.relnamespace = current_schema()::regnamespace
             UNION ALL
             SELECT i.inhrelid, tree.root FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid)
         SELECT s.relname::text, tree.root, s.n_live_tup, s.n_dead_tup
         FROM tree
         JOIN pg_class c ON c.oid = tree.relid AND c.relkind = 'r'
         JOIN pg_stat_user_tables s ON s.relid = tree.relid
         ORDER BY s.n_dead_tup DESC",
    )
    .bind(CHURNED_TABLES)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, parent, live, dead)| TableRows {
            table,
            parent,
            live,
            dead,
        })
        .collect())
}

/// A name Vigil created itself: lower-case letters, digits and underscores.
fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[derive(Debug, thiserror::Error)]
pub enum VacuumError {
    #[error("{0:?} is not a table name Vigil creates")]
    NotATable(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Plain `VACUUM` (never FULL: it takes no lock that blocks reads or writes) of one
/// table, skipped when another session holds a conflicting lock (a partition being
/// dropped, a running autovacuum). VACUUM cannot run inside a transaction, so it runs
/// alone on a pooled connection, in the simple protocol, with `timeout` as its
/// statement timeout.
pub async fn vacuum(pool: &PgPool, table: &str, timeout: Duration) -> Result<(), VacuumError> {
    if !is_plain_identifier(table) {
        return Err(VacuumError::NotATable(table.to_string()));
    }
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT set_config('statement_timeout', $1, false)")
        .bind(timeout.as_millis().to_string())
        .execute(&mut *conn)
        .await?;
    let vacuumed = sqlx::raw_sql(&format!("VACUUM (SKIP_LOCKED) \"{table}\""))
        .execute(&mut *conn)
        .await;
    // The connection goes back to the pool: leave it with the server's timeout.
    let reset = sqlx::raw_sql("RESET statement_timeout")
        .execute(&mut *conn)
        .await;
    if reset.is_err() {
        conn.close_on_drop();
    }
    vacuumed?;
    Ok(())
}

/// Every BRIN index in Vigil's schema (leaf partition indexes only: a partitioned
/// index has no ranges of its own).
pub async fn brin_indexes(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam
         WHERE c.relkind = 'i' AND a.amname = 'brin'
           AND c.relnamespace = current_schema()::regnamespace
         ORDER BY c.relname",
    )
    .fetch_all(pool)
    .await
}

/// Summarises the block ranges of one BRIN index written since its last summary;
/// answers how many it summarised. Without this (and with autovacuum off, which is
/// what runs autosummarize) an unsummarised range matches every condition, so a read
/// of a few recent seconds scans whole partitions. Waits at most `lock_timeout` for
/// the table's lock.
pub async fn summarize_brin(
    pool: &PgPool,
    index: &str,
    lock_timeout: Duration,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(lock_timeout.as_millis().to_string())
        .execute(&mut *tx)
        .await?;
    let summarized: i64 = sqlx::query_scalar(
        "SELECT brin_summarize_new_values(c.oid)::bigint FROM pg_class c
         WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
    )
    .bind(index)
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(0);
    tx.commit().await?;
    Ok(summarized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_reach_a_statement() {
        assert!(is_plain_identifier("rollup_1m_p20261202"));
        assert!(!is_plain_identifier("rollup_1m\"; DROP TABLE series; --"));
        assert!(!is_plain_identifier("Rollup"));
        assert!(!is_plain_identifier(""));
    }

    #[test]
    fn listed_tables_are_plain_identifiers() {
        assert!(CHURNED_TABLES.iter().all(|t| is_plain_identifier(t)));
    }
}
