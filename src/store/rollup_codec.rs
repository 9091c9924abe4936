//! The codec of compressed rollup blocks: the buckets of one series over one day of a
//! rollup tier (bucket times, min, max, sum, count) as one byte string, lossless (every
//! number read back is bit-identical to the number stored).
//!
//! The layout is a format version byte, then five length-prefixed columns, each in the
//! raw tier's column format (`store::blocks`): bucket times as `(first, step)` when no
//! bucket is missing (the usual case: one byte string of 22 bytes for 1,440 minutes),
//! else pco; min, max, sum and count as pco over decimal-scaled integers when they
//! round-trip, else over the `f64`s. One byte string rather than five columns: each
//! out-of-line value costs a TOAST pointer, chunk header and index entry.
//!
//! Pure: no I/O. The rollup compactor encodes on the blocking pool; readers decode
//! there too.

use crate::query::partial::Partial;
use crate::store::blocks::{self, BlockError};

/// The format written today. Readers accept every version listed in `decode`.
pub const FORMAT_VERSION: u8 = 1;

/// Integers above 2^53 would not survive the trip through an `f64` column.
const MAX_EXACT_COUNT: i64 = 1 << 53;

/// The buckets of one series, ascending by time, as the rollup tables hold them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupBuckets {
    /// Bucket starts, ms since the epoch, strictly ascending.
    pub buckets_ms: Vec<i64>,
    pub partials: Vec<Partial>,
}

impl RollupBuckets {
    pub fn len(&self) -> usize {
        self.buckets_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets_ms.is_empty()
    }

    /// `newer` laid over `self`: a bucket present in both takes `newer`'s partial (the
    /// row a recompute wrote after the block was made).
    pub fn overlaid(self, newer: RollupBuckets) -> RollupBuckets {
        if newer.is_empty() {
            return self;
        }
        let mut out = RollupBuckets::default();
        let (mut old, mut new) = (
            self.buckets_ms.into_iter().zip(self.partials).peekable(),
            newer.buckets_ms.into_iter().zip(newer.partials).peekable(),
        );
        loop {
            let (a, b) = (old.peek().map(|x| x.0), new.peek().map(|x| x.0));
            let take_new = match (a, b) {
                (None, None) => break,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(a), Some(b)) => {
                    if a == b {
                        old.next();
                    }
                    b <= a
                }
            };
            let (b, p) = if take_new { new.next() } else { old.next() }.expect("peeked");
            out.buckets_ms.push(b);
            out.partials.push(p);
        }
        out
    }
}

/// Encodes the buckets with pco at `level`, then decodes the result and compares it bit
/// for bit with the input: the compactor's guard before the rows are given up.
pub fn encode_verified(buckets: &RollupBuckets, level: usize) -> Result<Vec<u8>, BlockError> {
    let bytes = encode(buckets, level)?;
    let back = decode(&bytes)?;
    let same = back.buckets_ms == buckets.buckets_ms
        && back.partials.iter().zip(&buckets.partials).all(|(a, b)| {
            a.min.to_bits() == b.min.to_bits()
                && a.max.to_bits() == b.max.to_bits()
                && a.sum.to_bits() == b.sum.to_bits()
                && a.count == b.count
        })
        && back.len() == buckets.len();
    if !same {
        return Err(BlockError::Mismatch);
    }
    Ok(bytes)
}

/// Encodes the buckets (see the module comment for the layout).
pub fn encode(buckets: &RollupBuckets, level: usize) -> Result<Vec<u8>, BlockError> {
    let n = buckets.len();
    if buckets.partials.len() != n {
        return Err(BlockError::Length {
            times: n,
            values: buckets.partials.len(),
        });
    }
    if buckets
        .partials
        .iter()
        .any(|p| !(0..MAX_EXACT_COUNT).contains(&p.count))
    {
        return Err(BlockError::Codec {
            column: "count",
            message: "count outside 0..2^53".into(),
        });
    }
    let times_us: Vec<i64> = buckets
        .buckets_ms
        .iter()
        .map(|ms| ms.saturating_mul(1000))
        .collect();
    let column = |f: fn(&Partial) -> f64| -> Result<blocks::EncodedBlock, BlockError> {
        let values: Vec<f64> = buckets.partials.iter().map(f).collect();
        blocks::encode(&times_us, &values, level)
    };
    let min = column(|p| p.min)?;
    let max = column(|p| p.max)?;
    let sum = column(|p| p.sum)?;
    let count = column(|p| p.count as f64)?;
    let parts = [
        &min.times,
        &min.values,
        &max.values,
        &sum.values,
        &count.values,
    ];
    let mut out = Vec::with_capacity(1 + parts.iter().map(|p| p.len() + 4).sum::<usize>());
    out.push(FORMAT_VERSION);
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part);
    }
    Ok(out)
}

/// Decodes a byte string written by [`encode`]. Corrupt input is an error, never a panic.
pub fn decode(bytes: &[u8]) -> Result<RollupBuckets, BlockError> {
    let (&version, mut rest) = bytes.split_first().ok_or(BlockError::Truncated("rollup"))?;
    if version != FORMAT_VERSION {
        return Err(BlockError::Version(version));
    }
    let mut parts: Vec<&[u8]> = Vec::with_capacity(5);
    for _ in 0..5 {
        if rest.len() < 4 {
            return Err(BlockError::Truncated("rollup"));
        }
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        rest = &rest[4..];
        if rest.len() < len {
            return Err(BlockError::Truncated("rollup"));
        }
        parts.push(&rest[..len]);
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        return Err(BlockError::Codec {
            column: "rollup",
            message: format!("{} trailing bytes", rest.len()),
        });
    }
    let (times_us, min) = blocks::decode(parts[0], parts[1])?;
    let (_, max) = blocks::decode(parts[0], parts[2])?;
    let (_, sum) = blocks::decode(parts[0], parts[3])?;
    let (_, count) = blocks::decode(parts[0], parts[4])?;
    let partials = (0..times_us.len())
        .map(|i| Partial {
            min: min[i],
            max: max[i],
            sum: sum[i],
            count: count[i] as i64,
        })
        .collect();
    Ok(RollupBuckets {
        buckets_ms: times_us.iter().map(|us| us.div_euclid(1000)).collect(),
        partials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const MINUTE: i64 = 60_000;
    const DAY0: i64 = 1_795_305_600_000;

    /// Minute partials of the benchmark's series kinds: the 2-decimal gauge walking by
    /// +-3.00 in [0, 100] and the counter adding 0..199, 10 s apart, summed in time
    /// order as the downsampler does.
    fn benchmark_day(gauge: bool, seed: u64) -> RollupBuckets {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut value: f64 = if gauge { 50.0 } else { 0.0 };
        let mut out = RollupBuckets::default();
        for m in 0..1440 {
            let mut p = Partial::EMPTY;
            for _ in 0..6 {
                if gauge {
                    let step = rng.random_range(-300..=300) as f64 / 100.0;
                    value = ((value + step).clamp(0.0, 100.0) * 100.0).round() / 100.0;
                } else {
                    value += rng.random_range(0..200) as f64;
                }
                p.add(value);
            }
            out.buckets_ms.push(DAY0 + m * MINUTE);
            out.partials.push(p);
        }
        out
    }

    fn assert_round_trip(buckets: &RollupBuckets) -> usize {
        let bytes = encode_verified(buckets, 4).expect("encodes and verifies");
        assert_eq!(decode(&bytes).expect("decodes"), *buckets);
        bytes.len()
    }

    #[test]
    fn benchmark_days_round_trip_and_are_small() {
        let (mut bytes, mut raw_points) = (0, 0);
        for seed in 0..20 {
            let day = benchmark_day(seed % 2 == 0, seed);
            bytes += assert_round_trip(&day);
            raw_points += day.partials.iter().map(|p| p.count).sum::<i64>();
        }
        let per_point = bytes as f64 / raw_points as f64;
        eprintln!("rollup_1m codec: {per_point:.3} B per raw point");
        // Rows cost 46-48 B per raw point.
        assert!(per_point < 3.0, "{per_point} B per raw point");
    }

    #[test]
    fn odd_values_holes_and_empty_days_round_trip() {
        assert_round_trip(&RollupBuckets::default());
        let mut rng = StdRng::seed_from_u64(7);
        let mut day = RollupBuckets::default();
        let specials = [
            -0.0,
            0.0,
            f64::MIN_POSITIVE / 4.0,
            1e300,
            -1e-300,
            2f64.powi(60),
        ];
        for m in 0..500 {
            if rng.random_bool(0.3) {
                continue; // a missing minute: times are no longer regular
            }
            let a = specials[m % specials.len()];
            let b: f64 = rng.random::<f64>() * 1e6;
            day.buckets_ms.push(DAY0 + m as i64 * MINUTE);
            day.partials.push(Partial {
                min: a.min(b),
                max: a.max(b),
                sum: a + b,
                count: rng.random_range(1..1_000_000),
            });
        }
        assert_round_trip(&day);
        // A negative zero among decimal values keeps its sign.
        let zeros = RollupBuckets {
            buckets_ms: vec![0, MINUTE, 2 * MINUTE],
            partials: [1.5, -0.0, 2.25].iter().map(|v| Partial::of(*v)).collect(),
        };
        assert_round_trip(&zeros);
    }

    #[test]
    fn corrupt_bytes_are_errors() {
        let bytes = encode(&benchmark_day(true, 1), 4).unwrap();
        assert!(matches!(decode(&[]), Err(BlockError::Truncated(_))));
        assert!(matches!(decode(&[9]), Err(BlockError::Version(9))));
        assert!(decode(&bytes[..bytes.len() - 3]).is_err());
        let mut flipped = bytes.clone();
        for i in (6..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5a;
        }
        let _ = decode(&flipped); // an error or garbage numbers, never a panic
        let mut long = bytes;
        long.push(0);
        assert!(decode(&long).is_err());
    }

    #[test]
    fn newer_buckets_win_over_older_ones() {
        let p = |v: f64| Partial::of(v);
        let old = RollupBuckets {
            buckets_ms: vec![0, 60, 120],
            partials: vec![p(1.0), p(2.0), p(3.0)],
        };
        let new = RollupBuckets {
            buckets_ms: vec![60, 180],
            partials: vec![p(20.0), p(40.0)],
        };
        let merged = old.overlaid(new);
        assert_eq!(merged.buckets_ms, vec![0, 60, 120, 180]);
        let sums: Vec<f64> = merged.partials.iter().map(|p| p.sum).collect();
        assert_eq!(sums, vec![1.0, 20.0, 3.0, 40.0]);
    }

    #[test]
    fn counts_beyond_an_exact_f64_are_refused() {
        let day = RollupBuckets {
            buckets_ms: vec![0],
            partials: vec![Partial {
                count: MAX_EXACT_COUNT,
                ..Partial::of(1.0)
            }],
        };
        assert!(encode(&day, 4).is_err());
    }
}
