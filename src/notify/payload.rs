//! What a notification says. The outbox stores a [`NotificationPayload`] written in the
//! same transaction as the transition; the webhook body (Alertmanager webhook v4, so
//! existing receivers work) and the email are rendered from it on delivery.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::Labels;

/// One transition of one alert instance, as queued in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPayload {
    pub rule_id: Uuid,
    pub rule_name: String,
    pub severity: String,
    /// "firing" or "resolved".
    pub status: String,
    /// Instance labels plus `alertname` and `severity`.
    pub labels: Labels,
    pub value: Option<f64>,
    pub threshold: f64,
    /// e.g. ">".
    pub condition: String,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the transition happened.
    pub at: chrono::DateTime<chrono::Utc>,
    pub event_id: i64,
    /// Link to the rule.
    pub rule_url: String,
}

impl NotificationPayload {
    /// Alertmanager's fingerprint role: stable per alert instance.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(serde_json::to_vec(&self.labels).unwrap_or_default());
        hex::encode(&digest[..8])
    }

    fn value_text(&self) -> String {
        self.value
            .map(|v| format!("{v}"))
            .unwrap_or_else(|| "no data".into())
    }

    /// The Alertmanager webhook v4 body, with `idempotencyKey` (the outbox id) added:
    /// receivers ignore unknown fields, and a receiver that sees the same key twice
    /// (a retry after a lost answer) can drop the repeat.
    pub fn webhook_body(&self, notification_id: Uuid, external_url: &str) -> Value {
        let annotations = json!({
            "summary": format!("{} {} {}", self.rule_name, self.condition, self.threshold),
            "value": self.value_text(),
            "threshold": self.threshold.to_string(),
            "description": format!("value {} {} threshold {}", self.value_text(), self.condition, self.threshold),
        });
        let ends_at = self
            .ends_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".into());
        json!({
            "version": "4",
            "groupKey": format!("{{}}:{{alertname={:?}, ruleId=\"{}\"}}", self.rule_name, self.rule_id),
            "truncatedAlerts": 0,
            "status": self.status,
            "receiver": "vigil",
            "groupLabels": {"alertname": self.rule_name},
            "commonLabels": self.labels,
            "commonAnnotations": annotations,
            "externalURL": external_url,
            "alerts": [{
                "status": self.status,
                "labels": self.labels,
                "annotations": annotations,
                "startsAt": self.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "endsAt": ends_at,
                "generatorURL": self.rule_url,
                "fingerprint": self.fingerprint(),
            }],
            "idempotencyKey": notification_id.to_string(),
        })
    }

    /// `[CRITICAL] rule name` (plus RESOLVED), without any control character: a rule
    /// name cannot add header lines (lettre encodes the header as well).
    pub fn email_subject(&self) -> String {
        let name: String = self
            .rule_name
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let resolved = if self.status == "resolved" {
            " RESOLVED"
        } else {
            ""
        };
        format!("[{}]{resolved} {name}", self.severity.to_uppercase())
    }

    pub fn email_body(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("  {k} = {v}"))
            .collect();
        format!(
            "Alert {status}: {name}\n\nValue:     {value}\nCondition: value {cond} {threshold}\nSeverity:  {severity}\nSince:     {since}\nAt:        {at}\n\nLabels:\n{labels}\n\nRule: {url}\n",
            status = self.status,
            name = self.rule_name,
            value = self.value_text(),
            cond = self.condition,
            threshold = self.threshold,
            severity = self.severity,
            since = self.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            at = self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            labels = labels.join("\n"),
            url = self.rule_url,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(name: &str) -> NotificationPayload {
        let mut labels = Labels::new();
        labels.insert("alertname".into(), name.into());
        labels.insert("host".into(), "a".into());
        NotificationPayload {
            rule_id: Uuid::nil(),
            rule_name: name.into(),
            severity: "critical".into(),
            status: "firing".into(),
            labels,
            value: Some(91.5),
            threshold: 80.0,
            condition: ">".into(),
            starts_at: chrono::Utc::now(),
            ends_at: None,
            at: chrono::Utc::now(),
            event_id: 1,
            rule_url: "http://vigil/api/v1/alerts/rules/x".into(),
        }
    }

    #[test]
    fn the_subject_cannot_carry_header_lines() {
        let subject = payload("CPU\r\nBcc: victim@example.com").email_subject();
        assert_eq!(subject, "[CRITICAL] CPU  Bcc: victim@example.com");
        assert!(!subject.contains('\n') && !subject.contains('\r'));
    }

    #[test]
    fn the_webhook_body_has_the_alertmanager_shape() {
        let id = Uuid::new_v4();
        let body = payload("CPU").webhook_body(id, "http://vigil");
        assert_eq!(body["version"], "4");
        assert_eq!(body["status"], "firing");
        assert_eq!(body["alerts"][0]["labels"]["host"], "a");
        assert_eq!(body["alerts"][0]["annotations"]["value"], "91.5");
        assert_eq!(body["idempotencyKey"], id.to_string());
        assert_eq!(body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    }
}
