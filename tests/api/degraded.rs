//! Running with a dependency unreachable: without Redis, Vigil is slower but correct;
//! without RabbitMQ, it refuses data with 503 instead of acknowledging what it could
//! not make durable.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

fn check_status<'a>(health: &'a Value, dependency: &str) -> &'a str {
    health["checks"][dependency]["status"]
        .as_str()
        .unwrap_or_else(|| panic!("expected checks.{dependency}.status in /health; got {health}"))
}

#[actix_web::test]
async fn with_redis_unreachable_ingest_and_query_stay_correct() {
    let app = spawn_app_with(|s| s.redis.url = DEAD_REDIS_URL.into()).await;
    let base = hour_start_ms(2);
    let points: Vec<Value> = (0..6)
        .map(|i| {
            point(
                "no_redis",
                (i + 1) as f64,
                &[("host", if i < 3 { "a" } else { "b" })],
                base + i * 10_000,
            )
        })
        .collect();

    let response = app.post_metrics(&Value::Array(points)).await;
    response.assert_status(202, "ingest with Redis down");
    assert_eq!(response.json()["accepted"], 6, "{}", response.describe());
    app.wait_for_points("no_redis", 6).await;

    let query = json!({"query": "no_redis", "start": base, "end": base + 600_000, "aggregation": "sum", "step": "1m"});
    for attempt in ["first", "repeated"] {
        let response = app.query(&query).await;
        response.assert_status(200, &format!("{attempt} query with Redis down"));
        let body = response.json();
        assert_eq!(
            series_of(&body).unwrap(),
            vec![(base, 21.0)],
            "{attempt} query with Redis down: {body}"
        );
        assert_eq!(
            body["meta"]["cached"], false,
            "with Redis down nothing can come from the cache: {body}"
        );
    }
    let filtered = app
        .query(&json!({"query": "no_redis", "start": base, "end": base + 600_000, "aggregation": "max", "step": "1m", "tags": {"host": "a"}}))
        .await;
    filtered.assert_status(200, "filtered query with Redis down");
    assert_eq!(
        series_of(&filtered.json()).unwrap(),
        vec![(base, 3.0)],
        "{}",
        filtered.describe()
    );

    let health = app.get("/health").await;
    health.assert_status(200, "/health with only Redis down");
    let body = health.json();
    assert_eq!(
        body["status"], "degraded",
        "expected status degraded with Redis down; got {body}"
    );
    assert_eq!(check_status(&body, "redis"), "down", "{body}");
    assert_eq!(check_status(&body, "postgres"), "up", "{body}");
    assert_eq!(check_status(&body, "rabbitmq"), "up", "{body}");
    app.cleanup().await;
}

#[actix_web::test]
async fn with_rabbitmq_unreachable_ingest_answers_503_and_never_2xx() {
    let app = spawn_app_with(|s| {
        s.amqp.url = DEAD_AMQP_URL.into();
        s.amqp.confirm_timeout = Duration::from_secs(2);
        s.amqp.retry_after_secs = 7;
    })
    .await;
    let body = json!([{"name": "no_broker", "value": 1.0}, {"name": "no_broker", "value": 2.0, "tags": {"host": "a"}}]);
    let mut failures = Vec::new();
    for attempt in 0..5 {
        let response = if attempt % 2 == 0 {
            app.post_metrics(&body).await
        } else {
            app.post_metrics_gzip(gzip(body.to_string().as_bytes()))
                .await
        };
        let code = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|b| b["code"].as_str().map(String::from));
        let retry_after = response.header("Retry-After");
        let retry_ok = retry_after
            .as_deref()
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|s| s > 0);
        if response.status.as_u16() != 503 || code.as_deref() != Some("UNAVAILABLE") || !retry_ok {
            failures.push(format!(
                "attempt {attempt}: expected 503 UNAVAILABLE with a Retry-After in seconds; got Retry-After {retry_after:?}, {}",
                response.describe()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "with RabbitMQ unreachable:\n{}",
        failures.join("\n")
    );

    let health = app.get("/health").await;
    health.assert_status(503, "/health with RabbitMQ down");
    let body = health.json();
    assert_eq!(
        body["status"], "unhealthy",
        "expected status unhealthy with RabbitMQ down; got {body}"
    );
    assert_eq!(check_status(&body, "rabbitmq"), "down", "{body}");
    assert_eq!(check_status(&body, "postgres"), "up", "{body}");

    // Queries do not need the broker.
    let base = hour_start_ms(1);
    let query = app
        .query(&json!({"query": "no_broker", "start": base, "end": base + 600_000, "aggregation": "avg", "step": "1m"}))
        .await;
    query.assert_status(200, "a query with RabbitMQ down");
    assert_eq!(app.total_points().await, 0, "nothing can have been stored");
    app.cleanup().await;
}
