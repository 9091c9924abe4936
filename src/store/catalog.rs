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

pub async fn list_metrics(pool: &PgPool) -> Result<Vec<MetricDefinition>, sqlx::Error> {
    sqlx::query_as("SELECT name, type, unit, description FROM metric_definitions ORDER BY name")
        .fetch_all(pool)
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

/// Tag key -> distinct values (at most `max_values` per key, sorted).
pub async fn tag_values(
    pool: &PgPool,
    metric: &str,
    max_values: i32,
) -> Result<BTreeMap<String, Vec<String>>, sqlx::Error> {
    let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT l.key, (array_agg(DISTINCT l.value ORDER BY l.value))[1:$2]
         FROM series s, jsonb_each_text(s.labels) AS l(key, value)
         WHERE s.metric = $1
         GROUP BY l.key ORDER BY l.key",
    )
    .bind(metric)
    .bind(max_values)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}
