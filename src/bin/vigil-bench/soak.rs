//! `vigil-bench soak`: live ingest at a fixed rate from many agents for a long time,
//! with a share of bad requests, series churn, a dashboard's queries every few
//! seconds and a set of alert rules; every `--sample` it prints ingest latency
//! percentiles, 4xx/5xx counts, the server's RSS and open file descriptors, the
//! ingest queue depth (from `/metrics`) and query p95, and at the end the slopes of
//! RSS and FDs after the warm-up (a leak shows as a steady slope).
//!
//! Points are stamped with the wall clock (live data, not a backfill). Series churn:
//! every minute a further `--churn` share of the series gets a new `gen` label, so
//! that many new series appear per minute and as many go quiet.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;

use crate::cli::Target;
use crate::client::{http_client, pg_pool};
use crate::stats::Latency;

#[derive(Args, Debug, Clone)]
pub struct SoakCmd {
    #[command(flatten)]
    pub target: Target,
    /// Points per second, all agents together.
    #[arg(long, default_value_t = 20_000)]
    pub rate: u64,
    /// Concurrent agents (each sends its share of the rate).
    #[arg(long, default_value_t = 40)]
    pub agents: usize,
    /// Points per request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Series in the fleet (spread over 10 metrics `<prefix>.m0` ...).
    #[arg(long, default_value_t = 20_000)]
    pub series: usize,
    #[arg(long, default_value = "soak")]
    pub prefix: String,
    /// Share of requests that are bad on purpose (malformed JSON: a 400 is expected).
    #[arg(long, default_value_t = 0.01)]
    pub bad_fraction: f64,
    /// Share of the series replaced by new ones every minute.
    #[arg(long, default_value_t = 0.01)]
    pub churn: f64,
    /// How long to run.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Sampling period of the report lines.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub sample: Duration,
    /// Samples before this are left out of the slopes.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// How often the dashboard runs its queries.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub dashboard_every: Duration,
    /// Alert rules created at the start (over the soak metrics; they never fire).
    #[arg(long, default_value_t = 200)]
    pub alert_rules: usize,
    /// The user whose API token (issued in the database) the queries and rule
    /// creation use.
    #[arg(long, default_value = "admin@localhost")]
    pub admin_email: String,
    /// PID of the server, for RSS and open file descriptors.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// One report line.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub at_s: f64,
    pub requests: usize,
    pub ingest_p50_ms: f64,
    pub ingest_p99_ms: f64,
    pub status_4xx: usize,
    pub status_5xx: usize,
    pub transport_errors: usize,
    pub rss_mib: Option<f64>,
    pub fds: Option<usize>,
    pub queue_depth: Option<i64>,
    pub query_p95_ms: f64,
    /// Slowest answer in the window per panel, in the order of `PANELS`.
    pub query_max_by_panel_ms: [f64; PANELS.len()],
}

#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub rate: u64,
    pub duration_s: f64,
    pub points_accepted: u64,
    pub bad_requests_sent: u64,
    pub total_5xx: usize,
    pub total_transport_errors: usize,
    pub samples: Vec<Sample>,
    /// Least-squares slope of RSS after the warm-up, % of the mean per hour.
    pub rss_slope_pct_per_hour: Option<f64>,
    /// Least-squares slope of open FDs after the warm-up, per hour.
    pub fd_slope_per_hour: Option<f64>,
    pub ingest_latency: Latency,
    pub query_latency: Latency,
}

/// What the agents and the dashboard saw since the last sample.
/// The dashboard's panels: aggregation, range in ms, step.
const PANELS: [(&str, i64, &str); 4] = [
    ("avg", 3_600_000, "10s"),
    ("max", 3_600_000, "1m"),
    ("sum", 86_400_000, "1m"),
    ("count", 86_400_000, "5m"),
];

#[derive(Default)]
struct Window {
    ingest: Vec<Duration>,
    queries: Vec<Duration>,
    /// The slowest answer of each dashboard panel in the window: the panels read
    /// different tiers, and a growing p95 needs to say which of them grows.
    slowest_by_panel: [Duration; PANELS.len()],
    status_4xx: usize,
    status_5xx: usize,
    errors: usize,
}

#[derive(Default)]
struct Totals {
    accepted: u64,
    bad_sent: u64,
    status_5xx: usize,
    errors: usize,
    ingest: Vec<Duration>,
    queries: Vec<Duration>,
}

/// The `gen` label of series `i` at minute `minute`: the series whose turn it is
/// (a `churn` share of them each minute, in a fixed order) move to a new generation.
pub fn generation(i: usize, series: usize, churn: f64, minute: u64) -> u64 {
    let per_minute = ((series as f64 * churn).round() as usize).max(1);
    let turns = series.div_ceil(per_minute) as u64;
    let slot = (i / per_minute) as u64;
    if minute < slot {
        0
    } else {
        (minute - slot) / turns + 1
    }
}

/// Least-squares slope of `ys` over `xs` (per x unit); None for fewer than 3 points.
pub fn slope(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() < 3 || xs.len() != ys.len() {
        return None;
    }
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn proc_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn proc_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// `vigil_queue_depth_messages` from the server's `/metrics`.
async fn queue_depth(client: &awc::Client, url: &str) -> Option<i64> {
    let mut response = client.get(format!("{url}/metrics")).send().await.ok()?;
    let body = response.body().limit(16 << 20).await.ok()?;
    let text = String::from_utf8_lossy(&body);
    text.lines()
        .find(|l| l.starts_with("vigil_queue_depth_messages"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as i64)
}

async fn issue_token(database_url: &str, email: &str) -> anyhow::Result<String> {
    use sha2::Digest;
    let pool = pg_pool(database_url, 1).await?;
    let token = format!("vgl_p_{}", uuid::Uuid::new_v4().simple());
    let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    let inserted = sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, kind, token_hash, prefix)
         SELECT $1, id, 'vigil-bench soak', 'personal', $3, $4 FROM users WHERE lower(email) = lower($2)",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(email)
    .bind(&digest[..])
    .bind(&token[..12])
    .execute(&pool)
    .await?
    .rows_affected();
    anyhow::ensure!(inserted == 1, "no user {email} in the server's database");
    pool.close().await;
    Ok(token)
}

fn metric(prefix: &str, i: usize) -> String {
    format!("{prefix}.m{}", i % 10)
}

async fn create_rules(client: &awc::Client, c: &SoakCmd) -> anyhow::Result<()> {
    for r in 0..c.alert_rules {
        let rule = json!({
            "name": format!("soak rule {r}"),
            "query": {"query": metric(&c.prefix, r), "aggregation": "max", "window": "1m",
                      "tags": {"host": format!("h{}", r % c.series.max(1))}},
            "condition": "gt", "threshold": 1e15, "duration": "1m", "severity": "info",
            "notification": {"type": "webhook", "target": "http://127.0.0.1:9/soak"},
        });
        let mut response = client
            .post(format!("{}/api/v1/alerts/rules", c.target.url))
            .send_json(&rule)
            .await
            .map_err(|e| anyhow::anyhow!("creating alert rule {r}: {e}"))?;
        if !response.status().is_success() {
            let body = response.body().await.unwrap_or_default();
            anyhow::bail!(
                "creating alert rule {r}: {} {}",
                response.status(),
                String::from_utf8_lossy(&body)
            );
        }
    }
    Ok(())
}

/// One agent: `batch` points every `period`, cycling over its share of the series.
async fn agent(
    id: usize,
    c: Rc<SoakCmd>,
    client: awc::Client,
    started: Instant,
    period: Duration,
    window: Rc<RefCell<Window>>,
    totals: Rc<RefCell<Totals>>,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(id as u64);
    let mine: Vec<usize> = (id..c.series).step_by(c.agents).collect();
    let mut next = 0usize;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Spread the agents over the period instead of sending in lockstep.
    tokio::time::sleep(period.mul_f64(id as f64 / c.agents as f64)).await;
    let url = format!("{}/api/v1/metrics", c.target.url);
    while started.elapsed() < c.duration {
        tick.tick().await;
        let now = chrono::Utc::now().timestamp_millis();
        let minute = started.elapsed().as_secs() / 60;
        let bad = rng.random_bool(c.bad_fraction.clamp(0.0, 1.0));
        let body = if bad {
            b"[{\"name\": \"soak.bad\", \"value\": ".to_vec()
        } else {
            let points: Vec<serde_json::Value> = (0..c.batch)
                .map(|_| {
                    let i = mine[next % mine.len().max(1)];
                    next += 1;
                    json!({"name": metric(&c.prefix, i), "value": rng.random_range(0.0..100.0),
                           "timestamp": now,
                           "tags": {"host": format!("h{i}"),
                                    "gen": format!("g{}", generation(i, c.series, c.churn, minute))}})
                })
                .collect();
            serde_json::to_vec(&points).expect("points serialise")
        };
        let sent = Instant::now();
        let result = client
            .post(&url)
            .insert_header(("Content-Type", "application/json"))
            .send_body(body)
            .await;
        let status = match result {
            Ok(mut response) => {
                let _ = response.body().await;
                Some(response.status().as_u16())
            }
            Err(_) => None,
        };
        let took = sent.elapsed();
        // No borrow is held across an await: the other agents share these.
        let mut w = window.borrow_mut();
        let mut t = totals.borrow_mut();
        if bad {
            t.bad_sent += 1;
        }
        match status {
            Some(status) => {
                w.ingest.push(took);
                t.ingest.push(took);
                match status {
                    200..=299 if !bad => t.accepted += c.batch as u64,
                    400..=499 => w.status_4xx += 1,
                    500..=599 => {
                        w.status_5xx += 1;
                        t.status_5xx += 1;
                    }
                    _ => {}
                }
            }
            None => {
                w.errors += 1;
                t.errors += 1;
            }
        }
    }
}

/// The dashboard: a few panels over the last hour and day, every `dashboard_every`.
async fn dashboard(
    c: Rc<SoakCmd>,
    client: awc::Client,
    started: Instant,
    window: Rc<RefCell<Window>>,
    totals: Rc<RefCell<Totals>>,
) {
    let mut tick = tokio::time::interval(c.dashboard_every);
    let url = format!("{}/api/v1/query", c.target.url);
    while started.elapsed() < c.duration {
        tick.tick().await;
        let now = chrono::Utc::now().timestamp_millis();
        for (i, (aggregation, span, step)) in PANELS.iter().enumerate() {
            let query = json!({"query": metric(&c.prefix, i), "start": now - span, "end": now,
                               "aggregation": aggregation, "step": step});
            let sent = Instant::now();
            let server_error = match client.post(&url).send_json(&query).await {
                Ok(mut response) => {
                    let _ = response.body().limit(64 << 20).await;
                    Some(response.status().is_server_error())
                }
                Err(_) => None,
            };
            let took = sent.elapsed();
            let mut w = window.borrow_mut();
            match server_error {
                Some(server_error) => {
                    if server_error {
                        w.status_5xx += 1;
                        totals.borrow_mut().status_5xx += 1;
                    }
                    w.queries.push(took);
                    w.slowest_by_panel[i] = w.slowest_by_panel[i].max(took);
                    totals.borrow_mut().queries.push(took);
                }
                None => w.errors += 1,
            }
        }
    }
}

pub async fn run(c: &SoakCmd) -> anyhow::Result<SoakReport> {
    let c = Rc::new(c.clone());
    let token = issue_token(&c.target.database_url, &c.admin_email)
        .await
        .context("issuing an API token for the dashboard and the rules")?;
    let mut target = c.target.clone();
    target
        .headers
        .push(format!("Authorization: Bearer {token}"));
    let api = http_client(&target, Duration::from_secs(60), 8)?;
    create_rules(&api, &c).await?;
    let ingest = http_client(&c.target, Duration::from_secs(60), c.agents)?;
    let period = Duration::from_secs_f64(c.agents as f64 * c.batch as f64 / c.rate.max(1) as f64);
    let window = Rc::new(RefCell::new(Window::default()));
    let totals = Rc::new(RefCell::new(Totals::default()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for id in 0..c.agents {
        tasks.push(actix_rt::spawn(agent(
            id,
            c.clone(),
            ingest.clone(),
            started,
            period,
            window.clone(),
            totals.clone(),
        )));
    }
    tasks.push(actix_rt::spawn(dashboard(
        c.clone(),
        api.clone(),
        started,
        window.clone(),
        totals.clone(),
    )));
    println!(
        "soak: {} points/s from {} agents ({} points every {:.2} s each), {} series, {:.1} % bad requests, {:.1} %/min churn, {} alert rules, {:?}",
        c.rate, c.agents, c.batch, period.as_secs_f64(), c.series, c.bad_fraction * 100.0, c.churn * 100.0, c.alert_rules, c.duration
    );
    println!("    t s | requests | ingest p50 ms | p99 ms | 4xx | 5xx | errors | RSS MiB |  FDs | queue | query p95 ms | slowest ms 1h/10s 1h/1m 24h/1m 24h/5m");
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(c.sample);
    tick.tick().await;
    while started.elapsed() < c.duration {
        tick.tick().await;
        let w = std::mem::take(&mut *window.borrow_mut());
        let ingest_latency = Latency::from_samples(&w.ingest);
        let sample = Sample {
            at_s: started.elapsed().as_secs_f64(),
            requests: w.ingest.len(),
            ingest_p50_ms: ingest_latency.p50_ms,
            ingest_p99_ms: ingest_latency.p99_ms,
            status_4xx: w.status_4xx,
            status_5xx: w.status_5xx,
            transport_errors: w.errors,
            rss_mib: c.server_pid.and_then(proc_rss_mib),
            fds: c.server_pid.and_then(proc_fds),
            queue_depth: queue_depth(&api, &c.target.url).await,
            query_p95_ms: Latency::from_samples(&w.queries).p95_ms,
            query_max_by_panel_ms: w.slowest_by_panel.map(|d| d.as_secs_f64() * 1000.0),
        };
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        println!(
            "{:7.0} | {:8} | {:13.1} | {:6.1} | {:3} | {:3} | {:6} | {:>7} | {:>4} | {:>5} | {:12.1} | {}",
            sample.at_s,
            sample.requests,
            sample.ingest_p50_ms,
            sample.ingest_p99_ms,
            sample.status_4xx,
            sample.status_5xx,
            sample.transport_errors,
            opt(sample.rss_mib.map(|v| format!("{v:.0}"))),
            opt(sample.fds.map(|v| v.to_string())),
            opt(sample.queue_depth.map(|v| v.to_string())),
            sample.query_p95_ms,
            sample
                .query_max_by_panel_ms
                .iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        samples.push(sample);
    }
    for task in tasks {
        let _ = task.await;
    }
    let warm: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at_s >= c.warmup.as_secs_f64())
        .collect();
    let hours: Vec<f64> = warm.iter().map(|s| s.at_s / 3600.0).collect();
    let rss: Vec<f64> = warm.iter().filter_map(|s| s.rss_mib).collect();
    let fds: Vec<f64> = warm
        .iter()
        .filter_map(|s| s.fds.map(|f| f as f64))
        .collect();
    let rss_mean = rss.iter().sum::<f64>() / rss.len().max(1) as f64;
    let totals = totals.borrow();
    let report = SoakReport {
        rate: c.rate,
        duration_s: started.elapsed().as_secs_f64(),
        points_accepted: totals.accepted,
        bad_requests_sent: totals.bad_sent,
        total_5xx: totals.status_5xx,
        total_transport_errors: totals.errors,
        rss_slope_pct_per_hour: (rss.len() == hours.len())
            .then(|| slope(&hours, &rss))
            .flatten()
            .map(|s| s / rss_mean * 100.0),
        fd_slope_per_hour: (fds.len() == hours.len())
            .then(|| slope(&hours, &fds))
            .flatten(),
        ingest_latency: Latency::from_samples(&totals.ingest),
        query_latency: Latency::from_samples(&totals.queries),
        samples,
    };
    Ok(report)
}

impl SoakReport {
    pub fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "soak: {:.0} s at {} points/s target: {} points accepted ({:.0}/s), {} bad requests sent, {} 5xx, {} transport errors",
            self.duration_s,
            self.rate,
            self.points_accepted,
            self.points_accepted as f64 / self.duration_s.max(1.0),
            self.bad_requests_sent,
            self.total_5xx,
            self.total_transport_errors
        )?;
        writeln!(out, "ingest latency: {}", self.ingest_latency.brief())?;
        writeln!(out, "query latency:  {}", self.query_latency.brief())?;
        let fmt = |v: Option<f64>, unit: &str| {
            v.map(|v| format!("{v:+.2} {unit}"))
                .unwrap_or_else(|| "n/a (no --server-pid or too few samples after warm-up)".into())
        };
        writeln!(
            out,
            "after warm-up: RSS slope {}, FD slope {}",
            fmt(self.rss_slope_pct_per_hour, "%/h"),
            fmt(self.fd_slope_per_hour, "FDs/h")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_moves_one_share_of_the_series_per_minute() {
        let (series, churn) = (1000, 0.01);
        let changed = |minute: u64| {
            (0..series)
                .filter(|&i| {
                    generation(i, series, churn, minute)
                        != generation(i, series, churn, minute.saturating_sub(1))
                })
                .count()
        };
        assert_eq!(changed(1), 10);
        assert_eq!(changed(57), 10);
        assert_eq!(changed(150), 10);
    }

    #[test]
    fn slope_of_a_line_is_its_gradient() {
        let xs = [0.0, 1.0, 2.0, 3.0];
        let ys = [5.0, 7.0, 9.0, 11.0];
        assert!((slope(&xs, &ys).unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(slope(&xs[..2], &ys[..2]), None);
    }
}
