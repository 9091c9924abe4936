//! `IngestActor`: owns one RabbitMQ connection with a confirm-mode channel.
//!
//! Takes [`IngestPoints`] from the ingest HTTP handler: decodes and validates the body,
//! groups the valid points by series into envelopes, publishes them persistent and
//! `mandatory`, and answers only once the broker has confirmed every envelope — so a
//! 202 means the points are on the broker's disk. Anything short of that (not
//! connected, connection blocked by a memory/disk alarm, nack from a full queue,
//! unroutable, confirm timeout) is [`IngestError::Unavailable`], which the handler
//! turns into 503 with Retry-After. Takes [`PublishPoints`] from the remote_write and
//! line protocol handlers: points they decoded and validated, published the same way.
//!
//! Takes [`CheckBroker`] from `/health`, and [`BrokerLost`] from its own connection's
//! error callback. On a lost connection it stops; the supervisor restarts it and
//! `started` reconnects with backoff and jitter. While disconnected it keeps
//! answering (503), it does not queue requests.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::{BasicProperties, Channel, Connection};

use super::pool::Readiness;
use crate::config::Settings;
use crate::model::PointLimits;
use crate::protocol::envelope::{build_envelopes, BatchIds};
use crate::protocol::json::{decode_points, DecodeError, Decoded, Rejection};
use crate::store::amqp;
use crate::telemetry::Metrics;

/// Validate and publish one ingest body (already decompressed).
#[derive(Message)]
#[rtype(result = "Result<IngestReport, IngestError>")]
pub struct IngestPoints {
    pub body: Bytes,
}

/// Publish points another wire format already decoded and validated (remote_write,
/// line protocol decode on the blocking pool, not on this actor's thread). `content`
/// is what identifies the request for content-derived batch ids: the same content
/// sent again (a sender's retry) gets the same ids, so the writers store it once.
#[derive(Message)]
#[rtype(result = "Result<IngestReport, IngestError>")]
pub struct PublishPoints {
    pub decoded: Decoded,
    pub content: Bytes,
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

pub struct IngestActor {
    index: usize,
    settings: Arc<Settings>,
    metrics: Arc<Metrics>,
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
        ready: Readiness,
    ) -> IngestActor {
        IngestActor {
            index,
            settings,
            metrics,
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
        let prepared = decode_points(&msg.body, &limits, self.settings.ingest.max_points_per_request)
            .map_err(IngestError::from)
            .and_then(|decoded| self.prepare(decoded, &msg.body));
        self.publish(prepared)
    }
}

impl Handler<PublishPoints> for IngestActor {
    type Result = ResponseFuture<Result<IngestReport, IngestError>>;

    fn handle(&mut self, msg: PublishPoints, _: &mut Self::Context) -> Self::Result {
        let prepared = self.prepare(msg.decoded, &msg.content);
        self.publish(prepared)
    }
}

impl IngestActor {
    #[allow(clippy::type_complexity)]
    fn publish(
        &self,
        prepared: Result<(Channel, Vec<(String, Vec<u8>)>, IngestReport), IngestError>,
    ) -> ResponseFuture<Result<IngestReport, IngestError>> {
        let (channel, payloads, report) = match prepared {
            Ok(ready) => ready,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let queue = self.settings.amqp.ingest_queue.clone();
        let confirm_timeout = self.settings.amqp.confirm_timeout;
        let metrics = self.metrics.clone();
        Box::pin(async move {
            publish_confirmed(&channel, &queue, payloads, confirm_timeout).await?;
            metrics
                .ingest_messages_published
                .inc_by(report.messages as u64);
            Ok(report)
        })
    }
}

impl IngestActor {
    /// Group into envelopes and encode; fails fast when the broker cannot take data.
    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        decoded: Decoded,
        body: &[u8],
    ) -> Result<(Channel, Vec<(String, Vec<u8>)>, IngestReport), IngestError> {
        if decoded.points.is_empty() {
            return Err(IngestError::AllRejected(decoded.rejected));
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
        let ids = if decoded.all_timestamped {
            BatchIds::FromContent(body)
        } else {
            BatchIds::Random
        };
        let accepted = decoded.points.len();
        let envelopes = build_envelopes(
            decoded.points,
            self.settings.ingest.max_points_per_message,
            ids,
        );
        let messages = envelopes.len();
        let payloads = envelopes
            .iter()
            .map(|e| (e.id.to_string(), e.encode()))
            .collect();
        Ok((
            link.channel.clone(),
            payloads,
            IngestReport {
                accepted,
                rejected: decoded.rejected,
                messages,
            },
        ))
    }
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
