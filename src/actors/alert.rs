//! `AlertActor`: one per rule this instance holds the lease of; it owns that rule's
//! alert state (every instance's state, pending-since, firing-since, last value).
//!
//! Takes [`EvaluateRule`] from the `AlertSupervisor` once per tick, with the window data
//! the supervisor read for all rules at once and the current silences. It plans the
//! evaluation (`alerting::plan`, pure), then writes changed instance records, events
//! and outbox rows in one fenced transaction (`store::alerts::write_state`), mirrors the
//! states to Redis, and tells the notifiers ([`DeliverDue`]) that there is work.
//! Takes [`StopRule`] from the supervisor when the rule is deleted, disabled, edited
//! (a new actor takes the new version) or its lease is lost.
//!
//! On start (and so on every restart, or when another instance took the rule over) it
//! restores the states from PostgreSQL before it handles any message: a firing alert
//! does not fire again and a pending one keeps its pending-since. If the write fails the
//! in-memory state is left as it was, so the next tick plans the same transition again;
//! if the lease was lost (the fence) the actor stops and the transition is the new
//! holder's. A panic while planning is caught, counted and logged; the rule is
//! evaluated again next tick, and other rules never notice.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;
use serde::Serialize;
use sqlx::PgPool;

use crate::actors::notifier::DeliverDue;
use crate::alerting::plan::{key_of, plan};
use crate::alerting::{AlertState, InstanceState, WindowData};
use crate::config::Settings;
use crate::model::alert::{AlertRule, Silence};
use crate::model::Labels;
use crate::store::alerts::{self, EventWrite, Fence, InstanceWrite, StateWriteError};
use crate::store::redis::RedisStore;
use crate::telemetry::Metrics;

/// Evaluate the rule over this tick's data.
#[derive(Message)]
#[rtype(result = "Result<RuleOutcome, EvaluationError>")]
pub struct EvaluateRule {
    pub at_ms: i64,
    pub data: Arc<WindowData>,
    pub silences: Arc<Vec<Silence>>,
}

/// Stop evaluating (rule gone, changed or lease lost).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRule;

/// What one evaluation found.
#[derive(Debug, Clone, Copy)]
pub struct RuleOutcome {
    /// The worst state among the rule's instances.
    pub worst: AlertState,
    pub transitions: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    #[error("planning the evaluation panicked")]
    Panicked,
    #[error(transparent)]
    Write(#[from] StateWriteError),
}

impl EvaluationError {
    pub fn reason(&self) -> &'static str {
        match self {
            EvaluationError::Panicked => "panic",
            EvaluationError::Write(StateWriteError::Fenced(_)) => "fenced",
            EvaluationError::Write(StateWriteError::Database(_)) => "state_write",
        }
    }
}

/// Handles every rule actor shares.
#[derive(Clone)]
pub struct AlertDeps {
    pub settings: Arc<Settings>,
    pub pg: PgPool,
    pub redis: RedisStore,
    pub metrics: Arc<Metrics>,
    /// Woken after outbox rows were committed.
    pub notifiers: Vec<Recipient<DeliverDue>>,
}

/// The Redis mirror of one instance (what `GET /alerts/rules/{id}` shows live).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MirroredInstance {
    pub labels: Labels,
    #[serde(flatten)]
    pub state: InstanceState,
}

pub struct AlertActor {
    rule: Arc<AlertRule>,
    fence: Fence,
    deps: AlertDeps,
    /// Non-ok instances; absent means ok.
    instances: BTreeMap<Labels, InstanceState>,
    /// Last values of every instance seen last tick (ok ones included), for the mirror.
    mirror: Vec<MirroredInstance>,
}

impl AlertActor {
    pub fn new(rule: Arc<AlertRule>, epoch: i64, holder: String, deps: AlertDeps) -> AlertActor {
        AlertActor {
            fence: Fence {
                rule_id: rule.id,
                holder,
                epoch,
            },
            rule,
            deps,
            instances: BTreeMap::new(),
            mirror: Vec::new(),
        }
    }
}

impl Actor for AlertActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4);
        let (pg, rule_id) = (self.deps.pg.clone(), self.rule.id);
        // `wait`: no evaluation runs before the state is restored.
        ctx.wait(
            async move { alerts::load_instances(&pg, rule_id).await }
                .into_actor(self)
                .map(|restored, actor, ctx| match restored {
                    Ok(rows) => {
                        actor.instances = rows.into_iter().collect();
                    }
                    Err(error) => {
                        tracing::warn!(%error, rule = %actor.rule.id, "Cannot restore the alert state; the rule actor stops and is started again next tick.");
                        actor.deps.metrics.alerting.evaluation_failures.with_label_values(&["restore"]).inc();
                        ctx.stop();
                    }
                }),
        );
    }
}

impl Handler<StopRule> for AlertActor {
    type Result = ();

    fn handle(&mut self, _: StopRule, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<EvaluateRule> for AlertActor {
    type Result = AtomicResponse<Self, Result<RuleOutcome, EvaluationError>>;

    #[tracing::instrument(name = "evaluate_rule", skip_all, fields(rule = %self.rule.id))]
    fn handle(&mut self, msg: EvaluateRule, _: &mut Self::Context) -> Self::Result {
        let metrics = self.deps.metrics.clone();
        metrics.alerting.evaluations.inc();
        let rule = self.rule.clone();
        let planned =
            catch_panic(|| plan(&rule, &self.instances, &msg.data, &msg.silences, msg.at_ms));
        let plans = match planned {
            Ok(plans) => plans,
            Err(_) => {
                tracing::error!(rule = %rule.id, "Evaluating an alert rule panicked; it is retried next tick.");
                metrics
                    .alerting
                    .evaluation_failures
                    .with_label_values(&["panic"])
                    .inc();
                return AtomicResponse::new(Box::pin(fut::ready(Err(EvaluationError::Panicked))));
            }
        };
        let settings = &self.deps.settings;
        let writes: Vec<InstanceWrite> = plans
            .iter()
            .filter(|p| p.needs_write())
            .map(|p| InstanceWrite {
                key: key_of(p),
                labels: p.labels.clone(),
                state: p.after,
            })
            .collect();
        let events: Vec<EventWrite> = plans
            .iter()
            .filter_map(|p| {
                let transition = p.transition?;
                Some(EventWrite {
                    labels: p.full_labels(&rule),
                    transition,
                    value: p.after.last_value,
                    at_ms: msg.at_ms,
                    since_ms: match transition {
                        crate::alerting::Transition::Fired => p.after.pending_since,
                        crate::alerting::Transition::Resolved => p.before.firing_since,
                    },
                    silenced: p.silenced,
                    notification: p
                        .payload(&rule, &settings.notify.external_url, msg.at_ms)
                        .map(|payload| {
                            (
                                rule.spec.notification.channel.as_str().to_string(),
                                rule.spec.notification.target.clone(),
                                payload,
                            )
                        }),
                })
            })
            .collect();
        let transitions = events.len();
        let next: BTreeMap<Labels, InstanceState> = plans
            .iter()
            .filter(|p| p.after.state != AlertState::Ok)
            .map(|p| (p.labels.clone(), p.after))
            .collect();
        let worst = next.values().map(|s| s.state).max_by_key(|s| match s {
            AlertState::Ok => 0,
            AlertState::Pending => 1,
            AlertState::Firing => 2,
        });
        let mirror: Vec<MirroredInstance> = plans
            .iter()
            .map(|p| MirroredInstance {
                labels: p.labels.clone(),
                state: p.after,
            })
            .collect();
        let fired: Vec<&'static str> = plans
            .iter()
            .filter_map(|p| p.transition.map(|t| t.as_str()))
            .collect();

        let (pg, fence, give_up) = (
            self.deps.pg.clone(),
            self.fence.clone(),
            settings.notify.give_up_after,
        );
        let (name, threshold, severity) = (
            rule.spec.name.clone(),
            rule.spec.threshold,
            rule.spec.severity.as_str(),
        );
        let write = async move {
            if writes.is_empty() && events.is_empty() {
                return Ok(Vec::new());
            }
            alerts::write_state(
                &pg, &fence, &name, threshold, severity, &writes, events, give_up,
            )
            .await
        };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(move |written, actor, ctx| {
            match written {
                Ok(outbox) => {
                    actor.instances = next;
                    actor.mirror = mirror;
                    for state in fired {
                        actor.deps.metrics.alerting.transitions.with_label_values(&[state]).inc();
                    }
                    if !outbox.is_empty() {
                        for notifier in &actor.deps.notifiers {
                            notifier.do_send(DeliverDue);
                        }
                    }
                    actor.write_mirror(ctx);
                    Ok(RuleOutcome { worst: worst.unwrap_or(AlertState::Ok), transitions })
                }
                Err(error) => {
                    let error = EvaluationError::from(error);
                    actor.deps.metrics.alerting.evaluation_failures.with_label_values(&[error.reason()]).inc();
                    if matches!(error, EvaluationError::Write(StateWriteError::Fenced(_))) {
                        tracing::info!(rule = %actor.rule.id, "Lost the lease on a rule; another instance evaluates it now.");
                        ctx.stop();
                    } else {
                        tracing::warn!(%error, rule = %actor.rule.id, "Could not record an alert evaluation; it is retried next tick.");
                    }
                    Err(error)
                }
            }
        })))
    }
}

/// Runs `f`, turning a panic into [`EvaluationError::Panicked`]: the actor (and its
/// state) survives a bug in planning one evaluation.
fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, EvaluationError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| EvaluationError::Panicked)
}

impl AlertActor {
    /// Mirrors the states to Redis (best effort: the record is PostgreSQL).
    fn write_mirror(&self, ctx: &mut Context<Self>) {
        let Ok(json) = serde_json::to_string(&self.mirror) else {
            return;
        };
        let redis = self.deps.redis.clone();
        let key = redis.alert_state_key(&self.rule.id);
        // Outlives a few missed ticks; a deleted rule's mirror expires by itself.
        let ttl = (self.deps.settings.alerts.evaluation_interval * 10)
            .max(std::time::Duration::from_secs(60));
        ctx.spawn(async move { redis.set_ex(&key, &json, ttl).await }.into_actor(self));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_planning_becomes_an_error() {
        let caught = catch_panic(|| -> u32 { panic!("a bug in planning") });
        assert!(matches!(caught, Err(EvaluationError::Panicked)));
        assert_eq!(catch_panic(|| 7).ok(), Some(7));
    }
}
