//! `GET /api/v1/metrics` and `GET /api/v1/metrics/{name}/tags`: what query builders
//! offer in their pickers.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::auth::Principal;
use super::error::ApiError;
use super::AppState;
use crate::model::MetricName;
use crate::store::catalog;

/// Values listed per tag key at most; a picker needs no more.
const MAX_TAG_VALUES: i32 = 1000;

#[utoipa::path(get, path = "/api/v1/metrics", tag = "catalog",
    responses((status = 200, description = "Metric names with type, unit and description", body = super::openapi::MetricList)))]
pub async fn list_metrics(
    _principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let metrics = catalog::list_metrics(&state.pg).await?;
    Ok(HttpResponse::Ok().json(json!({"data": metrics, "meta": {"total": metrics.len()}})))
}

#[utoipa::path(get, path = "/api/v1/metrics/{name}/tags", tag = "catalog",
    params(("name" = String, Path, description = "Metric name")),
    responses(
        (status = 200, description = "Tag keys and their values", body = super::openapi::TagValues),
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
    let tags = catalog::tag_values(&state.pg, name.as_str(), MAX_TAG_VALUES).await?;
    Ok(HttpResponse::Ok().json(json!({"data": tags})))
}
