//! kill -9 of the real `vigil serve` at random moments while it compacts raw ranges and
//! merges late points, ten times over: afterwards every acknowledged point is read back
//! exactly once (through the one raw reader: raw rows, blocks and late points).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;

use crate::helpers::*;
use crate::load::post_json;
use crate::sigterm::Vigil;

const METRIC: &str = "compaction.kill";
const HOUR: i64 = 3_600_000;
const KILLS: usize = 10;

#[test]
fn kill_9_during_compaction_loses_and_doubles_nothing() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(scenario());
}

/// Posts `requests` bodies of 200 points spread over the last 30 closed hours (some
/// into raw hours, most into hours already compacted: late points); returns the
/// values acknowledged with a 202 (each value is a unique sequence number).
async fn post_points(
    client: &awc::Client,
    address: &str,
    rng: &mut rand::rngs::StdRng,
    next: &mut u64,
    requests: usize,
) -> Vec<u64> {
    let now = chrono::Utc::now().timestamp_millis();
    let hour = now.div_euclid(HOUR) * HOUR;
    let mut acked = Vec::new();
    for _ in 0..requests {
        let mut values = Vec::new();
        let body: Vec<Value> = (0..200)
            .map(|_| {
                *next += 1;
                values.push(*next);
                let t = hour - rng.random_range(1..=30) * HOUR + rng.random_range(0..HOUR);
                json!({"name": METRIC, "value": *next as f64, "timestamp": t,
                       "tags": {"host": format!("h{}", rng.random_range(0..10))}})
            })
            .collect();
        let (status, _) = post_json(
            client,
            &format!("{address}/api/v1/metrics"),
            &Value::Array(body),
        )
        .await;
        if status == 202 {
            acked.extend(values);
        }
    }
    acked
}

/// How often each value is stored, read through `samples::read_raw`.
async fn stored(db: &sqlx::PgPool) -> Result<BTreeMap<u64, usize>, String> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM series WHERE metric = $1")
        .bind(METRIC)
        .fetch_all(db)
        .await
        .map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp_millis();
    let range = vigil::model::TimeRange {
        start_ms: now - 40 * HOUR,
        end_ms: now + HOUR,
    };
    let samples = vigil::store::samples::read_raw(db, &ids, range)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for s in samples {
        for v in s.values {
            *out.entry(v as u64).or_insert(0) += 1;
        }
    }
    Ok(out)
}

async fn scenario() {
    let isolation = Isolation::new();
    let mut leftovers = CleanupGuard::new(&isolation);
    let logs = tempfile::tempdir().unwrap();
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let mut env = isolation.env();
    env.extend(
        [
            ("VIGIL__HTTP__ADDR", format!("127.0.0.1:{port}")),
            ("VIGIL__INGEST__FLUSH_INTERVAL", "100ms".to_string()),
            ("VIGIL__COMPACTION__ENABLED", "true".to_string()),
            ("VIGIL__COMPACTION__AFTER", "0s".to_string()),
            ("VIGIL__COMPACTION__INTERVAL", "100ms".to_string()),
            ("VIGIL__COMPACTION__DROP_RAW_AFTER", "0s".to_string()),
            ("VIGIL__COMPACTION__MAX_RANGES_PER_ROUND", "3".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let client = http_client();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut next = 0u64;
    let mut acked: Vec<u64> = Vec::new();
    let started = Instant::now();
    for round in 0..KILLS {
        let mut vigil = Vigil::start(&env, &logs.path().join(format!("run{round}.log")));
        vigil.wait_healthy(&client, &address).await;
        acked.extend(post_points(&client, &address, &mut rng, &mut next, 6).await);
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..1500))).await;
        vigil.child.kill().expect("kill -9");
        vigil.wait_exit(Duration::from_secs(10)).await;
    }
    let mut last = Vigil::start(&env, &logs.path().join("last.log"));
    last.wait_healthy(&client, &address).await;
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&format!("{PG_SERVER}/{}", isolation.database))
        .unwrap();
    // Everything redelivered, compacted and merged: nothing left raw or aside.
    let settled = eventually(Duration::from_secs(90), || async {
        let (raw, late): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM compaction_ranges WHERE state <> 'compacted' AND range_end <= now()),
                    (SELECT count(*) FROM points_late)",
        )
        .fetch_one(&db)
        .await
        .map_err(|e| e.to_string())?;
        let counts = stored(&db).await?;
        let total: usize = counts.values().sum();
        if raw == 0 && late == 0 && total >= acked.len() {
            Ok(counts)
        } else {
            Err(format!("{raw} ranges not compacted, {late} late points, {total} of {} stored", acked.len()))
        }
    })
    .await;
    let log = last.log_tail();
    drop(last);
    db.close().await;
    isolation.remove_all().await;
    leftovers.disarm();
    eprintln!(
        "compaction_kill: {} points acknowledged over {KILLS} kills in {:?}",
        acked.len(),
        started.elapsed()
    );
    assert_stored_once(&acked, &settled, KILLS * 600, &log);
}

/// Every acknowledged value (at least `at_least` of them) is stored exactly once:
/// `stored` counts how often each value was read back.
pub(crate) fn assert_stored_once(
    acked: &[u64],
    stored: &BTreeMap<u64, usize>,
    at_least: usize,
    log: &str,
) {
    let missing: Vec<u64> = acked
        .iter()
        .filter(|v| !stored.contains_key(v))
        .copied()
        .collect();
    let doubled: Vec<(u64, usize)> = stored
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(v, n)| (*v, *n))
        .collect();
    assert!(
        acked.len() >= at_least,
        "too few points acknowledged: {}",
        acked.len()
    );
    assert!(
        missing.is_empty() && doubled.is_empty(),
        "{} missing (first {:?}), {} stored more than once (first {:?}); log:\n{log}",
        missing.len(),
        missing.first(),
        doubled.len(),
        doubled.first()
    );
}
