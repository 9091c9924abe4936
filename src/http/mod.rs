//! The HTTP API. One file per resource; handlers decode, call an actor or the store,
//! and map the result. Every route is listed in [`configure`].

pub mod alerts;
pub mod catalog;
pub mod error;
pub mod health;
pub mod ingest;
pub mod openapi;
pub mod payload;
pub mod prometheus;
pub mod query;

use std::sync::Arc;

use actix_web::web;
use sqlx::PgPool;

use crate::actors::{ActorPool, IngestActor, QueryRouterActor};
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
}

/// Every route of the server.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1024 * 1024)
            .error_handler(|err, _| {
                ApiError::validation(format!("invalid JSON body: {err}"), serde_json::Value::Null)
                    .into()
            }),
    )
    .app_data(web::PathConfig::default().error_handler(|err, _| {
        ApiError::validation(err.to_string(), serde_json::Value::Null).into()
    }))
    .route("/health", web::get().to(health::health))
    .route("/metrics", web::get().to(prometheus::metrics))
    .route("/api/openapi.json", web::get().to(openapi::openapi_json))
    .service(
        web::scope("/api/v1")
            .route("/metrics", web::post().to(ingest::ingest))
            .route("/metrics", web::get().to(catalog::list_metrics))
            .route("/metrics/{name}/tags", web::get().to(catalog::metric_tags))
            .route("/query", web::post().to(query::query))
            // --- alerting (issue 5) ---
            .configure(alerts::configure),
    )
    .default_service(web::to(error::not_found));
}
