//! `query`: dashboard queries against `POST /api/v1/query`.
//!
//! The server caches answers in Redis under the query with its range rounded to 10 s.
//! To measure the database path, the *uncached* pass moves every repetition's range
//! back by a different number of 10 s steps (from a random offset, so a second
//! invocation does not hit the first one's entries either); the *cached* pass then
//! repeats the last of those ranges. Latencies are grouped by what the server says in
//! `meta.cached`, not by which pass asked, so an unexpected hit or miss is visible.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::cli::{QueryKind, QueryOpts, Target};
use crate::client;
use crate::ingest::{fmt_ms, truncate};
use crate::stats::{median, Latency};

/// The server's cache-key granularity.
const CACHE_STEP_MS: i64 = 10_000;

#[derive(Debug, Default, Serialize)]
pub struct QueryReport {
    pub metric: String,
    pub host: String,
    pub end: String,
    pub reps: usize,
    pub aggregation: String,
    pub step: String,
    pub kinds: Vec<KindReport>,
}

#[derive(Debug, Default, Serialize)]
pub struct KindReport {
    pub kind: Option<QueryKind>,
    pub description: String,
    /// Answers with `meta.cached = false`.
    pub uncached: Latency,
    /// Answers with `meta.cached = true`.
    pub cached: Latency,
    /// Answers without a `meta.cached` field.
    pub unknown_cache: Latency,
    /// Cache hits during the pass meant to miss.
    pub hits_in_uncached_pass: usize,
    /// Misses during the pass meant to hit.
    pub misses_in_cached_pass: usize,
    /// `meta.table` values seen, with counts.
    pub tables: BTreeMap<String, usize>,
    /// `meta.resolution` values seen, with counts.
    pub resolutions: BTreeMap<String, usize>,
    /// Median number of points in `data`.
    pub points_per_answer: f64,
    pub errors: usize,
    pub error_samples: Vec<String>,
}

/// A query that did not answer 200, and how long the server asked us to wait.
struct Failure {
    text: String,
    retry_after: Option<Duration>,
}

/// Longest Retry-After the bench honours between queries.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(15);

/// What one answer said.
struct Answer {
    latency: Duration,
    cached: Option<bool>,
    table: Option<String>,
    resolution: Option<String>,
    points: usize,
}

pub async fn run(target: &Target, metric: &str, opts: &QueryOpts) -> anyhow::Result<QueryReport> {
    let http = client::http_client(target, opts.query_timeout, 2)?;
    if let Err(e) = client::health(&http, &target.url).await {
        anyhow::bail!("cannot reach {}: {e}", target.url);
    }
    let end_ms = match &opts.end {
        Some(s) => parse_time(s)?,
        None => Utc::now().timestamp_millis() - 120_000,
    };
    let end_ms = end_ms.div_euclid(CACHE_STEP_MS) * CACHE_STEP_MS;
    let base = rand::random_range(0..opts.max_shift_steps.max(1)) as i64;
    let url = format!("{}/api/v1/query", target.url);
    eprintln!(
        "query: metric {metric}, host {}, ranges ending {} minus {}..{} x 10s, {} reps per pass",
        opts.host,
        fmt_ms(end_ms),
        base,
        base + (opts.reps + opts.warmup) as i64,
        opts.reps
    );

    let mut report = QueryReport {
        metric: metric.to_string(),
        host: opts.host.clone(),
        end: fmt_ms(end_ms),
        reps: opts.reps,
        aggregation: opts.aggregation.clone(),
        step: opts.step.clone(),
        ..Default::default()
    };
    for &kind in &opts.kinds {
        let body_for = |shift_steps: i64| {
            let end = end_ms - shift_steps * CACHE_STEP_MS;
            let start = end - kind.range().as_millis() as i64;
            let mut body = json!({
                "query": metric,
                "start": start,
                "end": end,
                "aggregation": opts.aggregation,
                "step": opts.step,
            });
            if kind.single_series() {
                body["tags"] = json!({ opts.host_tag.as_str(): opts.host });
            }
            body
        };
        let mut k = KindReport {
            kind: Some(kind),
            description: kind.label().to_string(),
            ..Default::default()
        };
        let (mut unc, mut hit, mut unknown, mut points) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut record =
            |k: &mut KindReport, res: Result<Answer, Failure>, expect_cached: bool| match res {
                Ok(a) => {
                    match a.cached {
                        Some(true) => hit.push(a.latency),
                        Some(false) => unc.push(a.latency),
                        None => unknown.push(a.latency),
                    }
                    if a.cached == Some(!expect_cached) {
                        if expect_cached {
                            k.misses_in_cached_pass += 1;
                        } else {
                            k.hits_in_uncached_pass += 1;
                        }
                    }
                    *k.tables
                        .entry(a.table.unwrap_or_else(|| "?".into()))
                        .or_default() += 1;
                    *k.resolutions
                        .entry(a.resolution.unwrap_or_else(|| "?".into()))
                        .or_default() += 1;
                    points.push(a.points as f64);
                }
                Err(e) => {
                    k.errors += 1;
                    if k.error_samples.len() < 4 && !k.error_samples.contains(&e.text) {
                        k.error_samples.push(e.text);
                    }
                }
            };
        for w in 0..opts.warmup {
            let _ = ask(&http, &url, &body_for(base + (opts.reps + w) as i64)).await;
        }
        for r in 0..opts.reps {
            if let Some(prefix) = &opts.flush_query_cache {
                flush_query_cache(&opts.redis_url, prefix).await?;
            }
            let res = ask(&http, &url, &body_for(base + r as i64)).await;
            let wait = backoff(&res);
            record(&mut k, res, false);
            wait.await;
        }
        if !opts.no_cache && opts.reps > 0 {
            let last = base + opts.reps as i64 - 1;
            for _ in 0..opts.reps {
                let res = ask(&http, &url, &body_for(last)).await;
                let wait = backoff(&res);
                record(&mut k, res, true);
                wait.await;
            }
        }
        k.uncached = Latency::from_samples(&unc);
        k.cached = Latency::from_samples(&hit);
        k.unknown_cache = Latency::from_samples(&unknown);
        k.points_per_answer = median(&points);
        eprintln!(
            "  {:<32} uncached {}\n  {:<32} cached   {}",
            kind.label(),
            k.uncached.brief(),
            "",
            k.cached.brief()
        );
        report.kinds.push(k);
    }
    Ok(report)
}

/// Deletes every cached query answer of the server whose Redis prefix is `prefix`.
async fn flush_query_cache(url: &str, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url).context("--redis-url")?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .context("connecting to Redis")?;
    let pattern = format!("{prefix}query:*");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// After a 503 or 429 the server says when to come back (a tripped circuit breaker,
/// say); the next query waits that long so that one failure does not turn every
/// following repetition into an instant 503.
fn backoff(res: &Result<Answer, Failure>) -> impl std::future::Future<Output = ()> {
    let wait = match res {
        Err(Failure {
            retry_after: Some(d),
            ..
        }) => (*d).min(MAX_RETRY_AFTER),
        _ => Duration::ZERO,
    };
    tokio::time::sleep(wait)
}

async fn ask(http: &awc::Client, url: &str, body: &serde_json::Value) -> Result<Answer, Failure> {
    let fail = |text: String| Failure {
        text,
        retry_after: None,
    };
    let payload = serde_json::to_vec(body).map_err(|e| fail(e.to_string()))?;
    let t = Instant::now();
    let mut resp = http
        .post(url)
        .insert_header(("content-type", "application/json"))
        .send_body(payload)
        .await
        .map_err(|e| fail(format!("request failed: {e}")))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let bytes = resp
        .body()
        .limit(256 << 20)
        .await
        .map_err(|e| fail(format!("reading the answer: {e}")))?;
    let latency = t.elapsed();
    if status != 200 {
        let text = format!(
            "HTTP {status}: {}",
            truncate(&String::from_utf8_lossy(&bytes), 300)
        );
        let retry_after = if status == 503 || status == 429 {
            retry_after.or(Some(Duration::from_secs(1)))
        } else {
            None
        };
        return Err(Failure { text, retry_after });
    }
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("answer is not JSON: {e}")))?;
    let meta = &v["meta"];
    let text = |f: &serde_json::Value| match f {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    Ok(Answer {
        latency,
        cached: meta["cached"].as_bool(),
        table: text(&meta["table"]),
        resolution: text(&meta["resolution"]),
        points: v["data"].as_array().map(|a| a.len()).unwrap_or(0),
    })
}

/// RFC 3339 or milliseconds since the epoch.
fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    Ok(DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("{s:?} is neither RFC 3339 nor ms"))?
        .timestamp_millis())
}

impl QueryReport {
    pub fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "== query ==")?;
        writeln!(
            out,
            "metric       {} (single series: host={}), {} step {}, ranges ending near {}, {} reps per pass",
            self.metric, self.host, self.aggregation, self.step, self.end, self.reps
        )?;
        for k in &self.kinds {
            writeln!(out, "{}", k.description)?;
            writeln!(out, "  uncached   {}", k.uncached.brief())?;
            writeln!(out, "  cached     {}", k.cached.brief())?;
            if k.unknown_cache.count > 0 {
                writeln!(out, "  no meta.cached  {}", k.unknown_cache.brief())?;
            }
            writeln!(
                out,
                "  answers    {:.0} points median; tables {:?}; resolutions {:?}; hits in uncached pass {}, misses in cached pass {}, errors {}",
                k.points_per_answer, k.tables, k.resolutions, k.hits_in_uncached_pass, k.misses_in_cached_pass, k.errors
            )?;
            for e in &k.error_samples {
                writeln!(out, "  error      {e}")?;
            }
        }
        Ok(())
    }
}
