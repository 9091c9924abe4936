//! Alerting SQL: rules, evaluation leases, instance state (fenced writes), events,
//! silences, and the window partials every rule evaluates.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::alerting::slices::SlicePartial;
use crate::alerting::{AlertState, InstanceState, SeriesWindow, Transition};
use crate::model::alert::{RuleSpec, Silence};
use crate::model::Labels;
use crate::notify::payload::NotificationPayload;

/// A rule row as stored.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: Uuid,
    pub owner_id: Option<Uuid>,
    pub spec: RuleSpec,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RULE_COLUMNS: &str = "id, owner_id, spec, version, created_at, updated_at";

fn rule_row(row: sqlx::postgres::PgRow) -> Result<RuleRow, sqlx::Error> {
    let Json(spec): Json<RuleSpec> = row.try_get("spec")?;
    Ok(RuleRow {
        id: row.try_get("id")?,
        owner_id: row.try_get("owner_id")?,
        spec,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn count_rules(pg: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM alert_rules")
        .fetch_one(pg)
        .await
}

pub async fn insert_rule(
    pg: &PgPool,
    id: Uuid,
    owner_id: Option<Uuid>,
    spec: &RuleSpec,
) -> Result<RuleRow, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO alert_rules (id, owner_id, name, spec, enabled) VALUES ($1, $2, $3, $4, $5)
         RETURNING {RULE_COLUMNS}"
    ))
    .bind(id)
    .bind(owner_id)
    .bind(&spec.name)
    .bind(Json(spec))
    .bind(spec.enabled)
    .fetch_one(pg)
    .await?;
    rule_row(row)
}

/// Replaces a rule's spec and bumps its version; `None` when it does not exist.
pub async fn update_rule(
    pg: &PgPool,
    id: Uuid,
    spec: &RuleSpec,
) -> Result<Option<RuleRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "UPDATE alert_rules SET name = $2, spec = $3, enabled = $4, version = version + 1, updated_at = now()
         WHERE id = $1 RETURNING {RULE_COLUMNS}"
    ))
    .bind(id)
    .bind(&spec.name)
    .bind(Json(spec))
    .bind(spec.enabled)
    .fetch_optional(pg)
    .await?;
    row.map(rule_row).transpose()
}

/// Deletes a rule (its lease and instance states go with it; its events stay).
pub async fn delete_rule(pg: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM alert_rules WHERE id = $1")
        .bind(id)
        .execute(pg)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn get_rule(pg: &PgPool, id: Uuid) -> Result<Option<RuleRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pg)
    .await?;
    row.map(rule_row).transpose()
}

/// All rules (or only enabled ones), oldest first.
pub async fn list_rules(pg: &PgPool, enabled_only: bool) -> Result<Vec<RuleRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE enabled OR NOT $1 ORDER BY created_at, id"
    ))
    .bind(enabled_only)
    .fetch_all(pg)
    .await?;
    rows.into_iter().map(rule_row).collect()
}

/// Renews this holder's leases and takes every enabled rule's lease that is free or
/// expired (a new holder bumps the epoch). Returns rule id -> epoch of every lease
/// held afterwards. Two statements in one transaction: a statement may not touch a
/// row twice, and renewing first keeps our own leases from looking expired.
pub async fn acquire_leases(
    pg: &PgPool,
    holder: &str,
    ttl: Duration,
) -> Result<HashMap<Uuid, i64>, sqlx::Error> {
    let ttl_secs = ttl.as_secs_f64();
    let mut tx = pg.begin().await?;
    let mut held: HashMap<Uuid, i64> = sqlx::query_as(
        "UPDATE alert_leases SET expires_at = now() + make_interval(secs => $2)
         WHERE holder = $1 RETURNING rule_id, epoch",
    )
    .bind(holder)
    .bind(ttl_secs)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let taken: Vec<(Uuid, i64)> = sqlx::query_as(
        "INSERT INTO alert_leases AS l (rule_id, holder, epoch, expires_at)
         SELECT r.id, $1, 1, now() + make_interval(secs => $2)
         FROM alert_rules r LEFT JOIN alert_leases x ON x.rule_id = r.id
         WHERE r.enabled AND (x.rule_id IS NULL OR x.expires_at < now())
         ORDER BY r.id
         ON CONFLICT (rule_id) DO UPDATE
            SET holder = EXCLUDED.holder, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
            WHERE l.expires_at < now()
         RETURNING rule_id, epoch",
    )
    .bind(holder)
    .bind(ttl_secs)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    held.extend(taken);
    Ok(held)
}

/// Gives up every lease of `holder` (graceful shutdown: survivors take over at once).
pub async fn release_leases(pg: &PgPool, holder: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM alert_leases WHERE holder = $1")
        .bind(holder)
        .execute(pg)
        .await?
        .rows_affected())
}

/// The persisted (non-ok) instances of a rule: instance labels -> state.
pub async fn load_instances(
    pg: &PgPool,
    rule_id: Uuid,
) -> Result<Vec<(Labels, InstanceState)>, sqlx::Error> {
    Ok(instance_rows(pg, Some(rule_id))
        .await?
        .into_iter()
        .map(|row| (row.labels, row.state))
        .collect())
}

/// Who may write a rule's state: the lease holder at this epoch.
#[derive(Debug, Clone)]
pub struct Fence {
    pub rule_id: Uuid,
    pub holder: String,
    pub epoch: i64,
}

/// A changed instance record (an `ok` state deletes the row).
pub struct InstanceWrite {
    pub key: String,
    pub labels: Labels,
    pub state: InstanceState,
}

/// A transition to record, and its notification unless silenced.
pub struct EventWrite {
    pub labels: Labels,
    pub transition: Transition,
    pub value: Option<f64>,
    pub at_ms: i64,
    pub since_ms: Option<i64>,
    pub silenced: bool,
    /// channel, target, payload (its `event_id` is filled in here).
    pub notification: Option<(String, String, NotificationPayload)>,
}

/// The lease was lost: another instance evaluates the rule now.
#[derive(Debug, thiserror::Error)]
#[error("the lease on rule {0} is no longer ours")]
pub struct Fenced(pub Uuid);

#[derive(Debug, thiserror::Error)]
pub enum StateWriteError {
    #[error(transparent)]
    Fenced(#[from] Fenced),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(Utc::now)
}

/// Writes changed instance records, events and outbox rows in one transaction that
/// first locks the rule's lease row and checks the epoch: either all of it is written
/// by the current holder, or nothing is. Returns the new outbox ids.
#[allow(clippy::too_many_arguments)]
pub async fn write_state(
    pg: &PgPool,
    fence: &Fence,
    rule_name: &str,
    threshold: f64,
    severity: &str,
    instances: &[InstanceWrite],
    events: Vec<EventWrite>,
    give_up_after: Duration,
) -> Result<Vec<Uuid>, StateWriteError> {
    let mut tx = pg.begin().await?;
    let holds: Option<i64> = sqlx::query_scalar(
        "SELECT epoch FROM alert_leases
         WHERE rule_id = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()
         FOR UPDATE",
    )
    .bind(fence.rule_id)
    .bind(&fence.holder)
    .bind(fence.epoch)
    .fetch_optional(&mut *tx)
    .await?;
    if holds.is_none() {
        return Err(Fenced(fence.rule_id).into());
    }
    for write in instances {
        if write.state.state == AlertState::Ok {
            sqlx::query("DELETE FROM alert_instances WHERE rule_id = $1 AND instance_key = $2")
                .bind(fence.rule_id)
                .bind(&write.key)
                .execute(&mut *tx)
                .await?;
            continue;
        }
        sqlx::query(
            "INSERT INTO alert_instances (rule_id, instance_key, labels, state, pending_since, firing_since, last_value, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now())
             ON CONFLICT (rule_id, instance_key) DO UPDATE SET
                state = EXCLUDED.state, pending_since = EXCLUDED.pending_since,
                firing_since = EXCLUDED.firing_since, last_value = EXCLUDED.last_value, updated_at = now()",
        )
        .bind(fence.rule_id)
        .bind(&write.key)
        .bind(Json(&write.labels))
        .bind(write.state.state.as_str())
        .bind(write.state.pending_since.map(time))
        .bind(write.state.firing_since.map(time))
        .bind(write.state.last_value)
        .execute(&mut *tx)
        .await?;
    }
    let mut outbox = Vec::new();
    for event in events {
        let event_id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_events (rule_id, rule_name, labels, state, value, threshold, severity, at, since, silenced)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(fence.rule_id)
        .bind(rule_name)
        .bind(Json(&event.labels))
        .bind(event.transition.as_str())
        .bind(event.value)
        .bind(threshold)
        .bind(severity)
        .bind(time(event.at_ms))
        .bind(event.since_ms.map(time))
        .bind(event.silenced)
        .fetch_one(&mut *tx)
        .await?;
        if let Some((channel, target, mut payload)) = event.notification {
            payload.event_id = event_id;
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO notification_outbox (id, event_id, rule_id, channel, target, payload, give_up_at)
                 VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
            )
            .bind(id)
            .bind(event_id)
            .bind(fence.rule_id)
            .bind(channel)
            .bind(target)
            .bind(Json(&payload))
            .bind(give_up_after.as_secs_f64())
            .execute(&mut *tx)
            .await?;
            outbox.push(id);
        }
    }
    tx.commit().await?;
    Ok(outbox)
}

/// Limits of one window read.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    pub timeout: Duration,
    /// PostgreSQL `work_mem` of the read (its hash tables stay in memory up to this).
    pub work_mem_kb: u32,
}

impl ReadLimits {
    pub fn from_settings(settings: &crate::config::Settings) -> ReadLimits {
        ReadLimits {
            timeout: settings.alerts.evaluation_timeout,
            work_mem_kb: settings.alerts.read_work_mem_kb,
        }
    }
}

/// Exact partials (min, max, sum, count) per series of `metrics` over
/// `(start, end]`, in one statement for all of them.
pub async fn window_partials(
    pg: &PgPool,
    metrics: &[String],
    start_ms: i64,
    end_ms: i64,
    limits: ReadLimits,
) -> Result<Vec<(String, SeriesWindow)>, sqlx::Error> {
    let rows = slice_partials(pg, metrics, start_ms + 1, end_ms + 1, None, limits).await?;
    Ok(rows.into_iter().map(|r| (r.metric, r.partial)).collect())
}

/// metric, series id, slice, labels, min, max, sum, count.
type SliceRow = (String, i64, i64, Json<Labels>, f64, f64, f64, i64);

/// Partials per series of `metrics` over `[start, end)`, per slice of `width_ms`
/// counted from `start` (the callers pass starts aligned to the width) or, without a
/// width, over the whole range (slice = start). One statement for all metrics.
///
/// The statement reads the newest few seconds of a partition that grows by tens of
/// thousands of rows a second, so it must go through the BRIN index on `time`: with
/// the planner's stale statistics it would otherwise scan the whole partition (what
/// made evaluation lag grow with the day). Slices are grouped as timestamps and turned
/// into milliseconds once per group, not per point (`extract` is numeric arithmetic).
///
/// Where the range reaches into raw ranges already closed by the compactor (their
/// points are in compressed blocks or late points), that older part is read through
/// `samples::read_raw` and aggregated in Rust; the newest part, always raw rows, keeps
/// the pinned statement.
pub async fn slice_partials(
    pg: &PgPool,
    metrics: &[String],
    start_ms: i64,
    end_ms: i64,
    width_ms: Option<i64>,
    limits: ReadLimits,
) -> Result<Vec<SlicePartial>, sqlx::Error> {
    let closed_until: Option<i64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM max(range_end)) * 1000)::bigint FROM compaction_ranges
         WHERE state <> 'raw' AND range_end > $1 AND range_start < $2",
    )
    .bind(time(start_ms))
    .bind(time(end_ms))
    .fetch_one(pg)
    .await?;
    let Some(closed_until) = closed_until.filter(|b| *b > start_ms) else {
        return hot_slice_partials(pg, metrics, start_ms, end_ms, width_ms, limits).await;
    };
    let split = match width_ms {
        Some(w) if w > 0 => {
            (start_ms + (closed_until - start_ms + w - 1).div_euclid(w) * w).min(end_ms)
        }
        _ => end_ms,
    };
    let mut out = closed_slice_partials(pg, metrics, start_ms, split, width_ms, limits).await?;
    if split < end_ms {
        out.extend(hot_slice_partials(pg, metrics, split, end_ms, width_ms, limits).await?);
    }
    Ok(out)
}

/// [`slice_partials`] from `samples::read_raw` (blocks, late points and rows alike).
async fn closed_slice_partials(
    pg: &PgPool,
    metrics: &[String],
    start_ms: i64,
    end_ms: i64,
    width_ms: Option<i64>,
    limits: ReadLimits,
) -> Result<Vec<SlicePartial>, sqlx::Error> {
    let width_ms = width_ms.unwrap_or(end_ms - start_ms).max(1);
    let series: Vec<(i64, String, Json<Labels>)> =
        sqlx::query_as("SELECT id, metric, labels FROM series WHERE metric = ANY($1)")
            .bind(metrics)
            .fetch_all(pg)
            .await?;
    let ids: Vec<i64> = series.iter().map(|s| s.0).collect();
    let range = crate::model::TimeRange { start_ms, end_ms };
    let samples = crate::store::samples::read_raw_timeout(pg, &ids, range, limits.timeout).await?;
    let by_id: std::collections::HashMap<i64, (String, Labels)> = series
        .into_iter()
        .map(|(id, metric, Json(labels))| (id, (metric, labels)))
        .collect();
    let mut out = Vec::new();
    for s in samples {
        let Some((metric, labels)) = by_id.get(&s.series_id) else {
            continue;
        };
        let mut i = 0;
        while i < s.len() {
            let slice = start_ms + (s.times_ms[i] - start_ms).div_euclid(width_ms) * width_ms;
            let mut w = SeriesWindow {
                labels: labels.clone(),
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                sum: 0.0,
                count: 0,
            };
            while i < s.len()
                && start_ms + (s.times_ms[i] - start_ms).div_euclid(width_ms) * width_ms == slice
            {
                let v = s.values[i];
                (w.min, w.max, w.sum, w.count) =
                    (w.min.min(v), w.max.max(v), w.sum + v, w.count + 1);
                i += 1;
            }
            out.push(SlicePartial {
                metric: metric.clone(),
                series_id: s.series_id,
                slice_ms: slice,
                partial: w,
            });
        }
    }
    Ok(out)
}

/// [`slice_partials`] over raw rows only, with the pinned plan.
async fn hot_slice_partials(
    pg: &PgPool,
    metrics: &[String],
    start_ms: i64,
    end_ms: i64,
    width_ms: Option<i64>,
    limits: ReadLimits,
) -> Result<Vec<SlicePartial>, sqlx::Error> {
    let width_ms = width_ms.unwrap_or(end_ms - start_ms).max(1);
    let mut tx = pg.begin().await?;
    // The plan is pinned, for this transaction only: BRIN bitmap scan, hash joins and
    // a hash aggregate, on this connection alone. The planner's statistics cannot
    // know how many rows the last seconds hold, and with its guesses it picked
    // sorts that spilled to disk, nested loops over every series, and parallel
    // workers that only contend with ingest for the cores.
    sqlx::query(
        "SELECT set_config('statement_timeout', $1, true), set_config('enable_seqscan', 'off', true),
                set_config('enable_sort', 'off', true), set_config('enable_nestloop', 'off', true),
                set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true),
                set_config('max_parallel_workers_per_gather', '0', true), set_config('work_mem', $2, true)",
    )
    .bind(format!("{}", limits.timeout.as_millis()))
    .bind(format!("{}kB", limits.work_mem_kb))
    .execute(&mut *tx)
    .await?;
    let rows: Vec<SliceRow> = sqlx::query_as(
        "WITH agg AS (
            SELECT p.series_id, date_bin($4, p.time, $2) AS slice,
                   min(p.value) AS mn, max(p.value) AS mx, sum(p.value) AS sm, count(*) AS n
            FROM points p
            WHERE p.series_id IN (SELECT id FROM series WHERE metric = ANY($1))
              AND p.time >= $2 AND p.time < $3
            GROUP BY 1, 2)
         SELECT s.metric, s.id, (extract(epoch FROM agg.slice) * 1000)::bigint, s.labels,
                agg.mn, agg.mx, agg.sm, agg.n
         FROM agg JOIN series s ON s.id = agg.series_id",
    )
    .bind(metrics)
    .bind(time(start_ms))
    .bind(time(end_ms))
    .bind(sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: width_ms.saturating_mul(1000),
    })
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(
            |(metric, series_id, slice_ms, Json(labels), min, max, sum, count)| SlicePartial {
                metric,
                series_id,
                slice_ms,
                partial: SeriesWindow {
                    labels,
                    min,
                    max,
                    sum,
                    count,
                },
            },
        )
        .collect())
}

/// Summarises the block ranges of the `points` BRIN index that are not summarised yet,
/// in the daily partitions that hold `[start, end]`. PostgreSQL leaves new ranges to
/// autovacuum, which comes by about once a minute; until then an unsummarised range
/// matches every time range, so a read of the last second rechecks the last minute.
/// Each range is summarised once (later inserts keep its summary up to date), so
/// calling this every second costs one pass over the newest pages.
pub async fn summarize_points_index(
    pg: &PgPool,
    start_ms: i64,
    end_ms: i64,
    timeout: Duration,
) -> Result<i64, sqlx::Error> {
    let table = crate::store::partitions::PartitionedTable::Points;
    let mut day = time(start_ms).date_naive();
    let last = time(end_ms).date_naive();
    let mut partitions = Vec::new();
    while day <= last {
        partitions.push(table.partition_name(day));
        day = table.period_end(day);
    }
    let mut tx = pg.begin().await?;
    sqlx::query("SELECT set_config('statement_timeout', $1, true)")
        .bind(format!("{}", timeout.as_millis()))
        .execute(&mut *tx)
        .await?;
    // Day partitions are partitioned by hour: summarise the leaf indexes of the days.
    let summarized: i64 = sqlx::query_scalar(
        "WITH RECURSIVE tree(idx) AS (
             SELECT inhrelid FROM pg_inherits WHERE inhparent = 'points_time_brin_idx'::regclass
             UNION ALL
             SELECT h.inhrelid FROM pg_inherits h JOIN tree ON h.inhparent = tree.idx)
         SELECT COALESCE(sum(brin_summarize_new_values(i.indexrelid)), 0)::bigint
         FROM tree JOIN pg_index i ON i.indexrelid = tree.idx
         JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relkind = 'i'
           AND split_part(i.indrelid::regclass::text, '_h', 1) = ANY($1)",
    )
    .bind(&partitions)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(summarized)
}

pub async fn insert_silence(pg: &PgPool, silence: &Silence) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO alert_silences (id, rule_id, matchers, starts_at, ends_at, comment, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(silence.id)
    .bind(silence.rule_id)
    .bind(Json(&silence.matchers))
    .bind(silence.starts_at)
    .bind(silence.ends_at)
    .bind(&silence.comment)
    .bind(silence.created_by)
    .execute(pg)
    .await?;
    Ok(())
}

/// Silences that have not ended (active or scheduled).
pub async fn current_silences(pg: &PgPool) -> Result<Vec<Silence>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, rule_id, matchers, starts_at, ends_at, comment, created_by
         FROM alert_silences WHERE ends_at > now() ORDER BY starts_at, id",
    )
    .fetch_all(pg)
    .await?;
    rows.into_iter()
        .map(|row| {
            let Json(matchers) = row.try_get("matchers")?;
            Ok(Silence {
                id: row.try_get("id")?,
                rule_id: row.try_get("rule_id")?,
                matchers,
                starts_at: row.try_get("starts_at")?,
                ends_at: row.try_get("ends_at")?,
                comment: row.try_get("comment")?,
                created_by: row.try_get("created_by")?,
            })
        })
        .collect()
}

/// Ends a silence now; `false` when there is no such current silence.
pub async fn expire_silence(pg: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE alert_silences SET ends_at = now() WHERE id = $1 AND ends_at > now()")
            .bind(id)
            .execute(pg)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// A history filter (all optional) and page: newest first, ids below `before`.
#[derive(Debug, Default, Clone)]
pub struct HistoryFilter {
    pub rule_id: Option<Uuid>,
    pub state: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// One recorded event.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertEvent {
    pub id: i64,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub labels: Labels,
    /// firing or resolved
    pub state: String,
    pub value: Option<f64>,
    pub threshold: f64,
    pub severity: String,
    pub at: DateTime<Utc>,
    pub since: Option<DateTime<Utc>>,
    pub silenced: bool,
    /// Delivery of its notification: pending, sent, failed, or absent (silenced).
    pub notification: Option<String>,
}

pub async fn history(pg: &PgPool, filter: &HistoryFilter) -> Result<Vec<AlertEvent>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT e.id, e.rule_id, e.rule_name, e.labels, e.state, e.value, e.threshold, e.severity, e.at, e.since, e.silenced,
                (SELECT o.status FROM notification_outbox o WHERE o.event_id = e.id LIMIT 1) AS notification
         FROM alert_events e WHERE true",
    );
    if let Some(rule) = filter.rule_id {
        q.push(" AND e.rule_id = ").push_bind(rule);
    }
    if let Some(state) = &filter.state {
        q.push(" AND e.state = ").push_bind(state.clone());
    }
    if let Some(from) = filter.from {
        q.push(" AND e.at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        q.push(" AND e.at < ").push_bind(to);
    }
    if let Some(before) = filter.before {
        q.push(" AND e.id < ").push_bind(before);
    }
    q.push(" ORDER BY e.id DESC LIMIT ").push_bind(filter.limit);
    let rows = q.build().fetch_all(pg).await?;
    rows.into_iter()
        .map(|row| {
            let Json(labels) = row.try_get("labels")?;
            Ok(AlertEvent {
                id: row.try_get("id")?,
                rule_id: row.try_get("rule_id")?,
                rule_name: row.try_get("rule_name")?,
                labels,
                state: row.try_get("state")?,
                value: row.try_get("value")?,
                threshold: row.try_get("threshold")?,
                severity: row.try_get("severity")?,
                at: row.try_get("at")?,
                since: row.try_get("since")?,
                silenced: row.try_get("silenced")?,
                notification: row.try_get("notification")?,
            })
        })
        .collect()
}

/// A persisted (non-ok) instance, for the API.
#[derive(Debug, Clone)]
pub struct InstanceRow {
    pub rule_id: Uuid,
    pub labels: Labels,
    pub state: InstanceState,
}

/// Non-ok instances of one rule, or of every rule.
pub async fn instance_rows(
    pg: &PgPool,
    rule_id: Option<Uuid>,
) -> Result<Vec<InstanceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT rule_id, labels, state, pending_since, firing_since, last_value, updated_at
         FROM alert_instances WHERE rule_id = $1 OR $1 IS NULL ORDER BY rule_id, instance_key",
    )
    .bind(rule_id)
    .fetch_all(pg)
    .await?;
    rows.into_iter()
        .map(|row| {
            let Json(labels): Json<Labels> = row.try_get("labels")?;
            let state: String = row.try_get("state")?;
            let ms = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_millis());
            Ok(InstanceRow {
                rule_id: row.try_get("rule_id")?,
                labels,
                state: InstanceState {
                    state: AlertState::parse(&state).unwrap_or_default(),
                    pending_since: ms(row.try_get("pending_since")?),
                    firing_since: ms(row.try_get("firing_since")?),
                    last_value: row.try_get("last_value")?,
                    last_evaluated: ms(Some(row.try_get("updated_at")?)),
                },
            })
        })
        .collect()
}
