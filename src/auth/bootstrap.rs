//! The first admin: created at start when no user exists, so a fresh install can be
//! logged into without a separate setup step.

use sqlx::PgPool;

use crate::auth::{password, secret};
use crate::config::AuthSettings;
use crate::model::Role;
use crate::store::users::{self, NewUser};

/// Creates the configured admin when the users table is empty. With no configured
/// password a random one is generated and logged once: it is never stored in clear.
pub async fn ensure_admin(pg: &PgPool, settings: &AuthSettings) -> anyhow::Result<()> {
    if users::count(pg).await? > 0 {
        return Ok(());
    }
    let generated = settings.admin_password.is_empty();
    let plain = if generated {
        secret::random_hex(12)
    } else {
        settings.admin_password.clone()
    };
    let hash =
        tokio::task::spawn_blocking(move || password::hash(&plain).map(|h| (h, plain))).await??;
    let email = crate::model::user::Email::parse(&settings.admin_email)
        .map_err(|e| anyhow::anyhow!("auth.admin_email: {e}"))?;
    let created = users::create(
        pg,
        &NewUser {
            email,
            password_hash: hash.0,
            role: Role::Admin,
        },
    )
    .await;
    match created {
        Ok(user) if generated => tracing::warn!(
            email = %user.email,
            password = %hash.1,
            "Created the first admin with a generated password; it is shown only this once."
        ),
        Ok(user) => tracing::info!(email = %user.email, "Created the first admin."),
        // Another instance created it first.
        Err(users::UserStoreError::EmailTaken) => {}
        Err(error) => return Err(error.into()),
    }
    Ok(())
}
