//! A point as the agent records it and as it travels to `POST /api/v1/metrics`, plus
//! the checks of Vigil's name and tag rules that the agent applies before sending
//! (a point Vigil would reject is cheaper to skip here than to ship and have refused).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Tags of a point, sorted by key (Vigil sorts them too; sorting here keeps the
/// batch bytes of the same points identical, which the idempotent retry relies on).
pub type Tags = BTreeMap<String, String>;

/// Longest metric name Vigil accepts by default (`ingest.max_name_len`).
pub const MAX_NAME_LEN: usize = 200;

/// One point on the wire: `{"name","value","tags"?,"timestamp"}`.
///
/// The timestamp is always set: when every point of a request carries one, Vigil
/// derives the batch ids from the content, so a batch resent after a timeout or a 503
/// is stored once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub name: String,
    pub value: f64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

impl Point {
    pub fn new(name: impl Into<String>, value: f64, tags: Tags, timestamp: i64) -> Point {
        Point {
            name: name.into(),
            value,
            tags,
            timestamp,
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Vigil's metric name rule: `[a-zA-Z_][a-zA-Z0-9_.:]*`, at most [`MAX_NAME_LEN`] bytes.
/// Prometheus names (`[a-zA-Z_:][a-zA-Z0-9_:]*`) pass unchanged unless they start with `:`.
pub fn is_valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && is_identifier(name, b"_.:")
}

/// Vigil's tag key rule: `[a-zA-Z_][a-zA-Z0-9_.]*`, not starting with `__` (reserved).
pub fn is_valid_tag_key(key: &str) -> bool {
    !key.starts_with("__") && is_identifier(key, b"_.")
}

fn is_identifier(raw: &str, extra: &[u8]) -> bool {
    let bytes = raw.as_bytes();
    let first_ok = matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_');
    first_ok
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || extra.contains(b))
}

/// `[("k", "v")]` as [`Tags`].
pub fn tags<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Tags {
    pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_vigil_rules() {
        assert!(is_valid_name("node_cpu_seconds_total"));
        assert!(is_valid_name("system.cpu.usage"));
        assert!(is_valid_name("job:rate5m:sum"));
        assert!(!is_valid_name(":leading_colon"));
        assert!(!is_valid_name("9lives"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"a".repeat(MAX_NAME_LEN + 1)));
    }

    #[test]
    fn tag_keys_follow_vigil_rules() {
        assert!(is_valid_tag_key("le"));
        assert!(is_valid_tag_key("k8s.pod"));
        assert!(!is_valid_tag_key("__meta"));
        assert!(!is_valid_tag_key("a:b"));
    }

    #[test]
    fn the_wire_form_omits_empty_tags() {
        let point = Point::new("m", 1.5, Tags::new(), 7);
        assert_eq!(
            serde_json::to_string(&point).unwrap(),
            r#"{"name":"m","value":1.5,"timestamp":7}"#
        );
        let point = Point::new("m", 2.0, tags([("host", "a")]), 7);
        assert_eq!(
            serde_json::to_string(&point).unwrap(),
            r#"{"name":"m","value":2.0,"tags":{"host":"a"},"timestamp":7}"#
        );
    }
}
