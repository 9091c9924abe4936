//! `promql-data`: the data set of the PromQL comparison, the same points for every
//! system. It writes an OpenMetrics file (for `promtool tsdb create-blocks-from
//! openmetrics`), a JSON-lines file (for VictoriaMetrics' `/api/v1/import`), and loads
//! Vigil's database with binary COPY through the server's own store functions: the
//! hourly raw partitions with their compaction ranges, the series with their catalog
//! entries, and the rollup minutes marked dirty. The server then compacts and
//! downsamples the points as if agents had sent them.
//!
//! Series `i < hosts` is `cpu_usage` (a random walk in [0, 100] with two decimals),
//! the others `http_requests_total` (a counter with whole steps of 0–199); both carry
//! `instance`, `region` (6 values) and `service` (8 values). Values are a function of
//! the seed and the series, so every file and the database agree.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use sqlx::Connection;
use vigil::model::Labels;
use vigil::store::partitions::{day_of, PartitionSet, PartitionedTable};
use vigil::store::series::{resolve, SeriesRef};

use crate::client;
use crate::gen::CopyEncoder;

const COPY_SQL: &str = "COPY points (series_id, time, value) FROM STDIN (FORMAT binary)";
const REGIONS: [&str; 6] = [
    "us-east", "us-west", "eu-west", "eu-north", "ap-south", "sa-east",
];
const MINUTE_MS: i64 = 60_000;

#[derive(Args, Debug)]
pub struct PromqlDataCmd {
    /// The Vigil database to load (its schema migrated by `vigil migrate`/`serve`).
    #[arg(long, env = "VIGIL_BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for `data.om` and `vm.jsonl` (not written when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Time of the first point, ms since the epoch.
    #[arg(long)]
    pub start_ms: i64,
    /// Series per metric.
    #[arg(long, default_value_t = 1000)]
    pub hosts: usize,
    /// Points per series.
    #[arg(long, default_value_t = 8640)]
    pub points: usize,
    /// Interval between points, ms.
    #[arg(long, default_value_t = 10_000)]
    pub interval_ms: i64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Parallel COPY streams.
    #[arg(long, default_value_t = 2)]
    pub streams: usize,
}

/// One series of the data set.
struct SeriesDef {
    metric: &'static str,
    labels: Labels,
}

fn series_defs(hosts: usize) -> Vec<SeriesDef> {
    (0..2 * hosts)
        .map(|i| {
            let j = i % hosts;
            let mut labels = Labels::new();
            labels.insert("instance".into(), format!("host-{j:04}"));
            labels.insert("region".into(), REGIONS[j % REGIONS.len()].into());
            labels.insert("service".into(), format!("svc-{}", j % 8));
            SeriesDef {
                metric: if i < hosts {
                    "cpu_usage"
                } else {
                    "http_requests_total"
                },
                labels,
            }
        })
        .collect()
}

/// splitmix64: small, fast and the same on every platform.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The values of series `i`, in hundredths for the gauge and whole counts for the
/// counter, so printing them is exact.
fn values(seed: u64, i: usize, hosts: usize, n: usize) -> Vec<f64> {
    let mut state = mix(seed ^ mix(i as u64));
    let mut next = move || {
        state = mix(state);
        state
    };
    let mut out = Vec::with_capacity(n);
    if i < hosts {
        let mut centis = (next() % 10_001) as i64;
        for _ in 0..n {
            centis = (centis + (next() % 401) as i64 - 200).clamp(0, 10_000);
            out.push(centis as f64 / 100.0);
        }
    } else {
        let mut count = 0u64;
        for _ in 0..n {
            count += next() % 200;
            out.push(count as f64);
        }
    }
    out
}

fn label_text(def: &SeriesDef) -> String {
    let inner: Vec<String> = def
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{}{{{}}}", def.metric, inner.join(","))
}

pub async fn run(cmd: &PromqlDataCmd) -> anyhow::Result<()> {
    let defs = series_defs(cmd.hosts);
    let times: Vec<i64> = (0..cmd.points as i64)
        .map(|k| cmd.start_ms + k * cmd.interval_ms)
        .collect();
    if let Some(dir) = &cmd.out {
        let started = Instant::now();
        write_files(cmd, &defs, &times, dir)?;
        eprintln!(
            "promql-data: files written to {} in {:.1}s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(url) = &cmd.database_url {
        let started = Instant::now();
        load_vigil(cmd, &defs, &times, url).await?;
        eprintln!(
            "promql-data: {} points COPYed into Vigil in {:.1}s",
            defs.len() * times.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn write_files(
    cmd: &PromqlDataCmd,
    defs: &[SeriesDef],
    times: &[i64],
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut om = BufWriter::with_capacity(1 << 20, File::create(dir.join("data.om"))?);
    let mut vm = BufWriter::with_capacity(1 << 20, File::create(dir.join("vm.jsonl"))?);
    // OpenMetrics wants each family's lines together, series by series in time order.
    for (i, def) in defs.iter().enumerate() {
        let vals = values(cmd.seed, i, cmd.hosts, times.len());
        let head = label_text(def);
        for (t, v) in times.iter().zip(&vals) {
            // Timestamps are whole seconds in the data set; OpenMetrics counts seconds.
            writeln!(om, "{head} {v} {}", t / 1000)?;
        }
        let mut metric = serde_json::Map::new();
        metric.insert("__name__".into(), def.metric.into());
        for (k, v) in &def.labels {
            metric.insert(k.clone(), v.clone().into());
        }
        let line = serde_json::json!({"metric": metric, "values": vals, "timestamps": times});
        writeln!(vm, "{line}")?;
    }
    writeln!(om, "# EOF")?;
    om.flush()?;
    vm.flush()?;
    Ok(())
}

async fn load_vigil(
    cmd: &PromqlDataCmd,
    defs: &[SeriesDef],
    times: &[i64],
    url: &str,
) -> anyhow::Result<()> {
    let pool = client::pg_pool(url, cmd.streams as u32 + 1).await?;
    let keys: Vec<String> = defs
        .iter()
        .map(|d| {
            vigil::model::SeriesKey::new(d.metric, &d.labels)
                .as_str()
                .to_string()
        })
        .collect();
    let refs: Vec<SeriesRef<'_>> = defs
        .iter()
        .zip(&keys)
        .map(|(d, k)| SeriesRef {
            key: k,
            metric: d.metric,
            labels: &d.labels,
        })
        .collect();
    let ids_by_key = resolve(&pool, &refs)
        .await
        .context("registering the series")?;
    let ids: Vec<i64> = keys.iter().map(|k| ids_by_key[k]).collect();

    // The server's own partition function: hourly raw partitions and their
    // compaction ranges, so the compactor finds and compresses these hours.
    let (first, last) = (times[0], times[times.len() - 1]);
    let (first_day, last_day) = (day_of(first), day_of(last));
    let days: Vec<_> = first_day
        .iter_days()
        .take_while(|d| *d <= last_day)
        .collect();
    PartitionSet::default()
        .ensure(&pool, PartitionedTable::Points, days)
        .await
        .context("creating the raw partitions")?;

    let ids = Rc::new(ids);
    let times = Rc::new(times.to_vec());
    let next = Rc::new(std::cell::Cell::new(0usize));
    let mut tasks = Vec::new();
    for _ in 0..cmd.streams.max(1) {
        let mut conn = pool.acquire().await?.detach();
        let (ids, times, next) = (ids.clone(), times.clone(), next.clone());
        let (seed, hosts) = (cmd.seed, cmd.hosts);
        tasks.push(actix_rt::spawn(async move {
            // One series per COPY: a batch the size of the server's writers' and rows
            // that sit together on disk, as the compactor will read them.
            loop {
                let i = next.get();
                if i >= ids.len() {
                    break;
                }
                next.set(i + 1);
                let vals = values(seed, i, hosts, times.len());
                let mut enc = CopyEncoder::new(times.len());
                for (t, v) in times.iter().zip(&vals) {
                    enc.row(ids[i], *t, *v);
                }
                let mut copy = conn.copy_in_raw(COPY_SQL).await?;
                copy.send(enc.finish()).await?;
                copy.finish().await?;
            }
            conn.close().await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await.context("COPY task panicked")??;
    }

    // The downsampler recomputes dirty minutes from raw points, as after late points.
    let minutes: Vec<i64> = {
        let mut m: Vec<i64> = times.iter().map(|t| t - t.rem_euclid(MINUTE_MS)).collect();
        m.dedup();
        m
    };
    {
        let mut conn = pool.acquire().await?;
        vigil::store::rollups::mark_dirty_minutes(&mut conn, &minutes, 0).await?;
    }
    let to = DateTime::<Utc>::from_timestamp_millis(last).unwrap_or_default();
    eprintln!(
        "promql-data: {} series, {} .. {} loaded; {} minutes marked for the rollups",
        ids.len(),
        DateTime::<Utc>::from_timestamp_millis(first).unwrap_or_default(),
        to,
        minutes.len()
    );
    pool.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_reproducible_and_in_shape() {
        let a = values(42, 3, 10, 500);
        assert_eq!(a, values(42, 3, 10, 500));
        assert!(a.iter().all(|v| (0.0..=100.0).contains(v)));
        assert!(a.iter().all(|v| (v * 100.0).round() / 100.0 == *v));
        let c = values(42, 13, 10, 500);
        assert!(c.windows(2).all(|w| w[1] >= w[0] && w[1] - w[0] < 200.0));
        assert_ne!(values(42, 4, 10, 500), a);
    }

    #[test]
    fn labels_print_as_a_selector() {
        let defs = series_defs(10);
        assert_eq!(
            label_text(&defs[17]),
            r#"http_requests_total{instance="host-0007",region="us-west",service="svc-7"}"#
        );
    }
}
