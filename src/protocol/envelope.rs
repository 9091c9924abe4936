//! The message that carries validated points from ingest to the writers through
//! RabbitMQ: points grouped by series, with a batch id the writer records in the same
//! transaction as the points (redelivery dedup).
//!
//! JSON, so a dead-lettered message can be read by an operator with the management
//! UI; the format is versioned so a later binary encoding can coexist.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::{Labels, MetricName, Point, SeriesKey};

const VERSION: u8 = 1;

/// One series' points inside an envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoints {
    #[serde(rename = "m")]
    pub metric: String,
    #[serde(rename = "l")]
    pub labels: Labels,
    /// `[timestamp_ms, value]` pairs; a value that is not finite (NaN and the
    /// infinities, which remote_write may carry) is the string `"NaN"`, `"+Inf"` or
    /// `"-Inf"`, because JSON has no number for it.
    #[serde(rename = "p", with = "sample_values")]
    pub points: Vec<(i64, f64)>,
}

/// One AMQP message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u8,
    pub id: Uuid,
    pub series: Vec<SeriesPoints>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("undecodable envelope: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("unsupported envelope version {0}")]
    Version(u8),
    #[error("invalid metric name in envelope: {0}")]
    Name(String),
}

impl Envelope {
    pub fn point_count(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope always serialises")
    }

    /// Decodes and re-checks what the writer relies on; anything else is poison.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let envelope: Envelope = serde_json::from_slice(bytes)?;
        if envelope.v != VERSION {
            return Err(EnvelopeError::Version(envelope.v));
        }
        for series in &envelope.series {
            MetricName::parse(&series.metric, usize::MAX).map_err(|e| EnvelopeError::Name(e.0))?;
        }
        Ok(envelope)
    }
}

/// The `p` array: finite values as JSON numbers (so an envelope of finite points reads
/// as it always did), the others as the strings Prometheus prints for them.
mod sample_values {
    use std::fmt;

    use serde::de::{self, SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        points: &[(i64, f64)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(points.len()))?;
        for &(t, v) in points {
            if v.is_finite() {
                seq.serialize_element(&(t, v))?;
            } else {
                seq.serialize_element(&(t, special_name(v)))?;
            }
        }
        seq.end()
    }

    fn special_name(v: f64) -> &'static str {
        if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(i64, f64)>, D::Error> {
        deserializer.deserialize_seq(Points)
    }

    struct Points;

    impl<'de> Visitor<'de> for Points {
        type Value = Vec<(i64, f64)>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of [timestamp, value] pairs")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
            while let Some((t, Value(v))) = seq.next_element::<(i64, Value)>()? {
                out.push((t, v));
            }
            Ok(out)
        }
    }

    struct Value(f64);

    impl<'de> de::Deserialize<'de> for Value {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
            deserializer.deserialize_any(ValueVisitor)
        }
    }

    struct ValueVisitor;

    impl Visitor<'_> for ValueVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, \"NaN\", \"+Inf\" or \"-Inf\"")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
            Ok(Value(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
            Ok(Value(v as f64))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
            Ok(Value(v as f64))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
            match v {
                "NaN" => Ok(Value(f64::NAN)),
                "+Inf" => Ok(Value(f64::INFINITY)),
                "-Inf" => Ok(Value(f64::NEG_INFINITY)),
                other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
            }
        }
    }
}

/// Where batch ids come from. A request whose points all carry timestamps gets ids
/// derived from its content, so an agent retrying it after a 503 or a lost response
/// does not store its points twice; otherwise ids are random.
#[derive(Debug, Clone, Copy)]
pub enum BatchIds<'a> {
    FromContent(&'a [u8]),
    Random,
}

impl BatchIds<'_> {
    fn id(&self, chunk: usize) -> Uuid {
        match self {
            BatchIds::FromContent(body) => {
                let digest = Sha256::new()
                    .chain_update(body)
                    .chain_update(chunk.to_le_bytes())
                    .finalize();
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                Uuid::from_bytes(bytes)
            }
            BatchIds::Random => Uuid::new_v4(),
        }
    }
}

/// Groups points by series into envelopes of at most `max_points` points each.
pub fn build_envelopes(points: Vec<Point>, max_points: usize, ids: BatchIds<'_>) -> Vec<Envelope> {
    let mut envelopes = Vec::new();
    let mut current: Vec<SeriesPoints> = Vec::new();
    let mut index: HashMap<SeriesKey, usize> = HashMap::new();
    let mut count = 0;
    for point in points {
        let key = SeriesKey::new(point.name.as_str(), &point.labels);
        let slot = match index.get(&key) {
            Some(slot) => *slot,
            None => {
                current.push(SeriesPoints {
                    metric: point.name.into_string(),
                    labels: point.labels,
                    points: Vec::new(),
                });
                index.insert(key, current.len() - 1);
                current.len() - 1
            }
        };
        current[slot].points.push((point.timestamp_ms, point.value));
        count += 1;
        if count == max_points {
            let chunk = envelopes.len();
            envelopes.push(Envelope {
                v: VERSION,
                id: ids.id(chunk),
                series: std::mem::take(&mut current),
            });
            index.clear();
            count = 0;
        }
    }
    if count > 0 {
        let chunk = envelopes.len();
        envelopes.push(Envelope {
            v: VERSION,
            id: ids.id(chunk),
            series: current,
        });
    }
    envelopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, host: &str, ts: i64) -> Point {
        let mut labels = Labels::new();
        labels.insert("host".into(), host.into());
        Point {
            name: MetricName::parse(name, 100).unwrap(),
            labels,
            timestamp_ms: ts,
            value: ts as f64,
        }
    }

    #[test]
    fn groups_by_series_and_chunks() {
        let points = vec![
            point("cpu", "a", 1),
            point("cpu", "b", 2),
            point("cpu", "a", 3),
            point("mem", "a", 4),
            point("cpu", "a", 5),
        ];
        let envelopes = build_envelopes(points, 3, BatchIds::Random);
        assert_eq!(envelopes.len(), 2);
        assert_eq!(envelopes[0].point_count(), 3);
        assert_eq!(envelopes[0].series.len(), 2);
        assert_eq!(envelopes[0].series[0].points, vec![(1, 1.0), (3, 3.0)]);
        assert_eq!(envelopes[1].point_count(), 2);
        assert_ne!(envelopes[0].id, envelopes[1].id);
    }

    #[test]
    fn content_ids_are_stable_per_body_and_chunk() {
        let a = build_envelopes(
            vec![point("cpu", "a", 1)],
            10,
            BatchIds::FromContent(b"body"),
        );
        let b = build_envelopes(
            vec![point("cpu", "a", 1)],
            10,
            BatchIds::FromContent(b"body"),
        );
        let c = build_envelopes(
            vec![point("cpu", "a", 1)],
            10,
            BatchIds::FromContent(b"other"),
        );
        assert_eq!(a[0].id, b[0].id);
        assert_ne!(a[0].id, c[0].id);
    }

    #[test]
    fn round_trips_and_rejects_poison() {
        let envelope = build_envelopes(vec![point("cpu", "a", 1)], 10, BatchIds::Random).remove(0);
        assert_eq!(Envelope::decode(&envelope.encode()).unwrap(), envelope);
        assert!(Envelope::decode(b"\x00\x01garbage").is_err());
        assert!(Envelope::decode(
            br#"{"v": 9, "id": "00000000-0000-0000-0000-000000000000", "series": []}"#
        )
        .is_err());
        let bad_name = br#"{"v": 1, "id": "00000000-0000-0000-0000-000000000000", "series": [{"m": "a b", "l": {}, "p": []}]}"#;
        assert!(Envelope::decode(bad_name).is_err());
        let null_value = br#"{"v": 1, "id": "00000000-0000-0000-0000-000000000000", "series": [{"m": "a", "l": {}, "p": [[1, null]]}]}"#;
        assert!(Envelope::decode(null_value).is_err());
        let other_text = br#"{"v": 1, "id": "00000000-0000-0000-0000-000000000000", "series": [{"m": "a", "l": {}, "p": [[1, "inf"]]}]}"#;
        assert!(Envelope::decode(other_text).is_err());
    }

    #[test]
    fn carries_non_finite_values_and_keeps_finite_ones_as_numbers() {
        let mut points = vec![point("cpu", "a", 1)];
        for (ts, value) in [(2, f64::NAN), (3, f64::INFINITY), (4, f64::NEG_INFINITY)] {
            let mut p = point("cpu", "a", ts);
            p.value = value;
            points.push(p);
        }
        let envelope = build_envelopes(points, 10, BatchIds::Random).remove(0);
        let text = String::from_utf8(envelope.encode()).unwrap();
        assert!(
            text.contains(r#""p":[[1,1.0],[2,"NaN"],[3,"+Inf"],[4,"-Inf"]]"#),
            "{text}"
        );
        let back = Envelope::decode(text.as_bytes()).unwrap();
        let bits: Vec<(i64, u64)> = back.series[0]
            .points
            .iter()
            .map(|&(t, v)| (t, v.to_bits()))
            .collect();
        let sent: Vec<(i64, u64)> = envelope.series[0]
            .points
            .iter()
            .map(|&(t, v)| (t, v.to_bits()))
            .collect();
        assert_eq!(bits, sent);
    }
}
