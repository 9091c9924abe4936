//! What Vigil asks of PostgreSQL about its own upkeep: whether autovacuum runs.

use sqlx::PgPool;

/// The server's `autovacuum` setting (a table may still opt out on its own).
pub async fn autovacuum_enabled(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let setting: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await?;
    Ok(setting == "on")
}
