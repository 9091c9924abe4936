//! The block codec of the compressed raw tier: the timestamps and the values of one
//! series over one time range, each column its own byte string, both lossless (a value
//! read back is bit-identical to the value stored).
//!
//! Every column starts with a format version byte and an encoding byte, so the format
//! can change without rewriting old blocks. Timestamps (µs since the epoch) are stored
//! as `(first, step)` when the step is constant, else as pco over milliseconds (when
//! every timestamp is a whole millisecond, which ingest guarantees) or microseconds.
//! Values are stored as pco over decimal-scaled integers when every value round-trips
//! through `m / 10^d` bit for bit (a 2-decimal gauge becomes small integers whose
//! deltas pco packs into about a byte), else as pco over the raw `f64` (its float
//! modes), else, should that ever fail to round-trip, pco over the IEEE bit patterns.
//!
//! Pure: no I/O. The compactor encodes on the blocking pool; readers decode there too.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pco::standalone::{simple_compress, simple_decompress};
use pco::ChunkConfig;

/// The format written today. Readers accept every version listed in `decode_*`.
pub const FORMAT_VERSION: u8 = 1;

const TIMES_REGULAR: u8 = 0;
const TIMES_PCO_MS: u8 = 1;
const TIMES_PCO_US: u8 = 2;

const VALUES_DECIMAL: u8 = 0;
const VALUES_FLOAT: u8 = 1;
const VALUES_BITS: u8 = 2;

/// Decimal scaling beyond this many digits rarely round-trips and never pays off.
const MAX_DECIMALS: u8 = 9;
/// Integers above 2^53 are not exact in an f64, so `m / 10^d` could not be exact.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0;

const POW10: [f64; MAX_DECIMALS as usize + 1] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// Why a block could not be encoded or decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("unknown block format version {0}")]
    Version(u8),
    #[error("unknown {column} encoding {kind}")]
    Encoding { column: &'static str, kind: u8 },
    #[error("truncated {0} column")]
    Truncated(&'static str),
    #[error("{column} column: {message}")]
    Codec {
        column: &'static str,
        message: String,
    },
    #[error("block holds {times} timestamps but {values} values")]
    Length { times: usize, values: usize },
    #[error("re-decoding the encoded block did not give back the input")]
    Mismatch,
}

/// One encoded block: the two column byte strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBlock {
    pub times: Vec<u8>,
    pub values: Vec<u8>,
}

/// Encodes a series' samples (timestamps in µs, ascending, duplicates allowed) with
/// pco at `level` (0..=12; 4 is about 3x faster than the default 8 for 1% more bytes).
pub fn encode(times_us: &[i64], values: &[f64], level: usize) -> Result<EncodedBlock, BlockError> {
    if times_us.len() != values.len() {
        return Err(BlockError::Length {
            times: times_us.len(),
            values: values.len(),
        });
    }
    let config = ChunkConfig::default().with_compression_level(level.min(12));
    Ok(EncodedBlock {
        times: encode_times(times_us, &config)?,
        values: encode_values(values, &config)?,
    })
}

/// Encodes and checks that decoding gives back exactly the input (the compactor's
/// guard before raw rows are given up).
pub fn encode_verified(
    times_us: &[i64],
    values: &[f64],
    level: usize,
) -> Result<EncodedBlock, BlockError> {
    let block = encode(times_us, values, level)?;
    let (t, v) = decode(&block.times, &block.values)?;
    let same_values = v.len() == values.len()
        && v.iter()
            .zip(values)
            .all(|(a, b)| a.to_bits() == b.to_bits());
    if t != times_us || !same_values {
        return Err(BlockError::Mismatch);
    }
    Ok(block)
}

/// Decodes both columns: timestamps in µs and values, parallel.
pub fn decode(times: &[u8], values: &[u8]) -> Result<(Vec<i64>, Vec<f64>), BlockError> {
    let t = decode_times(times)?;
    let v = decode_values(values)?;
    if t.len() != v.len() {
        return Err(BlockError::Length {
            times: t.len(),
            values: v.len(),
        });
    }
    Ok((t, v))
}

fn header(kind: u8, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(22);
    out.push(FORMAT_VERSION);
    out.push(kind);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out
}

fn codec_error(column: &'static str) -> impl Fn(pco::errors::PcoError) -> BlockError {
    move |e| BlockError::Codec {
        column,
        message: e.to_string(),
    }
}

fn encode_times(times_us: &[i64], config: &ChunkConfig) -> Result<Vec<u8>, BlockError> {
    let n = times_us.len();
    let step = if n > 1 {
        times_us[1].wrapping_sub(times_us[0])
    } else {
        0
    };
    let regular = times_us
        .windows(2)
        .all(|w| w[1].checked_sub(w[0]) == Some(step));
    if regular {
        let mut out = header(TIMES_REGULAR, n);
        out.extend_from_slice(&times_us.first().copied().unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&step.to_le_bytes());
        return Ok(out);
    }
    let whole_ms = times_us.iter().all(|t| t.rem_euclid(1000) == 0);
    let (kind, numbers): (u8, Vec<i64>) = if whole_ms {
        (
            TIMES_PCO_MS,
            times_us.iter().map(|t| t.div_euclid(1000)).collect(),
        )
    } else {
        (TIMES_PCO_US, times_us.to_vec())
    };
    let mut out = header(kind, n);
    out.extend(simple_compress(&numbers, config).map_err(codec_error("timestamp"))?);
    Ok(out)
}

/// The smallest number of decimals at which every value round-trips, if any.
fn decimals_of(values: &[f64]) -> Option<u8> {
    let mut d = 0u8;
    for &v in values {
        while !round_trips(v, d) {
            d += 1;
            if d > MAX_DECIMALS {
                return None;
            }
        }
    }
    Some(d)
}

fn round_trips(v: f64, d: u8) -> bool {
    let p = POW10[d as usize];
    let m = (v * p).round();
    // Through the integer, as decoding goes: `-0.0` becomes `0` there and must not pass.
    m.abs() <= MAX_MANTISSA && ((m as i64) as f64 / p).to_bits() == v.to_bits()
}

fn encode_values(values: &[f64], config: &ChunkConfig) -> Result<Vec<u8>, BlockError> {
    let n = values.len();
    if n == 0 {
        return Ok(header(VALUES_DECIMAL, 0));
    }
    if let Some(d) = decimals_of(values) {
        let p = POW10[d as usize];
        let ints: Vec<i64> = values.iter().map(|v| (v * p).round() as i64).collect();
        let mut out = header(VALUES_DECIMAL, n);
        out.push(d);
        out.extend(simple_compress(&ints, config).map_err(codec_error("value"))?);
        return Ok(out);
    }
    let mut out = header(VALUES_FLOAT, n);
    out.extend(simple_compress(values, config).map_err(codec_error("value"))?);
    let floats_round_trip = decode_values(&out).is_ok_and(|back| {
        back.len() == n
            && back
                .iter()
                .zip(values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    });
    if floats_round_trip {
        return Ok(out);
    }
    let bits: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
    let mut out = header(VALUES_BITS, n);
    out.extend(simple_compress(&bits, config).map_err(codec_error("value"))?);
    Ok(out)
}

/// Splits a column into (encoding, count, payload) after checking the version.
fn open<'a>(column: &'static str, bytes: &'a [u8]) -> Result<(u8, usize, &'a [u8]), BlockError> {
    if bytes.len() < 6 {
        return Err(BlockError::Truncated(column));
    }
    if bytes[0] != FORMAT_VERSION {
        return Err(BlockError::Version(bytes[0]));
    }
    let n = u32::from_le_bytes(bytes[2..6].try_into().expect("4 bytes")) as usize;
    Ok((bytes[1], n, &bytes[6..]))
}

/// pco over untrusted bytes, with the count checked; a panic inside the codec on
/// corrupt input is turned into an error so no reader or actor goes down with it.
fn pco_decode<T: pco::data_types::Number>(
    column: &'static str,
    payload: &[u8],
    n: usize,
) -> Result<Vec<T>, BlockError> {
    let decoded = catch_unwind(AssertUnwindSafe(|| simple_decompress::<T>(payload)))
        .map_err(|_| BlockError::Codec {
            column,
            message: "decoder panicked on corrupt input".into(),
        })?
        .map_err(codec_error(column))?;
    if decoded.len() != n {
        return Err(BlockError::Codec {
            column,
            message: format!("header says {n} numbers, payload holds {}", decoded.len()),
        });
    }
    Ok(decoded)
}

fn decode_times(bytes: &[u8]) -> Result<Vec<i64>, BlockError> {
    let (kind, n, payload) = open("timestamp", bytes)?;
    match kind {
        TIMES_REGULAR => {
            if payload.len() != 16 {
                return Err(BlockError::Truncated("timestamp"));
            }
            let first = i64::from_le_bytes(payload[..8].try_into().expect("8 bytes"));
            let step = i64::from_le_bytes(payload[8..].try_into().expect("8 bytes"));
            if n > 100_000_000 {
                return Err(BlockError::Codec {
                    column: "timestamp",
                    message: format!("implausible count {n}"),
                });
            }
            Ok((0..n as i64)
                .map(|i| first.wrapping_add(step.wrapping_mul(i)))
                .collect())
        }
        TIMES_PCO_MS => Ok(pco_decode::<i64>("timestamp", payload, n)?
            .into_iter()
            .map(|ms| ms.wrapping_mul(1000))
            .collect()),
        TIMES_PCO_US => pco_decode::<i64>("timestamp", payload, n),
        kind => Err(BlockError::Encoding {
            column: "timestamp",
            kind,
        }),
    }
}

fn decode_values(bytes: &[u8]) -> Result<Vec<f64>, BlockError> {
    let (kind, n, payload) = open("value", bytes)?;
    match kind {
        VALUES_DECIMAL if n == 0 => Ok(Vec::new()),
        VALUES_DECIMAL => {
            let (&d, ints) = payload
                .split_first()
                .ok_or(BlockError::Truncated("value"))?;
            let p = *POW10.get(d as usize).ok_or(BlockError::Codec {
                column: "value",
                message: format!("{d} decimals"),
            })?;
            Ok(pco_decode::<i64>("value", ints, n)?
                .into_iter()
                .map(|m| m as f64 / p)
                .collect())
        }
        VALUES_FLOAT => pco_decode::<f64>("value", payload, n),
        VALUES_BITS => Ok(pco_decode::<u64>("value", payload, n)?
            .into_iter()
            .map(f64::from_bits)
            .collect()),
        kind => Err(BlockError::Encoding {
            column: "value",
            kind,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn round_trip(times: &[i64], values: &[f64]) -> EncodedBlock {
        let block = encode(times, values, 4).expect("encodes");
        let (t, v) = decode(&block.times, &block.values).expect("decodes");
        assert_eq!(t, times);
        assert_eq!(v.len(), values.len());
        for (i, (a, b)) in v.iter().zip(values).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "value {i}: {a} != {b}");
        }
        block
    }

    fn regular(n: usize, start: i64, step: i64) -> Vec<i64> {
        (0..n as i64).map(|i| start + i * step).collect()
    }

    #[test]
    fn regular_timestamps_cost_a_fixed_header() {
        let times = regular(8640, 1_795_305_600_000_000, 10_000_000);
        let block = round_trip(&times, &vec![1.0; 8640]);
        assert_eq!(block.times.len(), 6 + 16);
        assert_eq!(block.times[1], TIMES_REGULAR);
    }

    #[test]
    fn two_decimal_gauge_is_decimal_scaled_and_small() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut v = 50.0f64;
        let values: Vec<f64> = (0..8640)
            .map(|_| {
                v = (v + rng.random_range(-300..=300) as f64 / 100.0).clamp(0.0, 100.0);
                (v * 100.0).round() / 100.0
            })
            .collect();
        let block = round_trip(&regular(8640, 0, 10_000_000), &values);
        assert_eq!(block.values[1], VALUES_DECIMAL);
        assert_eq!(block.values[6], 2);
        let per_point = (block.values.len() + block.times.len()) as f64 / 8640.0;
        assert!(per_point < 1.4, "{per_point} bytes a point");
    }

    #[test]
    fn special_values_fall_back_to_floats_losslessly() {
        let values = [
            0.1,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -1e300,
            1.0 / 3.0,
            f64::from_bits(0x7ff8_0000_dead_beef),
        ];
        let block = round_trip(&regular(values.len(), 0, 1000), &values);
        assert_ne!(block.values[1], VALUES_DECIMAL);
    }

    #[test]
    fn empty_and_single_point_blocks() {
        round_trip(&[], &[]);
        round_trip(&[42_000], &[3.25]);
        round_trip(&[-5_000_000], &[-7.0]);
    }

    #[test]
    fn sub_millisecond_timestamps_are_kept() {
        let block = round_trip(&[1, 1_000, 1_001, 5_000_000], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(block.times[1], TIMES_PCO_US);
    }

    /// Random series of every shape the store can hold, through the codec, bit for bit.
    #[test]
    fn property_random_series_round_trip() {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        for case in 0..300 {
            let n = match case % 5 {
                0 => rng.random_range(0..4),
                1 => rng.random_range(1..400),
                _ => rng.random_range(1..5000),
            };
            let start: i64 = rng.random_range(-1_000_000_000..2_000_000_000_000) * 1000;
            let mut t = start;
            let jitter = case % 3 == 0;
            let times: Vec<i64> = (0..n)
                .map(|_| {
                    let step = match case % 4 {
                        0 => 10_000_000,
                        1 => rng.random_range(0..3) * 1_000_000, // duplicates and gaps
                        _ => rng.random_range(1..20_000) * 1000,
                    };
                    t += step;
                    if jitter {
                        t + rng.random_range(-50..=50) * 1000
                    } else {
                        t
                    }
                })
                .collect();
            let mut times = times;
            times.sort_unstable();
            let decimals = rng.random_range(0..=6);
            let scale = 10f64.powi(decimals);
            let mut acc = 0.0f64;
            let values: Vec<f64> = (0..n)
                .map(|i| match case % 6 {
                    0 => (rng.random_range(-1e6..1e6) * scale).round() / scale,
                    1 => {
                        // counter with resets
                        if rng.random_range(0..100) == 0 {
                            acc = 0.0;
                        }
                        acc += rng.random_range(0..200) as f64;
                        acc
                    }
                    2 => rng.random_range(-1e300..1e300),
                    3 => rng.random_range(-1e-300..1e-300),
                    4 => {
                        if i % 97 == 0 {
                            [f64::NAN, f64::INFINITY, -0.0][i % 3]
                        } else {
                            rng.random::<f64>()
                        }
                    }
                    _ => f64::from_bits(rng.random::<u64>()),
                })
                .collect();
            round_trip(&times, &values);
            encode_verified(&times, &values, 4).expect("verified");
        }
    }

    #[test]
    fn corrupt_columns_are_errors_not_panics() {
        let times = regular(1000, 0, 1_000);
        let values: Vec<f64> = (0..1000).map(|i| (i * 7 % 13) as f64 / 4.0).collect();
        let block = encode(&times, &values, 4).unwrap();
        assert_eq!(
            decode(&[9, 0, 0, 0, 0, 0], &block.values),
            Err(BlockError::Version(9))
        );
        assert!(decode(&block.times[..3], &block.values).is_err());
        assert!(decode(&block.times, &block.values[..block.values.len() / 2]).is_err());
        let other = encode(&times[..10], &values[..10], 4).unwrap();
        assert!(matches!(
            decode(&other.times, &block.values),
            Err(BlockError::Length { .. })
        ));
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..500 {
            let mut bad = block.values.clone();
            let at = rng.random_range(6..bad.len());
            bad[at] ^= 1 << rng.random_range(0..8);
            // Either an error or some decoded numbers, never a panic.
            let _ = decode(&block.times, &bad);
        }
    }
}
