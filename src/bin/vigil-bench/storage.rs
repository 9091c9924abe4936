//! `storage`: what the points cost on disk. Sizes are `pg_total_relation_size` (heap,
//! TOAST, free-space and visibility maps, indexes) summed over the partitions of
//! `points`, divided by `count(*)`.

use serde::Serialize;
use sqlx::PgPool;

use crate::client;

#[derive(Debug, Default, Serialize)]
pub struct StorageReport {
    pub points: i64,
    pub series: i64,
    pub partitions: Vec<PartitionSize>,
    pub total_bytes: i64,
    pub heap_bytes: i64,
    pub index_bytes: i64,
    pub bytes_per_point: f64,
    pub heap_bytes_per_point: f64,
    pub index_bytes_per_point: f64,
    /// Other tables of the database over 1 MB (rollups, series, ...), for scale.
    pub other_tables: Vec<(String, i64)>,
    pub database_bytes: i64,
}

#[derive(Debug, Default, Serialize)]
pub struct PartitionSize {
    pub name: String,
    pub rows: i64,
    pub total_bytes: i64,
    pub heap_bytes: i64,
    pub index_bytes: i64,
}

pub async fn run(database_url: &str) -> anyhow::Result<StorageReport> {
    let pool = client::pg_pool(database_url, 1).await?;
    let report = measure(&pool).await;
    pool.close().await;
    report
}

pub async fn measure(pool: &PgPool) -> anyhow::Result<StorageReport> {
    let sizes: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT c.relname::text, pg_total_relation_size(c.oid), pg_relation_size(c.oid), pg_indexes_size(c.oid) \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'points'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT tableoid::regclass::text, count(*) FROM points GROUP BY 1")
            .fetch_all(pool)
            .await?;
    let series: i64 = sqlx::query_scalar("SELECT count(*) FROM series")
        .fetch_one(pool)
        .await
        .unwrap_or(-1);
    let partitions: Vec<PartitionSize> = sizes
        .into_iter()
        .map(|(name, total, heap, index)| PartitionSize {
            rows: counts
                .iter()
                .find(|(n, _)| n.trim_matches('"') == name)
                .map(|c| c.1)
                .unwrap_or(0),
            name,
            total_bytes: total,
            heap_bytes: heap,
            index_bytes: index,
        })
        .collect();
    let points: i64 = partitions.iter().map(|p| p.rows).sum();
    let total_bytes = partitions.iter().map(|p| p.total_bytes).sum();
    let heap_bytes = partitions.iter().map(|p| p.heap_bytes).sum();
    let index_bytes = partitions.iter().map(|p| p.index_bytes).sum();
    let per = |b: i64| {
        if points > 0 {
            b as f64 / points as f64
        } else {
            f64::NAN
        }
    };
    let other_tables: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.relname::text, pg_total_relation_size(c.oid) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = current_schema() AND NOT c.relispartition \
         AND c.relname <> 'points' AND pg_total_relation_size(c.oid) > 1048576 ORDER BY 2 DESC",
    )
    .fetch_all(pool)
    .await?;
    let database_bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(pool)
        .await?;
    Ok(StorageReport {
        points,
        series,
        bytes_per_point: per(total_bytes),
        heap_bytes_per_point: per(heap_bytes),
        index_bytes_per_point: per(index_bytes),
        partitions,
        total_bytes,
        heap_bytes,
        index_bytes,
        other_tables,
        database_bytes,
    })
}

impl StorageReport {
    pub fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "== storage ==")?;
        writeln!(
            out,
            "points       {} rows in {} partitions, {} series",
            self.points,
            self.partitions.len(),
            self.series
        )?;
        for p in self
            .partitions
            .iter()
            .filter(|p| p.rows > 0 || p.total_bytes > 16384)
        {
            writeln!(
                out,
                "  {:<20} {:>12} rows  {:>9.1} MB (heap {:.1} MB, indexes {:.1} MB)",
                p.name,
                p.rows,
                p.total_bytes as f64 / 1e6,
                p.heap_bytes as f64 / 1e6,
                p.index_bytes as f64 / 1e6
            )?;
        }
        writeln!(
            out,
            "total        {:.1} MB: {:.1} bytes/point (heap {:.1}, indexes {:.1})",
            self.total_bytes as f64 / 1e6,
            self.bytes_per_point,
            self.heap_bytes_per_point,
            self.index_bytes_per_point
        )?;
        for (name, size) in &self.other_tables {
            writeln!(
                out,
                "  other      {:<20} {:.1} MB",
                name,
                *size as f64 / 1e6
            )?;
        }
        writeln!(
            out,
            "database     {:.1} MB",
            self.database_bytes as f64 / 1e6
        )?;
        Ok(())
    }
}
