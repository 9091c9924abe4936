//! A query answer's JSON written straight into the response buffer. An answer holds
//! up to hundreds of thousands of points, and going through serde for each one (a
//! struct, two escaped keys, a time string scanned for escapes) was most of the cost
//! of writing it. The bytes are exactly what serde_json writes for the same value
//! (the tests compare both), so the API and its OpenAPI document do not change.

use serde_json::ser::{CompactFormatter, Formatter};

use super::query::{format_time, write_time, DataPoint, QueryData, QueryResult, TIME_TEXT_MAX};

/// `result` as serde_json writes it.
pub fn write_result(result: &QueryResult, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"data\":");
    write_data(&result.data, out)?;
    out.extend_from_slice(b",\"meta\":");
    serde_json::to_writer(&mut *out, &result.meta)?;
    out.push(b'}');
    Ok(())
}

/// `data` as serde_json writes it (an untagged enum: the points, or the groups).
pub fn write_data(data: &QueryData, out: &mut Vec<u8>) -> serde_json::Result<()> {
    match data {
        QueryData::Single(points) => write_points(points, out)?,
        QueryData::Grouped(groups) => {
            out.push(b'[');
            for (i, group) in groups.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"tags\":");
                serde_json::to_writer(&mut *out, &group.tags)?;
                out.extend_from_slice(b",\"data\":");
                write_points(&group.data, out)?;
                out.push(b'}');
            }
            out.push(b']');
        }
    }
    Ok(())
}

fn write_points(points: &[DataPoint], out: &mut Vec<u8>) -> serde_json::Result<()> {
    let mut times = TimeText::default();
    out.push(b'[');
    for (i, point) in points.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"time\":\"");
        times.write(point.time.0, out);
        out.extend_from_slice(b"\",\"value\":");
        if point.value.is_finite() {
            CompactFormatter
                .write_f64(&mut *out, point.value)
                .map_err(serde_json::Error::io)?;
        } else {
            out.extend_from_slice(b"null");
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

/// Bucket times as `format_time` writes them; the date is formatted once per day, since
/// an answer's buckets are mostly consecutive steps of the same day.
#[derive(Default)]
struct TimeText {
    /// The day (since the epoch) `date` holds, if any.
    day: Option<i64>,
    /// `YYYY-MM-DDT`.
    date: [u8; 11],
}

impl TimeText {
    fn write(&mut self, ms: i64, out: &mut Vec<u8>) {
        let day = ms.div_euclid(86_400_000);
        if self.day != Some(day) {
            let mut buf = [0u8; TIME_TEXT_MAX];
            let Some(_) = write_time(ms, &mut buf) else {
                // Outside years 0-9999: the rare slow path, and no date to keep.
                self.day = None;
                out.extend_from_slice(format_time(ms).as_bytes());
                return;
            };
            self.date.copy_from_slice(&buf[..11]);
            self.day = Some(day);
        }
        out.extend_from_slice(&self.date);
        let in_day = ms.rem_euclid(86_400_000);
        let (secs, millis) = (in_day / 1000, in_day % 1000);
        let two = |v: i64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
        out.extend_from_slice(&two(secs / 3600));
        out.push(b':');
        out.extend_from_slice(&two(secs / 60 % 60));
        out.push(b':');
        out.extend_from_slice(&two(secs % 60));
        if millis != 0 {
            out.extend_from_slice(&[
                b'.',
                b'0' + (millis / 100) as u8,
                b'0' + (millis / 10 % 10) as u8,
                b'0' + (millis % 10) as u8,
            ]);
        }
        out.push(b'Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::query::{BucketTime, GroupSeries, QueryMeta};
    use crate::model::Labels;
    use rand::{Rng, SeedableRng};

    fn meta() -> QueryMeta {
        QueryMeta {
            table: "points".into(),
            resolution: "raw".into(),
            tiers: vec!["points".into()],
            note: Some("a \"quoted\" note".into()),
            truncated: false,
            step: "10s".into(),
            step_ms: 10_000,
            cached: false,
            series: 1,
            start: format_time(0),
            end: format_time(1),
            since: None,
        }
    }

    fn points(rng: &mut rand::rngs::StdRng, n: usize) -> Vec<DataPoint> {
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            1e300,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            0.1 + 0.2,
        ];
        let mut t: i64 = rng.random_range(-100_000_000_000_000..300_000_000_000_000);
        (0..n)
            .map(|i| {
                // Mostly consecutive steps, sometimes a jump (another day, another year,
                // outside 0-9999, before the epoch), sometimes milliseconds.
                t += match rng.random_range(0..10) {
                    0 => rng.random_range(-400_000_000_000_000..400_000_000_000_000),
                    1 => rng.random_range(1..1000),
                    _ => 10_000,
                };
                let value = if i % 7 == 0 {
                    specials[rng.random_range(0..specials.len())]
                } else {
                    rng.random::<f64>() * 10f64.powi(rng.random_range(-20..20)) - 0.5
                };
                DataPoint {
                    time: BucketTime(t),
                    value,
                }
            })
            .collect()
    }

    #[test]
    fn answers_are_written_as_serde_writes_them() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..200 {
            let data = if round % 2 == 0 {
                QueryData::Single(points(&mut rng, round * 3))
            } else {
                QueryData::Grouped(
                    (0..round % 5)
                        .map(|g| GroupSeries {
                            tags: Labels::from([("host".to_string(), format!("h\"{g}\\é"))]),
                            data: points(&mut rng, round),
                        })
                        .collect(),
                )
            };
            let result = QueryResult { data, meta: meta() };
            let mut ours = Vec::new();
            write_result(&result, &mut ours).unwrap();
            let theirs = serde_json::to_vec(&result).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap(),
                "round {round}"
            );
        }
    }
}
