//! The one raw-sample reader: every consumer that needs raw points (the query router's
//! raw tier, the downsampler's recomputes, alert windows, the PromQL engine) reads them
//! through [`read_raw`], so a new storage tier (compressed blocks, late points) is added
//! here and nowhere else.
//!
//! Samples come back per series, sorted by time; a series with no sample in the range
//! is absent. Duplicate timestamps within a series are kept as stored.

use sqlx::PgPool;

use crate::model::TimeRange;

/// The raw samples of one series inside a time range, in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesSamples {
    pub series_id: i64,
    /// Milliseconds since the epoch, ascending.
    pub times_ms: Vec<i64>,
    /// Parallel to `times_ms`.
    pub values: Vec<f64>,
}

impl SeriesSamples {
    pub fn len(&self) -> usize {
        self.times_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times_ms.is_empty()
    }
}

const RAW_ROWS: &str = "SELECT series_id, (extract(epoch FROM time) * 1000)::bigint, value
    FROM points WHERE series_id = ANY($1) AND time >= $2 AND time < $3
    ORDER BY series_id, time";

/// Raw samples of `series_ids` in `[range.start_ms, range.end_ms)`, one entry per series
/// that has any, ordered by series id.
pub async fn read_raw(
    pool: &PgPool,
    series_ids: &[i64],
    range: TimeRange,
) -> Result<Vec<SeriesSamples>, sqlx::Error> {
    if series_ids.is_empty() || range.end_ms <= range.start_ms {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, i64, f64)> = sqlx::query_as(RAW_ROWS)
        .bind(series_ids)
        .bind(timestamp(range.start_ms))
        .bind(timestamp(range.end_ms))
        .fetch_all(pool)
        .await?;
    Ok(group_rows(rows))
}

/// Rows ordered by (series, time) into one [`SeriesSamples`] per series.
pub fn group_rows(rows: Vec<(i64, i64, f64)>) -> Vec<SeriesSamples> {
    let mut out: Vec<SeriesSamples> = Vec::new();
    for (series_id, time_ms, value) in rows {
        match out.last_mut() {
            Some(last) if last.series_id == series_id => {
                last.times_ms.push(time_ms);
                last.values.push(value);
            }
            _ => out.push(SeriesSamples {
                series_id,
                times_ms: vec![time_ms],
                values: vec![value],
            }),
        }
    }
    out
}

fn timestamp(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_per_series_in_order() {
        let grouped = group_rows(vec![(1, 10, 1.0), (1, 20, 2.0), (3, 5, 7.5)]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].times_ms, vec![10, 20]);
        assert_eq!(grouped[0].values, vec![1.0, 2.0]);
        assert_eq!(grouped[1].series_id, 3);
        assert_eq!(grouped[1].len(), 1);
    }
}
