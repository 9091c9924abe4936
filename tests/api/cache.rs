//! The Redis query cache: a repeat is answered from the cache (`meta.cached`), and an
//! answer is never older than its TTL (live TTL for ranges ending within the last
//! minute, historical TTL otherwise).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

/// Time allowed past the TTL for the request itself on a busy machine.
const SLACK: Duration = Duration::from_millis(1500);

/// The sum of all bucket values, and `meta.cached`.
fn total_and_cached(response: &TestResponse, what: &str) -> (f64, bool) {
    response.assert_status(200, what);
    let body = response.json();
    let total = series_of(&body)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .iter()
        .map(|(_, v)| v)
        .sum();
    let cached = body["meta"]["cached"]
        .as_bool()
        .unwrap_or_else(|| panic!("{what}: expected meta.cached to be a boolean; got {body}"));
    (total, cached)
}

/// After `changed_at` (when the new point was known to be committed), polls the query
/// until it shows `fresh`; fails if an old answer comes later than `ttl` + slack after
/// `changed_at`, or if the fresh answer never comes.
async fn assert_fresh_within_ttl(
    app: &TestApp,
    query: &Value,
    ttl: Duration,
    changed_at: Instant,
    stale: f64,
    fresh: f64,
) {
    let deadline = changed_at + ttl + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let asked_at = changed_at.elapsed();
        let (total, cached) = total_and_cached(&app.query(query).await, "query after a new point");
        seen.push(format!(
            "{:.2}s: {total} (cached {cached})",
            asked_at.as_secs_f64()
        ));
        if total == fresh {
            return;
        }
        assert_eq!(
            total, stale,
            "expected either the old total {stale} or the new {fresh}; answers so far: {seen:?}"
        );
        assert!(
            asked_at <= ttl + SLACK,
            "a stale answer ({stale}) came {:.2}s after the change, more than the TTL {ttl:?} (+{SLACK:?}); answers: {seen:?}",
            asked_at.as_secs_f64()
        );
        assert!(
            Instant::now() < deadline,
            "the new point never showed up; answers: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_historical_query_is_cached_and_expires_after_its_ttl() {
    let ttl = Duration::from_secs(2);
    let app = spawn_app_with(|s| {
        s.query.cache_ttl_historical = ttl;
        s.query.cache_ttl_live = Duration::from_secs(3600);
    })
    .await;
    let base = hour_start_ms(2);
    let points: Vec<Value> = (0..6)
        .map(|i| point("c_hist", 1.0, &[("host", "a")], base + i * 10_000))
        .collect();
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "first points");
    app.wait_for_points("c_hist", 6).await;
    let query = json!({"query": "c_hist", "start": rfc3339(base), "end": rfc3339(base + 600_000), "aggregation": "sum", "step": "1m"});

    let (total, cached) = total_and_cached(&app.query(&query).await, "first query");
    assert_eq!(
        (total, cached),
        (6.0, false),
        "first query: expected (sum 6, cached false)"
    );
    let (total, cached) = total_and_cached(&app.query(&query).await, "repeated query");
    assert_eq!(
        (total, cached),
        (6.0, true),
        "repeated query: expected (sum 6, cached true)"
    );
    let keys = redis_keys(&format!("{}*", app.isolation.key_prefix))
        .await
        .unwrap();
    assert!(
        !keys.is_empty(),
        "expected the cached answer under the key prefix {}; found no keys",
        app.isolation.key_prefix
    );

    app.post_metrics(&json!([point(
        "c_hist",
        10.0,
        &[("host", "b")],
        base + 30_000
    )]))
    .await
    .assert_status(202, "a new point inside the cached range");
    app.wait_for_points("c_hist", 7).await;
    assert_fresh_within_ttl(&app, &query, ttl, Instant::now(), 6.0, 16.0).await;

    let (total, cached) = total_and_cached(&app.query(&query).await, "repeat after refresh");
    assert_eq!(
        (total, cached),
        (16.0, true),
        "after the refresh a repeat is cached again"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_live_query_uses_the_live_ttl() {
    let ttl = Duration::from_secs(1);
    let app = spawn_app_with(|s| {
        s.query.cache_ttl_live = ttl;
        s.query.cache_ttl_historical = Duration::from_secs(3600);
    })
    .await;
    let now = now_ms();
    let query = json!({"query": "c_live", "start": now - 300_000, "end": now + 60_000, "aggregation": "count", "step": "1m"});
    app.post_metrics(&json!([{"name": "c_live", "value": 1.0}]))
        .await
        .assert_status(202, "a live point");
    app.wait_for_points("c_live", 1).await;

    let (total, cached) = total_and_cached(&app.query(&query).await, "first live query");
    assert_eq!(
        (total, cached),
        (1.0, false),
        "first live query: expected (count 1, cached false)"
    );
    let (total, cached) = total_and_cached(&app.query(&query).await, "repeated live query");
    assert_eq!(
        (total, cached),
        (1.0, true),
        "repeated live query: expected (count 1, cached true)"
    );

    app.post_metrics(&json!([{"name": "c_live", "value": 2.0}]))
        .await
        .assert_status(202, "a second live point");
    app.wait_for_points("c_live", 2).await;
    assert_fresh_within_ttl(&app, &query, ttl, Instant::now(), 1.0, 2.0).await;
    app.cleanup().await;
}

#[actix_web::test]
async fn different_queries_do_not_share_a_cache_entry() {
    let app = spawn_app().await;
    let base = hour_start_ms(2);
    let points: Vec<Value> = (0..6)
        .map(|i| {
            point(
                "c_keys",
                i as f64,
                &[("host", if i % 2 == 0 { "even" } else { "odd" })],
                base + i * 10_000,
            )
        })
        .collect();
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "points");
    app.wait_for_points("c_keys", 6).await;
    let ask = |aggregation: &str, tags: Value| json!({"query": "c_keys", "start": base, "end": base + 600_000, "aggregation": aggregation, "step": "1m", "tags": tags});
    for _ in 0..2 {
        let (sum, _) = total_and_cached(&app.query(&ask("sum", json!({}))).await, "sum");
        let (max, _) = total_and_cached(&app.query(&ask("max", json!({}))).await, "max");
        let (even, _) = total_and_cached(
            &app.query(&ask("sum", json!({"host": "even"}))).await,
            "sum even",
        );
        let (odd, _) = total_and_cached(
            &app.query(&ask("sum", json!({"host": "odd"}))).await,
            "sum odd",
        );
        assert_eq!(
            (sum, max, even, odd),
            (15.0, 5.0, 6.0, 9.0),
            "each query has its own answer, cached or not"
        );
    }
    app.cleanup().await;
}

/// Two Vigil instances on different databases share one Redis prefix (or a database is
/// dropped and recreated under a running cache): cached series ids of one database must
/// never be used for the other, or points land under the wrong series.
#[actix_web::test]
async fn series_id_cache_is_tied_to_its_database() {
    let first = spawn_app().await;
    let now = chrono::Utc::now().timestamp_millis();
    let point = |host: &str, value: f64| json!([{"name": "cache.ident", "value": value, "tags": {"host": host}, "timestamp": now}]);
    first
        .post_metrics(&point("shared", 1.0))
        .await
        .assert_status(202, "first instance");
    first.wait_for_points("cache.ident", 1).await;

    let prefix = first.settings.redis.key_prefix.clone();
    let second = spawn_app_with(move |s| s.redis.key_prefix = prefix).await;
    // In the second database another series takes the id the first one used.
    second
        .post_metrics(&point("other", 2.0))
        .await
        .assert_status(202, "second instance, other series");
    second.wait_for_points("cache.ident", 1).await;
    second
        .post_metrics(&point("shared", 3.0))
        .await
        .assert_status(202, "second instance, shared series");
    let stored = second.wait_for_points("cache.ident", 2).await;
    let shared: Vec<f64> = stored
        .iter()
        .filter(|p| p.labels.get("host").map(String::as_str) == Some("shared"))
        .map(|p| p.value)
        .collect();
    assert_eq!(
        shared,
        vec![3.0],
        "the point of host=shared was stored under another series: {stored:?}"
    );
    second.cleanup().await;
    first.cleanup().await;
}
