//! The form a computed part of an answer takes in the query cache: 20 bytes a bucket
//! (group, bucket start, value bits, little-endian), so storing and reading a part
//! costs a copy rather than formatting and parsing a decimal number per bucket, and
//! every value (NaN payloads included) comes back bit for bit.

use std::time::Duration;

use crate::query::raw_buckets::Buckets;

const ENTRY: usize = 4 + 8 + 8;

/// The TTL of a settled part: between half and all of `ttl`, fixed by its key. The
/// parts one answer computes (every block of a day panel the first time it is shown)
/// would otherwise all expire in the same refresh, which then recomputes the whole
/// range at once, every `ttl`; spread out, a refresh recomputes a block now and then.
/// Never more than `ttl`, which stays the bound on a part's age.
pub fn spread_ttl(ttl: Duration, key: &str) -> Duration {
    // FNV-1a, then a 64-bit finaliser so keys differing in their last bytes land far
    // apart: stable across builds and processes, unlike the std hasher.
    let mut hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    let fraction = (hash >> 11) as f64 / (1u64 << 53) as f64;
    ttl.mul_f64(1.0 - 0.5 * fraction)
}

pub fn encode(buckets: &[((i32, i64), f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buckets.len() * ENTRY);
    for ((group, bucket), value) in buckets {
        out.extend_from_slice(&group.to_le_bytes());
        out.extend_from_slice(&bucket.to_le_bytes());
        out.extend_from_slice(&value.to_bits().to_le_bytes());
    }
    out
}

/// `None` for bytes that are not a whole number of entries in key order (a value
/// written by something else, or cut short): the caller treats it as a miss.
pub fn decode(bytes: &[u8]) -> Option<Buckets> {
    if bytes.len() % ENTRY != 0 {
        return None;
    }
    let mut out: Buckets = Vec::with_capacity(bytes.len() / ENTRY);
    for entry in bytes.chunks_exact(ENTRY) {
        let group = i32::from_le_bytes(entry[0..4].try_into().ok()?);
        let bucket = i64::from_le_bytes(entry[4..12].try_into().ok()?);
        let value = f64::from_bits(u64::from_le_bytes(entry[12..20].try_into().ok()?));
        if out.last().is_some_and(|(key, _)| *key >= (group, bucket)) {
            return None;
        }
        out.push(((group, bucket), value));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn settled_ttls_are_spread_over_the_upper_half_and_never_exceed_the_ttl() {
        let ttl = Duration::from_secs(300);
        let spread: Vec<Duration> = (0..1000)
            .map(|i| spread_ttl(ttl, &format!("vigil:query:{i:064x}")))
            .collect();
        assert!(
            spread.iter().all(|t| *t <= ttl && *t >= ttl / 2),
            "{spread:?}"
        );
        assert_eq!(
            spread_ttl(ttl, "vigil:query:ab"),
            spread_ttl(ttl, "vigil:query:ab"),
            "fixed per key"
        );
        // Spread, not bunched: each tenth of the range gets some of the keys.
        let mut tenths = [0; 10];
        for t in &spread {
            let tenth = ((t.as_secs_f64() - 150.0) / 15.0).floor() as usize;
            tenths[tenth.min(9)] += 1;
        }
        assert!(tenths.iter().all(|n| *n >= 50), "{tenths:?}");
    }

    #[test]
    fn random_parts_round_trip_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let mut keys: Vec<(i32, i64)> = (0..rng.random_range(0..300))
                .map(|_| (rng.random_range(-3..40), rng.random()))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            let buckets: Buckets = keys
                .into_iter()
                .map(|k| (k, f64::from_bits(rng.random())))
                .collect();
            let back = decode(&encode(&buckets)).expect("own encoding decodes");
            assert_eq!(back.len(), buckets.len());
            for (a, b) in back.iter().zip(&buckets) {
                assert_eq!(a.0, b.0);
                assert_eq!(a.1.to_bits(), b.1.to_bits());
            }
        }
    }

    #[test]
    fn refuses_cut_or_unordered_bytes() {
        let two: Buckets = vec![((0, 10), 1.0), ((0, 20), 2.0)];
        let bytes = encode(&two);
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        let swapped = [&bytes[ENTRY..], &bytes[..ENTRY]].concat();
        assert!(decode(&swapped).is_none());
        assert_eq!(decode(&[]), Some(Vec::new()));
    }
}
