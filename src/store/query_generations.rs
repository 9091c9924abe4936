//! Generations of the query cache, for read-your-writes: one counter per metric and
//! minute of sample time, bumped by the writers after every COMMIT that stored points
//! of that metric in that minute. A cached part of a query answer is keyed by the sum of
//! the generations of the spans it covers (counters only grow, so the sum changes
//! whenever one of them does): once a batch has committed and bumped, no later read
//! can find an answer computed before it, whatever its age or tier, while parts of a
//! range that nobody wrote to keep their cache entries. The counters live in
//! PostgreSQL, beside the points, so a Redis outage cannot lose a bump.

use sqlx::PgPool;

use crate::model::TimeRange;
use crate::protocol::envelope::Envelope;

/// Width of the time span one generation counts writes for. Live ingest bumps the
/// current span, so a refreshing dashboard recomputes at most this much of its range:
/// an hour made the live part, and the cost of every refresh, grow through the hour;
/// five minutes still meant re-reading up to five minutes of raw points per panel at
/// every refresh (600,000 rows for a 2,000-series panel at one point a second). Points
/// arrive within seconds of their time, so the previous minute settles almost at once.
pub const GENERATION_SPAN_MS: i64 = 60_000;

/// Attempts to bump after a commit before giving up (the TTL then bounds staleness).
const BUMP_ATTEMPTS: u32 = 3;

// Rows are upserted in (metric, span) order so that concurrent writers lock them in
// the same order and cannot deadlock each other.
const BUMP: &str = "INSERT INTO query_generations (metric, span_start, generation)
    SELECT m, s, 1 FROM unnest($1::text[], $2::bigint[]) AS t(m, s) ORDER BY m, s
    ON CONFLICT (metric, span_start)
    DO UPDATE SET generation = query_generations.generation + 1";
const READ: &str = "SELECT coalesce(sum(generation), 0)::bigint FROM query_generations
    WHERE metric = $1 AND span_start >= $2 AND span_start < $3";
const FORGET: &str = "DELETE FROM query_generations WHERE span_start < $1";
const READ_MANY: &str = "SELECT coalesce(sum(g.generation), 0)::bigint
    FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS r(s, e, i)
    LEFT JOIN query_generations g ON g.metric = $1 AND g.span_start >= r.s AND g.span_start < r.e
    GROUP BY r.i ORDER BY r.i";

/// The (metric, span start) pairs the points of `envelopes` fall into, sorted, unique.
pub fn touched(envelopes: &[&Envelope]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = envelopes
        .iter()
        .flat_map(|e| e.series.iter())
        .flat_map(|s| {
            s.points.iter().map(|(t, _)| {
                (
                    s.metric.clone(),
                    t.div_euclid(GENERATION_SPAN_MS) * GENERATION_SPAN_MS,
                )
            })
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Bumps the generation of every pair in `touched` (sorted, unique).
pub async fn bump(pool: &PgPool, touched: &[(String, i64)]) -> Result<(), sqlx::Error> {
    if touched.is_empty() {
        return Ok(());
    }
    let metrics: Vec<&str> = touched.iter().map(|(m, _)| m.as_str()).collect();
    let spans: Vec<i64> = touched.iter().map(|(_, s)| *s).collect();
    sqlx::query(BUMP)
        .bind(&metrics)
        .bind(&spans)
        .execute(pool)
        .await?;
    Ok(())
}

/// Called by a writer once its batch has committed: bumps the generations of what the
/// batch stored. Never fails the write (the points are already durable): a bump that
/// keeps failing is logged, and cached answers then age out by their TTL.
pub async fn bump_after_commit(pool: &PgPool, envelopes: &[&Envelope]) {
    let touched = touched(envelopes);
    for attempt in 1..=BUMP_ATTEMPTS {
        match bump(pool, &touched).await {
            Ok(()) => return,
            Err(error) if attempt == BUMP_ATTEMPTS => {
                tracing::warn!(%error, "Could not bump query-cache generations after a commit; cached answers over these points may be served until their TTL.");
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await,
        }
    }
}

/// Removes the counters of spans that start before `before_ms`. Only safe for spans no
/// write can reach any more (older than `ingest.max_age`): the counters must only grow
/// while a cached part keyed by their sum can still be found.
pub async fn forget_expired(pool: &PgPool, before_ms: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(FORGET)
        .bind(before_ms)
        .execute(pool)
        .await?
        .rows_affected())
}

/// The generation of `metric` over every span that overlaps `range`.
pub async fn generation(pool: &PgPool, metric: &str, range: TimeRange) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(READ)
        .bind(metric)
        .bind(range.start_ms.div_euclid(GENERATION_SPAN_MS) * GENERATION_SPAN_MS)
        .bind(range.end_ms)
        .fetch_one(pool)
        .await
}

/// [`generation`] of each of `ranges`, in one round trip.
pub async fn generations(
    pool: &PgPool,
    metric: &str,
    ranges: &[TimeRange],
) -> Result<Vec<i64>, sqlx::Error> {
    let starts: Vec<i64> = ranges
        .iter()
        .map(|r| r.start_ms.div_euclid(GENERATION_SPAN_MS) * GENERATION_SPAN_MS)
        .collect();
    let ends: Vec<i64> = ranges.iter().map(|r| r.end_ms).collect();
    sqlx::query_scalar(READ_MANY)
        .bind(metric)
        .bind(starts)
        .bind(ends)
        .fetch_all(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::envelope::SeriesPoints;

    #[test]
    fn touched_spans_are_per_metric_span_sorted_and_unique() {
        let envelope = Envelope {
            v: 1,
            id: uuid::Uuid::nil(),
            series: vec![
                SeriesPoints {
                    metric: "b".into(),
                    labels: Default::default(),
                    points: vec![(7_200_000, 1.0), (3_600_000, 1.0), (3_599_999, 1.0)],
                },
                SeriesPoints {
                    metric: "a".into(),
                    labels: Default::default(),
                    points: vec![(-1, 1.0), (10, 2.0)],
                },
                SeriesPoints {
                    metric: "b".into(),
                    labels: Default::default(),
                    points: vec![(3_600_001, 1.0)],
                },
            ],
        };
        assert_eq!(
            touched(&[&envelope]),
            vec![
                ("a".to_string(), -60_000),
                ("a".to_string(), 0),
                ("b".to_string(), 3_540_000),
                ("b".to_string(), 3_600_000),
                ("b".to_string(), 7_200_000),
            ]
        );
    }
}
