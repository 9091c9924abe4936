//! Series ids in bulk: one round of statements for all series a batch has not seen,
//! recording the tag values of the series it creates for the catalog.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::model::Labels;

/// A series the writer needs an id for.
pub struct SeriesRef<'a> {
    pub key: &'a str,
    pub metric: &'a str,
    pub labels: &'a Labels,
}

/// Returns `series_key -> id` for every given series, creating the missing ones (and
/// their metric definitions). Inputs are sorted so that concurrent writers take row
/// locks in the same order and cannot deadlock each other.
pub async fn resolve(
    pool: &PgPool,
    wanted: &[SeriesRef<'_>],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| wanted[i].key);
    let keys: Vec<&str> = order.iter().map(|&i| wanted[i].key).collect();
    let metrics: Vec<&str> = order.iter().map(|&i| wanted[i].metric).collect();
    let labels: Vec<String> = order
        .iter()
        .map(|&i| serde_json::to_string(wanted[i].labels).expect("labels serialise"))
        .collect();
    let mut names: Vec<&str> = metrics.clone();
    names.sort_unstable();
    names.dedup();

    sqlx::query(
        "INSERT INTO metric_definitions (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(&names)
    .execute(pool)
    .await?;
    // The catalog's tag values are recorded for the series this statement creates
    // only, in key order (concurrent writers lock the same rows in the same order). The
    // statement returns the ids it created, so only the series it did not create (they
    // existed, or a concurrent writer created them) are looked up afterwards.
    let created: Vec<(String, i64)> = sqlx::query_as(
        "WITH created AS (
             INSERT INTO series (metric, labels, series_key)
             SELECT t.metric, t.labels::jsonb, t.series_key
             FROM unnest($1::text[], $2::text[], $3::text[]) AS t(series_key, metric, labels)
             ON CONFLICT (series_key) DO NOTHING
             RETURNING id, series_key, metric, labels
         ), tags AS (
             INSERT INTO series_tag_values (metric, key, value)
             SELECT DISTINCT c.metric, l.key, l.value
             FROM created c, jsonb_each_text(c.labels) AS l(key, value)
             ORDER BY 1, 2, 3
             ON CONFLICT DO NOTHING
         )
         SELECT series_key, id FROM created",
    )
    .bind(&keys)
    .bind(&metrics)
    .bind(&labels)
    .fetch_all(pool)
    .await?;
    let mut ids: HashMap<String, i64> = created.into_iter().collect();
    if ids.len() < keys.len() {
        let rest: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !ids.contains_key(*k))
            .collect();
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT series_key, id FROM series WHERE series_key = ANY($1)")
                .bind(&rest)
                .fetch_all(pool)
                .await?;
        ids.extend(rows);
    }
    Ok(ids)
}
