//! `POST /api/v1/metrics`: agents push points.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::error::ApiError;
use super::payload::{read_body, BodyLimits};
use super::AppState;
use crate::actors::ingest::{IngestError, IngestPoints};
use crate::actors::IngestActor;
use crate::protocol::json::DecodeError;
use crate::telemetry::metrics::Metrics;

/// 202 with `{accepted, rejected, errors}` once the valid points are confirmed by the
/// broker; 400 when nothing was valid; 413 for oversized bodies; 503 + Retry-After
/// when the broker cannot take them.
#[utoipa::path(
    post, path = "/api/v1/metrics", tag = "ingest", security((), ("token" = [])),
    request_body(content = Vec<super::openapi::IngestPoint>, description = "JSON array of points; may be sent with Content-Encoding: gzip"),
    responses(
        (status = 202, description = "Valid points are safe in the broker; invalid ones are listed", body = super::openapi::IngestResponse),
        (status = 400, description = "Malformed body or no valid point", body = super::openapi::ErrorBody),
        (status = 401, description = "auth.require_ingest_key is set and no valid ingest key was sent", body = super::openapi::ErrorBody),
        (status = 403, description = "auth.require_ingest_key is set and the token is not an ingest key", body = super::openapi::ErrorBody),
        (status = 413, description = "Body, inflated body or point count over the limits", body = super::openapi::ErrorBody),
        (status = 429, description = "Over the per-key or per-IP request rate; see Retry-After", body = super::openapi::ErrorBody),
        (status = 503, description = "The broker cannot take data; see Retry-After", body = super::openapi::ErrorBody),
    )
)]
#[tracing::instrument(name = "ingest", skip_all, fields(points, rejected))]
pub async fn ingest(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    observed(&state, run(&state, &request, payload)).await
}

/// Times an ingest request (any wire format) and counts its refusal by reason.
pub(super) async fn observed(
    state: &AppState,
    work: impl std::future::Future<Output = Result<HttpResponse, ApiError>>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let result = work.await;
    state
        .metrics
        .ingest_request_seconds
        .observe(started.elapsed().as_secs_f64());
    if let Err(error) = &result {
        state
            .metrics
            .ingest_requests_rejected
            .with_label_values(&[reason(error)])
            .inc();
    }
    result
}

/// The body limits of `http`.
pub(super) fn body_limits(state: &AppState) -> BodyLimits {
    BodyLimits {
        max_body_bytes: state.settings.http.max_body_bytes,
        max_decompressed_bytes: state.settings.http.max_decompressed_bytes,
    }
}

/// Who may write (see `authorize_ingest`), then one of the in-flight permits; both
/// before the body is read. Every ingest wire format passes here.
pub(super) async fn admit<'a>(
    state: &'a AppState,
    request: &HttpRequest,
) -> Result<(tokio::sync::SemaphorePermit<'a>, Option<String>), ApiError> {
    let source = super::auth::authorize_ingest(request, state).await?;
    let permit = state.ingest_permits.try_acquire().map_err(|_| {
        ApiError::unavailable(
            "too many ingest requests in flight; retry later",
            state.settings.amqp.retry_after_secs,
        )
    })?;
    Ok((permit, source))
}

/// Hands `message` to an ingest actor and waits for its answer under the confirm
/// deadline; a full mailbox, a restarting actor or a late answer is 503.
pub(super) async fn send_to_ingest<M, R>(state: &AppState, message: M) -> Result<R, ApiError>
where
    M: actix::Message<Result = R> + Send + 'static,
    R: Send + 'static,
    IngestActor: actix::Handler<M>,
{
    let retry_after = state.settings.amqp.retry_after_secs;
    let wait = state.settings.amqp.confirm_timeout + std::time::Duration::from_secs(1);
    tokio::time::timeout(wait, state.ingest.pick().send(message))
        .await
        .map_err(|_| ApiError::unavailable("ingest is overloaded; retry later", retry_after))?
        .map_err(|_| ApiError::unavailable("ingest actor is restarting; retry later", retry_after))
}

/// The answer to a broker that could not take the points.
pub(super) fn unavailable(state: &AppState, why: &str) -> ApiError {
    tracing::warn!(reason = %why, "Ingest refused: the broker cannot take data.");
    ApiError::unavailable(
        format!("points were not stored: {why}"),
        state.settings.amqp.retry_after_secs,
    )
}

async fn run(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (_permit, source) = admit(state, request).await?;
    let body = read_body(request, payload, &body_limits(state)).await?;
    let outcome = send_to_ingest(state, IngestPoints { body, source }).await?;
    match outcome {
        Ok(report) => {
            count_points(&state.metrics, report.accepted, report.rejected.len());
            tracing::Span::current()
                .record("points", report.accepted)
                .record("rejected", report.rejected.len());
            Ok(
                HttpResponse::Accepted().json(super::openapi::IngestResponse {
                    accepted: report.accepted,
                    rejected: report.rejected.len(),
                    errors: report.rejected,
                }),
            )
        }
        Err(IngestError::AllRejected(rejected)) => {
            count_points(&state.metrics, 0, rejected.len());
            let message = if rejected.is_empty() {
                "the request holds no points"
            } else {
                "no valid points in the request"
            };
            Err(ApiError::validation(
                message,
                json!({"accepted": 0, "rejected": rejected.len(), "errors": rejected}),
            ))
        }
        Err(IngestError::Decode(DecodeError::TooManyPoints { max })) => {
            Err(ApiError::PayloadTooLarge(format!(
                "more than {max} points in one request (ingest.max_points_per_request)"
            )))
        }
        Err(IngestError::Decode(error @ DecodeError::Malformed(_))) => Err(ApiError::validation(
            error.to_string(),
            serde_json::Value::Null,
        )),
        Err(IngestError::Unavailable(why)) => Err(unavailable(state, &why)),
    }
}

pub(super) fn count_points(metrics: &Metrics, accepted: usize, rejected: usize) {
    metrics
        .ingest_points
        .with_label_values(&["accepted", ""])
        .inc_by(accepted as u64);
    metrics
        .ingest_points
        .with_label_values(&["rejected", "invalid_point"])
        .inc_by(rejected as u64);
}

fn reason(error: &ApiError) -> &'static str {
    match error {
        ApiError::Validation { .. } => "invalid",
        ApiError::PayloadTooLarge(_) => "too_large",
        ApiError::Unavailable { .. } => "unavailable",
        ApiError::Unauthorized(_) | ApiError::Forbidden(_) => "unauthorized",
        ApiError::RateLimited { .. } => "rate_limited",
        ApiError::NotFound(_)
        | ApiError::MethodNotAllowed { .. }
        | ApiError::Conflict { .. }
        | ApiError::Internal(_) => "internal",
    }
}
