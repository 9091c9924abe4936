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
