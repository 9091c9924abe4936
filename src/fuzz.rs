//! Fuzz targets: every decoder and parser that takes bytes from outside, each with the
//! properties it must keep for any input (no panic, only typed errors, results inside
//! the configured limits). libFuzzer drives them for as long as asked (`fuzz/`,
//! `scripts/fuzz.sh`); the test suite replays the committed corpora and a bounded
//! number of mutations of them (`tests/fuzz.rs`). Pure: no I/O.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::model::alert::{RuleRequest, RuleSpec};
use crate::model::dashboard::{
    check_new_dashboard, CreateDashboard, DashboardExport, DashboardLimits,
};
use crate::model::point::{Point, PointLimits};
use crate::model::query::{QueryRequest, QuerySpec};
use crate::promql::{self, Fetched, Params, Series};
use crate::protocol::{json, line, remote_write};

/// Limits the targets run under, smaller than the defaults so that "nothing beyond the
/// configured limits" is cheap to check.
pub const MAX_POINTS: usize = 1_000;
pub const MAX_DECOMPRESSED: usize = 1 << 20;
/// No single allocation may exceed this while a target runs: a few times the largest
/// body a target accepts, far below what a forged length or count would ask for.
pub const ALLOCATION_CEILING: usize = 16 * MAX_DECOMPRESSED;
/// A fixed "now" (2026-12-01T00:00:00Z) so a run is reproducible.
const NOW_MS: i64 = 1_795_996_800_000;

pub type Target = fn(&[u8]);

/// Every target by the name of its corpus directory under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("json_ingest", json_ingest),
    ("json_ingest_gzip", json_ingest_gzip),
    ("query_body", query_body),
    ("dashboard_import", dashboard_import),
    ("alert_rule", alert_rule),
    ("line_protocol", line_protocol),
    ("remote_write", remote_write_body),
    ("remote_write_proto", remote_write_proto),
    ("promql", promql_query),
];

/// Looks a target up by name.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.http.max_decompressed_bytes = MAX_DECOMPRESSED;
    settings.ingest.max_points_per_request = MAX_POINTS;
    settings
}

fn point_limits(settings: &Settings) -> PointLimits {
    PointLimits::new(&settings.ingest, NOW_MS)
}

/// Prometheus' stale marker: a NaN with this payload, never stored as a value.
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Which values a wire format may carry: JSON and line protocol only finite ones;
/// remote_write also NaN and the infinities (real samples), but never a stale marker.
#[derive(Clone, Copy)]
enum Values {
    Finite,
    AnyButStale,
}

/// A stored point must satisfy every limit it was checked against.
fn check_point(point: &Point, limits: &PointLimits, values: Values) {
    assert!(
        point.name.as_str().len() <= limits.max_name_len,
        "name too long: {point:?}"
    );
    assert!(
        point.labels.len() <= limits.max_tags,
        "too many tags: {point:?}"
    );
    for (key, value) in &point.labels {
        assert!(
            !key.is_empty() && key.len() <= limits.max_tag_key_len,
            "bad key: {point:?}"
        );
        assert!(
            value.len() <= limits.max_tag_value_len,
            "value too long: {point:?}"
        );
        assert!(
            !limits.reject_tag_keys.contains(key),
            "rejected key kept: {point:?}"
        );
    }
    match values {
        Values::Finite => assert!(
            point.value.is_finite(),
            "non-finite value stored: {point:?}"
        ),
        Values::AnyButStale => {
            assert_ne!(
                point.value.to_bits(),
                STALE_NAN_BITS,
                "a stale marker stored"
            )
        }
    }
    assert!(
        (limits.oldest_ms..=limits.newest_ms).contains(&point.timestamp_ms),
        "timestamp outside the window: {point:?}"
    );
}

fn check_decoded(decoded: &json::Decoded, limits: &PointLimits, max: usize, values: Values) {
    assert!(decoded.points.len() + decoded.rejected.len() <= max);
    for point in &decoded.points {
        check_point(point, limits, values);
    }
    for rejection in &decoded.rejected {
        assert!(!rejection.reason.is_empty(), "a rejection without a reason");
    }
}

pub fn json_ingest(data: &[u8]) {
    let settings = settings();
    let limits = point_limits(&settings);
    if let Ok(decoded) = json::decode_points(data, &limits, MAX_POINTS) {
        check_decoded(&decoded, &limits, MAX_POINTS, Values::Finite);
    }
}

pub fn json_ingest_gzip(data: &[u8]) {
    if let Ok(body) = crate::http::payload::inflate_bounded(data, MAX_DECOMPRESSED) {
        assert!(body.len() <= MAX_DECOMPRESSED);
        json_ingest(&body);
    }
}

pub fn query_body(data: &[u8]) {
    let settings = settings();
    let Ok(request) = serde_json::from_slice::<QueryRequest>(data) else {
        return;
    };
    if let Ok(spec) = QuerySpec::parse(&request, &settings.query) {
        assert!(
            spec.range.start_ms < spec.range.end_ms,
            "empty range accepted"
        );
        assert!(spec.step.millis() > 0);
        let buckets = (spec.range.len_ms() + spec.step.millis() - 1) / spec.step.millis();
        assert!(
            buckets <= i64::from(settings.query.max_buckets),
            "{buckets} buckets accepted, more than query.max_buckets"
        );
    }
}

pub fn dashboard_import(data: &[u8]) {
    let settings = settings();
    let Ok(export) = serde_json::from_slice::<DashboardExport>(data) else {
        return;
    };
    let limits = DashboardLimits {
        max_panels: settings.dashboards.max_panels,
        max_name_len: settings.ingest.max_name_len,
        max_tags: settings.ingest.max_tags,
    };
    let body = CreateDashboard {
        name: export.name,
        description: export.description,
        is_public: false,
        panels: export.panels,
        variables: export.variables,
        settings: export.settings,
    };
    match check_new_dashboard(&body, &limits) {
        Ok(()) => assert!(body.panels.len() <= limits.max_panels),
        Err(problems) => assert!(problems
            .iter()
            .all(|p| !p.field.is_empty() && !p.reason.is_empty())),
    }
}

pub fn alert_rule(data: &[u8]) {
    let settings = settings();
    let Ok(request) = serde_json::from_slice::<RuleRequest>(data) else {
        return;
    };
    let limits = crate::actors::alert_supervisor::rule_limits(&settings);
    if let Ok(spec) = RuleSpec::parse(request, &limits) {
        assert!(!spec.name.is_empty() && spec.name.len() <= limits.max_name_len);
    }
}

/// The first byte picks the precision, the rest is the body.
pub fn line_protocol(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let precision = match selector % 4 {
        0 => "ns",
        1 => "us",
        2 => "ms",
        _ => "s",
    };
    let precision = line::Precision::parse(precision).expect("a known precision");
    let settings = settings();
    let limits = point_limits(&settings);
    if let Ok(lines) = line::decode_lines(body, precision, Some("fuzz"), &limits, MAX_POINTS) {
        check_decoded(&lines.decoded, &limits, MAX_POINTS, Values::Finite);
    }
}

fn check_remote_write(
    result: Result<remote_write::RemoteWrite, remote_write::RemoteWriteError>,
    limits: &PointLimits,
) {
    match result {
        Ok(decoded) => check_decoded(&decoded.decoded, limits, MAX_POINTS, Values::AnyButStale),
        Err(remote_write::RemoteWriteError::TooLarge { declared, max }) => assert!(declared > max),
        Err(_) => {}
    }
}

/// A body as it arrives: a snappy block around a protobuf `WriteRequest`.
pub fn remote_write_body(data: &[u8]) {
    let settings = settings();
    let limits = point_limits(&settings);
    check_remote_write(
        remote_write::decode(data, MAX_DECOMPRESSED, &limits, MAX_POINTS),
        &limits,
    );
}

/// The protobuf itself, wrapped in a valid snappy block, so that mutations reach the
/// message decoder and the label rules rather than failing at the framing.
pub fn remote_write_proto(data: &[u8]) {
    let Ok(body) = snap::raw::Encoder::new().compress_vec(data) else {
        return;
    };
    remote_write_body(&body);
}

/// A few series for the evaluator to work on, so that mutations reach evaluation.
fn store() -> Vec<Series> {
    let series = |name: &str, job: &str, instance: &str, f: fn(i64) -> f64| {
        let labels = [("__name__", name), ("job", job), ("instance", instance)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Series {
            labels,
            samples: (0..=60).map(|i| (i * 10_000, f(i))).collect(),
        }
    };
    vec![
        series("up", "a", "1", |_| 1.0),
        series("up", "b", "2", |i| (i % 2) as f64),
        series("requests_total", "a", "1", |i| (i * 3) as f64),
        series("requests_total", "b", "2", |i| (i % 20) as f64),
        series("latency_bucket", "a", "0.5", |i| i as f64),
        series("latency_bucket", "a", "+Inf", |i| (2 * i) as f64),
    ]
}

/// Parses, plans and evaluates a query as an instant and as a range query; the
/// deadline bounds what a pathological query may cost.
pub fn promql_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 4096 {
        return;
    }
    let Ok(expr) = promql::parse(text) else {
        return;
    };
    let instant = Params {
        start_ms: 300_000,
        end_ms: 300_000,
        step_ms: 1,
        lookback_ms: 300_000,
        subquery_step_ms: 60_000,
    };
    let range = Params {
        start_ms: 0,
        end_ms: 600_000,
        step_ms: 30_000,
        ..instant
    };
    for params in [instant, range] {
        let Ok(needs) = promql::plan::plan(&expr, &params) else {
            return;
        };
        let fetched = Fetched::from_memory(needs, &store());
        let deadline = Some(Instant::now() + Duration::from_millis(200));
        if params.start_ms == params.end_ms {
            let _ = promql::eval_instant(&expr, &fetched, params, deadline);
        } else {
            let _ = promql::eval_range(&expr, &fetched, params, deadline);
        }
    }
}

/// The system allocator, recording the largest single request, so a harness can fail
/// an input that made a decoder allocate beyond [`ALLOCATION_CEILING`].
/// Per thread, so that targets run in parallel by the test harness measure themselves.
pub struct MeasuredAlloc;

thread_local! {
    // A const-initialised Cell needs no allocation and no destructor, so the allocator
    // may touch it at any time.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

impl MeasuredAlloc {
    /// This thread's largest allocation since the last call, and resets it.
    pub fn take_largest() -> usize {
        LARGEST.try_with(|largest| largest.replace(0)).unwrap_or(0)
    }
}

unsafe impl GlobalAlloc for MeasuredAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

/// Runs `target` on `data` and fails when it allocated beyond the ceiling. The caller
/// installs [`MeasuredAlloc`] as its global allocator.
pub fn run_bounded(target: Target, data: &[u8]) {
    MeasuredAlloc::take_largest();
    target(data);
    let largest = MeasuredAlloc::take_largest();
    assert!(
        largest <= ALLOCATION_CEILING,
        "one allocation of {largest} bytes, more than the {ALLOCATION_CEILING} allowed"
    );
}

/// A small deterministic mutator (xorshift): the test suite's bounded run uses it
/// where libFuzzer is not built.
pub struct Mutator {
    state: u64,
}

impl Mutator {
    pub fn new(seed: u64) -> Mutator {
        Mutator { state: seed.max(1) }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// One to four edits of `input`, some splicing in bytes from `other`.
    pub fn mutate(&mut self, input: &[u8], other: &[u8]) -> Vec<u8> {
        const INTERESTING: &[&[u8]] = &[
            b"0",
            b"-1",
            b"1e308",
            b"NaN",
            b"\"",
            b"\\",
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b"\xff",
            b"\x00",
            b"=",
            b"~",
            b" ",
            b"\n",
            b"9223372036854775807",
        ];
        let mut out = input.to_vec();
        for _ in 0..=self.below(4) {
            let len = out.len();
            match self.below(7) {
                0 if len > 0 => {
                    let i = self.below(len);
                    out[i] ^= 1 << self.below(8);
                }
                1 if len > 0 => {
                    let i = self.below(len);
                    out[i] = self.next() as u8;
                }
                2 => {
                    let i = self.below(len + 1);
                    let token = INTERESTING[self.below(INTERESTING.len())];
                    out.splice(i..i, token.iter().copied());
                }
                3 if len > 0 => {
                    let start = self.below(len);
                    let end = (start + 1 + self.below(16)).min(len);
                    out.drain(start..end);
                }
                4 if len > 0 => {
                    let start = self.below(len);
                    let end = (start + 1 + self.below(64)).min(len);
                    let chunk = out[start..end].to_vec();
                    let at = self.below(out.len() + 1);
                    out.splice(at..at, chunk);
                }
                5 if !other.is_empty() => {
                    let start = self.below(other.len());
                    let end = (start + 1 + self.below(64)).min(other.len());
                    let at = self.below(len + 1);
                    out.splice(at..at, other[start..end].iter().copied());
                }
                _ => out.truncate(self.below(len + 1)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mutator_is_deterministic_and_changes_its_input() {
        let input = br#"[{"name":"cpu","value":1}]"#;
        let a: Vec<Vec<u8>> = {
            let mut m = Mutator::new(7);
            (0..50).map(|_| m.mutate(input, b"other")).collect()
        };
        let b: Vec<Vec<u8>> = {
            let mut m = Mutator::new(7);
            (0..50).map(|_| m.mutate(input, b"other")).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().filter(|m| m.as_slice() != input).count() > 40);
    }

    #[test]
    fn every_target_has_a_unique_name() {
        let mut names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TARGETS.len());
        assert!(target("promql").is_some() && target("nope").is_none());
    }

    #[test]
    fn a_valid_body_reaches_the_checks() {
        let body = format!(r#"[{{"name":"cpu","value":1.5,"timestamp":{NOW_MS}}}]"#);
        let settings = settings();
        let limits = point_limits(&settings);
        let decoded = json::decode_points(body.as_bytes(), &limits, MAX_POINTS).unwrap();
        assert_eq!(decoded.points.len(), 1);
        json_ingest(body.as_bytes());
    }
}
