//! `POST /api/v1/query`: dashboards read aggregated series; `POST /api/v1/query/batch`:
//! the queries of one dashboard refresh in one request, identical ones computed once.

use std::collections::{HashMap, HashSet};

use actix_web::{web, HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{json, Value};

use super::auth::Principal;
use super::error::ApiError;
use super::AppState;
use crate::actors::query_router::{QueryFailure, RunQuery};
use crate::model::answer_json;
use crate::model::query::{parse_range, MAX_BATCH_ID_LEN};
use crate::model::{
    BatchQuery, BatchQueryRequest, QueryData, QueryError, QueryMeta, QueryRequest, QueryResult,
    QuerySpec,
};

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
    let spec = QuerySpec::parse(&body, &state.settings.query).map_err(invalid_field)?;
    let result = run(&state, spec).await?;
    let points = result.data.points();
    Ok(sized_json(points, |buf| {
        answer_json::write_result(&result, buf)
    }))
}

/// About the bytes one point takes in an answer (`{"time":"…Z","value":…},`).
const BYTES_PER_POINT: usize = 48;

/// A JSON answer written into a buffer sized for its points up front: a large answer
/// would otherwise be copied again each time the growing buffer doubles.
fn sized_json(
    points: usize,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> HttpResponse {
    let mut buf = Vec::with_capacity(1024 + points * BYTES_PER_POINT);
    match write(&mut buf) {
        Ok(()) => HttpResponse::Ok()
            .content_type(actix_web::http::header::ContentType::json())
            .body(buf),
        Err(error) => ApiError::internal(error).error_response(),
    }
}

/// `response` as serde_json writes it, with each answer's data through
/// [`answer_json::write_data`].
fn write_batch(response: &BatchResponse, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"data\":[");
    for (i, answer) in response.data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match answer {
            BatchAnswer::Answered { id, data, meta } => {
                out.extend_from_slice(b"{\"id\":");
                serde_json::to_writer(&mut *out, id)?;
                out.extend_from_slice(b",\"data\":");
                answer_json::write_data(data, out)?;
                out.extend_from_slice(b",\"meta\":");
                serde_json::to_writer(&mut *out, meta)?;
                out.push(b'}');
            }
            failed @ BatchAnswer::Failed { .. } => serde_json::to_writer(&mut *out, failed)?,
        }
    }
    out.extend_from_slice(b"],\"meta\":");
    serde_json::to_writer(&mut *out, &response.meta)?;
    out.push(b'}');
    Ok(())
}

fn invalid_field(e: QueryError) -> ApiError {
    ApiError::validation(e.to_string(), json!({"field": e.field, "reason": e.reason}))
}

/// One query through the router pool, its failure mapped to the API error.
async fn run(state: &AppState, spec: QuerySpec) -> Result<QueryResult, ApiError> {
    let wait = state.settings.query.timeout + std::time::Duration::from_secs(2);
    let outcome = tokio::time::timeout(wait, state.query.pick().send(RunQuery { spec }))
        .await
        .map_err(|_| ApiError::unavailable("query timed out", 1))?
        .map_err(|_| ApiError::unavailable("query service is restarting; retry", 1))?;
    match outcome {
        Ok(result) => Ok(result),
        Err(QueryFailure::Invalid(why)) => {
            Err(ApiError::validation(why, json!({"field": "start"})))
        }
        Err(QueryFailure::Unavailable(why)) => Err(ApiError::unavailable(why, 5)),
        Err(QueryFailure::Internal(error)) => Err(ApiError::internal(error)),
    }
}

/// The error of one query in a batch, shaped like every API error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchError {
    pub error: String,
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl From<&ApiError> for BatchError {
    fn from(error: &ApiError) -> BatchError {
        let message = match error {
            ApiError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        let details = match error {
            ApiError::Validation { details, .. } | ApiError::Conflict { details, .. } => {
                Some(details.clone())
            }
            _ => None,
        };
        BatchError {
            error: message,
            code: error.code().to_string(),
            details,
        }
    }
}

/// The answer to one query of a batch: its data and meta, or its error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BatchAnswer {
    Answered {
        id: String,
        data: QueryData,
        meta: QueryMeta,
    },
    Failed {
        id: String,
        error: BatchError,
    },
}

/// How much of the batch was computed: queries equal after parsing share one answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchMeta {
    /// Queries in the batch.
    pub queries: usize,
    /// Distinct valid queries actually run (through the cache).
    pub computed: usize,
}

/// `{"data": [answer per query, in request order], "meta": {...}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchResponse {
    pub data: Vec<BatchAnswer>,
    pub meta: BatchMeta,
}

fn batch_invalid(field: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::validation(
        format!("{field}: {reason}"),
        json!({"field": field, "reason": reason}),
    )
}

/// The id of a raw batch query, or why the whole batch is refused (an answer that
/// cannot name its query cannot be delivered).
fn query_id(index: usize, raw: &Value) -> Result<String, ApiError> {
    let field = format!("queries[{index}].id");
    match raw.get("id") {
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= MAX_BATCH_ID_LEN => {
            Ok(id.clone())
        }
        Some(Value::String(_)) => Err(batch_invalid(
            &field,
            format!("must be 1 to {MAX_BATCH_ID_LEN} characters"),
        )),
        _ => Err(batch_invalid(&field, "a string id is required")),
    }
}

#[utoipa::path(
    post, path = "/api/v1/query/batch", tag = "query",
    request_body = BatchQueryRequest,
    responses(
        (status = 200, description = "One answer per query in request order, each its data and meta or its own error", body = BatchResponse),
        (status = 400, description = "Invalid range, missing or duplicate ids, or more than query.max_batch_queries queries", body = super::openapi::ErrorBody),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
    )
)]
#[tracing::instrument(name = "query_batch", skip_all, fields(queries = body.queries.len()))]
pub async fn batch(
    _principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<BatchQueryRequest>,
) -> Result<HttpResponse, ApiError> {
    let settings = &state.settings.query;
    let body = body.into_inner();
    if body.queries.is_empty() || body.queries.len() > settings.max_batch_queries as usize {
        return Err(batch_invalid(
            "queries",
            format!("1 to {} queries", settings.max_batch_queries),
        ));
    }
    let range = parse_range(&body.start, &body.end, settings).map_err(invalid_field)?;
    let mut ids = HashSet::new();
    // Per query: its id and its spec or its error. Equal specs share a slot in
    // `unique`, so each is computed once.
    let mut parsed: Vec<(String, Result<usize, ApiError>)> = Vec::new();
    let mut unique: Vec<QuerySpec> = Vec::new();
    let mut slot_of: HashMap<String, usize> = HashMap::new();
    for (index, raw) in body.queries.into_iter().enumerate() {
        let id = query_id(index, &raw)?;
        if !ids.insert(id.clone()) {
            return Err(batch_invalid(
                &format!("queries[{index}].id"),
                format!("{id:?} appears twice in the batch"),
            ));
        }
        let spec = serde_json::from_value::<BatchQuery>(raw)
            .map_err(|e| batch_invalid(&format!("queries[{index}]"), e.to_string()))
            .and_then(|q| {
                let request = q.into_request(body.start.clone(), body.end.clone());
                QuerySpec::parse_in(&request, range, settings).map_err(invalid_field)
            });
        let slot = spec.map(|spec| {
            let identity = spec.cache_identity();
            *slot_of.entry(identity).or_insert_with(|| {
                unique.push(spec);
                unique.len() - 1
            })
        });
        parsed.push((id, slot));
    }
    let computed = unique.len();
    let answers: Vec<Result<QueryResult, ApiError>> =
        futures_util::future::join_all(unique.into_iter().map(|spec| run(&state, spec))).await;
    let data: Vec<BatchAnswer> = parsed
        .into_iter()
        .map(|(id, slot)| match slot.and_then(|s| answers[s].clone()) {
            Ok(result) => BatchAnswer::Answered {
                id,
                data: result.data,
                meta: result.meta,
            },
            Err(error) => BatchAnswer::Failed {
                id,
                error: BatchError::from(&error),
            },
        })
        .collect();
    let points = data
        .iter()
        .map(|answer| match answer {
            BatchAnswer::Answered { data, .. } => data.points(),
            BatchAnswer::Failed { .. } => 0,
        })
        .sum();
    let response = BatchResponse {
        data,
        meta: BatchMeta {
            queries: ids.len(),
            computed,
        },
    };
    Ok(sized_json(points, |buf| write_batch(&response, buf)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::query::BucketTime;
    use crate::model::{DataPoint, GroupSeries, QueryMeta};

    #[test]
    fn a_batch_is_written_as_serde_writes_it() {
        let meta = QueryMeta {
            table: "rollup_1m".into(),
            resolution: "1m".into(),
            tiers: vec!["rollup_1m".into(), "points".into()],
            note: None,
            truncated: true,
            step: "1m".into(),
            step_ms: 60_000,
            cached: true,
            series: 3,
            start: "1970-01-01T00:00:00Z".into(),
            end: "1970-01-01T01:00:00Z".into(),
            since: Some(60_000),
        };
        let point = |t: i64, value: f64| DataPoint {
            time: BucketTime(t),
            value,
        };
        let response = BatchResponse {
            data: vec![
                BatchAnswer::Answered {
                    id: "a\"1".into(),
                    data: QueryData::Single(vec![point(0, 1.5), point(60_000, f64::NAN)]),
                    meta: meta.clone(),
                },
                BatchAnswer::Failed {
                    id: "b".into(),
                    error: BatchError {
                        error: "bad".into(),
                        code: "VALIDATION_ERROR".into(),
                        details: Some(json!({"field": "query"})),
                    },
                },
                BatchAnswer::Answered {
                    id: "c".into(),
                    data: QueryData::Grouped(vec![GroupSeries {
                        tags: [("dc".to_string(), "x".to_string())].into(),
                        data: vec![point(-1, -0.0)],
                    }]),
                    meta,
                },
            ],
            meta: BatchMeta {
                queries: 3,
                computed: 2,
            },
        };
        let mut ours = Vec::new();
        write_batch(&response, &mut ours).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&response).unwrap()
        );
    }
}
