//! Chaos loops under load, with a ledger: the real `vigil serve` against a private
//! PostgreSQL cluster, a private Redis and a RabbitMQ it may lose, while agents ingest
//! (every acknowledged point recorded by its unique value) and a side load queries,
//! reads dashboards, logs in and has alert rules evaluated every second.
//!
//! Faults, in order: (a) kill -9 of `vigil serve` at random moments, restarted at
//! once; (b) the broker lost: kill -9 of a private RabbitMQ node and a restart on
//! the same data (or, in the short version, a cut of the TCP proxy in front of the
//! shared broker); (c) PostgreSQL stopped with `-m immediate` (a crash) and started
//! after a while; (d) Redis hung with SIGSTOP, then SIGCONT.
//!
//! After each fault: lost = 0 and duplicated = 0 (the ledger against the database),
//! and ingest answered only 2xx or 503 with Retry-After (a transport error counts as
//! a failure too, except while `vigil serve` itself is dead). Recovery is the time
//! from the dependency's return (or the restart of the process) to the first 2xx.
//!
//! `VIGIL_CHAOS=long` (what `scripts/chaos.sh long` sets) runs the long version: 20
//! kills, 30 s outages, three rounds of each dependency fault. `VIGIL_CHAOS_BROKER`
//! is `node` or `proxy` (default: `node` for long, `proxy` for short, which keeps the
//! short version inside its CI budget: a node takes 10-60 s to boot here).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::cluster::PgCluster;
use crate::helpers::*;
use crate::load::{compare_ledger, Load, Tally};
use crate::private::{PrivateRabbit, PrivateRedis};
use crate::proxy::Proxy;
use crate::sigterm::Vigil;

/// How hard to shake.
struct Plan {
    name: &'static str,
    kills: usize,
    /// Rounds of each dependency fault.
    rounds: usize,
    /// How long PostgreSQL stays stopped and Redis hung.
    outage: Duration,
    /// How long the broker stays away before it is restarted (or the proxy restored).
    broker_outage: Duration,
    private_broker: bool,
}

impl Plan {
    fn from_env() -> Plan {
        let long = std::env::var("VIGIL_CHAOS").as_deref() == Ok("long");
        let private_broker = match std::env::var("VIGIL_CHAOS_BROKER").as_deref() {
            Ok("node") => true,
            Ok("proxy") => false,
            _ => long,
        };
        if long {
            Plan {
                name: "long",
                kills: 20,
                rounds: 3,
                outage: Duration::from_secs(30),
                broker_outage: Duration::from_secs(10),
                private_broker,
            }
        } else {
            Plan {
                name: "short",
                kills: 3,
                rounds: 1,
                outage: Duration::from_secs(10),
                broker_outage: Duration::from_secs(5),
                private_broker,
            }
        }
    }
}

/// The broker Vigil talks to, and how it is taken away.
enum Broker {
    Node(PrivateRabbit),
    Proxied(Proxy),
}

impl Broker {
    fn url(&self) -> String {
        match self {
            Broker::Node(node) => node.url(),
            Broker::Proxied(proxy) => format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Broker::Node(_) => "rabbitmq kill -9 + restart",
            Broker::Proxied(_) => "rabbitmq cut (proxy)",
        }
    }

    async fn take_down(&mut self) {
        match self {
            Broker::Node(node) => node.kill9().await.expect("kill -9 of the RabbitMQ node"),
            Broker::Proxied(proxy) => proxy.cut(),
        }
    }

    async fn bring_back(&mut self) {
        match self {
            Broker::Node(node) => {
                let started = node.start().await;
                started.unwrap_or_else(|e| {
                    panic!("restarting the RabbitMQ node: {e:#}\n{}", node.log_tail())
                });
            }
            Broker::Proxied(proxy) => proxy.restore(),
        }
    }
}

/// One line of the report.
struct Row {
    fault: String,
    iterations: usize,
    acknowledged: usize,
    lost: usize,
    duplicated: usize,
    /// Ingest answers other than 2xx or 503 with Retry-After, by kind.
    bad: BTreeMap<String, usize>,
    recovery: Vec<f64>,
    /// From the last return of the dependency until every acknowledged point was stored.
    settled_s: f64,
    outcomes: BTreeMap<String, usize>,
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| fault | iterations | acknowledged | lost | duplicated | other answers | recovery s (max, median) | all stored after s |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        let mut rec = r.recovery.clone();
        rec.sort_by(|a, b| a.total_cmp(b));
        let median = rec.get(rec.len() / 2).copied().unwrap_or(f64::NAN);
        let max = rec.last().copied().unwrap_or(f64::NAN);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {max:.1}, {median:.1} | {:.1} |",
            r.fault,
            r.iterations,
            r.acknowledged,
            r.lost,
            r.duplicated,
            r.bad.values().sum::<usize>(),
            r.settled_s
        );
    }
    out
}

/// Outcomes that break the ingest contract: anything but a 2xx or a 503 with
/// Retry-After; transport errors too unless the server itself was dead.
fn contract_breaches(tally: &Tally, server_killed: bool) -> BTreeMap<String, usize> {
    tally
        .outcomes
        .iter()
        .filter(|(outcome, _)| {
            let ok = outcome.starts_with('2') || outcome.as_str() == "503";
            let expected_error = server_killed && outcome.as_str() == "error";
            !(ok || expected_error)
        })
        .map(|(o, n)| (o.clone(), *n))
        .collect()
}

/// Seconds from `since` to the first 2xx the agents saw after it.
async fn first_2xx_after(load: &Load, since: Instant, timeout: Duration) -> f64 {
    eventually(timeout, || async {
        let tally = load.tally.borrow();
        tally
            .since_mark
            .iter()
            .find(|(at, outcome)| *at >= since && outcome.starts_with('2'))
            .map(|(at, _)| at.duration_since(since).as_secs_f64())
            .ok_or_else(|| "no 2xx since the dependency returned".to_string())
    })
    .await
}

/// Answers of the side load by route and status, e.g. `query 200`.
type SideTally = Rc<RefCell<BTreeMap<String, usize>>>;

/// Queries, dashboard reads and logins while the faults run; answers by route and status.
fn side_load(address: &str, token: &str, metric: &str) -> (SideTally, Rc<std::cell::Cell<bool>>) {
    let seen = Rc::new(RefCell::new(BTreeMap::new()));
    let stop = Rc::new(std::cell::Cell::new(false));
    let (address, token, metric) = (address.to_string(), token.to_string(), metric.to_string());
    let (seen2, stop2) = (seen.clone(), stop.clone());
    actix_rt::spawn(async move {
        let client = authorized_client(&token);
        let anonymous = http_client();
        let mut i = 0u64;
        while !stop2.get() {
            let now = now_ms();
            let query = json!({"query": metric, "start": now - 300_000, "end": now, "aggregation": "count", "step": "10s"});
            let calls = [
                (
                    "query",
                    client
                        .post(format!("{address}/api/v1/query"))
                        .timeout(Duration::from_secs(15))
                        .send_json(&query)
                        .await
                        .map(|r| r.status().as_u16()),
                ),
                (
                    "dashboards",
                    client
                        .get(format!("{address}/api/v1/dashboards"))
                        .timeout(Duration::from_secs(15))
                        .send()
                        .await
                        .map(|r| r.status().as_u16()),
                ),
            ];
            for (route, result) in calls {
                let key = format!(
                    "{route} {}",
                    result
                        .map(|s| s.to_string())
                        .unwrap_or_else(|_| "error".into())
                );
                *seen2.borrow_mut().entry(key).or_insert(0) += 1;
            }
            if i % 8 == 0 {
                let login = anonymous
                    .post(format!("{address}/api/v1/auth/login"))
                    .timeout(Duration::from_secs(15))
                    .send_json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
                    .await
                    .map(|r| r.status().as_u16());
                let key = format!(
                    "login {}",
                    login
                        .map(|s| s.to_string())
                        .unwrap_or_else(|_| "error".into())
                );
                *seen2.borrow_mut().entry(key).or_insert(0) += 1;
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    (seen, stop)
}

/// Waits until every acknowledged point is stored (or the deadline), then compares.
async fn settle(db: &PgPool, metric: &str, tally: &Tally, since: Instant) -> (usize, usize, f64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match compare_ledger(db, metric, &tally.acked).await {
            Ok(check) if check.missing.is_empty() || Instant::now() >= deadline => {
                return (
                    check.missing.len(),
                    check.duplicated.len(),
                    since.elapsed().as_secs_f64(),
                );
            }
            Err(e) if Instant::now() >= deadline => panic!("reading the ledger's points: {e}"),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

fn start_load(address: &str, metric: &str) -> Load {
    let load = Load::start(address, metric, 4, 50, Duration::from_millis(20));
    load.mark();
    load
}

#[test]
fn chaos_loops_lose_and_double_nothing() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(scenario(Plan::from_env()));
}

async fn scenario(plan: Plan) {
    let started = Instant::now();
    let isolation = Isolation::new();
    let mut leftovers = CleanupGuard::new(&isolation);
    let logs = tempfile::tempdir().unwrap();
    let pg = PgCluster::start_new()
        .await
        .expect("a private PostgreSQL cluster");
    let redis = PrivateRedis::start().await.expect("a private redis-server");
    let mut broker = if plan.private_broker {
        Broker::Node(
            PrivateRabbit::start_new()
                .await
                .expect("a private RabbitMQ node"),
        )
    } else {
        Broker::Proxied(Proxy::start("127.0.0.1:5672".parse().unwrap(), true))
    };
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let mut env = isolation.env();
    env.extend(
        [
            ("VIGIL__HTTP__ADDR", format!("127.0.0.1:{port}")),
            ("VIGIL__DATABASE__URL", pg.url(&isolation.database)),
            ("VIGIL__DATABASE__MAX_CONNECTIONS", "8".to_string()),
            ("VIGIL__AMQP__URL", broker.url()),
            ("VIGIL__REDIS__URL", redis.url()),
            ("VIGIL__INGEST__FLUSH_INTERVAL", "100ms".to_string()),
            ("VIGIL__AUTH__ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
            ("VIGIL__AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
            ("VIGIL__AUTH__INGEST_REQUESTS_PER_IP", "1000000".to_string()),
            (
                "VIGIL__AUTH__INGEST_REQUESTS_PER_KEY",
                "1000000".to_string(),
            ),
            ("VIGIL__AUTH__LOGIN_MAX_FAILURES_PER_IP", "1000".to_string()),
            ("VIGIL__ALERTS__EVALUATION_INTERVAL", "1s".to_string()),
            ("VIGIL__NOTIFY__ALLOW_PRIVATE_TARGETS", "true".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let client = http_client();
    let mut generation = 0usize;
    let mut log_path = || {
        generation += 1;
        logs.path().join(format!("vigil{generation}.log"))
    };
    let mut vigil = Vigil::start(&env, &log_path());
    vigil.wait_healthy(&client, &address).await;
    let db = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(&pg.url(&isolation.database))
        .unwrap();
    let token = issue_token(&db, ADMIN_EMAIL, "personal").await;
    let admin = authorized_client(&token);
    for (i, metric) in [
        "chaos.kill",
        "chaos.broker",
        "chaos.postgres",
        "chaos.redis",
    ]
    .iter()
    .enumerate()
    {
        let rule = json!({
            "name": format!("chaos rule {i}"),
            "query": {"query": metric, "aggregation": "count", "window": "1m"},
            "condition": "gt", "threshold": 0.0, "duration": "0s", "severity": "info",
            "notification": {"type": "webhook", "target": format!("http://127.0.0.1:{}/hook", free_port())},
        });
        let (status, body) =
            crate::load::post_json(&admin, &format!("{address}/api/v1/alerts/rules"), &rule).await;
        assert_eq!(status, 201, "creating an alert rule: {body}");
    }
    let (side, stop_side) = side_load(&address, &token, "chaos.kill");
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut rows = Vec::new();

    // (a) kill -9 of the server.
    {
        let metric = "chaos.kill";
        let load = start_load(&address, metric);
        let mut recovery = Vec::new();
        let mut restarted = Instant::now();
        for _ in 0..plan.kills {
            tokio::time::sleep(Duration::from_millis(rng.random_range(1000..4000))).await;
            vigil.child.kill().expect("kill -9 of vigil serve");
            vigil
                .wait_exit(Duration::from_secs(10))
                .await
                .expect("the killed server exits");
            drop(vigil);
            restarted = Instant::now();
            vigil = Vigil::start(&env, &log_path());
            recovery.push(first_2xx_after(&load, restarted, Duration::from_secs(90)).await);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let tally = load.stop().await;
        let (lost, duplicated, settled_s) = settle(&db, metric, &tally, restarted).await;
        rows.push(Row {
            fault: "vigil serve kill -9".into(),
            iterations: plan.kills,
            acknowledged: tally.acked.len(),
            lost,
            duplicated,
            bad: contract_breaches(&tally, true),
            recovery,
            settled_s,
            outcomes: tally.outcomes.clone(),
        });
    }

    // (b) the broker, (c) PostgreSQL, (d) Redis: the server stays up.
    for fault in ["broker", "postgres", "redis"] {
        let metric = format!("chaos.{fault}");
        let load = start_load(&address, &metric);
        let mut recovery = Vec::new();
        let mut back = Instant::now();
        for _ in 0..plan.rounds {
            tokio::time::sleep(Duration::from_millis(rng.random_range(2000..4000))).await;
            match fault {
                "broker" => {
                    broker.take_down().await;
                    tokio::time::sleep(plan.broker_outage).await;
                    broker.bring_back().await;
                }
                "postgres" => {
                    pg.stop_immediately()
                        .await
                        .expect("pg_ctl stop -m immediate");
                    tokio::time::sleep(plan.outage).await;
                    pg.start().await.expect("pg_ctl start after the crash");
                }
                _ => {
                    redis.hang().expect("SIGSTOP of redis-server");
                    tokio::time::sleep(plan.outage).await;
                    redis.resume().expect("SIGCONT of redis-server");
                }
            }
            back = Instant::now();
            recovery.push(first_2xx_after(&load, back, Duration::from_secs(90)).await);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let tally = load.stop().await;
        let (lost, duplicated, settled_s) = settle(&db, &metric, &tally, back).await;
        rows.push(Row {
            fault: match fault {
                "broker" => broker.label().to_string(),
                "postgres" => format!("postgresql stop -m immediate {} s", plan.outage.as_secs()),
                _ => format!("redis SIGSTOP {} s", plan.outage.as_secs()),
            },
            iterations: plan.rounds,
            acknowledged: tally.acked.len(),
            lost,
            duplicated,
            bad: contract_breaches(&tally, false),
            recovery,
            settled_s,
            outcomes: tally.outcomes.clone(),
        });
    }
    stop_side.set(true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let side = side.borrow().clone();
    let evaluations: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events")
        .fetch_one(&db)
        .await
        .unwrap_or(-1);
    let log = vigil.log_tail();
    drop(vigil);
    db.close().await;
    isolation.remove_all().await;
    leftovers.disarm();

    eprintln!(
        "chaos ({}, broker {}): {:.0} s in all\n{}",
        plan.name,
        if plan.private_broker {
            "private node"
        } else {
            "proxy"
        },
        started.elapsed().as_secs_f64(),
        table(&rows)
    );
    for r in &rows {
        eprintln!("  {}: ingest outcomes {:?}", r.fault, r.outcomes);
    }
    eprintln!("  side load (route status: count): {side:?}; alert events recorded: {evaluations}");
    for r in &rows {
        assert!(r.acknowledged > 0, "{}: nothing acknowledged", r.fault);
        assert!(
            r.lost == 0 && r.duplicated == 0,
            "{}: {} lost, {} duplicated of {} acknowledged; log:\n{log}",
            r.fault,
            r.lost,
            r.duplicated,
            r.acknowledged
        );
        assert!(
            r.bad.is_empty(),
            "{}: ingest answered outside 2xx / 503 with Retry-After: {:?}",
            r.fault,
            r.bad
        );
    }
    let server_errors: usize = side
        .iter()
        .filter(|(k, _)| k.ends_with(" 500"))
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(
        server_errors, 0,
        "the side load saw 500s (a fault must be a 503): {side:?}"
    );
}
