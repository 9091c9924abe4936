//! `POST /api/v1/query`: dashboards read aggregated series.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::auth::Principal;
use super::error::ApiError;
use super::AppState;
use crate::actors::query_router::{QueryFailure, RunQuery};
use crate::model::{QueryRequest, QuerySpec};

#[utoipa::path(
    post, path = "/api/v1/query", tag = "query",
    request_body = QueryRequest,
    responses(
        (status = 200, description = "Buckets with data, in time order", body = crate::model::QueryResult),
        (status = 400, description = "Invalid field (named in details)", body = super::openapi::ErrorBody),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
        (status = 503, description = "Database unavailable or circuit breaker open", body = super::openapi::ErrorBody),
    )
)]
#[tracing::instrument(name = "query", skip_all, fields(metric = %body.query))]
pub async fn query(
    _principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<QueryRequest>,
) -> Result<HttpResponse, ApiError> {
    let spec = QuerySpec::parse(&body, &state.settings.query).map_err(|e| {
        ApiError::validation(e.to_string(), json!({"field": e.field, "reason": e.reason}))
    })?;
    let wait = state.settings.query.timeout + std::time::Duration::from_secs(2);
    let outcome = tokio::time::timeout(wait, state.query.pick().send(RunQuery { spec }))
        .await
        .map_err(|_| ApiError::unavailable("query timed out", 1))?
        .map_err(|_| ApiError::unavailable("query service is restarting; retry", 1))?;
    match outcome {
        Ok(result) => Ok(HttpResponse::Ok().json(result)),
        Err(QueryFailure::Invalid(why)) => {
            Err(ApiError::validation(why, json!({"field": "start"})))
        }
        Err(QueryFailure::Unavailable(why)) => Err(ApiError::unavailable(why, 5)),
        Err(QueryFailure::Internal(error)) => Err(ApiError::internal(error)),
    }
}
