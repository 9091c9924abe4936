//! The client library: record points from any thread, and a delivery thread sends
//! them to Vigil in gzip batches with retries, a bounded memory + disk buffer and a
//! flush that can be awaited.
//!
//! ```no_run
//! use std::time::Duration;
//! use vigil_agent::client::{Client, ClientSettings};
//!
//! let client = Client::start(ClientSettings::new("http://127.0.0.1:8080")).unwrap();
//! client.record("orders.placed", 1.0, &[("region", "eu")]);
//! client.flush_blocking(Duration::from_secs(5));
//! ```
//!
//! Why a thread of its own: the client must work in any application, with or without
//! an async runtime, and must keep retrying while the application is busy. The thread
//! runs a single-threaded actix runtime (the HTTP client, awc, needs one) with two
//! tasks: the *batcher* seals pending points into batches (on a full batch or every
//! `flush_interval`) and enforces the buffer limits; the *sender* sends the oldest
//! batch until Vigil has it or refused it, one at a time, so batches arrive in order
//! and a struggling Vigil sees one request per agent, not a burst.
//!
//! Recording is a mutex-protected push onto a vector; nothing on the recording path
//! waits for the network.
//!
//! Call [`Client::shutdown`] before the process exits: it delivers what it can within
//! its timeout and saves the rest to the spill directory. Dropping every handle
//! without it starts the same shutdown (with `server.timeout` as the deadline) on the
//! delivery thread, but nothing waits for it, so a process that exits right away may
//! lose what was buffered.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::buffer::{Body, Buffer, BufferSizes, FlushOutcome, Outgoing};
use crate::config::{AgentSettings, BufferSettings, DeliverySettings, ServerSettings};
use crate::delivery::{retry_delay, Endpoint, Verdict};
use crate::point::{is_valid_name, now_ms, Point, Tags};

/// Why the client could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not open the spill directory {dir}: {source}")]
    SpillDir {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not start the delivery thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// What the client needs: where Vigil is, how to batch, how much to buffer, and
/// tags added to every point that does not set them itself.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub server: ServerSettings,
    pub delivery: DeliverySettings,
    pub buffer: BufferSettings,
    pub default_tags: Tags,
}

impl ClientSettings {
    /// The agent's defaults (`config/agent.toml`) for a server URL, memory-only buffer.
    pub fn new(url: impl Into<String>) -> ClientSettings {
        let defaults = AgentSettings::defaults();
        let mut settings = ClientSettings::from_agent(&defaults);
        settings.server.url = url.into();
        settings.buffer.spill_dir = Default::default();
        settings.default_tags = Tags::new();
        settings
    }

    /// The client part of the agent's settings, with its global tags.
    pub fn from_agent(agent: &AgentSettings) -> ClientSettings {
        ClientSettings {
            server: agent.server.clone(),
            delivery: agent.delivery.clone(),
            buffer: agent.buffer.clone(),
            default_tags: agent.global_tags(),
        }
    }
}

/// Counters since start, and the buffer now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Points taken into the buffer.
    pub recorded: u64,
    /// Points refused at `record` (non-finite value, name Vigil would reject).
    pub invalid: u64,
    /// Points Vigil accepted.
    pub sent: u64,
    /// Points Vigil rejected (in a 202's `rejected`, or a whole refused batch).
    pub rejected: u64,
    /// Points dropped because the buffer was full.
    pub dropped: u64,
    /// Batches Vigil accepted.
    pub batches_sent: u64,
    /// Attempts that failed and were retried.
    pub retries: u64,
    pub buffer: BufferSizes,
}

/// What shutdown left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    pub stats: ClientStats,
    /// Points written to the spill directory, sent at the next start.
    pub spilled_points: usize,
    /// Points neither delivered nor saved (memory-only buffer, or disk full).
    pub lost_points: usize,
}

#[derive(Default)]
struct Counters {
    recorded: AtomicU64,
    invalid: AtomicU64,
    sent: AtomicU64,
    rejected: AtomicU64,
    batches_sent: AtomicU64,
    retries: AtomicU64,
}

/// State shared by the recording threads and the delivery thread.
struct Shared {
    buffer: Mutex<Buffer>,
    counters: Counters,
    wake_batcher: Notify,
    wake_sender: Notify,
    batch_size: usize,
    default_tags: Tags,
}

impl Shared {
    fn stats(&self) -> ClientStats {
        let (buffer, dropped) = {
            let buffer = self.buffer();
            (buffer.sizes(), buffer.dropped())
        };
        let c = &self.counters;
        ClientStats {
            recorded: c.recorded.load(Ordering::Relaxed),
            invalid: c.invalid.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            dropped,
            batches_sent: c.batches_sent.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            buffer,
        }
    }

    fn buffer(&self) -> MutexGuard<'_, Buffer> {
        // A panic while holding the lock leaves a consistent buffer (every method
        // updates its counters after the fallible part), so poisoning is ignored.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Control {
    Flush {
        timeout: Duration,
        reply: oneshot::Sender<FlushOutcome>,
    },
    Shutdown {
        timeout: Duration,
        reply: oneshot::Sender<ShutdownReport>,
    },
}

/// A handle to the client; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    control: mpsc::UnboundedSender<Control>,
}

impl Client {
    /// Opens the buffer (adopting batches a previous run spilled) and starts the
    /// delivery thread.
    pub fn start(settings: ClientSettings) -> Result<Client, ClientError> {
        let buffer = Buffer::new(&settings.buffer).map_err(|source| ClientError::SpillDir {
            dir: settings.buffer.spill_dir.display().to_string(),
            source,
        })?;
        let shared = Arc::new(Shared {
            buffer: Mutex::new(buffer),
            counters: Counters::default(),
            wake_batcher: Notify::new(),
            wake_sender: Notify::new(),
            batch_size: settings.delivery.batch_size,
            default_tags: settings.default_tags.clone(),
        });
        let (control, control_rx) = mpsc::unbounded_channel();
        let thread_shared = shared.clone();
        // Detached: it ends by itself after a shutdown, or when every handle is gone.
        std::thread::Builder::new()
            .name("vigil-delivery".into())
            .spawn(move || {
                actix_rt::System::new().block_on(delivery(thread_shared, settings, control_rx));
            })
            .map_err(ClientError::Thread)?;
        Ok(Client { shared, control })
    }

    /// Records one point, timestamped now.
    pub fn record(&self, name: &str, value: f64, tags: &[(&str, &str)]) {
        self.record_at(name, value, tags, now_ms());
    }

    /// Records one point with an explicit timestamp (ms since the Unix epoch).
    pub fn record_at(&self, name: &str, value: f64, tags: &[(&str, &str)], timestamp_ms: i64) {
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.record_points(vec![Point::new(name, value, tags, timestamp_ms)]);
    }

    /// Records many points at once (one lock for all). Points with a non-finite value
    /// or a name Vigil would reject are skipped and counted as `invalid`.
    pub fn record_points(&self, mut points: Vec<Point>) {
        let before = points.len();
        points.retain(|p| p.value.is_finite() && is_valid_name(&p.name));
        let invalid = (before - points.len()) as u64;
        if invalid > 0 {
            self.shared
                .counters
                .invalid
                .fetch_add(invalid, Ordering::Relaxed);
        }
        if !self.shared.default_tags.is_empty() {
            for point in &mut points {
                for (k, v) in &self.shared.default_tags {
                    if !point.tags.contains_key(k) {
                        point.tags.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        self.shared
            .counters
            .recorded
            .fetch_add(points.len() as u64, Ordering::Relaxed);
        let full = {
            let mut buffer = self.shared.buffer();
            buffer.push_many(points);
            buffer.pending_len() >= self.shared.batch_size
        };
        if full {
            self.shared.wake_batcher.notify_one();
        }
    }

    /// Seals what is pending and waits until everything recorded so far was delivered
    /// (or refused, or dropped), at most `timeout`. Works under any async runtime.
    pub async fn flush(&self, timeout: Duration) -> FlushOutcome {
        match self.request_flush(timeout) {
            Some(answer) => answer.await.unwrap_or_else(|_| self.stopped_outcome()),
            None => self.stopped_outcome(),
        }
    }

    /// [`Client::flush`] for code without an async runtime (blocks the thread; do not
    /// call it on an async executor's thread).
    pub fn flush_blocking(&self, timeout: Duration) -> FlushOutcome {
        match self.request_flush(timeout) {
            Some(answer) => answer
                .blocking_recv()
                .unwrap_or_else(|_| self.stopped_outcome()),
            None => self.stopped_outcome(),
        }
    }

    /// Asks the delivery thread for a flush; None when it has stopped.
    fn request_flush(&self, timeout: Duration) -> Option<oneshot::Receiver<FlushOutcome>> {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Flush { timeout, reply })
            .ok()
            .map(|_| answer)
    }

    /// Delivers what it can within `timeout`, writes the rest to the spill directory
    /// (when configured) and stops the delivery thread. Later records are buffered
    /// but never sent.
    pub async fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let (reply, answer) = oneshot::channel();
        let report = if self
            .control
            .send(Control::Shutdown { timeout, reply })
            .is_ok()
        {
            answer.await.ok()
        } else {
            None
        };
        report.unwrap_or_else(|| ShutdownReport {
            stats: self.stats(),
            spilled_points: 0,
            lost_points: self.stats().buffer.total_points(),
        })
    }

    /// Counters since start and the buffer's sizes now.
    pub fn stats(&self) -> ClientStats {
        self.shared.stats()
    }

    fn stopped_outcome(&self) -> FlushOutcome {
        FlushOutcome::TimedOut {
            buffered: self.stats().buffer.total_points(),
        }
    }
}

/// Encodes points as Vigil's JSON array and gzips it. Level 1: at agent volumes the
/// CPU matters more than the last 20% of bytes, and JSON compresses ~8x even so.
pub fn encode_batch(points: &[Point]) -> Bytes {
    let json = serde_json::to_vec(points).expect("points serialise (finite values only)");
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 6), Compression::fast());
    gz.write_all(&json).expect("writing to a Vec cannot fail");
    Bytes::from(gz.finish().expect("writing to a Vec cannot fail"))
}

/// The delivery thread's body.
async fn delivery(
    shared: Arc<Shared>,
    settings: ClientSettings,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let endpoint = Endpoint::new(&settings.server);
    let (stop_tx, stop_rx) = watch::channel::<Option<Instant>>(None);
    let batcher = actix_rt::spawn(batcher(shared.clone(), settings.delivery.flush_interval));
    let sender = actix_rt::spawn(sender(
        shared.clone(),
        endpoint,
        settings.delivery.clone(),
        stop_rx,
    ));
    let shutdown = loop {
        match control.recv().await {
            Some(Control::Flush { timeout, reply }) => {
                seal(&shared, true);
                let id = shared.buffer().add_waiter(reply);
                let shared = shared.clone();
                actix_rt::spawn(async move {
                    tokio::time::sleep(timeout).await;
                    shared.buffer().time_out_waiter(id);
                });
            }
            Some(Control::Shutdown { timeout, reply }) => break Some((timeout, reply)),
            // Every handle is gone: stop the same way, with the configured patience.
            None => break None,
        }
    };
    let (timeout, reply) = match shutdown {
        Some((timeout, reply)) => (timeout, Some(reply)),
        None => (settings.server.timeout, None),
    };
    let deadline = Instant::now() + timeout;
    batcher.abort();
    seal(&shared, true);
    let _ = stop_tx.send(Some(deadline));
    shared.wake_sender.notify_one();
    // The sender returns once the buffer is empty or the deadline passed; the margin
    // covers the final bookkeeping of an attempt cut at the deadline.
    let _ = tokio::time::timeout_at((deadline + Duration::from_millis(500)).into(), sender).await;
    let (lost, spilled) = {
        let mut buffer = shared.buffer();
        let lost = buffer.spill_all_memory() + buffer.pending_len();
        (lost, buffer.sizes().disk_points)
    };
    if lost > 0 {
        tracing::error!("Stopped with {lost} points neither delivered nor saved to disk.");
    }
    if spilled > 0 {
        tracing::warn!("Stopped with {spilled} points in the spill directory; they are sent at the next start.");
    }
    if let Some(reply) = reply {
        let _ = reply.send(ShutdownReport {
            stats: shared.stats(),
            spilled_points: spilled,
            lost_points: lost,
        });
    }
}

/// Seals full batches when woken, and everything pending every `flush_interval`.
async fn batcher(shared: Arc<Shared>, flush_interval: Duration) {
    let mut tick = tokio::time::interval(flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let all = tokio::select! {
            _ = shared.wake_batcher.notified() => false,
            _ = tick.tick() => true,
        };
        seal(&shared, all);
    }
}

/// Turns pending points into sealed batches: full ones only, or also the last
/// partial one when `all`. Encoding happens outside the lock.
fn seal(shared: &Shared, all: bool) {
    loop {
        let points = {
            let mut buffer = shared.buffer();
            let pending = buffer.pending_len();
            if pending == 0 || (!all && pending < shared.batch_size) {
                break;
            }
            buffer.take_pending(shared.batch_size)
        };
        let body = encode_batch(&points);
        {
            let mut buffer = shared.buffer();
            buffer.insert_sealed(points.len(), body);
            buffer.enforce_limits();
        }
        shared.wake_sender.notify_one();
    }
}

/// How an attempt loop ended.
enum Delivered {
    Done,
    /// Shutdown deadline reached; the batch stays buffered.
    GaveUp,
}

/// Sends the oldest batch until it is done, then the next; returns when stopping
/// and the buffer is empty or the deadline passed.
async fn sender(
    shared: Arc<Shared>,
    endpoint: Endpoint,
    delivery: DeliverySettings,
    mut stop: watch::Receiver<Option<Instant>>,
) {
    loop {
        let next = shared.buffer().next_to_send();
        let Some(outgoing) = next else {
            if stop.borrow().is_some() {
                return;
            }
            tokio::select! {
                _ = shared.wake_sender.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        };
        match deliver(&shared, &endpoint, &delivery, &mut stop, &outgoing).await {
            Delivered::Done => shared.buffer().finish(outgoing.seq),
            Delivered::GaveUp => {
                shared.buffer().release(outgoing.seq);
                return;
            }
        }
    }
}

async fn deliver(
    shared: &Shared,
    endpoint: &Endpoint,
    delivery: &DeliverySettings,
    stop: &mut watch::Receiver<Option<Instant>>,
    outgoing: &Outgoing,
) -> Delivered {
    let body = match &outgoing.body {
        Body::Memory(bytes) => bytes.clone(),
        Body::Disk(path) => match std::fs::read(path) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => {
                tracing::error!(
                    "Could not read spilled batch {}: {e}; its {} points are lost.",
                    path.display(),
                    outgoing.points
                );
                return Delivered::Done;
            }
        },
    };
    let counters = &shared.counters;
    let mut attempt = 0u32;
    loop {
        let deadline = *stop.borrow();
        let verdict = match deadline {
            None => endpoint.send(body.clone()).await,
            Some(deadline) => {
                match tokio::time::timeout_at(deadline.into(), endpoint.send(body.clone())).await {
                    Ok(verdict) => verdict,
                    Err(_) => return Delivered::GaveUp,
                }
            }
        };
        match verdict {
            Verdict::Accepted {
                accepted,
                rejected,
                reasons,
            } => {
                counters.sent.fetch_add(accepted, Ordering::Relaxed);
                counters.batches_sent.fetch_add(1, Ordering::Relaxed);
                if attempt > 0 {
                    tracing::info!("Delivery works again after {attempt} failed attempts.");
                }
                if rejected > 0 {
                    counters.rejected.fetch_add(rejected, Ordering::Relaxed);
                    tracing::warn!(
                        "Vigil rejected {rejected} of {} points of a batch: {}",
                        outgoing.points,
                        reasons.join("; ")
                    );
                }
                return Delivered::Done;
            }
            Verdict::Refused { status, body } => {
                counters
                    .rejected
                    .fetch_add(outgoing.points as u64, Ordering::Relaxed);
                tracing::error!(
                    "Vigil refused a batch of {} points with status {status} (not retried): {body}",
                    outgoing.points
                );
                return Delivered::Done;
            }
            Verdict::Retry {
                reason,
                retry_after,
            } => {
                counters.retries.fetch_add(1, Ordering::Relaxed);
                let delay = retry_delay(
                    attempt,
                    delivery.retry_initial,
                    delivery.retry_max,
                    retry_after,
                );
                attempt = attempt.saturating_add(1);
                // The first failure of an outage is worth a warning; the next ones
                // are the same story every few seconds.
                if attempt == 1 {
                    tracing::warn!(
                        "Delivery failed ({reason}); retrying in {delay:?}, buffering meanwhile."
                    );
                } else {
                    tracing::debug!(
                        "Delivery attempt {attempt} failed ({reason}); retrying in {delay:?}."
                    );
                }
                let wake_at = Instant::now() + delay;
                loop {
                    let deadline = *stop.borrow();
                    if deadline.is_some_and(|d| wake_at > d) {
                        return Delivered::GaveUp;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(wake_at.into()) => break,
                        changed = stop.changed() => if changed.is_err() { break },
                    }
                }
            }
        }
    }
}
