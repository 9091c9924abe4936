//! The state machine of one alert instance, with Prometheus semantics:
//! `ok -> pending` when the condition first holds, `pending -> firing` once it has held
//! for the rule's `duration` (measured from the evaluation that first saw it),
//! `pending -> ok` silently when it stops holding before that, and `firing -> ok` (a
//! resolution) when it stops holding. Only `Fired` and `Resolved` are notified and
//! recorded as events; pending changes are persisted so a restart keeps `pending_since`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::alert::NoDataPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    #[default]
    Ok,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Ok => "ok",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }

    pub fn parse(text: &str) -> Option<AlertState> {
        match text {
            "ok" => Some(AlertState::Ok),
            "pending" => Some(AlertState::Pending),
            "firing" => Some(AlertState::Firing),
            _ => None,
        }
    }
}

/// What one evaluation saw for an instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    Value(f64),
    NoData,
}

/// A transition worth an event and a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Fired,
    Resolved,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Fired => "firing",
            Transition::Resolved => "resolved",
        }
    }
}

/// The persisted state of one instance. Times are ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceState {
    pub state: AlertState,
    pub pending_since: Option<i64>,
    pub firing_since: Option<i64>,
    pub last_value: Option<f64>,
    pub last_evaluated: Option<i64>,
}

impl InstanceState {
    /// The next state after observing `observation` at `now_ms`, and the transition
    /// to notify, if any. `holds` is the rule's condition.
    pub fn step(
        self,
        observation: Observation,
        holds: impl Fn(f64) -> bool,
        duration: Duration,
        no_data: NoDataPolicy,
        now_ms: i64,
    ) -> (InstanceState, Option<Transition>) {
        let condition = match observation {
            Observation::Value(v) => holds(v),
            Observation::NoData => match no_data {
                NoDataPolicy::Ok => false,
                NoDataPolicy::Alerting => true,
                NoDataPolicy::Keep => {
                    return (
                        InstanceState {
                            last_value: None,
                            last_evaluated: Some(now_ms),
                            ..self
                        },
                        None,
                    )
                }
            },
        };
        let value = match observation {
            Observation::Value(v) => Some(v),
            Observation::NoData => None,
        };
        let base = InstanceState {
            last_value: value,
            last_evaluated: Some(now_ms),
            ..self
        };
        let for_ms = duration.as_millis().min(i64::MAX as u128) as i64;
        match (self.state, condition) {
            (AlertState::Ok, false) => (base, None),
            (AlertState::Ok, true) if for_ms == 0 => (
                InstanceState {
                    state: AlertState::Firing,
                    pending_since: Some(now_ms),
                    firing_since: Some(now_ms),
                    ..base
                },
                Some(Transition::Fired),
            ),
            (AlertState::Ok, true) => (
                InstanceState {
                    state: AlertState::Pending,
                    pending_since: Some(now_ms),
                    firing_since: None,
                    ..base
                },
                None,
            ),
            (AlertState::Pending, true) => {
                let since = self.pending_since.unwrap_or(now_ms);
                if now_ms - since >= for_ms {
                    (
                        InstanceState {
                            state: AlertState::Firing,
                            pending_since: Some(since),
                            firing_since: Some(now_ms),
                            ..base
                        },
                        Some(Transition::Fired),
                    )
                } else {
                    (
                        InstanceState {
                            pending_since: Some(since),
                            ..base
                        },
                        None,
                    )
                }
            }
            (AlertState::Pending, false) => (
                InstanceState {
                    state: AlertState::Ok,
                    pending_since: None,
                    firing_since: None,
                    ..base
                },
                None,
            ),
            (AlertState::Firing, true) => (base, None),
            (AlertState::Firing, false) => (
                InstanceState {
                    state: AlertState::Ok,
                    pending_since: None,
                    firing_since: None,
                    ..base
                },
                Some(Transition::Resolved),
            ),
        }
    }

    /// Whether the persisted record (PostgreSQL) must be rewritten: the state or its
    /// start times changed. A new value alone only goes to the Redis mirror.
    pub fn record_differs(&self, other: &InstanceState) -> bool {
        self.state != other.state
            || self.pending_since != other.pending_since
            || self.firing_since != other.firing_since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOR: Duration = Duration::from_secs(5);

    fn run(
        steps: &[(i64, Observation)],
        no_data: NoDataPolicy,
    ) -> Vec<(AlertState, Option<Transition>)> {
        let mut state = InstanceState::default();
        steps
            .iter()
            .map(|&(t, obs)| {
                let (next, transition) = state.step(obs, |v| v > 10.0, FOR, no_data, t);
                state = next;
                (next.state, transition)
            })
            .collect()
    }

    use AlertState::*;
    use Observation::*;

    #[test]
    fn fires_only_once_the_condition_held_for_the_duration() {
        let seen = run(
            &[
                (0, Value(11.0)),
                (4_000, Value(12.0)),
                (4_999, Value(12.0)),
                (5_000, Value(12.0)),
                (6_000, Value(13.0)),
            ],
            NoDataPolicy::Ok,
        );
        assert_eq!(
            seen,
            vec![
                (Pending, None),
                (Pending, None),
                (Pending, None),
                (Firing, Some(Transition::Fired)),
                (Firing, None)
            ]
        );
    }

    #[test]
    fn a_pending_alert_that_recovers_never_fires_and_restarts_its_clock() {
        let seen = run(
            &[
                (0, Value(11.0)),
                (3_000, Value(1.0)),
                (4_000, Value(11.0)),
                (8_000, Value(11.0)),
                (9_000, Value(11.0)),
            ],
            NoDataPolicy::Ok,
        );
        assert_eq!(
            seen,
            vec![
                (Pending, None),
                (Ok, None),
                (Pending, None),
                (Pending, None),
                (Firing, Some(Transition::Fired))
            ]
        );
    }

    #[test]
    fn resolves_once() {
        let seen = run(
            &[
                (0, Value(11.0)),
                (5_000, Value(11.0)),
                (6_000, Value(1.0)),
                (7_000, Value(1.0)),
            ],
            NoDataPolicy::Ok,
        );
        assert_eq!(seen[2], (Ok, Some(Transition::Resolved)));
        assert_eq!(seen[3], (Ok, None));
    }

    #[test]
    fn zero_duration_fires_at_once() {
        let (next, t) = InstanceState::default().step(
            Value(11.0),
            |v| v > 10.0,
            Duration::ZERO,
            NoDataPolicy::Ok,
            7,
        );
        assert_eq!(
            (next.state, t, next.firing_since),
            (Firing, Some(Transition::Fired), Some(7))
        );
    }

    #[test]
    fn no_data_follows_the_policy() {
        let firing = [(0, Value(11.0)), (5_000, Value(11.0)), (6_000, NoData)];
        assert_eq!(
            run(&firing, NoDataPolicy::Ok)[2],
            (Ok, Some(Transition::Resolved))
        );
        assert_eq!(run(&firing, NoDataPolicy::Keep)[2], (Firing, None));
        assert_eq!(run(&firing, NoDataPolicy::Alerting)[2], (Firing, None));
        let silent = [(0, NoData), (5_000, NoData)];
        assert_eq!(
            run(&silent, NoDataPolicy::Alerting)[1],
            (Firing, Some(Transition::Fired))
        );
        assert_eq!(run(&silent, NoDataPolicy::Keep)[1], (Ok, None));
    }

    #[test]
    fn a_restored_pending_state_keeps_its_start() {
        let restored = InstanceState {
            state: Pending,
            pending_since: Some(1_000),
            ..Default::default()
        };
        let (next, t) = restored.step(Value(11.0), |v| v > 10.0, FOR, NoDataPolicy::Ok, 6_000);
        assert_eq!(
            (next.state, t, next.pending_since),
            (Firing, Some(Transition::Fired), Some(1_000))
        );
        let firing = InstanceState {
            state: Firing,
            pending_since: Some(0),
            firing_since: Some(5_000),
            ..Default::default()
        };
        let (next, t) = firing.step(Value(11.0), |v| v > 10.0, FOR, NoDataPolicy::Ok, 60_000);
        assert_eq!(
            (next.state, t, next.firing_since),
            (Firing, None, Some(5_000))
        );
    }
}
