//! RabbitMQ: connections and the queue topology.
//!
//! ```text
//! ingest (default exchange) -> <ingest_queue>  durable, x-max-length, x-overflow=reject-publish,
//!                                               x-dead-letter-exchange=<dead_letter_exchange>
//! <dead_letter_exchange> (fanout, durable)   -> <dead_letter_queue> (durable)
//! ```
//! `reject-publish` makes a full queue nack new publishes, which ingest turns into 503:
//! the broker never grows without bound and an agent is never told "stored" for data
//! the broker refused.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::config::AmqpSettings;

/// Calls `open` until it succeeds, sleeping with exponential backoff and jitter
/// (`amqp.reconnect_min` .. `amqp.reconnect_max`) in between. The first failure of an
/// outage is logged with `what` (an operator must act if it persists); `None` once
/// `abort` is set.
pub async fn open_with_backoff<T, F, Fut>(
    settings: &AmqpSettings,
    what: &str,
    abort: Option<&std::sync::atomic::AtomicBool>,
    mut open: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, lapin::Error>>,
{
    use backon::BackoffBuilder;
    let mut delays = backon::ExponentialBuilder::default()
        .with_min_delay(settings.reconnect_min)
        .with_max_delay(settings.reconnect_max)
        .with_jitter()
        .without_max_times()
        .build();
    let mut logged = false;
    loop {
        match open().await {
            Ok(opened) => return Some(opened),
            Err(error) => {
                if abort.is_some_and(|a| a.load(std::sync::atomic::Ordering::Relaxed)) {
                    return None;
                }
                if !logged {
                    tracing::error!(%error, "{what}");
                    logged = true;
                }
                tokio::time::sleep(delays.next().unwrap_or(settings.reconnect_max)).await;
            }
        }
    }
}

/// The connection's errors, as text: the stream an actor watches to know it must
/// reconnect.
pub fn connection_errors(
    connection: &Connection,
) -> impl futures_util::Stream<Item = String> + Send + 'static + use<> {
    use futures_util::StreamExt;
    let events: std::pin::Pin<Box<dyn futures_util::Stream<Item = lapin::Event> + Send + 'static>> =
        Box::pin(connection.events_listener());
    events.filter_map(|event| {
        std::future::ready(match event {
            lapin::Event::Error(error) => Some(error.to_string()),
            _ => None,
        })
    })
}

pub async fn connect(settings: &AmqpSettings, name: &str) -> Result<Connection, lapin::Error> {
    let properties = ConnectionProperties::default()
        .with_connection_name(name.into())
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    Connection::connect(&settings.url, properties).await
}

fn ingest_queue_arguments(settings: &AmqpSettings) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        ShortString::from("x-dead-letter-exchange"),
        AMQPValue::LongString(settings.dead_letter_exchange.as_str().into()),
    );
    arguments.insert(
        ShortString::from("x-max-length"),
        AMQPValue::LongLongInt(settings.max_queue_length as i64),
    );
    arguments.insert(
        ShortString::from("x-overflow"),
        AMQPValue::LongString("reject-publish".into()),
    );
    arguments
}

/// Declares the exchange and both queues (idempotent; every actor calls it on connect
/// so a broker that lost its definitions gets them back).
pub async fn declare_topology(
    channel: &Channel,
    settings: &AmqpSettings,
) -> Result<(), lapin::Error> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .exchange_declare(
            &settings.dead_letter_exchange,
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(&settings.dead_letter_queue, durable, FieldTable::default())
        .await?;
    channel
        .queue_bind(
            &settings.dead_letter_queue,
            &settings.dead_letter_exchange,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            &settings.ingest_queue,
            durable,
            ingest_queue_arguments(settings),
        )
        .await?;
    Ok(())
}

/// Messages waiting in the ingest queue (a passive declare: it never creates it).
pub async fn queue_depth(channel: &Channel, queue: &str) -> Result<u32, lapin::Error> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    Ok(channel
        .queue_declare(queue, passive, FieldTable::default())
        .await?
        .message_count())
}
