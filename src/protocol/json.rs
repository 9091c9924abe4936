//! Decoder for the ingest body: a JSON array of `{name, value, tags?, timestamp?}`.
//!
//! Each element is decoded on its own, so one malformed point is reported by its
//! index and does not sink the rest of the batch. The array is walked with a counting
//! visitor, so a body with millions of elements is refused at `max_points + 1`
//! without first materialising all of them.

use std::fmt;

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::model::{Labels, Point, PointLimits};

/// Why a whole body was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("body is not a JSON array of points: {0}")]
    Malformed(String),
    #[error("more than {max} points in one request")]
    TooManyPoints { max: usize },
}

/// A point that failed validation, by its position in the request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Rejection {
    pub index: usize,
    pub reason: String,
}

/// The outcome of decoding a body.
#[derive(Debug, Default)]
pub struct Decoded {
    pub points: Vec<Point>,
    pub rejected: Vec<Rejection>,
    /// True when every element carried its own timestamp: then the request's content
    /// fully determines the stored points, and a retry of it may be deduplicated.
    pub all_timestamped: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePoint {
    name: String,
    value: f64,
    #[serde(default)]
    tags: Option<Labels>,
    #[serde(default)]
    timestamp: Option<f64>,
}

/// Decodes and validates every element of `body`.
pub fn decode_points(
    body: &[u8],
    limits: &PointLimits,
    max_points: usize,
) -> Result<Decoded, DecodeError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let raws = BoundedSeq { max: max_points }
        .deserialize(&mut deserializer)
        .map_err(|e| match e.to_string() {
            m if m.starts_with(TOO_MANY) => DecodeError::TooManyPoints { max: max_points },
            m => DecodeError::Malformed(m),
        })?;
    deserializer
        .end()
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;

    let mut decoded = Decoded {
        all_timestamped: true,
        ..Decoded::default()
    };
    decoded.points.reserve(raws.len());
    for (index, raw) in raws.into_iter().enumerate() {
        match decode_one(raw, limits) {
            Ok((point, timestamped)) => {
                decoded.all_timestamped &= timestamped;
                decoded.points.push(point);
            }
            Err(reason) => decoded.rejected.push(Rejection { index, reason }),
        }
    }
    Ok(decoded)
}

fn decode_one(raw: &RawValue, limits: &PointLimits) -> Result<(Point, bool), String> {
    let wire: WirePoint = serde_json::from_str(raw.get()).map_err(|e| strip_position(&e))?;
    let timestamp = match wire.timestamp {
        None => None,
        Some(t) if (0.0..1e15).contains(&t) => Some(t as i64),
        Some(_) => return Err("timestamp must be milliseconds since the epoch".into()),
    };
    limits
        .check(&wire.name, wire.value, wire.tags, timestamp)
        .map(|point| (point, timestamp.is_some()))
        .map_err(|e| e.0)
}

/// serde's messages end in "at line 1 column 17", which means nothing to the agent
/// once the element is cut out of its body.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

const TOO_MANY: &str = "too many points";

struct BoundedSeq {
    max: usize,
}

impl<'de> DeserializeSeed<'de> for BoundedSeq {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BoundedSeq {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of points")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if out.len() == self.max {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            out.push(raw);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn limits() -> PointLimits {
        PointLimits::new(&Settings::default().ingest, 1_700_000_000_000)
    }

    #[test]
    fn decodes_valid_points_and_reports_bad_ones_by_index() {
        let body = br#"[
            {"name": "cpu", "value": 1.5, "tags": {"host": "a"}, "timestamp": 1700000000000},
            {"name": "cpu", "value": "high"},
            {"name": "bad name", "value": 1},
            {"value": 2},
            {"name": "mem", "value": 3, "timestamp": 1699999999000}
        ]"#;
        let decoded = decode_points(body, &limits(), 100).unwrap();
        assert_eq!(decoded.points.len(), 2);
        let indexes: Vec<usize> = decoded.rejected.iter().map(|r| r.index).collect();
        assert_eq!(indexes, vec![1, 2, 3]);
        assert!(
            decoded.rejected[2].reason.contains("missing field `name`"),
            "{:?}",
            decoded.rejected
        );
        assert!(
            !decoded.rejected[0].reason.contains("line"),
            "{:?}",
            decoded.rejected
        );
        assert!(decoded.all_timestamped);
    }

    #[test]
    fn missing_timestamp_clears_all_timestamped() {
        let decoded = decode_points(br#"[{"name": "cpu", "value": 1}]"#, &limits(), 10).unwrap();
        assert!(!decoded.all_timestamped);
        assert_eq!(decoded.points[0].timestamp_ms, 1_700_000_000_000);
    }

    #[test]
    fn refuses_malformed_bodies() {
        for body in [
            &b"{\"name\": \"cpu\"}"[..],
            b"[{\"name\": ",
            b"not json",
            b"[] trailing",
        ] {
            assert!(matches!(
                decode_points(body, &limits(), 10),
                Err(DecodeError::Malformed(_))
            ));
        }
    }

    #[test]
    fn stops_counting_at_the_limit() {
        let body = format!("[{}]", ["1"; 11].join(","));
        assert_eq!(
            decode_points(body.as_bytes(), &limits(), 10).unwrap_err(),
            DecodeError::TooManyPoints { max: 10 }
        );
    }
}
