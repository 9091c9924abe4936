//! `POST /api/v1/write` and `POST /prometheus/api/v1/write`: Prometheus remote_write
//! 1.0 from Prometheus, vmagent, Grafana Alloy and other senders.
//!
//! The answers follow what senders do with them: 204 only once the broker confirmed
//! every valid sample; 400 (never retried) for a body that cannot be decoded or holds
//! invalid samples, after the valid ones of the same body were stored; 413 for a body
//! over the limits; 503 with Retry-After (retried with backoff) when the pipeline
//! cannot take data; 415 for remote_write 2.0, so a 2.0 sender falls back to 1.0.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::ApiError;
use super::ingest::{admit, body_limits, count_points, observed, send_to_ingest, unavailable};
use super::payload::read_wire_body;
use super::AppState;
use crate::actors::ingest::{IngestError, IngestRemoteWrite, RemoteWriteRefused};
use crate::model::MetricName;
use crate::protocol::json::Rejection;
use crate::protocol::remote_write::{Metadata, RemoteWriteError};
use crate::store::catalog;

/// Reasons listed in a 400 body; the count covers the rest.
const REASONS_SHOWN: usize = 10;

/// Receives one remote_write 1.0 request.
#[utoipa::path(
    post, path = "/api/v1/write", tag = "ingest", security((), ("token" = [])),
    request_body(content = Vec<u8>, content_type = "application/x-protobuf",
        description = "Prometheus remote_write 1.0: a protobuf prometheus.WriteRequest in a snappy block (Content-Encoding: snappy). `__name__` is the metric name, the other labels are tags; stale markers are not stored; metadata fills the metric catalogue."),
    responses(
        (status = 204, description = "Every valid sample is safe in the broker"),
        (status = 400, description = "Some samples invalid (the valid ones were stored): text/plain with the count and the first reasons; a body that is not a snappy-framed WriteRequest: the API's JSON error",
            content((String = "text/plain"), (super::openapi::ErrorBody = "application/json"))),
        (status = 401, description = "auth.require_ingest_key is set and no valid ingest key was sent (Bearer, Token or Basic with the key as password)", body = super::openapi::ErrorBody),
        (status = 403, description = "auth.require_ingest_key is set and the token is not an ingest key", body = super::openapi::ErrorBody),
        (status = 413, description = "Body, declared decompressed size or sample count over the limits", body = super::openapi::ErrorBody),
        (status = 415, description = "remote_write 2.0 (proto=io.prometheus.write.v2.Request) or another encoding; senders fall back to 1.0", content_type = "text/plain", body = String),
        (status = 429, description = "Over the per-key or per-IP request rate; see Retry-After", body = super::openapi::ErrorBody),
        (status = 503, description = "The pipeline cannot take data; retry after Retry-After", body = super::openapi::ErrorBody),
    )
)]
#[tracing::instrument(name = "remote_write", skip_all, fields(samples, rejected))]
pub async fn write(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    observed(&state, run(&state, &request, payload)).await
}

/// The same receiver under the Prometheus-compatible prefix.
#[utoipa::path(
    post, path = "/prometheus/api/v1/write", tag = "ingest", security((), ("token" = [])),
    request_body(content = Vec<u8>, content_type = "application/x-protobuf",
        description = "As POST /api/v1/write."),
    responses(
        (status = 204, description = "Every valid sample is safe in the broker"),
        (status = 400, description = "As POST /api/v1/write",
            content((String = "text/plain"), (super::openapi::ErrorBody = "application/json"))),
        (status = 413, description = "As POST /api/v1/write", body = super::openapi::ErrorBody),
        (status = 415, description = "As POST /api/v1/write", content_type = "text/plain", body = String),
        (status = 503, description = "As POST /api/v1/write", body = super::openapi::ErrorBody),
    )
)]
pub async fn write_prefixed(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    write(state, request, payload).await
}

async fn run(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if let Some(refusal) = unsupported_encoding(request) {
        return Ok(HttpResponse::UnsupportedMediaType()
            .content_type("text/plain; charset=utf-8")
            .body(refusal));
    }
    let (_permit, source) = admit(state, request).await?;
    let body = read_wire_body(request, payload, &body_limits(state)).await?;
    let written = match send_to_ingest(state, IngestRemoteWrite { body, source }).await? {
        Ok(written) => written,
        Err(RemoteWriteRefused::Decode(error)) => return Err(decode_refusal(error)),
        Err(RemoteWriteRefused::Publish(IngestError::Unavailable(why))) => {
            return Err(unavailable(state, &why))
        }
        Err(RemoteWriteRefused::Publish(IngestError::AllRejected(refused))) => {
            // Every valid sample was refused by a cardinality cap: like invalid
            // samples, a retry would not change that.
            count_points(&state.metrics, 0, refused.len());
            return Ok(rejected_response(0, refused.len(), &refused));
        }
        Err(RemoteWriteRefused::Publish(other)) => return Err(ApiError::internal(other)),
    };
    record_metadata(state, &written.metadata).await?;

    let accepted = written.accepted;
    let rejected_samples = written.samples - accepted - written.stale_markers;
    count_points(&state.metrics, accepted, rejected_samples);
    tracing::Span::current()
        .record("samples", accepted)
        .record("rejected", rejected_samples);
    if written.rejected.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    Ok(rejected_response(
        accepted,
        rejected_samples,
        &written.rejected,
    ))
}

fn decode_refusal(error: RemoteWriteError) -> ApiError {
    match error {
        RemoteWriteError::TooLarge { .. } | RemoteWriteError::TooManySamples { .. } => {
            ApiError::PayloadTooLarge(error.to_string())
        }
        RemoteWriteError::Snappy(_) | RemoteWriteError::Protobuf(_) => {
            ApiError::validation(error.to_string(), serde_json::Value::Null)
        }
    }
}

/// 400 with the counts and the first reasons, as text: senders log it and drop the
/// request.
fn rejected_response(
    accepted: usize,
    rejected_samples: usize,
    rejected: &[Rejection],
) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/plain; charset=utf-8")
        .body(rejection_text(accepted, rejected_samples, rejected))
}

/// Why the request's encoding is not one this receiver reads, if it is not.
fn unsupported_encoding(request: &HttpRequest) -> Option<String> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let content_type = header(CONTENT_TYPE);
    if content_type.contains("proto=io.prometheus.write.v2.request") {
        return Some(
            "remote_write 2.0 is not supported; send prometheus.WriteRequest (remote_write 1.0)\n"
                .into(),
        );
    }
    match header(CONTENT_ENCODING).trim() {
        "" | "snappy" => None,
        other => Some(format!(
            "Content-Encoding {other:?} is not supported; remote_write bodies are snappy blocks\n"
        )),
    }
}

/// TYPE/HELP/UNIT into the metric catalogue; one row per family (the last report of
/// a request wins), names that Vigil would not accept as metric names skipped.
async fn record_metadata(state: &AppState, metadata: &[Metadata]) -> Result<(), ApiError> {
    let max_len = state.settings.ingest.max_name_len;
    let families: BTreeMap<&str, &Metadata> = metadata
        .iter()
        .filter(|m| MetricName::parse(&m.name, max_len).is_ok())
        .map(|m| (m.name.as_str(), m))
        .collect();
    if families.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = families.keys().copied().collect();
    let kinds: Vec<&str> = families.values().map(|m| m.kind).collect();
    let helps: Vec<&str> = families.values().map(|m| m.help.as_str()).collect();
    let units: Vec<&str> = families.values().map(|m| m.unit.as_str()).collect();
    catalog::upsert_metadata(&state.pg, &names, &kinds, &helps, &units).await?;
    Ok(())
}

/// The 400 body: counts, then the first reasons by series index. Senders log it.
fn rejection_text(accepted: usize, rejected_samples: usize, rejected: &[Rejection]) -> String {
    let mut text = format!(
        "{rejected_samples} samples rejected in {} series, {accepted} samples stored\n",
        rejected.len()
    );
    for rejection in rejected.iter().take(REASONS_SHOWN) {
        let _ = writeln!(text, "series {}: {}", rejection.index, rejection.reason);
    }
    if rejected.len() > REASONS_SHOWN {
        let _ = writeln!(
            text,
            "... and {} more series",
            rejected.len() - REASONS_SHOWN
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejection_text_counts_and_cuts() {
        let rejected: Vec<Rejection> = (0..12)
            .map(|index| Rejection {
                index,
                reason: format!("bad {index}"),
            })
            .collect();
        let text = rejection_text(5, 12, &rejected);
        assert!(text.starts_with("12 samples rejected in 12 series, 5 samples stored\n"));
        assert!(text.contains("series 9: bad 9\n"));
        assert!(!text.contains("bad 10"));
        assert!(text.ends_with("... and 2 more series\n"));
    }
}
