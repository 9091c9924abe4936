//! The simulated fleet: which series exist, their label sets, the values they report,
//! and cheap encoders for the two wire shapes the bench writes (the ingest JSON body
//! and PostgreSQL's binary COPY rows).
//!
//! Everything is derived from the series index, so two runs (or the ingest run and the
//! query run) agree on names and labels without sharing state: series `i` belongs to
//! metric `i % metrics` and is the `j = i / metrics`-th series of that metric; its
//! `host` tag is `host-{j:05}`, unique within the metric, so a `{"host": ...}` filter
//! selects exactly one series.

use std::io::Write;
use std::time::Duration;

/// Metric names used for the first ten metrics (`<prefix>.<name>`); further metrics
/// are called `<prefix>.m<index>`.
const METRIC_NAMES: [&str; 10] = [
    "cpu", "mem", "disk", "net_in", "net_out", "load", "io_wait", "requests", "errors", "latency",
];

/// Tag keys, in the order they are given to a series (`--tags-per-series` takes a prefix).
pub const TAG_KEYS: [&str; 8] = [
    "host", "region", "service", "env", "rack", "zone", "team", "version",
];

const REGIONS: [&str; 4] = ["us-east", "us-west", "eu-west", "ap-south"];
const ENVS: [&str; 2] = ["prod", "staging"];
const TEAMS: [&str; 5] = ["core", "storage", "edge", "billing", "search"];

/// The shape of the simulated fleet.
#[derive(Clone, Debug)]
pub struct Fleet {
    /// Metric name prefix (`bench` -> `bench.cpu`).
    pub prefix: String,
    /// Total number of series.
    pub series: usize,
    /// Number of metric names the series are spread over.
    pub metrics: usize,
    /// Tags per series (1..=8).
    pub tags_per_series: usize,
}

impl Fleet {
    pub fn metric_name(&self, m: usize) -> String {
        match METRIC_NAMES.get(m) {
            Some(name) => format!("{}.{}", self.prefix, name),
            None => format!("{}.m{}", self.prefix, m),
        }
    }

    /// Series per metric (the first metrics get one more when it does not divide).
    pub fn series_per_metric(&self) -> usize {
        self.series.div_ceil(self.metrics)
    }

    /// The metric index and label set of series `i`, keys in `TAG_KEYS` order.
    pub fn labels(&self, i: usize) -> (usize, Vec<(&'static str, String)>) {
        let m = i % self.metrics;
        let j = i / self.metrics;
        let n = self.tags_per_series.clamp(1, TAG_KEYS.len());
        let labels = TAG_KEYS[..n]
            .iter()
            .map(|&k| {
                let v = match k {
                    "host" => host_value(j),
                    "region" => REGIONS[j % REGIONS.len()].to_string(),
                    "service" => format!("svc-{:02}", j % 20),
                    "env" => ENVS[j % ENVS.len()].to_string(),
                    "rack" => format!("rack-{:03}", j / 40),
                    "zone" => format!("zone-{}", (j / 7) % 6),
                    "team" => TEAMS[j % TEAMS.len()].to_string(),
                    _ => format!("1.{}.{}", j % 3, j % 11),
                };
                (k, v)
            })
            .collect();
        (m, labels)
    }

    /// Canonical `name{k="v",...}` key with sorted label keys, the way the server keys
    /// series. Only the bench's own COPY baseline uses it.
    pub fn series_key(&self, metric: &str, labels: &[(&'static str, String)]) -> String {
        let mut sorted: Vec<_> = labels.iter().collect();
        sorted.sort_by_key(|(k, _)| *k);
        let mut key = String::with_capacity(96);
        key.push_str(metric);
        key.push('{');
        for (n, (k, v)) in sorted.iter().enumerate() {
            if n > 0 {
                key.push(',');
            }
            key.push_str(k);
            key.push_str("=\"");
            key.push_str(v);
            key.push('"');
        }
        key.push('}');
        key
    }

    /// Labels as a JSON object (for `series.labels`).
    pub fn labels_json(labels: &[(&'static str, String)]) -> String {
        let map: serde_json::Map<String, serde_json::Value> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(map).to_string()
    }
}

/// The `host` tag of the `j`-th series of a metric.
pub fn host_value(j: usize) -> String {
    format!("host-{j:05}")
}

/// The value series `i` reports at `ts_ms`: a hash in [0, 100) with two decimals, so
/// runs are reproducible and values are cheap to print exactly.
pub fn value_centis(i: usize, ts_ms: i64) -> u64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (ts_ms as u64);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    x % 10_000
}

/// Walks the points of a run in agent order: every series reports at `t0`, then every
/// series at `t0 + interval`, ... so a batch holds consecutive series at one timestamp,
/// as a fleet of agents reporting on the same interval would produce.
#[derive(Clone, Debug)]
pub struct PointCursor {
    pub series: usize,
    pub t0_ms: i64,
    pub interval_ms: i64,
    /// Number of timestamps, or `None` to walk forward without end.
    pub steps: Option<u64>,
    step: u64,
    i: usize,
}

impl PointCursor {
    pub fn new(series: usize, t0_ms: i64, interval: Duration, steps: Option<u64>) -> Self {
        Self {
            series,
            t0_ms,
            interval_ms: interval.as_millis() as i64,
            steps,
            step: 0,
            i: 0,
        }
    }

    /// Total points the cursor yields, if bounded.
    pub fn total(&self) -> Option<u64> {
        self.steps.map(|s| s * self.series as u64)
    }

    /// The next `(series index, timestamp ms)`.
    #[inline]
    pub fn next_point(&mut self) -> Option<(usize, i64)> {
        if let Some(steps) = self.steps {
            if self.step >= steps {
                return None;
            }
        }
        let out = (self.i, self.t0_ms + self.step as i64 * self.interval_ms);
        self.i += 1;
        if self.i == self.series {
            self.i = 0;
            self.step += 1;
        }
        Some(out)
    }
}

/// Writes ingest request bodies. Each series' constant part (`{"name":...,"tags":{...},`)
/// is rendered once, so a point costs one memcpy and two integer formats.
pub struct JsonBodyWriter {
    prefixes: Vec<Vec<u8>>,
}

impl JsonBodyWriter {
    pub fn new(fleet: &Fleet) -> Self {
        let prefixes = (0..fleet.series)
            .map(|i| {
                let (m, labels) = fleet.labels(i);
                let mut p = Vec::with_capacity(128);
                p.extend_from_slice(b"{\"name\":");
                p.extend_from_slice(
                    serde_json::to_string(&fleet.metric_name(m))
                        .unwrap()
                        .as_bytes(),
                );
                p.extend_from_slice(b",\"tags\":");
                p.extend_from_slice(Fleet::labels_json(&labels).as_bytes());
                p.extend_from_slice(b",\"timestamp\":");
                p
            })
            .collect();
        Self { prefixes }
    }

    /// Appends up to `max` points from `cursor` as a JSON array; returns how many.
    pub fn write_batch(&self, cursor: &mut PointCursor, max: usize, out: &mut Vec<u8>) -> usize {
        out.push(b'[');
        let mut n = 0;
        while n < max {
            let Some((i, ts)) = cursor.next_point() else {
                break;
            };
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&self.prefixes[i]);
            write_u64(out, ts as u64);
            out.extend_from_slice(b",\"value\":");
            let c = value_centis(i, ts);
            write_u64(out, c / 100);
            out.push(b'.');
            out.push(b'0' + (c % 100 / 10) as u8);
            out.push(b'0' + (c % 10) as u8);
            out.push(b'}');
            n += 1;
        }
        out.push(b']');
        n
    }
}

/// Writes remote_write 1.0 bodies (a protobuf `WriteRequest` in a snappy block) with
/// one `TimeSeries` per point, as Prometheus sends a scrape. The protobuf is written
/// by hand from the wire format, like the JSON, and each series' labels are encoded
/// once.
pub struct RemoteWriteBodyWriter {
    labels: Vec<Vec<u8>>,
}

impl RemoteWriteBodyWriter {
    pub fn new(fleet: &Fleet) -> Self {
        let labels = (0..fleet.series)
            .map(|i| {
                let (m, labels) = fleet.labels(i);
                let name = fleet.metric_name(m);
                let mut out = Vec::with_capacity(128);
                // Sorted by name, as Prometheus sends them.
                let mut pairs: Vec<(&str, &str)> = std::iter::once(("__name__", name.as_str()))
                    .chain(labels.iter().map(|(k, v)| (*k, v.as_str())))
                    .collect();
                pairs.sort_unstable();
                for (k, v) in pairs {
                    // Label { name = 1; value = 2 } as field 1 of TimeSeries.
                    let len = 2 + k.len() + 2 + v.len();
                    out.push(0x0a);
                    write_varint(&mut out, len as u64);
                    out.push(0x0a);
                    write_varint(&mut out, k.len() as u64);
                    out.extend_from_slice(k.as_bytes());
                    out.push(0x12);
                    write_varint(&mut out, v.len() as u64);
                    out.extend_from_slice(v.as_bytes());
                }
                out
            })
            .collect();
        Self { labels }
    }

    /// Appends up to `max` points from `cursor` as an uncompressed `WriteRequest`;
    /// returns how many.
    pub fn write_batch(&self, cursor: &mut PointCursor, max: usize, out: &mut Vec<u8>) -> usize {
        let mut n = 0;
        let mut sample = Vec::with_capacity(24);
        while n < max {
            let Some((i, ts)) = cursor.next_point() else {
                break;
            };
            // Sample { double value = 1; int64 timestamp = 2 } as field 2 of TimeSeries.
            sample.clear();
            sample.push(0x09);
            sample.extend_from_slice(&(value_centis(i, ts) as f64 / 100.0).to_le_bytes());
            sample.push(0x10);
            write_varint(&mut sample, ts as u64);
            let labels = &self.labels[i];
            let series_len = labels.len() + 1 + varint_len(sample.len() as u64) + sample.len();
            out.push(0x0a);
            write_varint(out, series_len as u64);
            out.extend_from_slice(labels);
            out.push(0x12);
            write_varint(out, sample.len() as u64);
            out.extend_from_slice(&sample);
            n += 1;
        }
        n
    }
}

/// Snappy block compression, as remote_write senders use.
pub fn snappy(data: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(data)
        .expect("snappy compresses any input")
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Decimal digits of `v`, without going through `fmt`.
#[inline]
fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[pos..]);
}

/// Gzips `data` at the fastest level (an agent would not spend more CPU than that).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 6),
        flate2::Compression::fast(),
    );
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// Builds one `COPY ... FROM STDIN (FORMAT binary)` payload of
/// `(series_id int8, time timestamptz, value float8)` rows.
pub struct CopyEncoder {
    buf: Vec<u8>,
    rows: usize,
}

impl CopyEncoder {
    pub fn new(capacity_rows: usize) -> Self {
        let mut buf = Vec::with_capacity(19 + capacity_rows * 38 + 2);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        Self { buf, rows: 0 }
    }

    #[inline]
    pub fn row(&mut self, series_id: i64, ts_ms: i64, value: f64) {
        self.buf.extend_from_slice(&3i16.to_be_bytes());
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&series_id.to_be_bytes());
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf
            .extend_from_slice(&(ts_ms * 1000 - PG_EPOCH_OFFSET_US).to_be_bytes());
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&value.to_bits().to_be_bytes());
        self.rows += 1;
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The payload with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Fleet {
        Fleet {
            prefix: "bench".into(),
            series: 20,
            metrics: 10,
            tags_per_series: 3,
        }
    }

    #[test]
    fn json_batches_parse_and_cover_every_point_once() {
        let f = fleet();
        let w = JsonBodyWriter::new(&f);
        let mut cur = PointCursor::new(
            f.series,
            1_700_000_000_000,
            Duration::from_secs(10),
            Some(3),
        );
        let mut seen = 0;
        loop {
            let mut body = Vec::new();
            let n = w.write_batch(&mut cur, 7, &mut body);
            if n == 0 {
                break;
            }
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let arr = v.as_array().unwrap();
            assert_eq!(arr.len(), n);
            assert!(arr[0]["value"].as_f64().unwrap() < 100.0);
            assert!(arr[0]["tags"]["host"]
                .as_str()
                .unwrap()
                .starts_with("host-"));
            seen += n;
        }
        assert_eq!(seen, 60);
    }

    #[test]
    fn hosts_are_unique_within_a_metric() {
        let f = Fleet {
            series: 10_000,
            ..fleet()
        };
        let mut hosts = std::collections::HashSet::new();
        for i in (0..f.series).filter(|i| i % f.metrics == 0) {
            let (_, l) = f.labels(i);
            assert!(hosts.insert(l[0].1.clone()));
        }
        assert_eq!(hosts.len(), 1000);
    }

    #[test]
    fn remote_write_batches_decode_and_cover_every_point_once() {
        use prost::Message as _;
        let fleet = fleet();
        let writer = RemoteWriteBodyWriter::new(&fleet);
        let mut cursor = PointCursor::new(
            fleet.series,
            1_700_000_000_000,
            Duration::from_secs(10),
            Some(3),
        );
        let mut seen = 0;
        loop {
            let mut raw = Vec::new();
            let n = writer.write_batch(&mut cursor, 7, &mut raw);
            if n == 0 {
                break;
            }
            let body = snappy(&raw);
            let decoded = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
            let request =
                vigil::protocol::remote_write::WriteRequest::decode(decoded.as_slice()).unwrap();
            assert_eq!(request.timeseries.len(), n);
            for series in &request.timeseries {
                assert_eq!(&series.labels[0].name[..], b"__name__");
                assert_eq!(series.samples.len(), 1);
                assert!(series.samples[0].timestamp >= 1_700_000_000_000);
            }
            seen += n;
        }
        assert_eq!(seen, fleet.series * 3);
    }

    #[test]
    fn copy_rows_are_38_bytes() {
        let mut e = CopyEncoder::new(2);
        e.row(1, 946_684_800_000, 1.5);
        e.row(2, 946_684_800_001, 2.5);
        let b = e.finish();
        assert_eq!(b.len(), 19 + 2 * 38 + 2);
        // 2000-01-01T00:00:00Z is zero in PostgreSQL's epoch.
        assert_eq!(
            &b[19 + 2 + 4 + 8 + 4..19 + 2 + 4 + 8 + 4 + 8],
            &0i64.to_be_bytes()
        );
    }
}
