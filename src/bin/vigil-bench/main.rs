//! `vigil-bench`: simulates a fleet of agents against a running Vigil server and
//! reports what it measured. It speaks HTTP to the server and SQL to its database
//! only, never the server's code, so it keeps working while the server changes.
//!
//! - [`gen`]: the simulated fleet (series, labels, values) and the body encoders.
//! - [`ingest`]: agents pushing points; accepted and durable throughput.
//! - [`copy`]: the raw-COPY baseline that ingest is compared with.
//! - [`query`]: dashboard queries, cached and uncached.
//! - [`storage`]: bytes per point on disk.
//! - [`stats`]: percentiles, medians, `/proc` sampling.
//! - [`promql_data`]: the PromQL comparison's data set, for Vigil and its peers.
//! - [`alerts`]: alert evaluation lag under load and condition-to-webhook latency.
//! - [`soak`]: a long live run at a fixed rate: latency, 5xx, RSS and FD slopes.
//!
//! See docs/benchmarks.md for how it is used and what it measured.

mod alerts;
mod cli;
mod client;
mod copy;
mod gen;
mod ingest;
mod promql_data;
mod query;
mod soak;
mod stats;
mod storage;

use std::io::Write;

use clap::Parser;
use serde::Serialize;

use crate::cli::{AllCmd, Cli, Command, CopyOpts, Shape};
use crate::copy::{CopyParams, CopyReport, COPY_PREFIX};
use crate::ingest::IngestReport;
use crate::query::QueryReport;
use crate::storage::StorageReport;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One thread runs every request and poll: the server, RabbitMQ and PostgreSQL share
    // the machine, so the bench keeps to one core (plus the body-encoding thread).
    actix_rt::System::new().block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Alerts(c) => {
            let r = alerts::run(&c).await?;
            emit(json, &r, |o| r.print(o))
        }
        Command::Soak(c) => {
            let r = soak::run(&c).await?;
            emit(json, &r, |o| r.print(o))
        }
        Command::Ingest(c) => {
            let r = ingest::run(&c.target, &c.shape, &c.opts).await?;
            emit(json, &r, |o| r.print(o))
        }
        Command::CopyBaseline(c) => {
            let points = c.opts.points.unwrap_or_else(|| planned_points(&c.shape));
            let r = copy::run(copy_params(
                &c.target.database_url,
                &c.shape,
                points,
                c.batch,
                &c.opts,
            ))
            .await?;
            emit(json, &r, |o| r.print(o))
        }
        Command::Query(c) => {
            let metric = c
                .opts
                .metric
                .clone()
                .unwrap_or_else(|| format!("{}.cpu", c.prefix));
            let r = query::run(&c.target, &metric, &c.opts).await?;
            emit(json, &r, |o| r.print(o))
        }
        Command::Storage(c) => {
            let r = storage::run(&c.database_url).await?;
            emit(json, &r, |o| r.print(o))
        }
        Command::PromqlData(c) => promql_data::run(&c).await,
        Command::All(c) => {
            let r = all(*c).await?;
            emit(json, &r, |o| r.print(o))
        }
    }
}

/// Points an ingest run without --duration sends for this shape.
fn planned_points(shape: &Shape) -> u64 {
    let span = shape.backfill_or(false);
    let steps = (span.as_millis() / shape.interval.as_millis().max(1)).max(1) as u64;
    steps * shape.series as u64
}

fn copy_params(
    database_url: &str,
    shape: &Shape,
    points: u64,
    batch: usize,
    opts: &CopyOpts,
) -> CopyParams {
    let mut fleet = shape.fleet();
    fleet.prefix = COPY_PREFIX.to_string();
    CopyParams {
        database_url: database_url.to_string(),
        fleet,
        interval: shape.interval,
        points,
        batch,
        streams: opts.streams,
        runs: opts.runs,
        days_ago: opts.days_ago,
        keep: opts.keep,
    }
}

/// Prints the human-readable report (on stderr when JSON goes to stdout).
fn emit<T: Serialize>(
    json: bool,
    report: &T,
    print: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    if json {
        print(&mut std::io::stderr())?;
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print(&mut std::io::stdout())?;
    }
    Ok(())
}

#[derive(Debug, Default, Serialize)]
struct AllReport {
    copy: Option<CopyReport>,
    ingest: Option<IngestReport>,
    query: Option<QueryReport>,
    storage: Option<StorageReport>,
    /// Durable ingest points/s ÷ COPY rows/s (median of the baseline runs).
    durable_to_copy_ratio: Option<f64>,
    /// Accepted ingest points/s ÷ COPY rows/s.
    accepted_to_copy_ratio: Option<f64>,
}

/// copy-baseline, ingest, query, storage. The baseline writes as many points as the
/// ingest run; when that number is only known afterwards (--duration without
/// --copy-points), ingest runs first and the baseline copies exactly what it accepted.
async fn all(c: AllCmd) -> anyhow::Result<AllReport> {
    let mut report = AllReport::default();
    let copy_opts = |points: u64| CopyOpts {
        streams: c.copy_streams,
        runs: c.copy_runs,
        days_ago: c.copy_days_ago,
        points: Some(points),
        keep: false,
    };
    let known_points = c.copy_points.or_else(|| {
        c.ingest
            .duration
            .is_none()
            .then(|| planned_points(&c.shape))
    });
    if let (false, Some(points)) = (c.skip_copy, known_points) {
        let params = copy_params(
            &c.target.database_url,
            &c.shape,
            points,
            c.copy_batch,
            &copy_opts(points),
        );
        report.copy = Some(copy::run(params).await?);
    }
    let ingest = ingest::run(&c.target, &c.shape, &c.ingest).await?;
    if !c.skip_copy && known_points.is_none() {
        let points = ingest.accepted.max(1);
        let params = copy_params(
            &c.target.database_url,
            &c.shape,
            points,
            c.copy_batch,
            &copy_opts(points),
        );
        report.copy = Some(copy::run(params).await?);
    }
    if let Some(copy) = &report.copy {
        report.durable_to_copy_ratio = ingest
            .durable
            .as_ref()
            .filter(|d| d.reached)
            .map(|d| d.durable_per_sec / copy.rows_per_sec);
        report.accepted_to_copy_ratio = Some(ingest.accepted_per_sec / copy.rows_per_sec);
    }
    report.ingest = Some(ingest);
    if !c.skip_query {
        let metric = c
            .query
            .metric
            .clone()
            .unwrap_or_else(|| format!("{}.cpu", c.shape.prefix));
        let mut opts = c.query.clone();
        if opts.end.is_none() {
            // Query the data just sent: a --duration run may have covered only the
            // start of its range.
            let last = report
                .ingest
                .as_ref()
                .map(|i| i.last_timestamp_ms)
                .unwrap_or(i64::MAX);
            let end = last
                .saturating_add(1)
                .min(chrono::Utc::now().timestamp_millis() - 120_000);
            opts.end = Some(end.to_string());
        }
        report.query = Some(query::run(&c.target, &metric, &opts).await?);
    }
    report.storage = Some(storage::run(&c.target.database_url).await?);
    Ok(report)
}

impl AllReport {
    fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some(r) = &self.copy {
            r.print(out)?;
        }
        if let Some(r) = &self.ingest {
            r.print(out)?;
        }
        if let Some(r) = &self.query {
            r.print(out)?;
        }
        if let Some(r) = &self.storage {
            r.print(out)?;
        }
        writeln!(out, "== summary ==")?;
        let row =
            |out: &mut dyn Write, k: &str, v: String| writeln!(out, "| {:<58} | {:>20} |", k, v);
        writeln!(out, "| {:<58} | {:>20} |", "figure", "value")?;
        writeln!(out, "|{:-<60}|{:-<22}|", "", "")?;
        if let Some(c) = &self.copy {
            row(
                out,
                "COPY baseline rows/s (median)",
                format!("{:.0}", c.rows_per_sec),
            )?;
        }
        if let Some(i) = &self.ingest {
            row(out, "ingest points sent", format!("{}", i.points_sent))?;
            row(
                out,
                "ingest accepted points/s",
                format!("{:.0}", i.accepted_per_sec),
            )?;
            match &i.durable {
                Some(d) if d.reached => row(
                    out,
                    "ingest durable points/s",
                    format!("{:.0}", d.durable_per_sec),
                )?,
                Some(d) => row(
                    out,
                    "ingest durable points/s",
                    format!("not reached ({} committed)", d.durable_points),
                )?,
                None => {}
            }
            row(
                out,
                "ingest request latency p50 / p99",
                format!("{:.1} / {:.1} ms", i.latency.p50_ms, i.latency.p99_ms),
            )?;
            row(
                out,
                "ingest 503 answers / errors",
                format!("{} / {}", i.busy_503, i.http_errors + i.transport_errors),
            )?;
            if let Some(s) = &i.server {
                row(
                    out,
                    "server peak RSS (sampled / VmHWM)",
                    format!("{:.0} / {:.0} MiB", s.peak_rss_sampled_mib, s.vm_hwm_mib),
                )?;
            }
        }
        if let Some(r) = self.durable_to_copy_ratio {
            row(out, "durable ingest / COPY", format!("{:.2}", r))?;
        }
        if let Some(r) = self.accepted_to_copy_ratio {
            row(out, "accepted ingest / COPY", format!("{:.2}", r))?;
        }
        if let Some(q) = &self.query {
            for k in &q.kinds {
                row(
                    out,
                    &format!("query {} uncached p50/p95", k.description),
                    format!("{:.1} / {:.1} ms", k.uncached.p50_ms, k.uncached.p95_ms),
                )?;
                row(
                    out,
                    &format!("query {} cached p50/p95", k.description),
                    format!("{:.1} / {:.1} ms", k.cached.p50_ms, k.cached.p95_ms),
                )?;
            }
        }
        if let Some(s) = &self.storage {
            row(
                out,
                "bytes per point on disk",
                format!("{:.1}", s.bytes_per_point),
            )?;
        }
        Ok(())
    }
}
