//! kill -9 of the real `vigil serve` at random moments while it compacts closed days of
//! the rollup tiers into blocks and merges late rows into them (with the raw tier
//! compacting and merging under them), twenty times over; every other kill lands a few
//! milliseconds into a step of a rollup day, found by the day's advisory lock.
//! Afterwards every acknowledged point is read back exactly once (through the one raw
//! reader), and every minute and hour bucket the query API answers from the compacted
//! rollup tiers is what the raw points give: count, min and max exactly, sum within
//! 1e-9 relative. A bucket counted twice or missing after a kill shows up here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::helpers::*;
use crate::load::post_json;
use crate::sigterm::Vigil;

const METRIC: &str = "rollup_compaction.kill";
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const KILLS: usize = 20;
const HOSTS: usize = 24;
/// Closed days written from the first run on (days before today)...
const FIRST_DAYS: i64 = 4;
/// ...and one more from the middle of the test on, so that a day is first compacted
/// between later kills too, not only in the first runs.
const LATER_DAY: i64 = 5;
/// Where points fall within a day: (offset from midnight, length). One window crosses
/// an hour boundary, one ends at midnight: a few dozen minute buckets per day keep the
/// downsampler's recomputes (one raw read per run of minutes) short.
const WINDOWS: [(i64, i64); 2] = [
    (2 * HOUR + 50 * MINUTE, 20 * MINUTE),
    (DAY - 15 * MINUTE, 15 * MINUTE),
];
const ACK_DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn kill_9_during_rollup_compaction_keeps_rollups_equal_to_raw() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(scenario());
}

/// A point's value: its sequence number over ten, negative when odd (min and max then
/// both move; tenths are not exact in binary, so sums depend on the order of addition).
fn value_of(seq: u64) -> f64 {
    let v = seq as f64 / 10.0;
    if seq % 2 == 1 {
        -v
    } else {
        v
    }
}

fn seq_of(value: f64) -> u64 {
    (value.abs() * 10.0).round() as u64
}

/// Where the points of a request may fall: `(start, length)` of a time span (ms) and
/// the hosts that get points in it.
type Slot = (i64, i64, Vec<usize>);

/// Every host over every window of `days` (day starts, ms): fills days before they are
/// first compacted.
fn dense(days: &[i64]) -> Vec<Slot> {
    days.iter()
        .flat_map(|day| {
            WINDOWS
                .iter()
                .map(move |(offset, len)| (day + offset, *len, (0..HOSTS).collect()))
        })
        .collect()
}

/// A few hosts in two minutes of each of `days`: late points into compacted days touch
/// few buckets, so a merge lays a few rows over blocks that hold the rest of the day (a
/// merge that lost a block's other buckets, or counted rows and blocks both, would show).
fn sparse(days: &[i64], rng: &mut rand::rngs::StdRng) -> Vec<Slot> {
    let mut out = Vec::new();
    for day in days {
        for _ in 0..2 {
            let (offset, len) = WINDOWS[rng.random_range(0..WINDOWS.len())];
            let minute = day + offset + rng.random_range(0..len / MINUTE) * MINUTE;
            let hosts = (0..4).map(|_| rng.random_range(0..HOSTS)).collect();
            out.push((minute, MINUTE, hosts));
        }
    }
    out
}

/// Posts `requests` bodies of 200 points spread over `slots`; returns the sequence
/// numbers acknowledged with a 202.
async fn post_points(
    client: &awc::Client,
    address: &str,
    rng: &mut rand::rngs::StdRng,
    next: &mut u64,
    slots: &[Slot],
    requests: usize,
) -> Vec<u64> {
    let mut acked = Vec::new();
    for _ in 0..requests {
        let mut seqs = Vec::new();
        let body: Vec<Value> = (0..200)
            .map(|_| {
                *next += 1;
                seqs.push(*next);
                let (start, len, hosts) = &slots[rng.random_range(0..slots.len())];
                let t = start + rng.random_range(0..*len);
                let host = hosts[rng.random_range(0..hosts.len())];
                json!({"name": METRIC, "value": value_of(*next), "timestamp": t,
                       "tags": {"host": format!("h{host}")}})
            })
            .collect();
        let (status, _) = post_json(
            client,
            &format!("{address}/api/v1/metrics"),
            &Value::Array(body),
        )
        .await;
        if status == 202 {
            acked.extend(seqs);
        }
    }
    acked
}

/// The raw samples of the metric over `range`, by host (through `samples::read_raw`).
async fn raw_by_host(
    db: &PgPool,
    range: vigil::model::TimeRange,
) -> Result<BTreeMap<String, Vec<(i64, f64)>>, String> {
    let series: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, labels->>'host' FROM series WHERE metric = $1")
            .bind(METRIC)
            .fetch_all(db)
            .await
            .map_err(|e| e.to_string())?;
    let ids: Vec<i64> = series.iter().map(|s| s.0).collect();
    let host: BTreeMap<i64, String> = series.into_iter().collect();
    let samples = vigil::store::samples::read_raw(db, &ids, range)
        .await
        .map_err(|e| e.to_string())?;
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for s in samples {
        out.entry(host[&s.series_id].clone())
            .or_default()
            .extend(s.times_ms.into_iter().zip(s.values));
    }
    Ok(out)
}

/// How often each sequence number is stored.
fn stored_counts(raw: &BTreeMap<String, Vec<(i64, f64)>>) -> BTreeMap<u64, usize> {
    let mut out = BTreeMap::new();
    for (_, v) in raw.values().flatten() {
        *out.entry(seq_of(*v)).or_insert(0) += 1;
    }
    out
}

/// One bucket: count, sum, min, max.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    count: f64,
    sum: f64,
    min: f64,
    max: f64,
}

const AGGREGATIONS: [&str; 4] = ["count", "sum", "min", "max"];

/// The buckets of `width` the raw points give, by (host, bucket start).
fn expected_buckets(
    raw: &BTreeMap<String, Vec<(i64, f64)>>,
    width: i64,
) -> BTreeMap<(String, i64), Bucket> {
    let mut out: BTreeMap<(String, i64), Bucket> = BTreeMap::new();
    for (host, samples) in raw {
        for &(t, v) in samples {
            let b = out
                .entry((host.clone(), t.div_euclid(width) * width))
                .or_insert(Bucket {
                    count: 0.0,
                    sum: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                });
            b.count += 1.0;
            b.sum += v;
            b.min = b.min.min(v);
            b.max = b.max.max(v);
        }
    }
    out
}

/// The buckets the query API answers over `[start, end)` at `step`, by (host, bucket
/// start), after checking that the answer came wholly from `table`.
async fn answered_buckets(
    client: &awc::Client,
    address: &str,
    (start, end): (i64, i64),
    step: &str,
    table: &str,
) -> Result<BTreeMap<(String, i64), Bucket>, String> {
    let mut out: BTreeMap<(String, i64), [f64; 4]> = BTreeMap::new();
    for (i, aggregation) in AGGREGATIONS.iter().enumerate() {
        let query = json!({"query": METRIC, "start": start, "end": end, "step": step,
                           "aggregation": aggregation, "groupBy": ["host"]});
        let (status, body) = post_json(client, &format!("{address}/api/v1/query"), &query).await;
        if status != 200 {
            return Err(format!("{query}: expected 200, got {status} {body}"));
        }
        let meta = &body["meta"];
        if meta["table"] != table || meta["tiers"] != json!([table]) {
            return Err(format!(
                "{query}: expected an answer from {table} alone, got meta {meta}"
            ));
        }
        for group in body["data"].as_array().into_iter().flatten() {
            let host = group["tags"]["host"].as_str().unwrap_or("?").to_string();
            for point in group["data"].as_array().into_iter().flatten() {
                let t = parse_time_ms(&point["time"])?;
                let v = point["value"]
                    .as_f64()
                    .ok_or_else(|| format!("{query}: a value that is no number: {point}"))?;
                out.entry((host.clone(), t)).or_insert([f64::NAN; 4])[i] = v;
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(k, [count, sum, min, max])| {
            (
                k,
                Bucket {
                    count,
                    sum,
                    min,
                    max,
                },
            )
        })
        .collect())
}

/// Every difference between the rollup answer and the raw points, described.
fn differences(
    tier: &str,
    expected: &BTreeMap<(String, i64), Bucket>,
    answered: &BTreeMap<(String, i64), Bucket>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (key, e) in expected {
        match answered.get(key) {
            None => out.push(format!("{tier} {key:?}: missing, raw gives {e:?}")),
            Some(a) => {
                let sum_ok = (a.sum - e.sum).abs() <= 1e-9 * e.sum.abs().max(1.0);
                if a.count != e.count || a.min != e.min || a.max != e.max || !sum_ok {
                    out.push(format!("{tier} {key:?}: answered {a:?}, raw gives {e:?}"));
                }
            }
        }
    }
    for (key, a) in answered {
        if !expected.contains_key(key) {
            out.push(format!("{tier} {key:?}: answered {a:?}, raw has no point"));
        }
    }
    out
}

/// Whether a compaction step of a rollup day holds its day's exclusive advisory lock
/// (namespace `VGR1` of `store::rollup_blocks`): the step's transaction is open.
async fn day_step_running(db: &PgPool) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::bigint::oid
                        AND objsubid = 2 AND mode = 'ExclusiveLock' AND granted)",
    )
    .bind(0x5647_5231i64)
    .fetch_one(db)
    .await
    .unwrap_or(false)
}

/// What is left to do before the test can compare: nothing once empty.
async fn backlog(db: &PgPool, days: &[chrono::NaiveDate]) -> Result<Vec<String>, String> {
    let e = |e: sqlx::Error| e.to_string();
    let (ranges, late, dirty): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM compaction_ranges WHERE state <> 'compacted' AND range_end <= now()),
                (SELECT count(*) FROM points_late),
                (SELECT count(*) FROM rollup_dirty)",
    )
    .fetch_one(db)
    .await
    .map_err(e)?;
    let mut out = Vec::new();
    if ranges + late + dirty > 0 {
        out.push(format!(
            "{ranges} raw ranges to compact, {late} late points, {dirty} dirty rollup buckets"
        ));
    }
    let done: Vec<(i16, chrono::NaiveDate)> = sqlx::query_as(
        "SELECT tier, day FROM rollup_block_days WHERE NOT has_rows AND day = ANY($1)",
    )
    .bind(days)
    .fetch_all(db)
    .await
    .map_err(e)?;
    for tier in [1i16, 2] {
        let waiting: Vec<String> = days
            .iter()
            .filter(|d| !done.contains(&(tier, **d)))
            .map(|d| d.to_string())
            .collect();
        if !waiting.is_empty() {
            out.push(format!(
                "tier {tier}: days {waiting:?} not compacted or with rows to merge"
            ));
        }
    }
    let (first, end) = (days[0], *days.last().unwrap() + chrono::Days::new(1));
    let rows: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM rollup_1m WHERE bucket >= $1::date::timestamp AT TIME ZONE 'UTC'
                                                   AND bucket < $2::date::timestamp AT TIME ZONE 'UTC'),
                (SELECT count(*) FROM rollup_1h WHERE bucket >= $1::date::timestamp AT TIME ZONE 'UTC'
                                                   AND bucket < $2::date::timestamp AT TIME ZONE 'UTC')",
    )
    .bind(first)
    .bind(end)
    .fetch_one(db)
    .await
    .map_err(e)?;
    if rows != (0, 0) {
        out.push(format!(
            "{} minute and {} hour rollup rows not given up",
            rows.0, rows.1
        ));
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
            ("VIGIL__AUTH__ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
            ("VIGIL__AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
            ("VIGIL__AUTH__INGEST_REQUESTS_PER_IP", "1000000".to_string()),
            ("VIGIL__INGEST__FLUSH_INTERVAL", "100ms".to_string()),
            ("VIGIL__COMPACTION__ENABLED", "true".to_string()),
            ("VIGIL__COMPACTION__AFTER", "0s".to_string()),
            ("VIGIL__COMPACTION__INTERVAL", "100ms".to_string()),
            ("VIGIL__COMPACTION__DROP_RAW_AFTER", "0s".to_string()),
            ("VIGIL__COMPACTION__MAX_RANGES_PER_ROUND", "3".to_string()),
            ("VIGIL__ROLLUP__INTERVAL", "100ms".to_string()),
            ("VIGIL__ROLLUP_COMPACTION__ENABLED", "true".to_string()),
            // A closed day is due at once, one day per tier and round, so that days
            // are compacted and merged across many rounds and kills.
            ("VIGIL__ROLLUP_COMPACTION__AFTER", "1ms".to_string()),
            ("VIGIL__ROLLUP_COMPACTION__INTERVAL", "100ms".to_string()),
            (
                "VIGIL__ROLLUP_COMPACTION__MAX_DAYS_PER_ROUND",
                "1".to_string(),
            ),
            (
                "VIGIL__ROLLUP_COMPACTION__SERIES_PER_BATCH",
                "2".to_string(),
            ),
            // Longer than any recompute or query transaction here takes: the rows of a
            // day are given up only once no reader can still be reading them as rows.
            (
                "VIGIL__ROLLUP_COMPACTION__DROP_ROWS_AFTER",
                "2s".to_string(),
            ),
            // Answer from the rollup tiers, never from the raw blocks.
            ("VIGIL__QUERY__BLOCK_POINT_COST", "1000000".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let client = http_client();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let started = Instant::now();
    let today = chrono::Utc::now().timestamp_millis().div_euclid(DAY) * DAY;
    let day_start = |k: i64| today - k * DAY;
    let mut next = 0u64;
    let mut acked: Vec<u64> = Vec::new();
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&format!("{PG_SERVER}/{}", isolation.database))
        .unwrap();
    // Runs in which the rollup compactor had compacted or merged a day before the kill,
    // and kills that found a compaction step of a rollup day in its transaction.
    let (mut compacting_runs, mut mid_step) = (0, 0);
    // The slowest run, start to exit (a CI budget overrun is easier to read with it).
    let mut slowest = Duration::ZERO;
    for round in 0..KILLS {
        let run_started = Instant::now();
        let mut vigil = Vigil::start(&env, &logs.path().join(format!("run{round}.log")));
        vigil.wait_healthy(&client, &address).await;
        // The first days are filled in the first run, the later day in the middle one;
        // every other run sends late points into days compacted by then.
        let (slots, requests) = if round == 0 {
            (
                dense(&(1..=FIRST_DAYS).map(day_start).collect::<Vec<_>>()),
                20,
            )
        } else if round == KILLS / 2 {
            (dense(&[day_start(LATER_DAY)]), 10)
        } else {
            let newest = if round > KILLS / 2 {
                LATER_DAY
            } else {
                FIRST_DAYS
            };
            let days: Vec<i64> = (1..=newest).map(day_start).collect();
            (sparse(&days, &mut rng), 6)
        };
        acked.extend(post_points(&client, &address, &mut rng, &mut next, &slots, requests).await);
        if round % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..2000))).await;
        } else {
            // Every other kill waits for a step of a rollup day to be under way (the
            // late points just posted make every compacted day due for a merge), then
            // lands a few milliseconds into it.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !day_step_running(&db).await && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..15))).await;
        }
        let (_, metrics) = get_text(&client, &format!("{address}/metrics")).await;
        if prometheus_sum(&metrics, "vigil_rollup_compaction_days_total", &[]) > 0.0 {
            compacting_runs += 1;
        }
        if day_step_running(&db).await {
            mid_step += 1;
        }
        vigil.child.kill().expect("kill -9");
        vigil.wait_exit(Duration::from_secs(10)).await;
        slowest = slowest.max(run_started.elapsed());
    }
    let killed_after = started.elapsed();
    let mut last = Vigil::start(&env, &logs.path().join("last.log"));
    last.wait_healthy(&client, &address).await;
    let days: Vec<chrono::NaiveDate> = (1..=LATER_DAY)
        .rev()
        .map(|k| {
            chrono::DateTime::from_timestamp_millis(day_start(k))
                .unwrap()
                .date_naive()
        })
        .collect();
    let range = vigil::model::TimeRange {
        start_ms: day_start(LATER_DAY),
        end_ms: today,
    };
    // Everything redelivered, compacted and merged, in both the raw and rollup tiers.
    let raw = eventually(ACK_DEADLINE, || async {
        let left = backlog(&db, &days).await?;
        let raw = raw_by_host(&db, range).await?;
        let total: usize = raw.values().map(Vec::len).sum();
        if left.is_empty() && total >= acked.len() {
            Ok(raw)
        } else {
            Err(format!(
                "{left:?}; {total} of {} acknowledged points stored",
                acked.len()
            ))
        }
    })
    .await;
    let settled_after = started.elapsed();
    let stored = stored_counts(&raw);
    let token = issue_token(&db, ADMIN_EMAIL, "personal").await;
    let admin = authorized_client(&token);
    let mut wrong = Vec::new();
    for k in 1..=LATER_DAY {
        let day = (day_start(k), day_start(k) + DAY);
        let answered = answered_buckets(&admin, &address, day, "1m", "rollup_1m").await;
        let day_raw: BTreeMap<String, Vec<(i64, f64)>> = raw
            .iter()
            .map(|(h, s)| {
                let s = s.iter().filter(|(t, _)| (day.0..day.1).contains(t));
                (h.clone(), s.copied().collect())
            })
            .collect();
        match answered {
            Ok(a) => wrong.extend(differences("1m", &expected_buckets(&day_raw, MINUTE), &a)),
            Err(e) => wrong.push(e),
        }
    }
    let hours = answered_buckets(
        &admin,
        &address,
        (range.start_ms, range.end_ms),
        "1h",
        "rollup_1h",
    )
    .await;
    match hours {
        Ok(a) => wrong.extend(differences("1h", &expected_buckets(&raw, HOUR), &a)),
        Err(e) => wrong.push(e),
    }
    let blocks: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM rollup_1m_blocks), (SELECT count(*) FROM rollup_1h_blocks)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let log = last.log_tail();
    drop(last);
    db.close().await;
    isolation.remove_all().await;
    leftovers.disarm();
    let minute_buckets = expected_buckets(&raw, MINUTE).len();
    eprintln!(
        "rollup_compaction_kill: {} points acknowledged over {KILLS} kills ({compacting_runs} runs compacted or merged rollup days before their kill, {mid_step} kills inside a step, slowest run {slowest:?}) in {killed_after:?}, settled at {settled_after:?}; {minute_buckets} minute buckets in {} minute and {} hour blocks compared in {:?}",
        acked.len(),
        blocks.0,
        blocks.1,
        started.elapsed()
    );
    crate::compaction_kill::assert_stored_once(&acked, &stored, KILLS * 600, &log);
    assert!(
        wrong.is_empty(),
        "expected the rollup tiers to answer exactly what the raw points give; {} differences, first {:?}; log:\n{log}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    // Otherwise the kills missed what this test is about (each is about half of the
    // runs, varying with timing).
    assert!(
        compacting_runs >= KILLS / 4 && mid_step >= KILLS / 4,
        "expected the rollup compactor to finish steps in several runs before their kill and several kills inside one of its steps; steps finished in {compacting_runs} runs, {mid_step} kills inside a step"
    );
}

/// GET as text; `(0, error)` when no response came.
async fn get_text(client: &awc::Client, url: &str) -> (u16, String) {
    match client.get(url).send().await {
        Ok(mut response) => {
            let bytes = response.body().await.unwrap_or_default();
            (
                response.status().as_u16(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        }
        Err(e) => (0, e.to_string()),
    }
}
