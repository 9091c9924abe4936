//! The identity of a series: metric name plus label set, in one canonical string.

use std::fmt::Write;

use super::point::Labels;

/// `name{k="v",...}` with keys sorted and `\`/`"` escaped, so equal label sets always
/// give the same key whatever order the agent sent them in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey(String);

impl SeriesKey {
    pub fn new(metric: &str, labels: &Labels) -> SeriesKey {
        let mut key = String::with_capacity(metric.len() + 16 * labels.len() + 2);
        key.push_str(metric);
        key.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            let _ = write!(key, "{k}=\"");
            for c in v.chars() {
                if c == '"' || c == '\\' {
                    key.push('\\');
                }
                key.push(c);
            }
            key.push('"');
        }
        key.push('}');
        SeriesKey(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_canonical_and_escaped() {
        let mut labels = Labels::new();
        labels.insert("zone".into(), "a\"b".into());
        labels.insert("host".into(), "h1".into());
        assert_eq!(
            SeriesKey::new("cpu", &labels).as_str(),
            r#"cpu{host="h1",zone="a\"b"}"#
        );
        assert_eq!(SeriesKey::new("cpu", &Labels::new()).as_str(), "cpu{}");
    }

    #[test]
    fn escaping_prevents_collisions() {
        let mut a = Labels::new();
        a.insert("k".into(), r#"x",j="y"#.into());
        let mut b = Labels::new();
        b.insert("k".into(), "x".into());
        b.insert("j".into(), "y".into());
        assert_ne!(SeriesKey::new("m", &a), SeriesKey::new("m", &b));
    }
}
