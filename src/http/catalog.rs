//! `GET /api/v1/metrics` and `GET /api/v1/metrics/{name}/tags`: what query builders
//! offer in their pickers. Both are bounded per request: metrics come in pages by
//! name, tag values are capped per key.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::auth::Principal;
use super::error::ApiError;
use super::AppState;
use crate::model::MetricName;
use crate::store::catalog::{self, MetricDefinition};

/// Paging of `GET /api/v1/metrics`, by name.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricPage {
    /// Metrics per page, at least 1; default and upper bound `query.catalog_page_max`
    /// (larger values are served as it).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// List the metrics whose name sorts after this one (`meta.nextAfter` of the
    /// previous page).
    pub after: Option<String>,
    /// Only the metrics whose name contains this, ignoring case (a picker's
    /// type-ahead). Characters a metric name may hold (`a-z A-Z 0-9 _ . :`), at most
    /// `ingest.max_name_len` bytes (200 by default, the bound documented here);
    /// empty means no filter. Pages, `limit` and `after` work as without it;
    /// `meta.total` still counts every metric.
    #[param(pattern = "^[a-zA-Z0-9_.:]*$", max_length = 200)]
    pub contains: Option<String>,
}

/// `{"data": [metric], "meta": {"total", "nextAfter"?}}`.
#[derive(Serialize, ToSchema)]
pub struct MetricList {
    pub data: Vec<MetricDefinition>,
    pub meta: MetricListMeta,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricListMeta {
    /// Metrics defined in all.
    pub total: i64,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// `{"data": {key: [values]}, "meta": {"valuesPerKey"}}`.
#[derive(Serialize, ToSchema)]
pub struct TagValues {
    pub data: BTreeMap<String, Vec<String>>,
    pub meta: TagValuesMeta,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagValuesMeta {
    /// The most values listed per key (the first ones by sort order).
    pub values_per_key: u32,
}

#[utoipa::path(get, path = "/api/v1/metrics", tag = "catalog", params(MetricPage),
    responses(
        (status = 200, description = "A page of metric names with type, unit and description", body = MetricList),
        (status = 400, description = "limit out of range, or contains too long or with a character no metric name holds", body = super::openapi::ErrorBody),
    ))]
pub async fn list_metrics(
    _principal: Principal,
    state: web::Data<AppState>,
    page: web::Query<MetricPage>,
) -> Result<HttpResponse, ApiError> {
    let max = state.settings.query.catalog_page_max;
    let limit = page
        .limit
        .map_or(max, |l| l.clamp(0, i64::from(max)) as u32);
    if limit == 0 {
        return Err(ApiError::validation(
            "limit must be at least 1",
            json!({"field": "limit"}),
        ));
    }
    let contains = page.contains.as_deref().filter(|c| !c.is_empty());
    if let Some(fragment) = contains {
        name_fragment(fragment, state.settings.ingest.max_name_len)?;
    }
    // One more than the page, to know whether another follows.
    let mut data = catalog::list_metrics_containing(
        &state.pg,
        contains,
        page.after.as_deref(),
        i64::from(limit) + 1,
    )
    .await?;
    let next_after = if data.len() > limit as usize {
        data.truncate(limit as usize);
        data.last().map(|m| m.name.clone())
    } else {
        None
    };
    let total = catalog::count_metrics(&state.pg).await?;
    Ok(HttpResponse::Ok().json(MetricList {
        data,
        meta: MetricListMeta { total, next_after },
    }))
}

/// A `contains` filter can only match a piece of a metric name, so anything else is a
/// client's mistake worth telling rather than an empty page.
fn name_fragment(fragment: &str, max_len: usize) -> Result<(), ApiError> {
    if fragment.len() > max_len {
        return Err(ApiError::validation(
            format!("contains must be at most {max_len} bytes"),
            json!({"field": "contains"}),
        ));
    }
    if !fragment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':'))
    {
        return Err(ApiError::validation(
            "contains may hold only letters, digits, '_', '.' and ':', as metric names do",
            json!({"field": "contains"}),
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/metrics/{name}/tags", tag = "catalog",
    params(("name" = String, Path, description = "Metric name", pattern = "^[a-zA-Z_][a-zA-Z0-9_.:]*$", max_length = 200)),
    responses(
        (status = 200, description = "Tag keys and their values (at most query.catalog_values_max per key)", body = TagValues),
        (status = 400, description = "Invalid metric name", body = super::openapi::ErrorBody),
        (status = 404, description = "Unknown metric", body = super::openapi::ErrorBody),
    ))]
pub async fn metric_tags(
    _principal: Principal,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = MetricName::parse(&name, state.settings.ingest.max_name_len)
        .map_err(|e| ApiError::validation(e.0, json!({"field": "name"})))?;
    if !catalog::metric_exists(&state.pg, name.as_str()).await? {
        return Err(ApiError::NotFound(format!(
            "metric {:?} does not exist",
            name.as_str()
        )));
    }
    let values_per_key = state.settings.query.catalog_values_max;
    let data = catalog::tag_values(&state.pg, name.as_str(), i64::from(values_per_key)).await?;
    Ok(HttpResponse::Ok().json(TagValues {
        data,
        meta: TagValuesMeta { values_per_key },
    }))
}
