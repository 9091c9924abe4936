//! `GET /metrics`: Prometheus text exposition.

use actix_web::{web, HttpResponse};

use super::AppState;

#[utoipa::path(get, path = "/metrics", tag = "meta", security(()),
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let size = state.pg.size() as i64;
    let idle = state.pg.num_idle() as i64;
    state
        .metrics
        .db_pool_connections
        .with_label_values(&["idle"])
        .set(idle);
    state
        .metrics
        .db_pool_connections
        .with_label_values(&["used"])
        .set(size - idle);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
