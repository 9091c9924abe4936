//! `NotifierActor` (pool): delivers the notifications in the PostgreSQL outbox.
//!
//! Owns an awc client (webhooks) and a lettre SMTP transport (email); shares with the
//! rest of the pool one circuit breaker per target. Takes [`DeliverDue`] from its own
//! timer (`notify.outbox_poll_interval`) and from the `AlertActor`s right after they
//! committed outbox rows. Claims due rows (`store::outbox::claim_due`, SKIP LOCKED, so
//! notifiers of every instance share the work without sending anything twice), delivers
//! them concurrently, and records each result: sent; retried later with exponential
//! backoff and jitter after a 5xx, timeout or connection error; failed at once after a
//! 4xx, a refused target or an SMTP 5xx, or once the give-up deadline is past. While a
//! target's breaker is open its rows wait, their attempt not counted.
//!
//! It holds nothing that a restart would lose: rows it had claimed are claimed again
//! after `notify.claim_ttl`, by this or another notifier. At shutdown
//! ([`DrainNotifier`]) it starts no new round and lets the one under way record its
//! results.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use sqlx::PgPool;

use crate::breaker::{BreakerState, CircuitBreaker};
use crate::config::Settings;
use crate::notify::email::Mailer;
use crate::notify::{retry, webhook, DeliveryError};
use crate::store::outbox::{self, OutboxRow};
use crate::telemetry::Metrics;

/// Look for due notifications now.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct DeliverDue;

/// Shutdown: start no more rounds, and answer once the round under way (if any) has
/// recorded every result.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DrainNotifier;

/// One circuit breaker per notification target, shared by the pool.
pub struct Breakers {
    failures: u32,
    open_for: Duration,
    by_target: Mutex<HashMap<String, Arc<CircuitBreaker>>>,
}

impl Breakers {
    pub fn new(failures: u32, open_for: Duration) -> Breakers {
        Breakers {
            failures,
            open_for,
            by_target: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str) -> Arc<CircuitBreaker> {
        let mut map = self
            .by_target
            .lock()
            .expect("breaker map lock is never poisoned");
        map.entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(CircuitBreaker::new(
                    format!("notification target {}", target_label(key)),
                    self.failures,
                    self.open_for,
                ))
            })
            .clone()
    }

    /// Open breakers by channel (the key starts with the channel).
    fn open_by_channel(&self) -> HashMap<&'static str, i64> {
        let map = self
            .by_target
            .lock()
            .expect("breaker map lock is never poisoned");
        let mut counts = HashMap::from([("email", 0), ("webhook", 0)]);
        for (key, breaker) in map.iter() {
            if breaker.state() != BreakerState::Closed {
                let channel = if key.starts_with("email") {
                    "email"
                } else {
                    "webhook"
                };
                *counts.entry(channel).or_default() += 1;
            }
        }
        counts
    }
}

pub struct NotifierActor {
    index: usize,
    settings: Arc<Settings>,
    pg: PgPool,
    metrics: Arc<Metrics>,
    breakers: Arc<Breakers>,
    tls: Arc<rustls::ClientConfig>,
    mailer: Option<Mailer>,
    /// A round is running; a `DeliverDue` meanwhile sets `again` instead of starting a
    /// second one.
    busy: bool,
    again: bool,
    draining: bool,
    /// Drain requests waiting for the round under way.
    drained: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl NotifierActor {
    pub fn new(
        index: usize,
        settings: Arc<Settings>,
        pg: PgPool,
        metrics: Arc<Metrics>,
        breakers: Arc<Breakers>,
        tls: Arc<rustls::ClientConfig>,
    ) -> NotifierActor {
        NotifierActor {
            index,
            settings,
            pg,
            metrics,
            breakers,
            tls,
            mailer: None,
            busy: false,
            again: false,
            draining: false,
            drained: Vec::new(),
        }
    }
}

impl Actor for NotifierActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.settings.actors.mailbox_capacity);
        let notify = &self.settings.notify;
        self.mailer = match Mailer::new(
            &notify.smtp_url,
            &notify.smtp_from,
            notify.smtp_timeout,
            &notify.ca_file,
        ) {
            Ok(mailer) => Some(mailer),
            Err(error) => {
                tracing::error!(%error, "Alert email cannot be sent: the SMTP settings are unusable.");
                None
            }
        };
        self.busy = false;
        ctx.run_interval(notify.outbox_poll_interval, |_, ctx| ctx.notify(DeliverDue));
        ctx.notify(DeliverDue);
    }
}

impl Supervised for NotifierActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["notifier"])
            .inc();
    }
}

impl Handler<DeliverDue> for NotifierActor {
    type Result = ();

    fn handle(&mut self, _: DeliverDue, ctx: &mut Self::Context) {
        if self.draining {
            return;
        }
        if self.busy {
            self.again = true;
            return;
        }
        self.busy = true;
        self.again = false;
        // awc clients are not Send, so one per round (built on this arbiter's thread)
        // rather than a field of an actor the pool must move to its arbiter.
        let client = webhook::client(
            self.settings.notify.webhook_timeout,
            self.tls.clone(),
            self.settings.notify.allow_private_targets,
        );
        let mailer = self.mailer.clone();
        let (settings, pg, metrics, breakers, index) = (
            self.settings.clone(),
            self.pg.clone(),
            self.metrics.clone(),
            self.breakers.clone(),
            self.index,
        );
        let round = async move {
            loop {
                let rows = match outbox::claim_due(
                    &pg,
                    settings.notify.outbox_batch,
                    settings.notify.claim_ttl,
                )
                .await
                {
                    Ok(rows) => rows,
                    // The pool is closed only at shutdown: nothing to say.
                    Err(sqlx::Error::PoolClosed) => break,
                    Err(error) => {
                        tracing::warn!(%error, "Cannot read the notification outbox; trying again at the next poll.");
                        break;
                    }
                };
                let full = rows.len() as u32 == settings.notify.outbox_batch;
                let deliveries = rows.into_iter().map(|row| {
                    deliver(
                        row,
                        &settings,
                        &pg,
                        &metrics,
                        &breakers,
                        &client,
                        mailer.as_ref(),
                    )
                });
                futures_util::future::join_all(deliveries).await;
                if !full {
                    break;
                }
            }
            for (channel, open) in breakers.open_by_channel() {
                metrics
                    .alerting
                    .breakers_open
                    .with_label_values(&[channel])
                    .set(open);
            }
            if index == 0 {
                if let Ok(pending) = outbox::pending_count(&pg).await {
                    metrics.alerting.outbox_pending.set(pending);
                }
            }
        };
        ctx.spawn(round.into_actor(self).map(|_, actor, ctx| {
            actor.busy = false;
            for waiter in actor.drained.drain(..) {
                let _ = waiter.send(());
            }
            if actor.again && !actor.draining {
                ctx.notify(DeliverDue);
            }
        }));
    }
}

impl Handler<DrainNotifier> for NotifierActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: DrainNotifier, _: &mut Self::Context) -> Self::Result {
        self.draining = true;
        if !self.busy {
            return Box::pin(async {});
        }
        let (done, wait) = tokio::sync::oneshot::channel();
        self.drained.push(done);
        Box::pin(async move {
            let _ = wait.await;
        })
    }
}

/// Delivers one claimed row and records the result.
async fn deliver(
    row: OutboxRow,
    settings: &Settings,
    pg: &PgPool,
    metrics: &Metrics,
    breakers: &Breakers,
    client: &awc::Client,
    mailer: Option<&Mailer>,
) {
    let notify = &settings.notify;
    let channel = if row.channel == "email" {
        "email"
    } else {
        "webhook"
    };
    let breaker_key = match channel {
        "email" => format!("email {}", notify.smtp_url),
        _ => match url::Url::parse(&row.target) {
            Ok(url) => format!("webhook {}", url.origin().ascii_serialization()),
            Err(_) => format!("webhook {}", row.target),
        },
    };
    let breaker = breakers.get(&breaker_key);
    let counter = |result: &str| {
        metrics
            .alerting
            .notifications
            .with_label_values(&[channel, result])
            .inc()
    };
    let recorded = if !breaker.allow() {
        counter("deferred");
        outbox::retry_later(
            pg,
            row.id,
            notify.breaker_open_for,
            "circuit breaker open",
            true,
        )
        .await
    } else {
        let attempt = match channel {
            "email" => match mailer {
                Some(mailer) => mailer.send(&row.target, &row.payload, row.id).await,
                None => Err(DeliveryError::Retryable("SMTP is not configured".into())),
            },
            _ => {
                let body = row.payload.webhook_body(row.id, &notify.external_url);
                webhook::post(
                    client,
                    &row.target,
                    &body,
                    &row.id.to_string(),
                    notify.allow_private_targets,
                )
                .await
            }
        };
        match attempt {
            Ok(()) => {
                breaker.record_success();
                counter("sent");
                let delay = (chrono::Utc::now() - row.payload.at)
                    .num_milliseconds()
                    .max(0) as f64
                    / 1000.0;
                metrics
                    .alerting
                    .notification_delay_seconds
                    .with_label_values(&[channel])
                    .observe(delay);
                tracing::info!(id = %row.id, rule = %row.payload.rule_id, channel, status = %row.payload.status, "Notification delivered.");
                outbox::mark_sent(pg, row.id).await
            }
            Err(DeliveryError::Permanent(why)) => {
                counter("failed");
                tracing::warn!(id = %row.id, rule = %row.payload.rule_id, channel, error = %why, "Notification failed for good; not retried.");
                outbox::mark_failed(pg, row.id, &why).await
            }
            Err(DeliveryError::Retryable(why)) => {
                breaker.record_failure();
                let delay = retry::delay_after(
                    row.attempts.max(1) as u32,
                    notify.retry_min,
                    notify.retry_max,
                );
                let next =
                    chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                if next > row.give_up_at {
                    counter("failed");
                    tracing::warn!(id = %row.id, rule = %row.payload.rule_id, channel, error = %why, attempts = row.attempts, "Notification given up after its deadline.");
                    outbox::mark_failed(
                        pg,
                        row.id,
                        &format!("gave up after {} attempts: {why}", row.attempts),
                    )
                    .await
                } else {
                    counter("retried");
                    tracing::info!(id = %row.id, channel, error = %why, retry_in = ?delay, "Notification failed; retrying later.");
                    outbox::retry_later(pg, row.id, delay, &why, false).await
                }
            }
        }
    };
    if let Err(error) = recorded {
        // The claim expires and the row is delivered again: at least once, with the
        // same idempotency key.
        tracing::warn!(%error, id = %row.id, "Could not record a delivery result; the notification will be claimed again.");
    }
}

/// A breaker key without what may be secret in it: a webhook URL's path and query
/// often carry a token, so only the scheme and host are logged.
fn target_label(key: &str) -> String {
    match key.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}")
        }
        None => key.to_string(),
    }
}
