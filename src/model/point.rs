//! A metric point as Vigil accepts it: a valid name, a bounded label set, a finite
//! value and a timestamp inside the accepted window.

use std::collections::BTreeMap;

use crate::config::IngestSettings;

/// A metric name: `[a-zA-Z_][a-zA-Z0-9_.:]*`, bounded in length.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricName(String);

impl MetricName {
    pub fn parse(raw: &str, max_len: usize) -> Result<MetricName, PointError> {
        if raw.is_empty() {
            return Err(PointError::new("name must not be empty"));
        }
        if raw.len() > max_len {
            return Err(PointError::new(format!(
                "name is longer than {max_len} bytes"
            )));
        }
        if !is_identifier(raw, b"_.:") {
            return Err(PointError::new(format!(
                "name {raw:?} must match [a-zA-Z_][a-zA-Z0-9_.:]*"
            )));
        }
        Ok(MetricName(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Sorted tag set; sorting makes the series identity independent of input order.
pub type Labels = BTreeMap<String, String>;

/// Why a point was rejected; the text goes back to the agent verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PointError(pub String);

impl PointError {
    pub fn new(reason: impl Into<String>) -> PointError {
        PointError(reason.into())
    }
}

/// A validated point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: MetricName,
    pub labels: Labels,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub value: f64,
}

/// The limits a point is checked against, with `now` fixed for a whole request so
/// every point of a batch sees the same window.
#[derive(Debug, Clone)]
pub struct PointLimits {
    pub max_name_len: usize,
    pub max_tags: usize,
    pub max_tag_key_len: usize,
    pub max_tag_value_len: usize,
    pub reject_tag_keys: Vec<String>,
    pub now_ms: i64,
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

impl PointLimits {
    pub fn new(settings: &IngestSettings, now_ms: i64) -> PointLimits {
        PointLimits {
            max_name_len: settings.max_name_len,
            max_tags: settings.max_tags,
            max_tag_key_len: settings.max_tag_key_len,
            max_tag_value_len: settings.max_tag_value_len,
            reject_tag_keys: settings
                .reject_tag_keys
                .iter()
                .map(|k| k.to_lowercase())
                .collect(),
            now_ms,
            oldest_ms: now_ms - settings.max_age.as_millis() as i64,
            newest_ms: now_ms + settings.max_future.as_millis() as i64,
        }
    }

    /// Validates one decoded point. `timestamp_ms` None means "now".
    pub fn check(
        &self,
        name: &str,
        value: f64,
        tags: Option<Labels>,
        timestamp_ms: Option<i64>,
    ) -> Result<Point, PointError> {
        let name = MetricName::parse(name, self.max_name_len)?;
        if !value.is_finite() {
            return Err(PointError::new("value must be a finite number"));
        }
        let labels = tags.unwrap_or_default();
        self.check_labels(&labels)?;
        let timestamp_ms = self.check_time(timestamp_ms.unwrap_or(self.now_ms))?;
        Ok(Point {
            name,
            labels,
            timestamp_ms,
            value,
        })
    }

    /// Validates the name and labels of a series once, for a wire format that sends
    /// many samples under one label set (remote_write); each sample then needs only
    /// [`PointLimits::check_time`].
    pub fn check_series(&self, name: &str, labels: &Labels) -> Result<MetricName, PointError> {
        let name = MetricName::parse(name, self.max_name_len)?;
        self.check_labels(labels)?;
        Ok(name)
    }

    /// The timestamp, if it lies inside the accepted window.
    pub fn check_time(&self, timestamp_ms: i64) -> Result<i64, PointError> {
        if timestamp_ms < self.oldest_ms {
            return Err(PointError::new(format!(
                "timestamp {timestamp_ms} is older than the accepted window (ingest.max_age; raw points are not kept longer)"
            )));
        }
        if timestamp_ms > self.newest_ms {
            return Err(PointError::new(format!(
                "timestamp {timestamp_ms} is too far in the future (ingest.max_future)"
            )));
        }
        Ok(timestamp_ms)
    }

    fn check_labels(&self, labels: &Labels) -> Result<(), PointError> {
        if labels.len() > self.max_tags {
            return Err(PointError::new(format!(
                "{} tags given, at most {} allowed",
                labels.len(),
                self.max_tags
            )));
        }
        for (key, value) in labels {
            if key.is_empty() || key.len() > self.max_tag_key_len {
                return Err(PointError::new(format!(
                    "tag key {key:?} must be 1 to {} bytes",
                    self.max_tag_key_len
                )));
            }
            if key.starts_with("__") {
                return Err(PointError::new(format!(
                    "tag key {key:?} is reserved (starts with __)"
                )));
            }
            if !is_identifier(key, b"_.") {
                return Err(PointError::new(format!(
                    "tag key {key:?} must match [a-zA-Z_][a-zA-Z0-9_.]*"
                )));
            }
            let lowered = key.to_lowercase();
            if let Some(bad) = self
                .reject_tag_keys
                .iter()
                .find(|bad| lowered.contains(bad.as_str()))
            {
                return Err(PointError::new(format!(
                    "tag key {key:?} is high-cardinality ({bad}) and not accepted"
                )));
            }
            if value.is_empty() || value.len() > self.max_tag_value_len {
                return Err(PointError::new(format!(
                    "value of tag {key:?} must be 1 to {} bytes",
                    self.max_tag_value_len
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(PointError::new(format!(
                    "value of tag {key:?} must not contain control characters"
                )));
            }
        }
        Ok(())
    }
}

/// `[a-zA-Z_][a-zA-Z0-9<extra>]*`: checked by hand because it runs for every point.
fn is_identifier(raw: &str, extra: &[u8]) -> bool {
    let bytes = raw.as_bytes();
    let first_ok = matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_');
    first_ok
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || extra.contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn limits() -> PointLimits {
        PointLimits::new(&Settings::default().ingest, 1_700_000_000_000)
    }

    fn tags(pairs: &[(&str, &str)]) -> Option<Labels> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn accepts_a_normal_point_and_defaults_time_to_now() {
        let point = limits()
            .check("cpu.usage", 1.5, tags(&[("host", "a")]), None)
            .unwrap();
        assert_eq!(point.timestamp_ms, 1_700_000_000_000);
        assert_eq!(point.name.as_str(), "cpu.usage");
    }

    #[test]
    fn rejects_bad_names() {
        for name in [
            "",
            "9lives",
            "cpu usage",
            "cpu-usage",
            "ünicode",
            &"a".repeat(201),
        ] {
            assert!(
                limits().check(name, 1.0, None, None).is_err(),
                "{name:?} accepted"
            );
        }
        assert!(limits()
            .check("http:requests_total", 1.0, None, None)
            .is_ok());
    }

    #[test]
    fn rejects_non_finite_values() {
        assert!(limits().check("x", f64::NAN, None, None).is_err());
        assert!(limits().check("x", f64::INFINITY, None, None).is_err());
    }

    #[test]
    fn rejects_bad_tags() {
        let l = limits();
        let reason = |t| l.check("x", 1.0, t, None).unwrap_err().0;
        assert!(reason(tags(&[("request_id", "1")])).contains("high-cardinality"));
        assert!(reason(tags(&[("parent_trace_id", "1")])).contains("high-cardinality"));
        assert!(reason(tags(&[("__name__", "1")])).contains("reserved"));
        assert!(reason(tags(&[("host", "")])).contains("1 to"));
        assert!(reason(tags(&[("bad key", "v")])).contains("must match"));
        let many: Vec<(String, String)> = (0..17).map(|i| (format!("k{i}"), "v".into())).collect();
        let many = Some(many.into_iter().collect());
        assert!(l
            .check("x", 1.0, many, None)
            .unwrap_err()
            .0
            .contains("at most 16"));
    }

    #[test]
    fn enforces_the_time_window() {
        let l = limits();
        let day = 86_400_000;
        assert!(l.check("x", 1.0, None, Some(l.now_ms - 8 * day)).is_err());
        assert!(l.check("x", 1.0, None, Some(l.now_ms - 6 * day)).is_ok());
        assert!(l
            .check("x", 1.0, None, Some(l.now_ms + 11 * 60_000))
            .is_err());
    }
}
