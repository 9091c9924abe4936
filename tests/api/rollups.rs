//! Rollup tiers: answers from rollups equal answers computed from the raw points (with
//! random, late and out-of-order data), late data corrects materialised buckets,
//! routing picks the documented tier, retention drops exactly the expired partitions.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A point the test sent: (host, time, value).
type Sent = (String, i64, f64);

async fn rollup_app() -> TestApp {
    spawn_app_with(|s| {
        s.rollup.settle = Duration::from_secs(1);
        // Rounds run when the test asks, so it knows what is materialised.
        s.rollup.interval = Duration::from_secs(3600);
        s.query.cache_ttl_live = Duration::from_secs(1);
        s.query.cache_ttl_historical = Duration::from_secs(1);
    })
    .await
}

async fn send(app: &TestApp, metric: &str, points: &[Sent]) {
    for chunk in points.chunks(400) {
        let body: Vec<Value> = chunk
            .iter()
            .map(|(host, t, v)| json!({"name": metric, "value": v, "tags": {"host": host}, "timestamp": t}))
            .collect();
        app.post_metrics(&Value::Array(body))
            .await
            .assert_status(202, "ingest for the rollup test");
    }
}

/// What the answer must be, computed from the sent points alone.
fn expected(
    points: &[Sent],
    hosts: Option<&str>,
    start: i64,
    end: i64,
    step: i64,
    aggregation: &str,
) -> BTreeMap<i64, f64> {
    let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (host, t, v) in points {
        if *t >= start && *t < end && hosts.is_none_or(|h| h == host) {
            buckets
                .entry(t.div_euclid(step) * step)
                .or_default()
                .push(*v);
        }
    }
    buckets
        .into_iter()
        .map(|(b, vs)| {
            let value = match aggregation {
                "min" => vs.iter().cloned().fold(f64::INFINITY, f64::min),
                "max" => vs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                "sum" => vs.iter().sum(),
                "count" => vs.len() as f64,
                _ => vs.iter().sum::<f64>() / vs.len() as f64,
            };
            (b, value)
        })
        .collect()
}

fn answer(body: &Value) -> BTreeMap<i64, f64> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array in {body}"))
        .iter()
        .map(|p| {
            let t = chrono::DateTime::parse_from_rfc3339(p["time"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            (t, p["value"].as_f64().unwrap())
        })
        .collect()
}

#[actix_web::test]
async fn rollup_answers_equal_raw_answers_with_late_and_out_of_order_data() {
    let app = rollup_app().await;
    let seed: u64 = rand::random();
    let mut rng = StdRng::seed_from_u64(seed);
    let metric = "roll.prop";
    let hosts = ["h1", "h2", "h3", "h4"];
    let now = now_ms();
    // Data spans the last ~5 h and stops 2 minutes ago (older than the settle time).
    let oldest = now - 5 * HOUR;
    let newest = now - 2 * MINUTE;
    let mut points: Vec<Sent> = Vec::new();
    for host in hosts {
        for _ in 0..rng.random_range(150..300) {
            let t = rng.random_range(oldest..newest) / 1000 * 1000;
            points.push((host.to_string(), t, rng.random_range(-50..=50) as f64));
        }
    }
    points.shuffle(&mut rng);
    // Identical (series, time) pairs would make the expectation depend on which one
    // the database keeps; both are stored, so they are fine, but keep values distinct
    // per request chunk by construction above.
    send(&app, metric, &points).await;
    app.wait_for_points(metric, points.len()).await;
    let computed = app.maintenance.run_rollups().await.expect("rollup round");
    assert!(
        computed > 0,
        "the downsampler computed no bucket (seed {seed})"
    );

    // Late data for minutes and hours that are already materialised.
    let mut late: Vec<Sent> = Vec::new();
    for _ in 0..60 {
        let host = hosts[rng.random_range(0..hosts.len())];
        let t = rng.random_range(oldest..newest - HOUR) / 1000 * 1000 + 1;
        late.push((host.to_string(), t, rng.random_range(100..=200) as f64));
    }
    send(&app, metric, &late).await;
    points.extend(late);
    app.wait_for_points(metric, points.len()).await;
    app.maintenance
        .run_rollups()
        .await
        .expect("second rollup round");

    let mut rollup_answers = 0;
    for case in 0..40 {
        let (len, step) = match rng.random_range(0..4) {
            0 => (rng.random_range(2..=5) * HOUR, MINUTE),
            1 => (rng.random_range(2..=5) * HOUR, 5 * MINUTE),
            2 => (rng.random_range(2..=6) * HOUR, 15 * MINUTE),
            _ => (26 * HOUR, HOUR),
        };
        let end = (now - rng.random_range(0..60) * MINUTE) / MINUTE * MINUTE;
        let start = end - len;
        let aggregation = ["avg", "min", "max", "sum", "count"][rng.random_range(0..5)];
        let host = if rng.random_bool(0.3) {
            Some(hosts[rng.random_range(0..hosts.len())])
        } else {
            None
        };
        let mut body = json!({"query": metric, "start": start, "end": end, "aggregation": aggregation,
            "step": format!("{}m", step / MINUTE)});
        if let Some(h) = host {
            body["tags"] = json!({"host": h});
        }
        let response = app.query(&body).await;
        response.assert_status(200, "rollup query");
        let json = response.json();
        let tiers = json["meta"]["tiers"].to_string();
        if tiers.contains("rollup_") {
            rollup_answers += 1;
        }
        let got = answer(&json);
        let want = expected(&points, host, start, end, step, aggregation);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "case {case} (seed {seed}): buckets differ for {body} answered by {tiers}"
        );
        for (bucket, w) in &want {
            let g = got[bucket];
            let ok = if aggregation == "avg" {
                (g - w).abs() <= 1e-9 * w.abs().max(1.0)
            } else {
                g == *w
            };
            assert!(ok, "case {case} (seed {seed}): bucket {bucket}: want {w}, got {g} for {body} answered by {tiers}");
        }
    }
    assert!(
        rollup_answers >= 10,
        "only {rollup_answers} of 40 answers used a rollup tier (seed {seed})"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn backfill_into_an_old_day_lands_and_corrects_its_rollups() {
    let app = rollup_app().await;
    let metric = "roll.backfill";
    let day = (now_ms() - 3 * 24 * HOUR) / HOUR * HOUR;
    let first: Vec<Sent> = (0..120)
        .map(|i| ("b1".to_string(), day + i * 30_000, i as f64))
        .collect();
    send(&app, metric, &first).await;
    app.wait_for_points(metric, first.len()).await;
    app.maintenance.run_rollups().await.expect("rollup round");
    let late: Vec<Sent> = (0..60)
        .map(|i| {
            (
                "b1".to_string(),
                day + i * 60_000 + 5_000,
                1000.0 + i as f64,
            )
        })
        .collect();
    send(&app, metric, &late).await;
    app.wait_for_points(metric, first.len() + late.len()).await;
    app.maintenance
        .run_rollups()
        .await
        .expect("rollup round after backfill");

    // Every 1-minute rollup row equals the aggregate of its raw points, and the hour too.
    let mismatches: i64 = sqlx::query_scalar(
        "WITH raw AS (
            SELECT series_id, date_bin('1 minute', time, TIMESTAMPTZ '1970-01-01+00') AS bucket,
                   min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count
            FROM points GROUP BY 1, 2)
         SELECT count(*) FROM raw FULL JOIN rollup_1m r USING (series_id, bucket)
         WHERE r.count IS DISTINCT FROM raw.count OR r.sum IS DISTINCT FROM raw.sum
            OR r.min IS DISTINCT FROM raw.min OR r.max IS DISTINCT FROM raw.max",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        mismatches, 0,
        "1-minute rollups differ from the raw points after a backfill"
    );
    let hour: (f64, i64) =
        sqlx::query_as("SELECT sum, count FROM rollup_1h WHERE bucket = to_timestamp($1 / 1000.0)")
            .bind(day)
            .fetch_one(&app.db)
            .await
            .expect("the backfilled hour has a 1-hour rollup");
    let want_sum: f64 = first.iter().chain(late.iter()).map(|p| p.2).sum();
    assert_eq!(
        hour,
        (want_sum, 180),
        "the 1-hour rollup includes the late points"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn routing_picks_the_documented_tier() {
    let app = rollup_app().await;
    let now = now_ms() / MINUTE * MINUTE;
    for (len, table) in [
        (30 * MINUTE, "points"),
        (6 * HOUR, "rollup_1m"),
        (3 * 24 * HOUR, "rollup_1h"),
        (60 * 24 * HOUR, "rollup_1h"),
    ] {
        let response = app.query(&json!({"query": "roll.route", "start": now - len, "end": now, "aggregation": "avg"})).await;
        response.assert_status(200, "routing query");
        let meta = &response.json()["meta"];
        assert_eq!(
            meta["table"],
            table,
            "range of {} min: {meta}",
            len / MINUTE
        );
    }
    // A 10 s step over 6 h reads raw points: never a tier coarser than the step.
    let response = app
        .query(&json!({"query": "roll.route", "start": now - 6 * HOUR, "end": now, "step": "10s"}))
        .await;
    assert_eq!(response.json()["meta"]["table"], "points");
    // An hour 10 days ago is past raw retention (7 d): the 1-minute tier answers.
    let old = now - 10 * 24 * HOUR;
    let response = app
        .query(&json!({"query": "roll.route", "start": old - HOUR, "end": old, "step": "1m"}))
        .await;
    assert_eq!(response.json()["meta"]["table"], "rollup_1m");
    // Percentiles need raw points: over a range raw no longer holds, a clear 400.
    let response = app
        .query(
            &json!({"query": "roll.route", "start": old - HOUR, "end": old, "aggregation": "p99"}),
        )
        .await;
    response.assert_error(400, "VALIDATION_ERROR", "percentile beyond raw retention");
    app.cleanup().await;
}

#[actix_web::test]
async fn retention_drops_exactly_the_expired_partitions() {
    let app = rollup_app().await;
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| today - chrono::Days::new(n);
    let create = |table: &str, name: String, from: chrono::NaiveDate, to: chrono::NaiveDate| {
        format!("CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES FROM ('{from}') TO ('{to}')")
    };
    let d = |n: u64| (day(n), day(n - 1));
    let mut statements = Vec::new();
    for n in [10u64, 8, 7, 6, 2] {
        let (from, to) = d(n);
        statements.push(create(
            "points",
            format!("points_p{}", from.format("%Y%m%d")),
            from,
            to,
        ));
    }
    for n in [40u64, 31, 29] {
        let (from, to) = d(n);
        statements.push(create(
            "rollup_1m",
            format!("rollup_1m_p{}", from.format("%Y%m%d")),
            from,
            to,
        ));
    }
    let old_month = (today - chrono::Days::new(400)).with_day(1).unwrap();
    let recent_month = (today - chrono::Days::new(100)).with_day(1).unwrap();
    for month in [old_month, recent_month] {
        let next = month.checked_add_months(chrono::Months::new(1)).unwrap();
        statements.push(create(
            "rollup_1h",
            format!("rollup_1h_p{}", month.format("%Y%m")),
            month,
            next,
        ));
    }
    for statement in &statements {
        sqlx::query(statement)
            .execute(&app.db)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    // A point in a kept partition must survive.
    sqlx::query("INSERT INTO points VALUES (1, now() - interval '6 days', 42)")
        .execute(&app.db)
        .await
        .unwrap();

    let mut dropped = app
        .maintenance
        .run_retention()
        .await
        .expect("retention round");
    dropped.sort();
    let mut want = vec![
        format!("points_p{}", day(10).format("%Y%m%d")),
        format!("points_p{}", day(8).format("%Y%m%d")),
        format!("rollup_1h_p{}", old_month.format("%Y%m")),
        format!("rollup_1m_p{}", day(40).format("%Y%m%d")),
        format!("rollup_1m_p{}", day(31).format("%Y%m%d")),
    ];
    want.sort();
    assert_eq!(dropped, want, "retention dropped the wrong partitions");
    let remaining: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for kept in [
        // Day 7 ends 6 days ago at midnight: part of it is younger than 7 days.
        format!("points_p{}", day(7).format("%Y%m%d")),
        format!("points_p{}", day(6).format("%Y%m%d")),
        format!("points_p{}", day(2).format("%Y%m%d")),
        format!("rollup_1m_p{}", day(29).format("%Y%m%d")),
        format!("rollup_1h_p{}", recent_month.format("%Y%m")),
    ] {
        assert!(
            remaining.contains(&kept),
            "{kept} was dropped or never existed: {remaining:?}"
        );
    }
    let survivors: i64 = sqlx::query_scalar("SELECT count(*) FROM points WHERE value = 42")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(survivors, 1, "a point inside retention was lost");
    app.cleanup().await;
}

use chrono::Datelike;
