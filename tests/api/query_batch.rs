//! `POST /api/v1/query/batch`, incremental `since` and label `matchers`: every batch
//! answer equals the single query's answer exactly (raw, 1-minute and 1-hour tiers,
//! groupBy, rate, percentiles), an incremental answer equals the tail of the full one,
//! identical queries are computed once, and errors stay with their query.

use serde_json::{json, Value};

use crate::helpers::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const HOSTS: [&str; 3] = ["web-1", "web-2", "db-1"];

/// 30 hours of one point a minute per host, ending 2 hours ago; a counter-like series
/// `b.count` (with a reset) for rate. Values are multiples of 0.25, so sums are exact
/// in f64 whatever order the tiers add them in.
async fn seeded_app() -> (TestApp, i64) {
    let app = spawn_app_with(|s| {
        s.rollup.settle = std::time::Duration::from_secs(1);
        s.rollup.interval = std::time::Duration::from_secs(3600);
    })
    .await;
    let end = hour_start_ms(2);
    let start = end - 30 * HOUR;
    let mut body = Vec::new();
    for (h, host) in HOSTS.iter().enumerate() {
        let zone = if h == 2 { "b" } else { "a" };
        let mut counter = 0.0;
        for k in 0..(30 * 60) {
            let t = start + k * MINUTE + h as i64 * 7_000;
            let v = ((k * 7 + h as i64 * 13) % 41) as f64 * 0.25;
            body.push(json!({"name": "b.cpu", "value": v, "tags": {"host": host, "zone": zone}, "timestamp": t}));
            counter = if k == 900 { 1.0 } else { counter + v };
            body.push(json!({"name": "b.count", "value": counter, "tags": {"host": host}, "timestamp": t}));
        }
    }
    for chunk in body.chunks(2000) {
        app.post_metrics(&Value::Array(chunk.to_vec()))
            .await
            .assert_status(202, "seed points");
    }
    app.wait_for_points("b.cpu", HOSTS.len() * 30 * 60).await;
    app.wait_for_points("b.count", HOSTS.len() * 30 * 60).await;
    app.maintenance.run_rollups().await.expect("rollup round");
    (app, end)
}

async fn batch(app: &TestApp, body: &Value) -> TestResponse {
    app.call(
        "POST",
        "/api/v1/query/batch",
        Some(body),
        &Auth::Bearer(app.admin_token.clone()),
    )
    .await
}

/// The single query's answer with `cached` dropped (a repeat may come from the cache).
async fn single(app: &TestApp, query: &Value) -> Value {
    let response = app.query(query).await;
    response.assert_status(200, &format!("single query {query}"));
    let mut body = response.json();
    body["meta"]
        .as_object_mut()
        .expect("meta object")
        .remove("cached");
    body
}

fn without_cached(answer: &Value) -> Value {
    let mut answer = answer.clone();
    if let Some(meta) = answer["meta"].as_object_mut() {
        meta.remove("cached");
    }
    answer
}

/// Queries of a dashboard, with ids.
fn panels() -> Vec<(&'static str, Value)> {
    vec![
        ("avg", json!({"query": "b.cpu", "aggregation": "avg"})),
        (
            "sum-5m",
            json!({"query": "b.cpu", "aggregation": "sum", "step": "5m"}),
        ),
        (
            "max-host",
            json!({"query": "b.cpu", "aggregation": "max", "groupBy": ["host"], "step": "1h"}),
        ),
        (
            "count-zone",
            json!({"query": "b.cpu", "aggregation": "count", "tags": {"zone": "a"}, "step": "1h"}),
        ),
        (
            "p90",
            json!({"query": "b.cpu", "aggregation": "p90", "step": "1h"}),
        ),
        (
            "rate",
            json!({"query": "b.count", "aggregation": "rate", "groupBy": ["host"], "step": "1h"}),
        ),
        (
            "web-re",
            json!({"query": "b.cpu", "aggregation": "min", "step": "1h",
            "matchers": [{"label": "host", "op": "=~", "value": "web-.*"}]}),
        ),
    ]
}

fn with_range(query: &Value, start: i64, end: i64) -> Value {
    let mut q = query.clone();
    q["start"] = json!(start);
    q["end"] = json!(end);
    q
}

#[actix_web::test]
async fn batch_answers_equal_single_queries_on_every_tier() {
    let (app, end) = seeded_app().await;
    // (range, the tier that must answer most of it)
    for (start, table) in [
        (end - HOUR, "points"),
        (end - 12 * HOUR, "rollup_1m"),
        (end - 30 * HOUR, "rollup_1h"),
    ] {
        let queries: Vec<Value> = panels()
            .into_iter()
            .map(|(id, mut q)| {
                q["id"] = json!(id);
                q
            })
            .collect();
        let response = batch(
            &app,
            &json!({"start": start, "end": rfc3339(end), "queries": queries}),
        )
        .await;
        response.assert_status(200, "batch");
        let body = response.json();
        let answers = body["data"].as_array().expect("data array");
        assert_eq!(
            answers.len(),
            panels().len(),
            "one answer per query: {body}"
        );
        let mut non_empty = 0;
        for ((id, query), answer) in panels().into_iter().zip(answers) {
            assert_eq!(answer["id"], id, "answers come in request order");
            assert!(answer.get("error").is_none(), "{id} failed: {answer}");
            let want = single(&app, &with_range(&query, start, end)).await;
            let got = without_cached(answer);
            assert_eq!(got["data"], want["data"], "{id} over {table}: data differs");
            assert_eq!(got["meta"], want["meta"], "{id} over {table}: meta differs");
            if !got["data"].as_array().unwrap().is_empty() {
                non_empty += 1;
            }
        }
        assert_eq!(
            non_empty,
            panels().len(),
            "every query has data over {table}"
        );
        assert_eq!(
            answers[0]["meta"]["table"], table,
            "the default tier of this range: {}",
            answers[0]["meta"]
        );
        assert!(
            answers[0]["meta"]["tiers"]
                .as_array()
                .unwrap()
                .contains(&json!(table)),
            "{table} contributed: {}",
            answers[0]["meta"]
        );
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn identical_queries_are_computed_once_and_errors_stay_with_their_query() {
    let (app, end) = seeded_app().await;
    let start = end - 6 * HOUR;
    let response = batch(
        &app,
        &json!({"start": rfc3339(start), "end": end, "queries": [
            {"id": "a", "query": "b.cpu", "aggregation": "avg", "step": "10m"},
            {"id": "b", "query": "b.cpu", "aggregation": "avg", "step": "10m"},
            {"id": "c", "query": "b.cpu", "aggregation": "median"},
            {"id": "d", "query": "b.cpu", "aggregation": "avg", "step": "10m", "tags": {}},
            {"id": "e", "query": "b.cpu", "matchers": [{"label": "host", "op": "=~", "value": "("}]},
            {"id": "f", "query": "b.cpu", "aggregation": 7},
            {"id": "g", "query": "b.cpu", "aggregation": "max", "step": "10m"}
        ]}),
    )
    .await;
    response.assert_status(200, "a batch with failing queries still answers");
    let body = response.json();
    let answers = body["data"].as_array().unwrap();
    assert_eq!(
        body["meta"],
        json!({"queries": 7, "computed": 2}),
        "a, b and d are one query, g another; c, e and f are invalid: {body}"
    );
    assert_eq!(answers[0]["data"], answers[1]["data"]);
    assert_eq!(answers[0]["data"], answers[3]["data"]);
    assert_eq!(answers[0]["data"].as_array().unwrap().len(), 36);
    assert_ne!(answers[0]["data"], answers[6]["data"]);
    for (i, field) in [(2, "aggregation"), (4, "matchers")] {
        let error = &answers[i]["error"];
        assert_eq!(error["code"], "VALIDATION_ERROR", "{}", answers[i]);
        assert_eq!(error["details"]["field"], field, "{}", answers[i]);
        assert!(answers[i].get("data").is_none());
    }
    assert_eq!(
        answers[5]["error"]["code"], "VALIDATION_ERROR",
        "{}",
        answers[5]
    );
    assert_eq!(answers[5]["id"], "f");

    // The batch itself is refused only for what makes it unanswerable.
    let ok = json!({"id": "x", "query": "b.cpu"});
    for (what, body) in [
        (
            "no queries",
            json!({"start": start, "end": end, "queries": []}),
        ),
        (
            "duplicate ids",
            json!({"start": start, "end": end, "queries": [ok, ok]}),
        ),
        (
            "missing id",
            json!({"start": start, "end": end, "queries": [{"query": "b.cpu"}]}),
        ),
        (
            "long id",
            json!({"start": start, "end": end, "queries": [{"id": "x".repeat(65), "query": "b.cpu"}]}),
        ),
        (
            "bad range",
            json!({"start": end, "end": start, "queries": [ok]}),
        ),
        (
            "too many",
            json!({"start": start, "end": end, "queries": (0..51).map(|i| json!({"id": i.to_string(), "query": "b.cpu"})).collect::<Vec<_>>()}),
        ),
    ] {
        batch(&app, &body)
            .await
            .assert_error(400, "VALIDATION_ERROR", what);
    }
    app.call(
        "POST",
        "/api/v1/query/batch",
        Some(&json!({"start": start, "end": end, "queries": [ok]})),
        &Auth::None,
    )
    .await
    .assert_status(401, "batch needs a reader");
    app.cleanup().await;
}

/// Buckets of `data` (single or grouped) at or after `from`.
fn tail(data: &Value, from: i64) -> Value {
    let keep = |points: &Value| -> Value {
        Value::Array(
            points
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| parse_time_ms(&p["time"]).unwrap() >= from)
                .cloned()
                .collect(),
        )
    };
    match data.as_array().and_then(|a| a.first()) {
        Some(first) if first.get("tags").is_some() => Value::Array(
            data.as_array()
                .unwrap()
                .iter()
                .map(|g| json!({"tags": g["tags"], "data": keep(&g["data"])}))
                .collect(),
        ),
        _ => keep(data),
    }
}

#[actix_web::test]
async fn incremental_answers_equal_the_tail_of_the_full_answer() {
    let (app, end) = seeded_app().await;
    for (start, step_ms) in [
        (end - HOUR + 20_000, 60_000),
        (end - 12 * HOUR, 300_000),
        (end - 30 * HOUR, HOUR),
    ] {
        let step = format!("{}s", step_ms / 1000);
        for (id, query) in panels() {
            let mut query = query.clone();
            query["step"] = json!(step);
            let full = single(&app, &with_range(&query, start, end)).await;
            for since in [
                start - HOUR,
                start,
                start + 7 * step_ms + step_ms / 3,
                end - 3 * step_ms,
                end - 1,
                end + HOUR,
            ] {
                let mut incremental = with_range(&query, start, end);
                incremental["since"] = json!(since);
                let got = single(&app, &incremental).await;
                let from = since.div_euclid(step_ms) * step_ms;
                assert_eq!(
                    got["data"],
                    tail(&full["data"], from),
                    "{id} step {step} since {since}: not the tail of the full answer"
                );
                assert_eq!(got["meta"]["since"], from, "{id}: meta.since");
                let mut meta = got["meta"].clone();
                meta.as_object_mut().unwrap().remove("since");
                assert_eq!(meta, full["meta"], "{id}: otherwise the full query's meta");
                if since < end - step_ms && since >= start {
                    assert!(
                        !got["data"].as_array().unwrap().is_empty(),
                        "{id} since {since}: expected buckets"
                    );
                }
            }
        }
        // The same through the batch.
        let response = batch(
            &app,
            &json!({"start": start, "end": end, "queries": [
                {"id": "inc", "query": "b.cpu", "aggregation": "avg", "step": step, "since": end - 2 * step_ms}]}),
        )
        .await;
        response.assert_status(200, "incremental batch");
        let answer = &response.json()["data"][0];
        let full = single(
            &app,
            &with_range(
                &json!({"query": "b.cpu", "aggregation": "avg", "step": step}),
                start,
                end,
            ),
        )
        .await;
        assert_eq!(answer["data"], tail(&full["data"], end - 2 * step_ms));
        assert_eq!(answer["data"].as_array().unwrap().len(), 2);
    }
    app.cleanup().await;
}

fn hosts_of(body: &Value) -> Vec<String> {
    let mut hosts: Vec<String> = body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("grouped data expected: {body}"))
        .iter()
        .map(|g| g["tags"]["host"].as_str().unwrap_or("").to_string())
        .collect();
    hosts.sort();
    hosts
}

#[actix_web::test]
async fn matchers_select_series_with_prometheus_semantics() {
    let (app, end) = seeded_app().await;
    let start = end - HOUR;
    let ask = |matchers: Value, tags: Value| {
        json!({"query": "b.cpu", "start": start, "end": end, "aggregation": "count",
        "step": "1h", "groupBy": ["host"], "matchers": matchers, "tags": tags})
    };
    for (matchers, tags, want) in [
        (
            json!([{"label": "host", "op": "!=", "value": "web-1"}]),
            json!({}),
            vec!["db-1", "web-2"],
        ),
        (
            json!([{"label": "host", "op": "=~", "value": "web-1|db-1"}]),
            json!({}),
            vec!["db-1", "web-1"],
        ),
        // Anchored: "web" alone matches no host.
        (
            json!([{"label": "host", "op": "=~", "value": "web"}]),
            json!({}),
            vec![],
        ),
        (
            json!([{"label": "host", "op": "!~", "value": "web-.*"}]),
            json!({}),
            vec!["db-1"],
        ),
        (
            json!([{"label": "host", "op": "=~", "value": "web-.*"}]),
            json!({"zone": "a"}),
            vec!["web-1", "web-2"],
        ),
        (
            json!([{"label": "host", "op": "=", "value": "web-2"}, {"label": "zone", "op": "!=", "value": "a"}]),
            json!({}),
            vec![],
        ),
        // A missing label reads as "": every series lacks `rack`.
        (
            json!([{"label": "rack", "op": "=", "value": ""}]),
            json!({}),
            vec!["db-1", "web-1", "web-2"],
        ),
        (
            json!([{"label": "rack", "op": "=~", "value": ".+"}]),
            json!({}),
            vec![],
        ),
    ] {
        let response = app.query(&ask(matchers.clone(), tags.clone())).await;
        response.assert_status(200, &format!("matchers {matchers}"));
        let body = response.json();
        assert_eq!(hosts_of(&body), want, "matchers {matchers} tags {tags}");
        for group in body["data"].as_array().unwrap() {
            assert_eq!(
                group["data"][0]["value"], 60.0,
                "a full hour of points: {group}"
            );
        }
    }
    for bad in [
        json!([{"label": "host", "op": "=~", "value": "("}]),
        json!([{"label": "", "op": "=", "value": "x"}]),
    ] {
        let response = app.query(&ask(bad.clone(), json!({}))).await;
        response.assert_error(400, "VALIDATION_ERROR", &format!("{bad}"));
        assert_eq!(response.json()["details"]["field"], "matchers");
    }
    app.query(&ask(
        json!([{"label": "host", "op": "~", "value": "x"}]),
        json!({}),
    ))
    .await
    .assert_status(400, "unknown operator");
    app.cleanup().await;
}
