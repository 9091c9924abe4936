//! The Prometheus query API and the PromQL engine, answer by answer against a real
//! Prometheus 2.42 (Debian's package, installed by scripts/promql-deps.sh): the same
//! generated data goes to both as the same remote_write bodies (NaN values included,
//! which Vigil's JSON ingest could not carry), then every expression of
//! tests/promql/corpus.txt runs as
//! instant queries at several times and as range queries at several steps on both.
//! Results must agree (label sets, timestamps, values within 1e-9 relative, NaN equal
//! to NaN), or Vigil must refuse the construct as unsupported. The comparison report
//! is written to docs/promql-compat.md.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::helpers::*;

// --- remote_write 1.0 messages, for feeding both servers ---------------------------

#[derive(Clone, PartialEq, prost::Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

// --- generated data ---------------------------------------------------------------

const SCRAPE_MS: i64 = 15_000;
const MINUTE_MS: i64 = 60_000;
/// The data covers an hour.
const SPAN_MS: i64 = 60 * MINUTE_MS;

struct GenSeries {
    name: &'static str,
    labels: Vec<(&'static str, String)>,
    samples: Vec<(i64, f64)>,
}

/// Deterministic xorshift, so every run writes the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Rounds to 3 decimals so values survive any text round trip exactly.
fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

const INSTANCES: [&str; 3] = ["host-a:9100", "host-b:9100", "host-c:9100"];

/// Gauges with decimals, counters with resets, a histogram with `le` buckets, series
/// that stop (host-c after 40 minutes) and start again (cmp_gap), NaN values (one
/// cmp_gauge series now and then: a real NaN, not the stale marker), node-exporter-like
/// metrics for the dashboard expressions.
fn generate(t0: i64) -> Vec<GenSeries> {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut out: Vec<GenSeries> = Vec::new();
    let steps = SPAN_MS / SCRAPE_MS;
    let times = |stop_at: Option<i64>| -> Vec<(usize, i64)> {
        (0..=steps)
            .map(|i| (i as usize, t0 + i * SCRAPE_MS))
            .filter(|(_, t)| stop_at.is_none_or(|s| *t < s))
            .collect()
    };
    for (n, inst) in INSTANCES.iter().enumerate() {
        let inst = inst.to_string();
        let stop = (n == 2).then_some(t0 + 40 * MINUTE_MS);
        let ts = times(stop);
        let node = |name: &'static str, extra: &[(&'static str, &str)]| {
            let mut labels = vec![("instance", inst.clone()), ("job", "node".to_string())];
            labels.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            GenSeries {
                name,
                labels,
                samples: Vec::new(),
            }
        };
        let mut up = node("up", &[]);
        up.samples = ts.iter().map(|&(_, t)| (t, 1.0)).collect();
        out.push(up);
        for (name, base) in [("node_load1", 0.8), ("node_load5", 0.6)] {
            let mut s = node(name, &[]);
            s.samples = ts
                .iter()
                .map(|&(i, t)| {
                    (
                        t,
                        r3(base
                            + n as f64 * 0.3
                            + 0.5 * ((i as f64) / 9.0).sin()
                            + 0.2 * rng.next()),
                    )
                })
                .collect();
            out.push(s);
        }
        for cpu in ["0", "1"] {
            for (mode, speed) in [
                ("idle", 12.0),
                ("user", 2.0),
                ("system", 0.8),
                ("iowait", 0.1),
            ] {
                let mut s = node("node_cpu_seconds_total", &[("cpu", cpu), ("mode", mode)]);
                let mut v = 1000.0 * (n as f64 + 1.0);
                s.samples = ts
                    .iter()
                    .map(|&(i, t)| {
                        // host-b restarts half way: its counters start again near zero.
                        if n == 1 && i == (steps / 2) as usize {
                            v = 0.0;
                        }
                        v += r3(speed * (0.5 + rng.next()));
                        (t, r3(v))
                    })
                    .collect();
                out.push(s);
            }
        }
        let total = 8e9 + n as f64 * 4e9;
        let mut mem_total = node("node_memory_MemTotal_bytes", &[]);
        mem_total.samples = ts.iter().map(|&(_, t)| (t, total)).collect();
        out.push(mem_total);
        for (name, share) in [
            ("node_memory_MemAvailable_bytes", 0.5),
            ("node_memory_Buffers_bytes", 0.05),
            ("node_memory_Cached_bytes", 0.2),
        ] {
            let mut s = node(name, &[]);
            s.samples = ts
                .iter()
                .map(|&(_, t)| (t, (total * share * (0.9 + 0.2 * rng.next())).round()))
                .collect();
            out.push(s);
        }
        for (mount, device, size) in [("/", "/dev/sda1", 1e11), ("/boot", "/dev/sda2", 1e9)] {
            let mut sz = node(
                "node_filesystem_size_bytes",
                &[
                    ("mountpoint", mount),
                    ("device", device),
                    ("fstype", "ext4"),
                ],
            );
            sz.samples = ts.iter().map(|&(_, t)| (t, size)).collect();
            out.push(sz);
            let mut av = node(
                "node_filesystem_avail_bytes",
                &[
                    ("mountpoint", mount),
                    ("device", device),
                    ("fstype", "ext4"),
                ],
            );
            av.samples = ts
                .iter()
                .map(|&(i, t)| {
                    (
                        t,
                        (size * 0.6 - i as f64 * size * 1e-4 + size * 1e-5 * rng.next()).round(),
                    )
                })
                .collect();
            out.push(av);
        }
        for dev in ["eth0", "lo"] {
            for name in [
                "node_network_receive_bytes_total",
                "node_network_transmit_bytes_total",
            ] {
                let mut s = node(name, &[("device", dev)]);
                let mut v = 5e6;
                s.samples = ts
                    .iter()
                    .map(|&(_, t)| {
                        v += (rng.next() * 2e5).round();
                        (t, v)
                    })
                    .collect();
                out.push(s);
            }
        }
        let boot = (t0 / 1000 - 86_400 * (n as i64 + 1)) as f64;
        let mut b = node("node_boot_time_seconds", &[]);
        b.samples = ts.iter().map(|&(_, t)| (t, boot)).collect();
        out.push(b);
        let mut nt = node("node_time_seconds", &[]);
        nt.samples = ts.iter().map(|&(_, t)| (t, t as f64 / 1000.0)).collect();
        out.push(nt);
        let release = if n == 2 {
            "6.1.0-18-amd64"
        } else {
            "6.1.0-17-amd64"
        };
        let nodename = format!("node-{n}");
        let mut uname = node(
            "node_uname_info",
            &[("nodename", &nodename), ("release", release)],
        );
        uname.samples = ts.iter().map(|&(_, t)| (t, 1.0)).collect();
        out.push(uname);
        for sensor in ["temp1", "temp2"] {
            let mut s = node(
                "node_hwmon_temp_celsius",
                &[("chip", "platform_coretemp_0"), ("sensor", sensor)],
            );
            s.samples = ts
                .iter()
                .map(|&(_, t)| (t, r3(40.0 + 15.0 * rng.next())))
                .collect();
            out.push(s);
        }
        let mut chip = node(
            "node_hwmon_chip_names",
            &[("chip", "platform_coretemp_0"), ("chip_name", "coretemp")],
        );
        chip.samples = ts.iter().map(|&(_, t)| (t, 1.0)).collect();
        out.push(chip);

        // The comparison's own metrics.
        let cmp = |name: &'static str, extra: &[(&'static str, &str)]| {
            let mut labels = vec![("instance", inst.clone()), ("job", "cmp".to_string())];
            labels.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            GenSeries {
                name,
                labels,
                samples: Vec::new(),
            }
        };
        for (k, kind) in ["a", "b"].iter().enumerate() {
            let mut g = cmp("cmp_gauge", &[("kind", kind)]);
            let phase = n as f64 + k as f64 * 1.7;
            // host-b's "b" gauge reports NaN every 17th scrape (a 0/0 in an exporter).
            let nan_every = (n == 1 && k == 1).then_some(17);
            g.samples = ts
                .iter()
                .map(|&(i, t)| {
                    let v = r3(5.0 + 3.5 * (i as f64 / 11.0 + phase).sin() + rng.next());
                    match nan_every {
                        Some(every) if i % every == 5 => (t, f64::NAN),
                        _ => (t, v),
                    }
                })
                .collect();
            out.push(g);
            let mut c = cmp("cmp_counter_total", &[("kind", kind)]);
            let mut v = 0.0;
            c.samples = ts
                .iter()
                .map(|&(i, t)| {
                    // Resets at different points per series.
                    if i > 0 && i % (70 + 13 * (n + k)) == 0 {
                        v = 0.0;
                    }
                    v += r3(0.5 + 3.0 * rng.next());
                    (t, r3(v))
                })
                .collect();
            out.push(c);
        }
        let version = if n == 0 { "v1" } else { "v2" };
        let mut info = cmp("cmp_info", &[("version", version)]);
        info.samples = ts.iter().map(|&(_, t)| (t, 1.0)).collect();
        out.push(info);
        let mut steps_s = cmp("cmp_steps", &[]);
        steps_s.samples = ts.iter().map(|&(i, t)| (t, ((i / 7) % 3) as f64)).collect();
        out.push(steps_s);
        // Present, gone for 15 minutes, back.
        let mut gap = cmp("cmp_gap", &[]);
        gap.samples = ts
            .iter()
            .filter(|(_, t)| *t < t0 + 20 * MINUTE_MS || *t >= t0 + 35 * MINUTE_MS)
            .map(|&(i, t)| (t, r3(i as f64 * 0.25 + rng.next())))
            .collect();
        out.push(gap);
        if n < 2 {
            let handler = if n == 0 { "/api" } else { "/ui" };
            let bounds = ["0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
            let mut counts = [0.0f64; 6];
            let (mut sum, mut count) = (0.0, 0.0);
            let mut bucket_samples: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 6];
            let mut sums = Vec::new();
            let mut countss = Vec::new();
            for &(_, t) in &ts {
                for _ in 0..5 {
                    let obs = rng.next() * rng.next() * 3.0;
                    sum += obs;
                    count += 1.0;
                    for (b, bound) in [0.1, 0.25, 0.5, 1.0, 2.5, f64::INFINITY].iter().enumerate() {
                        if obs <= *bound {
                            counts[b] += 1.0;
                        }
                    }
                }
                for b in 0..6 {
                    bucket_samples[b].push((t, counts[b]));
                }
                sums.push((t, r3(sum)));
                countss.push((t, count));
            }
            for (b, le) in bounds.iter().enumerate() {
                let mut s = cmp(
                    "cmp_latency_seconds_bucket",
                    &[("handler", handler), ("le", le)],
                );
                s.samples = bucket_samples[b].clone();
                out.push(s);
            }
            let mut s = cmp("cmp_latency_seconds_sum", &[("handler", handler)]);
            s.samples = sums;
            out.push(s);
            let mut s = cmp("cmp_latency_seconds_count", &[("handler", handler)]);
            s.samples = countss;
            out.push(s);
        }
    }
    out
}

// --- a throwaway Prometheus ------------------------------------------------------

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_prometheus() -> Prometheus {
    let dir = tempfile::tempdir().expect("a temp dir for Prometheus");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus is installed (scripts/promql-deps.sh)");
    let prom = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = http_client();
    let ready = format!("{}/-/ready", prom.url);
    eventually(Duration::from_secs(30), || {
        let client = client.clone();
        let ready = ready.clone();
        async move {
            match client.get(&ready).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                other => Err(format!(
                    "Prometheus not ready: {:?}",
                    other.map(|r| r.status())
                )),
            }
        }
    })
    .await;
    prom
}

fn labels_of(s: &GenSeries) -> Vec<Label> {
    let mut labels: Vec<Label> = s
        .labels
        .iter()
        .map(|(k, v)| Label {
            name: k.to_string(),
            value: v.clone(),
        })
        .collect();
    labels.push(Label {
        name: "__name__".into(),
        value: s.name.into(),
    });
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels
}

/// The data as remote_write bodies in time slices, every series per slice, because
/// Prometheus' head refuses samples older than an hour behind its newest.
fn remote_write_bodies(data: &[GenSeries], t0: i64) -> Vec<Vec<u8>> {
    use prost::Message;
    let slice = 10 * MINUTE_MS;
    let mut bodies = Vec::new();
    let mut from = t0;
    while from <= t0 + SPAN_MS {
        let to = from + slice;
        let request = WriteRequest {
            timeseries: data
                .iter()
                .map(|s| TimeSeries {
                    labels: labels_of(s),
                    samples: s
                        .samples
                        .iter()
                        .filter(|(t, _)| *t >= from && *t < to)
                        .map(|&(timestamp, value)| Sample { value, timestamp })
                        .collect(),
                })
                .filter(|ts| !ts.samples.is_empty())
                .collect(),
        };
        bodies.push(
            snap::raw::Encoder::new()
                .compress_vec(&request.encode_to_vec())
                .unwrap(),
        );
        from = to;
    }
    bodies
}

const REMOTE_WRITE_HEADERS: &[(&str, &str)] = &[
    ("Content-Encoding", "snappy"),
    ("Content-Type", "application/x-protobuf"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

async fn write_prometheus(prom: &Prometheus, bodies: &[Vec<u8>]) {
    let client = http_client();
    for body in bodies {
        let mut request = client.post(format!("{}/api/v1/write", prom.url));
        for header in REMOTE_WRITE_HEADERS {
            request = request.insert_header(*header);
        }
        let response = request
            .send_body(body.clone())
            .await
            .expect("Prometheus answers remote_write");
        assert!(
            response.status().is_success(),
            "Prometheus refused remote_write: {}",
            response.status()
        );
    }
}

/// Sends Vigil the very bodies Prometheus got; returns the samples they hold.
async fn write_vigil(app: &TestApp, data: &[GenSeries], bodies: &[Vec<u8>]) -> i64 {
    for body in bodies {
        app.post_raw("/api/v1/write", body.clone(), REMOTE_WRITE_HEADERS)
            .await
            .assert_status(204, "remote_write of the comparison data");
    }
    let total: i64 = data.iter().map(|s| s.samples.len() as i64).sum();
    eventually(Duration::from_secs(60), || async {
        let stored = app.total_points().await;
        if stored == total {
            Ok(())
        } else {
            Err(format!("expected {total} stored points, saw {stored}"))
        }
    })
    .await;
    total
}

// --- querying and comparing -------------------------------------------------------

#[derive(Debug, Clone)]
enum Mode {
    Instant(i64),
    Range(i64, i64, f64),
}

impl Mode {
    fn describe(&self, t0: i64) -> String {
        let rel = |t: i64| format!("t0+{}s", (t - t0) / 1000);
        match self {
            Mode::Instant(t) => format!("instant at {}", rel(*t)),
            Mode::Range(s, e, step) => format!("range {}..{} step {step}s", rel(*s), rel(*e)),
        }
    }

    fn path_and_query(&self, expr: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("query", expr);
        match self {
            Mode::Instant(t) => {
                q.append_pair("time", &secs(*t));
                format!("/api/v1/query?{}", q.finish())
            }
            Mode::Range(s, e, step) => {
                q.append_pair("start", &secs(*s));
                q.append_pair("end", &secs(*e));
                q.append_pair("step", &step.to_string());
                format!("/api/v1/query_range?{}", q.finish())
            }
        }
    }
}

fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

async fn get_json(client: &awc::Client, url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let mut response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.body().limit(64 << 20).await.unwrap_or_default();
    (
        response.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn value_of(v: &Value) -> f64 {
    match v.as_str().unwrap_or("") {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().unwrap_or(f64::NAN),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan())
        || a == b
        // 1e-9 relative; the absolute floor only forgives rounding noise around zero.
        || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-3)
}

type Point = (f64, f64);
/// The result type, and each rendered label set with its points.
type Normalised = (String, Vec<(String, Vec<Point>)>);

/// A result as comparable data: per label set (rendered), its points.
fn normalise(data: &Value) -> Result<Normalised, String> {
    let kind = data["resultType"].as_str().unwrap_or("").to_string();
    let point = |p: &Value| -> Point { (p[0].as_f64().unwrap_or(f64::NAN), value_of(&p[1])) };
    let mut out: Vec<(String, Vec<Point>)> = Vec::new();
    match kind.as_str() {
        "scalar" | "string" => out.push(("".into(), vec![point(&data["result"])])),
        "vector" => {
            for item in data["result"]
                .as_array()
                .ok_or("vector result is not an array")?
            {
                out.push((item["metric"].to_string(), vec![point(&item["value"])]));
            }
        }
        "matrix" => {
            for item in data["result"]
                .as_array()
                .ok_or("matrix result is not an array")?
            {
                let points = item["values"]
                    .as_array()
                    .ok_or("matrix series without values")?
                    .iter()
                    .map(point)
                    .collect();
                out.push((item["metric"].to_string(), points));
            }
        }
        other => return Err(format!("unknown resultType {other:?}")),
    }
    Ok((kind, out))
}

/// Metric objects re-rendered with sorted keys so both sides print alike.
fn canonical(mut rows: Vec<(String, Vec<Point>)>) -> Vec<(String, Vec<Point>)> {
    for row in rows.iter_mut() {
        if let Ok(v) = serde_json::from_str::<BTreeMap<String, String>>(&row.0) {
            row.0 = serde_json::to_string(&v).unwrap();
        }
    }
    rows
}

enum Verdict {
    Passed,
    /// Both refused the query with the same error type and status.
    BothRefused(String),
    Unsupported(String),
    Differs(String),
}

fn compare(expr: &str, vigil: &(u16, Value), prom: &(u16, Value)) -> Verdict {
    let (vs, vb) = vigil;
    let (ps, pb) = prom;
    let v_ok = vb["status"] == "success";
    let p_ok = pb["status"] == "success";
    match (v_ok, p_ok) {
        (false, true) => {
            let err = vb["error"].as_str().unwrap_or("").to_string();
            if *vs == 400 && vb["errorType"] == "bad_data" && err.contains("not supported") {
                Verdict::Unsupported(err)
            } else {
                Verdict::Differs(format!("Vigil failed ({vs} {err}); Prometheus answered"))
            }
        }
        (true, false) => Verdict::Differs(format!(
            "Vigil answered; Prometheus failed ({ps} {})",
            pb["error"]
        )),
        (false, false) => {
            if vb["errorType"] == pb["errorType"] && vs == ps {
                Verdict::BothRefused(format!("{} {}", pb["errorType"], pb["error"]))
            } else {
                Verdict::Differs(format!(
                    "both failed, differently: Vigil {vs} {} {}; Prometheus {ps} {} {}",
                    vb["errorType"], vb["error"], pb["errorType"], pb["error"]
                ))
            }
        }
        (true, true) => {
            let (vk, vrows) = match normalise(&vb["data"]) {
                Ok(x) => x,
                Err(e) => return Verdict::Differs(format!("Vigil's answer: {e}")),
            };
            let (pk, prows) = match normalise(&pb["data"]) {
                Ok(x) => x,
                Err(e) => return Verdict::Differs(format!("Prometheus' answer: {e}")),
            };
            if vk != pk {
                return Verdict::Differs(format!("resultType {vk} vs {pk}"));
            }
            let (mut vrows, mut prows) = (canonical(vrows), canonical(prows));
            let ordered = expr.starts_with("sort");
            if ordered && vk == "vector" {
                let vv: Vec<f64> = vrows.iter().map(|r| r.1[0].1).collect();
                let pv: Vec<f64> = prows.iter().map(|r| r.1[0].1).collect();
                if vv.len() != pv.len() || vv.iter().zip(&pv).any(|(a, b)| !close(*a, *b)) {
                    return Verdict::Differs(format!("sorted values {vv:?} vs {pv:?}"));
                }
            }
            vrows.sort_by(|a, b| a.0.cmp(&b.0));
            prows.sort_by(|a, b| a.0.cmp(&b.0));
            let vl: Vec<&String> = vrows.iter().map(|r| &r.0).collect();
            let pl: Vec<&String> = prows.iter().map(|r| &r.0).collect();
            if vl != pl {
                let only_v: Vec<_> = vl.iter().filter(|l| !pl.contains(l)).take(3).collect();
                let only_p: Vec<_> = pl.iter().filter(|l| !vl.contains(l)).take(3).collect();
                return Verdict::Differs(format!(
                    "label sets differ ({} vs {}): only Vigil {only_v:?}, only Prometheus {only_p:?}",
                    vl.len(),
                    pl.len()
                ));
            }
            for (v, p) in vrows.iter().zip(&prows) {
                if v.1.len() != p.1.len() {
                    let vt: Vec<f64> = v.1.iter().map(|x| x.0).collect();
                    let pt: Vec<f64> = p.1.iter().map(|x| x.0).collect();
                    return Verdict::Differs(format!(
                        "{}: {} vs {} points (times {vt:?} vs {pt:?})",
                        v.0,
                        v.1.len(),
                        p.1.len()
                    ));
                }
                for (a, b) in v.1.iter().zip(&p.1) {
                    if a.0 != b.0 {
                        return Verdict::Differs(format!("{}: timestamp {} vs {}", v.0, a.0, b.0));
                    }
                    if !close(a.1, b.1) {
                        return Verdict::Differs(format!(
                            "{} at {}: value {} vs {}",
                            v.0, a.0, a.1, b.1
                        ));
                    }
                }
            }
            Verdict::Passed
        }
    }
}

fn corpus(at_secs: i64) -> Vec<String> {
    include_str!("../promql/corpus.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("${AT}", &at_secs.to_string()))
        .collect()
}

#[actix_web::test]
async fn promql_answers_match_a_real_prometheus() {
    let started = std::time::Instant::now();
    let app = spawn_app().await;
    let prom = start_prometheus().await;
    // An hour of data ending 20 minutes ago, minute-aligned, inside ingest.max_age.
    let now = chrono::Utc::now().timestamp_millis();
    let t0 = (now - SPAN_MS - 20 * MINUTE_MS) / MINUTE_MS * MINUTE_MS;
    let data = generate(t0);
    let bodies = remote_write_bodies(&data, t0);
    write_prometheus(&prom, &bodies).await;
    let points = write_vigil(&app, &data, &bodies).await;

    let at = t0 + 30 * MINUTE_MS;
    let exprs = corpus(at / 1000);
    assert!(
        exprs.len() >= 150,
        "the corpus holds {} expressions",
        exprs.len()
    );
    let m = MINUTE_MS;
    let modes = vec![
        Mode::Instant(t0 + 20 * m),
        Mode::Instant(t0 + 26 * m + 3_250),
        Mode::Instant(t0 + 40 * m),
        Mode::Instant(t0 + 52 * m + 7_500),
        Mode::Instant(t0 + 60 * m),
        Mode::Instant(t0 + 64 * m),
        Mode::Range(t0 + 10 * m, t0 + 62 * m, 60.0),
        Mode::Range(t0 + 5 * m, t0 + 65 * m, 137.5),
        Mode::Range(t0 + 20 * m, t0 + 50 * m, 15.0),
    ];
    let jobs: Vec<(usize, String, Mode)> = exprs
        .iter()
        .enumerate()
        .flat_map(|(i, e)| modes.iter().map(move |m| (i, e.clone(), m.clone())))
        .collect();
    let client = http_client();
    let vigil_base = format!("{}/prometheus", app.address);
    let token = app.admin_token.clone();
    let results: Vec<(usize, String, Mode, Verdict)> = stream::iter(jobs)
        .map(|(i, expr, mode)| {
            let client = client.clone();
            let vigil_url = format!("{vigil_base}{}", mode.path_and_query(&expr));
            let prom_url = format!("{}{}", prom.url, mode.path_and_query(&expr));
            let token = token.clone();
            async move {
                let v = get_json(&client, &vigil_url, Some(&token)).await;
                let p = get_json(&client, &prom_url, None).await;
                let verdict = compare(&expr, &v, &p);
                (i, expr, mode, verdict)
            }
        })
        .buffer_unordered(6)
        .collect()
        .await;

    // Per expression: passed in every mode, unsupported (with the reason) or differing.
    let mut per_expr: BTreeMap<usize, (String, Vec<String>, Option<String>)> = BTreeMap::new();
    let (mut passed, mut refused, mut unsupported, mut differing) = (0, 0, 0, 0);
    let mut refusals: BTreeMap<usize, String> = BTreeMap::new();
    for (i, expr, mode, verdict) in results {
        let entry = per_expr
            .entry(i)
            .or_insert_with(|| (expr, Vec::new(), None));
        match verdict {
            Verdict::Passed => passed += 1,
            Verdict::BothRefused(why) => {
                refused += 1;
                refusals.insert(i, format!("{}: both refuse: {why}", mode.describe(t0)));
            }
            Verdict::Unsupported(why) => {
                unsupported += 1;
                entry.2 = Some(why);
            }
            Verdict::Differs(why) => {
                differing += 1;
                entry.1.push(format!("{}: {why}", mode.describe(t0)));
            }
        }
    }
    let mut report = String::new();
    report.push_str("# PromQL compatibility: Vigil against Prometheus 2.42\n\n");
    report.push_str(
        "Written by `tests/api/promql.rs` (`cargo test --release --test api promql::`): the \
         same generated data (gauges with decimals, counters with resets, a classic histogram, \
         series that stop and start, NaN values, node-exporter-like metrics) is written to \
         Vigil and to a real Prometheus 2.42 as the same remote_write bodies; every expression of `tests/promql/corpus.txt` runs as an \
         instant query at 6 times and as a range query at 3 steps on both. A result passes when \
         the label sets and timestamps are equal and the values are within 1e-9 relative \
         (NaN equals NaN), or when both refuse it with the same error type and status.\n\n",
    );
    report.push_str(&format!(
        "Expressions: {}; queries per server: {}; data points: {points}.\n\n",
        exprs.len(),
        passed + refused + unsupported + differing
    ));
    report.push_str(&format!(
        "| outcome | queries |\n| --- | --- |\n| passed (equal answers) | {passed} |\n| passed (both refuse, same error type and status) | {refused} |\n| unsupported (400 bad_data naming the construct) | {unsupported} |\n| differing | {differing} |\n\n"
    ));
    report.push_str("## Per expression\n\n| # | expression | result |\n| --- | --- | --- |\n");
    for (i, (expr, diffs, unsup)) in &per_expr {
        let result = if let Some(why) = unsup {
            format!("unsupported: {why}")
        } else if let (true, Some(why)) = (diffs.is_empty(), refusals.get(i)) {
            format!("passed ({why})")
        } else if diffs.is_empty() {
            "passed".to_string()
        } else {
            format!("DIFFERS: {}", diffs.join("; "))
        };
        report.push_str(&format!(
            "| {} | `{}` | {} |\n",
            i + 1,
            expr.replace('|', "\\|"),
            result.replace('|', "\\|")
        ));
    }
    report.push_str(&format!(
        "\nRun time of the comparison: {:.0} s.\n",
        started.elapsed().as_secs_f64()
    ));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/promql-compat.md");
    std::fs::write(path, &report).expect("write docs/promql-compat.md");
    let differences: Vec<String> = per_expr
        .values()
        .filter(|(_, d, _)| !d.is_empty())
        .map(|(e, d, _)| format!("{e}: {}", d.join("; ")))
        .collect();
    // Refusals pass only where both refuse; most of the corpus must be real answers.
    assert!(
        refused * 10 < passed,
        "{refused} queries refused by both, {passed} answered: the comparison compares too little"
    );
    assert!(
        differences.is_empty(),
        "{differing} queries differ from Prometheus:\n{}",
        differences.join("\n")
    );
    drop(prom);
    app.cleanup().await;
}

// --- the API's own contract, Vigil alone ------------------------------------------

async fn prom_get(app: &TestApp, path_and_query: &str) -> (u16, Value) {
    let url = format!("{}/prometheus{path_and_query}", app.address);
    get_json(&app.client, &url, Some(&app.admin_token)).await
}

#[actix_web::test]
async fn prometheus_api_speaks_prometheus() {
    let app = spawn_app_with(|s| s.query.max_samples = 50).await;
    let t = (chrono::Utc::now().timestamp_millis() - 10 * MINUTE_MS) / 1000 * 1000;
    let body: Vec<Value> = (0..30)
        .flat_map(|i| {
            ["x", "y"].map(|host| {
                json!({"name": "api_temp", "value": 20.5 + i as f64, "tags": {"host": host}, "timestamp": t + i * 10_000})
            })
        })
        .collect();
    app.post_metrics(&Value::Array(body))
        .await
        .assert_status(202, "ingest");
    app.wait_for_points("api_temp", 60).await;

    // Grafana's "Save & test": 1+1 as an instant query, then buildinfo.
    let (status, one) = prom_get(&app, "/api/v1/query?query=1%2B1&time=4").await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        one,
        json!({"status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}})
    );
    let (status, info) = prom_get(&app, "/api/v1/status/buildinfo").await;
    assert_eq!(status, 200);
    assert!(
        info["data"]["version"].as_str().unwrap().starts_with("2."),
        "{info}"
    );
    assert!(
        info["data"].get("features").is_none(),
        "no features key: {info}"
    );

    // The reader needs a token, like /api/v1/query.
    let anonymous = get_json(
        &app.client,
        &app.url("/prometheus/api/v1/query?query=1"),
        None,
    )
    .await;
    assert_eq!(anonymous.0, 401, "{}", anonymous.1);

    // POST with a form body; RFC 3339 time.
    let at = chrono::DateTime::from_timestamp_millis(t + 290_000)
        .unwrap()
        .to_rfc3339();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("query", "api_temp{host=\"x\"}")
        .append_pair("time", &at)
        .finish();
    let mut posted = app
        .client
        .post(app.url("/prometheus/api/v1/query"))
        .insert_header(("Authorization", format!("Bearer {}", app.admin_token)))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .send_body(form)
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 200);
    let posted: Value = serde_json::from_slice(&posted.body().await.unwrap()).unwrap();
    assert_eq!(posted["data"]["resultType"], "vector", "{posted}");
    assert_eq!(posted["data"]["result"][0]["value"][1], "49.5", "{posted}");
    assert_eq!(
        posted["data"]["result"][0]["metric"]["__name__"],
        "api_temp"
    );

    // Errors in Prometheus' envelope and statuses.
    let (status, bad) = prom_get(&app, "/api/v1/query?query=sum(").await;
    assert_eq!(
        (status, bad["errorType"].as_str()),
        (400, Some("bad_data")),
        "{bad}"
    );
    let (status, unsup) = prom_get(
        &app,
        "/api/v1/query?query=holt_winters(api_temp%5B5m%5D%2C0.5%2C0.5)",
    )
    .await;
    assert_eq!(status, 400, "{unsup}");
    assert!(
        unsup["error"].as_str().unwrap().contains("holt_winters"),
        "{unsup}"
    );
    let (status, wide) = prom_get(
        &app,
        "/api/v1/query_range?query=1&start=0&end=100000&step=1",
    )
    .await;
    assert_eq!(status, 400, "{wide}");
    assert!(wide["error"].as_str().unwrap().contains("11000"), "{wide}");
    // 60 samples stored, query.max_samples = 50: refused, not truncated.
    let (status, many) = prom_get(
        &app,
        &format!(
            "/api/v1/query?query=count_over_time(api_temp%5B10m%5D)&time={}",
            t / 1000 + 300
        ),
    )
    .await;
    assert_eq!(
        (status, many["errorType"].as_str()),
        (422, Some("execution")),
        "{many}"
    );

    // Series, labels and label values from the series table.
    let (_, series) = prom_get(
        &app,
        "/api/v1/series?match%5B%5D=api_temp%7Bhost%3D%22y%22%7D",
    )
    .await;
    assert_eq!(
        series["data"],
        json!([{"__name__": "api_temp", "host": "y"}]),
        "{series}"
    );
    let (_, labels) = prom_get(&app, "/api/v1/labels").await;
    assert_eq!(labels["data"], json!(["__name__", "host"]), "{labels}");
    let (_, values) = prom_get(&app, "/api/v1/label/host/values").await;
    assert_eq!(values["data"], json!(["x", "y"]), "{values}");
    let (_, names) = prom_get(&app, "/api/v1/label/__name__/values").await;
    assert_eq!(names["data"], json!(["api_temp"]), "{names}");
    let (_, meta) = prom_get(&app, "/api/v1/metadata").await;
    assert!(meta["data"]["api_temp"].is_array(), "{meta}");
    let (_, rules) = prom_get(&app, "/api/v1/rules").await;
    assert_eq!(rules, json!({"status": "success", "data": {"groups": []}}));
    let (_, alerts) = prom_get(&app, "/api/v1/alerts").await;
    assert_eq!(alerts, json!({"status": "success", "data": {"alerts": []}}));
    let (_, ex) = prom_get(&app, "/api/v1/query_exemplars?query=api_temp").await;
    assert_eq!(ex, json!({"status": "success", "data": []}));
    app.cleanup().await;
}
