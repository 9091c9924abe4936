//! Dashboard query functions: groupBy, rate over counters (with resets) and
//! percentiles, checked against values worked out by hand.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with};

const MINUTE: i64 = 60_000;

fn bucket_start() -> i64 {
    (chrono::Utc::now().timestamp_millis() - 30 * MINUTE) / (10 * MINUTE) * (10 * MINUTE)
}

#[actix_web::test]
async fn group_by_returns_one_series_per_tag_combination() {
    let app = spawn_app_with(|s| s.query.max_series = 2).await;
    let t = bucket_start();
    let mut points = Vec::new();
    for (host, dc, value) in [("a", "x", 1.0), ("b", "x", 2.0), ("c", "y", 4.0)] {
        points.push(json!({"name": "fn.group", "value": value, "tags": {"host": host, "dc": dc}, "timestamp": t + 1000}));
    }
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "ingest");
    app.wait_for_points("fn.group", 3).await;

    let body = json!({"query": "fn.group", "start": t, "end": t + MINUTE, "step": "1m", "aggregation": "sum", "groupBy": ["dc"]});
    let response = app.query(&body).await;
    response.assert_status(200, "groupBy dc");
    let json = response.json();
    let mut groups: Vec<(String, f64)> = json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["tags"]["dc"].as_str().unwrap().to_string(),
                g["data"][0]["value"].as_f64().unwrap(),
            )
        })
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        groups,
        vec![("x".to_string(), 3.0), ("y".to_string(), 4.0)],
        "{json}"
    );
    assert_eq!(json["meta"]["truncated"], false);

    let body = json!({"query": "fn.group", "start": t, "end": t + MINUTE, "step": "1m", "aggregation": "sum", "groupBy": ["host"]});
    let json = app.query(&body).await.json();
    assert_eq!(
        json["data"].as_array().unwrap().len(),
        2,
        "capped at query.max_series: {json}"
    );
    assert_eq!(json["meta"]["truncated"], true, "{json}");

    let bad = json!({"query": "fn.group", "start": t, "end": t + MINUTE, "groupBy": ["no spaces"]});
    app.query(&bad)
        .await
        .assert_error(400, "VALIDATION_ERROR", "bad groupBy key");
    app.cleanup().await;
}

#[actix_web::test]
async fn rate_is_the_per_second_increase_with_counter_resets() {
    let app = spawn_app().await;
    let t = bucket_start();
    // Counter c1: 0, 10, 20, reset to 5, 15 (every 10 s): increases 10 + 10 + 5 + 10 = 35.
    // Counter c2: 100, 130 (30 s apart): increase 30. The first sample of each has no
    // predecessor inside the lookback, so it adds nothing.
    let mut points = Vec::new();
    for (i, v) in [0.0, 10.0, 20.0, 5.0, 15.0].iter().enumerate() {
        points.push(json!({"name": "fn.counter", "value": v, "tags": {"host": "c1"}, "timestamp": t + i as i64 * 10_000}));
    }
    for (i, v) in [100.0, 130.0].iter().enumerate() {
        points.push(json!({"name": "fn.counter", "value": v, "tags": {"host": "c2"}, "timestamp": t + i as i64 * 30_000}));
    }
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "ingest");
    app.wait_for_points("fn.counter", 7).await;
    let body = json!({"query": "fn.counter", "start": t, "end": t + MINUTE, "step": "1m", "aggregation": "rate"});
    let response = app.query(&body).await;
    response.assert_status(200, "rate");
    let json = response.json();
    let value = json["data"][0]["value"].as_f64().unwrap();
    assert!(
        (value - 65.0 / 60.0).abs() < 1e-9,
        "rate: want {}, got {value}: {json}",
        65.0 / 60.0
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn percentiles_come_from_raw_points() {
    let app = spawn_app().await;
    let t = bucket_start();
    let points: Vec<Value> = (1..=100)
        .map(|i| json!({"name": "fn.latency", "value": i as f64, "tags": {"host": "p"}, "timestamp": t + i * 100}))
        .collect();
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "ingest");
    app.wait_for_points("fn.latency", 100).await;
    for (aggregation, want) in [("p50", 50.5), ("p90", 90.1), ("p99", 99.01)] {
        let body = json!({"query": "fn.latency", "start": t, "end": t + MINUTE, "step": "1m", "aggregation": aggregation});
        let json = app.query(&body).await.json();
        let got = json["data"][0]["value"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9,
            "{aggregation}: want {want}, got {got}: {json}"
        );
        assert_eq!(json["meta"]["table"], "points");
        assert!(
            json["meta"]["note"]
                .as_str()
                .is_some_and(|n| n.contains("raw")),
            "meta says raw was used: {json}"
        );
    }
    app.cleanup().await;
}
