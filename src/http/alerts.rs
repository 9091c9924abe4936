//! Alerting API: rules (`/api/v1/alerts/rules`), evaluate-now, history, silences.
//!
//! Rules are stored in PostgreSQL; after a change the handler tells the local
//! `AlertSupervisor` (`RulesChanged`), which restarts, starts or stops the rule's actor
//! at once; other instances pick the change up at their next tick.
//!
//! Authorization: every authenticated user reads rules, history and silences (like
//! Grafana's alert list) and may evaluate a rule; editors create rules (they own them)
//! and silences; a rule is changed or deleted by its owner or an admin.

use std::collections::BTreeMap;

use actix::Addr;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Principal;
use super::error::ApiError;
use super::AppState;
use crate::actors::alert::MirroredInstance;
use crate::actors::alert_supervisor::{rule_limits, AlertSupervisor, RulesChanged};
use crate::alerting::plan::plan;
use crate::alerting::{AlertState, InstanceState, Observation, WindowData};
use crate::model::alert::{
    AlertRule, Condition, NoDataPolicy, Notification, RuleError, RuleQuery, RuleRequest, RuleSpec,
    Severity, Silence, SilenceRequest,
};
use crate::model::{Labels, Role};
use crate::store::alerts::{self as store, AlertEvent, HistoryFilter, RuleRow};

/// What the alert handlers need besides `AppState`; registered in `app.rs`.
pub struct AlertsState {
    pub supervisor: Addr<AlertSupervisor>,
}

/// One alert instance's state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    pub labels: Labels,
    pub state: AlertState,
    pub pending_since: Option<DateTime<Utc>>,
    pub firing_since: Option<DateTime<Utc>>,
    pub last_value: Option<f64>,
    pub last_evaluated: Option<DateTime<Utc>>,
}

/// A rule as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub id: Uuid,
    pub owner_id: Option<Uuid>,
    pub version: i64,
    pub name: String,
    pub query: RuleQuery,
    pub condition: Condition,
    pub threshold: f64,
    pub duration: String,
    pub severity: Severity,
    pub enabled: bool,
    pub notification: Notification,
    pub no_data: NoDataPolicy,
    /// The effective lookback window, e.g. "5m".
    pub window: String,
    /// The worst state among the rule's instances.
    pub state: AlertState,
    /// Instances that are pending or firing (with `GET /rules/{id}`: every instance
    /// evaluated last, ok ones included, when the live mirror has them).
    pub instances: Vec<InstanceView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleResponse {
    pub data: RuleView,
}

#[derive(Serialize, ToSchema)]
pub struct RuleListResponse {
    pub data: Vec<RuleView>,
}

/// One instance in an evaluate-now answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatedInstance {
    pub labels: Labels,
    /// The value over the window; null when there was no data.
    pub value: Option<f64>,
    /// Whether the condition holds (null: no data).
    pub condition_met: Option<bool>,
    /// The current state.
    pub state: AlertState,
    /// The state this evaluation would lead to.
    pub would_be: AlertState,
    /// "firing" or "resolved" when this evaluation would notify.
    pub transition: Option<String>,
    pub silenced: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub evaluated_at: DateTime<Utc>,
    pub window: String,
    pub instances: Vec<EvaluatedInstance>,
}

#[derive(Serialize, ToSchema)]
pub struct EvaluationResponse {
    pub data: Evaluation,
}

/// `GET /api/v1/alerts/history` filters; newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    pub rule_id: Option<Uuid>,
    /// firing or resolved
    #[param(pattern = "^(firing|resolved)$")]
    pub state: Option<String>,
    /// RFC 3339; events at or after.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; events before.
    pub to: Option<DateTime<Utc>>,
    /// Page size (default 100); larger values are served as `alerts.history_page_max`.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `meta.nextCursor` of the previous page.
    pub cursor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryMeta {
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryResponse {
    pub data: Vec<AlertEvent>,
    pub meta: HistoryMeta,
}

#[derive(Serialize, ToSchema)]
pub struct SilenceResponse {
    pub data: Silence,
}

#[derive(Serialize, ToSchema)]
pub struct SilenceListResponse {
    pub data: Vec<Silence>,
}

fn invalid(error: RuleError) -> ApiError {
    ApiError::validation(error.to_string(), error.details())
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

fn instance_view(labels: Labels, state: InstanceState) -> InstanceView {
    InstanceView {
        labels,
        state: state.state,
        pending_since: time(state.pending_since),
        firing_since: time(state.firing_since),
        last_value: state.last_value,
        last_evaluated: time(state.last_evaluated),
    }
}

fn worst(instances: &[InstanceView]) -> AlertState {
    if instances.iter().any(|i| i.state == AlertState::Firing) {
        AlertState::Firing
    } else if instances.iter().any(|i| i.state == AlertState::Pending) {
        AlertState::Pending
    } else {
        AlertState::Ok
    }
}

fn view(state: &AppState, row: RuleRow, instances: Vec<InstanceView>) -> RuleView {
    let window = row
        .spec
        .window(&rule_limits(&state.settings))
        .map(|w| humantime::format_duration(w).to_string())
        .unwrap_or_default();
    let spec = row.spec;
    RuleView {
        id: row.id,
        owner_id: row.owner_id,
        version: row.version,
        name: spec.name,
        query: spec.query,
        condition: spec.condition,
        threshold: spec.threshold,
        duration: spec.duration,
        severity: spec.severity,
        enabled: spec.enabled,
        notification: spec.notification,
        no_data: spec.no_data,
        window,
        state: worst(&instances),
        instances,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn parse_body(state: &AppState, body: RuleRequest) -> Result<RuleSpec, ApiError> {
    RuleSpec::parse(body, &rule_limits(&state.settings)).map_err(invalid)
}

async fn rule_or_404(state: &AppState, id: Uuid) -> Result<RuleRow, ApiError> {
    store::get_rule(&state.pg, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no alert rule {id}")))
}

/// The recorded (non-ok) instances of a rule.
async fn recorded_instances(state: &AppState, id: Uuid) -> Result<Vec<InstanceView>, ApiError> {
    Ok(store::instance_rows(&state.pg, Some(id))
        .await?
        .into_iter()
        .map(|r| instance_view(r.labels, r.state))
        .collect())
}

/// Editors write their own rules, admins every rule; everyone authenticated reads.
async fn may_write(state: &AppState, principal: &Principal, id: Uuid) -> Result<(), ApiError> {
    principal.require(Role::Editor)?;
    let row = rule_or_404(state, id).await?;
    if principal.role < Role::Admin && row.owner_id != Some(principal.user_id) {
        return Err(ApiError::Forbidden(
            "only the rule's owner or an admin may change it".into(),
        ));
    }
    Ok(())
}

fn changed(alerts: &AlertsState) {
    alerts.supervisor.do_send(RulesChanged);
}

#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts",
    responses((status = 200, description = "Every rule with its current state", body = RuleListResponse)))]
pub async fn list_rules(
    _principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = store::list_rules(&state.pg, false).await?;
    let mut instances: BTreeMap<Uuid, Vec<InstanceView>> = BTreeMap::new();
    for row in store::instance_rows(&state.pg, None).await? {
        instances
            .entry(row.rule_id)
            .or_default()
            .push(instance_view(row.labels, row.state));
    }
    let data: Vec<RuleView> = rows
        .into_iter()
        .map(|row| {
            let own = instances.remove(&row.id).unwrap_or_default();
            view(&state, row, own)
        })
        .collect();
    Ok(HttpResponse::Ok().json(RuleListResponse { data }))
}

#[utoipa::path(post, path = "/api/v1/alerts/rules", tag = "alerts", request_body = RuleRequest,
    responses(
        (status = 201, description = "Created; evaluated from the next tick", body = RuleResponse),
        (status = 400, description = "Invalid field (named in details)", body = super::openapi::ErrorBody),
        (status = 403, description = "Viewers may not write rules", body = super::openapi::ErrorBody),
        (status = 409, description = "alerts.max_rules reached", body = super::openapi::ErrorBody),
    ))]
#[tracing::instrument(name = "create_rule", skip_all)]
pub async fn create_rule(
    principal: Principal,
    state: web::Data<AppState>,
    alerts: web::Data<AlertsState>,
    body: web::Json<RuleRequest>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Editor)?;
    let spec = parse_body(&state, body.into_inner())?;
    let count = store::count_rules(&state.pg).await?;
    if count >= i64::from(state.settings.alerts.max_rules) {
        return Err(ApiError::conflict(
            format!(
                "at most {} alert rules (alerts.max_rules)",
                state.settings.alerts.max_rules
            ),
            serde_json::Value::Null,
        ));
    }
    let row = store::insert_rule(&state.pg, Uuid::new_v4(), Some(principal.user_id), &spec).await?;
    tracing::info!(rule = %row.id, name = %row.spec.name, "Alert rule created.");
    changed(&alerts);
    Ok(HttpResponse::Created().json(RuleResponse {
        data: view(&state, row, Vec::new()),
    }))
}

#[utoipa::path(get, path = "/api/v1/alerts/rules/{id}", tag = "alerts",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses(
        (status = 200, description = "The rule with the state of every instance", body = RuleResponse),
        (status = 404, description = "No such rule", body = super::openapi::ErrorBody),
    ))]
pub async fn get_rule(
    _principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = rule_or_404(&state, id).await?;
    // The live mirror (every instance of the last tick, with its value) when Redis has
    // it; else the record (non-ok instances only).
    let mirrored = state
        .redis
        .get(&state.redis.alert_state_key(&id))
        .await
        .and_then(|json| serde_json::from_str::<Vec<MirroredInstance>>(&json).ok());
    let instances: Vec<InstanceView> = match mirrored {
        Some(mirror) => mirror
            .into_iter()
            .map(|m| instance_view(m.labels, m.state))
            .collect(),
        None => recorded_instances(&state, id).await?,
    };
    Ok(HttpResponse::Ok().json(RuleResponse {
        data: view(&state, row, instances),
    }))
}

#[utoipa::path(put, path = "/api/v1/alerts/rules/{id}", tag = "alerts", request_body = RuleRequest,
    params(("id" = Uuid, Path, description = "Rule id")),
    responses(
        (status = 200, description = "Replaced; takes effect within one evaluation interval", body = RuleResponse),
        (status = 400, description = "Invalid field (named in details)", body = super::openapi::ErrorBody),
        (status = 403, description = "Not the rule's owner (or an admin)", body = super::openapi::ErrorBody),
        (status = 404, description = "No such rule", body = super::openapi::ErrorBody),
    ))]
#[tracing::instrument(name = "update_rule", skip_all, fields(rule = %id))]
pub async fn update_rule(
    principal: Principal,
    state: web::Data<AppState>,
    alerts: web::Data<AlertsState>,
    id: web::Path<Uuid>,
    body: web::Json<RuleRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    may_write(&state, &principal, id).await?;
    let spec = parse_body(&state, body.into_inner())?;
    let row = store::update_rule(&state.pg, id, &spec)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no alert rule {id}")))?;
    tracing::info!(rule = %id, version = row.version, "Alert rule updated.");
    changed(&alerts);
    let instances = recorded_instances(&state, id).await?;
    Ok(HttpResponse::Ok().json(RuleResponse {
        data: view(&state, row, instances),
    }))
}

#[utoipa::path(delete, path = "/api/v1/alerts/rules/{id}", tag = "alerts",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses(
        (status = 204, description = "Deleted; its history stays"),
        (status = 403, description = "Not the rule's owner (or an admin)", body = super::openapi::ErrorBody),
        (status = 404, description = "No such rule", body = super::openapi::ErrorBody),
    ))]
#[tracing::instrument(name = "delete_rule", skip_all, fields(rule = %id))]
pub async fn delete_rule(
    principal: Principal,
    state: web::Data<AppState>,
    alerts: web::Data<AlertsState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    may_write(&state, &principal, id).await?;
    if !store::delete_rule(&state.pg, id).await? {
        return Err(ApiError::NotFound(format!("no alert rule {id}")));
    }
    tracing::info!(rule = %id, "Alert rule deleted.");
    changed(&alerts);
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/alerts/rules/{id}/evaluate", tag = "alerts",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses(
        (status = 200, description = "The value and would-be state of every instance now; nothing is recorded or notified", body = EvaluationResponse),
        (status = 404, description = "No such rule", body = super::openapi::ErrorBody),
    ))]
pub async fn evaluate_rule(
    _principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = rule_or_404(&state, id).await?;
    let rule = AlertRule::new(
        row.id,
        row.owner_id,
        row.version,
        row.spec,
        &rule_limits(&state.settings),
    )
    .map_err(invalid)?;
    let current: BTreeMap<Labels, InstanceState> = store::load_instances(&state.pg, id)
        .await?
        .into_iter()
        .collect();
    let evaluation = evaluation_now(&state, &rule, &current).await?;
    Ok(HttpResponse::Ok().json(EvaluationResponse { data: evaluation }))
}

/// The rule editor's preview: a rule as written in the form, not saved, evaluated as a
/// new rule would be now (every instance starts from ok).
#[utoipa::path(post, path = "/api/v1/alerts/rules/evaluate", tag = "alerts", request_body = RuleRequest,
    responses(
        (status = 200, description = "The value and would-be state of every instance of the unsaved rule now; nothing is stored, recorded or notified", body = EvaluationResponse),
        (status = 400, description = "Invalid field (named in details)", body = super::openapi::ErrorBody),
    ))]
pub async fn evaluate_draft(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<RuleRequest>,
) -> Result<HttpResponse, ApiError> {
    let spec = parse_body(&state, body.into_inner())?;
    let rule = AlertRule::new(
        Uuid::nil(),
        Some(principal.user_id),
        0,
        spec,
        &rule_limits(&state.settings),
    )
    .map_err(invalid)?;
    let evaluation = evaluation_now(&state, &rule, &BTreeMap::new()).await?;
    Ok(HttpResponse::Ok().json(EvaluationResponse { data: evaluation }))
}

/// What evaluating `rule` now would give, from the instance states in `current`.
async fn evaluation_now(
    state: &AppState,
    rule: &AlertRule,
    current: &BTreeMap<Labels, InstanceState>,
) -> Result<Evaluation, ApiError> {
    let now_ms = Utc::now().timestamp_millis();
    let rows = store::window_partials(
        &state.pg,
        std::slice::from_ref(&rule.spec.query.query),
        now_ms - rule.window.as_millis() as i64,
        now_ms,
        store::ReadLimits::from_settings(&state.settings),
    )
    .await?;
    let mut data = WindowData {
        end_ms: now_ms,
        ..Default::default()
    };
    for (metric, series) in rows {
        data.by_metric.entry(metric).or_default().push(series);
    }
    let silences = store::current_silences(&state.pg).await?;
    let instances = plan(rule, current, &data, &silences, now_ms)
        .into_iter()
        .map(|p| {
            let value = match p.observation {
                Observation::Value(v) => Some(v),
                Observation::NoData => None,
            };
            EvaluatedInstance {
                condition_met: value.map(|v| rule.spec.condition.holds(v, rule.spec.threshold)),
                value,
                state: p.before.state,
                would_be: p.after.state,
                transition: p.transition.map(|t| t.as_str().to_string()),
                silenced: p.silenced,
                labels: p.labels,
            }
        })
        .collect();
    Ok(Evaluation {
        evaluated_at: time(Some(now_ms)).unwrap_or_else(Utc::now),
        window: humantime::format_duration(rule.window).to_string(),
        instances,
    })
}

#[utoipa::path(get, path = "/api/v1/alerts/history", tag = "alerts", params(HistoryQuery),
    responses(
        (status = 200, description = "Firing and resolved events, newest first", body = HistoryResponse),
        (status = 400, description = "Invalid filter", body = super::openapi::ErrorBody),
    ))]
pub async fn history(
    _principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let max = i64::from(state.settings.alerts.history_page_max);
    let limit = query.limit.unwrap_or(100).min(max);
    if limit < 1 {
        return Err(ApiError::validation(
            "limit must be at least 1",
            json!({"field": "limit"}),
        ));
    }
    if let Some(s) = &query.state {
        if s != "firing" && s != "resolved" {
            return Err(ApiError::validation(
                "state must be firing or resolved",
                json!({"field": "state"}),
            ));
        }
    }
    let filter = HistoryFilter {
        rule_id: query.rule_id,
        state: query.state,
        from: query.from,
        to: query.to,
        before: query.cursor,
        limit: limit + 1,
    };
    let mut events = store::history(&state.pg, &filter).await?;
    let next_cursor = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(HistoryResponse {
        data: events,
        meta: HistoryMeta { next_cursor },
    }))
}

#[utoipa::path(post, path = "/api/v1/alerts/silences", tag = "alerts", request_body = SilenceRequest,
    responses(
        (status = 201, description = "Created: matching alerts keep their state and history but are not notified", body = SilenceResponse),
        (status = 400, description = "Invalid field", body = super::openapi::ErrorBody),
    ))]
pub async fn create_silence(
    principal: Principal,
    state: web::Data<AppState>,
    alerts: web::Data<AlertsState>,
    body: web::Json<SilenceRequest>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Editor)?;
    let silence =
        Silence::parse(body.into_inner(), Some(principal.user_id), Utc::now()).map_err(invalid)?;
    store::insert_silence(&state.pg, &silence).await?;
    changed(&alerts);
    Ok(HttpResponse::Created().json(SilenceResponse { data: silence }))
}

#[utoipa::path(get, path = "/api/v1/alerts/silences", tag = "alerts",
    responses((status = 200, description = "Silences that have not ended", body = SilenceListResponse)))]
pub async fn list_silences(
    _principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let silences = store::current_silences(&state.pg).await?;
    Ok(HttpResponse::Ok().json(SilenceListResponse { data: silences }))
}

#[utoipa::path(delete, path = "/api/v1/alerts/silences/{id}", tag = "alerts",
    params(("id" = Uuid, Path, description = "Silence id")),
    responses(
        (status = 204, description = "Ended now"),
        (status = 404, description = "No such current silence", body = super::openapi::ErrorBody),
    ))]
pub async fn delete_silence(
    principal: Principal,
    state: web::Data<AppState>,
    alerts: web::Data<AlertsState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Editor)?;
    let id = id.into_inner();
    if !store::expire_silence(&state.pg, id).await? {
        return Err(ApiError::NotFound(format!("no current silence {id}")));
    }
    changed(&alerts);
    Ok(HttpResponse::NoContent().finish())
}
