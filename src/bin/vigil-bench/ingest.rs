//! `ingest`: many agents pushing points to `POST /api/v1/metrics` (or, with
//! `--format remote-write`, Prometheus remote_write to `POST /api/v1/write`).
//!
//! Request bodies are produced on a separate OS thread (JSON written by hand, gzip at
//! the fastest level) and handed over through a small bounded channel, so the event
//! loop that sends requests and times them never waits on body encoding. Throughput
//! is measured twice: *accepted* (what the server answered 202 for, per wall-clock
//! second of sending) and *durable* (the same points counted in PostgreSQL, per second
//! from the first request to the moment the last of them was committed).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use sqlx::PgPool;

use crate::cli::{IngestOpts, Probe, Shape, Target, WireFormat};
use crate::client;
use crate::gen::{self, JsonBodyWriter, PointCursor, RemoteWriteBodyWriter};
use crate::stats::{self, Latency, RssSampler, ServerMemory};

/// The durable wait gives up when the count has not moved for this long (the points
/// are not coming; see the warning about deduplicated batches).
const STALL_LIMIT: Duration = Duration::from_secs(120);

/// How many distinct error texts a report keeps.
const MAX_ERROR_SAMPLES: usize = 8;

#[derive(Debug, Default, Serialize)]
pub struct IngestReport {
    pub series: usize,
    pub metrics: usize,
    pub series_per_metric: usize,
    pub interval_secs: f64,
    pub range_start: String,
    pub range_end: String,
    /// Timestamp (ms) of the last point generated: the end of the data actually sent.
    pub last_timestamp_ms: i64,
    pub planned_points: Option<u64>,
    pub duration_limit_secs: Option<f64>,
    pub batch: usize,
    pub concurrency: usize,
    pub gzip: bool,
    pub format: WireFormat,
    /// Points in batches that were sent (each batch counted once, however many retries).
    pub points_sent: u64,
    pub requests: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// 503 answers (server busy), each followed by a retry of the same batch.
    pub busy_503: u64,
    /// 429 answers (rate limited), each followed by a retry.
    pub rate_limited_429: u64,
    /// Other non-2xx answers; the batch is not retried.
    pub http_errors: u64,
    pub transport_errors: u64,
    /// Batches given up after --max-retries.
    pub dropped_batches: u64,
    pub error_samples: Vec<String>,
    /// First request sent -> last answer received.
    pub wall_secs: f64,
    pub accepted_per_sec: f64,
    pub body_bytes_sent: u64,
    pub json_bytes: u64,
    /// Latency of the requests answered 2xx (one HTTP round trip each).
    pub latency: Latency,
    pub durable: Option<DurableReport>,
    pub server: Option<ServerMemory>,
    /// CPU seconds the bench itself used (body generation, gzip, HTTP, polling).
    pub bench_cpu_secs: Option<f64>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct DurableReport {
    /// `batches` or `points` (see --durable-probe).
    pub probe: String,
    /// Rows in `points` before the run.
    pub points_before: i64,
    /// Accepted points found committed when the wait ended.
    pub durable_points: i64,
    pub reached: bool,
    /// First request -> every accepted point committed.
    pub secs_to_durable: f64,
    pub durable_per_sec: f64,
    /// Last answer -> every accepted point committed (how far storage lagged).
    pub lag_after_last_answer_secs: f64,
    /// Points committed by the time the last answer arrived, per second of sending.
    pub durable_per_sec_while_sending: Option<f64>,
    /// Rows counted beyond the accepted points (duplicates, or other writers).
    pub extra_rows: i64,
    /// Polling resolution of the probe, seconds.
    pub resolution_secs: f64,
    /// (seconds since the first request, durable points) samples.
    pub timeline: Vec<(f64, i64)>,
}

/// One request body ready to send.
struct Batch {
    body: Bytes,
    points: u32,
    json_len: u32,
}

/// What happened to one batch, including its retries.
#[derive(Default)]
struct BatchOutcome {
    points: u64,
    requests: u64,
    accepted: u64,
    rejected: u64,
    busy: u64,
    limited: u64,
    http_errors: u64,
    transport_errors: u64,
    dropped: bool,
    latency: Option<Duration>,
    errors: Vec<String>,
    wire_bytes: u64,
    json_bytes: u64,
    finished: Option<Instant>,
}

pub async fn run(
    target: &Target,
    shape: &Shape,
    opts: &IngestOpts,
) -> anyhow::Result<IngestReport> {
    let fleet = shape.fleet();
    let backfill = shape.backfill_or(opts.duration.is_some());
    let interval_ms = shape.interval.as_millis() as i64;
    anyhow::ensure!(interval_ms > 0, "--interval must be positive");
    anyhow::ensure!(
        opts.batch > 0 && opts.concurrency > 0,
        "--batch and --concurrency must be positive"
    );
    let mut warnings = Vec::new();
    if backfill > Duration::from_secs(7 * 86_400) {
        warnings.push("backfill is longer than the server's default max_age (7d): old points will be rejected".into());
    }

    let http = client::http_client(target, opts.request_timeout, opts.concurrency + 2)?;
    match client::health(&http, &target.url).await {
        Ok((200, _)) => eprintln!("server at {} is healthy", target.url),
        Ok((status, body)) => eprintln!(
            "warning: /health answered {status}: {}",
            truncate(&body, 300)
        ),
        Err(e) => anyhow::bail!("cannot reach {}: {e}", target.url),
    }

    let now_ms = Utc::now().timestamp_millis() - shape.until_ago.as_millis() as i64;
    let t0_ms = (now_ms - backfill.as_millis() as i64).div_euclid(interval_ms) * interval_ms;
    let steps = ((now_ms - t0_ms) / interval_ms).max(1) as u64;

    let durable_probe = if opts.no_durable {
        None
    } else {
        let pool = client::pg_pool(&target.database_url, 2).await?;
        if let Some(found) = existing_points(&pool, &fleet, t0_ms, now_ms).await? {
            let msg = format!(
                "this fleet already has points in the range ({found}). The server derives batch ids from request \
                 content, so a batch identical to one sent before is acknowledged but not stored again, and the \
                 durable count would never be reached. Use another --prefix or --backfill, or --allow-overlap"
            );
            anyhow::ensure!(opts.allow_overlap, msg);
            eprintln!("warning: {msg}");
            warnings.push(msg);
        }
        Some(DurableProbe::prepare(pool, opts.durable_probe, opts.durable_timeout).await?)
    };
    let cursor = PointCursor::new(fleet.series, t0_ms, shape.interval, Some(steps));
    let planned = cursor.total();
    let range_end_ms = t0_ms + steps as i64 * interval_ms;
    eprintln!(
        "ingest: {} series ({} metrics x {} series), {} .. {}, every {}, {} points planned{}, batch {}, concurrency {}{}",
        fleet.series,
        fleet.metrics,
        fleet.series_per_metric(),
        fmt_ms(t0_ms),
        fmt_ms(range_end_ms),
        humantime::format_duration(shape.interval),
        planned.unwrap_or(0),
        opts.duration.map(|d| format!(" (stopping after {})", humantime::format_duration(d))).unwrap_or_default(),
        opts.batch,
        opts.concurrency,
        if opts.gzip { ", gzip" } else { "" },
    );

    // Bodies are generated ahead on their own thread; the channel bounds how far.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(opts.concurrency * 2);
    let gen_fleet = fleet.clone();
    let (batch_size, gzip, format) = (opts.batch, opts.gzip, opts.format);
    let generator = std::thread::Builder::new()
        .name("bench-bodies".into())
        .spawn(move || {
            let writer = JsonBodyWriter::new(&gen_fleet);
            let remote_writer = RemoteWriteBodyWriter::new(&gen_fleet);
            let mut cursor = cursor;
            let mut json = Vec::with_capacity(batch_size * 160);
            loop {
                json.clear();
                let n = match format {
                    WireFormat::Json => writer.write_batch(&mut cursor, batch_size, &mut json),
                    WireFormat::RemoteWrite => {
                        remote_writer.write_batch(&mut cursor, batch_size, &mut json)
                    }
                };
                if n == 0 {
                    break;
                }
                let body = match format {
                    WireFormat::RemoteWrite => Bytes::from(gen::snappy(&json)),
                    WireFormat::Json if gzip => Bytes::from(gen::gzip(&json)),
                    WireFormat::Json => Bytes::copy_from_slice(&json),
                };
                let batch = Batch {
                    body,
                    points: n as u32,
                    json_len: json.len() as u32,
                };
                if tx.blocking_send(batch).is_err() {
                    break;
                }
            }
        })?;

    let sampler = opts.server_pid.map(RssSampler::start);
    let bench_cpu_start = stats::cpu_seconds(None);
    let url = match opts.format {
        WireFormat::Json => format!("{}/api/v1/metrics", target.url),
        WireFormat::RemoteWrite => format!("{}/api/v1/write", target.url),
    };
    let started = Instant::now();
    let started_wall = Utc::now();
    let deadline = opts.duration.map(|d| started + d);
    let timeline = Rc::new(RefCell::new(Vec::new()));
    let stop_timeline = Rc::new(std::cell::Cell::new(false));
    if let Some(probe) = &durable_probe {
        probe.sample_in_background(
            started,
            started_wall,
            timeline.clone(),
            stop_timeline.clone(),
        );
    }

    let mut report = IngestReport {
        series: fleet.series,
        metrics: fleet.metrics,
        series_per_metric: fleet.series_per_metric(),
        interval_secs: shape.interval.as_secs_f64(),
        range_start: fmt_ms(t0_ms),
        range_end: fmt_ms(range_end_ms),
        planned_points: planned,
        duration_limit_secs: opts.duration.map(|d| d.as_secs_f64()),
        batch: opts.batch,
        concurrency: opts.concurrency,
        gzip: opts.gzip,
        format: opts.format,
        warnings,
        ..Default::default()
    };
    let mut latencies = Vec::new();
    let mut last_answer = started;
    let mut inflight = FuturesUnordered::new();
    let mut channel_open = true;
    let mut progress_at = started + Duration::from_secs(5);
    let mut points_taken = 0u64;
    loop {
        let past_deadline = deadline.is_some_and(|d| Instant::now() >= d);
        let may_take = channel_open && !past_deadline && inflight.len() < opts.concurrency;
        if !may_take && inflight.is_empty() {
            break;
        }
        // A paced run takes the next batch only once the points taken so far are due.
        let due = pace_due(started, points_taken, opts.rate);
        let can_take = may_take && due.is_none_or(|d| Instant::now() >= d);
        let pacing = may_take && !can_take;
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(due.unwrap_or(started).into()), if pacing => {}
            Some(out) = inflight.next(), if !inflight.is_empty() => {
                let out: BatchOutcome = out;
                if let Some(t) = out.finished {
                    last_answer = last_answer.max(t);
                }
                if let Some(l) = out.latency {
                    latencies.push(l);
                }
                report.points_sent += out.points;
                report.requests += out.requests;
                report.accepted += out.accepted;
                report.rejected += out.rejected;
                report.busy_503 += out.busy;
                report.rate_limited_429 += out.limited;
                report.http_errors += out.http_errors;
                report.transport_errors += out.transport_errors;
                report.dropped_batches += out.dropped as u64;
                report.body_bytes_sent += out.wire_bytes;
                report.json_bytes += out.json_bytes;
                for e in out.errors {
                    if report.error_samples.len() < MAX_ERROR_SAMPLES && !report.error_samples.contains(&e) {
                        report.error_samples.push(e);
                    }
                }
                if Instant::now() >= progress_at {
                    progress_at += Duration::from_secs(5);
                    let secs = started.elapsed().as_secs_f64();
                    eprintln!(
                        "  {:>6.1}s  sent {:>11}  accepted {:>11} ({:>8.0}/s)  503s {}  errors {}",
                        secs, report.points_sent, report.accepted, report.accepted as f64 / secs,
                        report.busy_503, report.http_errors + report.transport_errors
                    );
                }
            }
            batch = rx.recv(), if can_take => match batch {
                Some(batch) => {
                    points_taken += u64::from(batch.points);
                    inflight.push(send_batch(&http, &url, batch, opts, deadline));
                }
                None => channel_open = false,
            },
        }
    }
    let range_exhausted = !channel_open;
    let steps_sent = report.points_sent.div_ceil(fleet.series as u64).max(1) as i64;
    report.last_timestamp_ms = t0_ms + (steps_sent - 1) * interval_ms;
    drop(rx);
    let _ = generator.join();
    if opts.duration.is_some() && range_exhausted {
        report.warnings.push(format!(
            "the backfill range ran out after {:.1}s, before --duration; pass a longer --backfill to sustain the load",
            last_answer.duration_since(started).as_secs_f64()
        ));
    }

    let wall = last_answer.duration_since(started).as_secs_f64().max(1e-9);
    report.wall_secs = wall;
    report.accepted_per_sec = report.accepted as f64 / wall;
    report.latency = Latency::from_samples(&latencies);
    eprintln!(
        "sending done: {} points accepted in {:.1}s ({:.0}/s); waiting for them to be committed...",
        report.accepted, wall, report.accepted_per_sec
    );

    if let Some(probe) = &durable_probe {
        stop_timeline.set(true);
        let mut d = probe
            .wait(report.accepted as i64, started, started_wall, last_answer)
            .await?;
        d.timeline = std::mem::take(&mut *timeline.borrow_mut());
        if let Some(&(t, at_end)) = d
            .timeline
            .iter()
            .rev()
            .find(|(t, _)| *t <= wall + 0.5 && *t > 0.0)
        {
            d.durable_per_sec_while_sending = Some(at_end as f64 / t);
        }
        if !d.reached {
            report.warnings.push(format!(
                "only {} of {} accepted points were committed within --durable-timeout",
                d.durable_points, report.accepted
            ));
        }
        if d.extra_rows > 0 {
            report.warnings.push(format!(
                "{} more rows than accepted points appeared in `points` (duplicates, or another writer)",
                d.extra_rows
            ));
        }
        report.durable = Some(d);
    }
    report.server = sampler.map(RssSampler::finish);
    report.bench_cpu_secs = match (bench_cpu_start, stats::cpu_seconds(None)) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(report)
}

/// Sends one batch until it is answered with something other than 503/429 (or
/// retries run out), honouring Retry-After up to --retry-after-cap.
async fn send_batch(
    http: &awc::Client,
    url: &str,
    batch: Batch,
    opts: &IngestOpts,
    deadline: Option<Instant>,
) -> BatchOutcome {
    let mut out = BatchOutcome {
        points: batch.points as u64,
        json_bytes: batch.json_len as u64,
        ..Default::default()
    };
    // Past the deadline a busy server is given one more minute to take what is in flight.
    let give_up_at = deadline.map(|d| d + Duration::from_secs(60));
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let mut req = match opts.format {
            WireFormat::Json => http
                .post(url)
                .insert_header(("content-type", "application/json")),
            WireFormat::RemoteWrite => http
                .post(url)
                .insert_header(("content-type", "application/x-protobuf"))
                .insert_header(("content-encoding", "snappy"))
                .insert_header(("x-prometheus-remote-write-version", "0.1.0")),
        };
        if opts.gzip && opts.format == WireFormat::Json {
            req = req.insert_header(("content-encoding", "gzip"));
        }
        out.requests += 1;
        out.wire_bytes += batch.body.len() as u64;
        let t = Instant::now();
        let wait = match req.send_body(batch.body.clone()).await {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .map(Duration::from_secs_f64);
                let body = resp.body().limit(64 << 20).await;
                let now = Instant::now();
                out.finished = Some(now);
                match (status, body) {
                    (204, Ok(_)) => {
                        // remote_write: every sample is durable in the broker.
                        out.latency = Some(now - t);
                        out.accepted = batch.points as u64;
                        return out;
                    }
                    (200..=299, Ok(body)) => {
                        out.latency = Some(now - t);
                        match parse_ingest_answer(&body) {
                            Some((acc, rej, errs)) => {
                                out.accepted = acc;
                                out.rejected = rej;
                                out.errors.extend(errs);
                            }
                            None => {
                                out.accepted = batch.points as u64;
                                out.errors.push(format!(
                                    "{status} with an unexpected body (counted as all accepted): {}",
                                    truncate(&String::from_utf8_lossy(&body), 200)
                                ));
                            }
                        }
                        return out;
                    }
                    (503, _) | (429, _) => {
                        if status == 503 {
                            out.busy += 1;
                        } else {
                            out.limited += 1;
                        }
                        retry_after
                            .unwrap_or(Duration::from_millis(500))
                            .min(opts.retry_after_cap)
                    }
                    (_, body) => {
                        out.http_errors += 1;
                        let text = body
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_else(|e| e.to_string());
                        out.errors
                            .push(format!("HTTP {status}: {}", truncate(&text, 300)));
                        return out;
                    }
                }
            }
            Err(e) => {
                out.transport_errors += 1;
                out.finished = Some(Instant::now());
                if out.errors.len() < 2 {
                    out.errors.push(format!("request failed: {e}"));
                }
                Duration::from_millis(500)
            }
        };
        if attempt > opts.max_retries || give_up_at.is_some_and(|g| Instant::now() + wait > g) {
            out.dropped = true;
            return out;
        }
        tokio::time::sleep(wait).await;
    }
}

/// `{"accepted": n, "rejected": m, "errors": [...]}`, also accepted inside `data`.
fn parse_ingest_answer(body: &[u8]) -> Option<(u64, u64, Vec<String>)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = if v.get("accepted").is_some() {
        &v
    } else {
        v.get("data")?
    };
    let accepted = obj.get("accepted")?.as_u64()?;
    let rejected = obj.get("rejected").and_then(|r| r.as_u64()).unwrap_or(0);
    let errors = obj
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .take(2)
                .map(|e| format!("rejected point: {}", truncate(&e.to_string(), 200)))
                .collect()
        })
        .unwrap_or_default();
    Some((accepted, rejected, errors))
}

/// Counts committed points in the server's database.
struct DurableProbe {
    pool: PgPool,
    /// Sum `ingest_batches.points` (true) or count `points` rows (false).
    batches: bool,
    points_before: i64,
    timeout: Duration,
}

impl DurableProbe {
    async fn prepare(pool: PgPool, probe: Probe, timeout: Duration) -> anyhow::Result<Self> {
        let has_batches: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
             WHERE table_name = 'ingest_batches' AND column_name = 'points' AND table_schema = current_schema())",
        )
        .fetch_one(&pool)
        .await?;
        let batches = match probe {
            Probe::Auto => has_batches,
            Probe::Batches => {
                anyhow::ensure!(
                    has_batches,
                    "--durable-probe batches: the database has no ingest_batches.points"
                );
                true
            }
            Probe::Points => false,
        };
        // Points still draining from an earlier run would be counted as this run's.
        let settle_deadline = Instant::now() + timeout;
        if has_batches {
            loop {
                let recent: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM ingest_batches WHERE committed_at > now() - interval '3 seconds'",
                )
                .fetch_one(&pool)
                .await?;
                if recent == 0 {
                    break;
                }
                eprintln!("the server is still committing batches of an earlier run: waiting for it to drain");
                anyhow::ensure!(
                    Instant::now() < settle_deadline,
                    "the server kept committing for --durable-timeout"
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        let mut last = count_points(&pool)
            .await
            .context("counting rows in `points` (is the schema there?)")?;
        if !has_batches {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let now = count_points(&pool).await?;
                if now == last {
                    break;
                }
                eprintln!("`points` is still growing ({last} -> {now}): waiting for an earlier run to drain");
                last = now;
                anyhow::ensure!(
                    Instant::now() < settle_deadline,
                    "`points` kept growing for --durable-timeout"
                );
            }
        }
        eprintln!(
            "points already stored: {last}; durable probe: {}",
            if batches {
                "ingest_batches"
            } else {
                "count(*)"
            }
        );
        Ok(Self {
            pool,
            batches,
            points_before: last,
            timeout,
        })
    }

    async fn probe(&self, since: DateTime<Utc>) -> anyhow::Result<i64> {
        if self.batches {
            Ok(sqlx::query_scalar(
                "SELECT coalesce(sum(points), 0)::int8 FROM ingest_batches WHERE committed_at >= $1",
            )
            .bind(since - chrono::Duration::seconds(2))
            .fetch_one(&self.pool)
            .await?)
        } else {
            Ok(count_points(&self.pool).await? - self.points_before)
        }
    }

    fn resolution(&self) -> Duration {
        if self.batches {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(2)
        }
    }

    /// Samples the durable count once a second while sending (batches probe only:
    /// counting rows that often would load the database being measured).
    fn sample_in_background(
        &self,
        started: Instant,
        started_wall: DateTime<Utc>,
        timeline: Rc<RefCell<Vec<(f64, i64)>>>,
        stop: Rc<std::cell::Cell<bool>>,
    ) {
        if !self.batches {
            return;
        }
        let pool = self.pool.clone();
        let me = DurableProbe {
            pool,
            batches: true,
            points_before: self.points_before,
            timeout: self.timeout,
        };
        actix_rt::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.get() {
                tick.tick().await;
                let t = started.elapsed().as_secs_f64();
                if let Ok(n) = me.probe(started_wall).await {
                    timeline.borrow_mut().push((t, n));
                }
            }
        });
    }

    /// Polls until `accepted` points are committed or the timeout passes.
    async fn wait(
        &self,
        accepted: i64,
        started: Instant,
        started_wall: DateTime<Utc>,
        last_answer: Instant,
    ) -> anyhow::Result<DurableReport> {
        let mut batches = self.batches;
        let deadline = Instant::now() + self.timeout;
        let mut samples = Vec::new();
        let mut reached_at = None;
        let mut durable = 0;
        let mut last_progress = (Instant::now(), -1i64);
        while Instant::now() < deadline {
            let t = Instant::now();
            let probe = DurableProbe {
                pool: self.pool.clone(),
                batches,
                points_before: self.points_before,
                timeout: self.timeout,
            };
            durable = probe.probe(started_wall).await?;
            samples.push((t.duration_since(started).as_secs_f64(), durable));
            if durable >= accepted {
                if batches {
                    // The batch records are the server's bookkeeping; the rows decide.
                    let rows = count_points(&self.pool).await? - self.points_before;
                    if rows < accepted {
                        eprintln!("ingest_batches counts {durable} but `points` holds {rows} new rows: polling count(*) instead");
                        batches = false;
                        continue;
                    }
                }
                reached_at = Some(t);
                break;
            }
            if durable != last_progress.1 {
                last_progress = (t, durable);
            } else if t.duration_since(last_progress.0) > STALL_LIMIT {
                eprintln!(
                    "no progress for {}s at {durable} of {accepted} points: giving up waiting",
                    STALL_LIMIT.as_secs()
                );
                break;
            }
            tokio::time::sleep(probe.resolution()).await;
        }
        let rows = count_points(&self.pool).await? - self.points_before;
        let secs = reached_at
            .map(|t| t.duration_since(started).as_secs_f64())
            .unwrap_or(f64::NAN);
        Ok(DurableReport {
            probe: if batches {
                "batches".into()
            } else {
                "points".into()
            },
            points_before: self.points_before,
            durable_points: if reached_at.is_some() {
                accepted
            } else {
                durable.min(rows)
            },
            reached: reached_at.is_some(),
            secs_to_durable: secs,
            durable_per_sec: accepted as f64 / secs,
            lag_after_last_answer_secs: reached_at
                .map(|t| t.saturating_duration_since(last_answer).as_secs_f64())
                .unwrap_or(f64::NAN),
            durable_per_sec_while_sending: None,
            extra_rows: (rows - accepted).max(0),
            resolution_secs: if batches { 0.25 } else { 2.0 },
            timeline: samples,
        })
    }
}

/// Whether the fleet's first and last series already have points in [from, to]: a
/// cheap index probe for an earlier run over the same range.
async fn existing_points(
    pool: &PgPool,
    fleet: &gen::Fleet,
    from_ms: i64,
    to_ms: i64,
) -> anyhow::Result<Option<String>> {
    let from = DateTime::<Utc>::from_timestamp_millis(from_ms).unwrap_or_default();
    let to = DateTime::<Utc>::from_timestamp_millis(to_ms).unwrap_or_default();
    for i in [0, fleet.series - 1] {
        let (m, labels) = fleet.labels(i);
        let key = fleet.series_key(&fleet.metric_name(m), &labels);
        let hit: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT p.time FROM points p JOIN series s ON s.id = p.series_id \
             WHERE s.series_key = $1 AND p.time >= $2 AND p.time <= $3 LIMIT 1",
        )
        .bind(&key)
        .bind(from)
        .bind(to)
        .fetch_optional(pool)
        .await?;
        if let Some(t) = hit {
            return Ok(Some(format!(
                "{key} at {}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
    }
    Ok(None)
}

async fn count_points(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM points")
        .fetch_one(pool)
        .await?)
}

pub fn fmt_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

impl IngestReport {
    pub fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "== ingest ==")?;
        writeln!(
            out,
            "fleet        {} series ({} metrics x {} series), interval {}s, range {} .. {}",
            self.series,
            self.metrics,
            self.series_per_metric,
            self.interval_secs,
            self.range_start,
            self.range_end
        )?;
        writeln!(
            out,
            "requests     {} ({:?}, batch {}, concurrency {}, gzip {}), wire {:.1} MB, uncompressed {:.1} MB ({:.0} B/point)",
            self.requests,
            self.format,
            self.batch,
            self.concurrency,
            self.gzip,
            self.body_bytes_sent as f64 / 1e6,
            self.json_bytes as f64 / 1e6,
            self.json_bytes as f64 / self.points_sent.max(1) as f64
        )?;
        writeln!(
            out,
            "points       sent {}  accepted {}  rejected {}  dropped batches {}",
            self.points_sent, self.accepted, self.rejected, self.dropped_batches
        )?;
        writeln!(
            out,
            "answers      503 {}  429 {}  other errors {}  transport errors {}",
            self.busy_503, self.rate_limited_429, self.http_errors, self.transport_errors
        )?;
        writeln!(
            out,
            "accepted     {:.0} points/s over {:.1}s",
            self.accepted_per_sec, self.wall_secs
        )?;
        writeln!(out, "latency      {}", self.latency.brief())?;
        if let Some(d) = &self.durable {
            if d.reached {
                writeln!(
                    out,
                    "durable      {:.0} points/s ({} points committed {:.1}s after the first request, {:.1}s after the last answer; probe {}, +-{}s)",
                    d.durable_per_sec, d.durable_points, d.secs_to_durable, d.lag_after_last_answer_secs, d.probe, d.resolution_secs
                )?;
            } else {
                writeln!(
                    out,
                    "durable      NOT REACHED: {} of {} points committed",
                    d.durable_points, self.accepted
                )?;
            }
            if let Some(r) = d.durable_per_sec_while_sending {
                writeln!(
                    out,
                    "             {:.0} points/s committed while sending",
                    r
                )?;
            }
        }
        if let Some(s) = &self.server {
            writeln!(
                out,
                "server       peak RSS {:.0} MiB (sampled), VmHWM {:.0} MiB, CPU {}",
                s.peak_rss_sampled_mib,
                s.vm_hwm_mib,
                s.cpu_seconds
                    .map(|c| format!("{c:.1}s"))
                    .unwrap_or("?".into())
            )?;
        }
        if let Some(c) = self.bench_cpu_secs {
            writeln!(out, "bench CPU    {:.1}s", c)?;
        }
        for e in &self.error_samples {
            writeln!(out, "error        {e}")?;
        }
        for w in &self.warnings {
            writeln!(out, "WARNING      {w}")?;
        }
        Ok(())
    }
}

/// When a run paced at `rate` points/s may send past `points_taken`; `None` unpaced.
fn pace_due(started: Instant, points_taken: u64, rate: Option<f64>) -> Option<Instant> {
    let rate = rate.filter(|r| *r > 0.0)?;
    Some(started + Duration::from_secs_f64(points_taken as f64 / rate))
}
