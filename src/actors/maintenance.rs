//! `MaintenanceActor`: keeps the tables Vigil churns compact without relying on
//! autovacuum.
//!
//! Rollup recomputes delete and re-insert rows, the dirty-minute log is written and
//! claimed all day, and the outbox, alert state, sessions and compaction bookkeeping
//! are updated in place: every such change leaves a dead row that only VACUUM makes
//! reusable. Development and CI machines run PostgreSQL with `autovacuum = off`, and
//! users may too (or have it tuned slow), so every `maintenance.interval` (and once at
//! start) this actor reads the dead-row counts of the tables in
//! [`CHURNED_TABLES`](crate::store::maintenance::CHURNED_TABLES) and their partitions,
//! runs a plain `VACUUM` on each one past the threshold, and summarises the new block
//! ranges of every BRIN index (which autovacuum's autosummarize would otherwise do).
//!
//! Takes [`RunUpkeep`] from its own timer and from `app::Maintenance` (tests, admin
//! tasks); sends nothing. It holds no state: a restart runs the next round.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use sqlx::PgPool;

use crate::config::{MaintenanceSettings, Settings};
use crate::store::maintenance::{self as store, TableRows};
use crate::telemetry::Metrics;

/// Run one upkeep round now; answers what it did.
#[derive(Message)]
#[rtype(result = "Result<UpkeepReport, String>")]
pub struct RunUpkeep;

/// What one round did.
#[derive(Debug, Clone, Default)]
pub struct UpkeepReport {
    /// Tables vacuumed, with the dead rows they held before.
    pub vacuumed: Vec<(String, i64)>,
    /// BRIN block ranges summarised.
    pub brin_ranges: i64,
}

pub struct MaintenanceActor {
    settings: Arc<Settings>,
    pg: PgPool,
    metrics: Arc<Metrics>,
}

impl MaintenanceActor {
    pub fn new(settings: Arc<Settings>, pg: PgPool, metrics: Arc<Metrics>) -> Self {
        MaintenanceActor {
            settings,
            pg,
            metrics,
        }
    }
}

impl Actor for MaintenanceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if !self.settings.maintenance.enabled {
            return;
        }
        ctx.notify(RunUpkeep);
        ctx.run_interval(self.settings.maintenance.interval, |_, ctx| {
            ctx.notify(RunUpkeep)
        });
    }
}

impl Supervised for MaintenanceActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["maintenance"])
            .inc();
    }
}

/// Whether a table holds enough dead rows to be worth a VACUUM: autovacuum's rule
/// (a base count plus a fraction of the live rows).
pub fn due_for_vacuum(rows: &TableRows, settings: &MaintenanceSettings) -> bool {
    let threshold =
        settings.vacuum_dead_rows as f64 + settings.vacuum_dead_fraction * rows.live.max(0) as f64;
    rows.dead > 0 && rows.dead as f64 > threshold
}

async fn upkeep(pg: PgPool, settings: MaintenanceSettings) -> Result<UpkeepReport, String> {
    let mut report = UpkeepReport::default();
    let tables = store::churned_table_rows(&pg)
        .await
        .map_err(|e| format!("reading dead-row counts: {e}"))?;
    for rows in tables.iter().filter(|r| due_for_vacuum(r, &settings)) {
        let started = Instant::now();
        match store::vacuum(&pg, &rows.table, settings.vacuum_timeout).await {
            Ok(()) => {
                tracing::info!(table = %rows.table, dead_rows = rows.dead, live_rows = rows.live,
                    took_ms = started.elapsed().as_millis() as u64, "Vacuumed a table Vigil churns.");
                report.vacuumed.push((rows.table.clone(), rows.dead));
            }
            Err(error) => {
                tracing::warn!(table = %rows.table, %error, "Could not vacuum a table Vigil churns; will retry next round.")
            }
        }
    }
    let indexes = store::brin_indexes(&pg)
        .await
        .map_err(|e| format!("listing BRIN indexes: {e}"))?;
    for index in indexes {
        match store::summarize_brin(&pg, &index, settings.lock_timeout).await {
            Ok(ranges) => report.brin_ranges += ranges,
            // A partition dropped or locked meanwhile: the next round sees the catalogue anew.
            Err(error) => {
                tracing::debug!(%index, %error, "Skipped summarising a BRIN index this round.")
            }
        }
    }
    Ok(report)
}

impl Handler<RunUpkeep> for MaintenanceActor {
    // Atomic: rounds never overlap, and an explicit round waits for the periodic one.
    type Result = AtomicResponse<Self, Result<UpkeepReport, String>>;

    fn handle(&mut self, _: RunUpkeep, _: &mut Self::Context) -> Self::Result {
        let round = upkeep(self.pg.clone(), self.settings.maintenance.clone());
        AtomicResponse::new(Box::pin(
            async move {
                let result = round.await;
                if let Err(error) = &result {
                    tracing::warn!(%error, "Table upkeep round failed; will retry next round.");
                }
                result
            }
            .into_actor(self),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(live: i64, dead: i64) -> TableRows {
        TableRows {
            table: "rollup_1m_p20261202".into(),
            parent: "rollup_1m".into(),
            live,
            dead,
        }
    }

    #[test]
    fn a_table_is_vacuumed_past_the_base_count_plus_a_fraction_of_its_rows() {
        let settings = MaintenanceSettings::default();
        assert!(!due_for_vacuum(&rows(0, 1000), &settings));
        assert!(due_for_vacuum(&rows(0, 1001), &settings));
        assert!(!due_for_vacuum(&rows(100_000, 10_000), &settings));
        assert!(due_for_vacuum(&rows(100_000, 11_001), &settings));
    }

    #[test]
    fn a_zero_threshold_still_needs_a_dead_row() {
        let settings = MaintenanceSettings {
            vacuum_dead_rows: 0,
            vacuum_dead_fraction: 0.0,
            ..MaintenanceSettings::default()
        };
        assert!(!due_for_vacuum(&rows(10, 0), &settings));
        assert!(due_for_vacuum(&rows(10, 1), &settings));
    }
}
