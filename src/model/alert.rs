//! Alert rules, silences and their parts, validated on construction: a rule that exists
//! as an [`AlertRule`] has a well-formed metric, a finite threshold, a duration, a
//! notification target that parses (an email address, or an http(s) URL), and nothing
//! the evaluator could not compute.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Aggregation, Labels, MetricName};

/// Why a rule or silence body was refused; `field` goes into the 400's details.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RuleError {
    pub field: &'static str,
    pub reason: String,
}

impl RuleError {
    fn new(field: &'static str, reason: impl Into<String>) -> RuleError {
        RuleError {
            field,
            reason: reason.into(),
        }
    }

    /// The `details` of the API error.
    pub fn details(&self) -> Value {
        json!({"field": self.field, "reason": self.reason})
    }
}

/// Comparison of the evaluated value with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Ne,
}

impl Condition {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Condition::Gt => value > threshold,
            Condition::Gte => value >= threshold,
            Condition::Lt => value < threshold,
            Condition::Lte => value <= threshold,
            Condition::Eq => value == threshold,
            Condition::Ne => value != threshold,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Condition::Gt => ">",
            Condition::Gte => ">=",
            Condition::Lt => "<",
            Condition::Lte => "<=",
            Condition::Eq => "==",
            Condition::Ne => "!=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What an evaluation that finds no data means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPolicy {
    /// The condition does not hold (a firing alert resolves).
    #[default]
    Ok,
    /// The condition holds (missing data is itself the problem).
    Alerting,
    /// The state stays as it is.
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

/// Where a rule's notifications go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    #[serde(rename = "type")]
    pub channel: Channel,
    /// An email address, or an http(s) URL for webhooks.
    #[schema(example = "https://hooks.example.com/alertmanager")]
    pub target: String,
}

/// The query a rule evaluates: one value per instance over the window ending now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleQuery {
    #[schema(example = "cpu.usage")]
    pub query: String,
    /// avg, min, max, sum or count over the window (default avg).
    #[serde(default = "default_aggregation")]
    #[schema(value_type = String, example = "avg")]
    pub aggregation: Aggregation,
    #[serde(default)]
    pub tags: Labels,
    /// Each distinct combination of these tag values is its own alert instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Lookback window; default the rule's duration, at least `alerts.min_window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "5m")]
    pub window: Option<String>,
}

fn default_aggregation() -> Aggregation {
    Aggregation::Avg
}

/// A rule as clients send it (POST and PUT).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleRequest {
    #[schema(example = "CPU high")]
    pub name: String,
    pub query: RuleQuery,
    pub condition: Condition,
    #[schema(example = 80.0)]
    pub threshold: f64,
    /// How long the condition must hold before the alert fires ("for"), e.g. "5m"; "0s" fires at once.
    #[schema(example = "5m")]
    pub duration: String,
    pub severity: Severity,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub notification: Notification,
    #[serde(default)]
    pub no_data: NoDataPolicy,
}

fn yes() -> bool {
    true
}

/// Limits a rule is validated against (from `[alerts]` and `[notify]`).
#[derive(Debug, Clone, Copy)]
pub struct RuleLimits {
    pub min_window: Duration,
    pub max_window: Duration,
    pub max_duration: Duration,
    pub max_name_len: usize,
    pub allow_private_targets: bool,
}

/// The validated definition of a rule (what the evaluator runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    pub name: String,
    pub query: RuleQuery,
    pub condition: Condition,
    pub threshold: f64,
    pub duration: String,
    pub severity: Severity,
    pub enabled: bool,
    pub notification: Notification,
    pub no_data: NoDataPolicy,
}

/// A stored rule: its spec plus identity. `window` and `duration` are parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub id: Uuid,
    pub owner_id: Option<Uuid>,
    pub version: i64,
    pub spec: RuleSpec,
    pub duration: Duration,
    pub window: Duration,
}

impl RuleSpec {
    /// Validates a client's rule; every problem names its field.
    pub fn parse(request: RuleRequest, limits: &RuleLimits) -> Result<RuleSpec, RuleError> {
        let name = request.name.trim().to_string();
        if name.is_empty() || name.len() > limits.max_name_len {
            return Err(RuleError::new(
                "name",
                format!("must be 1 to {} bytes", limits.max_name_len),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(RuleError::new(
                "name",
                "must not contain control characters",
            ));
        }
        MetricName::parse(&request.query.query, 200)
            .map_err(|e| RuleError::new("query.query", e.0))?;
        if !request.query.aggregation.rollups_can_answer() {
            return Err(RuleError::new(
                "query.aggregation",
                "alert rules support avg, min, max, sum and count",
            ));
        }
        for key in request.query.tags.keys().chain(&request.query.group_by) {
            if key.is_empty() || key.chars().any(char::is_control) {
                return Err(RuleError::new("query.tags", "tag keys must be non-empty"));
            }
        }
        if !request.threshold.is_finite() {
            return Err(RuleError::new("threshold", "must be a finite number"));
        }
        let duration = parse_duration("duration", &request.duration)?;
        if duration > limits.max_duration {
            return Err(RuleError::new(
                "duration",
                format!(
                    "must be at most {}",
                    humantime::format_duration(limits.max_duration)
                ),
            ));
        }
        if let Some(window) = &request.query.window {
            let window = parse_duration("query.window", window)?;
            if window.is_zero() {
                return Err(RuleError::new("query.window", "must be longer than zero"));
            }
        }
        let spec = RuleSpec {
            name,
            query: request.query,
            condition: request.condition,
            threshold: request.threshold,
            duration: request.duration.trim().to_string(),
            severity: request.severity,
            enabled: request.enabled,
            notification: Notification {
                channel: request.notification.channel,
                target: request.notification.target.trim().to_string(),
            },
            no_data: request.no_data,
        };
        spec.window(limits)?;
        check_target(&spec.notification, limits.allow_private_targets)?;
        Ok(spec)
    }

    /// The lookback window: the explicit `query.window`, else the duration, raised to
    /// the configured minimum and refused above the maximum.
    pub fn window(&self, limits: &RuleLimits) -> Result<Duration, RuleError> {
        let asked = match &self.query.window {
            Some(w) => parse_duration("query.window", w)?,
            None => parse_duration("duration", &self.duration)?,
        };
        let window = asked.max(limits.min_window);
        if window > limits.max_window {
            return Err(RuleError::new(
                "query.window",
                format!(
                    "the window must be at most {}",
                    humantime::format_duration(limits.max_window)
                ),
            ));
        }
        Ok(window)
    }
}

impl AlertRule {
    /// Builds a stored rule; the spec was validated when it was written.
    pub fn new(
        id: Uuid,
        owner_id: Option<Uuid>,
        version: i64,
        spec: RuleSpec,
        limits: &RuleLimits,
    ) -> Result<AlertRule, RuleError> {
        let duration = parse_duration("duration", &spec.duration)?;
        let window = spec.window(limits)?;
        Ok(AlertRule {
            id,
            owner_id,
            version,
            spec,
            duration,
            window,
        })
    }

    /// The labels every notification of this rule carries besides the instance's own.
    pub fn base_labels(&self) -> Labels {
        let mut labels = Labels::new();
        labels.insert("alertname".into(), self.spec.name.clone());
        labels.insert("severity".into(), self.spec.severity.as_str().into());
        labels
    }
}

fn parse_duration(field: &'static str, raw: &str) -> Result<Duration, RuleError> {
    humantime::parse_duration(raw.trim()).map_err(|_| {
        RuleError::new(
            field,
            format!("{raw:?} is not a duration such as 30s, 5m or 1h"),
        )
    })
}

/// Checks the notification target's syntax; for webhooks also refuses IP literals in
/// private ranges when those are not allowed (host names are checked on delivery,
/// against the addresses they resolve to).
fn check_target(notification: &Notification, allow_private: bool) -> Result<(), RuleError> {
    let target = &notification.target;
    match notification.channel {
        Channel::Email => {
            if target.len() > 254
                || target.chars().any(|c| c.is_control() || c.is_whitespace())
                || target.parse::<lettre::Address>().is_err()
            {
                return Err(RuleError::new(
                    "notification.target",
                    format!("{target:?} is not an email address"),
                ));
            }
        }
        Channel::Webhook => {
            let url = url::Url::parse(target).map_err(|e| {
                RuleError::new(
                    "notification.target",
                    format!("{target:?} is not a URL: {e}"),
                )
            })?;
            if url.scheme() != "http" && url.scheme() != "https" {
                return Err(RuleError::new(
                    "notification.target",
                    "webhook URLs must be http or https",
                ));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(RuleError::new(
                    "notification.target",
                    "credentials in webhook URLs are not accepted",
                ));
            }
            let ip = match url.host() {
                None => {
                    return Err(RuleError::new(
                        "notification.target",
                        "webhook URL has no host",
                    ))
                }
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                Some(url::Host::Domain(_)) => None,
            };
            if let Some(ip) = ip {
                if !allow_private && !crate::notify::ssrf::is_public(ip) {
                    return Err(RuleError::new(
                        "notification.target",
                        format!("{ip} is a loopback, private or link-local address; webhooks there are refused (notify.allow_private_targets)"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A silence as clients send it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SilenceRequest {
    /// Silence one rule; absent: every rule whose labels match.
    pub rule_id: Option<Uuid>,
    /// Label equality matchers on the alert's labels (instance labels plus
    /// `alertname` and `severity`); all must match.
    #[serde(default)]
    pub matchers: BTreeMap<String, String>,
    /// RFC 3339; default now.
    pub starts_at: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339.
    pub ends_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub comment: String,
}

/// A validated silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    pub id: Uuid,
    pub rule_id: Option<Uuid>,
    pub matchers: BTreeMap<String, String>,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
    pub comment: String,
    pub created_by: Option<Uuid>,
}

impl Silence {
    pub fn parse(
        request: SilenceRequest,
        created_by: Option<Uuid>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Silence, RuleError> {
        let starts_at = request.starts_at.unwrap_or(now);
        if request.ends_at <= starts_at {
            return Err(RuleError::new("endsAt", "must be after startsAt"));
        }
        if request.ends_at <= now {
            return Err(RuleError::new("endsAt", "must be in the future"));
        }
        if request.rule_id.is_none() && request.matchers.is_empty() {
            return Err(RuleError::new(
                "matchers",
                "a silence needs a ruleId or at least one matcher (it would silence everything)",
            ));
        }
        if request.comment.len() > 1000 {
            return Err(RuleError::new("comment", "must be at most 1000 bytes"));
        }
        Ok(Silence {
            id: Uuid::new_v4(),
            rule_id: request.rule_id,
            matchers: request.matchers,
            starts_at,
            ends_at: request.ends_at,
            comment: request.comment,
            created_by,
        })
    }

    /// Whether this silence mutes an alert of `rule` with these (full) labels at `at`.
    pub fn mutes(&self, rule: Uuid, labels: &Labels, at: chrono::DateTime<chrono::Utc>) -> bool {
        self.starts_at <= at
            && at < self.ends_at
            && self.rule_id.is_none_or(|r| r == rule)
            && self.matchers.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RuleLimits {
        RuleLimits {
            min_window: Duration::from_secs(60),
            max_window: Duration::from_secs(86_400),
            max_duration: Duration::from_secs(86_400),
            max_name_len: 200,
            allow_private_targets: false,
        }
    }

    fn request(body: Value) -> RuleRequest {
        serde_json::from_value(body).unwrap()
    }

    fn valid() -> Value {
        json!({"name": "CPU high", "query": {"query": "cpu.usage", "tags": {"host": "a"}},
               "condition": "gt", "threshold": 80, "duration": "5m", "severity": "critical",
               "notification": {"type": "email", "target": "ops@example.com"}})
    }

    #[test]
    fn a_valid_rule_parses_with_defaults() {
        let spec = RuleSpec::parse(request(valid()), &limits()).unwrap();
        assert!(spec.enabled);
        assert_eq!(spec.no_data, NoDataPolicy::Ok);
        assert_eq!(spec.query.aggregation, Aggregation::Avg);
        assert_eq!(spec.window(&limits()).unwrap(), Duration::from_secs(300));
    }

    #[test]
    fn the_window_is_at_least_the_minimum() {
        let mut body = valid();
        body["duration"] = json!("10s");
        let spec = RuleSpec::parse(request(body), &limits()).unwrap();
        assert_eq!(spec.window(&limits()).unwrap(), Duration::from_secs(60));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            ("duration", json!("five minutes"), "duration"),
            ("threshold", json!(null), "threshold"),
            ("name", json!(" "), "name"),
        ];
        for (key, value, field) in cases {
            let mut body = valid();
            body[key] = value;
            match serde_json::from_value::<RuleRequest>(body) {
                Ok(req) => assert_eq!(RuleSpec::parse(req, &limits()).unwrap_err().field, field),
                Err(_) => assert_eq!(field, "threshold"),
            }
        }
        let mut body = valid();
        body["query"]["query"] = json!("bad name");
        assert_eq!(
            RuleSpec::parse(request(body), &limits()).unwrap_err().field,
            "query.query"
        );
        let mut body = valid();
        body["query"]["aggregation"] = json!("p99");
        assert_eq!(
            RuleSpec::parse(request(body), &limits()).unwrap_err().field,
            "query.aggregation"
        );
        for target in ["not an address", "a@b\r\nBcc: x@y", ""] {
            let mut body = valid();
            body["notification"]["target"] = json!(target);
            assert_eq!(
                RuleSpec::parse(request(body), &limits()).unwrap_err().field,
                "notification.target",
                "{target:?}"
            );
        }
    }

    #[test]
    fn webhook_targets_are_checked() {
        for (target, ok) in [
            ("http://hooks.example.com/x", true),
            ("http://8.8.8.8/x", true),
            ("ftp://example.com/", false),
            ("http://127.0.0.1:9000/", false),
            ("http://10.1.2.3/", false),
            ("http://[::1]/", false),
            ("http://169.254.169.254/latest/meta-data", false),
            ("http://user:pw@example.com/", false),
            ("not a url", false),
        ] {
            let mut body = valid();
            body["notification"] = json!({"type": "webhook", "target": target});
            assert_eq!(
                RuleSpec::parse(request(body), &limits()).is_ok(),
                ok,
                "{target}"
            );
        }
        let mut allow = limits();
        allow.allow_private_targets = true;
        let mut body = valid();
        body["notification"] = json!({"type": "webhook", "target": "http://127.0.0.1:9/"});
        assert!(RuleSpec::parse(request(body), &allow).is_ok());
    }

    #[test]
    fn silences_match_rule_and_labels_in_their_time() {
        let now = chrono::Utc::now();
        let rule = Uuid::new_v4();
        let silence = Silence::parse(
            serde_json::from_value(json!({"matchers": {"host": "a"},
                "endsAt": (now + chrono::Duration::minutes(5)).to_rfc3339()}))
            .unwrap(),
            None,
            now,
        )
        .unwrap();
        let mut labels = Labels::new();
        labels.insert("host".into(), "a".into());
        assert!(silence.mutes(rule, &labels, now));
        assert!(!silence.mutes(rule, &labels, now + chrono::Duration::minutes(6)));
        labels.insert("host".into(), "b".into());
        assert!(!silence.mutes(rule, &labels, now));
        let everything = serde_json::from_value::<SilenceRequest>(
            json!({"endsAt": (now + chrono::Duration::minutes(5)).to_rfc3339()}),
        )
        .unwrap();
        assert!(Silence::parse(everything, None, now).is_err());
    }
}
