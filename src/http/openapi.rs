//! The OpenAPI 3 document served at `/api/openapi.json`, generated from the handlers'
//! annotations and the Rust types they exchange, so it cannot drift from the code.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::model::{DataPoint, GroupSeries, QueryData, QueryMeta, QueryRequest, QueryResult};
use crate::protocol::json::Rejection;
use crate::store::catalog::MetricDefinition;

/// One point of an ingest body.
#[derive(Serialize, ToSchema)]
pub struct IngestPoint {
    #[schema(example = "cpu.usage", pattern = "^[a-zA-Z_][a-zA-Z0-9_.:]*$")]
    pub name: String,
    #[schema(example = 41.5)]
    pub value: f64,
    pub tags: Option<BTreeMap<String, String>>,
    /// Milliseconds since the epoch; default now.
    #[schema(example = 1795305600000i64)]
    pub timestamp: Option<i64>,
}

/// The 202 answer of an ingest: what was accepted, what was rejected and why.
#[derive(Serialize, ToSchema)]
pub struct IngestResponse {
    pub accepted: usize,
    pub rejected: usize,
    pub errors: Vec<Rejection>,
}

/// Every error: `code` is one of VALIDATION_ERROR, UNAUTHORIZED, FORBIDDEN, NOT_FOUND,
/// CONFLICT, RATE_LIMITED, PAYLOAD_TOO_LARGE, UNAVAILABLE, INTERNAL_ERROR.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    pub details: Option<serde_json::Value>,
}

/// `GET /api/v1/metrics`.
#[derive(Serialize, ToSchema)]
pub struct MetricList {
    pub data: Vec<MetricDefinition>,
}

/// `GET /api/v1/metrics/{name}/tags`: tag key -> values.
#[derive(Serialize, ToSchema)]
pub struct TagValues {
    pub data: BTreeMap<String, Vec<String>>,
}

/// `GET /health`: `status` healthy, degraded (Redis down) or unhealthy; `checks` per
/// dependency `{status: up|down, latencyMs?, error?}`.
#[derive(Serialize, ToSchema)]
pub struct HealthReport {
    #[schema(example = "healthy")]
    pub status: String,
    pub checks: BTreeMap<String, serde_json::Value>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vigil API",
        description = "Metrics ingest, query, catalog and alerting."
    ),
    paths(
        super::ingest::ingest,
        super::query::query,
        super::catalog::list_metrics,
        super::catalog::metric_tags,
        super::health::health,
        super::prometheus::metrics,
        openapi_json,
        // --- alerting (issue 5) ---
        super::alerts::list_rules,
        super::alerts::create_rule,
        super::alerts::get_rule,
        super::alerts::update_rule,
        super::alerts::delete_rule,
        super::alerts::evaluate_rule,
        super::alerts::history,
        super::alerts::list_silences,
        super::alerts::create_silence,
        super::alerts::delete_silence,
    ),
    components(schemas(
        IngestPoint,
        IngestResponse,
        ErrorBody,
        MetricList,
        TagValues,
        HealthReport,
        QueryRequest,
        QueryResult,
        QueryData,
        GroupSeries,
        QueryMeta,
        DataPoint,
        Rejection,
        MetricDefinition,
        // --- alerting (issue 5) ---
        crate::model::alert::RuleRequest,
        crate::model::alert::RuleQuery,
        crate::model::alert::Condition,
        crate::model::alert::Severity,
        crate::model::alert::NoDataPolicy,
        crate::model::alert::Notification,
        crate::model::alert::Channel,
        crate::model::alert::SilenceRequest,
        crate::model::alert::Silence,
        crate::alerting::AlertState,
        crate::store::alerts::AlertEvent,
        super::alerts::RuleView,
        super::alerts::InstanceView,
        super::alerts::RuleResponse,
        super::alerts::RuleListResponse,
        super::alerts::Evaluation,
        super::alerts::EvaluatedInstance,
        super::alerts::EvaluationResponse,
        super::alerts::HistoryMeta,
        super::alerts::HistoryResponse,
        super::alerts::SilenceResponse,
        super::alerts::SilenceListResponse,
    ))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_route() {
        let doc = ApiDoc::openapi();
        let paths: Vec<&String> = doc.paths.paths.keys().collect();
        for route in [
            "/api/v1/metrics",
            "/api/v1/query",
            "/api/v1/metrics/{name}/tags",
            "/health",
            "/metrics",
            "/api/openapi.json",
            // --- alerting (issue 5) ---
            "/api/v1/alerts/rules",
            "/api/v1/alerts/rules/{id}",
            "/api/v1/alerts/rules/{id}/evaluate",
            "/api/v1/alerts/history",
            "/api/v1/alerts/silences",
            "/api/v1/alerts/silences/{id}",
        ] {
            assert!(
                paths.iter().any(|p| p.as_str() == route),
                "{route} missing from {paths:?}"
            );
        }
        let ingest = &doc.paths.paths["/api/v1/metrics"];
        assert!(
            ingest.post.is_some() && ingest.get.is_some(),
            "both GET and POST /api/v1/metrics are documented"
        );
        let json = serde_json::to_value(&doc).unwrap();
        assert!(
            json["components"]["schemas"]["QueryRequest"]["properties"]["start"]["oneOf"]
                .is_array()
        );
    }
}
