//! Command-line arguments. Groups of flags are shared between the subcommands and the
//! `all` command, which runs the others in sequence.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::gen::Fleet;

/// Load generator and measuring tool for a running Vigil server.
///
/// Talks to the server over HTTP and to its PostgreSQL database with SQL only, so it
/// does not depend on the server's code.
#[derive(Parser, Debug)]
#[command(name = "vigil-bench", version)]
pub struct Cli {
    /// Print a machine-readable JSON summary on stdout (the human-readable report
    /// then goes to stderr).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate agents pushing points to POST /api/v1/metrics; measure accepted and
    /// durable (committed in PostgreSQL) throughput.
    Ingest(IngestCmd),
    /// Raw binary COPY into `points` from the bench itself: the baseline that ingest
    /// throughput is compared with.
    CopyBaseline(CopyCmd),
    /// Dashboard queries against POST /api/v1/query, cached and uncached latencies.
    Query(QueryCmd),
    /// On-disk size of the `points` partitions and bytes per point.
    Storage(StorageCmd),
    /// copy-baseline, then ingest, then query, then storage; one summary table with the
    /// ingest/COPY ratio.
    All(Box<AllCmd>),
    /// Alert rules under load: evaluation lag, missed ticks, CPU and memory; and
    /// condition-to-webhook latency probes.
    Alerts(crate::alerts::AlertsCmd),
    /// The PromQL comparison's data set: files for Prometheus and VictoriaMetrics, and
    /// the same points COPYed into Vigil's raw partitions (compacted by the server).
    PromqlData(crate::promql_data::PromqlDataCmd),
    /// A long live run at a fixed rate with bad requests, series churn, a dashboard
    /// and alert rules: latency, 5xx, RSS, FDs and queue depth every sample.
    Soak(crate::soak::SoakCmd),
}

/// Where the server and its database are.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Base URL of the Vigil server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The server's PostgreSQL database (for durable counts, COPY and storage).
    #[arg(
        long,
        env = "VIGIL_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/vigil"
    )]
    pub database_url: String,
    /// Extra HTTP header sent with every request, `Name: value` (repeatable), e.g. an
    /// ingest API key.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

/// The simulated fleet and the time range its points cover.
#[derive(Args, Debug, Clone)]
pub struct Shape {
    /// Number of series (agents × metrics). Series are spread round-robin over the
    /// metric names, so 10,000 series over 10 metrics gives 1,000 series per metric.
    #[arg(long, default_value_t = 10_000)]
    pub series: usize,
    /// Number of metric names (`<prefix>.cpu`, `<prefix>.mem`, ...).
    #[arg(long, default_value_t = 10)]
    pub metrics: usize,
    /// Tags per series, taken in order from host, region, service, env, rack, zone,
    /// team, version (1..=8). `host` is unique within a metric.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub tags_per_series: u8,
    /// Metric name prefix.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// Agents' reporting interval: the spacing of a series' points in simulated time.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Points cover [now - backfill, now) at `interval` spacing: series × backfill /
    /// interval points in all. Default 1h, or 24h with --duration (the range then only
    /// bounds how far timestamps may walk). The server accepts points up to 7 days old.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub backfill: Option<Duration>,
    /// Shift the whole range into the past: points cover
    /// [now - until_ago - backfill, now - until_ago). Lets runs over the same fleet use
    /// ranges that do not overlap.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub until_ago: Duration,
}

impl Shape {
    pub fn fleet(&self) -> Fleet {
        Fleet {
            prefix: self.prefix.clone(),
            series: self.series.max(1),
            metrics: self.metrics.clamp(1, self.series.max(1)),
            tags_per_series: self.tags_per_series as usize,
        }
    }

    pub fn backfill_or(&self, duration_mode: bool) -> Duration {
        self.backfill.unwrap_or(if duration_mode {
            Duration::from_secs(86_400)
        } else {
            Duration::from_secs(3_600)
        })
    }
}

/// How the agents send.
#[derive(Args, Debug, Clone)]
pub struct IngestOpts {
    /// Send as fast as possible for this long instead of sending the whole backfill
    /// range (timestamps walk forward from now - backfill).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Pace sending to this many points per second (live agents at a steady rate);
    /// default: as fast as the server takes them. With a rate of series / interval,
    /// timestamps walk forward at the speed of the clock.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Points per request.
    #[arg(long, default_value_t = 2000)]
    pub batch: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Gzip request bodies (Content-Encoding: gzip; JSON only).
    #[arg(long)]
    pub gzip: bool,
    /// Wire format: `json` (POST /api/v1/metrics) or `remote-write` (Prometheus
    /// remote_write 1.0, snappy protobuf, POST /api/v1/write).
    #[arg(long, value_enum, default_value_t = WireFormat::Json)]
    pub format: WireFormat,
    /// PID of the server, to sample its resident memory and CPU time.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Do not wait for the points to be committed in PostgreSQL.
    #[arg(long)]
    pub no_durable: bool,
    /// How long to wait, after the last request, for every accepted point to be
    /// committed.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub durable_timeout: Duration,
    /// How durable points are counted: `batches` sums the server's `ingest_batches`
    /// records (cheap, polled every 250 ms, verified with count(*) at the end);
    /// `points` polls `SELECT count(*) FROM points` every 2 s (exact but it costs the
    /// database CPU on big tables); `auto` uses batches when that table exists.
    #[arg(long, value_enum, default_value_t = Probe::Auto)]
    pub durable_probe: Probe,
    /// Send even if the fleet already has points in the range. The server recognises
    /// a request identical to an earlier one (content-derived batch ids) and does not
    /// store it twice, so such points never show up as durable.
    #[arg(long)]
    pub allow_overlap: bool,
    /// Retries of one batch after 503/429 or a connection error before it is dropped.
    #[arg(long, default_value_t = 1000)]
    pub max_retries: u32,
    /// Upper bound on how long a Retry-After makes a sender wait.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub retry_after_cap: Duration,
    /// Timeout of one ingest request.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WireFormat {
    #[default]
    Json,
    RemoteWrite,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Auto,
    Batches,
    Points,
}

#[derive(Args, Debug, Clone)]
pub struct IngestCmd {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub shape: Shape,
    #[command(flatten)]
    pub opts: IngestOpts,
}

/// The COPY baseline.
#[derive(Args, Debug, Clone)]
pub struct CopyOpts {
    /// Parallel COPY connections (batches are dealt out to them).
    #[arg(long, default_value_t = 1)]
    pub streams: usize,
    /// Repetitions; rows/s is reported per run and as the median.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Put the baseline's points on the UTC day this many days ago (its own
    /// partitions, dropped afterwards, so ingested data and its partitions are never
    /// touched). Must be < 7 for the same conditions as the server (partitions that
    /// retention keeps).
    #[arg(long, default_value_t = 6)]
    pub days_ago: u32,
    /// Number of points; default: as many as an ingest run with the same flags sends
    /// (series × backfill / interval).
    #[arg(long)]
    pub points: Option<u64>,
    /// Leave the baseline's rows, series and partitions in place.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CopyCmd {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub shape: Shape,
    /// Rows per COPY (one transaction each): the server's `ingest.batch_size`.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    #[command(flatten)]
    pub opts: CopyOpts,
}

/// Kinds of dashboard query.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum QueryKind {
    /// 1 h × every series of one metric.
    #[value(name = "wide-1h")]
    #[serde(rename = "wide-1h")]
    Wide1h,
    /// 24 h × every series of one metric.
    #[value(name = "wide-24h")]
    #[serde(rename = "wide-24h")]
    Wide24h,
    /// 24 h × one series (tag filter on host).
    #[value(name = "one-24h")]
    #[serde(rename = "one-24h")]
    One24h,
    /// 1 h × one series.
    #[value(name = "one-1h")]
    #[serde(rename = "one-1h")]
    One1h,
    /// 7 d × every series of one metric (1-hour tier; use --step 1h).
    #[value(name = "wide-7d")]
    #[serde(rename = "wide-7d")]
    Wide7d,
    /// 30 d × every series of one metric (1-hour tier; use --step 1h).
    #[value(name = "wide-30d")]
    #[serde(rename = "wide-30d")]
    Wide30d,
}

impl QueryKind {
    pub fn range(self) -> Duration {
        match self {
            QueryKind::Wide1h | QueryKind::One1h => Duration::from_secs(3_600),
            QueryKind::Wide24h | QueryKind::One24h => Duration::from_secs(86_400),
            QueryKind::Wide7d => Duration::from_secs(7 * 86_400),
            QueryKind::Wide30d => Duration::from_secs(30 * 86_400),
        }
    }

    pub fn single_series(self) -> bool {
        matches!(self, QueryKind::One1h | QueryKind::One24h)
    }

    pub fn label(self) -> &'static str {
        match self {
            QueryKind::Wide1h => "1h x all series of the metric",
            QueryKind::Wide24h => "24h x all series of the metric",
            QueryKind::One24h => "24h x 1 series",
            QueryKind::One1h => "1h x 1 series",
            QueryKind::Wide7d => "7d x all series of the metric",
            QueryKind::Wide30d => "30d x all series of the metric",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct QueryOpts {
    /// Repetitions of each query kind, for each of the uncached and cached passes.
    #[arg(long, default_value_t = 50)]
    pub reps: usize,
    /// Query kinds to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [QueryKind::Wide1h, QueryKind::Wide24h, QueryKind::One24h, QueryKind::One1h])]
    pub kinds: Vec<QueryKind>,
    /// Metric to query; default `<prefix>.cpu`, the first metric of the fleet.
    #[arg(long)]
    pub metric: Option<String>,
    /// `host` tag of the single series queried.
    #[arg(long, default_value = "host-00000")]
    pub host: String,
    /// Tag key holding `--host` (the PromQL data set names it `instance`).
    #[arg(long, default_value = "host")]
    pub host_tag: String,
    /// Delete the server's cached query answers (Redis keys `<prefix>query:*`) before
    /// every repetition of the uncached pass, so each computes its whole range (the
    /// server caches a range in parts, and shifted ranges share their middle parts).
    #[arg(long, value_name = "PREFIX")]
    pub flush_query_cache: Option<String>,
    /// Redis of the server, for `--flush-query-cache`.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// End of the unshifted query range (RFC 3339 or ms since epoch). Default: now
    /// minus 2 minutes, so the server caches answers with its historical TTL.
    #[arg(long)]
    pub end: Option<String>,
    /// Aggregation.
    #[arg(long, default_value = "avg")]
    pub aggregation: String,
    /// Step.
    #[arg(long, default_value = "1m")]
    pub step: String,
    /// The uncached pass shifts each repetition's range back by a different number
    /// of 10 s steps (the server's cache key granularity), starting at a random offset
    /// below this many steps, so that no two repetitions share a cache entry.
    #[arg(long, default_value_t = 180)]
    pub max_shift_steps: u64,
    /// Unmeasured queries per kind before the passes (fresh ranges).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Skip the cached pass.
    #[arg(long)]
    pub no_cache: bool,
    /// Timeout of one query request.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub query_timeout: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct QueryCmd {
    #[command(flatten)]
    pub target: Target,
    /// Metric name prefix of the ingested fleet (for the default --metric).
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    #[command(flatten)]
    pub opts: QueryOpts,
}

#[derive(Args, Debug, Clone)]
pub struct StorageCmd {
    /// The server's PostgreSQL database.
    #[arg(
        long,
        env = "VIGIL_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/vigil"
    )]
    pub database_url: String,
}

#[derive(Args, Debug, Clone)]
pub struct AllCmd {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub shape: Shape,
    #[command(flatten)]
    pub ingest: IngestOpts,
    /// Rows per COPY in the baseline (the server's `ingest.batch_size`).
    #[arg(long, default_value_t = 5000)]
    pub copy_batch: usize,
    /// Parallel COPY connections in the baseline.
    #[arg(long, default_value_t = 1)]
    pub copy_streams: usize,
    /// Baseline repetitions (median reported).
    #[arg(long, default_value_t = 3)]
    pub copy_runs: usize,
    /// Baseline points; default: the same number the ingest run sends (with
    /// --duration the baseline then runs after ingest and copies what it accepted).
    #[arg(long)]
    pub copy_points: Option<u64>,
    /// Day (days ago, UTC) that holds the baseline's own partitions.
    #[arg(long, default_value_t = 6)]
    pub copy_days_ago: u32,
    /// Skip the baseline.
    #[arg(long)]
    pub skip_copy: bool,
    /// Skip the queries.
    #[arg(long)]
    pub skip_query: bool,
    #[command(flatten)]
    pub query: QueryOpts,
}
