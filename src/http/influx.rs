//! The InfluxDB write API as Telegraf and Influx clients use it: `POST /write` (v1:
//! `db`, `precision`), `POST /api/v2/write` (`org`, `bucket`, `precision`), `/query`
//! answering Telegraf's `CREATE DATABASE`, and `GET /ping`.
//!
//! Bodies are line protocol, optionally gzip. 204 once the broker confirmed every
//! valid point; a body with bad lines is a 400 naming them, after the valid lines
//! were stored (Telegraf drops a batch on 4xx, so it does not resend the good lines);
//! 503 with Retry-After when the pipeline cannot take data (Telegraf keeps the batch
//! and retries). `db` (v1) or `bucket` (v2) becomes the tag `db`, as in
//! VictoriaMetrics.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::json;

use super::error::ApiError;
use super::ingest::{admit, body_limits, count_points, observed, send_to_ingest, unavailable};
use super::payload::read_body;
use super::AppState;
use crate::actors::ingest::{IngestError, PublishPoints};
use crate::model::PointLimits;
use crate::protocol::json::DecodeError;
use crate::protocol::line::{decode_lines, Precision};

/// Bad lines listed in a 400; the count covers the rest.
const LINES_SHOWN: usize = 10;

/// Query parameters of both write APIs (unknown ones, such as `rp`, `consistency`
/// or `org`, are accepted and ignored: Vigil has one store).
type Params = web::Query<HashMap<String, String>>;

/// Influx 1.x write.
#[utoipa::path(
    post, path = "/write", tag = "ingest", security((), ("token" = [])),
    params(
        ("db" = Option<String>, Query, description = "Database; stored as the tag `db`"),
        ("precision" = Option<String>, Query, description = "Timestamp unit: n (default), u, ms, s, m, h"),
    ),
    request_body(content = Option<String>, content_type = "text/plain",
        description = "InfluxDB line protocol, one point per line, optionally Content-Encoding: gzip. Each numeric field becomes the metric `{measurement}_{field}` with the line's tags; booleans are 1/0; string fields are skipped."),
    responses(
        (status = 204, description = "Every valid point is safe in the broker"),
        (status = 400, description = "Bad lines (named by number in details.errors; the valid lines were stored) or a bad parameter", body = super::openapi::ErrorBody),
        (status = 401, description = "auth.require_ingest_key is set and no valid ingest key was sent (Basic with the key as password, Token or Bearer)", body = super::openapi::ErrorBody),
        (status = 413, description = "Body, inflated body or point count over the limits", body = super::openapi::ErrorBody),
        (status = 503, description = "The pipeline cannot take data; retry after Retry-After", body = super::openapi::ErrorBody),
    )
)]
#[tracing::instrument(name = "influx_write", skip_all, fields(points, rejected))]
pub async fn write_v1(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: Params,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let db = params.get("db").cloned();
    observed(&state, run(&state, &request, &params, db, payload)).await
}

/// Influx 2.x write.
#[utoipa::path(
    post, path = "/api/v2/write", tag = "ingest", security((), ("token" = [])),
    params(
        ("org" = Option<String>, Query, description = "Organisation; accepted and ignored"),
        ("bucket" = Option<String>, Query, description = "Bucket; stored as the tag `db`"),
        ("precision" = Option<String>, Query, description = "Timestamp unit: ns (default), us, ms, s"),
    ),
    request_body(content = Option<String>, content_type = "text/plain",
        description = "InfluxDB line protocol, as for POST /write (Telegraf's influxdb_v2 output gzips it)."),
    responses(
        (status = 204, description = "Every valid point is safe in the broker"),
        (status = 400, description = "Bad lines (named by number; the valid lines were stored) or a bad parameter", body = super::openapi::ErrorBody),
        (status = 401, description = "auth.require_ingest_key is set and no valid ingest key was sent (Token, Bearer or Basic)", body = super::openapi::ErrorBody),
        (status = 413, description = "Body, inflated body or point count over the limits", body = super::openapi::ErrorBody),
        (status = 503, description = "The pipeline cannot take data; retry after Retry-After", body = super::openapi::ErrorBody),
    )
)]
#[tracing::instrument(name = "influx_write", skip_all, fields(points, rejected))]
pub async fn write_v2(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: Params,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let db = params.get("bucket").cloned();
    observed(&state, run(&state, &request, &params, db, payload)).await
}

async fn run(
    state: &AppState,
    request: &HttpRequest,
    params: &HashMap<String, String>,
    db: Option<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let raw_precision = params.get("precision").map(String::as_str).unwrap_or("");
    let precision = Precision::parse(raw_precision).ok_or_else(|| {
        ApiError::validation(
            format!("precision {raw_precision:?} is not one of ns, n, us, u, ms, s, m, h"),
            serde_json::Value::Null,
        )
    })?;
    let (_permit, source) = admit(state, request).await?;
    let body = read_body(request, payload, &body_limits(state)).await?;
    let settings = &state.settings;
    let limits = PointLimits::new(&settings.ingest, chrono::Utc::now().timestamp_millis());
    let max_points = settings.ingest.max_points_per_request;
    let content = batch_content(raw_precision, db.as_deref(), &body);
    let lines =
        web::block(move || decode_lines(&body, precision, db.as_deref(), &limits, max_points))
            .await
            .map_err(ApiError::internal)?
            .map_err(|error| match error {
                DecodeError::TooManyPoints { max } => ApiError::PayloadTooLarge(format!(
                    "more than {max} points in one request (ingest.max_points_per_request)"
                )),
                DecodeError::Malformed(why) => ApiError::validation(why, serde_json::Value::Null),
            })?;
    if lines.string_fields > 0 {
        state
            .metrics
            .ingest_points
            .with_label_values(&["skipped", "string_field"])
            .inc_by(lines.string_fields as u64);
    }
    let mut decoded = lines.decoded;
    let rejected = std::mem::take(&mut decoded.rejected);
    let accepted = decoded.points.len();
    if accepted > 0 {
        match send_to_ingest(
            state,
            PublishPoints {
                decoded,
                content,
                source,
            },
        )
        .await?
        {
            Ok(_) => {}
            Err(IngestError::Unavailable(why)) => return Err(unavailable(state, &why)),
            Err(other) => return Err(ApiError::internal(other)),
        }
    }
    count_points(&state.metrics, accepted, rejected.len());
    tracing::Span::current()
        .record("points", accepted)
        .record("rejected", rejected.len());
    let Some(first) = rejected.first() else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let shown: Vec<String> = rejected
        .iter()
        .take(LINES_SHOWN)
        .map(|r| format!("line {}: {}", r.index, r.reason))
        .collect();
    let more = match rejected.len().saturating_sub(LINES_SHOWN) {
        0 => String::new(),
        n => format!("; and {n} more lines"),
    };
    Err(ApiError::validation(
        format!(
            "partial write: unable to parse {} of {} lines, {accepted} points stored; {}{more}",
            rejected.len(),
            lines.lines,
            shown.join("; ")
        ),
        json!({
            "accepted": accepted,
            "rejected": rejected.len(),
            "line": first.index,
            "errors": rejected,
        }),
    ))
}

/// What identifies a request for content-derived batch ids: the body and the
/// parameters that change the stored points (the same lines sent with another `db`
/// or `precision` are other points).
fn batch_content(precision: &str, db: Option<&str>, body: &[u8]) -> Bytes {
    let mut content = BytesMut::with_capacity(body.len() + 64);
    content.put_slice(format!("influx\n{precision}\n{}\n", db.unwrap_or("")).as_bytes());
    content.put_slice(body);
    content.freeze()
}

/// The answer of `/query` to a statement Vigil accepts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InfluxQueryResults {
    /// One `{"statement_id": 0}` per statement.
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<serde_json::Value>,
}

/// Influx 1.x `/query`, for the `CREATE DATABASE` Telegraf's v1 output sends before
/// its first write: Vigil has no databases to create (`db` is a tag), so it succeeds.
/// Any other statement is a 400: Vigil is queried with PromQL or its own API.
#[utoipa::path(
    post, path = "/query", tag = "ingest", operation_id = "influx_query_post", security((), ("token" = [])),
    params(("q" = Option<String>, Query, description = "InfluxQL; also accepted as a form field")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "q=CREATE DATABASE \"telegraf\""),
    responses(
        (status = 200, description = "CREATE DATABASE succeeded (a no-op)", body = InfluxQueryResults),
        (status = 400, description = "Any other statement", body = super::openapi::ErrorBody),
        (status = 401, description = "auth.require_ingest_key is set and no valid ingest key was sent", body = super::openapi::ErrorBody),
    )
)]
pub async fn query_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: Params,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    super::auth::authorize_ingest(&request, &state).await?;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let q = form
        .get("q")
        .or_else(|| params.get("q"))
        .cloned()
        .unwrap_or_default();
    answer_statement(&q)
}

/// Influx 1.x `/query` by GET (as POST).
#[utoipa::path(
    get, path = "/query", tag = "ingest", operation_id = "influx_query_get", security((), ("token" = [])),
    params(("q" = String, Query, description = "InfluxQL")),
    responses(
        (status = 200, description = "CREATE DATABASE succeeded (a no-op)", body = InfluxQueryResults),
        (status = 400, description = "Any other statement", body = super::openapi::ErrorBody),
    )
)]
pub async fn query_get(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    super::auth::authorize_ingest(&request, &state).await?;
    answer_statement(params.get("q").map(String::as_str).unwrap_or(""))
}

fn answer_statement(q: &str) -> Result<HttpResponse, ApiError> {
    let statements: Vec<&str> = q
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let creates = |s: &&str| {
        s.split_whitespace()
            .take(2)
            .map(str::to_ascii_uppercase)
            .eq(["CREATE", "DATABASE"])
    };
    if statements.is_empty() || !statements.iter().all(creates) {
        return Err(ApiError::validation(
            format!("only CREATE DATABASE is supported on /query (Vigil is queried with PromQL at /prometheus); got {q:?}"),
            serde_json::Value::Null,
        ));
    }
    Ok(HttpResponse::Ok().json(InfluxQueryResults {
        results: (0..statements.len())
            .map(|id| json!({ "statement_id": id }))
            .collect(),
    }))
}

/// Influx `/ping`: clients check that the server is up.
#[utoipa::path(
    get, path = "/ping", tag = "ingest", security(()),
    responses((status = 204, description = "Up"))
)]
pub async fn ping() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("X-Influxdb-Version", "vigil"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_create_database_is_answered() {
        assert!(answer_statement("CREATE DATABASE \"telegraf\"").is_ok());
        assert!(answer_statement("create database telegraf; CREATE DATABASE x").is_ok());
        assert!(answer_statement("SELECT * FROM cpu").is_err());
        assert!(answer_statement("").is_err());
    }

    #[test]
    fn batch_content_depends_on_the_parameters() {
        assert_ne!(
            batch_content("s", Some("a"), b"m v=1 1"),
            batch_content("s", Some("b"), b"m v=1 1")
        );
        assert_ne!(
            batch_content("s", None, b"m v=1 1"),
            batch_content("ms", None, b"m v=1 1")
        );
    }
}
