//! Resolves a session cookie or a bearer token to the user behind it.
//!
//! PostgreSQL holds the record; Redis caches the resolved credential for
//! `auth.credential_cache_ttl`, keyed by the secret's digest. Logout, token deletion,
//! role changes and user deletion delete the cached entries, so they take effect at
//! once. When Redis is down every request reads PostgreSQL: slower, but nobody is
//! logged out.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::secret;
use crate::config::AuthSettings;
use crate::model::Role;
use crate::store::credentials::{self as store, CredentialRecord};
use crate::store::redis::RedisStore;

/// How a request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    Session,
    Personal,
    Ingest,
}

/// A resolved, live credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    pub kind: CredentialKind,
    /// The API token's id; nil for sessions.
    pub token_id: Uuid,
    pub expires_at_ms: Option<i64>,
    /// Sessions: the last recorded activity, for the idle timeout.
    pub last_seen_ms: Option<i64>,
}

impl Credential {
    fn from_record(record: CredentialRecord) -> Option<Credential> {
        let kind = match record.kind.as_str() {
            "session" => CredentialKind::Session,
            "personal" => CredentialKind::Personal,
            "ingest" => CredentialKind::Ingest,
            _ => return None,
        };
        Some(Credential {
            user_id: record.user_id,
            email: record.email,
            role: record.role,
            kind,
            token_id: record.token_id,
            expires_at_ms: record.expires_at.map(|t| t.timestamp_millis()),
            last_seen_ms: record.last_seen_at.map(|t| t.timestamp_millis()),
        })
    }
}

#[derive(Clone)]
pub struct Credentials {
    pg: PgPool,
    redis: RedisStore,
    settings: AuthSettings,
}

impl Credentials {
    pub fn new(pg: PgPool, redis: RedisStore, settings: AuthSettings) -> Credentials {
        Credentials {
            pg,
            redis,
            settings,
        }
    }

    /// Session activity is written at most this often, so a busy dashboard does not
    /// write on every request; the idle timeout is therefore exact to this much.
    fn touch_every(&self) -> Duration {
        (self.settings.session_idle_timeout / 10).min(Duration::from_secs(60))
    }

    /// Starts a session; returns its secret (for the cookie) and absolute expiry.
    pub async fn start_session(
        &self,
        user_id: Uuid,
    ) -> Result<(String, DateTime<Utc>), sqlx::Error> {
        let token = secret::new_session_token();
        let expires_at = Utc::now()
            + chrono::Duration::from_std(self.settings.session_absolute_timeout)
                .unwrap_or(chrono::Duration::days(7));
        store::create_session(&self.pg, &secret::digest(&token), user_id, expires_at).await?;
        Ok((token, expires_at))
    }

    /// Ends a session: the record and the cached entry go, so the cookie stops working
    /// on the next request.
    pub async fn end_session(&self, token: &str) -> Result<(), sqlx::Error> {
        let digest = secret::digest(token);
        store::delete_session(&self.pg, &digest).await?;
        self.forget(&[digest.to_vec()]).await;
        Ok(())
    }

    /// The live session behind a cookie value, if any.
    pub async fn session(&self, token: &str) -> Result<Option<Credential>, sqlx::Error> {
        let digest = secret::digest(token);
        let now = Utc::now().timestamp_millis();
        let Some(mut credential) = self.lookup(&digest, CredentialKind::Session).await? else {
            return Ok(None);
        };
        if credential.kind != CredentialKind::Session {
            return Ok(None);
        }
        let last_seen = credential.last_seen_ms.unwrap_or(now);
        let idle_ms = self.settings.session_idle_timeout.as_millis() as i64;
        let expired = credential.expires_at_ms.is_some_and(|at| at <= now);
        if expired || now - last_seen > idle_ms {
            store::delete_session(&self.pg, &digest).await?;
            self.forget(&[digest.to_vec()]).await;
            return Ok(None);
        }
        if now - last_seen > self.touch_every().as_millis() as i64 {
            store::touch_session(&self.pg, &digest).await?;
            credential.last_seen_ms = Some(now);
            self.cache(&digest, &credential).await;
        }
        Ok(Some(credential))
    }

    /// The live API token behind a bearer value, if any.
    pub async fn token(&self, token: &str) -> Result<Option<Credential>, sqlx::Error> {
        if !(token.starts_with(secret::PERSONAL_PREFIX) || token.starts_with(secret::INGEST_PREFIX))
        {
            return Ok(None);
        }
        let digest = secret::digest(token);
        let Some(credential) = self.lookup(&digest, CredentialKind::Personal).await? else {
            return Ok(None);
        };
        let now = Utc::now().timestamp_millis();
        if credential.kind == CredentialKind::Session
            || credential.expires_at_ms.is_some_and(|at| at <= now)
        {
            return Ok(None);
        }
        Ok(Some(credential))
    }

    /// `table`: `Session` reads sessions, anything else API tokens.
    async fn lookup(
        &self,
        digest: &[u8; 32],
        table: CredentialKind,
    ) -> Result<Option<Credential>, sqlx::Error> {
        let key = self.redis.credential_key(&hex::encode(digest));
        if let Some(cached) = self.redis.get(&key).await {
            if let Ok(credential) = serde_json::from_str::<Credential>(&cached) {
                return Ok(Some(credential));
            }
        }
        let record = match table {
            CredentialKind::Session => store::find_session(&self.pg, digest).await?,
            _ => store::find_token(&self.pg, digest).await?,
        };
        let Some(credential) = record.and_then(Credential::from_record) else {
            return Ok(None);
        };
        if credential.kind != CredentialKind::Session {
            store::touch_token(&self.pg, credential.token_id).await?;
        }
        self.cache(digest, &credential).await;
        Ok(Some(credential))
    }

    async fn cache(&self, digest: &[u8; 32], credential: &Credential) {
        if let Ok(json) = serde_json::to_string(credential) {
            let key = self.redis.credential_key(&hex::encode(digest));
            self.redis
                .set_ex(&key, &json, self.settings.credential_cache_ttl)
                .await;
        }
    }

    /// Drops cached credentials by digest.
    pub async fn forget(&self, digests: &[Vec<u8>]) {
        let keys: Vec<String> = digests
            .iter()
            .map(|digest| self.redis.credential_key(&hex::encode(digest)))
            .collect();
        if !self.redis.del(&keys).await {
            tracing::warn!(
                entries = keys.len(),
                "Could not drop revoked credentials from the Redis cache; they expire within auth.credential_cache_ttl."
            );
        }
    }

    /// Drops every cached credential of a user (role change, deletion). Call before
    /// deleting the user: the digests are read from the database.
    pub async fn forget_user(&self, user_id: Uuid) -> Result<(), sqlx::Error> {
        let digests = store::digests_of_user(&self.pg, user_id).await?;
        self.forget(&digests).await;
        Ok(())
    }
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthorizationError(pub String);

/// The API token an `Authorization` header presents, in any of the forms clients
/// send: `Bearer <token>` (Vigil, Prometheus' `authorization`), `Token <token>`
/// (Influx clients and Telegraf's v2 output), and HTTP Basic with the token as the
/// password (Prometheus' `basic_auth`, Grafana, Telegraf's v1 output); Basic with an
/// empty password takes the user name as the token, as some clients put it there.
pub fn token_from_authorization(value: &str) -> Result<String, AuthorizationError> {
    let refuse = || {
        AuthorizationError(
            "the Authorization header must be `Bearer <API token>`, `Token <API token>` or Basic with the API token as the password".into(),
        )
    };
    let (scheme, rest) = value.trim().split_once(' ').ok_or_else(refuse)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(refuse());
    }
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        return Ok(rest.to_string());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refuse());
    }
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            AuthorizationError("the Basic credentials are not valid base64 of user:password".into())
        })?;
    let (user, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    let token = if password.is_empty() { user } else { password };
    if token.is_empty() {
        return Err(refuse());
    }
    Ok(token.to_string())
}

/// A millisecond timestamp as a date (for API responses).
pub fn millis_to_time(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn basic(user_password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_password)
        )
    }

    #[test]
    fn reads_every_header_form() {
        for header in [
            "Bearer vgl_i_abc".to_string(),
            "bearer  vgl_i_abc ".to_string(),
            "Token vgl_i_abc".to_string(),
            basic("prometheus:vgl_i_abc"),
            basic("vgl_i_abc:"),
            basic("vgl_i_abc"),
        ] {
            assert_eq!(
                token_from_authorization(&header).as_deref(),
                Ok("vgl_i_abc"),
                "{header}"
            );
        }
    }

    #[test]
    fn refuses_other_forms() {
        for header in [
            "vgl_i_abc".to_string(),
            "Bearer ".to_string(),
            "Digest x".to_string(),
            "Basic !!!".to_string(),
            basic(":"),
        ] {
            assert!(token_from_authorization(&header).is_err(), "{header}");
        }
    }
}
