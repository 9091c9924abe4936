//! The bounded buffer between recording and delivery: points waiting to be batched
//! (`pending`), then sealed batches in memory, then sealed batches spilled to disk.
//!
//! A batch is encoded and gzip-compressed once, when it is sealed, and those bytes
//! are what every attempt sends: the retry after a timeout must be byte-identical
//! for Vigil to recognise it (content-derived batch ids), and keeping compressed
//! bytes makes memory cheap (about 10 bytes a point).
//!
//! Limits, in the order they apply:
//! - `memory_max_points` bounds pending points plus in-memory batches. Above it the
//!   *newest* memory batches move to disk: the oldest stay in memory because they
//!   are sent first, and dropping (below) takes them without touching the disk.
//! - `disk_max_bytes` bounds the spill directory; when a batch would not fit, the
//!   oldest batch (memory or disk) is dropped and counted, and spilling goes on.
//! - Without a spill directory, the oldest batches are dropped once memory is full.
//!
//! The batch being sent (`in_flight`) is never spilled or dropped under the sender's
//! feet. Everything here runs under one mutex; disk writes happen under it only while
//! Vigil is away, when nobody is waiting on delivery anyway.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::config::BufferSettings;
use crate::point::Point;
use crate::spill::SpillDir;

/// Where a sealed batch lives.
#[derive(Debug)]
enum Location {
    Memory(Bytes),
    Disk { path: PathBuf, bytes: u64 },
}

#[derive(Debug)]
struct Batch {
    points: usize,
    location: Location,
}

/// The body of the next batch to send.
#[derive(Debug, Clone)]
pub enum Body {
    Memory(Bytes),
    Disk(PathBuf),
}

/// A batch handed to the sender.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub seq: u64,
    pub points: usize,
    pub body: Body,
}

/// How a flush ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOutcome {
    /// Everything recorded before the flush was delivered (or refused by Vigil, or
    /// dropped by the buffer limits, which the counters show).
    Flushed,
    /// The deadline passed first; this many points were still buffered.
    TimedOut { buffered: usize },
}

struct Waiter {
    id: u64,
    /// Done once no batch with a sequence number up to this one is left.
    up_to: u64,
    reply: oneshot::Sender<FlushOutcome>,
}

/// Sizes of the buffer, for the agent's own metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferSizes {
    pub pending_points: usize,
    pub memory_points: usize,
    pub disk_points: usize,
    pub disk_bytes: u64,
}

impl BufferSizes {
    pub fn total_points(&self) -> usize {
        self.pending_points + self.memory_points + self.disk_points
    }
}

/// See the module documentation.
pub struct Buffer {
    pending: Vec<Point>,
    batches: BTreeMap<u64, Batch>,
    next_seq: u64,
    in_flight: Option<u64>,
    memory_points: usize,
    disk_points: usize,
    disk_bytes: u64,
    memory_max_points: usize,
    disk_max_bytes: u64,
    spill: Option<SpillDir>,
    /// Points dropped by the limits since start.
    dropped: u64,
    waiters: Vec<Waiter>,
    next_waiter: u64,
}

impl Buffer {
    /// Opens the spill directory (if configured) and adopts the batches a previous
    /// run left there, so they are sent first.
    pub fn new(settings: &BufferSettings) -> io::Result<Buffer> {
        let spill = if settings.spill_dir.as_os_str().is_empty() {
            None
        } else {
            Some(SpillDir::open(&settings.spill_dir)?)
        };
        let mut buffer = Buffer {
            pending: Vec::new(),
            batches: BTreeMap::new(),
            next_seq: 1,
            in_flight: None,
            memory_points: 0,
            disk_points: 0,
            disk_bytes: 0,
            memory_max_points: settings.memory_max_points,
            disk_max_bytes: settings.disk_max_bytes,
            spill,
            dropped: 0,
            waiters: Vec::new(),
            next_waiter: 0,
        };
        if let Some(spill) = &buffer.spill {
            for found in spill.list()? {
                buffer.next_seq = buffer.next_seq.max(found.seq + 1);
                buffer.disk_points += found.points;
                buffer.disk_bytes += found.bytes;
                buffer.batches.insert(
                    found.seq,
                    Batch {
                        points: found.points,
                        location: Location::Disk {
                            path: found.path,
                            bytes: found.bytes,
                        },
                    },
                );
            }
        }
        Ok(buffer)
    }

    /// Adds points to the pending list. If the batcher has fallen so far behind that
    /// pending alone exceeds the memory limit, the oldest pending points are dropped.
    pub fn push_many(&mut self, points: impl IntoIterator<Item = Point>) {
        self.pending.extend(points);
        if self.pending.len() > self.memory_max_points {
            let excess = self.pending.len() - self.memory_max_points;
            self.pending.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Takes up to `max` of the oldest pending points, to be sealed into one batch.
    pub fn take_pending(&mut self, max: usize) -> Vec<Point> {
        if self.pending.len() <= max {
            std::mem::take(&mut self.pending)
        } else {
            self.pending.drain(..max).collect()
        }
    }

    /// Stores a sealed batch in memory and returns its sequence number. Call
    /// [`Buffer::enforce_limits`] afterwards.
    pub fn insert_sealed(&mut self, points: usize, body: Bytes) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.memory_points += points;
        self.batches.insert(
            seq,
            Batch {
                points,
                location: Location::Memory(body),
            },
        );
        seq
    }

    /// Spills or drops batches until the limits hold (module documentation).
    pub fn enforce_limits(&mut self) {
        while self.disk_bytes > self.disk_max_bytes {
            let Some(seq) = self.oldest_where(|b| matches!(b.location, Location::Disk { .. }))
            else {
                break;
            };
            self.drop_batch(seq);
        }
        while self.pending.len() + self.memory_points > self.memory_max_points {
            if self.spill_newest_memory_batch() {
                continue;
            }
            // No room on disk (or no disk): the oldest batch goes, wherever it is; a
            // disk batch leaves room for the next spill.
            let Some(seq) = self.oldest_where(|_| true) else {
                break;
            };
            self.drop_batch(seq);
        }
        self.complete_waiters();
    }

    /// Moves the newest memory batch to disk when there is room; false when it cannot.
    fn spill_newest_memory_batch(&mut self) -> bool {
        let Some(spill) = &self.spill else {
            return false;
        };
        let in_flight = self.in_flight;
        let candidate = self
            .batches
            .iter()
            .rev()
            .find(|(seq, b)| Some(**seq) != in_flight && matches!(b.location, Location::Memory(_)))
            .map(|(seq, _)| *seq);
        let Some(seq) = candidate else {
            return false;
        };
        let batch = self.batches.get_mut(&seq).expect("candidate exists");
        let Location::Memory(body) = &batch.location else {
            return false;
        };
        if self.disk_bytes + body.len() as u64 > self.disk_max_bytes {
            return false;
        }
        match spill.write(seq, batch.points, body) {
            Ok((path, bytes)) => {
                batch.location = Location::Disk { path, bytes };
                self.memory_points -= batch.points;
                self.disk_points += batch.points;
                self.disk_bytes += bytes;
                true
            }
            Err(e) => {
                tracing::error!(
                    "Could not spill a batch to {}: {e}; the oldest points will be dropped instead.",
                    spill.path().display()
                );
                false
            }
        }
    }

    fn oldest_where(&self, pick: impl Fn(&Batch) -> bool) -> Option<u64> {
        self.batches
            .iter()
            .find(|(seq, b)| Some(**seq) != self.in_flight && pick(b))
            .map(|(seq, _)| *seq)
    }

    fn drop_batch(&mut self, seq: u64) {
        if let Some(points) = self.remove(seq) {
            self.dropped += points as u64;
            tracing::warn!(
                "The buffer is full: dropped the oldest batch ({points} points, {} dropped since start).",
                self.dropped
            );
        }
    }

    /// Removes a batch wherever it lives; returns its point count.
    fn remove(&mut self, seq: u64) -> Option<usize> {
        let batch = self.batches.remove(&seq)?;
        match batch.location {
            Location::Memory(_) => self.memory_points -= batch.points,
            Location::Disk { path, bytes } => {
                self.disk_points -= batch.points;
                self.disk_bytes -= bytes;
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::warn!("Could not remove spilled batch {}: {e}", path.display());
                }
            }
        }
        Some(batch.points)
    }

    /// The oldest batch, marked in flight until [`Buffer::finish`] or [`Buffer::release`].
    pub fn next_to_send(&mut self) -> Option<Outgoing> {
        let (seq, batch) = self.batches.iter().next()?;
        let body = match &batch.location {
            Location::Memory(bytes) => Body::Memory(bytes.clone()),
            Location::Disk { path, .. } => Body::Disk(path.clone()),
        };
        self.in_flight = Some(*seq);
        Some(Outgoing {
            seq: *seq,
            points: batch.points,
            body,
        })
    }

    /// The batch is done with (accepted, or refused for good): removes it.
    pub fn finish(&mut self, seq: u64) {
        if self.in_flight == Some(seq) {
            self.in_flight = None;
        }
        self.remove(seq);
        self.complete_waiters();
    }

    /// The batch stays buffered (delivery gave up for now).
    pub fn release(&mut self, seq: u64) {
        if self.in_flight == Some(seq) {
            self.in_flight = None;
        }
    }

    /// Writes every memory batch to disk regardless of `memory_max_points` (at
    /// shutdown), within `disk_max_bytes`. Returns the points left only in memory,
    /// which are lost when the process exits.
    pub fn spill_all_memory(&mut self) -> usize {
        self.in_flight = None;
        if self.spill.is_some() {
            while self.spill_newest_memory_batch() {}
        }
        self.memory_points
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn sizes(&self) -> BufferSizes {
        BufferSizes {
            pending_points: self.pending.len(),
            memory_points: self.memory_points,
            disk_points: self.disk_points,
            disk_bytes: self.disk_bytes,
        }
    }

    pub fn has_batches(&self) -> bool {
        !self.batches.is_empty()
    }

    /// Registers a flush waiter for every batch sealed so far; answers at once when
    /// there is nothing to wait for. Returns the waiter's id.
    pub fn add_waiter(&mut self, reply: oneshot::Sender<FlushOutcome>) -> u64 {
        let id = self.next_waiter;
        self.next_waiter += 1;
        self.waiters.push(Waiter {
            id,
            up_to: self.next_seq - 1,
            reply,
        });
        self.complete_waiters();
        id
    }

    /// Answers a waiter that is still waiting with `TimedOut`.
    pub fn time_out_waiter(&mut self, id: u64) {
        if let Some(i) = self.waiters.iter().position(|w| w.id == id) {
            let waiter = self.waiters.swap_remove(i);
            let buffered = self.sizes().total_points();
            let _ = waiter.reply.send(FlushOutcome::TimedOut { buffered });
        }
    }

    fn complete_waiters(&mut self) {
        let first = self.batches.keys().next().copied();
        let mut i = 0;
        while i < self.waiters.len() {
            if first.is_none_or(|first| first > self.waiters[i].up_to) {
                let waiter = self.waiters.swap_remove(i);
                let _ = waiter.reply.send(FlushOutcome::Flushed);
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::Tags;

    fn settings(memory: usize, spill: Option<&std::path::Path>, disk: u64) -> BufferSettings {
        BufferSettings {
            memory_max_points: memory,
            spill_dir: spill.map(PathBuf::from).unwrap_or_default(),
            disk_max_bytes: disk,
        }
    }

    fn points(n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point::new("m", i as f64, Tags::new(), i as i64))
            .collect()
    }

    fn seal(buffer: &mut Buffer, n: usize) -> u64 {
        let seq = buffer.insert_sealed(n, Bytes::from(vec![b'x'; n]));
        buffer.enforce_limits();
        seq
    }

    #[test]
    fn memory_only_drops_the_oldest_batches_and_counts_them() {
        let mut buffer = Buffer::new(&settings(10, None, 0)).unwrap();
        let first = seal(&mut buffer, 4);
        seal(&mut buffer, 4);
        assert_eq!(buffer.dropped(), 0);
        seal(&mut buffer, 4);
        assert_eq!(buffer.dropped(), 4);
        assert_ne!(buffer.next_to_send().unwrap().seq, first);
        assert_eq!(buffer.sizes().memory_points, 8);
    }

    #[test]
    fn the_batch_in_flight_is_never_dropped() {
        let mut buffer = Buffer::new(&settings(8, None, 0)).unwrap();
        let first = seal(&mut buffer, 4);
        assert_eq!(buffer.next_to_send().unwrap().seq, first);
        let second = seal(&mut buffer, 4);
        seal(&mut buffer, 4);
        // The second batch went instead of the one being sent.
        assert_eq!(buffer.dropped(), 4);
        buffer.finish(first);
        assert_ne!(buffer.next_to_send().unwrap().seq, second);
    }

    #[test]
    fn newest_batches_spill_to_disk_and_come_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let config = settings(8, Some(dir.path()), 1 << 20);
        let mut buffer = Buffer::new(&config).unwrap();
        let a = seal(&mut buffer, 4);
        let b = seal(&mut buffer, 4);
        let c = seal(&mut buffer, 4);
        let sizes = buffer.sizes();
        assert_eq!((sizes.memory_points, sizes.disk_points), (8, 4));
        assert_eq!(buffer.dropped(), 0);
        // Oldest first, whether in memory or on disk.
        let out = buffer.next_to_send().unwrap();
        assert_eq!(out.seq, a);
        assert!(matches!(out.body, Body::Memory(_)));
        buffer.finish(a);
        let second = buffer.next_to_send().unwrap().seq;
        assert_eq!(second, b);
        buffer.finish(second);
        let out = buffer.next_to_send().unwrap();
        assert_eq!(out.seq, c);
        let Body::Disk(path) = out.body else {
            panic!("expected the newest batch on disk")
        };
        assert_eq!(std::fs::read(path).unwrap(), vec![b'x'; 4]);

        // Shutdown spills the rest; a new buffer on the same directory adopts it.
        buffer.release(c);
        seal(&mut buffer, 2);
        assert_eq!(buffer.spill_all_memory(), 0);
        drop(buffer);
        let mut again = Buffer::new(&config).unwrap();
        assert_eq!(again.sizes().disk_points, 6);
        assert_eq!(again.next_to_send().unwrap().seq, c);
        assert!(seal(&mut again, 1) > c + 1);
    }

    #[test]
    fn a_full_disk_drops_the_oldest_points() {
        let dir = tempfile::tempdir().unwrap();
        // Room for 4 points in memory and 8 bytes (8 points here) on disk.
        let mut buffer = Buffer::new(&settings(4, Some(dir.path()), 8)).unwrap();
        for _ in 0..5 {
            seal(&mut buffer, 4);
        }
        let sizes = buffer.sizes();
        assert_eq!(sizes.total_points() as u64 + buffer.dropped(), 20);
        assert!(sizes.disk_bytes <= 8);
        assert!(sizes.memory_points <= 4);
        assert_eq!(buffer.dropped(), 8);
    }

    #[test]
    fn pending_points_beyond_the_memory_limit_drop_the_oldest() {
        let mut buffer = Buffer::new(&settings(5, None, 0)).unwrap();
        buffer.push_many(points(7));
        assert_eq!(buffer.dropped(), 2);
        let taken = buffer.take_pending(100);
        assert_eq!(taken[0].value, 2.0);
    }

    #[test]
    fn flush_waiters_complete_when_their_batches_are_gone() {
        let mut buffer = Buffer::new(&settings(100, None, 0)).unwrap();
        let (tx, mut rx) = oneshot::channel();
        buffer.add_waiter(tx);
        assert_eq!(rx.try_recv().unwrap(), FlushOutcome::Flushed);

        let seq = seal(&mut buffer, 3);
        let (tx, mut rx) = oneshot::channel();
        buffer.add_waiter(tx);
        seal(&mut buffer, 3);
        assert!(rx.try_recv().is_err());
        buffer.finish(seq);
        assert_eq!(rx.try_recv().unwrap(), FlushOutcome::Flushed);

        let (tx, mut rx) = oneshot::channel();
        let id = buffer.add_waiter(tx);
        buffer.time_out_waiter(id);
        assert_eq!(
            rx.try_recv().unwrap(),
            FlushOutcome::TimedOut { buffered: 3 }
        );
    }
}
