//! Sessions and API tokens, looked up by the SHA-256 digest of their secret.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::model::Role;

/// A session or token joined with its user, as authentication needs it.
pub struct CredentialRecord {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    /// `session`, `personal` or `ingest`.
    pub kind: String,
    /// The token's id (the nil id for sessions).
    pub token_id: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

fn record_from(row: &sqlx::postgres::PgRow) -> Result<CredentialRecord, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(CredentialRecord {
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode("unknown role".into()))?,
        kind: row.try_get("kind")?,
        token_id: row.try_get("token_id")?,
        expires_at: row.try_get("expires_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

pub async fn create_session(
    pg: &PgPool,
    digest: &[u8; 32],
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(&digest[..])
        .bind(user_id)
        .bind(expires_at)
        .execute(pg)
        .await?;
    Ok(())
}

pub async fn find_session(
    pg: &PgPool,
    digest: &[u8; 32],
) -> Result<Option<CredentialRecord>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.user_id, u.email, u.role, 'session' AS kind,
                '00000000-0000-0000-0000-000000000000'::uuid AS token_id,
                s.expires_at, s.last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1",
    )
    .bind(&digest[..])
    .fetch_optional(pg)
    .await?;
    row.as_ref().map(record_from).transpose()
}

/// Records activity on a session (for the idle timeout).
pub async fn touch_session(pg: &PgPool, digest: &[u8; 32]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1")
        .bind(&digest[..])
        .execute(pg)
        .await?;
    Ok(())
}

pub async fn delete_session(pg: &PgPool, digest: &[u8; 32]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(&digest[..])
        .execute(pg)
        .await?;
    Ok(())
}

/// Removes sessions past their absolute expiry or idle for longer than `idle`.
pub async fn purge_sessions(pg: &PgPool, idle: std::time::Duration) -> Result<u64, sqlx::Error> {
    let idle_secs = idle.as_secs_f64();
    let done = sqlx::query(
        "DELETE FROM sessions
         WHERE expires_at < now() OR last_seen_at < now() - make_interval(secs => $1)",
    )
    .bind(idle_secs)
    .execute(pg)
    .await?;
    Ok(done.rows_affected())
}

/// Digests of every session and token of a user, to drop them from the cache when
/// the user's role changes or the user is deleted.
pub async fn digests_of_user(pg: &PgPool, user_id: Uuid) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT token_hash FROM sessions WHERE user_id = $1
         UNION ALL SELECT token_hash FROM api_tokens WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(pg)
    .await
}

/// An API token as its owner sees it (never the secret, which is shown once).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// `personal` (acts with the owner's role) or `ingest` (may only write points).
    pub kind: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the token was last resolved from the database: exact to
    /// `auth.credential_cache_ttl`, as uses within that time are served by the cache.
    pub last_used_at: Option<DateTime<Utc>>,
}

fn token_from(row: &sqlx::postgres::PgRow) -> Result<TokenInfo, sqlx::Error> {
    Ok(TokenInfo {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

pub struct NewToken<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub kind: &'a str,
    pub digest: &'a [u8; 32],
    pub prefix: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create_token(pg: &PgPool, new: &NewToken<'_>) -> Result<TokenInfo, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, kind, token_hash, prefix, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, user_id, name, kind, prefix, created_at, expires_at, last_used_at",
    )
    .bind(Uuid::new_v4())
    .bind(new.user_id)
    .bind(new.name)
    .bind(new.kind)
    .bind(&new.digest[..])
    .bind(new.prefix)
    .bind(new.expires_at)
    .fetch_one(pg)
    .await?;
    token_from(&row)
}

pub async fn find_token(
    pg: &PgPool,
    digest: &[u8; 32],
) -> Result<Option<CredentialRecord>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.user_id, u.email, u.role, t.kind, t.id AS token_id,
                t.expires_at, NULL::timestamptz AS last_seen_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1",
    )
    .bind(&digest[..])
    .fetch_optional(pg)
    .await?;
    row.as_ref().map(record_from).transpose()
}

/// Records a use of a token (called on cache misses only).
pub async fn touch_token(pg: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1")
        .bind(id)
        .execute(pg)
        .await?;
    Ok(())
}

/// Tokens of one user, or of everyone (`None`, for admins).
pub async fn list_tokens(
    pg: &PgPool,
    user_id: Option<Uuid>,
) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, user_id, name, kind, prefix, created_at, expires_at, last_used_at
         FROM api_tokens
         WHERE $1::uuid IS NULL OR user_id = $1 ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(pg)
    .await?;
    rows.iter().map(token_from).collect()
}

/// Deletes a token, if `owner` owns it (or `owner` is `None`, for admins). Returns
/// the digest, to drop it from the cache.
pub async fn delete_token(
    pg: &PgPool,
    id: Uuid,
    owner: Option<Uuid>,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM api_tokens WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)
         RETURNING token_hash",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(pg)
    .await
}
