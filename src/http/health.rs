//! `GET /health`: each dependency's status and latency. PostgreSQL and RabbitMQ are
//! required (503 when one is down); Redis is optional (200, "degraded").

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::AppState;
use crate::actors::ingest::{BrokerState, CheckBroker};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[utoipa::path(get, path = "/health", tag = "meta", security(()),
    responses(
        (status = 200, description = "PostgreSQL and RabbitMQ reachable (Redis may be down: degraded)", body = super::openapi::HealthReport),
        (status = 503, description = "A required dependency is down", body = super::openapi::HealthReport),
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
        let up = check["status"] == "up";
        state
            .metrics
            .dependency_up
            .with_label_values(&[name])
            .set(i64::from(up));
    }
    let required_up = postgres["status"] == "up" && rabbitmq["status"] == "up";
    let status = match (required_up, redis["status"] == "up") {
        (true, true) => "healthy",
        (true, false) => "degraded",
        (false, _) => "unhealthy",
    };
    // Progress of the background work, from the gauges its actors keep (informational:
    // a lagging rollup tier is answered from raw points, so it does not fail the check).
    let m = &state.metrics;
    let rollups = json!({
        "lagSeconds1m": m.rollup_lag_seconds.with_label_values(&["1m"]).get(),
        "lagSeconds1h": m.rollup_lag_seconds.with_label_values(&["1h"]).get(),
        "retentionLastRun": m.retention_last_run_timestamp.get(),
    });
    let compaction = json!({
        "pending": m.compaction.pending_ranges.get(),
        "lagSeconds": m.compaction.lag_seconds.get(),
    });
    let body = json!({"status": status, "checks": {"postgres": postgres, "rabbitmq": rabbitmq, "redis": redis}, "rollups": rollups, "compaction": compaction});
    if required_up {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

fn check(result: Result<Duration, String>) -> Value {
    match result {
        Ok(latency) => json!({"status": "up", "latencyMs": latency.as_secs_f64() * 1000.0}),
        Err(error) => json!({"status": "down", "error": error}),
    }
}

async fn check_postgres(state: &AppState) -> Value {
    let started = Instant::now();
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pg);
    check(match tokio::time::timeout(CHECK_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok(started.elapsed()),
        Ok(Err(_)) => Err("unreachable".into()),
        Err(_) => Err("timed out".into()),
    })
}

/// Asks every ingest actor: the broker counts as up if one of them can publish.
async fn check_broker(state: &AppState) -> Value {
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

async fn check_redis(state: &AppState) -> Value {
    check(state.redis.ping().await)
}
