//! Series ids this process knows, shared by the ingest actors (which only need to know
//! that a series exists, for the cardinality caps) and the batch writers (which need
//! its id), so a series looked up once is known to all of them.
//!
//! Sized for millions of series: an entry is the 128-bit hash of the series key and
//! the id (no key string, no list pointers), in shards that are locked only for the
//! map operation itself. Eviction is by recency in two generations: entries go into
//! the current generation; when it is full it becomes the previous one and the old
//! previous is dropped whole; a hit in the previous generation moves the entry to the
//! current one. So an id used within the last `capacity / 2` insertions of its shard
//! is never evicted. A fleet bigger than the capacity misses on most lookups (as any
//! recency cache would under a cyclic scan): size the capacity above the number of
//! live series (an entry costs about 40 bytes). Callers copy ids out for the batch in flight, so an eviction never takes away an id
//! a batch is about to write.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use crate::model::{Labels, SeriesKey};

/// Identity of a series in memory: xxh3-128 of its canonical key. Two keys share a
/// hash with probability about n² / 2¹²⁹ (10⁻²⁷ for a million series).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesHash(u128);

impl SeriesHash {
    pub fn of(key: &SeriesKey) -> SeriesHash {
        SeriesHash::of_str(key.as_str())
    }

    pub fn of_str(key: &str) -> SeriesHash {
        SeriesHash(xxhash_rust::xxh3::xxh3_128(key.as_bytes()))
    }

    /// The hash of `SeriesKey::new(metric, labels)` without building the key: the
    /// writers hash every series of every batch, and the string is only needed for
    /// the few the cache does not know.
    pub fn of_series(metric: &str, labels: &Labels) -> SeriesHash {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(metric.as_bytes());
        h.update(b"{");
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                h.update(b",");
            }
            h.update(k.as_bytes());
            h.update(b"=\"");
            // Escaped exactly as `SeriesKey::new` escapes: a backslash before `"` and `\`.
            let mut rest = v.as_bytes();
            while let Some(at) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
                h.update(&rest[..at]);
                h.update(&[b'\\', rest[at]]);
                rest = &rest[at + 1..];
            }
            h.update(rest);
            h.update(b"\"");
        }
        h.update(b"}");
        SeriesHash(h.digest128())
    }

    fn shard(self, shards: usize) -> usize {
        // The high half picks the shard, the low half is the map's hash.
        ((self.0 >> 64) as u64 % shards as u64) as usize
    }
}

/// The key is already a uniform hash: use its low 64 bits as they are.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

type IdMap = HashMap<SeriesHash, i64, BuildHasherDefault<PassThrough>>;

struct Generations {
    current: IdMap,
    previous: IdMap,
    half: usize,
}

impl Generations {
    fn get(&mut self, hash: SeriesHash) -> Option<i64> {
        if let Some(&id) = self.current.get(&hash) {
            return Some(id);
        }
        let id = self.previous.remove(&hash)?;
        self.insert(hash, id);
        Some(id)
    }

    fn insert(&mut self, hash: SeriesHash, id: i64) {
        if self.current.len() >= self.half && !self.current.contains_key(&hash) {
            self.previous = std::mem::take(&mut self.current);
            self.current.reserve(self.half.min(1 << 16));
        }
        self.current.insert(hash, id);
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

pub struct SeriesIds {
    shards: Vec<Mutex<Generations>>,
}

const SHARDS: usize = 16;

impl SeriesIds {
    /// Holds at most `capacity` ids (at least one per shard generation).
    pub fn new(capacity: usize) -> SeriesIds {
        let half = (capacity / SHARDS / 2).max(1);
        SeriesIds {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Generations {
                        current: IdMap::default(),
                        previous: IdMap::default(),
                        half,
                    })
                })
                .collect(),
        }
    }

    fn shard(&self, hash: SeriesHash) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding a shard cannot leave a map half-updated in a way that
        // matters (an entry is either there or not), so a poisoned lock is used as is.
        self.shards[hash.shard(SHARDS)]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, hash: SeriesHash) -> Option<i64> {
        self.shard(hash).get(hash)
    }

    pub fn insert(&self, hash: SeriesHash, id: i64) {
        self.shard(hash).insert(hash, id);
    }

    /// Ids currently held (for tests and `/metrics`).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u64) -> SeriesHash {
        SeriesHash::of_str(&format!("m{{host=\"h{i}\"}}"))
    }

    #[test]
    fn holds_at_most_the_capacity_and_keeps_recent_ids() {
        let ids = SeriesIds::new(16 * 2 * 100);
        for i in 0..100_000 {
            ids.insert(h(i), i as i64);
        }
        assert!(ids.len() <= 16 * 2 * 100, "{}", ids.len());
        // The most recent insertions are all still there, with their own ids.
        for i in 100_000 - 1_000..100_000 {
            assert_eq!(ids.get(h(i)), Some(i as i64));
        }
        assert_eq!(ids.get(h(5)), None);
    }

    #[test]
    fn a_hit_in_the_previous_generation_survives_the_next_rollover() {
        let ids = SeriesIds::new(SHARDS * 2 * 4);
        let hot = h(0);
        ids.insert(hot, 42);
        // Enough insertions to roll every shard over several times, touching `hot`
        // in between: it must never be lost.
        for i in 1..10_000 {
            ids.insert(h(i), i as i64);
            if i % 3 == 0 {
                assert_eq!(ids.get(hot), Some(42), "lost after {i} insertions");
            }
        }
    }

    #[test]
    fn hashing_the_parts_equals_hashing_the_key() {
        let cases: [(&str, &[(&str, &str)]); 5] = [
            ("cpu", &[]),
            ("cpu", &[("host", "h1"), ("zone", "eu")]),
            ("m", &[("k", r#"x",j="y"#)]),
            ("m", &[("a", r"back\slash"), ("b", "\""), ("c", "\\\"")]),
            ("m.x:y", &[("k", "ünï\"cödé\\")]),
        ];
        for (metric, pairs) in cases {
            let labels: Labels = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(
                SeriesHash::of_series(metric, &labels),
                SeriesHash::of(&SeriesKey::new(metric, &labels)),
                "{metric} {labels:?}"
            );
        }
    }

    #[test]
    fn hash_is_stable_and_distinguishes_keys() {
        assert_eq!(SeriesHash::of_str("a{}"), SeriesHash::of_str("a{}"));
        assert_ne!(SeriesHash::of_str("a{}"), SeriesHash::of_str("b{}"));
    }
}
