//! `IngestActor`: owns one RabbitMQ connection with a confirm-mode channel.
//!
//! Takes [`IngestPoints`] from the ingest HTTP handler: decodes and validates the body,
//! groups the valid points by series into envelopes, publishes them persistent and
//! `mandatory`, and answers only once the broker has confirmed every envelope — so a
//! 202 means the points are on the broker's disk. Anything short of that (not
//! connected, connection blocked by a memory/disk alarm, nack from a full queue,
//! unroutable, confirm timeout) is [`IngestError::Unavailable`], which the handler
//! turns into 503 with Retry-After. Takes [`IngestRemoteWrite`] from the remote_write
//! handler: a snappy-compressed body decoded here, like a JSON body, and published the
//! same way. Takes [`PublishPoints`] from the line protocol handler: points it decoded
//! and validated, published the same way.
//!
//! Bodies are decoded on this actor's thread rather than on the blocking pool because
//! a decoded body is tens of thousands of small allocations (names, tags) that this
//! thread frees once the envelopes are published: allocated on another thread, they
//! cost glibc's allocator a cross-arena free each, which measured as a fifth more
//! server CPU per remote_write point than per JSON point. A body is bounded by
//! `ingest.max_points_per_request`, so one decode holds the thread for milliseconds.
//!
//! Takes [`CheckBroker`] from `/health`, and [`BrokerLost`] from its own connection's
//! error callback. On a lost connection it stops; the supervisor restarts it and
//! `started` reconnects with backoff and jitter. While disconnected it keeps
//! answering (503), it does not queue requests.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use futures_util::StreamExt;
use hashlink::LruCache;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::{BasicProperties, Channel, Connection};
use sqlx::PgPool;

use super::pool::Readiness;
use crate::config::Settings;
use crate::model::cardinality::{Caps, Ledger, Over};
use crate::model::{PointLimits, SeriesKey};
use crate::protocol::envelope::{build_envelopes, BatchIds};
use crate::protocol::json::{decode_points, DecodeError, Decoded, Rejection};
use crate::protocol::remote_write::{self, Metadata, RemoteWrite, RemoteWriteError};
use crate::series_ids::{SeriesHash, SeriesIds};
use crate::store::{amqp, cardinality};
use crate::telemetry::Metrics;

/// Validate and publish one ingest body (already decompressed).
#[derive(Message)]
#[rtype(result = "Result<IngestReport, IngestError>")]
pub struct IngestPoints {
    pub body: Bytes,
    /// The ingest key the request authenticated with (its id), for the per-key cap on
    /// new series.
    pub source: Option<String>,
}

/// Decode, validate and publish one remote_write 1.0 body (snappy block, as sent).
#[derive(Message)]
#[rtype(result = "Result<RemoteWritten, RemoteWriteRefused>")]
pub struct IngestRemoteWrite {
    pub body: Bytes,
    /// The ingest key the request authenticated with, as for [`IngestPoints`].
    pub source: Option<String>,
}

/// What a remote_write body held, once its valid samples are confirmed by the broker.
#[derive(Debug)]
pub struct RemoteWritten {
    /// Samples sent, counting stale markers and rejected ones.
    pub samples: usize,
    pub stale_markers: usize,
    /// Samples published.
    pub accepted: usize,
    /// Rejected series, by their position in the body.
    pub rejected: Vec<Rejection>,
    /// TYPE, HELP and UNIT reports, for the metric catalogue.
    pub metadata: Vec<Metadata>,
}

/// Why a remote_write body was not (wholly) taken.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteRefused {
    #[error(transparent)]
    Decode(#[from] RemoteWriteError),
    #[error(transparent)]
    Publish(IngestError),
}

/// Publish points another wire format already decoded and validated (line protocol
/// decodes on the blocking pool, not on this actor's thread). `content`
/// is what identifies the request for content-derived batch ids: the same content
/// sent again (a sender's retry) gets the same ids, so the writers store it once.
#[derive(Message)]
#[rtype(result = "Result<IngestReport, IngestError>")]
pub struct PublishPoints {
    pub decoded: Decoded,
    pub content: Bytes,
    /// The ingest key the request authenticated with, as for [`IngestPoints`].
    pub source: Option<String>,
}

/// Whether this actor can publish right now.
#[derive(Message)]
#[rtype(result = "BrokerState")]
pub struct CheckBroker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerState {
    Connected,
    Blocked,
    Disconnected,
}

/// Close the broker connection cleanly (shutdown). The actor stays up and answers
/// 503 until the process exits.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseBroker;

/// The connection reported an error: reconnect.
#[derive(Message)]
#[rtype(result = "()")]
struct BrokerLost(String);

#[derive(Debug)]
pub struct IngestReport {
    pub accepted: usize,
    pub rejected: Vec<Rejection>,
    /// Envelopes the accepted points were published in.
    pub messages: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("no valid points in the request")]
    AllRejected(Vec<Rejection>),
    #[error("the message broker cannot take data now: {0}")]
    Unavailable(String),
}

struct BrokerLink {
    connection: Connection,
    channel: Channel,
}

/// What the ingest pool knows about series for the cardinality caps, shared by its
/// actors: the process's series ids (a series there exists), the new series admitted
/// but perhaps not written yet, and the counts of new series.
pub struct SeriesGuard {
    ids: Arc<SeriesIds>,
    admitted: Mutex<(LruCache<SeriesHash, ()>, Ledger)>,
}

impl SeriesGuard {
    /// `capacity` is the series id cache's: admitted series only need remembering
    /// until a writer has created them (then `ids` knows them), so an eighth of it.
    pub fn new(ids: Arc<SeriesIds>, capacity: usize) -> Arc<SeriesGuard> {
        Arc::new(SeriesGuard {
            ids,
            admitted: Mutex::new((LruCache::new((capacity / 8).max(1)), Ledger::default())),
        })
    }

    fn known(&self, hash: SeriesHash) -> bool {
        self.ids.get(hash).is_some()
            || self
                .admitted
                .lock()
                .expect("series guard lock")
                .0
                .contains_key(&hash)
    }
}

pub struct IngestActor {
    index: usize,
    settings: Arc<Settings>,
    metrics: Arc<Metrics>,
    pg: PgPool,
    guard: Arc<SeriesGuard>,
    /// `None` while (re)connecting.
    link: Option<BrokerLink>,
    /// Set at shutdown: a closed connection is expected, not a failure.
    closing: bool,
    /// Tells the pool whether this actor can publish (connected).
    ready: Readiness,
}

impl IngestActor {
    pub fn new(
        index: usize,
        settings: Arc<Settings>,
        metrics: Arc<Metrics>,
        pg: PgPool,
        guard: Arc<SeriesGuard>,
        ready: Readiness,
    ) -> IngestActor {
        IngestActor {
            index,
            settings,
            metrics,
            pg,
            guard,
            link: None,
            closing: false,
            ready,
        }
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        let settings = self.settings.clone();
        let name = format!("vigil-ingest-{}", self.index);
        let fut = async move {
            let what = format!(
                "Cannot reach RabbitMQ at {}; ingest answers 503 until it is back.",
                redact(&settings.amqp.url)
            );
            amqp::open_with_backoff(&settings.amqp, &what, None, || open_link(&settings, &name))
                .await
        };
        ctx.spawn(fut.into_actor(self).map(|link, actor, ctx| {
            let Some(link) = link else { return };
            ctx.add_message_stream(amqp::connection_errors(&link.connection).map(BrokerLost));
            tracing::info!(actor = actor.index, "Ingest actor connected to RabbitMQ.");
            actor.link = Some(link);
            actor.ready.set(true);
        }));
    }
}

async fn open_link(settings: &Settings, name: &str) -> Result<BrokerLink, lapin::Error> {
    let connection = amqp::connect(&settings.amqp, name).await?;
    let channel = connection.create_channel().await?;
    amqp::declare_topology(&channel, &settings.amqp).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(BrokerLink {
        connection,
        channel,
    })
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl Actor for IngestActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.settings.actors.mailbox_capacity);
        self.connect(ctx);
    }
}

impl Supervised for IngestActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["ingest"])
            .inc();
        self.link = None;
        self.ready.set(false);
    }
}

impl Handler<BrokerLost> for IngestActor {
    type Result = ();

    fn handle(&mut self, msg: BrokerLost, ctx: &mut Self::Context) {
        if self.closing {
            return;
        }
        self.ready.set(false);
        tracing::warn!(actor = self.index, error = %msg.0, "Lost the RabbitMQ connection; restarting the ingest actor.");
        ctx.stop();
    }
}

impl Handler<CloseBroker> for IngestActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: CloseBroker, _: &mut Self::Context) -> Self::Result {
        let link = self.link.take();
        self.closing = true;
        self.ready.set(false);
        Box::pin(
            async move {
                if let Some(link) = link {
                    let _ = link.connection.close(200, "vigil shutting down").await;
                }
            }
            .into_actor(self),
        )
    }
}

impl Handler<CheckBroker> for IngestActor {
    type Result = MessageResult<CheckBroker>;

    fn handle(&mut self, _: CheckBroker, _: &mut Self::Context) -> Self::Result {
        MessageResult(match &self.link {
            Some(link) if link.connection.status().blocked() => BrokerState::Blocked,
            Some(link)
                if link.connection.status().connected() && link.channel.status().connected() =>
            {
                BrokerState::Connected
            }
            _ => BrokerState::Disconnected,
        })
    }
}

impl Handler<IngestPoints> for IngestActor {
    type Result = ResponseFuture<Result<IngestReport, IngestError>>;

    fn handle(&mut self, msg: IngestPoints, _: &mut Self::Context) -> Self::Result {
        let limits = PointLimits::new(&self.settings.ingest, chrono::Utc::now().timestamp_millis());
        match decode_points(
            &msg.body,
            &limits,
            self.settings.ingest.max_points_per_request,
        ) {
            Ok(decoded) => self.publish(decoded, msg.body, msg.source),
            Err(error) => Box::pin(async move { Err(IngestError::from(error)) }),
        }
    }
}

impl Handler<IngestRemoteWrite> for IngestActor {
    type Result = ResponseFuture<Result<RemoteWritten, RemoteWriteRefused>>;

    fn handle(&mut self, msg: IngestRemoteWrite, _: &mut Self::Context) -> Self::Result {
        let settings = &self.settings;
        let limits = PointLimits::new(&settings.ingest, chrono::Utc::now().timestamp_millis());
        let RemoteWrite {
            mut decoded,
            samples,
            stale_markers,
            metadata,
        } = match remote_write::decode(
            &msg.body,
            settings.http.max_decompressed_bytes,
            &limits,
            settings.ingest.max_points_per_request,
        ) {
            Ok(written) => written,
            Err(error) => return Box::pin(async move { Err(error.into()) }),
        };
        let written = RemoteWritten {
            samples,
            stale_markers,
            accepted: decoded.points.len(),
            rejected: std::mem::take(&mut decoded.rejected),
            metadata,
        };
        if written.accepted == 0 {
            return Box::pin(async move { Ok(written) });
        }
        let published = self.publish(decoded, msg.body, msg.source);
        Box::pin(async move {
            published.await.map_err(RemoteWriteRefused::Publish)?;
            Ok(written)
        })
    }
}

impl Handler<PublishPoints> for IngestActor {
    type Result = ResponseFuture<Result<IngestReport, IngestError>>;

    fn handle(&mut self, msg: PublishPoints, _: &mut Self::Context) -> Self::Result {
        self.publish(msg.decoded, msg.content, msg.source)
    }
}

impl IngestActor {
    /// Checks the broker, applies the cardinality caps, groups the points into
    /// envelopes and publishes them with confirms. `content` identifies the request
    /// for content-derived batch ids.
    fn publish(
        &self,
        decoded: Decoded,
        content: Bytes,
        source: Option<String>,
    ) -> ResponseFuture<Result<IngestReport, IngestError>> {
        let channel = match self.channel_for(&decoded) {
            Ok(channel) => channel,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let settings = self.settings.clone();
        let metrics = self.metrics.clone();
        let (pg, guard) = (self.pg.clone(), self.guard.clone());
        Box::pin(async move {
            let mut decoded = decoded;
            let limited = enforce_caps(
                &settings,
                &metrics,
                &pg,
                &guard,
                source.as_deref(),
                &mut decoded,
            )
            .await;
            if decoded.points.is_empty() {
                return Err(IngestError::AllRejected(decoded.rejected));
            }
            // A request that lost points to a cap may be retried once the cap allows
            // them: it must not be taken for a redelivery of this one.
            let ids = if decoded.all_timestamped && limited == 0 {
                BatchIds::FromContent(&content)
            } else {
                BatchIds::Random
            };
            let accepted = decoded.points.len();
            let envelopes =
                build_envelopes(decoded.points, settings.ingest.max_points_per_message, ids);
            let messages = envelopes.len();
            let payloads = envelopes
                .iter()
                .map(|e| (e.id.to_string(), e.encode()))
                .collect();
            publish_confirmed(
                &channel,
                &settings.amqp.ingest_queue,
                payloads,
                settings.amqp.confirm_timeout,
            )
            .await?;
            metrics.ingest_messages_published.inc_by(messages as u64);
            Ok(IngestReport {
                accepted,
                rejected: decoded.rejected,
                messages,
            })
        })
    }

    /// The channel to publish on; fails fast when there is nothing valid to publish or
    /// the broker cannot take data.
    fn channel_for(&self, decoded: &Decoded) -> Result<Channel, IngestError> {
        if decoded.points.is_empty() {
            return Err(IngestError::AllRejected(decoded.rejected.clone()));
        }
        let link = self
            .link
            .as_ref()
            .ok_or_else(|| IngestError::Unavailable("not connected to RabbitMQ".into()))?;
        if link.connection.status().blocked() {
            return Err(IngestError::Unavailable(
                "RabbitMQ is blocking publishers (memory or disk alarm)".into(),
            ));
        }
        if !link.channel.status().connected() {
            return Err(IngestError::Unavailable(
                "the RabbitMQ channel is closed".into(),
            ));
        }
        Ok(link.channel.clone())
    }
}

/// Removes from `decoded` the points whose series does not exist and would exceed a
/// cardinality cap, reporting each under its own index; returns how many. Runs here,
/// before publishing, because only the ingest request can still tell the agent which
/// points were refused. Fails open: when PostgreSQL cannot answer in time the points
/// go through (the caps protect the series table; they must not turn a database
/// hiccup into lost ingest).
async fn enforce_caps(
    settings: &Settings,
    metrics: &Metrics,
    pg: &PgPool,
    guard: &SeriesGuard,
    source: Option<&str>,
    decoded: &mut Decoded,
) -> usize {
    let ingest = &settings.ingest;
    let caps = Caps {
        per_metric: ingest.max_series_per_metric,
        per_window: ingest.max_new_series_per_window,
        per_key_window: ingest.max_new_series_per_key,
        window: ingest.new_series_window,
    };
    if !caps.enabled() {
        return 0;
    }
    let keys: Vec<SeriesKey> = decoded
        .points
        .iter()
        .map(|p| SeriesKey::new(p.name.as_str(), &p.labels))
        .collect();
    let hashes: Vec<SeriesHash> = keys.iter().map(SeriesHash::of).collect();
    let mut unknown: Vec<&str> = keys
        .iter()
        .zip(&hashes)
        .filter(|(_, h)| !guard.known(**h))
        .map(|(k, _)| k.as_str())
        .collect();
    if unknown.is_empty() {
        return 0;
    }
    unknown.sort_unstable();
    unknown.dedup();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let wait = settings.database.acquire_timeout;
    let existing = match tokio::time::timeout(wait, cardinality::existing_keys(pg, &unknown)).await
    {
        Ok(Ok(existing)) => existing,
        Ok(Err(error)) => {
            tracing::warn!(%error, "Cannot check new series against the cardinality caps; admitting them.");
            return 0;
        }
        Err(_) => {
            tracing::warn!(
                "Checking new series against the cardinality caps timed out; admitting them."
            );
            return 0;
        }
    };
    for (key, id) in &existing {
        guard.ids.insert(SeriesHash::of_str(key), *id);
    }
    let existing_set: HashSet<&str> = existing.iter().map(|(k, _)| k.as_str()).collect();
    let new: Vec<&str> = unknown
        .into_iter()
        .filter(|k| !existing_set.contains(k))
        .collect();
    let new_metrics: Vec<&str> = decoded
        .points
        .iter()
        .zip(&keys)
        .filter(|(_, k)| new.binary_search(&k.as_str()).is_ok())
        .map(|(p, _)| p.name.as_str())
        .collect();
    let stale = {
        let admitted = guard.admitted.lock().expect("series guard lock");
        admitted
            .1
            .stale_metrics(new_metrics, ingest.series_count_refresh, now_ms)
    };
    let counts = if stale.is_empty() {
        Vec::new()
    } else {
        match tokio::time::timeout(wait, cardinality::series_counts(pg, &stale)).await {
            Ok(Ok(counts)) => counts,
            _ => {
                tracing::warn!("Cannot count series per metric for the cardinality caps; admitting the new series.");
                return 0;
            }
        }
    };

    // Decide per new series (in the order of the body), then drop the refused points.
    let mut refused: HashMap<&str, (Over, String)> = HashMap::new();
    {
        let mut admitted = guard.admitted.lock().expect("series guard lock");
        let (lru, ledger) = &mut *admitted;
        for metric in &stale {
            let count = counts
                .iter()
                .find(|(m, _)| m == metric)
                .map_or(0, |(_, n)| *n);
            ledger.set_count(metric, count.max(0) as u64, now_ms);
        }
        for ((point, key), hash) in decoded.points.iter().zip(&keys).zip(&hashes) {
            let key = key.as_str();
            if new.binary_search(&key).is_err()
                || lru.contains_key(hash)
                || refused.contains_key(key)
            {
                continue;
            }
            let metric = point.name.as_str();
            match ledger.admit(&caps, metric, source, now_ms) {
                Ok(()) => {
                    lru.insert(*hash, ());
                }
                Err(over) => {
                    refused.insert(key, (over, over.reason(&caps, metric)));
                }
            }
        }
    }
    if refused.is_empty() {
        return 0;
    }
    remove_refused(metrics, decoded, &keys, &refused)
}

/// Moves the points of refused series into `decoded.rejected`, under the index each
/// had in the body (the accepted points are the body's elements minus the rejected
/// ones, in order).
fn remove_refused(
    metrics: &Metrics,
    decoded: &mut Decoded,
    keys: &[SeriesKey],
    refused: &HashMap<&str, (Over, String)>,
) -> usize {
    let mut earlier = decoded.rejected.iter().map(|r| r.index).peekable();
    let mut index = 0usize;
    let mut kept = Vec::with_capacity(decoded.points.len());
    let mut limited = Vec::new();
    for (point, key) in std::mem::take(&mut decoded.points).into_iter().zip(keys) {
        while earlier.peek() == Some(&index) {
            earlier.next();
            index += 1;
        }
        match refused.get(key.as_str()) {
            Some((over, reason)) => {
                metrics
                    .ingest_series_limited
                    .with_label_values(&[over.label()])
                    .inc();
                limited.push(Rejection {
                    index,
                    reason: reason.clone(),
                });
            }
            None => kept.push(point),
        }
        index += 1;
    }
    decoded.points = kept;
    let count = limited.len();
    decoded.rejected.extend(limited);
    decoded.rejected.sort_by_key(|r| r.index);
    count
}

/// Publishes every payload, then waits for all confirms under one deadline.
async fn publish_confirmed(
    channel: &Channel,
    queue: &str,
    payloads: Vec<(String, Vec<u8>)>,
    timeout: Duration,
) -> Result<(), IngestError> {
    let work = async {
        let mut confirms = Vec::with_capacity(payloads.len());
        for (id, payload) in &payloads {
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(id.as_str().into());
            let options = BasicPublishOptions {
                mandatory: true,
                immediate: false,
            };
            let confirm = channel
                .basic_publish("", queue, options, payload, properties)
                .await
                .map_err(|e| IngestError::Unavailable(format!("publish failed: {e}")))?;
            confirms.push(confirm);
        }
        for confirm in confirms {
            match confirm.await {
                Ok(Confirmation::Ack(None)) => {}
                Ok(Confirmation::Ack(Some(_))) => {
                    return Err(IngestError::Unavailable(
                        "the ingest queue does not exist (message returned)".into(),
                    ))
                }
                Ok(Confirmation::Nack(_)) => {
                    return Err(IngestError::Unavailable(
                        "RabbitMQ refused the message (ingest queue full)".into(),
                    ))
                }
                Ok(Confirmation::NotRequested) => {
                    return Err(IngestError::Unavailable(
                        "channel is not in confirm mode".into(),
                    ))
                }
                Err(e) => return Err(IngestError::Unavailable(format!("confirm failed: {e}"))),
            }
        }
        Ok(())
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(IngestError::Unavailable(
                "RabbitMQ did not confirm in time".into(),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("amqp://guest:secret@host:5672/%2f"),
            "amqp://***@host:5672/%2f"
        );
        assert_eq!(redact("amqp://host"), "amqp://host");
    }
}
