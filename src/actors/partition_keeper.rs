//! `PartitionKeeperActor`: housekeeping of the points table.
//!
//! Every `database.maintenance_interval` (and once at start) it creates the daily
//! partitions for today and `database.partitions_ahead_days` ahead, so writers rarely
//! create one on the hot path, and prunes redelivery-dedup records older than
//! `database.dedup_retention`. It holds no state; a restart just runs the next round.
//! (Retention, dropping expired partitions, arrives with the rollup tiers.)

use std::sync::Arc;

use actix::prelude::*;
use sqlx::PgPool;

use crate::config::Settings;
use crate::store::partitions::{days_ahead, PartitionSet};
use crate::store::points::prune_batch_ids;
use crate::telemetry::Metrics;

/// Run one maintenance round now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunMaintenance;

pub struct PartitionKeeperActor {
    settings: Arc<Settings>,
    pg: PgPool,
    partitions: Arc<PartitionSet>,
    metrics: Arc<Metrics>,
}

impl PartitionKeeperActor {
    pub fn new(settings: Arc<Settings>, pg: PgPool, partitions: Arc<PartitionSet>, metrics: Arc<Metrics>) -> Self {
        PartitionKeeperActor { settings, pg, partitions, metrics }
    }
}

impl Actor for PartitionKeeperActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.notify(RunMaintenance);
        ctx.run_interval(self.settings.database.maintenance_interval, |_, ctx| ctx.notify(RunMaintenance));
    }
}

impl Supervised for PartitionKeeperActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics.actor_restarts.with_label_values(&["partition_keeper"]).inc();
    }
}

impl Handler<RunMaintenance> for PartitionKeeperActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: RunMaintenance, _: &mut Self::Context) -> Self::Result {
        let pg = self.pg.clone();
        let partitions = self.partitions.clone();
        let metrics = self.metrics.clone();
        let ahead = self.settings.database.partitions_ahead_days;
        let dedup_secs = self.settings.database.dedup_retention.as_secs_f64();
        Box::pin(
            async move {
                match partitions.ensure(&pg, days_ahead(chrono::Utc::now(), ahead)).await {
                    Ok(created) => metrics.partitions_created.inc_by(created as u64),
                    Err(error) => tracing::warn!(%error, "Could not create future partitions; will retry next round."),
                }
                match prune_batch_ids(&pg, dedup_secs).await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "Pruned old redelivery-dedup records."),
                    Err(error) => tracing::warn!(%error, "Could not prune dedup records; will retry next round."),
                }
            }
            .into_actor(self),
        )
    }
}
