//! `vigil-bench alerts`: alert evaluation under load, and condition-to-webhook latency.
//!
//! Creates `--rules` rules over the bench fleet's metrics (thresholds that never hold,
//! so every tick evaluates every rule and writes nothing), lets them run for
//! `--duration`, and reads the server's own alerting metrics before and after:
//! evaluations done against those expected (rules × ticks), ticks missed, round
//! durations (the evaluation lag: from the scheduled tick until the last rule of the
//! round answered), plus the server's CPU and memory from /proc, while it pushes
//! `--ingest-rate` points/s (paced, now-stamped) to the metrics the rules read.
//!
//! Then `--probes` latency probes: each is a rule `gt 0` held for `--probe-for` on a
//! metric of its own; the bench pushes one point, notes when the 202 came back, and
//! waits for the webhook at its own receiver (the server needs
//! `notify.allow_private_targets = true`). Latency = webhook receipt − (202 time +
//! `for`): what the issue calls "from the moment the condition has held for
//! duration to the webhook delivery", with the ingest-to-storage path included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::Target;
use crate::client::http_client;
use crate::stats::{Latency, RssSampler, ServerMemory};

#[derive(Args, Debug)]
pub struct AlertsCmd {
    #[command(flatten)]
    pub target: Target,
    /// Rules to create (spread over the fleet's metrics).
    #[arg(long, default_value_t = 1000)]
    pub rules: usize,
    /// Metric names the rules read (`<prefix>.cpu` ...; the ingest fleet's names).
    #[arg(long, default_value_t = 10)]
    pub metrics: usize,
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// The server's `alerts.evaluation_interval` (for the expected evaluation count).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// How long to measure evaluation (0s: only the probes).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Latency probes (0: none).
    #[arg(long, default_value_t = 20)]
    pub probes: usize,
    /// The probes' `duration` ("for").
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub probe_for: Duration,
    /// PID of the server, for CPU and memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Keep the rules afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Points per second pushed to the rules' metrics while measuring (0: none), paced
    /// in 100 ms slices; `--series-per-metric` series per metric.
    #[arg(long, default_value_t = 50_000)]
    pub ingest_rate: usize,
    #[arg(long, default_value_t = 1000)]
    pub series_per_metric: usize,
}

#[derive(Debug, Serialize, Default)]
pub struct AlertsReport {
    pub rules: usize,
    pub measured_seconds: f64,
    pub evaluations: f64,
    pub evaluations_expected: f64,
    pub evaluation_failures: f64,
    pub missed_intervals: f64,
    pub rounds: f64,
    pub round_mean_ms: f64,
    /// Upper bound of the histogram bucket holding the 95th percentile round.
    pub round_p95_ms_bucket: f64,
    /// Largest `vigil_alert_evaluation_lag_seconds` seen (polled every second).
    pub lag_max_ms: f64,
    /// Each measured round's duration (the lag gauge read after the round count moved).
    pub round_ms: Option<Latency>,
    pub server: Option<ServerMemory>,
    pub server_cpu_percent: Option<f64>,
    pub ingest_points_accepted: u64,
    pub ingest_requests_failed: u64,
    pub ingest_points_per_second: f64,
    pub probes: usize,
    pub probes_delivered: usize,
    pub probe_latency: Option<Latency>,
}

type Receipts = Arc<Mutex<HashMap<String, Instant>>>;

pub async fn run(cmd: &AlertsCmd) -> anyhow::Result<AlertsReport> {
    let client = http_client(&cmd.target, Duration::from_secs(30), 16)?;
    let base = cmd.target.url.trim_end_matches('/').to_string();
    let receipts: Receipts = Arc::new(Mutex::new(HashMap::new()));
    let receiver = {
        let receipts = receipts.clone();
        let server = HttpServer::new(move || {
            let receipts = receipts.clone();
            App::new().default_service(web::to(move |body: web::Bytes| {
                let receipts = receipts.clone();
                async move {
                    let now = Instant::now();
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        if let Some(name) = v["alerts"][0]["labels"]["alertname"].as_str() {
                            receipts
                                .lock()
                                .unwrap()
                                .entry(name.to_string())
                                .or_insert(now);
                        }
                    }
                    HttpResponse::Ok().finish()
                }
            }))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")?;
        let port = server.addrs()[0].port();
        let running = server.run();
        actix_rt::spawn(running);
        format!("http://127.0.0.1:{port}/hook")
    };

    let mut created = Vec::new();
    let mut report = AlertsReport {
        rules: cmd.rules,
        probes: cmd.probes,
        ..Default::default()
    };
    let metrics = metric_names(cmd);
    eprintln!("creating {} rules ...", cmd.rules);
    for i in 0..cmd.rules {
        let metric = metrics[i % metrics.len()].clone();
        let aggregation = ["avg", "max", "min", "sum", "count"][i % 5];
        let rule = json!({
            "name": format!("bench-rule-{i}"),
            "query": {"query": metric, "aggregation": aggregation},
            "condition": "gt", "threshold": 1e15, "duration": "1m", "severity": "info",
            "notification": {"type": "webhook", "target": receiver},
        });
        created.push(create(&client, &base, &rule).await?);
    }
    if !cmd.duration.is_zero() {
        // Let every rule actor start and one full round run before measuring.
        tokio::time::sleep(cmd.interval * 2 + Duration::from_secs(1)).await;
        let load = Load::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if cmd.ingest_rate > 0 {
            actix_rt::spawn(push_load(
                client.clone(),
                base.clone(),
                metric_names(cmd),
                cmd.series_per_metric,
                cmd.ingest_rate,
                load.clone(),
                stop.clone(),
            ));
        }
        let before = scrape(&client, &base).await?;
        let sampler = cmd.server_pid.map(RssSampler::start);
        let started = Instant::now();
        let mut lag_max: f64 = 0.0;
        let mut rounds_seen = before.get(ROUNDS).copied().unwrap_or(0.0);
        let mut round_samples = Vec::new();
        while started.elapsed() < cmd.duration {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(m) = scrape(&client, &base).await {
                let lag = m
                    .get("vigil_alert_evaluation_lag_seconds")
                    .copied()
                    .unwrap_or(0.0);
                lag_max = lag_max.max(lag);
                // Rounds are one interval apart and polls one second: a moved count
                // means the gauge holds the round that just ended.
                let rounds = m.get(ROUNDS).copied().unwrap_or(0.0);
                if rounds > rounds_seen {
                    rounds_seen = rounds;
                    round_samples.push(Duration::from_secs_f64(lag));
                }
            }
        }
        if !round_samples.is_empty() {
            report.round_ms = Some(Latency::from_samples(&round_samples));
        }
        let after = scrape(&client, &base).await?;
        let elapsed = started.elapsed().as_secs_f64();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        report.ingest_points_accepted = load.accepted.load(std::sync::atomic::Ordering::Relaxed);
        report.ingest_requests_failed = load.failed.load(std::sync::atomic::Ordering::Relaxed);
        report.ingest_points_per_second = report.ingest_points_accepted as f64 / elapsed;
        let delta =
            |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
        report.measured_seconds = elapsed;
        report.evaluations = delta("vigil_alert_evaluations_total");
        report.evaluations_expected =
            (elapsed / cmd.interval.as_secs_f64()).floor() * cmd.rules as f64;
        report.evaluation_failures = delta("vigil_alert_evaluation_failures_total");
        report.missed_intervals = delta("vigil_alert_missed_intervals_total");
        report.rounds = delta("vigil_alert_round_duration_seconds_count");
        report.round_mean_ms = if report.rounds > 0.0 {
            delta("vigil_alert_round_duration_seconds_sum") / report.rounds * 1000.0
        } else {
            0.0
        };
        report.round_p95_ms_bucket = p95_bucket(&before, &after, report.rounds) * 1000.0;
        report.lag_max_ms = lag_max * 1000.0;
        if let Some(sampler) = sampler {
            let memory = sampler.finish();
            report.server_cpu_percent = memory.cpu_seconds.map(|s| s / elapsed * 100.0);
            report.server = Some(memory);
        }
    }

    let mut latencies = Vec::new();
    if cmd.probes > 0 {
        eprintln!("running {} latency probes ...", cmd.probes);
        let mut probes = Vec::new();
        for k in 0..cmd.probes {
            let name = format!("bench-probe-{}-{k}", std::process::id());
            let metric = format!("{}probe.r{}.p{k}", cmd.prefix, std::process::id());
            let rule = json!({
                "name": name,
                "query": {"query": metric, "aggregation": "max"},
                "condition": "gt", "threshold": 0, "duration": format!("{}ms", cmd.probe_for.as_millis()),
                "severity": "critical",
                "notification": {"type": "webhook", "target": receiver},
            });
            probes.push((name, metric, create(&client, &base, &rule).await?));
        }
        // The rule actors start at the next reconcile (at once on this instance).
        tokio::time::sleep(cmd.interval + Duration::from_secs(1)).await;
        let mut sent = Vec::new();
        for (name, metric, _) in &probes {
            let now_ms = chrono::Utc::now().timestamp_millis();
            let body = json!([{"name": metric, "value": 1.0, "timestamp": now_ms}]);
            let mut response = client
                .post(format!("{base}/api/v1/metrics"))
                .send_json(&body)
                .await
                .map_err(|e| anyhow::anyhow!("pushing a probe point: {e}"))?;
            let _ = response.body().await;
            if response.status().as_u16() != 202 {
                bail!("pushing a probe point answered {}", response.status());
            }
            sent.push((name.clone(), Instant::now()));
            // Spread the probes over the tick so they sample every phase of it.
            tokio::time::sleep(cmd.interval / 3).await;
        }
        let deadline = Instant::now() + cmd.probe_for + cmd.interval * 5 + Duration::from_secs(10);
        while Instant::now() < deadline && receipts.lock().unwrap().len() < sent.len() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (name, at) in &sent {
            if let Some(received) = receipts.lock().unwrap().get(name) {
                let held = *at + cmd.probe_for;
                latencies.push(received.saturating_duration_since(held));
            }
        }
        report.probes_delivered = latencies.len();
        created.extend(probes.into_iter().map(|(_, _, id)| id));
    }
    if !latencies.is_empty() {
        report.probe_latency = Some(Latency::from_samples(&latencies));
    }
    if !cmd.keep {
        for id in &created {
            let _ = client
                .delete(format!("{base}/api/v1/alerts/rules/{id}"))
                .send()
                .await;
        }
    }
    Ok(report)
}

const ROUNDS: &str = "vigil_alert_round_duration_seconds_count";

fn metric_names(cmd: &AlertsCmd) -> Vec<String> {
    (0..cmd.metrics.max(1))
        .map(|m| format!("{}.alerting.m{m}", cmd.prefix))
        .collect()
}

#[derive(Default, Clone)]
struct Load {
    accepted: Arc<std::sync::atomic::AtomicU64>,
    failed: Arc<std::sync::atomic::AtomicU64>,
}

/// Pushes `rate` points/s, now-stamped, over `metrics` × `series` series, in 100 ms
/// slices of requests of at most 5,000 points, until `stop`.
async fn push_load(
    client: awc::Client,
    base: String,
    metrics: Vec<String>,
    series: usize,
    rate: usize,
    load: Load,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::Ordering;
    let per_slice = (rate / 10).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cursor = 0usize;
    let total = metrics.len() * series.max(1);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut left = per_slice;
        while left > 0 {
            let n = left.min(5000);
            left -= n;
            let points: Vec<Value> = (0..n)
                .map(|_| {
                    cursor = (cursor + 1) % total;
                    let (m, s) = (cursor % metrics.len(), cursor / metrics.len());
                    json!({"name": metrics[m], "value": (cursor % 100) as f64, "tags": {"host": format!("h{s}")}, "timestamp": now_ms})
                })
                .collect();
            let (client, url, load) = (
                client.clone(),
                format!("{base}/api/v1/metrics"),
                load.clone(),
            );
            actix_rt::spawn(async move {
                match client.post(url).send_json(&points).await {
                    Ok(mut r) if r.status().as_u16() == 202 => {
                        let _ = r.body().await;
                        load.accepted.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    _ => {
                        load.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    }
}

async fn create(client: &awc::Client, base: &str, rule: &Value) -> anyhow::Result<String> {
    let mut response = client
        .post(format!("{base}/api/v1/alerts/rules"))
        .send_json(rule)
        .await
        .map_err(|e| anyhow::anyhow!("creating a rule: {e}"))?;
    let body: Value = response
        .json()
        .limit(1 << 20)
        .await
        .context("rule response")?;
    if response.status().as_u16() != 201 {
        bail!(
            "creating a rule answered {}: {body} (pass --header 'Authorization: Bearer <token>')",
            response.status()
        );
    }
    Ok(body["data"]["id"].as_str().unwrap_or_default().to_string())
}

/// Sums of every sample of /metrics by `name{labels}` and by bare name.
async fn scrape(client: &awc::Client, base: &str) -> anyhow::Result<HashMap<String, f64>> {
    let mut response = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GET /metrics: {e}"))?;
    let text = String::from_utf8_lossy(&response.body().limit(16 << 20).await?).into_owned();
    let mut samples = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let bare = key.split('{').next().unwrap_or(key).to_string();
        *samples.entry(bare).or_insert(0.0) += value;
        samples.insert(key.to_string(), value);
    }
    Ok(samples)
}

/// The upper bound (seconds) of the round-duration bucket holding the 95th percentile.
fn p95_bucket(before: &HashMap<String, f64>, after: &HashMap<String, f64>, rounds: f64) -> f64 {
    let mut buckets: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|(k, v)| {
            let le = k
                .strip_prefix("vigil_alert_round_duration_seconds_bucket{le=\"")?
                .strip_suffix("\"}")?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, v - before.get(k).copied().unwrap_or(0.0)))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
        .into_iter()
        .find(|(_, count)| *count >= rounds * 0.95)
        .map(|(bound, _)| bound)
        .unwrap_or(f64::NAN)
}

impl AlertsReport {
    pub fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "alerts: {} rules", self.rules)?;
        if self.measured_seconds > 0.0 {
            writeln!(
                out,
                "  evaluations {:.0} of {:.0} expected over {:.1} s; failures {:.0}; missed intervals {:.0}",
                self.evaluations, self.evaluations_expected, self.measured_seconds, self.evaluation_failures, self.missed_intervals
            )?;
            writeln!(
                out,
                "  rounds {:.0}: mean {:.1} ms, p95 <= {:.0} ms (bucket), max lag seen {:.1} ms",
                self.rounds, self.round_mean_ms, self.round_p95_ms_bucket, self.lag_max_ms
            )?;
            if let Some(l) = &self.round_ms {
                writeln!(out, "  each round (lag): {}", l.brief())?;
            }
            writeln!(
                out,
                "  ingest alongside: {:.0} points/s accepted, {} requests failed",
                self.ingest_points_per_second, self.ingest_requests_failed
            )?;
            if let Some(s) = &self.server {
                writeln!(
                    out,
                    "  server: CPU {:.1}% of one core, RSS peak {:.1} MiB (final {:.1} MiB)",
                    self.server_cpu_percent.unwrap_or(f64::NAN),
                    s.peak_rss_sampled_mib,
                    s.final_rss_mib
                )?;
            }
        }
        if self.probes > 0 {
            writeln!(
                out,
                "  probes delivered {} of {}",
                self.probes_delivered, self.probes
            )?;
            if let Some(l) = &self.probe_latency {
                writeln!(out, "  condition held -> webhook: {}", l.brief())?;
            }
        }
        Ok(())
    }
}
