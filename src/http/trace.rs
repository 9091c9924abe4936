//! Middleware: one `http` span per request, whatever the route, with its method,
//! route pattern, status, latency and caller kind, and one log line when it ends.
//! Handler spans (`ingest`, `query`, ...) nest inside it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::field::Empty;
use tracing::Instrument;

/// Route pattern of a request that matched no route: keeps the span's `route` field
/// bounded (a path is caller-controlled and unbounded).
const UNMATCHED: &str = "unmatched";

pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_string());
    let span = tracing::info_span!(
        "http",
        method = %req.method(),
        route = %route,
        status = Empty,
        latency_ms = Empty,
        caller = Empty,
    );
    let result = next.call(req).instrument(span.clone()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("latency_ms", latency_ms);
    match &result {
        Ok(response) => {
            let status = response.status().as_u16();
            span.record("status", status);
            span.record("caller", super::auth::caller_kind(response.request()));
            if response.status().is_server_error() {
                tracing::warn!(parent: &span, "HTTP request failed.");
            } else {
                tracing::info!(parent: &span, "HTTP request.");
            }
        }
        Err(error) => {
            tracing::warn!(parent: &span, %error, "HTTP request failed in a middleware.");
        }
    }
    result
}
