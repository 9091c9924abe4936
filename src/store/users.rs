//! Users, by id and by email (case-insensitive).

use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::model::{Email, Role, User};

#[derive(Debug, thiserror::Error)]
pub enum UserStoreError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub struct NewUser {
    pub email: Email,
    pub password_hash: String,
    pub role: Role,
}

/// What a login needs: the user and the stored hash.
pub struct LoginRecord {
    pub user: User,
    pub password_hash: String,
}

fn user_from(row: &sqlx::postgres::PgRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode("unknown role".into()))?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn count(pg: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(pg)
        .await
}

pub async fn create(pg: &PgPool, new: &NewUser) -> Result<User, UserStoreError> {
    let row = sqlx::query(
        "INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT ((lower(email))) DO NOTHING
         RETURNING id, email, role, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(new.email.as_str())
    .bind(&new.password_hash)
    .bind(new.role.as_str())
    .fetch_optional(pg)
    .await?;
    match row {
        Some(row) => Ok(user_from(&row)?),
        None => Err(UserStoreError::EmailTaken),
    }
}

pub async fn find_for_login(pg: &PgPool, email: &str) -> Result<Option<LoginRecord>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, email, role, created_at, password_hash FROM users
         WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pg)
    .await?;
    row.map(|row| {
        Ok(LoginRecord {
            user: user_from(&row)?,
            password_hash: row.try_get("password_hash")?,
        })
    })
    .transpose()
}

pub async fn get(pg: &PgPool, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email, role, created_at FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pg)
        .await?;
    row.as_ref().map(user_from).transpose()
}

pub async fn list(pg: &PgPool) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, email, role, created_at FROM users ORDER BY lower(email)")
        .fetch_all(pg)
        .await?;
    rows.iter().map(user_from).collect()
}

/// Changes a role; refuses (returns `Ok(None)`) to demote the last admin, checked in
/// the same statement so two concurrent demotions cannot both pass.
pub async fn set_role(pg: &PgPool, id: Uuid, role: Role) -> Result<RoleChange, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE users SET role = $2, updated_at = now()
         WHERE id = $1
           AND ($2 = 'admin' OR role <> 'admin'
                OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)
         RETURNING id, email, role, created_at",
    )
    .bind(id)
    .bind(role.as_str())
    .fetch_optional(pg)
    .await?;
    match row {
        Some(row) => Ok(RoleChange::Changed(user_from(&row)?)),
        None if get(pg, id).await?.is_some() => Ok(RoleChange::LastAdmin),
        None => Ok(RoleChange::NotFound),
    }
}

pub enum RoleChange {
    Changed(User),
    LastAdmin,
    NotFound,
}

/// Deletes a user (their sessions, tokens and dashboards go with them), unless it is
/// the last admin.
pub async fn delete(pg: &PgPool, id: Uuid) -> Result<RoleChange, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM users WHERE id = $1
           AND (role <> 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)
         RETURNING id, email, role, created_at",
    )
    .bind(id)
    .fetch_optional(pg)
    .await?;
    match row {
        Some(row) => Ok(RoleChange::Changed(user_from(&row)?)),
        None if get(pg, id).await?.is_some() => Ok(RoleChange::LastAdmin),
        None => Ok(RoleChange::NotFound),
    }
}
