//! One evaluation of one rule, pure: from the instances' current states, the values
//! this tick found and the current silences, to the next states, the records to write
//! and the events (with their notifications) to record. The `AlertActor` writes the
//! plan; the evaluate endpoint only shows it.

use std::collections::BTreeMap;

use chrono::TimeZone;

use super::state::{InstanceState, Observation, Transition};
use super::values::{instance_key, instance_values, WindowData};
use crate::model::alert::{AlertRule, NoDataPolicy, Silence};
use crate::model::Labels;
use crate::notify::payload::NotificationPayload;

/// What one evaluation decided for one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstancePlan {
    pub labels: Labels,
    pub observation: Observation,
    pub before: InstanceState,
    pub after: InstanceState,
    pub transition: Option<Transition>,
    /// Whether a silence mutes this instance now.
    pub silenced: bool,
}

impl InstancePlan {
    /// The record in PostgreSQL must change (state or its start times).
    pub fn needs_write(&self) -> bool {
        self.after.record_differs(&self.before) || self.transition.is_some()
    }

    /// The labels notifications carry: the instance's plus `alertname` and `severity`.
    pub fn full_labels(&self, rule: &AlertRule) -> Labels {
        let mut labels = self.labels.clone();
        labels.extend(rule.base_labels());
        labels
    }

    /// The notification of this instance's transition, unless silenced.
    pub fn payload(
        &self,
        rule: &AlertRule,
        external_url: &str,
        now_ms: i64,
    ) -> Option<NotificationPayload> {
        let transition = self.transition?;
        if self.silenced {
            return None;
        }
        let time = |ms: i64| {
            chrono::Utc
                .timestamp_millis_opt(ms)
                .single()
                .unwrap_or_else(chrono::Utc::now)
        };
        let (starts, ends) = match transition {
            Transition::Fired => (self.after.firing_since.unwrap_or(now_ms), None),
            Transition::Resolved => (
                self.before.firing_since.unwrap_or(now_ms),
                Some(time(now_ms)),
            ),
        };
        Some(NotificationPayload {
            rule_id: rule.id,
            rule_name: rule.spec.name.clone(),
            severity: rule.spec.severity.as_str().into(),
            status: transition.as_str().into(),
            labels: self.full_labels(rule),
            value: self.after.last_value,
            threshold: rule.spec.threshold,
            condition: rule.spec.condition.symbol().into(),
            starts_at: time(starts),
            ends_at: ends,
            at: time(now_ms),
            event_id: 0,
            rule_url: format!(
                "{}/api/v1/alerts/rules/{}",
                external_url.trim_end_matches('/'),
                rule.id
            ),
        })
    }
}

/// Evaluates `rule` over `data` at `now_ms` against the `current` instance states.
/// Instances that had state and have no data now get `NoData`; a rule that matched no
/// series at all has one instance `{}` with `NoData` (so `noData: alerting` works).
pub fn plan(
    rule: &AlertRule,
    current: &BTreeMap<Labels, InstanceState>,
    data: &WindowData,
    silences: &[Silence],
    now_ms: i64,
) -> Vec<InstancePlan> {
    let q = &rule.spec.query;
    let values = instance_values(data, &q.query, &q.tags, &q.group_by, q.aggregation);
    let mut observations: BTreeMap<Labels, (Observation, NoDataPolicy)> = values
        .iter()
        .map(|(labels, v)| (labels.clone(), (Observation::Value(*v), rule.spec.no_data)))
        .collect();
    let empty = Labels::new();
    for labels in current.keys() {
        if !observations.contains_key(labels) {
            // The `{}` stand-in of a grouped rule that has data again is over: its
            // series speak for themselves now.
            let policy = if labels == &empty && !values.is_empty() {
                NoDataPolicy::Ok
            } else {
                rule.spec.no_data
            };
            observations.insert(labels.clone(), (Observation::NoData, policy));
        }
    }
    if values.is_empty() && !observations.contains_key(&empty) {
        observations.insert(empty.clone(), (Observation::NoData, rule.spec.no_data));
    }
    let now = chrono::Utc
        .timestamp_millis_opt(now_ms)
        .single()
        .unwrap_or_else(chrono::Utc::now);
    let (condition, threshold) = (rule.spec.condition, rule.spec.threshold);
    observations
        .into_iter()
        .map(|(labels, (observation, policy))| {
            let before = current.get(&labels).copied().unwrap_or_default();
            let (after, transition) = before.step(
                observation,
                |v| condition.holds(v, threshold),
                rule.duration,
                policy,
                now_ms,
            );
            let mut plan = InstancePlan {
                labels,
                observation,
                before,
                after,
                transition,
                silenced: false,
            };
            let full = plan.full_labels(rule);
            plan.silenced = silences.iter().any(|s| s.mutes(rule.id, &full, now));
            plan
        })
        .collect()
}

/// The instance key of a plan (see [`instance_key`]).
pub fn key_of(plan: &InstancePlan) -> String {
    instance_key(&plan.labels)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::alerting::{AlertState, SeriesWindow};
    use crate::model::alert::{RuleLimits, RuleSpec};

    fn rule(body: serde_json::Value) -> AlertRule {
        let limits = RuleLimits {
            min_window: Duration::from_secs(60),
            max_window: Duration::from_secs(3600),
            max_duration: Duration::from_secs(3600),
            max_name_len: 100,
            allow_private_targets: true,
        };
        let spec = RuleSpec::parse(serde_json::from_value(body).unwrap(), &limits).unwrap();
        AlertRule::new(Uuid::new_v4(), None, 1, spec, &limits).unwrap()
    }

    fn data(points: &[(&str, f64)]) -> WindowData {
        let series = points
            .iter()
            .map(|(host, v)| SeriesWindow {
                labels: [("host".to_string(), host.to_string())]
                    .into_iter()
                    .collect(),
                min: *v,
                max: *v,
                sum: *v,
                count: 1,
            })
            .collect();
        WindowData {
            end_ms: 0,
            by_metric: HashMap::from([("cpu".to_string(), series)]),
            ..Default::default()
        }
    }

    fn grouped() -> AlertRule {
        rule(
            json!({"name": "cpu", "query": {"query": "cpu", "groupBy": ["host"]}, "condition": "gt",
            "threshold": 50, "duration": "0s", "severity": "warning",
            "notification": {"type": "webhook", "target": "http://127.0.0.1:1/"}}),
        )
    }

    #[test]
    fn group_by_gives_each_series_its_own_instance() {
        let plans = plan(
            &grouped(),
            &BTreeMap::new(),
            &data(&[("a", 90.0), ("b", 10.0)]),
            &[],
            1000,
        );
        assert_eq!(plans.len(), 2);
        let fired: Vec<_> = plans
            .iter()
            .filter(|p| p.transition == Some(Transition::Fired))
            .collect();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].labels["host"], "a");
        let payload = fired[0].payload(&grouped(), "http://v", 1000).unwrap();
        assert_eq!(payload.labels["alertname"], "cpu");
        assert_eq!(payload.labels["host"], "a");
    }

    #[test]
    fn a_vanished_instance_gets_no_data_and_silences_mute_notifications() {
        let r = grouped();
        let first = plan(&r, &BTreeMap::new(), &data(&[("a", 90.0)]), &[], 1000);
        let current: BTreeMap<_, _> = first.iter().map(|p| (p.labels.clone(), p.after)).collect();
        let silence = Silence {
            id: Uuid::new_v4(),
            rule_id: Some(r.id),
            matchers: Default::default(),
            starts_at: chrono::Utc::now() - chrono::Duration::hours(1),
            ends_at: chrono::Utc::now() + chrono::Duration::hours(1),
            comment: String::new(),
            created_by: None,
        };
        let now = chrono::Utc::now().timestamp_millis();
        let second = plan(
            &r,
            &current,
            &data(&[("b", 1.0)]),
            std::slice::from_ref(&silence),
            now,
        );
        let a = second
            .iter()
            .find(|p| p.labels.get("host").map(String::as_str) == Some("a"))
            .unwrap();
        assert_eq!(a.observation, Observation::NoData);
        assert_eq!(a.after.state, AlertState::Ok);
        assert_eq!(a.transition, Some(Transition::Resolved));
        assert!(a.silenced && a.payload(&r, "http://v", now).is_none());
    }
}
