//! `GET/POST /api/v1/users`, `PATCH/DELETE /api/v1/users/{id}`: user administration,
//! for admins only. The last admin cannot be demoted or deleted (409), so an install
//! cannot lock itself out.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Principal;
use super::error::ApiError;
use super::openapi::{ListMeta, UserBody, UserList};
use super::AppState;
use crate::auth::password;
use crate::model::{Email, Role};
use crate::store::users::{self, NewUser, RoleChange, UserStoreError};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^\\s@\\u0000-\\u001f\\u007f-\\u009f]+@[^\\s@\\u0000-\\u001f\\u007f-\\u009f]+\\s*$"
    )]
    pub email: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub role: Role,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses(
        (status = 200, description = "Every user", body = super::openapi::UserList),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
        (status = 403, description = "Not an admin", body = super::openapi::ErrorBody),
    ))]
pub async fn list_users(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Admin)?;
    let all = users::list(&state.pg).await?;
    Ok(HttpResponse::Ok().json(UserList {
        meta: ListMeta::total(all.len()),
        data: all,
    }))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = super::openapi::UserBody),
        (status = 400, description = "Invalid email or password", body = super::openapi::ErrorBody),
        (status = 403, description = "Not an admin", body = super::openapi::ErrorBody),
        (status = 409, description = "The email is taken", body = super::openapi::ErrorBody),
    ))]
pub async fn create_user(
    principal: Principal,
    state: web::Data<AppState>,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Admin)?;
    let body = body.into_inner();
    let user = add_user(&state.pg, &body.email, body.password, body.role).await?;
    tracing::info!(admin = %principal.user_id, user = %user.id, role = %user.role, "User created.");
    Ok(HttpResponse::Created().json(UserBody { data: user }))
}

/// Validates and creates a user (also used by `vigil user add`).
pub async fn add_user(
    pg: &sqlx::PgPool,
    email: &str,
    plain: String,
    role: Role,
) -> Result<crate::model::User, ApiError> {
    let email = Email::parse(email).map_err(|reason| {
        ApiError::validation(
            format!("email: {reason}"),
            json!({"fields": [{"field": "email", "reason": reason}]}),
        )
    })?;
    let hash = web::block(move || password::hash(&plain))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            password::PasswordError::Hash(_) => ApiError::internal(e),
            other => ApiError::validation(
                format!("password: {other}"),
                json!({"fields": [{"field": "password", "reason": other.to_string()}]}),
            ),
        })?;
    match users::create(
        pg,
        &NewUser {
            email,
            password_hash: hash,
            role,
        },
    )
    .await
    {
        Ok(user) => Ok(user),
        Err(UserStoreError::EmailTaken) => Err(ApiError::conflict(
            "a user with this email already exists",
            json!({"field": "email"}),
        )),
        Err(UserStoreError::Database(error)) => Err(error.into()),
    }
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "Role changed; the user's sessions and tokens act with it at once", body = super::openapi::UserBody),
        (status = 403, description = "Not an admin", body = super::openapi::ErrorBody),
        (status = 404, description = "No such user", body = super::openapi::ErrorBody),
        (status = 409, description = "That would leave no admin", body = super::openapi::ErrorBody),
    ))]
pub async fn update_user(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Admin)?;
    let outcome = users::set_role(&state.pg, *id, body.role).await?;
    let user = settle(outcome)?;
    state.credentials.forget_user(user.id).await?;
    Ok(HttpResponse::Ok().json(UserBody { data: user }))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted with their sessions, tokens and dashboards"),
        (status = 403, description = "Not an admin", body = super::openapi::ErrorBody),
        (status = 404, description = "No such user", body = super::openapi::ErrorBody),
        (status = 409, description = "That would leave no admin", body = super::openapi::ErrorBody),
    ))]
pub async fn delete_user(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Role::Admin)?;
    // The digests are read before the rows cascade away.
    state.credentials.forget_user(*id).await?;
    settle(users::delete(&state.pg, *id).await?)?;
    Ok(HttpResponse::NoContent().finish())
}

fn settle(outcome: RoleChange) -> Result<crate::model::User, ApiError> {
    match outcome {
        RoleChange::Changed(user) => Ok(user),
        RoleChange::LastAdmin => Err(ApiError::conflict(
            "this is the last admin; make another user admin first",
            serde_json::Value::Null,
        )),
        RoleChange::NotFound => Err(ApiError::NotFound("no such user".into())),
    }
}
