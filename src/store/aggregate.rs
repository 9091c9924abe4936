//! Dashboard query SQL. Each aggregation has its own static statement, picked by a
//! `match` on the parsed enum: no part of a client's request is ever spliced in.

use std::time::Duration;

use sqlx::PgPool;

use crate::model::{Aggregation, Labels, Step, TimeRange};

/// The storage tier a query reads. Only raw points exist so far; rollup tiers add
/// variants here and a branch in `pick_tier`, without touching the actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Raw,
}

impl Tier {
    pub fn table(self) -> &'static str {
        match self {
            Tier::Raw => "points",
        }
    }

    pub fn resolution(self) -> &'static str {
        match self {
            Tier::Raw => "raw",
        }
    }
}

/// The tier that answers a range. The seeds' rule (≤ 1 h raw, ≤ 24 h 1-minute, longer
/// 1-hour) needs rollups; until they exist every range is answered from raw points.
pub fn pick_tier(_range: TimeRange, _step: Step) -> Tier {
    Tier::Raw
}

/// Ids of the series of `metric` whose labels contain `tags`.
pub async fn matching_series(pool: &PgPool, metric: &str, tags: &Labels) -> Result<Vec<i64>, sqlx::Error> {
    if tags.is_empty() {
        sqlx::query_scalar("SELECT id FROM series WHERE metric = $1")
            .bind(metric)
            .fetch_all(pool)
            .await
    } else {
        let filter = serde_json::to_string(tags).expect("labels serialise");
        sqlx::query_scalar("SELECT id FROM series WHERE metric = $1 AND labels @> $2::jsonb")
            .bind(metric)
            .bind(filter)
            .fetch_all(pool)
            .await
    }
}

fn raw_statement(aggregation: Aggregation) -> &'static str {
    // Buckets are aligned to multiples of the step since the Unix epoch.
    match aggregation {
        Aggregation::Avg => "SELECT (extract(epoch FROM date_bin(make_interval(secs => $1), time, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint, avg(value)
             FROM points WHERE series_id = ANY($2) AND time >= $3 AND time < $4 GROUP BY 1 ORDER BY 1",
        Aggregation::Min => "SELECT (extract(epoch FROM date_bin(make_interval(secs => $1), time, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint, min(value)
             FROM points WHERE series_id = ANY($2) AND time >= $3 AND time < $4 GROUP BY 1 ORDER BY 1",
        Aggregation::Max => "SELECT (extract(epoch FROM date_bin(make_interval(secs => $1), time, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint, max(value)
             FROM points WHERE series_id = ANY($2) AND time >= $3 AND time < $4 GROUP BY 1 ORDER BY 1",
        Aggregation::Sum => "SELECT (extract(epoch FROM date_bin(make_interval(secs => $1), time, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint, sum(value)
             FROM points WHERE series_id = ANY($2) AND time >= $3 AND time < $4 GROUP BY 1 ORDER BY 1",
        Aggregation::Count => "SELECT (extract(epoch FROM date_bin(make_interval(secs => $1), time, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint, count(*)::float8
             FROM points WHERE series_id = ANY($2) AND time >= $3 AND time < $4 GROUP BY 1 ORDER BY 1",
    }
}

/// `(bucket_start_ms, value)` for every bucket that holds data, in time order.
pub async fn aggregate(
    pool: &PgPool,
    tier: Tier,
    series_ids: &[i64],
    range: TimeRange,
    step: Step,
    aggregation: Aggregation,
    timeout: Duration,
) -> Result<Vec<(i64, f64)>, sqlx::Error> {
    let statement = match tier {
        Tier::Raw => raw_statement(aggregation),
    };
    let start = chrono::DateTime::from_timestamp_millis(range.start_ms).unwrap_or_default();
    let end = chrono::DateTime::from_timestamp_millis(range.end_ms).unwrap_or_default();
    let mut tx = pool.begin().await?;
    // A runaway query is cancelled by the server itself, freeing its connection.
    sqlx::query("SELECT set_config('statement_timeout', $1, true)")
        .bind(format!("{}ms", timeout.as_millis()))
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(i64, f64)> = sqlx::query_as(statement)
        .bind(step.millis() as f64 / 1000.0)
        .bind(series_ids)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}
