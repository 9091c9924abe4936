//! What query builders list: metric names with their type and unit, and the tag keys
//! and values of a metric.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgPool;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricDefinition {
    pub name: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    #[schema(example = "gauge")]
    pub kind: String,
    pub unit: String,
    pub description: String,
}

/// One page of metric definitions by name: those after `after`, at most `limit`.
pub async fn list_metrics(
    pool: &PgPool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<MetricDefinition>, sqlx::Error> {
    list_metrics_containing(pool, None, after, limit).await
}

/// Like `list_metrics`, keeping only the names that contain `contains`, ignoring case.
/// `strpos` rather than `LIKE`, so `_` and `%` in the fragment are plain characters and
/// need no escaping. The scan walks the name index in order and stops once the page
/// is full, so a common fragment is cheap; a rare one reads every definition, which is
/// one row per metric name, not per series.
pub async fn list_metrics_containing(
    pool: &PgPool,
    contains: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<MetricDefinition>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, type, unit, description FROM metric_definitions
         WHERE ($1::text IS NULL OR name > $1)
           AND ($3::text IS NULL OR strpos(lower(name), lower($3)) > 0)
         ORDER BY name LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .bind(contains)
    .fetch_all(pool)
    .await
}

/// How many metrics are defined (one row per metric name, not per series).
pub async fn count_metrics(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM metric_definitions")
        .fetch_one(pool)
        .await
}

/// Records TYPE, HELP and UNIT as remote_write senders report them (`names`,
/// `kinds`, `helps`, `units` are parallel; a later report replaces an earlier one).
pub async fn upsert_metadata(
    pool: &PgPool,
    names: &[&str],
    kinds: &[&str],
    helps: &[&str],
    units: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO metric_definitions (name, type, description, unit)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (name) DO UPDATE
         SET type = EXCLUDED.type, description = EXCLUDED.description, unit = EXCLUDED.unit
         WHERE (metric_definitions.type, metric_definitions.description, metric_definitions.unit)
               IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.description, EXCLUDED.unit)",
    )
    .bind(names)
    .bind(kinds)
    .bind(helps)
    .bind(units)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn metric_exists(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM metric_definitions WHERE name = $1)")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// Tag key -> distinct values (the first `max_values` per key, sorted). Walks the
/// keys with an index skip scan and reads at most `max_values` entries per key, so the
/// cost does not grow with the metric's series.
pub async fn tag_values(
    pool: &PgPool,
    metric: &str,
    max_values: i64,
) -> Result<BTreeMap<String, Vec<String>>, sqlx::Error> {
    let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
        "WITH RECURSIVE keys(key) AS (
             SELECT min(key) FROM series_tag_values WHERE metric = $1
             UNION ALL
             SELECT (SELECT min(v.key) FROM series_tag_values v WHERE v.metric = $1 AND v.key > k.key)
             FROM keys k WHERE k.key IS NOT NULL
         )
         SELECT k.key, ARRAY(
             SELECT v.value FROM series_tag_values v
             WHERE v.metric = $1 AND v.key = k.key ORDER BY v.value LIMIT $2
         )
         FROM keys k WHERE k.key IS NOT NULL ORDER BY k.key",
    )
    .bind(metric)
    .bind(max_values)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}
