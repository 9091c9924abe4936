//! `AlertSupervisor`: starts, restarts and stops one `AlertActor` per rule this
//! instance evaluates, and drives their evaluation ticks.
//!
//! Owns this instance's rule leases (holder id, epochs) and the map rule -> actor.
//! Every `alerts.evaluation_interval` it runs one round: reconcile (load enabled rules,
//! renew its leases and take free or expired ones, load silences; start an actor for a
//! newly held rule, restart one whose rule version or lease epoch changed, stop those
//! deleted, disabled or lost), then read the window data of all its rules (through
//! the slice cache, `alerting::slices`: newly settled slices and the fresh range, two
//! statements for every rule and metric together) and send [`EvaluateRule`] to every
//! actor at once.
//! Between rounds it renews its leases every `alerts.lease_renew_interval`. A tick that
//! finds the previous round still running is skipped and counted as missed.
//!
//! Takes [`RulesChanged`] from the rules API (reconcile now, so an edit on this instance
//! takes effect at once and elsewhere within one interval) and [`ReleaseLeases`] at
//! shutdown (survivors take the rules over at their next renewal instead of waiting
//! for the leases to expire). An actor that died (panic, failed restore) is started
//! again at the next round; it restores its state from PostgreSQL. When the supervisor
//! itself restarts it keeps its fields, so it resumes with the same actors.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use uuid::Uuid;

use crate::actors::alert::{AlertActor, AlertDeps, EvaluateRule, StopRule};
use crate::alerting::slices::{Geometry, RangeRead, SliceCache, SlicePartial, TickPlan};
use crate::alerting::{AlertState, QueryShape, WindowData};
use crate::model::alert::{AlertRule, RuleLimits, Silence};
use crate::store::alerts::{self, ReadLimits};

/// Rules changed through the API: reconcile now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RulesChanged;

/// Give up every lease (shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseLeases;

struct RuleEntry {
    rule: Arc<AlertRule>,
    epoch: i64,
    addr: Addr<AlertActor>,
}

/// What a reconcile read from the database.
struct Snapshot {
    rules: Vec<AlertRule>,
    leases: HashMap<Uuid, i64>,
    silences: Vec<Silence>,
}

pub struct AlertSupervisor {
    deps: AlertDeps,
    /// This process's lease holder id (unique per start).
    holder: String,
    /// Where the rule actors run.
    arbiter: ArbiterHandle,
    limits: RuleLimits,
    actors: HashMap<Uuid, RuleEntry>,
    silences: Arc<Vec<Silence>>,
    /// Window data by slice, kept between rounds.
    cache: SliceCache,
    /// Background reads that finished during a round, applied at its end.
    pending_reads: Vec<(RangeRead, Vec<SlicePartial>)>,
    /// A background read is in flight.
    reading: bool,
    /// A background read came due during a round.
    background_due: bool,
    round_running: bool,
    reconcile_running: bool,
    reconcile_again: bool,
    released: bool,
}

impl AlertSupervisor {
    pub fn new(deps: AlertDeps, arbiter: ArbiterHandle) -> AlertSupervisor {
        let limits = rule_limits(&deps.settings);
        let geometry = geometry(&deps.settings);
        AlertSupervisor {
            holder: format!("{}:{}", hostname(), Uuid::new_v4().simple()),
            deps,
            arbiter,
            limits,
            actors: HashMap::new(),
            silences: Arc::new(Vec::new()),
            cache: SliceCache::new(geometry),
            pending_reads: Vec::new(),
            reading: false,
            background_due: false,
            round_running: false,
            reconcile_running: false,
            reconcile_again: false,
            released: false,
        }
    }

    fn read_snapshot(
        &self,
    ) -> impl std::future::Future<Output = Result<Snapshot, sqlx::Error>> + 'static {
        let (pg, holder, ttl, limits) = (
            self.deps.pg.clone(),
            self.holder.clone(),
            self.deps.settings.alerts.lease_ttl,
            self.limits,
        );
        async move {
            let rows = alerts::list_rules(&pg, true).await?;
            let leases = alerts::acquire_leases(&pg, &holder, ttl).await?;
            let silences = alerts::current_silences(&pg).await?;
            let rules = rows
                .into_iter()
                .filter(|r| leases.contains_key(&r.id))
                .filter_map(|r| match AlertRule::new(r.id, r.owner_id, r.version, r.spec, &limits) {
                    Ok(rule) => Some(rule),
                    Err(error) => {
                        tracing::error!(rule = %r.id, %error, "A stored alert rule no longer validates (configuration changed?); it is not evaluated.");
                        None
                    }
                })
                .collect();
            Ok(Snapshot {
                rules,
                leases,
                silences,
            })
        }
    }

    /// Brings the actor map in line with the snapshot.
    fn apply(&mut self, snapshot: Snapshot) {
        let wanted: BTreeSet<Uuid> = snapshot.rules.iter().map(|r| r.id).collect();
        self.actors.retain(|id, entry| {
            let keep = wanted.contains(id);
            if !keep {
                entry.addr.do_send(StopRule);
            }
            keep
        });
        for rule in snapshot.rules {
            let epoch = snapshot.leases[&rule.id];
            let current = self.actors.get(&rule.id);
            let fresh = current.is_some_and(|e| {
                e.epoch == epoch && e.rule.version == rule.version && e.addr.connected()
            });
            if fresh {
                continue;
            }
            if let Some(old) = self.actors.remove(&rule.id) {
                old.addr.do_send(StopRule);
            }
            let rule = Arc::new(rule);
            let addr = {
                let (rule, holder, deps) = (rule.clone(), self.holder.clone(), self.deps.clone());
                AlertActor::start_in_arbiter(&self.arbiter, move |_| {
                    AlertActor::new(rule, epoch, holder, deps)
                })
            };
            self.actors.insert(rule.id, RuleEntry { rule, epoch, addr });
        }
        self.silences = Arc::new(snapshot.silences);
        self.deps
            .metrics
            .alerting
            .leases_held
            .set(self.actors.len() as i64);
    }

    /// Reconcile outside a round (lease renewal, API changes).
    fn reconcile(&mut self, ctx: &mut Context<Self>) {
        if self.released {
            return;
        }
        if self.reconcile_running || self.round_running {
            self.reconcile_again = true;
            return;
        }
        self.reconcile_running = true;
        ctx.spawn(
            self.read_snapshot()
                .into_actor(self)
                .map(|snapshot, actor, ctx| {
                    actor.reconcile_running = false;
                    match snapshot {
                        Ok(snapshot) => actor.apply(snapshot),
                        Err(error) => {
                            tracing::warn!(%error, "Cannot renew alert rule leases; retrying.")
                        }
                    }
                    if std::mem::take(&mut actor.reconcile_again) {
                        actor.reconcile(ctx);
                    }
                }),
        );
    }

    /// One tick: reconcile, read the data, evaluate every rule.
    fn round(&mut self, ctx: &mut Context<Self>) {
        if self.released {
            return;
        }
        if self.round_running || self.reconcile_running {
            self.deps.metrics.alerting.missed_intervals.inc();
            return;
        }
        self.round_running = true;
        let scheduled = Instant::now();
        let snapshot = self.read_snapshot();
        let round = snapshot
            .into_actor(self)
            .then(move |snapshot, actor, _| {
                match snapshot {
                    Ok(snapshot) => actor.apply(snapshot),
                    Err(error) => {
                        tracing::warn!(%error, "Cannot load alert rules and leases; evaluating the rules held so far.");
                        actor.deps.metrics.alerting.evaluation_failures.with_label_values(&["leases"]).inc();
                    }
                }
                let targets: Vec<(Arc<AlertRule>, Addr<AlertActor>)> =
                    actor.actors.values().map(|e| (e.rule.clone(), e.addr.clone())).collect();
                let now_ms = chrono::Utc::now().timestamp_millis();
                tracing::debug!(ms = scheduled.elapsed().as_millis() as u64, "alert round: rules and leases loaded");
                let metrics: Vec<String> = targets
                    .iter()
                    .map(|(rule, _)| rule.spec.query.query.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let max_window = targets
                    .iter()
                    .map(|(rule, _)| rule.window.as_millis() as i64)
                    .max()
                    .unwrap_or(0);
                actor.cache.retain(&metrics, max_window, now_ms);
                let plan = actor.cache.plan_tick(&metrics, max_window, now_ms);
                let read = read_tick(actor.deps.clone(), metrics, plan);
                async move {
                    let (plan, read) = read.await;
                    (targets, plan, read)
                }
                .into_actor(actor)
            })
            .then(move |(targets, plan, read), actor, _| {
                tracing::debug!(ms = scheduled.elapsed().as_millis() as u64, cold = plan.cold.len(), fresh_from = plan.now_ms - plan.fresh_start_ms, "alert round: window data read");
                let data = match read {
                    Ok((cold, fresh)) => {
                        actor.cache.apply_cold(&plan, cold);
                        // Per window, the query shapes its rules use: each is merged
                        // once here, not once per rule.
                        let mut shapes: HashMap<i64, HashSet<QueryShape>> = HashMap::new();
                        for (rule, _) in &targets {
                            let q = &rule.spec.query;
                            shapes
                                .entry(rule.window.as_millis() as i64)
                                .or_default()
                                .insert(QueryShape::new(&q.query, &q.tags, &q.group_by));
                        }
                        Some(
                            shapes
                                .into_iter()
                                .map(|(w, queries)| {
                                    let mut data = actor.cache.window(w, &plan, &fresh);
                                    data.share_groups(queries);
                                    (w, Arc::new(data))
                                })
                                .collect(),
                        )
                    }
                    Err(error) => {
                        tracing::warn!(%error, "Cannot read alert window data; the rules are evaluated again next tick.");
                        None
                    }
                };
                // Evaluation times are the nearest multiple of the interval, as
                // Prometheus aligns them: ticks a few ms early or late still lie exactly
                // one interval apart, so a `for` of n intervals fires at the n-th tick,
                // never one tick late by jitter.
                tracing::debug!(ms = scheduled.elapsed().as_millis() as u64, "alert round: windows composed");
                let width = actor.deps.settings.alerts.evaluation_interval.as_millis().max(1) as i64;
                let at_ms = (plan.now_ms + width / 2).div_euclid(width) * width;
                evaluate_all(actor.deps.clone(), targets, actor.silences.clone(), data, at_ms)
                    .into_actor(actor)
            });
        ctx.spawn(round.map(move |outcomes, actor, ctx| {
            actor.round_running = false;
            for (read, rows) in std::mem::take(&mut actor.pending_reads) {
                actor.cache.apply_read(&read, rows);
            }
            let metrics = &actor.deps.metrics.alerting;
            let elapsed = scheduled.elapsed().as_secs_f64();
            metrics.round_seconds.observe(elapsed);
            metrics.lag_seconds.set(elapsed);
            let mut by_state: HashMap<&'static str, i64> =
                HashMap::from([("ok", 0), ("pending", 0), ("firing", 0)]);
            for (rule, outcome) in outcomes {
                match outcome {
                    Some(state) => *by_state.entry(state.as_str()).or_default() += 1,
                    None => {
                        // The actor is gone (panicked, failed restore, lost lease): the
                        // next reconcile starts it again if the lease is still ours.
                        if actor.actors.get(&rule).is_some_and(|e| !e.addr.connected()) {
                            actor.actors.remove(&rule);
                        }
                    }
                }
            }
            for (state, count) in by_state {
                metrics.rules.with_label_values(&[state]).set(count);
            }
            if std::mem::take(&mut actor.reconcile_again) {
                actor.reconcile(ctx);
            }
            if std::mem::take(&mut actor.background_due) {
                actor.read_background(ctx);
            }
        }));
    }

    /// Reads the slices that aged past `alerts.recent` or `alerts.settle` since the
    /// last call, off the tick. Results that arrive during a round wait for its end.
    fn read_background(&mut self, ctx: &mut Context<Self>) {
        if self.released || self.reading {
            return;
        }
        // Not during a round: the tick's own read would share the cores with it. It
        // runs when the round ends (skipping it instead would starve it for good when
        // both timers share a period, as with 1 s slices and a 1 s interval).
        if self.round_running {
            self.background_due = true;
            return;
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        let reads = self.cache.plan_background(now_ms);
        let Some(oldest) = reads.iter().map(|r| r.start_ms).min() else {
            return;
        };
        self.reading = true;
        let deps = self.deps.clone();
        let width = self.cache.geometry().width;
        let work = async move {
            let started = Instant::now();
            let (pg, limits) = (&deps.pg, ReadLimits::from_settings(&deps.settings));
            let timeout = limits.timeout;
            if let Err(error) = alerts::summarize_points_index(pg, oldest, now_ms, timeout).await {
                tracing::debug!(%error, "Cannot summarise the newest points index ranges.");
            }
            let mut done = Vec::new();
            for read in reads {
                match alerts::slice_partials(
                    pg,
                    &read.metrics,
                    read.start_ms,
                    read.end_ms,
                    Some(width),
                    limits,
                )
                .await
                {
                    Ok(rows) => done.push((read, rows)),
                    Err(error) => {
                        tracing::warn!(%error, "Cannot read aged alert window slices; retrying.");
                        deps.metrics
                            .alerting
                            .evaluation_failures
                            .with_label_values(&["background_read"])
                            .inc();
                        break;
                    }
                }
            }
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                reads = done.len(),
                "alert background read"
            );
            done
        };
        ctx.spawn(work.into_actor(self).map(|done, actor, _| {
            actor.reading = false;
            if actor.round_running {
                actor.pending_reads.extend(done);
            } else {
                for (read, rows) in done {
                    actor.cache.apply_read(&read, rows);
                }
            }
        }));
    }
}

/// Cold rows (whole windows of metrics not cached yet) and fresh rows.
type TickRows = (Vec<SlicePartial>, Vec<SlicePartial>);

/// The reads a tick does itself: the windows of cold metrics and the fresh range of
/// all, both at once.
async fn read_tick(
    deps: AlertDeps,
    metrics: Vec<String>,
    plan: TickPlan,
) -> (TickPlan, Result<TickRows, sqlx::Error>) {
    let limits = ReadLimits::from_settings(&deps.settings);
    let width = deps.settings.alerts.slice_width.as_millis().max(1) as i64;
    let cold = async {
        if plan.cold.is_empty() {
            return Ok(Vec::new());
        }
        alerts::slice_partials(
            &deps.pg,
            &plan.cold,
            plan.cold_start_ms,
            plan.fresh_start_ms,
            Some(width),
            limits,
        )
        .await
    };
    let fresh = alerts::slice_partials(
        &deps.pg,
        &metrics,
        plan.fresh_start_ms,
        plan.now_ms + 1,
        Some(width),
        limits,
    );
    let read = match futures_util::future::join(cold, fresh).await {
        (Ok(cold), Ok(fresh)) => Ok((cold, fresh)),
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    (plan, read)
}

/// Evaluates every rule concurrently on its window's data. Returns each rule's worst
/// state, `None` where the evaluation failed.
async fn evaluate_all(
    deps: AlertDeps,
    targets: Vec<(Arc<AlertRule>, Addr<AlertActor>)>,
    silences: Arc<Vec<Silence>>,
    data: Option<HashMap<i64, Arc<WindowData>>>,
    at_ms: i64,
) -> Vec<(Uuid, Option<AlertState>)> {
    let timeout = deps.settings.alerts.evaluation_timeout;
    let sends = targets.into_iter().map(|(rule, addr)| {
        let window_data = data
            .as_ref()
            .and_then(|d| d.get(&(rule.window.as_millis() as i64)).cloned());
        let (silences, metrics) = (silences.clone(), deps.metrics.clone());
        async move {
            let Some(window_data) = window_data else {
                metrics
                    .alerting
                    .evaluation_failures
                    .with_label_values(&["query"])
                    .inc();
                return (rule.id, None);
            };
            let message = EvaluateRule {
                at_ms,
                data: window_data,
                silences,
            };
            match tokio::time::timeout(timeout, addr.send(message)).await {
                Ok(Ok(Ok(outcome))) => (rule.id, Some(outcome.worst)),
                Ok(Ok(Err(_))) => (rule.id, None),
                Ok(Err(_)) => {
                    metrics
                        .alerting
                        .evaluation_failures
                        .with_label_values(&["actor"])
                        .inc();
                    (rule.id, None)
                }
                Err(_) => {
                    metrics
                        .alerting
                        .evaluation_failures
                        .with_label_values(&["timeout"])
                        .inc();
                    (rule.id, None)
                }
            }
        }
    });
    futures_util::future::join_all(sends).await
}

/// The slice cache's widths, from the settings.
fn geometry(settings: &crate::config::Settings) -> Geometry {
    let a = &settings.alerts;
    let ms = |d: std::time::Duration| d.as_millis() as i64;
    Geometry::new(
        ms(a.slice_width),
        ms(a.evaluation_interval),
        ms(a.recent),
        ms(a.settle),
    )
}

/// The limits rules are validated against, from the settings.
pub fn rule_limits(settings: &crate::config::Settings) -> RuleLimits {
    RuleLimits {
        min_window: settings.alerts.min_window,
        max_window: settings.alerts.max_window,
        max_duration: settings.alerts.max_duration,
        max_name_len: 200,
        allow_private_targets: settings.notify.allow_private_targets,
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "vigil".into())
}

impl Actor for AlertSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.deps.settings.actors.mailbox_capacity);
        let alerts = &self.deps.settings.alerts;
        self.round_running = false;
        self.reconcile_running = false;
        self.reading = false;
        ctx.run_interval(alerts.evaluation_interval, |actor, ctx| actor.round(ctx));
        ctx.run_interval(alerts.slice_width, |actor, ctx| actor.read_background(ctx));
        ctx.run_interval(alerts.lease_renew_interval, |actor, ctx| {
            actor.reconcile(ctx)
        });
        self.round(ctx);
    }
}

impl Supervised for AlertSupervisor {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.deps
            .metrics
            .actor_restarts
            .with_label_values(&["alert_supervisor"])
            .inc();
    }
}

impl Handler<RulesChanged> for AlertSupervisor {
    type Result = ();

    fn handle(&mut self, _: RulesChanged, ctx: &mut Self::Context) {
        self.reconcile(ctx);
    }
}

impl Handler<ReleaseLeases> for AlertSupervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: ReleaseLeases, _: &mut Self::Context) -> Self::Result {
        self.released = true;
        for (_, entry) in self.actors.drain() {
            entry.addr.do_send(StopRule);
        }
        let (pg, holder) = (self.deps.pg.clone(), self.holder.clone());
        Box::pin(
            async move {
                match alerts::release_leases(&pg, &holder).await {
                    Ok(n) => tracing::info!(leases = n, "Released the alert rule leases."),
                    Err(error) => tracing::warn!(%error, "Could not release the alert rule leases; they expire by themselves."),
                }
            }
            .into_actor(self),
        )
    }
}
