//! The compressed raw tier against the real database: every answer is the same before
//! and after compaction (random series of every shape, random ranges, steps,
//! aggregations, groupBy, rate, percentiles; bit-identical raw samples), late points
//! into compacted ranges are visible at once and merged later, a corrupt block fails
//! only the requests that need it, with the documented error.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use vigil::model::TimeRange;
use vigil::store::samples::{read_raw, SeriesSamples};

use crate::helpers::{prometheus_sum, spawn_app_with, TestApp};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const METRIC: &str = "cmp.values";

async fn compaction_app() -> TestApp {
    spawn_app_with(|s| {
        s.compaction.after = Duration::ZERO;
        s.compaction.drop_raw_after = Duration::ZERO;
        s.rollup.settle = Duration::from_secs(1);
        s.rollup.interval = Duration::from_secs(3600);
        s.query.cache_ttl_live = Duration::from_secs(1);
        s.query.cache_ttl_historical = Duration::from_secs(1);
    })
    .await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Random series of every shape the API accepts: gauges with 0-6 decimals, counters
/// with resets, negative, huge and tiny values, regular, irregular and jittered
/// timestamps, several points at one timestamp. Returns (host, time, value).
fn random_points(rng: &mut StdRng, windows: &[(i64, i64)]) -> Vec<(String, i64, f64)> {
    let mut out = Vec::new();
    for s in 0..8 {
        let host = format!("h{s}");
        let decimals = rng.random_range(0..=6);
        let scale = 10f64.powi(decimals);
        let mut counter = 0.0f64;
        for &(from, to) in windows {
            let mut t = from + rng.random_range(0..10_000);
            while t < to {
                let v = match s % 6 {
                    0 => (rng.random_range(-100.0..100.0) * scale).round() / scale,
                    1 => {
                        if rng.random_range(0..50) == 0 {
                            counter = 0.0;
                        }
                        counter += rng.random_range(0..200) as f64;
                        counter
                    }
                    2 => rng.random_range(-1e300..1e300),
                    3 => rng.random_range(-1e-300..1e-300),
                    4 => rng.random::<f64>() * 1e6 - 5e5,
                    _ => (rng.random_range(0.0..1.0f64) * 100.0).round() / 100.0,
                };
                out.push((host.clone(), t, v));
                if rng.random_range(0..40) == 0 {
                    out.push((host.clone(), t, v + 1.0)); // same timestamp again
                }
                t += match s % 3 {
                    0 => 10_000,
                    1 => 10_000 + rng.random_range(-50..=50),
                    _ => rng.random_range(1_000..40_000),
                };
            }
        }
    }
    out
}

async fn send(app: &TestApp, points: &[(String, i64, f64)]) {
    for chunk in points.chunks(1000) {
        let body: Vec<Value> = chunk
            .iter()
            .map(|(h, t, v)| json!({"name": METRIC, "value": v, "tags": {"host": h, "kind": if h < &"h4".to_string() { "a" } else { "b" }}, "timestamp": t}))
            .collect();
        app.post_metrics(&Value::Array(body))
            .await
            .assert_status(202, "ingest for the compaction test");
    }
}

async fn all_series(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM series WHERE metric = $1 ORDER BY id")
        .bind(METRIC)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

async fn stored_count(app: &TestApp, from: i64, to: i64) -> usize {
    let ids = all_series(app).await;
    read_raw(
        &app.db,
        &ids,
        TimeRange {
            start_ms: from,
            end_ms: to,
        },
    )
    .await
    .unwrap()
    .iter()
    .map(SeriesSamples::len)
    .sum()
}

/// A random query and its answer: (body, status, data, meta.tiers).
async fn answers(app: &TestApp, queries: &[Value]) -> Vec<(u16, Value)> {
    // Past the cache TTL, so every answer is computed from storage.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut out = Vec::new();
    for q in queries {
        let r = app.query(q).await;
        let body = r.json();
        out.push((r.status.as_u16(), body["data"].clone()));
    }
    out
}

fn random_queries(rng: &mut StdRng, from: i64, to: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..60 {
        let len = rng.random_range(5..=120) * MINUTE;
        let start = rng.random_range(from - 10 * MINUTE..to - len / 2) / 1000 * 1000;
        let end = start + len;
        let step = ["10s", "30s", "1m", "90s", "5m", "7s"][rng.random_range(0..6)];
        let aggregation = [
            "avg", "min", "max", "sum", "count", "rate", "p50", "p95", "p99",
        ][rng.random_range(0..9)];
        let mut body = json!({"query": METRIC, "start": start, "end": end, "step": step, "aggregation": aggregation});
        match rng.random_range(0..3) {
            0 => body["groupBy"] = json!(["host"]),
            1 => body["groupBy"] = json!(["kind"]),
            _ => {}
        }
        if rng.random_bool(0.2) {
            body["tags"] = json!({"host": format!("h{}", rng.random_range(0..8))});
        }
        out.push(body);
    }
    out
}

/// Equal answers: bit-identical except sums and averages (and what is derived from
/// sums: rate), which may differ by float summation order, within 1e-12 relative.
pub(crate) fn assert_same(query: &Value, before: &Value, after: &Value) {
    let exact = matches!(
        query["aggregation"].as_str(),
        Some("min" | "max" | "count" | "p50" | "p95" | "p99")
    );
    let flat = |v: &Value| -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let mut walk = |label: String, points: &Value| {
            for p in points.as_array().into_iter().flatten() {
                out.push((
                    format!("{label}@{}", p["time"]),
                    p["value"].as_f64().unwrap_or(f64::NAN),
                ));
            }
        };
        match v {
            Value::Array(items) if items.first().is_some_and(|i| i.get("tags").is_some()) => {
                for g in items {
                    walk(g["tags"].to_string(), &g["data"]);
                }
            }
            other => walk(String::new(), other),
        }
        out
    };
    let (a, b) = (flat(before), flat(after));
    assert_eq!(a.len(), b.len(), "{query}: {before} vs {after}");
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb, "{query}");
        if exact {
            assert_eq!(va.to_bits(), vb.to_bits(), "{query} at {ka}: {va} vs {vb}");
        } else {
            let tol = 1e-12 * va.abs().max(vb.abs());
            assert!((va - vb).abs() <= tol, "{query} at {ka}: {va} vs {vb}");
        }
    }
}

async fn all_samples(app: &TestApp, from: i64, to: i64) -> Vec<SeriesSamples> {
    read_raw(
        &app.db,
        &all_series(app).await,
        TimeRange {
            start_ms: from,
            end_ms: to,
        },
    )
    .await
    .unwrap()
}

fn assert_samples_identical(a: &[SeriesSamples], b: &[SeriesSamples], context: &str) {
    assert_eq!(a.len(), b.len(), "{context}: series");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.series_id, y.series_id, "{context}");
        assert_eq!(x.times_ms, y.times_ms, "{context}: series {}", x.series_id);
        let xb: Vec<u64> = x.values.iter().map(|v| v.to_bits()).collect();
        let yb: Vec<u64> = y.values.iter().map(|v| v.to_bits()).collect();
        assert_eq!(xb, yb, "{context}: series {} values", x.series_id);
    }
}

#[actix_web::test]
async fn compaction_changes_no_answer_and_late_points_are_merged() {
    let app = compaction_app().await;
    let mut rng = StdRng::seed_from_u64(0xc0_4ac7);
    let now = now_ms();
    let today = now.div_euclid(DAY) * DAY;
    // Yesterday's last two hours (a whole past day: merged into day blocks) and the
    // last closed hours of today.
    let recent_end = (now.div_euclid(HOUR) * HOUR).max(today);
    let windows = [
        (today - 2 * HOUR, today),
        ((recent_end - 2 * HOUR).max(today), recent_end),
    ];
    let points = random_points(&mut rng, &windows);
    send(&app, &points).await;
    let (from, to) = (today - 2 * HOUR, recent_end.max(today));
    crate::helpers::eventually(Duration::from_secs(60), || async {
        let n = stored_count(&app, from - HOUR, to + HOUR).await;
        if n == points.len() {
            Ok(())
        } else {
            Err(format!("{n} of {} stored", points.len()))
        }
    })
    .await;
    app.maintenance.run_rollups().await.unwrap();
    let queries = random_queries(&mut rng, from, to);
    let before = answers(&app, &queries).await;
    let samples_before = all_samples(&app, from - HOUR, to + HOUR).await;

    // Rounds until nothing is due (each compacts at most max_ranges_per_round ranges).
    let (mut ranges, mut compacted) = (0, 0);
    loop {
        let report = app.maintenance.run_compaction().await.unwrap();
        assert_eq!(report.failures, 0, "{report:?}");
        if report.ranges == 0 {
            break;
        }
        ranges += report.ranges;
        compacted += report.points;
    }
    assert!(ranges >= 2, "{ranges} ranges compacted");
    assert_eq!(compacted as usize, points.len());
    let raw_left: i64 = sqlx::query_scalar("SELECT count(*) FROM points WHERE time < $1")
        .bind(chrono::DateTime::from_timestamp_millis(to).unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(raw_left, 0, "raw rows of compacted hours are gone");
    let (blocks, day_blocks): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM points_blocks) + (SELECT count(*) FROM points_hour_blocks),
                (SELECT count(*) FROM points_blocks WHERE range_end - range_start = interval '1 day')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        blocks > 0 && day_blocks >= 8,
        "{blocks} blocks, {day_blocks} day blocks"
    );
    // A merged day's hour blocks go with their partition (dead rows take no space).
    let kept: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT to_char(range_start AT TIME ZONE 'UTC', 'YYYYMMDD') FROM points_blocks
         WHERE range_end - range_start = interval '1 day'
           AND to_regclass('points_hour_blocks_p' || to_char(range_start AT TIME ZONE 'UTC', 'YYYYMMDD')) IS NOT NULL",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(
        kept.is_empty(),
        "merged days still with hour-block partitions: {kept:?}"
    );
    let external: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT a.attstorage::text FROM pg_attribute a JOIN pg_inherits i ON i.inhrelid = a.attrelid
         WHERE i.inhparent = 'points_blocks'::regclass AND a.attname IN ('times', 'vals')",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        external,
        vec!["e".to_string()],
        "block columns are STORAGE EXTERNAL"
    );

    assert_samples_identical(
        &samples_before,
        &all_samples(&app, from - HOUR, to + HOUR).await,
        "raw samples after compaction",
    );
    let after = answers(&app, &queries).await;
    for ((q, b), a) in queries.iter().zip(&before).zip(&after) {
        assert_eq!(b.0, a.0, "{q}: status");
        assert_same(q, &b.1, &a.1);
    }

    // Late points into a compacted hour and into a merged day: stored, visible at once.
    let late_window_start = if windows[1].1 > windows[1].0 {
        windows[1].0
    } else {
        windows[0].0
    };
    let late: Vec<(String, i64, f64)> = vec![
        ("h0".into(), today - HOUR + 1234, 4242.0),
        ("h1".into(), today - 30 * MINUTE, -1.5),
        // In the first hour of a UTC day no hour of today is closed yet, and the
        // recent window is empty: the late point then goes to yesterday's window.
        ("h7".into(), late_window_start + 5 * MINUTE + 17, 0.25),
    ];
    send(&app, &late).await;
    let total = points.len() + late.len();
    crate::helpers::eventually(Duration::from_secs(60), || async {
        let n = stored_count(&app, from - HOUR, to + HOUR).await;
        if n == total {
            Ok(())
        } else {
            Err(format!("{n} of {total} visible"))
        }
    })
    .await;
    let in_late: i64 = sqlx::query_scalar("SELECT count(*) FROM points_late")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(in_late as usize, late.len(), "late points are kept aside");
    let with_late = all_samples(&app, from - HOUR, to + HOUR).await;
    let count_query = json!({"query": METRIC, "start": today - HOUR, "end": today, "step": "1m", "aggregation": "count", "tags": {"host": "h0"}});
    // Rollups of the touched minutes are corrected as for any late point.
    app.maintenance.run_rollups().await.unwrap();
    let minute_answer = answers(&app, &[json!({"query": METRIC, "start": today - 2 * HOUR, "end": today, "step": "1m", "aggregation": "count"})]).await;
    let raw_count_total: f64 = minute_answer[0]
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .sum();
    let expected_yesterday = stored_count(&app, today - 2 * HOUR, today).await;
    assert_eq!(
        raw_count_total as usize, expected_yesterday,
        "rollups count the late points"
    );
    let before_merge = answers(&app, std::slice::from_ref(&count_query)).await;

    let report = app.maintenance.run_compaction().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(report.merged_points > 0, "{report:?}");
    let in_late: i64 = sqlx::query_scalar("SELECT count(*) FROM points_late")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(in_late, 0, "late points merged into the blocks");
    assert_samples_identical(
        &with_late,
        &all_samples(&app, from - HOUR, to + HOUR).await,
        "after the late merge",
    );
    let after_merge = answers(&app, std::slice::from_ref(&count_query)).await;
    assert_eq!(before_merge, after_merge);

    let health = app.get("/health").await.json();
    assert_eq!(health["compaction"]["pending"], 0, "{health}");
    let metrics = app.get("/metrics").await.text();
    assert!(prometheus_sum(&metrics, "vigil_compaction_points_total", &[]) >= points.len() as f64);
    assert!(prometheus_sum(&metrics, "vigil_storage_bytes", &[("tier", "blocks")]) > 0.0);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_corrupt_block_fails_only_the_requests_that_read_it() {
    let app = compaction_app().await;
    let now = now_ms();
    let today = now.div_euclid(DAY) * DAY;
    let t0 = today - 3 * HOUR;
    let points: Vec<(String, i64, f64)> = (0..360)
        .flat_map(|i| {
            [
                ("h0".to_string(), t0 + i * 10_000, i as f64),
                ("h5".to_string(), t0 + i * 10_000, 2.0 * i as f64),
            ]
        })
        .collect();
    send(&app, &points).await;
    crate::helpers::eventually(Duration::from_secs(60), || async {
        let n = stored_count(&app, t0, t0 + HOUR).await;
        if n == points.len() {
            Ok(())
        } else {
            Err(format!("{n} stored"))
        }
    })
    .await;
    app.maintenance.run_compaction().await.unwrap();
    let h0: i64 = sqlx::query_scalar("SELECT id FROM series WHERE labels->>'host' = 'h0'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut corrupted = 0;
    for table in ["points_blocks", "points_hour_blocks"] {
        corrupted += sqlx::query(&format!("UPDATE {table} SET vals = overlay(vals placing '\\xdeadbeefdeadbeef'::bytea from 8) WHERE series_id = $1"))
            .bind(h0)
            .execute(&app.db)
            .await
            .unwrap()
            .rows_affected();
    }
    assert_eq!(corrupted, 1);
    let decode_errors =
        |text: &str| prometheus_sum(text, "vigil_compaction_decode_errors_total", &[]);
    let errors_before = decode_errors(&app.get("/metrics").await.text());

    let body = |host: &str| json!({"query": METRIC, "start": t0, "end": t0 + HOUR, "step": "10s", "aggregation": "p50", "tags": {"host": host}});
    let r = app.query(&body("h0")).await;
    r.assert_error(500, "INTERNAL_ERROR", "a query over a corrupt block");
    // The other series and the server are fine.
    let r = app.query(&body("h5")).await;
    r.assert_status(200, "a query over a sound block");
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 360);
    let errors_after = decode_errors(&app.get("/metrics").await.text());
    assert!(
        errors_after > errors_before,
        "{errors_before} -> {errors_after}"
    );
    let report = app.maintenance.run_compaction().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    app.get("/health")
        .await
        .assert_status(200, "health after a corrupt block");
    app.cleanup().await;
}

/// Points every 10 s over `[from, to)` for two hosts.
fn steady_points(from: i64, to: i64) -> Vec<(String, i64, f64)> {
    (0..(to - from) / 10_000)
        .flat_map(|i| {
            [
                ("h0".to_string(), from + i * 10_000, i as f64),
                ("h5".to_string(), from + i * 10_000, 0.5 * i as f64),
            ]
        })
        .collect()
}

async fn wait_stored(app: &TestApp, from: i64, to: i64, expected: usize) {
    crate::helpers::eventually(Duration::from_secs(60), || async {
        let n = stored_count(app, from, to).await;
        if n == expected {
            Ok(())
        } else {
            Err(format!("{n} of {expected} stored"))
        }
    })
    .await;
}

#[actix_web::test]
async fn reads_while_compacted_rows_are_still_on_disk_count_each_point_once() {
    // The raw partition of a compacted hour outlives its compaction for a while
    // (drop_raw_after, or a drop still waiting for old reads): its rows and its
    // blocks hold the same points, and a read straddling it must see each once.
    let app = spawn_app_with(|s| {
        s.compaction.after = Duration::ZERO;
        s.compaction.drop_raw_after = Duration::from_secs(3600);
    })
    .await;
    let now = now_ms();
    let today = now.div_euclid(DAY) * DAY;
    let t0 = today - 3 * HOUR;
    let mut points = steady_points(t0, t0 + HOUR);
    let hot_from = now - 10 * MINUTE;
    points.extend(steady_points(hot_from, now - MINUTE));
    send(&app, &points).await;
    let (from, to) = (t0 - HOUR, now + HOUR);
    wait_stored(&app, from, to, points.len()).await;
    let before = all_samples(&app, from, to).await;

    let report = app.maintenance.run_compaction().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(report.points as usize >= 720, "{report:?}");
    let rows_kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM points WHERE time >= $1 AND time < $2")
            .bind(chrono::DateTime::from_timestamp_millis(t0).unwrap())
            .bind(chrono::DateTime::from_timestamp_millis(t0 + HOUR).unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(rows_kept, 720, "the compacted hour's rows are still there");
    for (a, b) in [(from, to), (t0 + 30 * MINUTE, to), (from, t0 + 30 * MINUTE)] {
        let expected: Vec<SeriesSamples> = before
            .iter()
            .filter_map(|s| {
                let keep: Vec<usize> = (0..s.len())
                    .filter(|&i| s.times_ms[i] >= a && s.times_ms[i] < b)
                    .collect();
                (!keep.is_empty()).then(|| SeriesSamples {
                    series_id: s.series_id,
                    times_ms: keep.iter().map(|&i| s.times_ms[i]).collect(),
                    values: keep.iter().map(|&i| s.values[i]).collect(),
                })
            })
            .collect();
        assert_samples_identical(
            &expected,
            &all_samples(&app, a, b).await,
            &format!("read of [{a}, {b}) beside a compacted hour still on disk"),
        );
    }
}

#[actix_web::test]
async fn dropping_a_compacted_hour_never_blocks_ingest_behind_an_old_read() {
    // A plain DROP of a partition queues for its parent's exclusive lock behind every
    // running read, and every later write queues behind the DROP.
    let app = spawn_app_with(|s| {
        s.compaction.after = Duration::ZERO;
        s.compaction.drop_raw_after = Duration::ZERO;
        s.compaction.drop_timeout = Duration::from_secs(20);
    })
    .await;
    let now = now_ms();
    let today = now.div_euclid(DAY) * DAY;
    // An hour of today when there is one two hours back: the drop then locks the day
    // partition the fresh points go to.
    let t0 = (now.div_euclid(HOUR) - 2) * HOUR;
    let t0 = if t0 >= today { t0 } else { today - 3 * HOUR };
    let points = steady_points(t0, t0 + HOUR);
    send(&app, &points).await;
    wait_stored(&app, t0, t0 + HOUR, points.len()).await;
    let hour = vigil::store::partitions::hour_partition_name(t0);

    // An old read: a transaction that has read `points` and stays open.
    let mut reader = app.db.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM points")
        .execute(&mut *reader)
        .await
        .unwrap();
    let maintenance = app.maintenance.clone();
    let round = actix_web::rt::spawn(async move { maintenance.run_compaction().await });
    // The round compacts (the hour, and the empty hours before it), then its first
    // drop waits for the old read.
    crate::helpers::eventually(Duration::from_secs(30), || async {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_inherits WHERE inhdetachpending")
                .fetch_one(&app.db)
                .await
                .unwrap();
        if pending > 0 {
            Ok(())
        } else {
            Err("no detach waiting yet".to_string())
        }
    })
    .await;

    // Meanwhile ingest and queries go on.
    let started = std::time::Instant::now();
    let fresh = steady_points(now - 5 * MINUTE, now - 4 * MINUTE);
    send(&app, &fresh).await;
    wait_stored(&app, now - 5 * MINUTE, now - 4 * MINUTE, fresh.len()).await;
    app.query(
        &json!({"query": METRIC, "start": t0, "end": now, "aggregation": "avg", "step": "1m"}),
    )
    .await
    .assert_status(200, "a query while the drop waits");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "ingest and a query took {took:?} while the drop waited"
    );
    assert!(!round.is_finished(), "the drop waits for the old read");

    reader.commit().await.unwrap();
    let report = round.await.unwrap().unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(report.raw_dropped >= 1, "{report:?}");
    // Later rounds drop what this one had no time for.
    crate::helpers::eventually(Duration::from_secs(60), || async {
        let report = app.maintenance.run_compaction().await.unwrap();
        let left: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&hour)
            .fetch_one(&app.db)
            .await
            .unwrap();
        if left {
            Err(format!("{hour} is still there after {report:?}"))
        } else {
            Ok(())
        }
    })
    .await;
    assert_eq!(stored_count(&app, t0, t0 + HOUR).await, points.len());
}
