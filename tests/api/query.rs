//! `POST /api/v1/query`: aggregates computed independently here from the points the
//! test sent, compared bucket by bucket with what Vigil answers, over several series,
//! steps, tag filters and ranges, for points sent plain and gzip-compressed.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::helpers::*;

const SERIES: [&[(&str, &str)]; 4] = [
    &[("host", "a"), ("region", "eu")],
    &[("host", "b"), ("region", "eu")],
    &[("host", "c"), ("region", "us")],
    &[("env", "prod"), ("host", "d"), ("region", "us")],
];
const AGGREGATIONS: [&str; 5] = ["avg", "min", "max", "sum", "count"];
const STEPS: [(&str, i64); 4] = [
    ("10s", 10_000),
    ("1m", 60_000),
    ("5m", 300_000),
    ("1h", 3_600_000),
];

/// A point as the test sent it.
#[derive(Debug, Clone)]
struct Sent {
    labels: BTreeMap<String, String>,
    time_ms: i64,
    value: f64,
}

/// 30 minutes of 10 s points for each series, some series with gaps so buckets hold
/// different counts (which makes a wrong avg-of-avgs visible). Values are multiples
/// of 0.25 with small magnitude, so every sum is exact in f64 whatever the order.
fn dataset(base_ms: i64) -> Vec<Sent> {
    let mut sent = Vec::new();
    for (s, tags) in SERIES.iter().enumerate() {
        for k in 0..180i64 {
            let skip = match s {
                1 => k % 3 == 0,
                3 => (40..70).contains(&k),
                _ => false,
            };
            if skip {
                continue;
            }
            sent.push(Sent {
                labels: tags
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
                time_ms: base_ms + k * 10_000,
                value: ((k * 7 + s as i64 * 13) % 41) as f64 * 0.25 - 3.0 + s as f64,
            });
        }
    }
    sent
}

fn body_of(metric: &str, sent: &[Sent]) -> Value {
    Value::Array(
        sent.iter()
            .map(|p| json!({"name": metric, "value": p.value, "tags": p.labels, "timestamp": p.time_ms}))
            .collect(),
    )
}

/// The expected answer: buckets aligned to multiples of the step since the epoch,
/// points in `[start, end)` of series whose labels contain `filter`; only buckets
/// with data.
fn expected(
    sent: &[Sent],
    filter: &[(&str, &str)],
    start: i64,
    end: i64,
    step: i64,
    aggregation: &str,
) -> Vec<(i64, f64)> {
    let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for p in sent {
        let matches = filter
            .iter()
            .all(|(k, v)| p.labels.get(*k).map(String::as_str) == Some(*v));
        if matches && p.time_ms >= start && p.time_ms < end {
            buckets
                .entry(p.time_ms.div_euclid(step) * step)
                .or_default()
                .push(p.value);
        }
    }
    buckets
        .into_iter()
        .map(|(t, values)| {
            let sum: f64 = values.iter().sum();
            let value = match aggregation {
                "avg" => sum / values.len() as f64,
                "min" => values.iter().copied().fold(f64::INFINITY, f64::min),
                "max" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "sum" => sum,
                "count" => values.len() as f64,
                other => unreachable!("{other}"),
            };
            (t, value)
        })
        .collect()
}

fn matching_series(filter: &[(&str, &str)]) -> usize {
    SERIES
        .iter()
        .filter(|tags| filter.iter().all(|f| tags.contains(f)))
        .count()
}

/// Compares an answer with the expectation: times exact, values exact except avg
/// (one division, compared to 1e-9 relative).
fn compare(got: &[(i64, f64)], want: &[(i64, f64)], aggregation: &str) -> Result<(), String> {
    let close = |a: f64, b: f64| {
        if aggregation == "avg" {
            (a - b).abs() <= 1e-9 * b.abs().max(1.0)
        } else {
            a == b
        }
    };
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|((ta, va), (tb, vb))| ta == tb && close(*va, *vb));
    if same {
        return Ok(());
    }
    let first_difference = got
        .iter()
        .zip(want)
        .position(|((ta, va), (tb, vb))| ta != tb || !close(*va, *vb))
        .map(|i| {
            format!(
                "first difference at bucket {i}: got {:?}, expected {:?}",
                got[i], want[i]
            )
        })
        .unwrap_or_else(|| format!("got {} buckets, expected {}", got.len(), want.len()));
    Err(format!(
        "{first_difference}\n  got:      {got:?}\n  expected: {want:?}"
    ))
}

struct Case<'a> {
    metric: &'a str,
    start: i64,
    end: i64,
    step: (&'a str, i64),
    aggregation: &'a str,
    filter: &'a [(&'a str, &'a str)],
}

async fn run_case(app: &TestApp, sent: &[Sent], case: &Case<'_>) -> Result<(), String> {
    let mut request = json!({
        "query": case.metric,
        "start": rfc3339(case.start),
        "end": rfc3339(case.end),
        "aggregation": case.aggregation,
        "step": case.step.0,
    });
    if !case.filter.is_empty() {
        let tags: BTreeMap<&str, &str> = case.filter.iter().copied().collect();
        request["tags"] = json!(tags);
    }
    let label = format!(
        "{} {} step {} tags {:?} [{}, {})",
        case.metric,
        case.aggregation,
        case.step.0,
        case.filter,
        rfc3339(case.start),
        rfc3339(case.end)
    );
    let response = app.query(&request).await;
    if response.status.as_u16() != 200 {
        return Err(format!(
            "{label}: expected 200; got {}",
            response.describe()
        ));
    }
    let body = response.json();
    let got = series_of(&body).map_err(|e| format!("{label}: {e}"))?;
    let want = expected(
        sent,
        case.filter,
        case.start,
        case.end,
        case.step.1,
        case.aggregation,
    );
    compare(&got, &want, case.aggregation).map_err(|e| format!("{label}: {e}"))?;
    let meta = &body["meta"];
    let series = matching_series(case.filter) as u64;
    if meta["table"] != "points"
        || meta["resolution"] != "raw"
        || meta["step"] != case.step.0
        || meta["series"].as_u64() != Some(series)
        || !meta["cached"].is_boolean()
    {
        return Err(format!(
            "{label}: expected meta {{table: points, resolution: raw, step: {}, series: {series}, cached: bool}}; got {meta}",
            case.step.0
        ));
    }
    Ok(())
}

async fn ingest(app: &TestApp, metric: &str, sent: &[Sent], gzip_it: bool) {
    // Several requests, so the writers see several messages and batches.
    for chunk in sent.chunks(250) {
        let body = body_of(metric, chunk);
        let response = if gzip_it {
            app.post_metrics_gzip(gzip(body.to_string().as_bytes()))
                .await
        } else {
            app.post_metrics(&body).await
        };
        response.assert_status(
            202,
            &format!("ingest of {} points of {metric}", chunk.len()),
        );
        assert_eq!(
            response.json()["accepted"].as_u64(),
            Some(chunk.len() as u64),
            "{}",
            response.describe()
        );
    }
    app.wait_for_points(metric, sent.len()).await;
}

#[actix_web::test]
async fn aggregates_match_an_independent_computation() {
    let app = spawn_app_with(|s| s.ingest.max_points_per_message = 100).await;
    let base = hour_start_ms(2);
    let sent = dataset(base);
    ingest(&app, "q_cpu", &sent, false).await;

    let filters: [&[(&str, &str)]; 5] = [
        &[],
        &[("region", "eu")],
        &[("host", "c")],
        &[("region", "us"), ("env", "prod")],
        &[("region", "nowhere")],
    ];
    // The whole data set, and a range cut inside buckets of the larger steps.
    let ranges = [
        (base, base + 30 * 60_000),
        (base + 7 * 60_000, base + 23 * 60_000),
    ];
    let mut failures = Vec::new();
    let mut cases = 0;
    for &(start, end) in &ranges {
        for step in STEPS {
            for filter in filters {
                for aggregation in AGGREGATIONS {
                    let case = Case {
                        metric: "q_cpu",
                        start,
                        end,
                        step,
                        aggregation,
                        filter,
                    };
                    cases += 1;
                    if let Err(e) = run_case(&app, &sent, &case).await {
                        failures.push(e);
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} queries differ from the independent computation:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn points_sent_gzip_and_plain_answer_the_same() {
    let app = spawn_app().await;
    let base = hour_start_ms(3);
    let sent = dataset(base);
    ingest(&app, "q_plain", &sent, false).await;
    ingest(&app, "q_gzip", &sent, true).await;

    let mut failures = Vec::new();
    for metric in ["q_plain", "q_gzip"] {
        for step in [STEPS[1], STEPS[3]] {
            for filter in [&[][..], &[("region", "us")][..]] {
                for aggregation in AGGREGATIONS {
                    let case = Case {
                        metric,
                        start: base,
                        end: base + 30 * 60_000,
                        step,
                        aggregation,
                        filter,
                    };
                    if let Err(e) = run_case(&app, &sent, &case).await {
                        failures.push(e);
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.cleanup().await;
}

#[actix_web::test]
async fn times_may_be_given_as_milliseconds_and_the_range_is_aligned_to_10s() {
    let app = spawn_app().await;
    let base = hour_start_ms(2);
    let sent = dataset(base);
    ingest(&app, "q_ms", &sent, false).await;

    let as_text = app
        .query(&json!({"query": "q_ms", "start": rfc3339(base), "end": rfc3339(base + 600_000), "aggregation": "sum", "step": "1m"}))
        .await;
    let as_ms = app
        .query(&json!({"query": "q_ms", "start": base, "end": base + 600_000, "aggregation": "sum", "step": "1m"}))
        .await;
    as_text.assert_status(200, "RFC 3339 times");
    as_ms.assert_status(200, "ms times");
    let want = expected(&sent, &[], base, base + 600_000, 60_000, "sum");
    compare(&series_of(&as_text.json()).unwrap(), &want, "sum")
        .unwrap_or_else(|e| panic!("RFC 3339 times: {e}"));
    compare(&series_of(&as_ms.json()).unwrap(), &want, "sum")
        .unwrap_or_else(|e| panic!("ms times: {e}"));

    // [base + 3 s, base + 55 s) is widened to [base, base + 60 s): six 10 s points per series.
    let unaligned = app
        .query(&json!({"query": "q_ms", "start": base + 3_000, "end": base + 55_000, "aggregation": "count", "step": "1m"}))
        .await;
    unaligned.assert_status(200, "unaligned range");
    let want = expected(&sent, &[], base, base + 60_000, 60_000, "count");
    compare(&series_of(&unaligned.json()).unwrap(), &want, "count")
        .unwrap_or_else(|e| panic!("start rounded down and end rounded up to 10 s: {e}"));
    app.cleanup().await;
}

#[actix_web::test]
async fn invalid_queries_are_refused_with_400() {
    let app = spawn_app().await;
    let base = hour_start_ms(1);
    let start = rfc3339(base);
    let end = rfc3339(base + 600_000);
    let cases: Vec<(&str, Value)> = vec![
        (
            "an unknown aggregation",
            json!({"query": "m", "start": start, "end": end, "aggregation": "median", "step": "1m"}),
        ),
        (
            "SQL in the aggregation",
            json!({"query": "m", "start": start, "end": end, "aggregation": "avg(value)); DROP TABLE points; --", "step": "1m"}),
        ),
        (
            "a step that is not a duration",
            json!({"query": "m", "start": start, "end": end, "aggregation": "avg", "step": "7x"}),
        ),
        (
            "a zero step",
            json!({"query": "m", "start": start, "end": end, "aggregation": "avg", "step": "0s"}),
        ),
        (
            "SQL in the step",
            json!({"query": "m", "start": start, "end": end, "aggregation": "avg", "step": "1 minute'; DROP TABLE points; --"}),
        ),
        (
            "end equal to start",
            json!({"query": "m", "start": start, "end": start, "aggregation": "avg", "step": "1m"}),
        ),
        (
            "end before start",
            json!({"query": "m", "start": end, "end": start, "aggregation": "avg", "step": "1m"}),
        ),
        (
            "a start that is not a time",
            json!({"query": "m", "start": "yesterday", "end": end, "aggregation": "avg", "step": "1m"}),
        ),
        (
            "an end that is not a time",
            json!({"query": "m", "start": start, "end": true, "aggregation": "avg", "step": "1m"}),
        ),
        (
            "a missing start",
            json!({"query": "m", "end": end, "aggregation": "avg", "step": "1m"}),
        ),
        (
            "a missing query",
            json!({"start": start, "end": end, "aggregation": "avg", "step": "1m"}),
        ),
        (
            "an invalid metric name",
            json!({"query": "m'; DROP TABLE points; --", "start": start, "end": end, "aggregation": "avg", "step": "1m"}),
        ),
        (
            "far too many buckets",
            json!({"query": "m", "start": base - 6 * 86_400_000, "end": base, "aggregation": "avg", "step": "1s"}),
        ),
    ];
    let mut failures = Vec::new();
    for (what, body) in cases {
        let response = app.query(&body).await;
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
    let bearer = format!("Bearer {}", app.admin_token);
    let malformed = app
        .post_raw(
            "/api/v1/query",
            "{\"query\": ",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", bearer.as_str()),
            ],
        )
        .await;
    if malformed.status.as_u16() != 400 {
        failures.push(format!(
            "malformed JSON: expected 400; got {}",
            malformed.describe()
        ));
    }
    assert!(
        failures.is_empty(),
        "{} invalid queries were not refused as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let still_there: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_class WHERE relname = 'points'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        still_there, 1,
        "the points table must survive the injection attempts"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_metric_without_data_answers_an_empty_result() {
    let app = spawn_app().await;
    let base = hour_start_ms(1);
    let response = app
        .query(
            &json!({"query": "never_sent", "start": base, "end": base + 600_000, "aggregation": "avg", "step": "1m"}),
        )
        .await;
    response.assert_status(200, "a metric nobody sent");
    let body = response.json();
    assert_eq!(body["data"], json!([]), "expected no buckets; got {body}");
    app.cleanup().await;
}
