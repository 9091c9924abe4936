//! `vigil-agent-bench`: the agent's figures against a real Vigil.
//!
//! - `footprint`: starts the `vigil-agent` binary as a child with the host collector
//!   and 3 scrape targets (served by this process) at a 10 s interval, and samples
//!   the child's CPU time and RSS from /proc every interval. Prints each interval and
//!   the medians.
//! - `throughput`: runs the agent's own pipeline (`RunningAgent`: scrapers, client,
//!   delivery) in this process against 3 large targets, and prints per interval the
//!   samples scraped, the points Vigil accepted (202) and the buffer backlog. "Not
//!   falling behind" means: scraped per second equals what the targets offer, sent
//!   per second equals scraped, and the backlog stays under one round.
//!
//! Vigil is started separately (docs/benchmarks-agent.md has the commands).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use clap::{Args, Parser, Subcommand};
use vigil_agent::config::{AgentSettings, TargetSettings};
use vigil_agent::process;
use vigil_agent::run::RunningAgent;

#[derive(Parser)]
#[command(
    name = "vigil-agent-bench",
    about = "Footprint and forward rate of vigil-agent against a real Vigil."
)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// CPU% and RSS of the agent process with the host collector and 3 targets.
    Footprint(FootprintArgs),
    /// Samples per second forwarded from scrape targets to Vigil.
    Throughput(ThroughputArgs),
}

#[derive(Args)]
struct Common {
    /// Vigil's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Ingest key, when Vigil requires one.
    #[arg(long, default_value = "")]
    ingest_key: String,
    /// Scrape targets served by the bench.
    #[arg(long, default_value_t = 3)]
    targets: usize,
    /// Samples in each target's exposition.
    #[arg(long)]
    samples_per_target: Option<usize>,
    /// Collection and scrape interval.
    #[arg(long, value_parser = humantime::parse_duration)]
    interval: Option<Duration>,
    /// Measured intervals.
    #[arg(long)]
    intervals: Option<usize>,
}

#[derive(Args)]
struct FootprintArgs {
    #[command(flatten)]
    common: Common,
    /// The agent binary (default: beside this one).
    #[arg(long)]
    agent_bin: Option<PathBuf>,
}

#[derive(Args)]
struct ThroughputArgs {
    #[command(flatten)]
    common: Common,
    /// Points per request.
    #[arg(long, default_value_t = 10_000)]
    batch_size: usize,
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Bench::Footprint(args) => footprint(args),
        Bench::Throughput(args) => throughput(args),
    }
}

/// A Prometheus exposition of `samples` counter samples (distinct series), rendered
/// once: `bench_requests_total{path="/api/item/<i>",method="GET",code="200"} <i>`.
fn exposition(target: usize, samples: usize) -> String {
    let mut text = String::with_capacity(samples * 80);
    text.push_str(
        "# HELP bench_requests_total Requests served.\n# TYPE bench_requests_total counter\n",
    );
    for i in 0..samples {
        text.push_str(&format!(
            "bench_requests_total{{target=\"t{target}\",path=\"/api/item/{i}\",method=\"GET\",code=\"200\"}} {}\n",
            i * 7 + target
        ));
    }
    text
}

/// Serves one pre-rendered exposition per target on its own thread (so the agent's
/// runtime never waits on them); returns the URLs.
fn serve_targets(targets: usize, samples: usize) -> Vec<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let mut urls = Vec::new();
            let mut servers = Vec::new();
            for t in 0..targets {
                let body = web::Bytes::from(exposition(t, samples));
                let server = HttpServer::new(move || {
                    let body = body.clone();
                    App::new().route(
                        "/metrics",
                        web::get().to(move || {
                            let body = body.clone();
                            async move {
                                HttpResponse::Ok()
                                    .content_type("text/plain; version=0.0.4")
                                    .body(body)
                            }
                        }),
                    )
                })
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .expect("binding a bench target");
                urls.push(format!(
                    "http://127.0.0.1:{}/metrics",
                    server.addrs()[0].port()
                ));
                servers.push(server.run());
            }
            tx.send(urls).unwrap();
            futures_util::future::join_all(servers).await;
        });
    });
    rx.recv().expect("bench targets started")
}

fn settings(
    common: &Common,
    urls: &[String],
    interval: Duration,
    spill: &std::path::Path,
) -> AgentSettings {
    let mut settings = AgentSettings::defaults();
    settings.server.url = common.server.clone();
    settings.server.ingest_key = common.ingest_key.clone();
    settings.collect.interval = interval;
    settings.buffer.spill_dir = spill.to_path_buf();
    settings.scrape.targets = urls
        .iter()
        .enumerate()
        .map(|(i, url)| TargetSettings {
            url: url.clone(),
            job: Some(format!("bench{i}")),
            interval: None,
            timeout: None,
            tags: Default::default(),
        })
        .collect();
    settings
}

/// The run's interval, interval count and samples per target (flags over the mode's
/// defaults), the served targets' URLs and a scratch directory.
fn prepare(
    common: &Common,
    interval: Duration,
    intervals: usize,
    samples: usize,
) -> (Duration, usize, usize, Vec<String>, PathBuf) {
    let samples = common.samples_per_target.unwrap_or(samples);
    let urls = serve_targets(common.targets, samples);
    let dir = std::env::temp_dir().join(format!("vigil-agent-bench-{}", std::process::id()));
    (
        common.interval.unwrap_or(interval),
        common.intervals.unwrap_or(intervals),
        samples,
        urls,
        dir,
    )
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn footprint(args: FootprintArgs) {
    let common = &args.common;
    let (interval, intervals, samples, urls, dir) =
        prepare(common, Duration::from_secs(10), 30, 1000);
    std::fs::create_dir_all(&dir).unwrap();
    let config = settings(common, &urls, interval, &dir.join("spill"));
    let mut toml = format!(
        "[server]\nurl = \"{}\"\ningest_key = \"{}\"\n\n[collect]\ninterval = \"{}\"\n\n[buffer]\nspill_dir = \"{}\"\n\n[tags]\nhost = \"bench\"\n\n",
        config.server.url,
        config.server.ingest_key,
        humantime::format_duration(interval),
        config.buffer.spill_dir.display()
    );
    for target in &config.scrape.targets {
        toml.push_str(&format!(
            "[[scrape.targets]]\nurl = \"{}\"\njob = \"{}\"\n\n",
            target.url,
            target.job.as_deref().unwrap_or("bench")
        ));
    }
    let config_path = dir.join("agent.toml");
    std::fs::write(&config_path, toml).unwrap();
    let agent_bin = args.agent_bin.unwrap_or_else(|| {
        std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .join("vigil-agent")
    });
    let log = std::fs::File::create(dir.join("agent.log")).unwrap();
    let mut child = Command::new(&agent_bin)
        .arg("--config")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", agent_bin.display()));
    let pid = child.id();
    println!(
        "footprint: vigil-agent pid {pid}, host collector + {} targets x {samples} samples, interval {interval:?}, {intervals} intervals, server {}",
        common.targets, common.server
    );
    // One interval of warm-up: the first round allocates buffers and connections.
    std::thread::sleep(interval);
    let mut previous = process::usage(Some(pid)).expect("reading the agent's /proc entry");
    let first = previous;
    let started = Instant::now();
    let mut at = started;
    let (mut cpu, mut rss) = (Vec::new(), Vec::new());
    println!("{:>8} {:>8} {:>10}", "interval", "cpu %", "rss MiB");
    for i in 1..=intervals {
        std::thread::sleep(interval);
        let now = process::usage(Some(pid)).expect("the agent is running");
        let wall = at.elapsed().as_secs_f64();
        at = Instant::now();
        let pct = 100.0 * (now.cpu_seconds - previous.cpu_seconds) / wall;
        let mib = now.rss_bytes as f64 / (1024.0 * 1024.0);
        println!("{i:>8} {pct:>8.3} {mib:>10.1}");
        cpu.push(pct);
        rss.push(mib);
        previous = now;
    }
    let max_rss = rss.iter().cloned().fold(0.0, f64::max);
    // Per-interval CPU has the kernel's tick as resolution (10 ms of 10 s = 0.1%);
    // the whole run's CPU time over its wall time is the finer figure.
    let wall = started.elapsed().as_secs_f64();
    let cpu_total = previous.cpu_seconds - first.cpu_seconds;
    println!(
        "median cpu {:.3} % of one core, whole run {:.3} % ({cpu_total:.2} s CPU in {wall:.0} s), median rss {:.1} MiB, max rss {:.1} MiB",
        median(&mut cpu),
        100.0 * cpu_total / wall,
        median(&mut rss),
        max_rss
    );
    let _ = Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"", &pid.to_string()])
        .status();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    if let Some(line) = log.lines().rev().find(|l| l.contains("Stopped:")) {
        println!("agent: {}", line.trim());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn throughput(args: ThroughputArgs) {
    let common = &args.common;
    let (interval, intervals, samples, urls, dir) =
        prepare(common, Duration::from_secs(1), 60, 20_000);
    let mut config = settings(common, &urls, interval, &dir.join("spill"));
    config.host.enabled = true;
    config.delivery.batch_size = args.batch_size;
    config.delivery.flush_interval = interval;
    config.buffer.memory_max_points = config.buffer.memory_max_points.max(args.batch_size * 4);
    config.tags.insert("host".into(), "bench".into());
    config.validate().expect("valid bench settings");
    let offered = (common.targets * samples) as f64 / interval.as_secs_f64();
    println!(
        "throughput: {} targets x {samples} samples every {interval:?} = {offered:.0} samples/s offered, batches of {}, server {}",
        common.targets, args.batch_size, common.server
    );
    actix_rt::System::new().block_on(async move {
        let agent = RunningAgent::start(&config).expect("starting the agent");
        // Warm-up: the first rounds create the series in Vigil (slower than later).
        tokio::time::sleep(interval * 5).await;
        let start = Instant::now();
        let cpu_before = process::usage(None).map(|u| u.cpu_seconds).unwrap_or(0.0);
        let first = agent.client().stats();
        let mut previous = first;
        let mut at = Instant::now();
        let (mut scraped, mut sent) = (Vec::new(), Vec::new());
        let mut max_backlog = 0;
        println!("{:>8} {:>14} {:>14} {:>10}", "interval", "recorded/s", "sent/s", "backlog");
        for i in 1..=intervals {
            tokio::time::sleep_until((start + interval * i as u32).into()).await;
            let now = agent.client().stats();
            let wall = at.elapsed().as_secs_f64();
            at = Instant::now();
            let rec = (now.recorded - previous.recorded) as f64 / wall;
            let out = (now.sent - previous.sent) as f64 / wall;
            let backlog = now.buffer.total_points();
            max_backlog = max_backlog.max(backlog);
            println!("{i:>8} {rec:>14.0} {out:>14.0} {backlog:>10}");
            scraped.push(rec);
            sent.push(out);
            previous = now;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let last = agent.client().stats();
        let cpu = process::usage(None).map(|u| u.cpu_seconds).unwrap_or(0.0) - cpu_before;
        let rss = process::usage(None).map(|u| u.rss_bytes).unwrap_or(0) as f64 / (1024.0 * 1024.0);
        let report = agent.shutdown().await;
        println!(
            "median recorded {:.0}/s, median sent {:.0}/s; overall sent {:.0}/s over {elapsed:.0} s; max backlog {max_backlog} points; retries {}, rejected {}, dropped {}; at shutdown {} points left, {} lost",
            median(&mut scraped),
            median(&mut sent),
            (last.sent - first.sent) as f64 / elapsed,
            report.stats.retries,
            report.stats.rejected,
            report.stats.dropped,
            report.spilled_points,
            report.lost_points
        );
        // The targets are served by this process too (from pre-rendered bytes, a small
        // share), so this is an upper bound of the agent's own cost.
        println!(
            "bench process: {:.0} % of one core ({cpu:.1} s CPU in {elapsed:.0} s), rss {rss:.0} MiB",
            100.0 * cpu / elapsed
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
