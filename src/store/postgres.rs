//! The PostgreSQL pool: creating the database when it is missing, and migrations.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::config::DatabaseSettings;

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("bad database url: {0}")]
    Url(#[source] sqlx::Error),
    #[error("could not reach PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("could not create database {name}: {source}")]
    Create { name: String, source: sqlx::Error },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the pool lazily: it connects on first use and reconnects by itself after
/// PostgreSQL restarts, so a database outage never needs a Vigil restart.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, DatabaseError> {
    let options = PgConnectOptions::from_str(&settings.url)
        .map_err(DatabaseError::Url)?
        .application_name("vigil")
        .log_statements(tracing::log::LevelFilter::Trace);
    let ping_idle_after = settings.ping_idle_after;
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= ping_idle_after {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options))
}

/// Creates the database named in the URL if it does not exist (via the `postgres`
/// maintenance database on the same server).
pub async fn ensure_database(settings: &DatabaseSettings, name: &str) -> Result<(), DatabaseError> {
    let target = PgConnectOptions::from_str(&settings.url).map_err(DatabaseError::Url)?;
    match sqlx::PgConnection::connect_with(&target).await {
        Ok(conn) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {}
        Err(e) => return Err(DatabaseError::Connect(e)),
    }
    let mut admin = sqlx::PgConnection::connect_with(&target.clone().database("postgres"))
        .await
        .map_err(DatabaseError::Connect)?;
    // CREATE DATABASE takes no bind parameters; the name is quoted as an identifier.
    let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    match sqlx::query(&statement).execute(&mut admin).await {
        Ok(_) => tracing::info!(database = name, "Created the database."),
        // Another instance created it between our check and now.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
        Err(source) => {
            return Err(DatabaseError::Create {
                name: name.into(),
                source,
            })
        }
    }
    let _ = admin.close().await;
    Ok(())
}

/// A string that changes when the database is dropped and recreated or another
/// cluster answers: the cluster's system identifier and the database's oid.
pub async fn database_identity(pool: &PgPool) -> Result<String, sqlx::Error> {
    let oid: i64 = sqlx::query_scalar(
        "SELECT oid::bigint FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await?;
    // pg_control_system() may be restricted to privileged roles; the oid alone still
    // tells a recreated database apart.
    let system: Option<i64> =
        sqlx::query_scalar("SELECT system_identifier::bigint FROM pg_control_system()")
            .fetch_one(pool)
            .await
            .ok();
    Ok(match system {
        Some(system) => format!("{system:x}.{oid}"),
        None => oid.to_string(),
    })
}

pub async fn migrate(pool: &PgPool) -> Result<(), DatabaseError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
