//! Decoder for Prometheus remote_write 1.0: a snappy *block* holding a protobuf
//! `prometheus.WriteRequest`.
//!
//! The protobuf messages are written by hand with prost's derive (no protoc, no
//! build script) for encoding (tests, the benchmark) and for metadata; samples are
//! decoded by walking the buffer with [`protobuf::Fields`], labels borrowed from it.
//! Fields Vigil does not use (exemplars, the inner fields of native histograms) are
//! skipped, but native histograms are counted so the sender hears that they were not
//! stored.
//!
//! Mapping to Vigil's model: `__name__` is the metric name, every other label is a
//! tag, checked by the same [`PointLimits`] as JSON ingest. Label names and values are
//! decoded as bytes and checked for UTF-8 per series, so one series with a bad label
//! is rejected on its own instead of failing the whole request. Per series:
//! - a missing `__name__`, an empty or repeated label name, a label that fails
//!   Vigil's tag rules: every sample of the series is rejected;
//! - a label with an empty value is dropped (in Prometheus an empty value is the same
//!   as the label being absent);
//! - labels in any order are accepted (Vigil sorts them into its series identity);
//! - the stale marker (a NaN with bits `0x7ff0000000000002`) ends a series in
//!   Prometheus; it is counted, not stored. Any other NaN, and the infinities, are
//!   values in Prometheus (a ratio of zeros, a division by zero) and are stored as
//!   they are, so PromQL answers over them as Prometheus does.
//!
//! Decoding is the hot path of remote_write ingest, so label names and values are
//! slices of the decompressed buffer (no copy until they become the series' tags), a
//! series' name and tags are validated once for all its samples, and they are moved
//! into its last sample's point rather than cloned.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::model::{Labels, MetricName, Point, PointLimits};
use crate::protocol::json::{Decoded, Rejection};
use crate::protocol::protobuf::{Fields, ProtobufError, Value};

/// Prometheus' stale marker: "this series ended", not a value.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// `prometheus.WriteRequest` (field 2 is reserved upstream).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`; exemplars (3) are skipped.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Skipped>,
}

/// `prometheus.Label`, as bytes so that a sender can be made to send invalid UTF-8.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(bytes = "bytes", tag = "1")]
    pub name: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

/// `prometheus.Sample`: a value at a millisecond timestamp.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A message whose content Vigil does not read (native histograms).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Skipped {}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RemoteWriteError {
    #[error("the snappy block declares {declared} decompressed bytes, more than the {max} allowed (http.max_decompressed_bytes)")]
    TooLarge { declared: usize, max: usize },
    #[error("body is not a snappy block: {0}")]
    Snappy(String),
    #[error("body is not a protobuf WriteRequest: {0}")]
    Protobuf(String),
    #[error("more than {max} samples in one request (ingest.max_points_per_request)")]
    TooManySamples { max: usize },
}

/// TYPE, HELP and UNIT of a metric family, for `metric_definitions`.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub name: String,
    /// Prometheus' type in lower case (`counter`, `gauge`, `histogram`, `summary`,
    /// `gaugehistogram`, `info`, `stateset`, `unknown`).
    pub kind: &'static str,
    pub help: String,
    pub unit: String,
}

/// What one request held.
#[derive(Debug, Default)]
pub struct RemoteWrite {
    /// Valid points and rejected series (`index` = the series' position).
    pub decoded: Decoded,
    /// Samples sent, counting stale markers and rejected ones.
    pub samples: usize,
    pub stale_markers: usize,
    pub metadata: Vec<Metadata>,
}

/// Decompresses and decodes one remote_write body. The decompressed length the snappy
/// header declares is checked against `max_decompressed` before any buffer is made,
/// so a forged length cannot make Vigil allocate.
pub fn decode(
    body: &[u8],
    max_decompressed: usize,
    limits: &PointLimits,
    max_points: usize,
) -> Result<RemoteWrite, RemoteWriteError> {
    let declared =
        snap::raw::decompress_len(body).map_err(|e| RemoteWriteError::Snappy(e.to_string()))?;
    if declared > max_decompressed {
        return Err(RemoteWriteError::TooLarge {
            declared,
            max: max_decompressed,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| RemoteWriteError::Snappy(e.to_string()))?;
    decode_request(&raw, limits, max_points)
}

/// Walks a decompressed `WriteRequest`: each `TimeSeries` is read into reused buffers
/// of borrowed labels and samples, validated and turned into points before the next.
fn decode_request(
    raw: &[u8],
    limits: &PointLimits,
    max_points: usize,
) -> Result<RemoteWrite, RemoteWriteError> {
    let garbage = |e: ProtobufError| RemoteWriteError::Protobuf(e.to_string());
    let mut out = RemoteWrite {
        decoded: Decoded {
            points: Vec::new(),
            rejected: Vec::new(),
            // Every sample carries its timestamp: a retried body is the same points.
            all_timestamped: true,
        },
        ..RemoteWrite::default()
    };
    let mut labels: Vec<(&[u8], &[u8])> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut index = 0;
    let mut fields = Fields::new(raw);
    while let Some((field, value)) = fields.next_field().map_err(garbage)? {
        match (field, value) {
            (1, Value::Bytes(series)) => {
                let histograms = read_series(series, &mut labels, &mut samples).map_err(garbage)?;
                out.samples += samples.len();
                if out.samples > max_points {
                    return Err(RemoteWriteError::TooManySamples { max: max_points });
                }
                take_series(&mut out, index, &labels, &samples, histograms, limits);
                index += 1;
            }
            (3, Value::Bytes(raw)) => {
                let raw = <MetricMetadata as prost::Message>::decode(raw)
                    .map_err(|e| RemoteWriteError::Protobuf(e.to_string()))?;
                out.metadata.extend(metadata(raw));
            }
            (1 | 3, _) => return Err(garbage(ProtobufError::Unexpected(field))),
            // Unknown fields are skipped, as every protobuf reader does.
            _ => {}
        }
    }
    Ok(out)
}

/// The labels and samples of one `TimeSeries` into `labels` and `samples` (cleared
/// first); returns how many native histograms it carried.
fn read_series<'a>(
    raw: &'a [u8],
    labels: &mut Vec<(&'a [u8], &'a [u8])>,
    samples: &mut Vec<Sample>,
) -> Result<usize, ProtobufError> {
    labels.clear();
    samples.clear();
    let mut histograms = 0;
    let mut fields = Fields::new(raw);
    while let Some((field, value)) = fields.next_field()? {
        match (field, value) {
            (1, Value::Bytes(label)) => labels.push(read_label(label)?),
            (2, Value::Bytes(sample)) => samples.push(read_sample(sample)?),
            (4, Value::Bytes(_)) => histograms += 1,
            (1 | 2 | 4, _) => return Err(ProtobufError::Unexpected(field)),
            // Exemplars (3) and unknown fields.
            _ => {}
        }
    }
    Ok(histograms)
}

fn read_label(raw: &[u8]) -> Result<(&[u8], &[u8]), ProtobufError> {
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    let mut fields = Fields::new(raw);
    while let Some((field, v)) = fields.next_field()? {
        match (field, v) {
            (1, Value::Bytes(b)) => name = b,
            (2, Value::Bytes(b)) => value = b,
            (1 | 2, _) => return Err(ProtobufError::Unexpected(field)),
            _ => {}
        }
    }
    Ok((name, value))
}

fn read_sample(raw: &[u8]) -> Result<Sample, ProtobufError> {
    let mut sample = Sample {
        value: 0.0,
        timestamp: 0,
    };
    let mut fields = Fields::new(raw);
    while let Some((field, v)) = fields.next_field()? {
        match (field, v) {
            (1, Value::Fixed64(bits)) => sample.value = f64::from_bits(bits),
            // int64: a negative timestamp is sent as its two's complement.
            (2, Value::Varint(t)) => sample.timestamp = t as i64,
            (1 | 2, _) => return Err(ProtobufError::Unexpected(field)),
            _ => {}
        }
    }
    Ok(sample)
}

/// One decoded series into `out`: its points, or a rejection naming why.
fn take_series(
    out: &mut RemoteWrite,
    index: usize,
    labels: &[(&[u8], &[u8])],
    samples: &[Sample],
    histograms: usize,
    limits: &PointLimits,
) {
    if histograms > 0 {
        out.decoded.rejected.push(Rejection {
            index,
            reason: format!(
                "{histograms} native histogram samples not stored (Vigil stores float samples only)"
            ),
        });
    }
    if samples.is_empty() {
        return;
    }
    let (name, tags) = match series_labels(labels) {
        Ok(found) => found,
        Err(reason) => {
            out.decoded.rejected.push(Rejection {
                index,
                reason: format!("{reason}; {} samples rejected", samples.len()),
            });
            return;
        }
    };
    let metric = match limits.check_series(name, &tags) {
        Ok(metric) => metric,
        Err(e) => {
            out.decoded.rejected.push(Rejection {
                index,
                reason: format!(
                    "{}: {} samples rejected: {}",
                    describe(name, &tags),
                    samples.len(),
                    e.0
                ),
            });
            return;
        }
    };
    push_samples(out, index, metric, tags, samples, limits);
}

/// The points of one valid series: stale markers counted and skipped, timestamps
/// outside the accepted window rejected (one rejection for the series, counting them).
fn push_samples(
    out: &mut RemoteWrite,
    index: usize,
    metric: MetricName,
    labels: Labels,
    samples: &[Sample],
    limits: &PointLimits,
) {
    let mut identity = Some((metric, labels));
    // (count, the series as text, the first reason), when a sample was out of window.
    let mut bad: Option<(usize, String, String)> = None;
    let last = samples.len() - 1;
    for (i, sample) in samples.iter().enumerate() {
        if sample.value.to_bits() == STALE_NAN_BITS {
            out.stale_markers += 1;
            continue;
        }
        match limits.check_time(sample.timestamp) {
            Ok(timestamp_ms) => {
                let (name, labels) = match identity.take() {
                    Some(owned) if i == last => owned,
                    Some(kept) => {
                        let copy = (kept.0.clone(), kept.1.clone());
                        identity = Some(kept);
                        copy
                    }
                    None => unreachable!("the identity is kept until the last sample"),
                };
                out.decoded.points.push(Point {
                    name,
                    labels,
                    timestamp_ms,
                    value: sample.value,
                });
            }
            Err(e) => match &mut bad {
                Some((count, _, _)) => *count += 1,
                None => {
                    let (m, l) = identity.as_ref().expect("kept until the last sample");
                    bad = Some((1, describe(m.as_str(), l), e.0));
                }
            },
        }
    }
    if let Some((count, series, reason)) = bad {
        out.decoded.rejected.push(Rejection {
            index,
            reason: format!("{series}: {count} samples rejected: {reason}"),
        });
    }
}

/// The metric name and tags of one series, or why the series is refused. Names are
/// checked for repeats without copying them: senders send them sorted, so a strictly
/// increasing list needs no search.
fn series_labels<'a>(raw: &[(&'a [u8], &'a [u8])]) -> Result<(&'a str, Labels), String> {
    let mut name: Option<&'a str> = None;
    let mut labels = BTreeMap::new();
    let sorted = raw.windows(2).all(|w| w[0].0 < w[1].0);
    for (i, &(key, value)) in raw.iter().enumerate() {
        if key.is_empty() {
            return Err("a label has an empty name".into());
        }
        if !sorted && raw[..i].iter().any(|earlier| earlier.0 == key) {
            return Err(format!(
                "label {:?} appears twice",
                String::from_utf8_lossy(key)
            ));
        }
        let key = std::str::from_utf8(key).map_err(|_| {
            format!(
                "a label name is not UTF-8: {:?}",
                String::from_utf8_lossy(key)
            )
        })?;
        let value = std::str::from_utf8(value)
            .map_err(|_| format!("the value of label {key:?} is not UTF-8"))?;
        if key == "__name__" {
            name = Some(value);
        } else if !value.is_empty() {
            labels.insert(key.to_string(), value.to_string());
        }
    }
    match name {
        Some(name) if !name.is_empty() => Ok((name, labels)),
        _ => Err(format!(
            "series {} has no __name__ label",
            describe("", &labels)
        )),
    }
}

/// `name{k="v",...}`, with long values cut, for messages.
fn describe(name: &str, labels: &Labels) -> String {
    let cut = |s: &str| -> String {
        if s.len() > 64 {
            let end = (0..=64).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            format!("{}...", &s[..end])
        } else {
            s.to_string()
        }
    };
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}={:?}", cut(k), cut(v)))
        .collect();
    format!("{}{{{}}}", cut(name), inner.join(","))
}

fn metadata(raw: MetricMetadata) -> Option<Metadata> {
    if raw.metric_family_name.is_empty() {
        return None;
    }
    // The numbering of prometheus.MetricMetadata.MetricType.
    let kind = match raw.r#type {
        1 => "counter",
        2 => "gauge",
        3 => "histogram",
        4 => "gaugehistogram",
        5 => "summary",
        6 => "info",
        7 => "stateset",
        _ => "unknown",
    };
    Some(Metadata {
        name: raw.metric_family_name,
        kind,
        help: raw.help,
        unit: raw.unit,
    })
}

/// Encodes a request as a sender does (snappy block); used by tests and the benchmark.
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    let raw = prost::Message::encode_to_vec(request);
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .expect("snappy compresses any input")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    const NOW: i64 = 1_700_000_000_000;

    fn limits() -> PointLimits {
        PointLimits::new(&Settings::default().ingest, NOW)
    }

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: Bytes::copy_from_slice(name.as_bytes()),
            value: Bytes::copy_from_slice(value.as_bytes()),
        }
    }

    fn series(labels: Vec<Label>, samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
            histograms: Vec::new(),
        }
    }

    fn request(timeseries: Vec<TimeSeries>) -> Vec<u8> {
        encode(&WriteRequest {
            timeseries,
            metadata: Vec::new(),
        })
    }

    fn run(body: &[u8]) -> Result<RemoteWrite, RemoteWriteError> {
        decode(body, 1 << 20, &limits(), 1000)
    }

    #[test]
    fn maps_name_and_labels_and_keeps_prometheus_label_names() {
        let body = request(vec![series(
            vec![
                label("__name__", "http_request_duration_seconds_bucket"),
                label("instance", "127.0.0.1:9090"),
                label("job", "prometheus"),
                label("le", "+Inf"),
                label("quantile", "0.99"),
            ],
            &[(NOW, 3.0), (NOW + 1000, 4.5)],
        )]);
        let out = run(&body).unwrap();
        assert!(
            out.decoded.rejected.is_empty(),
            "{:?}",
            out.decoded.rejected
        );
        assert_eq!(out.decoded.points.len(), 2);
        let point = &out.decoded.points[1];
        assert_eq!(point.name.as_str(), "http_request_duration_seconds_bucket");
        assert_eq!(point.timestamp_ms, NOW + 1000);
        assert_eq!(point.value, 4.5);
        let keys: Vec<&str> = point.labels.keys().map(String::as_str).collect();
        assert_eq!(keys, ["instance", "job", "le", "quantile"]);
        assert!(out.decoded.all_timestamped);
    }

    #[test]
    fn unsorted_labels_are_accepted_and_empty_values_dropped() {
        let body = request(vec![series(
            vec![
                label("job", "node"),
                label("__name__", "up"),
                label("zone", ""),
                label("instance", "a"),
            ],
            &[(NOW, 1.0)],
        )]);
        let out = run(&body).unwrap();
        assert!(out.decoded.rejected.is_empty());
        let keys: Vec<&str> = out.decoded.points[0]
            .labels
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["instance", "job"]);
    }

    #[test]
    fn rejects_only_the_bad_series() {
        let mut bad_utf8 = label("host", "x");
        bad_utf8.value = Bytes::from_static(&[0xff, 0xfe]);
        let body = request(vec![
            series(
                vec![label("__name__", "good"), label("a", "1")],
                &[(NOW, 1.0)],
            ),
            series(
                vec![label("__name__", "dup"), label("a", "1"), label("a", "2")],
                &[(NOW, 1.0)],
            ),
            series(vec![label("__name__", "bad"), bad_utf8], &[(NOW, 1.0)]),
            series(vec![label("a", "1")], &[(NOW, 1.0)]),
            series(
                vec![label("__name__", "huge"), label("a", &"v".repeat(5000))],
                &[(NOW, 1.0), (NOW + 1, 2.0)],
            ),
            series(vec![label("__name__", "x"), label("", "v")], &[(NOW, 1.0)]),
            series(
                vec![label("__name__", "old")],
                &[(NOW - 30 * 86_400_000, 1.0), (NOW, 2.0)],
            ),
        ]);
        let out = run(&body).unwrap();
        let names: Vec<&str> = out.decoded.points.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["good", "old"]);
        let indexes: Vec<usize> = out.decoded.rejected.iter().map(|r| r.index).collect();
        assert_eq!(indexes, [1, 2, 3, 4, 5, 6]);
        let reasons: Vec<&str> = out
            .decoded
            .rejected
            .iter()
            .map(|r| r.reason.as_str())
            .collect();
        assert!(reasons[0].contains("appears twice"), "{reasons:?}");
        assert!(reasons[1].contains("not UTF-8"), "{reasons:?}");
        assert!(reasons[2].contains("no __name__"), "{reasons:?}");
        assert!(
            reasons[3].contains("2 samples rejected") && reasons[3].contains("1 to 200"),
            "{reasons:?}"
        );
        assert!(
            reasons[3].len() < 400,
            "huge values are cut in messages: {reasons:?}"
        );
        assert!(reasons[4].contains("empty name"), "{reasons:?}");
        assert!(
            reasons[5].contains("1 samples rejected") && reasons[5].contains("older"),
            "{reasons:?}"
        );
    }

    #[test]
    fn stale_markers_are_counted_not_stored_and_other_nans_stored() {
        let stale = f64::from_bits(STALE_NAN_BITS);
        let body = request(vec![
            series(
                vec![label("__name__", "up")],
                &[(NOW, 1.0), (NOW + 1, stale)],
            ),
            series(
                vec![label("__name__", "q")],
                &[
                    (NOW, f64::NAN),
                    (NOW + 1, f64::INFINITY),
                    (NOW + 2, f64::NEG_INFINITY),
                ],
            ),
        ]);
        let out = run(&body).unwrap();
        assert_eq!(out.stale_markers, 1);
        assert_eq!(out.samples, 5);
        assert!(
            out.decoded.rejected.is_empty(),
            "{:?}",
            out.decoded.rejected
        );
        let values: Vec<(&str, f64)> = out
            .decoded
            .points
            .iter()
            .map(|p| (p.name.as_str(), p.value))
            .collect();
        assert_eq!(values.len(), 4);
        assert_eq!(values[0], ("up", 1.0));
        assert!(values[1].0 == "q" && values[1].1.is_nan());
        assert_eq!(values[2], ("q", f64::INFINITY));
        assert_eq!(values[3], ("q", f64::NEG_INFINITY));
    }

    #[test]
    fn every_sample_of_a_series_gets_its_labels() {
        let body = request(vec![series(
            vec![label("__name__", "up"), label("job", "node")],
            &[(NOW, 1.0), (NOW + 1, 2.0), (NOW + 2, 3.0)],
        )]);
        let out = run(&body).unwrap();
        assert_eq!(out.decoded.points.len(), 3);
        for point in &out.decoded.points {
            assert_eq!(point.name.as_str(), "up");
            assert_eq!(point.labels.get("job").map(String::as_str), Some("node"));
        }
        let times: Vec<i64> = out.decoded.points.iter().map(|p| p.timestamp_ms).collect();
        assert_eq!(times, [NOW, NOW + 1, NOW + 2]);
    }

    #[test]
    fn a_sample_out_of_window_rejects_only_itself() {
        let body = request(vec![series(
            vec![label("__name__", "up")],
            &[(NOW, 1.0), (NOW + 3_600_000, 2.0), (NOW + 7_200_000, 3.0)],
        )]);
        let out = run(&body).unwrap();
        assert_eq!(out.decoded.points.len(), 1);
        assert_eq!(out.decoded.rejected.len(), 1);
        let reason = &out.decoded.rejected[0].reason;
        assert!(
            reason.starts_with("up{}: 2 samples rejected: ") && reason.contains("future"),
            "{reason}"
        );
    }

    #[test]
    fn refuses_a_forged_length_before_allocating() {
        // A snappy block starts with its decompressed length as a varint: claim 1 GiB.
        let forged = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
        match run(&forged) {
            Err(RemoteWriteError::TooLarge { declared, .. }) => assert_eq!(declared, 1 << 30),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn refuses_truncated_snappy_and_protobuf_garbage() {
        let body = request(vec![series(vec![label("__name__", "up")], &[(NOW, 1.0)])]);
        assert!(matches!(
            run(&body[..body.len() - 3]),
            Err(RemoteWriteError::Snappy(_))
        ));
        assert!(matches!(run(b""), Err(RemoteWriteError::Snappy(_))));
        let garbage = snap::raw::Encoder::new()
            .compress_vec(&[0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])
            .unwrap();
        assert!(matches!(run(&garbage), Err(RemoteWriteError::Protobuf(_))));
    }

    #[test]
    fn counts_samples_against_the_request_limit() {
        let samples: Vec<(i64, f64)> = (0..11).map(|i| (NOW + i, 1.0)).collect();
        let body = request(vec![series(vec![label("__name__", "up")], &samples)]);
        assert_eq!(
            decode(&body, 1 << 20, &limits(), 10).unwrap_err(),
            RemoteWriteError::TooManySamples { max: 10 }
        );
    }

    #[test]
    fn reads_metadata_and_reports_native_histograms() {
        let mut with_histogram = series(vec![label("__name__", "h")], &[]);
        with_histogram.histograms.push(Skipped {});
        let body = encode(&WriteRequest {
            timeseries: vec![with_histogram],
            metadata: vec![
                MetricMetadata {
                    r#type: 1,
                    metric_family_name: "http_requests_total".into(),
                    help: "Requests served.".into(),
                    unit: "".into(),
                },
                MetricMetadata {
                    r#type: 5,
                    metric_family_name: "rpc_seconds".into(),
                    help: "".into(),
                    unit: "seconds".into(),
                },
            ],
        });
        let out = run(&body).unwrap();
        assert_eq!(out.metadata.len(), 2);
        assert_eq!(out.metadata[0].kind, "counter");
        assert_eq!(out.metadata[0].help, "Requests served.");
        assert_eq!(out.metadata[1].kind, "summary");
        assert_eq!(out.metadata[1].unit, "seconds");
        assert_eq!(out.decoded.rejected.len(), 1);
        assert!(out.decoded.rejected[0].reason.contains("native histogram"));
    }
}
