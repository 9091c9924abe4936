//! `BatchWriterActor`: one consumer of the ingest queue, writing to PostgreSQL.
//!
//! Owns a RabbitMQ channel (manual acks, `amqp.prefetch` unacked messages at most)
//! and a buffer of decoded envelopes. Deliveries arrive as a stream; the buffer is
//! flushed when it holds `ingest.batch_size` points or its oldest entry is
//! `ingest.flush_interval` old. A flush resolves series ids (the process's shared
//! [`SeriesIds`], then Redis, then one bulk upsert) into a list of the batch's own,
//! records the batch ids and COPYs the points in one transaction, COMMITs, and only
//! then acks — so a crash at any point leaves the
//! messages in RabbitMQ, and their redelivery is recognised by the batch ids.
//!
//! Transient database errors are retried with exponential backoff and jitter while
//! the messages stay unacked; the actor waits on the flush (`ctx.wait`), so it
//! neither spins nor takes more deliveries than the prefetch allows meanwhile. An
//! undecodable message is rejected without requeue, which dead-letters it. A batch
//! the database refuses for its content is split and written envelope by envelope,
//! and only the refused envelopes are dead-lettered.
//!
//! Takes [`DrainWriter`] at shutdown: flush what is buffered, ack it, close the
//! channel. On a lost broker connection it stops; the supervisor restarts it and
//! `started` reconnects with backoff.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use sqlx::PgPool;

use crate::config::Settings;
use crate::model::SeriesKey;
use crate::protocol::envelope::Envelope;
use crate::series_ids::{SeriesHash, SeriesIds};
use crate::store::partitions::{day_of, PartitionSet, PartitionedTable};
use crate::store::points::{write_batches, BatchRows, WriteOutcome};
use crate::store::redis::RedisStore;
use crate::store::series::{resolve, SeriesRef};
use crate::store::{amqp, is_transient};
use crate::telemetry::Metrics;

/// Flush the buffer, ack it and stop consuming (graceful shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DrainWriter;

/// What a writer needs besides its own state; cheap to clone into a flush future.
#[derive(Clone)]
pub struct WriterDeps {
    pub settings: Arc<Settings>,
    pub pg: PgPool,
    pub redis: RedisStore,
    pub partitions: Arc<PartitionSet>,
    pub metrics: Arc<Metrics>,
    /// Series ids known to this process, shared with the ingest actors.
    pub series_ids: Arc<SeriesIds>,
    /// Set when the shutdown grace period is over: retry loops give up (the messages
    /// stay unacked and are redelivered to the next process).
    pub abort: Arc<AtomicBool>,
    /// Identity of the database, part of the Redis series-cache keys.
    pub database: String,
    /// Recorded with this writer's dirty marks in `rollup_dirty` (its pool index; set by `new`).
    pub shard: i32,
}

const DAY_MS: i64 = 86_400_000;

struct Pending {
    tag: u64,
    envelope: Envelope,
}

/// Ids of the batch in flight: for each envelope, for each of its series in order.
/// Copied out of the shared cache first, so no eviction can take one away meanwhile.
type BatchIds = Vec<Vec<i64>>;

pub struct BatchWriterActor {
    index: usize,
    deps: WriterDeps,
    connection: Option<Connection>,
    channel: Option<Channel>,
    buffer: Vec<Pending>,
    buffered_points: usize,
    oldest: Option<Instant>,
    draining: bool,
}

impl BatchWriterActor {
    pub fn new(index: usize, deps: WriterDeps) -> BatchWriterActor {
        BatchWriterActor {
            index,
            deps: WriterDeps {
                shard: index as i32,
                ..deps
            },
            connection: None,
            channel: None,
            buffer: Vec::new(),
            buffered_points: 0,
            oldest: None,
            draining: false,
        }
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        let deps = self.deps.clone();
        let name = format!("vigil-writer-{}", self.index);
        let fut = async move {
            let settings = &deps.settings;
            let what = "Writer cannot reach RabbitMQ; it keeps retrying.";
            amqp::open_with_backoff(&settings.amqp, what, Some(&deps.abort), || {
                open_consumer(settings, &name)
            })
            .await
        };
        ctx.wait(fut.into_actor(self).map(|opened, actor, ctx| {
            let Some((connection, channel, consumer)) = opened else {
                ctx.stop();
                return;
            };
            ctx.add_message_stream(amqp::connection_errors(&connection).map(ConsumerLost));
            tracing::info!(
                actor = actor.index,
                "Batch writer consuming the ingest queue."
            );
            actor.connection = Some(connection);
            actor.channel = Some(channel);
            ctx.add_stream(consumer);
        }));
    }

    /// Starts a flush of the whole buffer; the actor handles nothing else until the
    /// batch is committed and acked (or given up on), which bounds memory by prefetch.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.buffer.is_empty() {
            return;
        }
        let Some(channel) = self.channel.clone() else {
            return;
        };
        let batch = std::mem::take(&mut self.buffer);
        self.buffered_points = 0;
        self.oldest = None;
        let deps = self.deps.clone();
        let fut = async move { flush_batch(&deps, &channel, batch).await };
        ctx.wait(fut.into_actor(self).map(|result, actor, ctx| {
            if let Err(error) = result {
                tracing::warn!(actor = actor.index, %error, "Writer lost its channel while acking; reconnecting (the batch is committed and its redelivery will be skipped).");
                ctx.stop();
            }
        }));
    }
}

/// Connection, channel and consumer of one writer.
async fn open_consumer(
    settings: &Settings,
    name: &str,
) -> Result<(Connection, Channel, lapin::Consumer), lapin::Error> {
    let connection = amqp::connect(&settings.amqp, name).await?;
    let channel = connection.create_channel().await?;
    amqp::declare_topology(&channel, &settings.amqp).await?;
    channel
        .basic_qos(settings.amqp.prefetch, BasicQosOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            &settings.amqp.ingest_queue,
            name,
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((connection, channel, consumer))
}

/// Writes a batch (retrying transient failures), then acks or dead-letters its
/// messages. Only an ack/reject failure (a broken channel) is returned.
async fn flush_batch(
    deps: &WriterDeps,
    channel: &Channel,
    batch: Vec<Pending>,
) -> Result<(), lapin::Error> {
    let points: usize = batch.iter().map(|p| p.envelope.point_count()).sum();
    let started = Instant::now();
    let envelopes: Vec<&Envelope> = batch.iter().map(|p| &p.envelope).collect();
    match write_with_retry(deps, &envelopes).await {
        Ok(outcome) => {
            record_commit(deps, points, started, outcome);
            let last = batch.iter().map(|p| p.tag).max().unwrap_or(0);
            // Deliveries are handled in tag order and the actor waits on this flush, so
            // every outstanding tag up to `last` belongs to this batch.
            channel
                .basic_ack(last, BasicAckOptions { multiple: true })
                .await
        }
        Err(WriteFailure::Aborted) => Ok(()),
        Err(WriteFailure::Refused(error)) => {
            tracing::warn!(%error, envelopes = batch.len(), "The database refused a batch; writing its envelopes one by one.");
            for pending in &batch {
                let started = Instant::now();
                match write_with_retry(deps, &[&pending.envelope]).await {
                    Ok(outcome) => {
                        record_commit(deps, pending.envelope.point_count(), started, outcome);
                        channel
                            .basic_ack(pending.tag, BasicAckOptions { multiple: false })
                            .await?;
                    }
                    Err(WriteFailure::Aborted) => return Ok(()),
                    Err(WriteFailure::Refused(error)) => {
                        tracing::error!(%error, batch_id = %pending.envelope.id, "Dead-lettering an envelope the database refuses.");
                        deps.metrics.writer_dead_lettered.inc();
                        channel
                            .basic_reject(pending.tag, BasicRejectOptions { requeue: false })
                            .await?;
                    }
                }
            }
            Ok(())
        }
    }
}

fn record_commit(deps: &WriterDeps, points: usize, started: Instant, outcome: WriteOutcome) {
    deps.metrics
        .writer_commit_seconds
        .observe(started.elapsed().as_secs_f64());
    deps.metrics.writer_batch_points.observe(points as f64);
    deps.metrics
        .writer_points_written
        .inc_by(outcome.points_written as u64);
    deps.metrics
        .writer_duplicate_batches
        .inc_by(outcome.duplicate_batches as u64);
}

enum WriteFailure {
    /// Shutdown grace is over; the messages stay unacked.
    Aborted,
    /// The database rejects the data itself: retrying would not help.
    Refused(sqlx::Error),
}

async fn write_with_retry(
    deps: &WriterDeps,
    envelopes: &[&Envelope],
) -> Result<WriteOutcome, WriteFailure> {
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(deps.settings.ingest.retry_min)
        .with_max_delay(deps.settings.ingest.retry_max)
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        match write_once(deps, envelopes).await {
            Ok(outcome) => return Ok(outcome),
            Err(error) if is_transient(&error) => {
                if deps.abort.load(Ordering::Relaxed) {
                    return Err(WriteFailure::Aborted);
                }
                let delay = delays.next().unwrap_or(deps.settings.ingest.retry_max);
                deps.metrics.writer_retries.inc();
                tracing::warn!(%error, retry_in = ?delay, "Batch write failed; retrying (messages stay unacked).");
                tokio::time::sleep(delay).await;
            }
            Err(error) => return Err(WriteFailure::Refused(error)),
        }
    }
}

async fn write_once(
    deps: &WriterDeps,
    envelopes: &[&Envelope],
) -> Result<WriteOutcome, sqlx::Error> {
    let ids = resolve_series(deps, envelopes).await?;
    let mut days: Vec<i64> = Vec::new();
    let mut batches = Vec::with_capacity(envelopes.len());
    for (envelope, ids) in envelopes.iter().zip(&ids) {
        let mut rows = Vec::with_capacity(envelope.point_count());
        for (series, &id) in envelope.series.iter().zip(ids) {
            for &(ts, value) in &series.points {
                rows.push((id, ts, value));
                let day = ts.div_euclid(DAY_MS);
                if days.last() != Some(&day) {
                    days.push(day);
                }
            }
        }
        batches.push(BatchRows {
            batch_id: envelope.id,
            rows,
        });
    }
    days.sort_unstable();
    days.dedup();
    let created = deps
        .partitions
        .ensure(
            &deps.pg,
            PartitionedTable::Points,
            days.into_iter().map(|d| day_of(d * DAY_MS)),
        )
        .await?;
    deps.metrics.partitions_created.inc_by(created as u64);
    let outcome = write_batches(&deps.pg, &batches, deps.shard).await?;
    stage(deps, "copy", outcome.copy);
    stage(deps, "dirty_log", outcome.dirty_log);
    stage(deps, "commit", outcome.commit);
    // Read-your-writes: after the COMMIT, invalidate cached query answers over what
    // this batch stored.
    if outcome.points_written > 0 {
        let started = Instant::now();
        crate::store::query_generations::bump_after_commit(&deps.pg, envelopes).await;
        stage(deps, "generations", started.elapsed());
    }
    Ok(outcome)
}

/// Adds to `vigil_writer_stage_seconds_total{stage}`: where a writer's time goes.
fn stage(deps: &WriterDeps, name: &str, took: Duration) {
    deps.metrics
        .writer_stage_seconds
        .with_label_values(&[name])
        .inc_by(took.as_secs_f64());
}

/// Ids for every series in `envelopes`: the shared in-process cache, then Redis, then
/// one bulk upsert in PostgreSQL for what neither knew — at most one Redis and one
/// PostgreSQL round of statements per batch, whatever its size. The answer is the
/// batch's own list; the cache only learns from it.
async fn resolve_series(
    deps: &WriterDeps,
    envelopes: &[&Envelope],
) -> Result<BatchIds, sqlx::Error> {
    const UNRESOLVED: i64 = i64::MIN;
    let started = Instant::now();
    let mut ids: BatchIds = Vec::with_capacity(envelopes.len());
    // Series the cache did not know, once each: (hash, key, metric, labels).
    let mut missing: Vec<(SeriesHash, String, &str, &crate::model::Labels)> = Vec::new();
    let mut missing_at: HashMap<SeriesHash, usize> = HashMap::new();
    // (envelope, series) positions waiting for the missing entry at the given index.
    let mut waiting: Vec<(usize, usize, usize)> = Vec::new();
    for (e, envelope) in envelopes.iter().enumerate() {
        let mut row = Vec::with_capacity(envelope.series.len());
        for (i, series) in envelope.series.iter().enumerate() {
            let hash = SeriesHash::of_series(&series.metric, &series.labels);
            match deps.series_ids.get(hash) {
                Some(id) => row.push(id),
                None => {
                    let at = *missing_at.entry(hash).or_insert_with(|| {
                        let key = SeriesKey::new(&series.metric, &series.labels);
                        missing.push((
                            hash,
                            key.as_str().to_string(),
                            &series.metric,
                            &series.labels,
                        ));
                        missing.len() - 1
                    });
                    waiting.push((e, i, at));
                    row.push(UNRESOLVED);
                }
            }
        }
        ids.push(row);
    }
    stage(deps, "series_cache", started.elapsed());
    if missing.is_empty() {
        deps.metrics.cache_hits.with_label_values(&["series"]).inc();
        return Ok(ids);
    }
    let started = Instant::now();
    let mut found: Vec<Option<i64>> = vec![None; missing.len()];
    let redis_keys: Vec<String> = missing
        .iter()
        .map(|(_, k, _, _)| deps.redis.series_key(&deps.database, k))
        .collect();
    let cached = deps.redis.mget::<String>(&redis_keys).await;
    stage(deps, "series_redis", started.elapsed());
    let mut unknown = Vec::new();
    let mut unknown_at = Vec::new();
    for (at, ((hash, key, metric, labels), hit)) in missing.iter().zip(cached).enumerate() {
        match hit.and_then(|v| v.parse::<i64>().ok()) {
            Some(id) => {
                found[at] = Some(id);
                deps.series_ids.insert(*hash, id);
            }
            None => {
                unknown.push(SeriesRef {
                    key,
                    metric,
                    labels,
                });
                unknown_at.push(at);
            }
        }
    }
    if unknown.is_empty() {
        deps.metrics.cache_hits.with_label_values(&["series"]).inc();
    } else {
        deps.metrics
            .cache_misses
            .with_label_values(&["series"])
            .inc();
        let started = Instant::now();
        let mut resolved = resolve(&deps.pg, &unknown).await?;
        stage(deps, "series_upsert", started.elapsed());
        let mut to_cache = Vec::with_capacity(resolved.len());
        for (series, &at) in unknown.iter().zip(&unknown_at) {
            let Some(id) = resolved.remove(series.key) else {
                // Only possible if a series row vanished between upsert and select.
                tracing::error!(series = series.key, "A series id could not be resolved.");
                return Err(sqlx::Error::RowNotFound);
            };
            to_cache.push((
                deps.redis.series_key(&deps.database, series.key),
                id.to_string(),
            ));
            deps.series_ids.insert(missing[at].0, id);
            found[at] = Some(id);
        }
        let started = Instant::now();
        deps.redis
            .set_many_ex(&to_cache, deps.settings.redis.series_cache_ttl)
            .await;
        stage(deps, "series_redis", started.elapsed());
    }
    for (e, i, at) in waiting {
        ids[e][i] = found[at].expect("every missing series was resolved above");
    }
    Ok(ids)
}

/// The connection reported an error.
#[derive(Message)]
#[rtype(result = "()")]
struct ConsumerLost(String);

/// Periodic check of the buffer's age.
#[derive(Message)]
#[rtype(result = "()")]
struct FlushIfDue;

impl Actor for BatchWriterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.deps.settings.actors.mailbox_capacity);
        let tick = (self.deps.settings.ingest.flush_interval / 4).max(Duration::from_millis(10));
        ctx.run_interval(tick, |_, ctx| ctx.notify(FlushIfDue));
        if self.index == 0 {
            // One writer samples the queue depth for /metrics.
            ctx.run_interval(Duration::from_secs(5), |actor, ctx| {
                let Some(channel) = actor.channel.clone() else {
                    return;
                };
                let queue = actor.deps.settings.amqp.ingest_queue.clone();
                let metrics = actor.deps.metrics.clone();
                ctx.spawn(
                    async move {
                        if let Ok(depth) = amqp::queue_depth(&channel, &queue).await {
                            metrics.queue_depth_messages.set(depth as i64);
                        }
                    }
                    .into_actor(actor),
                );
            });
        }
        self.connect(ctx);
    }
}

impl Supervised for BatchWriterActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.deps
            .metrics
            .actor_restarts
            .with_label_values(&["batch_writer"])
            .inc();
        // Unacked deliveries of the old channel are redelivered by the broker.
        self.buffer.clear();
        self.buffered_points = 0;
        self.oldest = None;
        self.channel = None;
        self.connection = None;
    }
}

impl StreamHandler<Result<Delivery, lapin::Error>> for BatchWriterActor {
    fn handle(&mut self, item: Result<Delivery, lapin::Error>, ctx: &mut Self::Context) {
        let delivery = match item {
            Ok(delivery) => delivery,
            Err(_) if self.draining => return,
            Err(error) => {
                tracing::warn!(actor = self.index, %error, "Consumer failed; restarting the writer.");
                ctx.stop();
                return;
            }
        };
        if self.draining {
            // Not acked: the broker redelivers it after the channel closes.
            return;
        }
        match Envelope::decode(&delivery.data) {
            Ok(envelope) => {
                self.buffered_points += envelope.point_count();
                self.oldest.get_or_insert_with(Instant::now);
                self.buffer.push(Pending {
                    tag: delivery.delivery_tag,
                    envelope,
                });
                if self.buffered_points >= self.deps.settings.ingest.batch_size {
                    self.flush(ctx);
                }
            }
            Err(error) => {
                tracing::error!(%error, bytes = delivery.data.len(), "Dead-lettering an undecodable message.");
                self.deps.metrics.writer_dead_lettered.inc();
                let Some(channel) = self.channel.clone() else {
                    return;
                };
                let tag = delivery.delivery_tag;
                // Waited on, so the reject is sent before any later multiple-ack.
                ctx.wait(
                    async move {
                        channel
                            .basic_reject(tag, BasicRejectOptions { requeue: false })
                            .await
                    }
                    .into_actor(self)
                    .map(|result, _, ctx| {
                        if result.is_err() {
                            ctx.stop();
                        }
                    }),
                );
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        if !self.draining {
            tracing::warn!(
                actor = self.index,
                "Consumer stream ended; restarting the writer."
            );
            ctx.stop();
        }
    }
}

impl Handler<FlushIfDue> for BatchWriterActor {
    type Result = ();

    fn handle(&mut self, _: FlushIfDue, ctx: &mut Self::Context) {
        if self
            .oldest
            .is_some_and(|t| t.elapsed() >= self.deps.settings.ingest.flush_interval)
        {
            self.flush(ctx);
        }
    }
}

impl Handler<ConsumerLost> for BatchWriterActor {
    type Result = ();

    fn handle(&mut self, msg: ConsumerLost, ctx: &mut Self::Context) {
        if self.draining {
            return;
        }
        tracing::warn!(actor = self.index, error = %msg.0, "Lost the RabbitMQ connection; restarting the writer.");
        ctx.stop();
    }
}

impl Handler<DrainWriter> for BatchWriterActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: DrainWriter, ctx: &mut Self::Context) -> Self::Result {
        self.draining = true;
        self.flush(ctx);
        // Runs after the flush above: `ctx.wait` holds this future back until it is done.
        let channel = self.channel.clone();
        let connection = self.connection.take();
        Box::pin(
            async move {
                if let Some(channel) = channel {
                    let _ = channel.close(200, "vigil shutting down").await;
                }
                if let Some(connection) = connection {
                    let _ = connection.close(200, "vigil shutting down").await;
                }
            }
            .into_actor(self)
            .map(|_, actor, _| {
                // Not stopped: a supervised actor that stops is restarted. The arbiter
                // is stopped with the application.
                actor.channel = None;
                tracing::info!(actor = actor.index, "Writer drained.");
            }),
        )
    }
}
