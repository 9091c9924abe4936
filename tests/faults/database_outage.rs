//! PostgreSQL stopped for ~10 s while agents keep sending: ingest keeps answering 202
//! (RabbitMQ holds the points), queries answer 503 rather than "no data", the writers
//! retry without dead-lettering, and once the database is back every acknowledged
//! point is stored exactly once.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use vigil::app::Application;

use crate::cluster::PgCluster;
use crate::helpers::*;
use crate::load::{check_exactly_once, get_json, post_json, Load};

const OUTAGE: Duration = Duration::from_secs(10);
const METRIC: &str = "outage";

#[test]
fn a_database_outage_loses_no_acknowledged_point() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(scenario());
}

async fn scenario() {
    let cluster = PgCluster::start_new()
        .await
        .expect("starting a throwaway PostgreSQL cluster");
    let isolation = Isolation::new();
    let mut leftovers = CleanupGuard::new(&isolation);
    let mut settings = test_settings(&isolation);
    settings.database.url = cluster.url("vigil_outage");
    settings.database.acquire_timeout = Duration::from_secs(2);
    settings.ingest.retry_max = Duration::from_secs(2);
    settings.query.breaker_failures = 2;
    settings.query.breaker_open_for = Duration::from_secs(1);
    let application = Application::build(settings.clone())
        .await
        .expect("Application::build");
    let address = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    let server = actix_rt::spawn(application.run_until_stopped());
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&settings.database.url)
        .unwrap();
    let client = authorized_client(&issue_token(&db, ADMIN_EMAIL, "personal").await);
    let query = |start: i64| json!({"query": METRIC, "start": start, "end": now_ms() + 60_000, "aggregation": "count", "step": "1h"});
    let query_start = now_ms() - 3_600_000;

    let load = Load::start(&address, METRIC, 3, 50, Duration::from_millis(50));
    eventually(Duration::from_secs(30), || async {
        match load.acked_count() {
            n if n >= 500 => Ok(()),
            n => Err(format!(
                "expected 500 points acknowledged before the outage; got {n}"
            )),
        }
    })
    .await;
    eventually(STORE_DEADLINE, || async {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM points")
            .fetch_one(&db)
            .await
            .map_err(|e| e.to_string())?;
        if stored > 0 {
            Ok(())
        } else {
            Err("expected points stored before the outage; none yet".to_string())
        }
    })
    .await;

    cluster.stop().await.expect("stopping PostgreSQL");
    let acked_before = load.acked_count();
    let down_since = Instant::now();
    let mut query_statuses = Vec::new();
    let mut health_saw_postgres_down = false;
    while down_since.elapsed() < OUTAGE {
        let response = post_json(
            &client,
            &format!("{address}/api/v1/query"),
            &query(query_start),
        )
        .await;
        let code = response.1["code"].as_str().unwrap_or("").to_string();
        query_statuses.push(format!("{} {code}", response.0));
        let (status, health) = get_json(&client, &format!("{address}/health")).await;
        if status == 503
            && health["checks"]["postgres"]["status"] == "down"
            && health["status"] == "unhealthy"
        {
            health_saw_postgres_down = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let acked_during = load.acked_count() - acked_before;
    cluster.start().await.expect("starting PostgreSQL again");

    let acked_at_restart = load.acked_count();
    eventually(Duration::from_secs(30), || async {
        match load.acked_count() - acked_at_restart {
            n if n >= 500 => Ok(()),
            n => Err(format!(
                "expected ingest to go on after the database came back; {n} more points acknowledged"
            )),
        }
    })
    .await;
    let tally = load.stop().await;

    let verdict = tokio::time::timeout(Duration::from_secs(120), async {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match check_exactly_once(&db, METRIC, &tally.acked).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err("the check itself hung".into()));
    let dead_lettered = queue_depth(&isolation.dead_letter_queue)
        .await
        .ok()
        .flatten();
    let health_after = eventually(Duration::from_secs(30), || async {
        let (status, body) = get_json(&client, &format!("{address}/health")).await;
        if status == 200 {
            Ok(body)
        } else {
            Err(format!(
                "expected /health 200 after recovery; got {status} {body}"
            ))
        }
    })
    .await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM points")
        .fetch_one(&db)
        .await
        .unwrap();
    let query_after = eventually(Duration::from_secs(30), || async {
        let (status, body) = post_json(
            &client,
            &format!("{address}/api/v1/query"),
            &query(query_start),
        )
        .await;
        if status != 200 {
            return Err(format!(
                "expected queries to work again; got {status} {body}"
            ));
        }
        let total: f64 = series_of(&body)?.iter().map(|(_, v)| v).sum();
        Ok(total)
    })
    .await;

    handle.stop(true).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
    db.close().await;
    isolation.remove_all().await;
    leftovers.disarm();
    let log = cluster.log_tail();
    drop(cluster);

    eprintln!(
        "database outage: {} points acknowledged ({acked_during} while PostgreSQL was down), outcomes {:?}",
        tally.acked.len(),
        tally.outcomes
    );
    assert!(
        tally.partial.is_empty(),
        "every request had only valid points; partial answers: {:?}",
        tally.partial
    );
    verdict.unwrap_or_else(|e| {
        panic!("after the outage, expected every acknowledged point stored once: {e}\nPostgreSQL log:\n{log}")
    });
    assert!(
        acked_during > 0,
        "expected ingest to keep answering 202 while PostgreSQL was down (RabbitMQ holds the points); none acknowledged in {OUTAGE:?}"
    );
    assert!(
        !query_statuses.iter().any(|s| s.starts_with("200")),
        "expected no 200 from /api/v1/query while PostgreSQL was down (an empty result would look like no data); got {query_statuses:?}"
    );
    assert!(
        query_statuses.iter().any(|s| s == "503 UNAVAILABLE"),
        "expected 503 UNAVAILABLE from /api/v1/query while PostgreSQL was down; got {query_statuses:?}"
    );
    assert!(
        health_saw_postgres_down,
        "expected /health 503 unhealthy with postgres down during the outage"
    );
    assert_eq!(
        dead_lettered,
        Some(0),
        "a database outage must not dead-letter data; dead-letter queue depth {dead_lettered:?}"
    );
    assert_eq!(
        health_after["status"], "healthy",
        "after recovery: {health_after}"
    );
    assert_eq!(
        query_after, stored as f64,
        "after recovery the query counts every stored point"
    );
}

/// With the writers stuck (database down) the ingest queue fills up to
/// `amqp.max_queue_length`; RabbitMQ then refuses publishes (`reject-publish`), and
/// ingest must answer 503 with Retry-After, not 202. Once the database is back, the
/// acknowledged points are all stored, once.
#[test]
fn a_full_ingest_queue_answers_503_and_loses_nothing() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(full_queue_scenario());
}

async fn full_queue_scenario() {
    const MAX_QUEUE: u32 = 10;
    let cluster = PgCluster::start_new()
        .await
        .expect("starting a throwaway PostgreSQL cluster");
    let isolation = Isolation::new();
    let mut leftovers = CleanupGuard::new(&isolation);
    let mut settings = test_settings(&isolation);
    settings.database.url = cluster.url("vigil_full_queue");
    settings.database.acquire_timeout = Duration::from_secs(2);
    settings.ingest.retry_max = Duration::from_secs(1);
    settings.amqp.max_queue_length = MAX_QUEUE;
    settings.amqp.prefetch = 1;
    settings.actors.writer_pool = 1;
    let application = Application::build(settings.clone())
        .await
        .expect("Application::build");
    let address = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    let server = actix_rt::spawn(application.run_until_stopped());
    let client = http_client();
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&settings.database.url)
        .unwrap();
    eventually(Duration::from_secs(30), || async {
        let (status, body) = get_json(&client, &format!("{address}/health")).await;
        if status == 200 {
            Ok(())
        } else {
            Err(format!(
                "expected /health 200 before the test; got {status} {body}"
            ))
        }
    })
    .await;

    cluster.stop().await.expect("stopping PostgreSQL");
    let mut acked = std::collections::BTreeSet::new();
    let mut outcomes = Vec::new();
    let mut refused = None;
    for request in 0..(MAX_QUEUE as u64 * 5) {
        let values: Vec<u64> = (request * 10..request * 10 + 10).collect();
        let body = serde_json::Value::Array(
            values
                .iter()
                .map(|v| json!({"name": "full", "value": *v as f64}))
                .collect(),
        );
        let response = client
            .post(format!("{address}/api/v1/metrics"))
            .send_json(&body)
            .await
            .expect("a response from ingest");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .map(|v| v.to_str().unwrap_or("").to_string());
        let mut response = response;
        let reply: serde_json::Value =
            serde_json::from_slice(&response.body().await.unwrap_or_default()).unwrap_or_default();
        outcomes.push(status);
        match status {
            202 => acked.extend(values),
            _ => {
                refused = Some((status, reply, retry_after));
                break;
            }
        }
    }
    let depth = queue_depth(&isolation.ingest_queue).await.ok().flatten();
    cluster.start().await.expect("starting PostgreSQL again");
    let deadline = Instant::now() + Duration::from_secs(60);
    let verdict = loop {
        match check_exactly_once(&db, "full", &acked).await {
            Ok(()) => break Ok(()),
            Err(e) if Instant::now() >= deadline => break Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    let (after_status, after_body) = eventually(Duration::from_secs(30), || async {
        let (status, body) = post_json(
            &client,
            &format!("{address}/api/v1/metrics"),
            &json!([{"name": "after_full", "value": 1.0}]),
        )
        .await;
        if status == 202 {
            Ok((status, body))
        } else {
            Err(format!(
                "expected 202 once the queue drained; got {status} {body}"
            ))
        }
    })
    .await;

    handle.stop(true).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
    db.close().await;
    isolation.remove_all().await;
    leftovers.disarm();
    drop(cluster);

    eprintln!("full queue: outcomes {outcomes:?}, queue depth when refused {depth:?}");
    let (status, reply, retry_after) = refused.unwrap_or_else(|| {
        panic!("expected a 503 once {MAX_QUEUE} messages waited in the queue; got only {outcomes:?} (queue depth {depth:?})")
    });
    assert_eq!(
        status, 503,
        "expected 503 when the queue is full; got {status} {reply} (outcomes {outcomes:?})"
    );
    assert_eq!(
        reply["code"], "UNAVAILABLE",
        "expected code UNAVAILABLE; got {reply}"
    );
    assert!(
        retry_after
            .as_deref()
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|s| s > 0),
        "expected Retry-After in seconds with the 503; got {retry_after:?}"
    );
    assert!(
        depth.is_some_and(|d| d <= MAX_QUEUE),
        "expected at most {MAX_QUEUE} messages in the queue; got {depth:?}"
    );
    verdict.unwrap_or_else(|e| {
        panic!("after the database came back, expected every acknowledged point stored once: {e}")
    });
    assert_eq!(after_status, 202, "{after_body}");
}
