//! The form a computed part of an answer takes in the query cache: 20 bytes a bucket
//! (group, bucket start, value bits, little-endian), so storing and reading a part
//! costs a copy rather than formatting and parsing a decimal number per bucket, and
//! every value (NaN payloads included) comes back bit for bit.

use crate::query::raw_buckets::Buckets;

const ENTRY: usize = 4 + 8 + 8;

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
