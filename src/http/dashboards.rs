//! Dashboards and panels: `GET/POST /api/v1/dashboards`,
//! `GET/PUT/DELETE /api/v1/dashboards/{id}`, `POST /api/v1/dashboards/{id}/panels`,
//! `PUT/DELETE /api/v1/dashboards/{id}/panels/{panelId}`, and
//! `GET /api/v1/dashboards/{id}/export`, `POST /api/v1/dashboards/import`.
//!
//! Who may do what: everyone authenticated sees their own and public dashboards
//! (admins see all); a dashboard they cannot see is 404, never 403, so ids do not
//! leak. Editors write their own dashboards, admins any; a visible dashboard the
//! caller may not write is 403. Reads are cached in Redis and every write deletes
//! the cached entry after it commits.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::auth::Principal;
use super::error::ApiError;
use super::openapi;
use super::AppState;
use crate::model::dashboard::{
    check_new_dashboard, CreateDashboard, Dashboard, DashboardExport, DashboardLimits,
    FieldProblem, Panel, PanelInput, Problems, UpdateDashboard, EXPORT_SCHEMA_VERSION,
};
use crate::model::Role;
use crate::store::dashboards::{self, Versioned};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1-based page number (default 1; 0 reads as 1).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295u32)]
    pub page: Option<u32>,
    /// Dashboards per page (default 50; served as 1 to dashboards.max_page_size).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295u32)]
    pub page_size: Option<u32>,
}

/// `?version=` on panel deletes: the dashboard version the client last saw.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpectedVersion {
    pub version: Option<i64>,
}

fn limits(state: &AppState) -> DashboardLimits {
    DashboardLimits {
        max_panels: state.settings.dashboards.max_panels,
        max_name_len: state.settings.ingest.max_name_len,
        max_tags: state.settings.ingest.max_tags,
    }
}

fn invalid(problems: Vec<FieldProblem>) -> ApiError {
    let summary = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.reason))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::validation(summary, json!({ "fields": problems }))
}

fn stale(current: i64) -> ApiError {
    ApiError::conflict(
        "the dashboard was changed by someone else; reload it and apply your change again",
        json!({ "currentVersion": current }),
    )
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such dashboard".into())
}

fn can_see(principal: &Principal, dashboard: &Dashboard) -> bool {
    principal.is_admin() || dashboard.is_public || dashboard.owner_id == principal.user_id
}

/// 404 if the caller cannot see the dashboard, 403 if they see it but may not write.
fn check_write(principal: &Principal, dashboard: &Dashboard) -> Result<(), ApiError> {
    if !can_see(principal, dashboard) {
        return Err(not_found());
    }
    if principal.is_admin()
        || (dashboard.owner_id == principal.user_id && principal.role >= Role::Editor)
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the dashboard's owner (an editor) or an admin may change it".into(),
        ))
    }
}

/// The dashboard through the cache.
async fn load(state: &AppState, id: Uuid) -> Result<Option<Dashboard>, ApiError> {
    let key = state.redis.dashboard_key(&id);
    if let Some(cached) = state.redis.get(&key).await {
        if let Ok(dashboard) = serde_json::from_str::<Dashboard>(&cached) {
            return Ok(Some(dashboard));
        }
    }
    let Some(dashboard) = dashboards::get(&state.pg, id).await? else {
        return Ok(None);
    };
    if let Ok(json) = serde_json::to_string(&dashboard) {
        state
            .redis
            .set_ex(&key, &json, state.settings.dashboards.cache_ttl)
            .await;
    }
    Ok(Some(dashboard))
}

/// Loads a dashboard the caller may write, or says why not.
async fn load_writable(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<Dashboard, ApiError> {
    principal.require(Role::Editor)?;
    let dashboard = load(state, id).await?.ok_or_else(not_found)?;
    check_write(principal, &dashboard)?;
    Ok(dashboard)
}

async fn invalidate(state: &AppState, id: Uuid) {
    if !state.redis.del(&[state.redis.dashboard_key(&id)]).await {
        tracing::warn!(dashboard = %id, "Could not drop a changed dashboard from the Redis cache; it expires within dashboards.cache_ttl.");
    }
}

async fn fresh(state: &AppState, id: Uuid) -> Result<Dashboard, ApiError> {
    invalidate(state, id).await;
    load(state, id).await?.ok_or_else(not_found)
}

#[utoipa::path(get, path = "/api/v1/dashboards", tag = "dashboards",
    params(Page),
    responses(
        (status = 200, description = "Dashboards the caller can see, newest first; meta has total, page, pageSize", body = super::openapi::DashboardList),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
    ))]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let max = state.settings.dashboards.max_page_size as u32;
    let page_size = page.page_size.unwrap_or(50).clamp(1, max);
    let number = page.page.unwrap_or(1).max(1);
    let viewer = (!principal.is_admin()).then_some(principal.user_id);
    let (items, total) = dashboards::list(
        &state.pg,
        viewer,
        page_size as i64,
        (number as i64 - 1) * page_size as i64,
    )
    .await?;
    Ok(HttpResponse::Ok().json(openapi::DashboardList {
        data: items,
        meta: openapi::ListMeta {
            total,
            page: Some(number),
            page_size: Some(page_size),
        },
    }))
}

#[utoipa::path(post, path = "/api/v1/dashboards", tag = "dashboards",
    request_body = CreateDashboard,
    responses(
        (status = 201, description = "Created, with its panels", body = super::openapi::DashboardBody),
        (status = 400, description = "Invalid fields, all listed in details.fields", body = super::openapi::ErrorBody),
        (status = 403, description = "Viewers cannot create dashboards", body = super::openapi::ErrorBody),
    ))]
pub async fn create(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<CreateDashboard>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Editor)?;
    check_new_dashboard(&body, &limits(&state)).map_err(invalid)?;
    let dashboard = dashboards::create(&state.pg, principal.user_id, &body).await?;
    tracing::info!(dashboard = %dashboard.id, owner = %principal.user_id, "Dashboard created.");
    Ok(HttpResponse::Created().json(openapi::DashboardBody { data: dashboard }))
}

#[utoipa::path(get, path = "/api/v1/dashboards/{id}", tag = "dashboards",
    params(("id" = Uuid, Path, description = "Dashboard id")),
    responses(
        (status = 200, description = "The dashboard with its panels and layout", body = super::openapi::DashboardBody),
        (status = 404, description = "No such dashboard, or not visible to the caller", body = super::openapi::ErrorBody),
    ))]
pub async fn get(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let dashboard = load(&state, *id)
        .await?
        .filter(|d| can_see(&principal, d))
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(openapi::DashboardBody { data: dashboard }))
}

#[utoipa::path(put, path = "/api/v1/dashboards/{id}", tag = "dashboards",
    params(("id" = Uuid, Path, description = "Dashboard id")),
    request_body = UpdateDashboard,
    responses(
        (status = 200, description = "Updated; the new version is in the body", body = super::openapi::DashboardBody),
        (status = 400, description = "Invalid fields or layout", body = super::openapi::ErrorBody),
        (status = 403, description = "Visible but not the caller's to change", body = super::openapi::ErrorBody),
        (status = 404, description = "No such dashboard, or not visible", body = super::openapi::ErrorBody),
        (status = 409, description = "Stale version; details.currentVersion", body = super::openapi::ErrorBody),
    ))]
pub async fn update(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<UpdateDashboard>,
) -> Result<HttpResponse, ApiError> {
    load_writable(&state, &principal, *id).await?;
    let mut problems = Problems::default();
    if let Some(name) = &body.name {
        problems.name("name", name);
    }
    if let Some(description) = &body.description {
        problems.description("description", description);
    }
    if let Some(variables) = &body.variables {
        problems.variables("variables", variables, &limits(&state));
    }
    if let Some(settings) = &body.settings {
        problems.settings("settings", settings);
    }
    if let Some(layout) = &body.layout {
        let mut seen = std::collections::HashSet::new();
        for (i, item) in layout.iter().enumerate() {
            problems.position(&format!("layout[{i}]"), &item.position());
            if !seen.insert(item.i) {
                problems.add(format!("layout[{i}].i"), "lists a panel twice");
            }
        }
    }
    problems.into_result().map_err(invalid)?;
    match dashboards::update(&state.pg, *id, &body).await? {
        Versioned::Done(()) => {}
        Versioned::Stale(current) => return Err(stale(current)),
        Versioned::NotFound => return Err(not_found()),
        Versioned::UnknownPanels(unknown) => {
            return Err(ApiError::validation(
                "the layout names panels that are not on this dashboard",
                json!({"fields": [{"field": "layout", "reason": "unknown panel ids"}], "unknownPanels": unknown}),
            ))
        }
    }
    let dashboard = fresh(&state, *id).await?;
    Ok(HttpResponse::Ok().json(openapi::DashboardBody { data: dashboard }))
}

#[utoipa::path(delete, path = "/api/v1/dashboards/{id}", tag = "dashboards",
    params(("id" = Uuid, Path, description = "Dashboard id")),
    responses(
        (status = 204, description = "Deleted with its panels"),
        (status = 403, description = "Visible but not the caller's to delete", body = super::openapi::ErrorBody),
        (status = 404, description = "No such dashboard, or not visible", body = super::openapi::ErrorBody),
    ))]
pub async fn delete(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    load_writable(&state, &principal, *id).await?;
    let deleted = dashboards::delete(&state.pg, *id).await?;
    invalidate(&state, *id).await;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found())
    }
}

#[utoipa::path(post, path = "/api/v1/dashboards/{id}/panels", tag = "dashboards",
    params(("id" = Uuid, Path, description = "Dashboard id")),
    request_body = PanelInput,
    responses(
        (status = 201, description = "Added; meta.dashboardVersion is the dashboard's new version", body = super::openapi::PanelBody),
        (status = 400, description = "Invalid fields, all listed", body = super::openapi::ErrorBody),
        (status = 403, description = "Not the caller's dashboard", body = super::openapi::ErrorBody),
        (status = 404, description = "No such dashboard, or not visible", body = super::openapi::ErrorBody),
        (status = 409, description = "Stale version", body = super::openapi::ErrorBody),
    ))]
pub async fn add_panel(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<PanelInput>,
) -> Result<HttpResponse, ApiError> {
    load_writable(&state, &principal, *id).await?;
    let limits = limits(&state);
    let mut problems = Problems::default();
    problems.panel("panel", &body, &limits);
    problems.into_result().map_err(invalid)?;
    if dashboards::panel_count(&state.pg, *id).await? >= limits.max_panels as i64 {
        return Err(invalid(vec![FieldProblem {
            field: "panels".into(),
            reason: format!("the dashboard already has {} panels", limits.max_panels),
        }]));
    }
    let outcome = dashboards::add_panel(&state.pg, *id, &body).await?;
    invalidate(&state, *id).await;
    let (panel, version) = settle(outcome)?;
    Ok(HttpResponse::Created().json(panel_body(panel, version)))
}

#[utoipa::path(put, path = "/api/v1/dashboards/{id}/panels/{panelId}", tag = "dashboards",
    params(("id" = Uuid, Path, description = "Dashboard id"), ("panelId" = Uuid, Path, description = "Panel id")),
    request_body = PanelInput,
    responses(
        (status = 200, description = "Replaced; meta.dashboardVersion is the dashboard's new version", body = super::openapi::PanelBody),
        (status = 400, description = "Invalid fields, all listed", body = super::openapi::ErrorBody),
        (status = 403, description = "Not the caller's dashboard", body = super::openapi::ErrorBody),
        (status = 404, description = "No such dashboard or panel", body = super::openapi::ErrorBody),
        (status = 409, description = "Stale version", body = super::openapi::ErrorBody),
    ))]
pub async fn update_panel(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<PanelInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, panel_id) = path.into_inner();
    load_writable(&state, &principal, id).await?;
    let mut problems = Problems::default();
    problems.panel("panel", &body, &limits(&state));
    problems.into_result().map_err(invalid)?;
    let outcome = dashboards::update_panel(&state.pg, id, panel_id, &body).await?;
    invalidate(&state, id).await;
    let (panel, version) = settle(outcome)?;
    Ok(HttpResponse::Ok().json(panel_body(panel, version)))
}

#[utoipa::path(delete, path = "/api/v1/dashboards/{id}/panels/{panelId}", tag = "dashboards",
    params(("id" = Uuid, Path, description = "Dashboard id"), ("panelId" = Uuid, Path, description = "Panel id"), ExpectedVersion),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not the caller's dashboard", body = super::openapi::ErrorBody),
        (status = 404, description = "No such dashboard or panel", body = super::openapi::ErrorBody),
        (status = 409, description = "Stale version", body = super::openapi::ErrorBody),
    ))]
pub async fn delete_panel(
    principal: Principal,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    expected: web::Query<ExpectedVersion>,
) -> Result<HttpResponse, ApiError> {
    let (id, panel_id) = path.into_inner();
    load_writable(&state, &principal, id).await?;
    let outcome = dashboards::delete_panel(&state.pg, id, panel_id, expected.version).await?;
    invalidate(&state, id).await;
    settle(outcome)?;
    Ok(HttpResponse::NoContent().finish())
}

fn settle<T>(outcome: Versioned<T>) -> Result<T, ApiError> {
    match outcome {
        Versioned::Done(value) => Ok(value),
        Versioned::Stale(current) => Err(stale(current)),
        Versioned::NotFound | Versioned::UnknownPanels(_) => {
            Err(ApiError::NotFound("no such dashboard or panel".into()))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/dashboards/{id}/export", tag = "dashboards",
    params(("id" = Uuid, Path, description = "Dashboard id")),
    responses(
        (status = 200, description = "The portable document (no ids, owner or times)", body = super::openapi::ExportBody),
        (status = 404, description = "No such dashboard, or not visible", body = super::openapi::ErrorBody),
    ))]
pub async fn export(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let dashboard = load(&state, *id)
        .await?
        .filter(|d| can_see(&principal, d))
        .ok_or_else(not_found)?;
    let document = DashboardExport {
        schema_version: EXPORT_SCHEMA_VERSION,
        name: dashboard.name,
        description: dashboard.description,
        panels: dashboard
            .panels
            .into_iter()
            .map(|p| PanelInput {
                title: p.title,
                panel_type: p.panel_type,
                query: p.query,
                options: p.options,
                position: p.position,
                version: None,
            })
            .collect(),
        variables: dashboard.variables,
        settings: dashboard.settings,
    };
    Ok(HttpResponse::Ok().json(openapi::ExportBody { data: document }))
}

#[utoipa::path(post, path = "/api/v1/dashboards/import", tag = "dashboards",
    request_body = DashboardExport,
    responses(
        (status = 201, description = "A new private dashboard owned by the caller", body = super::openapi::DashboardBody),
        (status = 400, description = "Unknown schemaVersion or invalid fields", body = super::openapi::ErrorBody),
        (status = 403, description = "Viewers cannot create dashboards", body = super::openapi::ErrorBody),
    ))]
pub async fn import(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<DashboardExport>,
) -> Result<HttpResponse, ApiError> {
    if body.schema_version != EXPORT_SCHEMA_VERSION {
        return Err(invalid(vec![FieldProblem {
            field: "schemaVersion".into(),
            reason: format!("this Vigil reads version {EXPORT_SCHEMA_VERSION}"),
        }]));
    }
    let body = body.into_inner();
    create(
        principal,
        state,
        web::Json(CreateDashboard {
            name: body.name,
            description: body.description,
            is_public: false,
            panels: body.panels,
            variables: body.variables,
            settings: body.settings,
        }),
    )
    .await
}

fn panel_body(panel: Panel, version: i64) -> openapi::PanelBody {
    openapi::PanelBody {
        data: panel,
        meta: openapi::PanelMeta {
            dashboard_version: version,
        },
    }
}
