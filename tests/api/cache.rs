//! The Redis query cache: a repeat is answered from the cache (`meta.cached`), an
//! answer is never older than its TTL (live TTL for ranges ending within the last
//! minute, historical TTL otherwise), and never older than the last commit
//! (read-your-writes): a past hour, a past day on the rollup tier and a late point
//! into a settled bucket show at once, with Redis up, down or hung; a dashboard
//! refreshing over live data still takes its settled part from the cache.

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

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Waits until the writers report `n` points written: they bump the query-cache
/// generations after the COMMIT and before reporting, so from here on every query
/// must show the points.
async fn wait_written(app: &TestApp, n: f64) {
    eventually(Duration::from_secs(30), || async {
        let text = app.get("/metrics").await.text();
        let written = prometheus_sum(&text, "vigil_writer_points_written_total", &[]);
        if written >= n {
            Ok(())
        } else {
            Err(format!("{written} of {n} points written"))
        }
    })
    .await
}

/// A cache that would otherwise hide new points for an hour.
async fn long_ttl_app() -> TestApp {
    spawn_app_with(|s| {
        s.query.cache_ttl_historical = Duration::from_secs(3600);
        s.query.cache_ttl_live = Duration::from_secs(3600);
        s.rollup.settle = Duration::from_secs(1);
        s.rollup.interval = Duration::from_secs(3600);
    })
    .await
}

async fn sum_of(app: &TestApp, query: &Value, what: &str) -> (f64, bool, Value) {
    let response = app.query(query).await;
    let (total, cached) = total_and_cached(&response, what);
    (total, cached, response.json()["meta"].clone())
}

#[actix_web::test]
async fn a_commit_shows_in_the_next_query_for_a_past_hour_and_a_past_day() {
    let app = long_ttl_app().await;
    let mut written = 0.0;
    let hour = hour_start_ms(3);
    let day_end = hour_start_ms(2);
    for (metric, start, end, tier) in [
        ("ryw.hour", hour, hour + HOUR, "points"),
        ("ryw.day", day_end - 30 * HOUR, day_end, "rollup_1h"),
    ] {
        let query = json!({"query": metric, "start": start, "end": end, "aggregation": "sum", "step": "1h"});
        let (total, cached, _) = sum_of(&app, &query, "empty range").await;
        assert_eq!((total, cached), (0.0, false), "{metric}: nothing yet");
        let (total, cached, _) = sum_of(&app, &query, "empty range again").await;
        assert_eq!(
            (total, cached),
            (0.0, true),
            "{metric}: the empty answer is cached"
        );
        let points: Vec<Value> = (0..4)
            .map(|i| {
                point(
                    metric,
                    2.5,
                    &[("host", "a")],
                    start + 10 * MINUTE + i * 7 * MINUTE,
                )
            })
            .collect();
        app.post_metrics(&Value::Array(points))
            .await
            .assert_status(202, "points into the cached range");
        written += 4.0;
        wait_written(&app, written).await;
        let (total, _, meta) = sum_of(&app, &query, "after the commit").await;
        assert_eq!(
            total, 10.0,
            "{metric}: the next query after the commit shows the points; meta {meta}"
        );
        assert_eq!(meta["table"], tier, "{metric}: {meta}");
        let (total, cached, _) = sum_of(&app, &query, "repeat").await;
        assert_eq!((total, cached), (10.0, true), "{metric}: cached again");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn a_late_point_into_a_settled_rollup_bucket_shows_at_once() {
    let app = long_ttl_app().await;
    let end = hour_start_ms(2);
    let start = end - 30 * HOUR;
    let points: Vec<Value> = (0..30)
        .map(|h| {
            point(
                "ryw.late",
                1.0,
                &[("host", "a")],
                start + h * HOUR + 30 * MINUTE,
            )
        })
        .collect();
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "a day of points");
    wait_written(&app, 30.0).await;
    app.maintenance.run_rollups().await.expect("rollup round");
    let query = json!({"query": "ryw.late", "start": start, "end": end, "aggregation": "sum", "step": "1h"});
    let (total, _, meta) = sum_of(&app, &query, "materialised day").await;
    assert_eq!(total, 30.0);
    assert_eq!(
        meta["tiers"],
        json!(["rollup_1h"]),
        "answered by the hour rollups: {meta}"
    );
    let (_, cached, _) = sum_of(&app, &query, "repeat").await;
    assert!(cached, "the settled day is cached");

    let late = start + 10 * HOUR + 5 * MINUTE;
    app.post_metrics(&json!([point("ryw.late", 100.0, &[("host", "a")], late)]))
        .await
        .assert_status(202, "a late point");
    wait_written(&app, 31.0).await;
    let (total, cached, meta) = sum_of(&app, &query, "after the late point").await;
    assert_eq!(
        (total, cached),
        (130.0, false),
        "the late point shows before the rollups are recomputed; meta {meta}"
    );
    app.maintenance.run_rollups().await.expect("rollup round");
    let (total, _, _) = sum_of(&app, &query, "after the recompute").await;
    assert_eq!(total, 130.0, "and after");
    app.cleanup().await;
}

/// Series churn (a new series of the metric every minute, as when hosts come and go)
/// must not throw away the cached past of every query over that metric: a new series
/// with only live points leaves a past hour's answer cached, and one backfilled into
/// that hour shows in the next answer, with and without grouping.
#[actix_web::test]
async fn a_new_series_keeps_past_parts_cached_and_a_backfilled_one_shows_at_once() {
    let app = long_ttl_app().await;
    let start = hour_start_ms(3);
    let points: Vec<Value> = (0..6)
        .map(|i| point("ryw.churn", 1.0, &[("host", "a")], start + i * 10 * MINUTE))
        .collect();
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "an hour of host a");
    wait_written(&app, 6.0).await;
    let summed = json!({"query": "ryw.churn", "start": start, "end": start + HOUR, "aggregation": "sum", "step": "1m"});
    let grouped = json!({"query": "ryw.churn", "start": start, "end": start + HOUR, "aggregation": "sum", "step": "1m", "groupBy": ["host"]});
    let group_totals = |body: &Value| -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("grouped answer: {body}"))
            .iter()
            .map(|s| {
                let total = s["data"]
                    .as_array()
                    .map(|p| p.iter().filter_map(|p| p["value"].as_f64()).sum())
                    .unwrap_or(0.0);
                (s["tags"]["host"].as_str().unwrap_or("").to_string(), total)
            })
            .filter(|(_, total)| *total != 0.0)
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    for query in [&summed, &grouped] {
        app.query(query).await.assert_status(200, "first answer");
    }

    app.post_metrics(&json!([point(
        "ryw.churn",
        5.0,
        &[("host", "b")],
        now_ms()
    )]))
    .await
    .assert_status(202, "a new series, live");
    wait_written(&app, 7.0).await;
    let (total, cached, meta) = sum_of(&app, &summed, "after a new live series").await;
    assert_eq!(
        (total, cached),
        (6.0, true),
        "a series with no point in the hour leaves its answer cached; meta {meta}"
    );
    let response = app.query(&grouped).await;
    response.assert_status(200, "grouped, after a new live series");
    let body = response.json();
    assert_eq!(
        body["meta"]["cached"],
        json!(true),
        "grouped stays cached: {body}"
    );
    assert_eq!(group_totals(&body), vec![("a".to_string(), 6.0)], "{body}");

    app.post_metrics(&json!([point(
        "ryw.churn",
        40.0,
        &[("host", "c")],
        start + 25 * MINUTE
    )]))
    .await
    .assert_status(202, "a new series, backfilled into the hour");
    wait_written(&app, 8.0).await;
    let (total, _, meta) = sum_of(&app, &summed, "after a backfilled series").await;
    assert_eq!(
        total, 46.0,
        "the backfilled series shows at once; meta {meta}"
    );
    let response = app.query(&grouped).await;
    response.assert_status(200, "grouped, after a backfilled series");
    let body = response.json();
    assert_eq!(
        group_totals(&body),
        vec![("a".to_string(), 6.0), ("c".to_string(), 40.0)],
        "each group keeps its own total: {body}"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn with_redis_down_every_query_reads_the_database() {
    let app = spawn_app_with(|s| {
        s.redis.url = format!("redis://127.0.0.1:{}/0", free_port());
        s.query.cache_ttl_historical = Duration::from_secs(3600);
    })
    .await;
    let start = hour_start_ms(3);
    let query = json!({"query": "ryw.down", "start": start, "end": start + HOUR, "aggregation": "count", "step": "1h"});
    let (total, cached, _) = sum_of(&app, &query, "Redis down, empty").await;
    assert_eq!((total, cached), (0.0, false));
    app.post_metrics(&json!([point("ryw.down", 1.0, &[], start + MINUTE)]))
        .await
        .assert_status(202, "ingest with Redis down");
    wait_written(&app, 1.0).await;
    let (total, cached, _) = sum_of(&app, &query, "Redis down, after the commit").await;
    assert_eq!((total, cached), (1.0, false));
    app.cleanup().await;
}

/// A Redis of the test's own, so it can be hung without touching the shared one.
struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = free_port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (apt: redis-server) is installed");
        std::thread::sleep(Duration::from_millis(300));
        OwnRedis { child, port }
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Redis hangs while a batch commits, then comes back with the old answer still
/// stored: the generations live in PostgreSQL, so the old entry is never read again.
#[actix_web::test]
async fn a_commit_while_redis_hangs_is_not_hidden_when_it_returns() {
    let redis = OwnRedis::start();
    let port = redis.port;
    let app = spawn_app_with(move |s| {
        s.redis.url = format!("redis://127.0.0.1:{port}/0");
        s.redis.timeout = Duration::from_millis(200);
        s.redis.reconnect_interval = Duration::from_millis(500);
        s.query.cache_ttl_historical = Duration::from_secs(3600);
    })
    .await;
    let start = hour_start_ms(4);
    let query = json!({"query": "ryw.hang", "start": start, "end": start + HOUR, "aggregation": "sum", "step": "1h"});
    sum_of(&app, &query, "first").await;
    let (total, cached, _) = sum_of(&app, &query, "cached").await;
    assert_eq!(
        (total, cached),
        (0.0, true),
        "the empty answer is in the test's Redis"
    );

    redis.signal("-STOP");
    app.post_metrics(&json!([point("ryw.hang", 4.0, &[], start + MINUTE)]))
        .await
        .assert_status(202, "ingest while Redis hangs");
    wait_written(&app, 1.0).await;
    let (total, _, _) = sum_of(&app, &query, "while Redis hangs").await;
    assert_eq!(total, 4.0, "Redis hung: the database answers");
    redis.signal("-CONT");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        let (total, cached, _) = sum_of(&app, &query, "Redis back").await;
        answers.push((total, cached));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        answers.iter().all(|(t, _)| *t == 4.0),
        "the old empty answer came back: {answers:?}"
    );
    assert!(
        answers.last().unwrap().1,
        "cached again once Redis is back: {answers:?}"
    );
    app.cleanup().await;
}

/// Query-cache hits and misses so far.
async fn cache_counts(app: &TestApp) -> (f64, f64) {
    let text = app.get("/metrics").await.text();
    (
        prometheus_sum(&text, "vigil_cache_hits_total", &[("cache", "query")]),
        prometheus_sum(&text, "vigil_cache_misses_total", &[("cache", "query")]),
    )
}

/// A 12-panel dashboard over the last 6 hours refreshes every 10 s (simulated: each
/// refresh moves the range 10 s on) while points keep arriving: the settled part of
/// each panel comes from the cache, the live part is recomputed.
#[actix_web::test]
async fn a_refreshing_dashboard_over_live_data_keeps_hitting_the_cache() {
    let app = spawn_app().await;
    let now = now_ms();
    let points: Vec<Value> = (0..360)
        .map(|i| {
            point(
                "ryw.dash",
                (i % 7) as f64,
                &[("host", if i % 2 == 0 { "a" } else { "b" })],
                now - 6 * HOUR + i * MINUTE,
            )
        })
        .collect();
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "six hours");
    wait_written(&app, 360.0).await;
    let aggregations = ["avg", "min", "max", "sum", "count", "p50"];
    let panels: Vec<Value> = (0..12)
        .map(|i| {
            let mut q = json!({"id": format!("p{i}"), "query": "ryw.dash", "aggregation": aggregations[i % 6], "step": "1m"});
            if i >= 6 {
                q["groupBy"] = json!(["host"]);
            }
            q
        })
        .collect();
    let refreshes = 6;
    let (hits0, misses0) = cache_counts(&app).await;
    for r in 0..refreshes {
        let end = now + r * 10_000;
        // Live data: a point of the current minute before every refresh.
        app.post_metrics(&json!([point(
            "ryw.dash",
            1.0,
            &[("host", "a")],
            end - 1000
        )]))
        .await
        .assert_status(202, "live point");
        wait_written(&app, 361.0 + r as f64).await;
        let response = app
            .call(
                "POST",
                "/api/v1/query/batch",
                Some(&json!({"start": end - 6 * HOUR, "end": end, "queries": panels})),
                &Auth::Bearer(app.admin_token.clone()),
            )
            .await;
        response.assert_status(200, "refresh");
        let body = response.json();
        for answer in body["data"].as_array().unwrap() {
            assert!(answer.get("error").is_none(), "{answer}");
        }
    }
    let (hits, misses) = cache_counts(&app).await;
    let (hits, misses) = (hits - hits0, misses - misses0);
    let rate = hits / (hits + misses);
    println!("refreshing 12-panel dashboard: {refreshes} refreshes, {hits} part hits, {misses} part misses, hit rate {:.0}%", rate * 100.0);
    // Each refresh looks up a settled and a live part per panel (one part when the
    // range starts in the current hour, never here): after the first refresh every
    // settled part is a hit unless the hour turned during the test.
    assert!(
        hits >= 12.0 * (refreshes as f64 - 2.0),
        "settled parts should be cache hits: {hits} hits, {misses} misses"
    );
    app.cleanup().await;
}
