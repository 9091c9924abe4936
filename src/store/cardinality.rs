//! What the cardinality caps need from PostgreSQL: which series exist, and how many
//! series a metric has.

use sqlx::PgPool;

/// The keys among `keys` that name an existing series, with their ids.
pub async fn existing_keys(
    pool: &PgPool,
    keys: &[&str],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT series_key, id FROM series WHERE series_key = ANY($1)")
        .bind(keys)
        .fetch_all(pool)
        .await
}

/// Series per metric for `metrics` (a metric without series is absent).
pub async fn series_counts(
    pool: &PgPool,
    metrics: &[String],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT metric, count(*) FROM series WHERE metric = ANY($1) GROUP BY metric")
        .bind(metrics)
        .fetch_all(pool)
        .await
}
