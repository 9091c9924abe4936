//! `GET /health`: each dependency's status and latency. PostgreSQL and RabbitMQ are
//! required (503 when one is down); Redis is optional (200, "degraded").

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::actors::ingest::{BrokerState, CheckBroker};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health`: `status` healthy, degraded (Redis down) or unhealthy.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthReport {
    #[schema(example = "healthy")]
    pub status: &'static str,
    pub checks: Checks,
    pub rollups: Background,
    pub compaction: Compaction,
    /// Conditions that do not fail the check but need an operator's attention.
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub postgres: Check,
    pub rabbitmq: Check,
    pub redis: Check,
}

/// One dependency: `up` with its latency, or `down` with why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    #[schema(example = "up")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    fn is_up(&self) -> bool {
        self.status == "up"
    }
}

/// Progress of the background work, from the gauges its actors keep.
/// Raw ranges waiting for compaction, and how late the oldest is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compaction {
    pub pending: i64,
    pub lag_seconds: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Background {
    #[serde(rename = "lagSeconds1m")]
    pub lag_seconds_1m: i64,
    #[serde(rename = "lagSeconds1h")]
    pub lag_seconds_1h: i64,
    #[serde(rename = "retentionLastRun")]
    pub retention_last_run: i64,
}

#[utoipa::path(get, path = "/health", tag = "meta", security(()),
    responses(
        (status = 200, description = "PostgreSQL and RabbitMQ reachable (Redis may be down: degraded)", body = HealthReport),
        (status = 503, description = "A required dependency is down", body = HealthReport),
    ))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (postgres, rabbitmq, redis) = futures_util::join!(
        check_postgres(&state),
        check_broker(&state),
        check_redis(&state)
    );
    for (name, check) in [
        ("postgres", &postgres),
        ("rabbitmq", &rabbitmq),
        ("redis", &redis),
    ] {
        state
            .metrics
            .dependency_up
            .with_label_values(&[name])
            .set(i64::from(check.is_up()));
    }
    let required_up = postgres.is_up() && rabbitmq.is_up();
    let status = match (required_up, redis.is_up()) {
        (true, true) => "healthy",
        (true, false) => "degraded",
        (false, _) => "unhealthy",
    };
    let mut warnings = Vec::new();
    if postgres.is_up() {
        warnings.extend(database_warnings(&state).await);
    }
    // Informational: a lagging rollup tier is answered from raw points, so it does not
    // fail the check.
    let m = &state.metrics;
    let body = HealthReport {
        status,
        checks: Checks {
            postgres,
            rabbitmq,
            redis,
        },
        rollups: Background {
            lag_seconds_1m: m.rollup_lag_seconds.with_label_values(&["1m"]).get(),
            lag_seconds_1h: m.rollup_lag_seconds.with_label_values(&["1h"]).get(),
            retention_last_run: m.retention_last_run_timestamp.get(),
        },
        compaction: Compaction {
            pending: m.compaction.pending_ranges.get(),
            lag_seconds: m.compaction.lag_seconds.get(),
        },
        warnings,
    };
    if required_up {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The maintenance actor vacuums what Vigil's own actors churn, but the planner's
/// column statistics (ANALYZE) and any other table still depend on autovacuum: say
/// so when it is off, and say plainly when nothing vacuums at all.
async fn database_warnings(state: &AppState) -> Vec<String> {
    let check = crate::store::maintenance::autovacuum_enabled(&state.pg);
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(false)) if state.settings.maintenance.enabled => vec!["PostgreSQL runs with autovacuum = off: Vigil vacuums the tables it churns itself and summarises its BRIN indexes, but column statistics (ANALYZE) and every other table go stale; turn autovacuum on".into()],
        Ok(Ok(false)) => vec!["PostgreSQL runs with autovacuum = off and maintenance.enabled = false: nothing vacuums the tables Vigil churns, so they grow with dead rows; turn autovacuum or Vigil's maintenance on".into()],
        _ => Vec::new(),
    }
}

fn check(result: Result<Duration, String>) -> Check {
    match result {
        Ok(latency) => Check {
            status: "up",
            latency_ms: Some(latency.as_secs_f64() * 1000.0),
            error: None,
        },
        Err(error) => Check {
            status: "down",
            latency_ms: None,
            error: Some(error),
        },
    }
}

async fn check_postgres(state: &AppState) -> Check {
    let started = Instant::now();
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pg);
    check(match tokio::time::timeout(CHECK_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(_)) => Err("unreachable".into()),
        Err(_) => Err("timed out".into()),
    })
}

/// Asks every ingest actor: the broker counts as up if one of them can publish.
async fn check_broker(state: &AppState) -> Check {
    let started = Instant::now();
    let mut seen = BrokerState::Disconnected;
    for addr in state.ingest.all() {
        match tokio::time::timeout(CHECK_TIMEOUT, addr.send(CheckBroker)).await {
            Ok(Ok(BrokerState::Connected)) => {
                seen = BrokerState::Connected;
                break;
            }
            Ok(Ok(BrokerState::Blocked)) => seen = BrokerState::Blocked,
            _ => {}
        }
    }
    check(match seen {
        BrokerState::Connected => Ok(started.elapsed()),
        BrokerState::Blocked => Err("blocked by a resource alarm".into()),
        BrokerState::Disconnected => Err("not connected".into()),
    })
}

async fn check_redis(state: &AppState) -> Check {
    check(state.redis.ping().await)
}
