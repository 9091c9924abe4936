//! `POST /api/v1/metrics`: what is accepted is stored exactly, what is rejected is
//! reported by index and never stored, and size limits hold without unbounded memory.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

use crate::helpers::*;

/// Ten flush intervals of the test settings: "nothing more arrives" is checked that long.
const QUIET_WINDOW: Duration = Duration::from_secs(1);

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts a 202 reply `{"accepted", "rejected", "errors": [{"index", "reason"}]}`
/// whose rejected indexes are exactly `rejected_indexes`.
fn assert_accepted(
    response: &TestResponse,
    accepted: usize,
    rejected_indexes: &[usize],
    context: &str,
) {
    response.assert_status(202, context);
    let body = response.json();
    assert_eq!(
        body["accepted"].as_u64(),
        Some(accepted as u64),
        "{context}: expected accepted = {accepted}; got {body}"
    );
    assert_eq!(
        body["rejected"].as_u64(),
        Some(rejected_indexes.len() as u64),
        "{context}: expected rejected = {}; got {body}",
        rejected_indexes.len()
    );
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: expected an \"errors\" array; got {body}"));
    let indexes: Vec<u64> = errors.iter().filter_map(|e| e["index"].as_u64()).collect();
    let expected: Vec<u64> = rejected_indexes.iter().map(|&i| i as u64).collect();
    assert_eq!(
        indexes, expected,
        "{context}: expected errors at indexes {expected:?}; got {body}"
    );
    for error in errors {
        assert!(
            error["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{context}: expected a non-empty reason in every error; got {error}"
        );
    }
}

/// Posts one valid sentinel point after the requests under test, waits until it is
/// stored, then checks for a quiet window that the database holds the sentinel only.
/// The sentinel proves the writers ran past whatever the earlier requests published.
async fn assert_only_sentinel_stored(app: &TestApp, context: &str) {
    let sentinel = json!([{"name": "sentinel_point", "value": 1.0}]);
    assert_accepted(&app.post_metrics(&sentinel).await, 1, &[], "sentinel");
    app.wait_for_points("sentinel_point", 1).await;
    consistently(QUIET_WINDOW, || async {
        let total = app.total_points().await;
        let metrics: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT metric FROM series ORDER BY 1")
                .fetch_all(&app.db)
                .await
                .unwrap();
        if total == 1 && metrics == ["sentinel_point"] {
            Ok(())
        } else {
            Err(format!(
                "{context}: expected only the sentinel point in PostgreSQL; found {total} points \
                 of metrics {metrics:?}"
            ))
        }
    })
    .await;
}

#[actix_web::test]
async fn valid_points_are_stored_with_their_tags_and_timestamps() {
    let app = spawn_app().await;
    let t0 = hour_start_ms(1);
    let body = json!([
        point("ingest.ok:total", 1.5, &[("host", "a"), ("region", "eu")], t0),
        point("ingest.ok:total", -2.25, &[("region", "eu"), ("host", "a")], t0 + 10_000),
        point("ingest.ok:total", 7.0, &[("host", "b")], t0 + 10_000),
        {"name": "ingest.ok:total", "value": 3, "timestamp": t0 + 20_000},
        {"name": "ingest.ok:total", "value": 1e300, "tags": {}, "timestamp": t0 + 30_000},
    ]);

    let response = app.post_metrics(&body).await;

    assert_accepted(&response, 5, &[], "five valid points");
    let stored = app.wait_for_points("ingest.ok:total", 5).await;
    let p = |labels: BTreeMap<String, String>, time_ms, value| StoredPoint {
        metric: "ingest.ok:total".into(),
        labels,
        time_ms,
        value,
    };
    let expected = vec![
        p(labels(&[("host", "a"), ("region", "eu")]), t0, 1.5),
        p(
            labels(&[("host", "a"), ("region", "eu")]),
            t0 + 10_000,
            -2.25,
        ),
        p(labels(&[("host", "b")]), t0 + 10_000, 7.0),
        p(labels(&[]), t0 + 20_000, 3.0),
        p(labels(&[]), t0 + 30_000, 1e300),
    ];
    assert_eq!(stored, expected, "stored points differ from the ones sent");
    let series: i64 = sqlx::query_scalar("SELECT count(*) FROM series")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        series, 3,
        "expected 3 series (tag order must not create a new series); found {series}"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_point_without_timestamp_is_stored_at_the_time_it_was_received() {
    let app = spawn_app().await;
    let before = now_ms();
    let response = app
        .post_metrics(&json!([{"name": "no_ts", "value": 42.0}]))
        .await;
    let after = now_ms();

    assert_accepted(&response, 1, &[], "a point without timestamp");
    let stored = app.wait_for_points("no_ts", 1).await;
    let t = stored[0].time_ms;
    assert!(
        (before - 1000..=after + 1000).contains(&t),
        "expected the stored time within [{before}, {after}] (±1 s); got {t}"
    );
    assert_eq!(stored[0].value, 42.0);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_partial_batch_reports_the_invalid_indexes_and_stores_the_rest() {
    let app = spawn_app().await;
    let t0 = hour_start_ms(1);
    let old = now_ms() - 8 * 86_400_000;
    let future = now_ms() + 3_600_000;
    let items: Vec<(Value, bool)> = vec![
        (point("partial", 0.0, &[("host", "a")], t0), true),
        (point("1partial", 1.0, &[("host", "a")], t0), false),
        (point("partial", 2.0, &[("host", "a")], t0 + 10_000), true),
        (point("partial", 3.0, &[("request_id", "abc")], t0), false),
        (point("partial", 4.0, &[("host", "b")], t0), true),
        (point("partial", 5.0, &[("host", "a")], old), false),
        (point("partial", 6.0, &[("__reserved", "x")], t0), false),
        (point("partial", 7.0, &[("host", "a")], future), false),
        (point("partial", 8.0, &[("host", "c")], t0 + 20_000), true),
        (point("partial", 9.0, &[("host", "")], t0), false),
    ];
    let body = Value::Array(items.iter().map(|(v, _)| v.clone()).collect());
    let bad: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, (_, ok))| !ok)
        .map(|(i, _)| i)
        .collect();

    let response = app.post_metrics(&body).await;

    assert_accepted(
        &response,
        items.len() - bad.len(),
        &bad,
        "a batch of valid and invalid points",
    );
    let stored = app.wait_for_points("partial", 4).await;
    let values: Vec<f64> = stored.iter().map(|p| p.value).collect();
    assert_eq!(
        values,
        vec![0.0, 4.0, 2.0, 8.0],
        "expected exactly the valid points (by time); got {stored:?}"
    );
    consistently(QUIET_WINDOW, || async {
        match app.total_points().await {
            4 => Ok(()),
            n => Err(format!(
                "expected the 4 valid points only; found {n} points"
            )),
        }
    })
    .await;
    app.cleanup().await;
}

#[actix_web::test]
async fn structurally_wrong_points_are_reported_by_index_without_sinking_the_batch() {
    let app = spawn_app().await;
    let t0 = hour_start_ms(1);
    let body = format!(
        r#"[
            {{"name": "shape", "value": 1.0, "timestamp": {t0}}},
            {{"name": "shape", "value": "2.0", "timestamp": {t0}}},
            {{"name": "shape", "value": null, "timestamp": {t0}}},
            {{"value": 3.0, "timestamp": {t0}}},
            {{"name": "shape", "timestamp": {t0}}},
            "a string",
            {{"name": "shape", "value": 4.0, "tags": ["a"], "timestamp": {t0}}},
            {{"name": "shape", "value": 5.0, "tags": {{"k": 5}}, "timestamp": {t0}}},
            {{"name": "shape", "value": 6.0, "timestamp": "yesterday"}},
            {{"name": "shape", "value": 1e400, "timestamp": {t0}}},
            {{"name": "shape", "value": 7.0, "timestamp": {t1}}}
        ]"#,
        t1 = t0 + 10_000
    );

    let response = app
        .post_raw(
            "/api/v1/metrics",
            body,
            &[("Content-Type", "application/json")],
        )
        .await;

    assert_accepted(
        &response,
        2,
        &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        "a batch with malformed elements",
    );
    let stored = app.wait_for_points("shape", 2).await;
    let values: Vec<f64> = stored.iter().map(|p| p.value).collect();
    assert_eq!(
        values,
        vec![1.0, 7.0],
        "expected the two well-formed points; got {stored:?}"
    );
    app.cleanup().await;
}

/// One request that must be refused whole.
struct BadCase {
    what: &'static str,
    body: String,
}

fn bad_cases(now: i64) -> Vec<BadCase> {
    let t = now - 60_000;
    let one = |what: &'static str, point: Value| BadCase {
        what,
        body: json!([point]).to_string(),
    };
    let raw = |what: &'static str, body: &str| BadCase {
        what,
        body: body.to_string(),
    };
    let long = |n: usize| "a".repeat(n);
    let many_tags: serde_json::Map<String, Value> =
        (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    vec![
        raw("truncated JSON", r#"[{"name": "bad_truncated", "value": 1"#),
        raw("not JSON at all", "hello"),
        raw("an empty body", ""),
        raw(
            "an object instead of an array",
            r#"{"name": "bad_object", "value": 1}"#,
        ),
        raw("an empty array", "[]"),
        raw("an array of numbers", "[1, 2, 3]"),
        raw(
            "trailing garbage",
            r#"[{"name": "bad_trailing", "value": 1}] x"#,
        ),
        raw(
            "a value out of f64 range",
            &format!(r#"[{{"name": "bad_range", "value": 1e400, "timestamp": {t}}}]"#),
        ),
        one(
            "an empty name",
            json!({"name": "", "value": 1, "timestamp": t}),
        ),
        one(
            "a name starting with a digit",
            json!({"name": "1bad", "value": 1, "timestamp": t}),
        ),
        one(
            "a name with a dash",
            json!({"name": "bad-name", "value": 1, "timestamp": t}),
        ),
        one(
            "a name with a space",
            json!({"name": "bad name", "value": 1, "timestamp": t}),
        ),
        one(
            "a name with a slash",
            json!({"name": "bad/name", "value": 1, "timestamp": t}),
        ),
        one(
            "a name of max_name_len + 1 bytes",
            json!({"name": long(201), "value": 1, "timestamp": t}),
        ),
        one(
            "a name that is a number",
            json!({"name": 5, "value": 1, "timestamp": t}),
        ),
        one("a missing name", json!({"value": 1, "timestamp": t})),
        one(
            "a value given as a string",
            json!({"name": "bad_value_str", "value": "1.5", "timestamp": t}),
        ),
        one(
            "a null value",
            json!({"name": "bad_value_null", "value": null, "timestamp": t}),
        ),
        one(
            "a missing value",
            json!({"name": "bad_value_missing", "timestamp": t}),
        ),
        one(
            "a boolean value",
            json!({"name": "bad_value_bool", "value": true, "timestamp": t}),
        ),
        one(
            "max_tags + 1 tags",
            json!({"name": "bad_many_tags", "value": 1, "tags": many_tags, "timestamp": t}),
        ),
        one(
            "a tag key starting with a digit",
            json!({"name": "bad_key_digit", "value": 1, "tags": {"1k": "v"}, "timestamp": t}),
        ),
        one(
            "a tag key with a dash",
            json!({"name": "bad_key_dash", "value": 1, "tags": {"bad-key": "v"}, "timestamp": t}),
        ),
        one(
            "a tag key with a colon",
            json!({"name": "bad_key_colon", "value": 1, "tags": {"a:b": "v"}, "timestamp": t}),
        ),
        one(
            "an empty tag key",
            json!({"name": "bad_key_empty", "value": 1, "tags": {"": "v"}, "timestamp": t}),
        ),
        one(
            "a tag key of max_tag_key_len + 1 bytes",
            json!({"name": "bad_key_long", "value": 1, "tags": {long(101): "v"}, "timestamp": t}),
        ),
        one(
            "an empty tag value",
            json!({"name": "bad_tag_empty", "value": 1, "tags": {"host": ""}, "timestamp": t}),
        ),
        one(
            "a tag value of max_tag_value_len + 1 bytes",
            json!({"name": "bad_tag_long", "value": 1, "tags": {"host": long(201)}, "timestamp": t}),
        ),
        one(
            "a tag value that is a number",
            json!({"name": "bad_tag_number", "value": 1, "tags": {"host": 5}, "timestamp": t}),
        ),
        one(
            "tags that are an array",
            json!({"name": "bad_tags_array", "value": 1, "tags": ["host"], "timestamp": t}),
        ),
        one(
            "the tag key request_id",
            json!({"name": "bad_request_id", "value": 1, "tags": {"request_id": "r1"}, "timestamp": t}),
        ),
        one(
            "the tag key trace_id",
            json!({"name": "bad_trace_id", "value": 1, "tags": {"trace_id": "t1"}, "timestamp": t}),
        ),
        one(
            "the tag key span_id",
            json!({"name": "bad_span_id", "value": 1, "tags": {"span_id": "s1"}, "timestamp": t}),
        ),
        one(
            "the tag key uuid",
            json!({"name": "bad_uuid", "value": 1, "tags": {"uuid": "u1"}, "timestamp": t}),
        ),
        one(
            "the tag key timestamp",
            json!({"name": "bad_timestamp_key", "value": 1, "tags": {"timestamp": "1"}, "timestamp": t}),
        ),
        one(
            "a tag key containing request_id",
            json!({"name": "bad_http_request_id", "value": 1, "tags": {"http_request_id": "r1"}, "timestamp": t}),
        ),
        one(
            "a reserved tag key __name__",
            json!({"name": "bad_reserved", "value": 1, "tags": {"__name__": "x"}, "timestamp": t}),
        ),
        one(
            "a reserved tag key __x",
            json!({"name": "bad_reserved_x", "value": 1, "tags": {"__x": "x"}, "timestamp": t}),
        ),
        one(
            "a timestamp older than max_age",
            json!({"name": "bad_old", "value": 1, "timestamp": now - 8 * 86_400_000}),
        ),
        one(
            "a timestamp beyond max_future",
            json!({"name": "bad_future", "value": 1, "timestamp": now + 3_600_000}),
        ),
        one(
            "a timestamp given as a string",
            json!({"name": "bad_ts_string", "value": 1, "timestamp": "2026-01-01T00:00:00Z"}),
        ),
        one(
            "a negative timestamp",
            json!({"name": "bad_ts_negative", "value": 1, "timestamp": -1}),
        ),
        raw(
            "two points, both invalid",
            &json!([
                {"name": "bad both", "value": 1, "timestamp": t},
                {"name": "bad_both", "value": "x", "timestamp": t}
            ])
            .to_string(),
        ),
    ]
}

#[actix_web::test]
async fn every_invalid_request_is_refused_with_400_and_stores_nothing() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for case in bad_cases(now_ms()) {
        let response = app
            .post_raw(
                "/api/v1/metrics",
                case.body.clone(),
                &[("Content-Type", "application/json")],
            )
            .await;
        let body: Option<Value> = serde_json::from_slice(&response.body).ok();
        let code = body
            .as_ref()
            .and_then(|b| b["code"].as_str().map(String::from));
        let has_error_text = body
            .as_ref()
            .is_some_and(|b| b["error"].as_str().is_some_and(|e| !e.is_empty()));
        if response.status.as_u16() != 400
            || code.as_deref() != Some("VALIDATION_ERROR")
            || !has_error_text
        {
            failures.push(format!(
                "{}: expected 400 {{\"error\": .., \"code\": \"VALIDATION_ERROR\"}}; got {}",
                case.what,
                response.describe()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the bad requests were not refused as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_only_sentinel_stored(&app, "after refused requests").await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_refused_point_is_explained_in_details() {
    let app = spawn_app().await;
    let response = app
        .post_metrics(&json!([
            {"name": "bad name", "value": 1},
            {"name": "fine", "value": "x"}
        ]))
        .await;
    response.assert_error(400, "VALIDATION_ERROR", "two invalid points");
    let body = response.json();
    let details = body["details"].to_string();
    assert!(
        !body["details"].is_null() && details.contains('0') && details.contains('1'),
        "expected \"details\" to give the errors of points 0 and 1; got {body}"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn limits_are_inclusive_and_backfilled_points_get_a_partition() {
    let app = spawn_app().await;
    let now = now_ms();
    let t = now - 60_000;
    let sixteen_tags: serde_json::Map<String, Value> = (0..16)
        .map(|i| (format!("k{i}"), json!(format!("v{i}"))))
        .collect();
    let six_days_ago = now - 6 * 86_400_000;
    let in_five_minutes = now + 5 * 60_000;
    let body = json!([
        {"name": "a".repeat(200), "value": 1, "timestamp": t},
        {"name": "edge", "value": 2, "tags": sixteen_tags, "timestamp": t},
        {"name": "edge", "value": 3, "tags": {"k".repeat(100): "v".repeat(200)}, "timestamp": t},
        {"name": "_edge.sub:x_1", "value": 4, "tags": {"_k.sub_1": "any value: with / symbols ünïcode"}, "timestamp": t},
        {"name": "edge", "value": 5, "timestamp": six_days_ago},
        {"name": "edge", "value": 6, "timestamp": in_five_minutes},
    ]);

    let response = app.post_metrics(&body).await;

    assert_accepted(
        &response,
        6,
        &[],
        "points exactly at the limits, a backfilled and a future point",
    );
    let edge = app.wait_for_points("edge", 4).await;
    let times: Vec<(f64, i64)> = edge.iter().map(|p| (p.value, p.time_ms)).collect();
    assert_eq!(
        times,
        vec![
            (5.0, six_days_ago),
            (2.0, t),
            (3.0, t),
            (6.0, in_five_minutes)
        ],
        "expected the backfilled and the future point stored at their own times"
    );
    app.wait_for_points(&"a".repeat(200), 1).await;
    let special = app.wait_for_points("_edge.sub:x_1", 1).await;
    assert_eq!(
        special[0].labels.get("_k.sub_1").map(String::as_str),
        Some("any value: with / symbols ünïcode"),
        "tag values are stored verbatim"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_gzip_body_is_decompressed_and_stored() {
    let app = spawn_app().await;
    let t0 = hour_start_ms(2);
    // Large enough to take many reads from the decoder.
    let points: Vec<Value> = (0..2000)
        .map(|i| {
            point(
                "gz_metric",
                i as f64,
                &[("host", &format!("h{}", i % 7))],
                t0 + (i / 7) * 10_000,
            )
        })
        .collect();
    let plain = serde_json::to_vec(&Value::Array(points)).unwrap();

    let response = app.post_metrics_gzip(gzip(&plain)).await;

    assert_accepted(&response, 2000, &[], "2000 points, gzip");
    let stored = app.wait_for_points("gz_metric", 2000).await;
    let mut values: Vec<f64> = stored.iter().map(|p| p.value).collect();
    values.sort_by(f64::total_cmp);
    assert_eq!(
        values,
        (0..2000).map(|i| i as f64).collect::<Vec<_>>(),
        "every gzip point stored once"
    );

    let partial = gzip(
        json!([{"name": "gz_two", "value": 1}, {"name": "bad name", "value": 1}])
            .to_string()
            .as_bytes(),
    );
    assert_accepted(
        &app.post_metrics_gzip(partial).await,
        1,
        &[1],
        "a gzip batch with an invalid point",
    );
    app.wait_for_points("gz_two", 1).await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_corrupt_or_invalid_gzip_body_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "bytes that are not gzip",
            b"[{\"name\": \"not_gzip\", \"value\": 1}]".to_vec(),
        ),
        ("a truncated gzip stream", {
            let full = gzip(
                json!([{"name": "truncated_gz", "value": 1}])
                    .to_string()
                    .as_bytes(),
            );
            full[..full.len() / 2].to_vec()
        }),
        ("gzip of invalid JSON", gzip(b"[{\"name\": ")),
        (
            "gzip of an all-invalid batch",
            gzip(json!([{"name": "1bad", "value": 1}]).to_string().as_bytes()),
        ),
    ];
    let mut failures = Vec::new();
    for (what, body) in cases {
        let response = app.post_metrics_gzip(body).await;
        let code = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|b| b["code"].as_str().map(String::from));
        if response.status.as_u16() != 400 || code.as_deref() != Some("VALIDATION_ERROR") {
            failures.push(format!(
                "{what}: expected 400 VALIDATION_ERROR; got {}",
                response.describe()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_only_sentinel_stored(&app, "after refused gzip bodies").await;
    app.cleanup().await;
}

fn points_body(metric: &str, n: usize) -> Vec<u8> {
    let t = now_ms() - 60_000;
    let points: Vec<Value> = (0..n)
        .map(|i| point(metric, i as f64, &[("host", &format!("host-{i:06}"))], t))
        .collect();
    serde_json::to_vec(&Value::Array(points)).unwrap()
}

#[actix_web::test]
async fn bodies_over_the_size_limits_are_refused_with_413() {
    const MAX_BODY: usize = 64 * 1024;
    const MAX_DECOMPRESSED: usize = 256 * 1024;
    let app = spawn_app_with(|s| {
        s.http.max_body_bytes = MAX_BODY;
        s.http.max_decompressed_bytes = MAX_DECOMPRESSED;
    })
    .await;
    let json_header = [("Content-Type", "application/json")];
    let oversized = points_body("too_big", 1500);
    assert!(oversized.len() > MAX_BODY && oversized.len() < MAX_DECOMPRESSED);
    let inflated = points_body("too_big", 4000);
    let inflated_gz = gzip(&inflated);
    assert!(inflated.len() > MAX_DECOMPRESSED && inflated_gz.len() < MAX_BODY);

    let mut failures = Vec::new();
    let mut check = |what: &str, outcome: Result<TestResponse, String>| match outcome {
        Ok(r)
            if r.status.as_u16() == 413
                && serde_json::from_slice::<Value>(&r.body)
                    .ok()
                    .and_then(|b| b["code"].as_str().map(String::from))
                    .as_deref()
                    == Some("PAYLOAD_TOO_LARGE") => {}
        Ok(r) => failures.push(format!(
            "{what}: expected 413 PAYLOAD_TOO_LARGE; got {}",
            r.describe()
        )),
        Err(e) => failures.push(format!(
            "{what}: expected 413 PAYLOAD_TOO_LARGE; got no response: {e}"
        )),
    };
    check(
        "a plain body over max_body_bytes (Content-Length)",
        app.try_post_raw("/api/v1/metrics", oversized.clone(), &json_header)
            .await,
    );
    let chunks: Vec<Result<Bytes, std::io::Error>> = oversized
        .chunks(8 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    check(
        "a plain body over max_body_bytes (chunked, no Content-Length)",
        app.post_stream(
            "/api/v1/metrics",
            futures_util::stream::iter(chunks),
            &json_header,
        )
        .await,
    );
    check(
        "a gzip body over max_body_bytes",
        app.try_post_raw(
            "/api/v1/metrics",
            gzip(&oversized)
                .into_iter()
                .chain(std::iter::repeat_n(0u8, MAX_BODY))
                .collect::<Vec<u8>>(),
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
        )
        .await,
    );
    check(
        "a gzip body that inflates beyond max_decompressed_bytes",
        app.try_post_raw(
            "/api/v1/metrics",
            inflated_gz,
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
        )
        .await,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Just under the limit is fine: the limit refuses size, not everything.
    let fits = points_body("fits", 400);
    assert!(fits.len() < MAX_BODY);
    let response = app.post_raw("/api/v1/metrics", fits, &json_header).await;
    assert_accepted(&response, 400, &[], "a body under max_body_bytes");
    app.wait_for_points("fits", 400).await;
    consistently(QUIET_WINDOW, || async {
        match app.stored_points("too_big").await.len() {
            0 => Ok(()),
            n => Err(format!(
                "expected no points of refused bodies stored; found {n}"
            )),
        }
    })
    .await;
    app.cleanup().await;
}

/// 1 GiB of JSON whitespace after `[`, gzip-compressed to about 1 MiB: a valid JSON
/// prefix, so only the decompressed-size limit can stop it.
fn gzip_bomb() -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(2 << 20), Compression::best());
    encoder.write_all(b"[").unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..1024 {
        encoder.write_all(&spaces).unwrap();
    }
    encoder.write_all(b"]").unwrap();
    encoder.finish().unwrap()
}

#[actix_web::test]
async fn a_gzip_bomb_is_refused_with_413_in_bounded_memory() {
    const MAX_DECOMPRESSED: usize = 16 << 20;
    const BOMB: u64 = 1 << 30;
    let app = spawn_app_with(|s| s.http.max_decompressed_bytes = MAX_DECOMPRESSED).await;
    let bomb = tokio::task::spawn_blocking(gzip_bomb).await.unwrap();
    assert!(
        bomb.len() < app.settings.http.max_body_bytes,
        "the bomb must pass the wire-size limit: {} bytes",
        bomb.len()
    );
    let gzip_headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
    ];

    let peak_was_reset = reset_peak_memory();
    let (peak_before, _) = memory_kib();
    let with_length = app
        .try_post_raw("/api/v1/metrics", bomb.clone(), &gzip_headers)
        .await;
    let chunks: Vec<Result<Bytes, std::io::Error>> = bomb
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let streamed = app
        .post_stream(
            "/api/v1/metrics",
            futures_util::stream::iter(chunks),
            &gzip_headers,
        )
        .await;
    let (peak_after, rss_after) = memory_kib();

    for (what, outcome) in [
        ("with Content-Length", with_length),
        ("streamed (chunked)", streamed),
    ] {
        match outcome {
            Ok(r) => r.assert_error(
                413,
                "PAYLOAD_TOO_LARGE",
                &format!("a 1 GiB gzip bomb, {what}"),
            ),
            Err(e) => panic!(
                "a 1 GiB gzip bomb, {what}: expected 413 PAYLOAD_TOO_LARGE; got no response: {e}"
            ),
        }
    }
    let growth_kib = peak_after.saturating_sub(peak_before);
    let bound_kib = 192 * 1024;
    eprintln!(
        "gzip bomb: {} KiB compressed; peak RSS {peak_before} -> {peak_after} KiB (reset: {peak_was_reset})",
        bomb.len() / 1024
    );
    assert!(
        growth_kib < bound_kib,
        "expected the peak RSS of the test process (server in-process) to grow by less than \
         {bound_kib} KiB while refusing a {} KiB bomb (max_decompressed_bytes = {} KiB); \
         it grew by {growth_kib} KiB (VmHWM {peak_before} -> {peak_after} KiB, VmRSS now \
         {rss_after} KiB, peak reset: {peak_was_reset})",
        BOMB / 1024,
        MAX_DECOMPRESSED / 1024,
    );
    assert_eq!(app.total_points().await, 0, "a refused bomb stores nothing");
    app.cleanup().await;
}

#[actix_web::test]
async fn more_points_than_max_points_per_request_is_413() {
    let app = spawn_app_with(|s| {
        s.ingest.max_points_per_request = 10;
        s.ingest.max_points_per_message = 4;
    })
    .await;
    let json_header = [("Content-Type", "application/json")];

    let response = app
        .post_raw("/api/v1/metrics", points_body("too_many", 11), &json_header)
        .await;
    response.assert_error(
        413,
        "PAYLOAD_TOO_LARGE",
        "11 points with max_points_per_request = 10",
    );
    let response = app
        .post_raw(
            "/api/v1/metrics",
            points_body("too_many", 100_000),
            &json_header,
        )
        .await;
    response.assert_error(
        413,
        "PAYLOAD_TOO_LARGE",
        "100,000 points with max_points_per_request = 10",
    );

    let response = app
        .post_raw(
            "/api/v1/metrics",
            points_body("exactly_max", 10),
            &json_header,
        )
        .await;
    assert_accepted(
        &response,
        10,
        &[],
        "exactly max_points_per_request points (split over 3 messages)",
    );
    let stored = app.wait_for_points("exactly_max", 10).await;
    let series: std::collections::BTreeSet<_> = stored.iter().map(|p| p.labels.clone()).collect();
    assert_eq!(
        series.len(),
        10,
        "expected 10 distinct series; got {stored:?}"
    );
    consistently(QUIET_WINDOW, || async {
        match app.stored_points("too_many").await.len() {
            0 => Ok(()),
            n => Err(format!(
                "expected nothing stored from refused requests; found {n} points"
            )),
        }
    })
    .await;
    app.cleanup().await;
}
