//! Compressed raw tier figures on the peer benchmark data set (2,000 series x 24 h at
//! 10 s: a 2-decimal `cpu_usage` gauge walking by uniform +-3.00 in [0, 100], and an
//! `http_requests_total` counter adding 0..199 a point).
//!
//! 1. codec: bytes a point and single-core encode/decode speed of day blocks, regular
//!    and with +-50 ms timestamp jitter;
//! 2. on disk: the day blocks loaded into `points_blocks` of a fresh database (heap,
//!    TOAST and index per point, `pg_total_relation_size`);
//! 3. compaction end to end: raw rows COPYed into hourly partitions, then compacted and
//!    merged into day blocks by the compactor's own statements, points/s.
//!
//! `cargo run --release --example compression_bench -- [series] [postgres server URL]`
//! (defaults: 2000, postgres://postgres@127.0.0.1:5432). The database it creates,
//! `vigil_compression_bench` (or `$BENCH_DB`, so runs on a shared server do not meet),
//! is dropped at the end (kept with `BENCH_KEEP_DB` set). `ENCODE_TASKS` sets the compaction's encoding tasks
//! (default 2, the compactor's default).

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, Executor};
use vigil::store::blocks;

const POINTS: usize = 8640;
const STEP_US: i64 = 10_000_000;

fn series_values(i: usize, rng: &mut StdRng) -> Vec<f64> {
    if i % 2 == 0 {
        let mut v = 50.0f64;
        (0..POINTS)
            .map(|_| {
                v += rng.random_range(-300..=300) as f64 / 100.0;
                if v < 0.0 {
                    v = -v;
                }
                if v > 100.0 {
                    v = 200.0 - v;
                }
                v = (v * 100.0).round() / 100.0;
                v
            })
            .collect()
    } else {
        let mut c = 0.0f64;
        (0..POINTS)
            .map(|_| {
                c += rng.random_range(0..200) as f64;
                c
            })
            .collect()
    }
}

fn times(t0_us: i64, jitter: bool, rng: &mut StdRng) -> Vec<i64> {
    (0..POINTS as i64)
        .map(|k| {
            let t = t0_us + k * STEP_US;
            if jitter {
                t + rng.random_range(-50..=50) * 1000
            } else {
                t
            }
        })
        .collect()
}

/// CPU seconds (user + system) of this process and of the PostgreSQL backends
/// connected to its database now. Parallel query workers come and go between two
/// samples, so their CPU is missed: the backend figure is a lower bound.
async fn cpu_seconds(pool: &sqlx::PgPool) -> anyhow::Result<(f64, f64)> {
    let pids: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_all(pool)
            .await?;
    let backends = pids
        .iter()
        .map(|pid| proc_cpu(&format!("/proc/{pid}/stat")))
        .sum();
    Ok((proc_cpu("/proc/self/stat"), backends))
}

/// utime + stime of one process from its `stat` file, in seconds (100 ticks a second).
fn proc_cpu(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let series: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let server = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    let day_us: i64 = (chrono::Utc::now().timestamp() / 86_400 - 2) * 86_400 * 1_000_000;
    let mut rng = StdRng::seed_from_u64(42);
    let data: Vec<(Vec<f64>, Vec<i64>, Vec<i64>)> = (0..series)
        .map(|i| {
            let v = series_values(i, &mut rng);
            let t = times(day_us, false, &mut rng);
            let tj = times(day_us, true, &mut rng);
            (v, t, tj)
        })
        .collect();
    let total = (series * POINTS) as f64;

    println!("## codec, {series} series x {POINTS} points (day blocks, pco level 4)");
    for (label, jitter) in [("regular 10 s", false), ("+-50 ms jitter", true)] {
        let started = Instant::now();
        let encoded: Vec<blocks::EncodedBlock> = data
            .iter()
            .map(|(v, t, tj)| blocks::encode(if jitter { tj } else { t }, v, 4).unwrap())
            .collect();
        let enc_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut n = 0;
        for b in &encoded {
            n += blocks::decode(&b.times, &b.values).unwrap().0.len();
        }
        let dec_s = started.elapsed().as_secs_f64();
        let t_bytes: usize = encoded.iter().map(|b| b.times.len()).sum();
        let v_bytes: usize = encoded.iter().map(|b| b.values.len()).sum();
        println!(
            "{label}: values {:.3} B/pt, timestamps {:.3} B/pt, total {:.3} B/pt; encode {:.1} Mpt/s, decode {:.1} Mpt/s (1 core)",
            v_bytes as f64 / total,
            t_bytes as f64 / total,
            (v_bytes + t_bytes) as f64 / total,
            total / enc_s / 1e6,
            n as f64 / dec_s / 1e6
        );
    }

    // A name of letters, digits and underscores only: it is spliced into the SQL.
    let db = std::env::var("BENCH_DB")
        .ok()
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or_else(|| "vigil_compression_bench".into());
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {db}").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await?;
    let url = format!("{server}/{db}");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    let day_ms = day_us / 1000;
    let day = vigil::store::partitions::day_of(day_ms);
    let parts = vigil::store::partitions::PartitionSet::default();
    for table in [
        vigil::store::partitions::PartitionedTable::Points,
        vigil::store::partitions::PartitionedTable::Blocks,
        vigil::store::partitions::PartitionedTable::HourBlocks,
    ] {
        parts.ensure(&pool, table, [day]).await?;
    }

    // Raw rows, as ingest leaves them, into the day's hourly partitions.
    let started = Instant::now();
    for (i, (v, t, _)) in data.iter().enumerate() {
        let rows: Vec<(i64, i64, f64)> = t
            .iter()
            .zip(v)
            .map(|(t, v)| (i as i64 + 1, t / 1000, *v))
            .collect();
        let mut tx = pool.begin().await?;
        let mut copy = tx
            .copy_in_raw("COPY points (series_id, time, value) FROM STDIN (FORMAT binary)")
            .await?;
        copy.send(vigil::store::points::encode_copy_binary(
            rows.iter(),
            rows.len(),
        ))
        .await?;
        copy.finish().await?;
        tx.commit().await?;
    }
    println!(
        "\n## compaction end to end\nCOPY of {total} raw rows: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sqlx::query("VACUUM ANALYZE points")
        .execute(&pool)
        .await
        .ok();
    let raw_bytes: i64 = sqlx::query_scalar(
        "SELECT sum(pg_total_relation_size(relid))::bigint FROM pg_partition_tree('points') WHERE isleaf",
    )
    .fetch_one(&pool)
    .await?;
    println!("raw rows on disk: {:.1} B/pt", raw_bytes as f64 / total);

    use vigil::store::blocks_compaction as c;
    // Encoding tasks of the compaction (the compactor's `compaction.encode_tasks`).
    let encode_tasks: usize = std::env::var("ENCODE_TASKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let options = c::CompactOptions {
        encode_tasks,
        ..c::CompactOptions::level(4)
    };
    let cpu_before = cpu_seconds(&pool).await?;
    let started = Instant::now();
    let ranges = c::due_ranges(&pool, day_ms + 86_400_000, 100).await?;
    let mut compacted = 0;
    let mut stages = c::StepOutcome::default();
    for r in &ranges {
        c::begin_compacting(&pool, *r).await?;
        let done = c::compact_range(&pool, *r, options).await?;
        compacted += done.points;
        stages.read += done.read;
        stages.encode += done.encode;
        stages.write += done.write;
    }
    let hours_s = started.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds(&pool).await?;
    let hour_bytes: i64 = sqlx::query_scalar(
        "SELECT sum(pg_total_relation_size(relid))::bigint FROM pg_partition_tree('points_hour_blocks') WHERE isleaf",
    )
    .fetch_one(&pool)
    .await?;
    let started = Instant::now();
    let mut merged = 0;
    loop {
        let ids = c::series_to_merge(&pool, day_ms, 5000).await?;
        if ids.is_empty() {
            break;
        }
        merged += c::rewrite_blocks(&pool, (day_ms, day_ms + 86_400_000), Some(&ids), 4)
            .await?
            .points;
    }
    let merge_s = started.elapsed().as_secs_f64();
    for (start, end) in c::compacted_with_raw(&pool, std::time::Duration::ZERO).await? {
        vigil::store::partitions::drop_raw_range(
            &pool,
            start,
            end,
            std::time::Duration::from_secs(5),
        )
        .await?;
        c::mark_raw_dropped(&pool, start).await?;
    }
    // The merged day's hour blocks are dead rows: the compactor drops their partition,
    // as here. No VACUUM FULL: what is measured is what a server keeps on disk.
    for day in c::merged_hour_block_days(&pool, day_ms + 86_400_000).await? {
        vigil::store::partitions::drop_hour_blocks(
            &pool,
            vigil::store::partitions::day_of(day),
            std::time::Duration::from_secs(5),
        )
        .await?;
    }
    sqlx::query("VACUUM ANALYZE points_blocks")
        .execute(&pool)
        .await?;
    let day_bytes: i64 = sqlx::query_scalar(
        "SELECT sum(pg_total_relation_size(relid))::bigint
         FROM (SELECT relid FROM pg_partition_tree('points_blocks') WHERE isleaf
               UNION ALL SELECT relid FROM pg_partition_tree('points_hour_blocks') WHERE isleaf) p",
    )
    .fetch_one(&pool)
    .await?;
    let (bench_cpu, pg_cpu) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let per_stage = |d: std::time::Duration| compacted as f64 / d.as_secs_f64() / 1e6;
    println!(
        "hour compaction ({encode_tasks} encode tasks): {compacted} points in {hours_s:.1} s = {:.2} M pt/s end to end; hour blocks on disk {:.3} B/pt",
        compacted as f64 / hours_s / 1e6,
        hour_bytes as f64 / total
    );
    println!(
        "  stages (wall): read + SQL check {:.1} s ({:.2} M pt/s), encode + verify {:.1} s ({:.2} M pt/s), write + flip {:.1} s ({:.2} M pt/s)",
        stages.read.as_secs_f64(),
        per_stage(stages.read),
        stages.encode.as_secs_f64(),
        per_stage(stages.encode),
        stages.write.as_secs_f64(),
        per_stage(stages.write)
    );
    println!(
        "  CPU: bench process {bench_cpu:.1} s, its PostgreSQL backends {pg_cpu:.1} s: {:.2} M pt per CPU second",
        compacted as f64 / (bench_cpu + pg_cpu) / 1e6
    );
    println!(
        "day merge: {merged} points in {merge_s:.1} s = {:.2} M pt/s; day blocks on disk {:.3} B/pt (heap + TOAST + index)",
        merged as f64 / merge_s / 1e6,
        day_bytes as f64 / total
    );

    // Reading one series' day back through the one raw reader.
    let mut lat = Vec::new();
    for k in 0..50 {
        let id = (k * 37 % series) as i64 + 1;
        let started = Instant::now();
        let s = vigil::store::samples::read_raw(
            &pool,
            &[id],
            vigil::model::TimeRange {
                start_ms: day_ms,
                end_ms: day_ms + 86_400_000,
            },
        )
        .await?;
        lat.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s[0].len(), POINTS);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "read_raw 1 series x 24 h (server side, no HTTP): p50 {:.2} ms, p95 {:.2} ms",
        lat[lat.len() / 2],
        lat[lat.len() * 95 / 100]
    );
    let ids: Vec<i64> = (1..=(series as i64).min(1000)).collect();
    let mut lat = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let s = vigil::store::samples::read_raw(
            &pool,
            &ids,
            vigil::model::TimeRange {
                start_ms: day_ms,
                end_ms: day_ms + 86_400_000,
            },
        )
        .await?;
        lat.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s.len(), ids.len());
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "read_raw {} series x 24 h (decode included, no bucketing): median {:.0} ms, max {:.0} ms",
        ids.len(),
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
    pool.close().await;
    // BENCH_KEEP_DB keeps the database for a look at its tables afterwards.
    if std::env::var_os("BENCH_KEEP_DB").is_none() {
        admin
            .execute(format!("DROP DATABASE IF EXISTS {db}").as_str())
            .await?;
    }
    let _ = rng.random::<u8>();
    Ok(())
}
