//! `copy-baseline`: the fastest the database takes the same points, written by the
//! bench itself with binary COPY into `points` in batches the size of the server's.
//! Ingest throughput is reported as a fraction of this.
//!
//! The baseline never touches the server's data: its series belong to `benchcopy.*`
//! metrics, its points lie on a day of their own (`--days-ago`), in partitions it
//! creates and drops again (a partition that already existed is left in place and only
//! the baseline's rows are deleted from it), and its series and metric rows are
//! deleted at the end. `--keep` leaves everything.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{Connection, PgPool};
use vigil::store::partitions::{day_of, partition_name, PartitionSet, PartitionedTable};

use crate::client;
use crate::gen::{self, CopyEncoder, Fleet, PointCursor};
use crate::ingest::fmt_ms;
use crate::stats::median;

/// Metric prefix of the baseline's series; the server never sees it.
pub const COPY_PREFIX: &str = "benchcopy";

const COPY_SQL: &str = "COPY points (series_id, time, value) FROM STDIN (FORMAT binary)";

pub struct CopyParams {
    pub database_url: String,
    pub fleet: Fleet,
    pub interval: Duration,
    pub points: u64,
    pub batch: usize,
    pub streams: usize,
    pub runs: usize,
    pub days_ago: u32,
    pub keep: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct CopyReport {
    pub points: u64,
    pub series: usize,
    pub batch: usize,
    pub streams: usize,
    pub range_start: String,
    pub range_end: String,
    pub partitions_created: Vec<String>,
    pub partitions_reused: Vec<String>,
    pub runs: Vec<CopyRun>,
    /// Median over the runs.
    pub rows_per_sec: f64,
    /// Median over the runs, when the baseline had its partitions to itself.
    pub bytes_per_row: Option<f64>,
    pub cleanup: String,
}

#[derive(Debug, Default, Serialize)]
pub struct CopyRun {
    pub rows: u64,
    pub secs: f64,
    pub rows_per_sec: f64,
    /// Size of the baseline's own partitions (heap + index) ÷ rows.
    pub bytes_per_row: Option<f64>,
}

pub async fn run(p: CopyParams) -> anyhow::Result<CopyReport> {
    anyhow::ensure!(
        p.batch > 0 && p.streams > 0 && p.runs > 0,
        "--batch, --streams and --runs must be positive"
    );
    let pool = client::pg_pool(&p.database_url, p.streams as u32 + 1).await?;
    let fleet = p.fleet.clone();

    let series_keys = register_series(&pool, &fleet).await?;
    let ids: Vec<i64> = {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT series_key, id FROM series WHERE series_key = ANY($1)")
                .bind(&series_keys)
                .fetch_all(&pool)
                .await?;
        let by_key: HashMap<String, i64> = rows.into_iter().collect();
        series_keys.iter().map(|k| by_key[k]).collect()
    };

    // The baseline's day: midnight UTC `days_ago` days back, starting at 01:00.
    let interval_ms = p.interval.as_millis() as i64;
    let today = Utc::now().date_naive();
    let day = today - chrono::Duration::days(p.days_ago as i64);
    let t0_ms = day
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let steps = p.points.div_ceil(fleet.series as u64);
    let end_ms = t0_ms + steps as i64 * interval_ms;
    let (created, reused) = ensure_partitions(&pool, t0_ms, end_ms).await?;
    eprintln!(
        "copy-baseline: {} points over {} series, {} .. {}, batches of {}, {} stream(s), {} run(s); partitions created {:?}, reused {:?}",
        p.points, fleet.series, fmt_ms(t0_ms), fmt_ms(end_ms), p.batch, p.streams, p.runs, created, reused
    );

    let mut report = CopyReport {
        points: p.points,
        series: fleet.series,
        batch: p.batch,
        streams: p.streams,
        range_start: fmt_ms(t0_ms),
        range_end: fmt_ms(end_ms),
        partitions_created: created.clone(),
        partitions_reused: reused.clone(),
        ..Default::default()
    };
    let ids = Rc::new(ids);
    for r in 0..p.runs {
        // Start every run from a flushed buffer cache so a checkpoint triggered by the
        // previous run does not land in this one.
        let _ = sqlx::query("CHECKPOINT").execute(&pool).await;
        let cursor = PointCursor::new(fleet.series, t0_ms, p.interval, Some(steps));
        let source = Rc::new(RefCell::new((cursor, p.points)));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..p.streams {
            let mut conn = pool.acquire().await?.detach();
            let (source, ids, batch) = (source.clone(), ids.clone(), p.batch);
            tasks.push(actix_rt::spawn(async move {
                let mut rows = 0u64;
                loop {
                    let payload = {
                        let mut s = source.borrow_mut();
                        let (cursor, remaining) = &mut *s;
                        let n = (*remaining).min(batch as u64) as usize;
                        *remaining -= n as u64;
                        let mut enc = CopyEncoder::new(n);
                        for _ in 0..n {
                            let Some((i, ts)) = cursor.next_point() else {
                                break;
                            };
                            enc.row(ids[i], ts, gen::value_centis(i, ts) as f64 / 100.0);
                        }
                        if enc.rows() == 0 {
                            break;
                        }
                        rows += enc.rows() as u64;
                        enc.finish()
                    };
                    let mut copy = conn.copy_in_raw(COPY_SQL).await?;
                    copy.send(payload).await?;
                    copy.finish().await?;
                }
                conn.close().await?;
                anyhow::Ok(rows)
            }));
        }
        let mut rows = 0;
        for t in tasks {
            rows += t.await.context("COPY task panicked")??;
        }
        let secs = started.elapsed().as_secs_f64();
        // A day partition is itself partitioned by hour: its size is its leaves'.
        let bytes_per_row = if reused.is_empty() && !created.is_empty() {
            let size: i64 = sqlx::query_scalar("SELECT sum(pg_total_relation_size(t.relid))::int8 FROM unnest($1::text[]::regclass[]) AS c, pg_partition_tree(c) AS t")
                .bind(&created)
                .fetch_one(&pool)
                .await?;
            Some(size as f64 / rows.max(1) as f64)
        } else {
            None
        };
        let run = CopyRun {
            rows,
            secs,
            rows_per_sec: rows as f64 / secs,
            bytes_per_row,
        };
        eprintln!(
            "  run {}: {} rows in {:.2}s = {:.0} rows/s{}",
            r + 1,
            run.rows,
            run.secs,
            run.rows_per_sec,
            run.bytes_per_row
                .map(|b| format!(", {b:.1} bytes/row on disk"))
                .unwrap_or_default()
        );
        report.runs.push(run);
        let last = r + 1 == p.runs;
        if !(last && p.keep) {
            clear_points(&pool, &ids, &created, &reused, t0_ms, end_ms, !last).await?;
        }
    }
    report.rows_per_sec = median(
        &report
            .runs
            .iter()
            .map(|r| r.rows_per_sec)
            .collect::<Vec<_>>(),
    );
    let sizes: Vec<f64> = report.runs.iter().filter_map(|r| r.bytes_per_row).collect();
    report.bytes_per_row = (!sizes.is_empty()).then(|| median(&sizes));
    report.cleanup = if p.keep {
        "kept: rows, series and partitions left in place (--keep)".into()
    } else {
        let metrics: Vec<String> = (0..fleet.metrics).map(|m| fleet.metric_name(m)).collect();
        sqlx::query("DELETE FROM series WHERE series_key = ANY($1)")
            .bind(&series_keys)
            .execute(&pool)
            .await?;
        let defs = sqlx::query(
            "DELETE FROM metric_definitions d WHERE name = ANY($1) AND NOT EXISTS (SELECT 1 FROM series s WHERE s.metric = d.name)",
        )
        .bind(&metrics)
        .execute(&pool)
        .await;
        if let Err(e) = defs {
            eprintln!("warning: could not delete the baseline's metric definitions: {e}");
        }
        format!(
            "removed: partitions {:?} dropped, rows deleted from {:?}, {} series and their metric definitions deleted",
            created,
            reused,
            series_keys.len()
        )
    };
    pool.close().await;
    Ok(report)
}

/// Inserts the baseline's metric definitions and series (if missing); returns the
/// series keys in series-index order.
async fn register_series(pool: &PgPool, fleet: &Fleet) -> anyhow::Result<Vec<String>> {
    let metrics: Vec<String> = (0..fleet.metrics).map(|m| fleet.metric_name(m)).collect();
    sqlx::query(
        "INSERT INTO metric_definitions (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(&metrics)
    .execute(pool)
    .await
    .context("inserting the baseline's metric definitions")?;
    let mut names = Vec::with_capacity(fleet.series);
    let mut labels = Vec::with_capacity(fleet.series);
    let mut keys = Vec::with_capacity(fleet.series);
    for i in 0..fleet.series {
        let (m, l) = fleet.labels(i);
        keys.push(fleet.series_key(&metrics[m], &l));
        labels.push(Fleet::labels_json(&l));
        names.push(metrics[m].clone());
    }
    for chunk in (0..fleet.series).collect::<Vec<_>>().chunks(20_000) {
        let (a, b) = (chunk[0], chunk[chunk.len() - 1] + 1);
        sqlx::query(
            "INSERT INTO series (metric, labels, series_key) \
             SELECT m, l::jsonb, k FROM unnest($1::text[], $2::text[], $3::text[]) AS u(m, l, k) \
             ON CONFLICT (series_key) DO NOTHING",
        )
        .bind(&names[a..b])
        .bind(&labels[a..b])
        .bind(&keys[a..b])
        .execute(pool)
        .await
        .context("inserting the baseline's series")?;
    }
    Ok(keys)
}

/// Makes sure a daily partition exists for every day in [from, to); returns the ones
/// created here and the ones that already existed.
async fn ensure_partitions(
    pool: &PgPool,
    from_ms: i64,
    to_ms: i64,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let first = day_of(from_ms);
    let last = day_of(to_ms - 1);
    let (mut created, mut reused) = (Vec::new(), Vec::new());
    let mut day = first;
    while day <= last {
        let name = partition_name(day);
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&name)
            .fetch_one(pool)
            .await?;
        if exists {
            reused.push(name);
        } else {
            create_partition(pool, day).await?;
            created.push(name);
        }
        day = day.succ_opt().unwrap();
    }
    Ok((created, reused))
}

/// The server's own partition function: the day's hourly raw partitions and their
/// compaction ranges, so the compactor compresses what the baseline leaves behind.
async fn create_partition(pool: &PgPool, day: NaiveDate) -> anyhow::Result<()> {
    PartitionSet::default()
        .ensure(pool, PartitionedTable::Points, [day])
        .await
        .with_context(|| format!("creating partition {}", partition_name(day)))?;
    Ok(())
}

/// Forgets the compaction ranges of a dropped day, so the compactor does not look
/// for hours that no longer exist.
async fn forget_ranges(pool: &PgPool, day: NaiveDate) -> anyhow::Result<()> {
    let start = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    sqlx::query(
        "DELETE FROM compaction_ranges WHERE range_start >= $1 AND range_start < $1 + interval '1 day' AND state = 'raw'",
    )
    .bind(start)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes a run's rows: its own partitions are dropped (and re-created for the next
/// run, so every run starts from an empty table); from shared ones the rows are
/// deleted and the partition vacuumed.
async fn clear_points(
    pool: &PgPool,
    ids: &[i64],
    created: &[String],
    reused: &[String],
    from_ms: i64,
    to_ms: i64,
    recreate: bool,
) -> anyhow::Result<()> {
    for name in created {
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(pool)
            .await?;
        let day = NaiveDate::parse_from_str(&name["points_p".len()..], "%Y%m%d")?;
        if recreate {
            create_partition(pool, day).await?;
        } else {
            forget_ranges(pool, day).await?;
        }
    }
    if !reused.is_empty() {
        let from = DateTime::<Utc>::from_timestamp_millis(from_ms).unwrap();
        let to = DateTime::<Utc>::from_timestamp_millis(to_ms).unwrap();
        sqlx::query("DELETE FROM points WHERE series_id = ANY($1) AND time >= $2 AND time < $3")
            .bind(ids)
            .bind(from)
            .bind(to)
            .execute(pool)
            .await?;
        for name in reused {
            sqlx::query(&format!("VACUUM {name}")).execute(pool).await?;
        }
    }
    Ok(())
}

impl CopyReport {
    pub fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "== copy-baseline ==")?;
        writeln!(
            out,
            "data         {} points over {} series, {} .. {}, COPY batches of {}, {} stream(s)",
            self.points, self.series, self.range_start, self.range_end, self.batch, self.streams
        )?;
        for (n, r) in self.runs.iter().enumerate() {
            writeln!(
                out,
                "run {}        {:.0} rows/s ({} rows in {:.2}s){}",
                n + 1,
                r.rows_per_sec,
                r.rows,
                r.secs,
                r.bytes_per_row
                    .map(|b| format!(", {b:.1} bytes/row"))
                    .unwrap_or_default()
            )?;
        }
        writeln!(out, "median       {:.0} rows/s", self.rows_per_sec)?;
        if let Some(b) = self.bytes_per_row {
            writeln!(
                out,
                "on disk      {:.1} bytes/row (heap + index, fresh partition)",
                b
            )?;
        }
        writeln!(out, "cleanup      {}", self.cleanup)?;
        Ok(())
    }
}
