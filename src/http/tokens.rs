//! `GET/POST /api/v1/auth/tokens`, `DELETE /api/v1/auth/tokens/{id}`: personal API
//! tokens (act with their owner's role) and ingest keys (may only write points; admins
//! create them). The secret is in the creation response only; Vigil keeps its digest.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Principal;
use super::error::ApiError;
use super::openapi::{CreatedTokenBody, ListMeta, TokenList};
use super::AppState;
use crate::auth::secret;
use crate::model::Role;
use crate::store::credentials::{self, NewToken, TokenInfo};

/// Longest token name.
const MAX_NAME_LEN: usize = 100;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Personal,
    Ingest,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// 1 to 100 characters, not all blank.
    #[schema(pattern = "\\S", max_length = 100)]
    pub name: String,
    pub kind: TokenKind,
    /// Optional expiry; without it the token works until deleted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new token with its secret, shown only in this response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    /// Send as `Authorization: Bearer <token>`. Not retrievable later.
    pub token: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTokens {
    /// Admins only: list every user's tokens.
    pub all: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth",
    params(ListTokens),
    responses(
        (status = 200, description = "The caller's tokens (secrets are never listed)", body = super::openapi::TokenList),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
    ))]
pub async fn list_tokens(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<ListTokens>,
) -> Result<HttpResponse, ApiError> {
    let owner = if query.all.unwrap_or(false) {
        principal.require(Role::Admin)?;
        None
    } else {
        Some(principal.user_id)
    };
    let tokens = credentials::list_tokens(&state.pg, owner).await?;
    Ok(HttpResponse::Ok().json(TokenList {
        meta: ListMeta::total(tokens.len()),
        data: tokens,
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth",
    request_body = CreateToken,
    responses(
        (status = 201, description = "Created; the secret is in `token`, shown once", body = super::openapi::CreatedTokenBody),
        (status = 400, description = "Invalid field", body = super::openapi::ErrorBody),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
        (status = 403, description = "Ingest keys are created by admins", body = super::openapi::ErrorBody),
    ))]
pub async fn create_token(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<CreateToken>,
) -> Result<HttpResponse, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::validation(
            format!("name must be 1 to {MAX_NAME_LEN} characters"),
            json!({"fields": [{"field": "name", "reason": "length"}]}),
        ));
    }
    if body.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::validation(
            "expiresAt must be in the future",
            json!({"fields": [{"field": "expiresAt", "reason": "in the past"}]}),
        ));
    }
    let (kind, prefix) = match body.kind {
        TokenKind::Personal => ("personal", secret::PERSONAL_PREFIX),
        TokenKind::Ingest => {
            principal.require(Role::Admin)?;
            ("ingest", secret::INGEST_PREFIX)
        }
    };
    let token = secret::new_api_token(prefix);
    let info = credentials::create_token(
        &state.pg,
        &NewToken {
            user_id: principal.user_id,
            name,
            kind,
            digest: &secret::digest(&token),
            prefix: &token[..prefix.len() + 6],
            expires_at: body.expires_at,
        },
    )
    .await?;
    tracing::info!(user = %principal.user_id, token = %info.id, kind, "API token created.");
    Ok(HttpResponse::Created().json(CreatedTokenBody {
        data: CreatedToken { info, token },
    }))
}

#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Deleted; the token stops working at once"),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
        (status = 404, description = "No such token of yours", body = super::openapi::ErrorBody),
    ))]
pub async fn delete_token(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let owner = (!principal.is_admin()).then_some(principal.user_id);
    match credentials::delete_token(&state.pg, *id, owner).await? {
        Some(digest) => {
            state.credentials.forget(&[digest]).await;
            Ok(HttpResponse::NoContent().finish())
        }
        None => Err(ApiError::NotFound("no such token".into())),
    }
}
