//! The HTTP API. One file per resource; handlers decode, call an actor or the store,
//! and map the result. Every route is listed in [`configure`].

pub mod alerts;
pub mod auth;
pub mod catalog;
pub mod dashboards;
pub mod docs;
pub mod error;
pub mod health;
pub mod influx;
pub mod ingest;
pub mod openapi;
pub mod payload;
pub mod prom_api;
pub mod prometheus;
pub mod query;
pub mod remote_write;
pub mod tokens;
pub mod trace;
pub mod ui;
pub mod users;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};
use sqlx::PgPool;

use crate::actors::{ActorPool, IngestActor, QueryRouterActor};
use crate::auth::{Credentials, RateLimiter};
use crate::config::Settings;
use crate::store::redis::RedisStore;
use crate::telemetry::Metrics;
use error::ApiError;

/// What handlers share; built once in `app.rs`.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub pg: PgPool,
    pub redis: RedisStore,
    pub ingest: ActorPool<IngestActor>,
    pub query: ActorPool<QueryRouterActor>,
    /// Ingest requests in flight; a request that finds none left gets 503 before its
    /// body is read, so overload cannot pile bodies up in memory.
    pub ingest_permits: Arc<tokio::sync::Semaphore>,
    pub credentials: Credentials,
    pub limiter: RateLimiter,
}

/// One mounted route.
pub struct Mounted {
    pub method: Method,
    pub path: &'static str,
    route: actix_web::Route,
}

fn at<F, Args>(method: Method, path: &'static str, handler: F) -> Mounted
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Mounted {
        route: web::route().method(method.clone()).to(handler),
        method,
        path,
    }
}

/// Every route of the server, in one table: [`configure`] mounts exactly these, and
/// a test checks that the OpenAPI document describes exactly these.
pub fn routes() -> Vec<Mounted> {
    use Method as M;
    vec![
        at(M::GET, "/health", health::health),
        at(M::GET, "/metrics", prometheus::metrics),
        at(M::GET, "/api/openapi.json", openapi::openapi_json),
        at(M::GET, "/api/docs", docs::index),
        at(M::GET, "/api/docs/{file}", docs::asset),
        at(M::POST, "/api/v1/metrics", ingest::ingest),
        at(M::GET, "/api/v1/metrics", catalog::list_metrics),
        at(M::GET, "/api/v1/metrics/{name}/tags", catalog::metric_tags),
        at(M::POST, "/api/v1/query", query::query),
        at(M::POST, "/api/v1/query/batch", query::batch),
        at(M::POST, "/api/v1/auth/login", auth::login),
        at(M::POST, "/api/v1/auth/logout", auth::logout),
        at(M::GET, "/api/v1/auth/me", auth::me),
        at(M::GET, "/api/v1/auth/tokens", tokens::list_tokens),
        at(M::POST, "/api/v1/auth/tokens", tokens::create_token),
        at(M::DELETE, "/api/v1/auth/tokens/{id}", tokens::delete_token),
        at(M::GET, "/api/v1/users", users::list_users),
        at(M::POST, "/api/v1/users", users::create_user),
        at(M::PATCH, "/api/v1/users/{id}", users::update_user),
        at(M::DELETE, "/api/v1/users/{id}", users::delete_user),
        at(M::GET, "/api/v1/dashboards", dashboards::list),
        at(M::POST, "/api/v1/dashboards", dashboards::create),
        at(M::POST, "/api/v1/dashboards/import", dashboards::import),
        at(M::GET, "/api/v1/dashboards/{id}", dashboards::get),
        at(M::PUT, "/api/v1/dashboards/{id}", dashboards::update),
        at(M::DELETE, "/api/v1/dashboards/{id}", dashboards::delete),
        at(M::GET, "/api/v1/dashboards/{id}/export", dashboards::export),
        at(
            M::POST,
            "/api/v1/dashboards/{id}/panels",
            dashboards::add_panel,
        ),
        at(
            M::PUT,
            "/api/v1/dashboards/{id}/panels/{panelId}",
            dashboards::update_panel,
        ),
        at(
            M::DELETE,
            "/api/v1/dashboards/{id}/panels/{panelId}",
            dashboards::delete_panel,
        ),
        // --- alerting ---
        at(M::GET, "/api/v1/alerts/rules", alerts::list_rules),
        at(M::POST, "/api/v1/alerts/rules", alerts::create_rule),
        at(
            M::POST,
            "/api/v1/alerts/rules/evaluate",
            alerts::evaluate_draft,
        ),
        at(M::GET, "/api/v1/alerts/rules/{id}", alerts::get_rule),
        at(M::PUT, "/api/v1/alerts/rules/{id}", alerts::update_rule),
        at(M::DELETE, "/api/v1/alerts/rules/{id}", alerts::delete_rule),
        at(
            M::POST,
            "/api/v1/alerts/rules/{id}/evaluate",
            alerts::evaluate_rule,
        ),
        at(M::GET, "/api/v1/alerts/history", alerts::history),
        at(M::GET, "/api/v1/alerts/silences", alerts::list_silences),
        at(M::POST, "/api/v1/alerts/silences", alerts::create_silence),
        at(
            M::DELETE,
            "/api/v1/alerts/silences/{id}",
            alerts::delete_silence,
        ),
        // --- remote_write and line protocol ingest ---
        at(M::POST, "/api/v1/write", remote_write::write),
        at(
            M::POST,
            "/prometheus/api/v1/write",
            remote_write::write_prefixed,
        ),
        at(M::POST, "/write", influx::write_v1),
        at(M::POST, "/api/v2/write", influx::write_v2),
        at(M::POST, "/query", influx::query_post),
        at(M::GET, "/query", influx::query_get),
        at(M::GET, "/ping", influx::ping),
        // --- Prometheus query API ---
        at(M::GET, "/prometheus/api/v1/query", prom_api::query),
        at(M::POST, "/prometheus/api/v1/query", prom_api::query_post),
        at(
            M::GET,
            "/prometheus/api/v1/query_range",
            prom_api::query_range,
        ),
        at(
            M::POST,
            "/prometheus/api/v1/query_range",
            prom_api::query_range_post,
        ),
        at(M::GET, "/prometheus/api/v1/series", prom_api::series),
        at(M::POST, "/prometheus/api/v1/series", prom_api::series_post),
        at(M::GET, "/prometheus/api/v1/labels", prom_api::labels),
        at(M::POST, "/prometheus/api/v1/labels", prom_api::labels_post),
        at(
            M::GET,
            "/prometheus/api/v1/label/{name}/values",
            prom_api::label_values,
        ),
        at(M::GET, "/prometheus/api/v1/metadata", prom_api::metadata),
        at(
            M::GET,
            "/prometheus/api/v1/status/buildinfo",
            prom_api::buildinfo,
        ),
        at(M::GET, "/prometheus/api/v1/rules", prom_api::rules),
        at(M::GET, "/prometheus/api/v1/alerts", prom_api::alerts),
        at(
            M::GET,
            "/prometheus/api/v1/query_exemplars",
            prom_api::query_exemplars,
        ),
        at(
            M::POST,
            "/prometheus/api/v1/query_exemplars",
            prom_api::query_exemplars_post,
        ),
    ]
}

/// The methods mounted on `path` (a request path), HEAD included where GET is, in a
/// fixed order; empty when no route has that path.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    // A literal route wins over a template that also matches (`/dashboards/import`
    // is not a dashboard id), as in the router.
    let literal = literal_methods(path);
    if !literal.is_empty() {
        return literal;
    }
    methods_where(|template| template_matches(template, path))
}

/// The methods of the routes whose path is exactly `path`, without parameters.
fn literal_methods(path: &str) -> Vec<&'static str> {
    methods_where(|template| template == path)
}

fn methods_where(matches: impl Fn(&str) -> bool) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = Vec::new();
    for mounted in routes() {
        if matches(mounted.path) {
            let name = method_name(&mounted.method);
            if !methods.contains(&name) {
                methods.push(name);
            }
        }
    }
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    const ORDER: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    methods.sort_by_key(|m| ORDER.iter().position(|o| o == m));
    methods
}

fn method_name(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method as M;
    match *method {
        M::GET => "GET",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        _ => "OPTIONS",
    }
}

/// `/api/v1/dashboards/{id}` matches `/api/v1/dashboards/abc`: a `{name}` segment
/// stands for one non-empty segment.
fn template_matches(template: &str, path: &str) -> bool {
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// Mounts every route of [`routes`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1024 * 1024)
            .error_handler(|err, _| {
                ApiError::validation(format!("invalid JSON body: {err}"), serde_json::Value::Null)
                    .into()
            }),
    )
    .app_data(web::PathConfig::default().error_handler(|err, req| {
        // `PUT /api/v1/dashboards/import` reaches the `{id}` route and fails to parse
        // "import" as an id; but the path is a route of its own, without PUT.
        let literal = literal_methods(req.path());
        if !literal.is_empty() {
            return ApiError::MethodNotAllowed {
                message: format!(
                    "{} is not allowed on {}; allowed: {}",
                    req.method(),
                    req.path(),
                    literal.join(", ")
                ),
                allow: literal.join(", "),
            }
            .into();
        }
        ApiError::validation(err.to_string(), serde_json::Value::Null).into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|err, _| {
        ApiError::validation(err.to_string(), serde_json::Value::Null).into()
    }));
    for mounted in routes() {
        cfg.route(mounted.path, mounted.route);
    }
    // The web UI answers the GETs no route took; everything else gets the API's 404.
    cfg.default_service(web::to(ui::fallback));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        assert!(template_matches(
            "/api/v1/dashboards/{id}",
            "/api/v1/dashboards/x"
        ));
        assert!(!template_matches(
            "/api/v1/dashboards/{id}",
            "/api/v1/dashboards/"
        ));
        assert!(!template_matches(
            "/api/v1/dashboards/{id}",
            "/api/v1/dashboards/x/y"
        ));
        assert!(template_matches("/health", "/health"));
        assert!(!template_matches("/health", "/healthz"));
    }

    #[test]
    fn a_known_path_lists_its_methods_and_an_unknown_one_none() {
        assert_eq!(allowed_methods("/api/v1/query"), vec!["POST"]);
        assert_eq!(allowed_methods("/health"), vec!["GET", "HEAD"]);
        let dashboard = allowed_methods("/api/v1/dashboards/7f0c");
        assert!(
            dashboard.contains(&"GET")
                && dashboard.contains(&"PUT")
                && dashboard.contains(&"DELETE")
        );
        assert!(allowed_methods("/api/v1/nothing-here").is_empty());
        assert_eq!(literal_methods("/api/v1/dashboards/import"), vec!["POST"]);
        assert_eq!(allowed_methods("/api/v1/dashboards/import"), vec!["POST"]);
        assert!(literal_methods("/api/v1/dashboards/7f0c").is_empty());
    }
}
