//! `/health` and `/metrics`, and the error format of unknown routes.

use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn health_reports_every_dependency_up() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    response.assert_status(200, "/health with every service up");
    let body = response.json();
    assert_eq!(
        body["status"], "healthy",
        "expected status healthy; got {body}"
    );
    for dependency in ["postgres", "rabbitmq", "redis"] {
        let check = &body["checks"][dependency];
        assert_eq!(
            check["status"], "up",
            "expected {dependency} up; got {body}"
        );
        assert!(
            check["latencyMs"].as_f64().is_some_and(|ms| ms >= 0.0),
            "expected checks.{dependency}.latencyMs to be a number; got {body}"
        );
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn metrics_count_what_was_ingested_and_queried() {
    let app = spawn_app().await;
    let body = json!([
        {"name": "obs_a", "value": 1.0},
        {"name": "obs_a", "value": 2.0, "tags": {"host": "x"}},
        {"name": "bad name", "value": 3.0},
        {"name": "obs_b", "value": 4.0},
    ]);
    app.post_metrics(&body)
        .await
        .assert_status(202, "three valid points and one invalid");
    app.wait_for_points("obs_a", 2).await;
    app.wait_for_points("obs_b", 1).await;
    let base = hour_start_ms(1);
    app.query(&json!({"query": "obs_a", "start": base, "end": base + 600_000, "aggregation": "avg", "step": "1m"}))
        .await
        .assert_status(200, "a query");

    let text = eventually(STORE_DEADLINE, || async {
        let response = app.get("/metrics").await;
        if response.status.as_u16() != 200 {
            return Err(format!(
                "GET /metrics: expected 200; got {}",
                response.describe()
            ));
        }
        let text = response.text();
        let written = prometheus_sum(&text, "vigil_writer_points_written_total", &[]);
        if written == 3.0 {
            Ok((response, text))
        } else {
            Err(format!(
                "expected vigil_writer_points_written_total = 3; got {written}"
            ))
        }
    })
    .await;
    let (response, text) = text;
    let content_type = response.header("Content-Type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/plain"),
        "expected Prometheus text; Content-Type {content_type:?}"
    );
    let accepted = prometheus_sum(
        &text,
        "vigil_ingest_points_total",
        &[("result", "accepted")],
    );
    let rejected = prometheus_sum(
        &text,
        "vigil_ingest_points_total",
        &[("result", "rejected")],
    );
    assert_eq!(
        (accepted, rejected),
        (3.0, 1.0),
        "expected vigil_ingest_points_total accepted 3, rejected 1; samples: {:?}",
        prometheus_samples(&text, "vigil_ingest_points_total")
    );
    let requests = prometheus_sum(&text, "vigil_ingest_request_duration_seconds_count", &[]);
    assert!(
        requests >= 1.0,
        "expected at least one ingest request in the latency histogram; got {requests}"
    );
    let queries = prometheus_sum(&text, "vigil_query_duration_seconds_count", &[]);
    assert!(
        queries >= 1.0,
        "expected at least one query in the latency histogram; got {queries}"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn unknown_routes_answer_in_the_error_format() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/no-such-thing").await;
    response.assert_error(404, "NOT_FOUND", "GET an unknown route");
    app.cleanup().await;
}
