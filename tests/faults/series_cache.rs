//! A series cache far smaller than the series seen: batches that mix series the
//! writer already knows with new ones keep being stored, exactly once, without the
//! writer restarting. Bounded: 20,000 points over 13,000 distinct series.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::load::check_exactly_once;

const METRIC: &str = "cache_churn";
const CAPACITY: usize = 1000;

#[test]
fn a_small_series_cache_stores_every_point_without_a_restart() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(scenario());
}

/// One point per series named `host-{n}`, each with its own value.
fn body(series: impl Iterator<Item = u64>, next_value: &mut u64, acked: &mut Vec<u64>) -> Value {
    let now = now_ms();
    Value::Array(
        series
            .map(|n| {
                let value = *next_value;
                *next_value += 1;
                acked.push(value);
                json!({"name": METRIC, "value": value as f64, "timestamp": now, "tags": {"host": format!("host-{n}")}})
            })
            .collect(),
    )
}

async fn scenario() {
    let app = spawn_app_with(|s| {
        s.ingest.series_cache_capacity = CAPACITY;
        s.actors.writer_pool = 1;
        s.ingest.batch_size = 2000;
        s.ingest.max_points_per_message = 2000;
    })
    .await;
    let mut next_value = 0u64;
    let mut sent = Vec::new();
    let mut fresh = 1_000_000u64;
    let take_fresh = |fresh: &mut u64, n: u64| {
        let range = *fresh..*fresh + n;
        *fresh += n;
        range
    };
    let mut bodies = Vec::new();
    // The hot thousand fill the cache; each later batch brings them back beside a
    // thousand series the writer never saw, so the cache must evict while the batch
    // in flight still needs the ids it holds.
    for _ in 0..8 {
        let hot = 0..1000u64;
        let new = take_fresh(&mut fresh, 1000);
        bodies.push(body(hot.chain(new), &mut next_value, &mut sent));
    }
    // 600 known (the start of the previous batch's new ones) and 600 new.
    let known = (fresh - 1000)..(fresh - 400);
    let new = take_fresh(&mut fresh, 600);
    bodies.push(body(known.chain(new), &mut next_value, &mut sent));
    // One batch alone with more distinct series than the cache holds, half of them
    // known, twice, interleaved.
    let new = take_fresh(&mut fresh, 1500);
    let old = 0..1500u64;
    let mixed: Vec<u64> = new.zip(old).flat_map(|(a, b)| [a, b]).collect();
    bodies.push(body(mixed.iter().copied(), &mut next_value, &mut sent));
    bodies.push(body(
        mixed.iter().rev().copied(),
        &mut next_value,
        &mut sent,
    ));

    for (i, body) in bodies.iter().enumerate() {
        let response = app.post_metrics(body).await;
        response.assert_status(202, &format!("ingest of batch {i}"));
        let accepted = response.json()["accepted"].as_u64();
        assert_eq!(
            accepted,
            Some(body.as_array().unwrap().len() as u64),
            "batch {i}: every point accepted; got {}",
            response.describe()
        );
    }
    let acked: BTreeSet<u64> = sent.iter().copied().collect();
    eventually(Duration::from_secs(90), || async {
        check_exactly_once(&app.db, METRIC, &acked).await
    })
    .await;
    let series: i64 = sqlx::query_scalar("SELECT count(*) FROM series WHERE metric = $1")
        .bind(METRIC)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        series as u64,
        1000 + 8 * 1000 + 600 + 1500 + 500,
        "distinct series stored"
    );

    let metrics = app.get("/metrics").await.text();
    let restarts: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("vigil_actor_restarts_total"))
        .filter(|l| !l.ends_with(" 0"))
        .collect();
    assert!(
        restarts.is_empty(),
        "no actor may restart; /metrics has {restarts:?}"
    );
    app.cleanup().await;
}
