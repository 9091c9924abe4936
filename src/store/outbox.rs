//! The notification outbox: rows are written with their transition (`store::alerts::
//! write_state`) and claimed here by the notifiers.
//!
//! A claim is an UPDATE over rows picked with `FOR UPDATE SKIP LOCKED` that pushes
//! `next_attempt_at` past the claim TTL and counts the attempt: notifiers on any
//! instance never take the same row at once, and no transaction stays open while a
//! delivery waits on the network. A notifier that dies mid-delivery leaves its rows to
//! be claimed again once the claim TTL has passed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::notify::payload::NotificationPayload;

/// A claimed notification.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: Uuid,
    pub channel: String,
    pub target: String,
    pub payload: NotificationPayload,
    /// Attempts including this one.
    pub attempts: i32,
    pub give_up_at: DateTime<Utc>,
}

/// id, channel, target, payload, attempts, give_up_at.
type ClaimedRow = (
    Uuid,
    String,
    String,
    Json<NotificationPayload>,
    i32,
    DateTime<Utc>,
);

pub async fn claim_due(
    pg: &PgPool,
    batch: u32,
    claim_ttl: Duration,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "UPDATE notification_outbox o
         SET next_attempt_at = now() + make_interval(secs => $2), attempts = o.attempts + 1
         FROM (SELECT id FROM notification_outbox
               WHERE status = 'pending' AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
         WHERE o.id = due.id
         RETURNING o.id, o.channel, o.target, o.payload, o.attempts, o.give_up_at",
    )
    .bind(i64::from(batch))
    .bind(claim_ttl.as_secs_f64())
    .fetch_all(pg)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, channel, target, Json(payload), attempts, give_up_at)| OutboxRow {
                id,
                channel,
                target,
                payload,
                attempts,
                give_up_at,
            },
        )
        .collect())
}

pub async fn mark_sent(pg: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notification_outbox SET status = 'sent', finished_at = now(), last_error = NULL WHERE id = $1")
        .bind(id)
        .execute(pg)
        .await?;
    Ok(())
}

pub async fn mark_failed(pg: &PgPool, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notification_outbox SET status = 'failed', finished_at = now(), last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(pg)
        .await?;
    Ok(())
}

/// Schedules another attempt after `delay`; `refund` gives the claimed attempt back
/// (the breaker held the delivery back: nothing was tried).
pub async fn retry_later(
    pg: &PgPool,
    id: Uuid,
    delay: Duration,
    error: &str,
    refund: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3,
             attempts = attempts - CASE WHEN $4 THEN 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(delay.as_secs_f64())
    .bind(error)
    .bind(refund)
    .execute(pg)
    .await?;
    Ok(())
}

/// Pending notifications (for `/metrics`).
pub async fn pending_count(pg: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM notification_outbox WHERE status = 'pending'")
        .fetch_one(pg)
        .await
}
