//! Label matchers, as PromQL writes them (`=`, `!=`, `=~`, `!~`): the series selection
//! shared by the dashboard query, the batch query of the UI and the PromQL engine.
//!
//! Semantics follow Prometheus: a missing label reads as the empty string (so
//! `host=""` selects series without `host`), and regexes are fully anchored. The
//! label `__name__` is the metric name.

use serde::{Deserialize, Serialize};

/// The label that stands for the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Regex,
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    /// The operator as the store binds it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// Why a matcher was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("label name must not be empty")]
    EmptyName,
    #[error("invalid regex {pattern:?}: {reason}")]
    BadRegex { pattern: String, reason: String },
}

/// One validated matcher. A regex matcher holds its compiled, anchored form.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for LabelMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl LabelMatcher {
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<LabelMatcher, MatcherError> {
        if name.is_empty() {
            return Err(MatcherError::EmptyName);
        }
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::Regex::new(&anchored(value)).map_err(|e| MatcherError::BadRegex {
                    pattern: value.to_string(),
                    reason: e.to_string(),
                })?,
            ),
            _ => None,
        };
        Ok(LabelMatcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Whether a label value (empty when the label is missing) is selected.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// The fully anchored pattern the store evaluates, `^(?:value)$`.
    pub fn anchored_pattern(&self) -> String {
        anchored(&self.value)
    }

    /// Whether the matcher selects series that lack the label altogether.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_fully_anchored() {
        let m = LabelMatcher::new("host", MatchOp::Regex, "web-.").unwrap();
        assert!(m.matches("web-1"));
        assert!(!m.matches("web-12"));
        assert!(!m.matches("xweb-1"));
        let alt = LabelMatcher::new("host", MatchOp::Regex, "a|b").unwrap();
        assert!(alt.matches("a") && alt.matches("b") && !alt.matches("ab"));
    }

    #[test]
    fn missing_label_reads_as_empty() {
        assert!(LabelMatcher::new("host", MatchOp::Equal, "")
            .unwrap()
            .matches_empty());
        assert!(!LabelMatcher::new("host", MatchOp::NotEqual, "")
            .unwrap()
            .matches_empty());
        assert!(LabelMatcher::new("host", MatchOp::NotRegex, "x+")
            .unwrap()
            .matches_empty());
        assert!(LabelMatcher::new("host", MatchOp::Regex, ".*")
            .unwrap()
            .matches_empty());
    }

    #[test]
    fn bad_regex_and_empty_name_are_refused() {
        assert!(matches!(
            LabelMatcher::new("host", MatchOp::Regex, "(").unwrap_err(),
            MatcherError::BadRegex { .. }
        ));
        assert_eq!(
            LabelMatcher::new("", MatchOp::Equal, "x").unwrap_err(),
            MatcherError::EmptyName
        );
    }
}
