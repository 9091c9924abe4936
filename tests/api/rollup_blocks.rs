//! The compressed rollup tiers against the real database: rollup answers (min, max,
//! sum, count, avg at 1 m, 5 m and 1 h steps, with and without groupBy) are the same
//! before and after a day's rollups become blocks, a late point into a compacted day
//! is visible at once and merged into the blocks later, retention drops expired
//! rollup blocks with their partitions, and a corrupt rollup block fails only the
//! requests and passes that read it.

use std::time::Duration;

use serde_json::{json, Value};
use vigil::store::partitions::{drop_expired, PartitionSet, PartitionedTable};

use crate::compaction::assert_same;
use crate::helpers::{eventually, logged_errors, prometheus_sum, spawn_app_with, TestApp};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const METRIC: &str = "rollblk.values";

async fn rollup_blocks_app() -> TestApp {
    spawn_app_with(|s| {
        s.compaction.after = Duration::ZERO;
        s.compaction.drop_raw_after = Duration::ZERO;
        s.rollup.settle = Duration::from_secs(1);
        s.rollup.interval = Duration::from_secs(3600);
        // Driven by the test; a closed day is due at once.
        s.rollup_compaction.enabled = false;
        s.rollup_compaction.after = Duration::from_millis(1);
        s.rollup_compaction.drop_rows_after = Duration::from_millis(1);
        s.rollup_compaction.series_per_batch = 3;
        s.query.cache_ttl_live = Duration::from_secs(1);
        s.query.cache_ttl_historical = Duration::from_secs(1);
        // Answer from the rollup tiers, never from the raw blocks.
        s.query.block_point_cost = 1e6;
    })
    .await
}

/// Runs the raw compactor until no range is left to compact, each round without failure.
async fn compact_every_range(app: &TestApp) {
    loop {
        let report = app.maintenance.run_compaction().await.unwrap();
        assert_eq!(report.failures, 0, "{report:?}");
        if report.ranges == 0 {
            break;
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn send(app: &TestApp, points: &[(String, i64, f64)]) {
    for chunk in points.chunks(1000) {
        let body: Vec<Value> = chunk
            .iter()
            .map(|(h, t, v)| json!({"name": METRIC, "value": v, "tags": {"host": h, "kind": if h.as_str() < "h4" { "a" } else { "b" }}, "timestamp": t}))
            .collect();
        app.post_metrics(&Value::Array(body))
            .await
            .assert_status(202, "ingest for the rollup blocks test");
    }
}

async fn minute_rows_count(app: &TestApp, day_start: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM rollup_1m WHERE bucket >= $1 AND bucket < $2")
        .bind(chrono::DateTime::from_timestamp_millis(day_start).unwrap())
        .bind(chrono::DateTime::from_timestamp_millis(day_start + DAY).unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn answers(app: &TestApp, queries: &[Value]) -> Vec<(u16, Value, Value)> {
    // Past the cache TTL, so every answer is computed from storage.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut out = Vec::new();
    for q in queries {
        let r = app.query(q).await;
        let body = r.json();
        out.push((
            r.status.as_u16(),
            body["data"].clone(),
            body["meta"].clone(),
        ));
    }
    out
}

fn queries(from: i64, to: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for step in ["1m", "5m", "1h"] {
        for aggregation in ["avg", "min", "max", "sum", "count"] {
            for group in [None, Some("host"), Some("kind")] {
                let mut body = json!({"query": METRIC, "start": from, "end": to, "step": step, "aggregation": aggregation});
                if let Some(g) = group {
                    body["groupBy"] = json!([g]);
                }
                out.push(body);
            }
        }
    }
    // A range starting inside an hour and ending inside a minute of another day.
    out.push(json!({"query": METRIC, "start": from + 17 * MINUTE + 5_000, "end": to + 90 * MINUTE, "step": "1m", "aggregation": "avg"}));
    out
}

fn assert_all_same(
    queries: &[Value],
    before: &[(u16, Value, Value)],
    after: &[(u16, Value, Value)],
) {
    for ((q, b), a) in queries.iter().zip(before).zip(after) {
        assert_eq!(b.0, 200, "{q}: {}", b.1);
        assert_eq!(a.0, 200, "{q}: {}", a.1);
        assert_ne!(
            b.2["table"], "points",
            "{q}: answered from rollups: {}",
            b.2
        );
        assert!(
            b.1.as_array().is_some_and(|points| !points.is_empty()),
            "{q}: an empty answer proves nothing"
        );
        assert_same(q, &b.1, &a.1);
    }
}

#[actix_web::test]
async fn compacted_rollup_days_answer_the_same_and_take_late_points() {
    let app = rollup_blocks_app().await;
    let now = now_ms();
    let today = now.div_euclid(DAY) * DAY;
    let yesterday = today - DAY;
    // Yesterday's last three hours: a whole closed day for the rollup compactor.
    let (from, to) = (today - 3 * HOUR, today);
    let mut points = Vec::new();
    for s in 0..8 {
        let host = format!("h{s}");
        let mut v = 50.0f64;
        let mut t = from + 3_000 + s * 100;
        let mut k = 0u64;
        while t < to {
            k += 1;
            v = if s % 2 == 0 {
                (((v + ((k * 7919 + s as u64) % 601) as f64 / 100.0 - 3.0).clamp(0.0, 100.0))
                    * 100.0)
                    .round()
                    / 100.0
            } else {
                v + ((k * 104_729) % 200) as f64
            };
            points.push((host.clone(), t, v));
            t += if s == 3 {
                7_000 + (k as i64 % 5) * 1_000
            } else {
                10_000
            };
        }
    }
    send(&app, &points).await;
    crate::helpers::eventually(Duration::from_secs(60), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM points")
            .fetch_one(&app.db)
            .await
            .unwrap();
        if n as usize == points.len() {
            Ok(())
        } else {
            Err(format!("{n} of {} stored", points.len()))
        }
    })
    .await;
    compact_every_range(&app).await;
    app.maintenance.run_rollups().await.unwrap();
    let qs = queries(from, to);
    let before = answers(&app, &qs).await;
    assert!(minute_rows_count(&app, yesterday).await > 0);

    let report = app.maintenance.run_rollup_compaction().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!((report.days, report.merged_days), (2, 2), "{report:?}");
    assert_eq!(
        minute_rows_count(&app, yesterday).await,
        0,
        "minute rows given up"
    );
    let hour_rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM rollup_1h WHERE bucket >= $1 AND bucket < $2")
            .bind(chrono::DateTime::from_timestamp_millis(yesterday).unwrap())
            .bind(chrono::DateTime::from_timestamp_millis(today).unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(hour_rows, 0, "hour rows given up");
    let (blocks, buckets): (i64, i64) =
        sqlx::query_as("SELECT count(*), sum(buckets)::bigint FROM rollup_1m_blocks")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(blocks, 8, "one minute block per series and day");
    assert_eq!(buckets, 8 * 180, "every minute of the three hours");
    let external: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT a.attstorage::text FROM pg_attribute a JOIN pg_inherits i ON i.inhrelid = a.attrelid
         WHERE i.inhparent IN ('rollup_1m_blocks'::regclass, 'rollup_1h_blocks'::regclass) AND a.attname = 'data'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        external,
        vec!["e".to_string()],
        "block data is STORAGE EXTERNAL"
    );
    let after = answers(&app, &qs).await;
    assert_all_same(&qs, &before, &after);
    // A second round finds nothing to do.
    let again = app.maintenance.run_rollup_compaction().await.unwrap();
    assert_eq!(
        (again.days, again.merged_days, again.failures),
        (0, 0, 0),
        "{again:?}"
    );

    // A late point into the compacted day: its minute and hour are recomputed into
    // rows, which win over the blocks at once.
    let late_t = today - 30 * MINUTE + 1_234;
    send(&app, &[("h0".to_string(), late_t, 4242.0)]).await;
    let count_queries = vec![
        json!({"query": METRIC, "start": from, "end": to, "step": "1m", "aggregation": "count", "tags": {"host": "h0"}}),
        json!({"query": METRIC, "start": from, "end": to, "step": "1h", "aggregation": "max", "tags": {"host": "h0"}}),
        json!({"query": METRIC, "start": from, "end": to, "step": "1h", "aggregation": "sum", "groupBy": ["kind"]}),
    ];
    let total = |answer: &Value| -> f64 {
        answer
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_f64().unwrap())
            .sum()
    };
    let h0_before = total(
        &before[qs
            .iter()
            .position(|q| {
                q["step"] == "1m" && q["aggregation"] == "count" && q.get("groupBy").is_none()
            })
            .unwrap()]
        .1,
    );
    crate::helpers::eventually(Duration::from_secs(60), || async {
        app.maintenance.run_rollups().await.unwrap();
        let a = answers(&app, &count_queries[..1]).await;
        let n = total(&a[0].1);
        let expected = points.iter().filter(|p| p.0 == "h0").count() as f64 + 1.0;
        if n == expected {
            Ok(())
        } else {
            Err(format!("h0 counts {n} points at 1 m, expected {expected}"))
        }
    })
    .await;
    assert!(h0_before > 0.0);
    // The answer above may have come from raw points while the minute was still dirty
    // (the planner reads raw past the materialised rollups): recompute now.
    app.maintenance.run_rollups().await.unwrap();
    let dirty: i64 = sqlx::query_scalar("SELECT count(*) FROM rollup_dirty")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(dirty, 0, "the late point's minute and hour are recomputed");
    let with_late = answers(&app, &count_queries).await;
    let max_hour = with_late[1].1.as_array().unwrap().last().unwrap()["value"]
        .as_f64()
        .unwrap();
    assert!(max_hour >= 4242.0, "hour max {max_hour}");
    let pending: Vec<(i16, bool)> =
        sqlx::query_as("SELECT tier, has_rows FROM rollup_block_days ORDER BY tier")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        pending,
        vec![(1, true), (2, true)],
        "late rows wait for a merge"
    );

    let merged = app.maintenance.run_rollup_compaction().await.unwrap();
    assert_eq!(
        (merged.days, merged.merged_days, merged.failures),
        (0, 2, 0),
        "{merged:?}"
    );
    assert_eq!(
        minute_rows_count(&app, yesterday).await,
        0,
        "late rows merged"
    );
    let after_merge = answers(&app, &count_queries).await;
    for ((q, a), b) in count_queries.iter().zip(&with_late).zip(&after_merge) {
        assert_eq!(a.0, 200, "{q}");
        assert_same(q, &a.1, &b.1);
    }

    let metrics = app.get("/metrics").await.text();
    assert!(
        prometheus_sum(
            &metrics,
            "vigil_storage_bytes",
            &[("tier", "rollup_1m_blocks")]
        ) > 0.0
    );
    assert!(prometheus_sum(&metrics, "vigil_rollup_compaction_days_total", &[]) >= 6.0);

    // Retention drops the rollup block partitions whose whole period has expired (a
    // cutoff two days ahead expires yesterday's minute blocks).
    let set = PartitionSet::default();
    let cutoff = chrono::DateTime::from_timestamp_millis(today + 2 * DAY).unwrap();
    let dropped = drop_expired(
        &app.db,
        &set,
        PartitionedTable::Rollup1mBlocks,
        cutoff,
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap();
    let day_name = format!(
        "rollup_1m_blocks_p{}",
        chrono::DateTime::from_timestamp_millis(yesterday)
            .unwrap()
            .format("%Y%m%d")
    );
    assert!(dropped.contains(&day_name), "{dropped:?}");
    vigil::store::rollup_blocks::forget_expired(
        &app.db,
        cutoff,
        cutoff - chrono::Duration::days(400),
    )
    .await
    .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM rollup_1m_blocks")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0, "expired minute blocks are gone");
    let days: Vec<i16> = sqlx::query_scalar("SELECT tier FROM rollup_block_days")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(days, vec![2], "the hour tier keeps its days longer");
    app.cleanup().await;
}

/// The metric's points every 10 s over `[from, to)` for h0 (value i) and h5 (2 i).
fn two_hosts(from: i64, to: i64) -> Vec<(String, i64, f64)> {
    (0..(to - from) / 10_000)
        .flat_map(|i| {
            [
                ("h0".to_string(), from + i * 10_000, i as f64),
                ("h5".to_string(), from + i * 10_000, 2.0 * i as f64),
            ]
        })
        .collect()
}

/// Points of the metric stored anywhere (rows, blocks, late points) in the last days.
async fn stored_points(app: &TestApp) -> usize {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM series WHERE metric = $1")
        .bind(METRIC)
        .fetch_all(&app.db)
        .await
        .unwrap();
    let range = vigil::model::TimeRange {
        start_ms: now_ms() - 3 * DAY,
        end_ms: now_ms(),
    };
    vigil::store::samples::read_raw(&app.db, &ids, range)
        .await
        .unwrap()
        .iter()
        .map(|s| s.len())
        .sum()
}

#[actix_web::test]
async fn a_corrupt_rollup_block_fails_only_the_requests_and_passes_that_read_it() {
    let app = rollup_blocks_app().await;
    let today = now_ms().div_euclid(DAY) * DAY;
    // Day `a` (yesterday) holds the corrupt block; day `b` (the day before) does not.
    let (a, b) = (today - DAY, today - 2 * DAY);
    let mut points = two_hosts(a + DAY - 3 * HOUR, a + DAY);
    points.extend(two_hosts(b + DAY - 3 * HOUR, b + DAY));
    send(&app, &points).await;
    eventually(Duration::from_secs(60), || async {
        match stored_points(&app).await {
            n if n == points.len() => Ok(()),
            n => Err(format!("{n} of {} stored", points.len())),
        }
    })
    .await;
    compact_every_range(&app).await;
    app.maintenance.run_rollups().await.unwrap();
    let report = app.maintenance.run_rollup_compaction().await.unwrap();
    assert_eq!(
        (report.days, report.merged_days, report.failures),
        (4, 4, 0),
        "both days of both tiers compacted and their rows given up: {report:?}"
    );
    let h0: i64 = sqlx::query_scalar("SELECT id FROM series WHERE labels->>'host' = 'h0'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let day_a = chrono::DateTime::from_timestamp_millis(a)
        .unwrap()
        .date_naive();
    let corrupted = sqlx::query("UPDATE rollup_1m_blocks SET data = overlay(data placing '\\xdeadbeefdeadbeef'::bytea from 8) WHERE series_id = $1 AND day = $2")
        .bind(h0)
        .bind(day_a)
        .execute(&app.db)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(corrupted, 1, "h0's minute block of day a");
    let metrics = |text: &str| {
        (
            prometheus_sum(text, "vigil_compaction_decode_errors_total", &[]),
            prometheus_sum(text, "vigil_actor_restarts_total", &[]),
            prometheus_sum(text, "vigil_rollup_compaction_failures_total", &[]),
        )
    };
    let (errors_before, restarts_before, failures_before) =
        metrics(&app.get("/metrics").await.text());

    let minutes = |host: &str, day: i64| json!({"query": METRIC, "start": day + DAY - 3 * HOUR, "end": day + DAY, "step": "1m", "aggregation": "max", "tags": {"host": host}});
    // More failures in a row than open the query circuit breaker: a corrupt block is
    // bad data in one place, not a sick database, and must not shut out other queries.
    for _ in 0..=app.settings.query.breaker_failures {
        app.query(&minutes("h0", a)).await.assert_error(
            500,
            "INTERNAL_ERROR",
            "a query over h0's corrupt minute block",
        );
    }
    let both = json!({"query": METRIC, "start": a + DAY - 3 * HOUR, "end": a + DAY, "step": "5m", "aggregation": "sum"});
    app.query(&both)
        .await
        .assert_error(500, "INTERNAL_ERROR", "a query over every host of day a");
    let sound = |body: &Value, table: &str, buckets: usize, context: &str| {
        assert_eq!(body["meta"]["table"], table, "{context}: {}", body["meta"]);
        assert_eq!(
            body["data"].as_array().map(Vec::len),
            Some(buckets),
            "{context}: {body}"
        );
    };
    let r = app.query(&minutes("h5", a)).await;
    r.assert_status(200, "another series of the corrupt day");
    sound(&r.json(), "rollup_1m", 180, "h5 on day a");
    let r = app.query(&minutes("h0", b)).await;
    r.assert_status(200, "the corrupt series on another day");
    sound(&r.json(), "rollup_1m", 180, "h0 on day b");
    // The hour tier's own block of the day is sound.
    let hours = json!({"query": METRIC, "start": b, "end": today, "step": "1h", "aggregation": "count", "tags": {"host": "h0"}});
    let r = app.query(&hours).await;
    r.assert_status(200, "h0's hours over both days");
    sound(&r.json(), "rollup_1h", 6, "h0's hours");

    let (errors_after, ..) = metrics(&app.get("/metrics").await.text());
    assert!(
        errors_after > errors_before,
        "the decode errors counter: {errors_before} -> {errors_after}"
    );
    // The operator is told which block: table, series and day.
    let named = |line: &String| {
        line.contains("rollup_1m_blocks")
            && line.contains(&format!("series_id={h0}"))
            && line.contains(&format!("start_ms={a}"))
            && line.contains(&format!("end_ms={}", a + DAY))
    };
    let errors = logged_errors();
    assert!(
        errors.iter().any(named),
        "expected an ERROR naming rollup_1m_blocks, series {h0} and [{a}, {}); got {:?}",
        a + DAY,
        errors.iter().rev().take(10).collect::<Vec<_>>()
    );

    // Late points into the corrupt day: their minutes are recomputed from raw points,
    // but the hour recompute (from the day's minute blocks) and the merge of the new
    // minute rows into the blocks read the corrupt block. Each fails its pass, logged,
    // and is retried; neither actor stops.
    let late_t = a + DAY - 30 * MINUTE + 1_234;
    send(
        &app,
        &[
            ("h0".to_string(), late_t, 4242.0),
            ("h5".to_string(), late_t, 4242.0),
        ],
    )
    .await;
    eventually(Duration::from_secs(60), || async {
        match stored_points(&app).await {
            n if n == points.len() + 2 => Ok(()),
            n => Err(format!("{n} of {} stored", points.len() + 2)),
        }
    })
    .await;
    for attempt in 0..2 {
        let error = app
            .maintenance
            .run_rollups()
            .await
            .expect_err("the hour recompute of day a reads the corrupt minute block");
        assert!(
            format!("{error:#}").contains(&format!("series {h0}")),
            "attempt {attempt}: {error:#}"
        );
        let report = app.maintenance.run_rollup_compaction().await.unwrap();
        assert_eq!(
            (report.merged_days, report.failures),
            (0, 1),
            "attempt {attempt}: the minute merge of day a fails, nothing else to do: {report:?}"
        );
    }
    // The late minute rows win over the blocks at once for the sound series.
    let r = app.query(&minutes("h5", a)).await;
    r.assert_status(200, "h5 on day a with a late point");
    let max = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["value"].as_f64())
        .fold(f64::MIN, f64::max);
    assert_eq!(
        max, 4242.0,
        "h5's late point is visible from its minute row"
    );
    app.query(&minutes("h0", a)).await.assert_error(
        500,
        "INTERNAL_ERROR",
        "h0's corrupt minute block, late row or not",
    );
    let r = app.query(&minutes("h0", b)).await;
    r.assert_status(
        200,
        "the corrupt series on another day, after the failed passes",
    );
    sound(&r.json(), "rollup_1m", 180, "h0 on day b");

    let (errors_end, restarts_end, failures_end) = metrics(&app.get("/metrics").await.text());
    assert!(errors_end > errors_after, "{errors_after} -> {errors_end}");
    assert_eq!(
        restarts_end, restarts_before,
        "no actor restarted over a corrupt block"
    );
    assert!(
        failures_end >= failures_before + 2.0,
        "the failed merges are counted: {failures_before} -> {failures_end}"
    );
    app.get("/health")
        .await
        .assert_status(200, "health with a corrupt rollup block");
    app.cleanup().await;
}
