//! The OpenAPI 3 document served at `/api/openapi.json`, generated from the handlers'
//! annotations and the Rust types they exchange, so it cannot drift from the code.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::CredentialKind;
use crate::model::dashboard::{
    Calculation, CreateDashboard, Dashboard, DashboardExport, DashboardSettings, DashboardSummary,
    FieldProblem, LayoutItem, Panel, PanelInput, PanelOptions, PanelQuery, PanelType, Position,
    Refresh, Threshold, TimeRangeSetting, UpdateDashboard, Variable,
};
use crate::model::{
    DataPoint, GroupSeries, QueryData, QueryMeta, QueryRequest, QueryResult, Role, User,
};
use crate::protocol::json::Rejection;
use crate::store::catalog::MetricDefinition;
use crate::store::credentials::TokenInfo;

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
/// METHOD_NOT_ALLOWED, CONFLICT, RATE_LIMITED, PAYLOAD_TOO_LARGE, UNAVAILABLE,
/// INTERNAL_ERROR.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    pub details: Option<serde_json::Value>,
}

/// `{"data": user}`.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    pub data: User,
}

/// `{"data": [user], "meta": {"total"}}`.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub data: Vec<User>,
    pub meta: ListMeta,
}

/// `{"data": me}`.
#[derive(Serialize, ToSchema)]
pub struct MeBody {
    pub data: super::auth::Me,
}

/// `{"data": [token], "meta": {"total"}}`.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub data: Vec<TokenInfo>,
    pub meta: ListMeta,
}

/// `{"data": token with its secret}`.
#[derive(Serialize, ToSchema)]
pub struct CreatedTokenBody {
    pub data: super::tokens::CreatedToken,
}

/// Totals of a listing; paged listings add `page` and `pageSize`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    pub total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

impl ListMeta {
    /// The meta of an unpaged listing.
    pub fn total(total: usize) -> ListMeta {
        ListMeta {
            total: total as i64,
            page: None,
            page_size: None,
        }
    }
}

/// `{"data": [summary], "meta": {"total", "page", "pageSize"}}`.
#[derive(Serialize, ToSchema)]
pub struct DashboardList {
    pub data: Vec<DashboardSummary>,
    pub meta: ListMeta,
}

/// `{"data": dashboard}`.
#[derive(Serialize, ToSchema)]
pub struct DashboardBody {
    pub data: Dashboard,
}

/// `{"data": panel, "meta": {"dashboardVersion"}}`.
#[derive(Serialize, ToSchema)]
pub struct PanelBody {
    pub data: Panel,
    pub meta: PanelMeta,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PanelMeta {
    pub dashboard_version: i64,
}

/// `{"data": export document}`.
#[derive(Serialize, ToSchema)]
pub struct ExportBody {
    pub data: DashboardExport,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vigil API",
        description = "Metrics ingest, query and catalog; users, sessions, API tokens; dashboards and panels; alert rules, history and silences. Every /api/v1 route except login and (unless auth.require_ingest_key) ingest needs the vigil_session cookie from a login or `Authorization: Bearer <API token>`."
    ),
    modifiers(&Security, &MalformedRequests, &OverlappingUnions),
    paths(
        super::ingest::ingest,
        super::query::query,
        super::query::batch,
        super::catalog::list_metrics,
        super::catalog::metric_tags,
        super::health::health,
        super::prometheus::metrics,
        openapi_json,
        super::docs::index,
        super::docs::asset,
        super::auth::login,
        super::auth::logout,
        super::auth::me,
        super::tokens::list_tokens,
        super::tokens::create_token,
        super::tokens::delete_token,
        super::users::list_users,
        super::users::create_user,
        super::users::update_user,
        super::users::delete_user,
        super::dashboards::list,
        super::dashboards::create,
        super::dashboards::import,
        super::dashboards::get,
        super::dashboards::update,
        super::dashboards::delete,
        super::dashboards::export,
        super::dashboards::add_panel,
        super::dashboards::update_panel,
        super::dashboards::delete_panel,
        // --- alerting ---
        super::alerts::list_rules,
        super::alerts::create_rule,
        super::alerts::get_rule,
        super::alerts::update_rule,
        super::alerts::delete_rule,
        super::alerts::evaluate_rule,
        super::alerts::evaluate_draft,
        super::alerts::history,
        super::alerts::list_silences,
        super::alerts::create_silence,
        super::alerts::delete_silence,
        // --- remote_write and line protocol ingest ---
        super::remote_write::write,
        super::remote_write::write_prefixed,
        super::influx::write_v1,
        super::influx::write_v2,
        super::influx::query_post,
        super::influx::query_get,
        super::influx::ping,
        // --- Prometheus query API ---
        super::prom_api::query,
        super::prom_api::query_range,
        super::prom_api::series,
        super::prom_api::labels,
        super::prom_api::label_values,
        super::prom_api::metadata,
        super::prom_api::buildinfo,
        super::prom_api::rules,
        super::prom_api::alerts,
        super::prom_api::query_exemplars,
        super::prom_api::query_post,
        super::prom_api::query_range_post,
        super::prom_api::series_post,
        super::prom_api::labels_post,
        super::prom_api::query_exemplars_post,
    ),
    components(schemas(
        IngestPoint,
        IngestResponse,
        ErrorBody,
        super::catalog::MetricList,
        super::catalog::MetricListMeta,
        super::catalog::TagValues,
        super::catalog::TagValuesMeta,
        super::health::HealthReport,
        super::health::Checks,
        super::health::Check,
        super::health::Background,
        super::health::Compaction,
        QueryRequest,
        QueryResult,
        crate::model::MatcherInput,
        crate::model::matcher::MatchOp,
        crate::model::BatchQueryRequest,
        crate::model::BatchQuery,
        super::query::BatchResponse,
        super::query::BatchAnswer,
        super::query::BatchError,
        super::query::BatchMeta,
        QueryData,
        GroupSeries,
        QueryMeta,
        DataPoint,
        Rejection,
        MetricDefinition,
        User,
        Role,
        UserBody,
        UserList,
        MeBody,
        super::auth::Me,
        super::auth::LoginRequest,
        CredentialKind,
        TokenInfo,
        TokenList,
        CreatedTokenBody,
        super::tokens::CreateToken,
        super::tokens::TokenKind,
        super::tokens::CreatedToken,
        super::users::CreateUser,
        super::users::UpdateUser,
        ListMeta,
        Dashboard,
        DashboardSummary,
        DashboardList,
        DashboardBody,
        CreateDashboard,
        UpdateDashboard,
        DashboardExport,
        ExportBody,
        Panel,
        PanelBody,
        PanelMeta,
        PanelInput,
        PanelQuery,
        PanelOptions,
        PanelType,
        Position,
        LayoutItem,
        Threshold,
        Calculation,
        FieldProblem,
        Variable,
        DashboardSettings,
        TimeRangeSetting,
        Refresh,
        // --- alerting ---
        // --- alerting ---
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
        super::influx::InfluxQueryResults,
        // --- Prometheus query API ---
        super::prom_api::PromErrorBody,
        super::prom_api::PromQueryResponse,
        super::prom_api::PromQueryData,
        super::prom_api::VectorItem,
        super::prom_api::MatrixItem,
        super::prom_api::PromSeriesResponse,
        super::prom_api::PromStringsResponse,
        super::prom_api::MetadataEntry,
        super::prom_api::PromMetadataResponse,
        super::prom_api::BuildInfo,
        super::prom_api::PromBuildInfoResponse,
        super::prom_api::PromAlert,
        super::prom_api::PromRule,
        super::prom_api::PromRuleGroup,
        super::prom_api::PromRuleGroups,
        super::prom_api::PromRulesResponse,
        super::prom_api::PromAlertList,
        super::prom_api::PromAlertsResponse,
        super::prom_api::PromExemplarsResponse,
    ))
)]
pub struct ApiDoc;

/// Declares the two ways to authenticate and requires one of them everywhere;
/// the public routes say so by overriding it with an empty requirement.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![
            SecurityRequirement::new("session", Vec::<String>::new()),
            SecurityRequirement::new("token", Vec::<String>::new()),
        ]);
    }
}

/// Every operation that takes a path or query parameter or a body answers 400 when
/// one of them does not parse (a path id that is not a uuid, a number out of range, a
/// body that is not JSON): the extractors do it before the handler runs, so it is
/// declared here once for all of them rather than on each handler.
struct MalformedRequests;

impl utoipa::Modify for MalformedRequests {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let schema = if path.starts_with("/prometheus/") {
                "PromErrorBody"
            } else {
                "ErrorBody"
            };
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let public = operation
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| *r == Default::default()));
                // A change asks for a role (editor or admin) and, with a session
                // cookie, a same-origin request; a read may ask for a role too (admin
                // pages, other users' tokens): each refusal is 403.
                if !public && !operation.responses.responses.contains_key("401") {
                    operation.responses.responses.insert(
                        "401".to_string(),
                        error_response(
                            "No session or token, or an ended, revoked or unknown one",
                            schema,
                        )
                        .into(),
                    );
                }
                if !public && !operation.responses.responses.contains_key("403") {
                    operation.responses.responses.insert(
                        "403".to_string(),
                        error_response("The caller's role does not allow this, or a session request came from another origin", schema).into(),
                    );
                }
                let takes_input = operation.request_body.is_some()
                    || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                if !takes_input || operation.responses.responses.contains_key("400") {
                    continue;
                }
                operation.responses.responses.insert(
                    "400".to_string(),
                    error_response("A parameter or the body does not parse", schema).into(),
                );
            }
        }
    }
}

fn error_response(description: &str, schema: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
}

/// An empty list of buckets is also an empty list of groups: the alternatives of
/// `QueryData` overlap, which `oneOf` forbids, so the document says `anyOf`.
struct OverlappingUnions;

impl utoipa::Modify for OverlappingUnions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AnyOf, Schema};
        use utoipa::openapi::RefOr;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::OneOf(one))) = components.schemas.get("QueryData") {
            let mut any = AnyOf::new();
            any.items = one.items.clone();
            any.description = one.description.clone();
            components
                .schemas
                .insert("QueryData".into(), RefOr::T(Schema::AnyOf(any)));
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()), responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document and the mounted routes describe the same set of (method, path).
    #[test]
    fn documents_exactly_the_mounted_routes() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    documented.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        let mounted: std::collections::BTreeSet<(String, String)> = super::super::routes()
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        let undocumented: Vec<_> = mounted.difference(&documented).collect();
        let unmounted: Vec<_> = documented.difference(&mounted).collect();
        assert!(
            undocumented.is_empty() && unmounted.is_empty(),
            "mounted but not documented: {undocumented:?}; documented but not mounted: {unmounted:?}"
        );
        assert!(mounted.len() >= 29, "only {} routes", mounted.len());
        assert!(
            doc["components"]["schemas"]["QueryRequest"]["properties"]["start"]["oneOf"].is_array()
        );
    }
}
