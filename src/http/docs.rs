//! Browsable API docs at `/api/docs`: Swagger UI over `/api/openapi.json`. Its files
//! are vendored in `assets/swagger-ui/` and compiled into the binary, so the docs
//! work on a machine without network and nothing is fetched at build time.

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{web, HttpResponse};

use super::error::ApiError;

/// The files served under `/api/docs/`, by name: nothing else is reachable.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/init.js"),
    ),
];

const INDEX: &str = include_str!("../../assets/swagger-ui/index.html");

#[utoipa::path(get, path = "/api/docs", tag = "meta", security(()),
    responses((status = 200, description = "Swagger UI over this server's OpenAPI document", content_type = "text/html")))]
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(INDEX)
}

#[utoipa::path(get, path = "/api/docs/{file}", tag = "meta", security(()),
    params(("file" = String, Path, description = "swagger-ui-bundle.js, swagger-ui.css or init.js")),
    responses(
        (status = 200, description = "A vendored Swagger UI file"),
        (status = 404, description = "Not one of the docs files", body = super::openapi::ErrorBody),
    ))]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no docs file {:?}", file.as_str())))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(3600),
        ]))
        .body(*body))
}
