//! The supervised actors. Each file holds one actor and its messages; `app.rs` starts
//! them all and shows the supervision tree.
//!
//! - [`ingest::IngestActor`] (pool): validates ingest bodies, publishes envelopes with
//!   publisher confirms.
//! - [`batch_writer::BatchWriterActor`] (pool): consumes the ingest queue, COPYs
//!   batches into PostgreSQL, acks after COMMIT.
//! - [`query_router::QueryRouterActor`] (pool): cache, tier choice, SQL, breaker.
//! - [`downsampler::DownsamplerActor`]: recomputes dirty rollup buckets.
//! - [`retention::RetentionActor`]: creates future partitions, drops expired ones.
//! - [`compactor::CompactorActor`]: compresses closed raw ranges into pco blocks.
//! - [`rollup_compactor::RollupCompactorActor`]: compresses closed rollup days into
//!   pco blocks.
//! - [`maintenance::MaintenanceActor`]: vacuums the tables Vigil churns, summarises
//!   BRIN indexes.
//! - [`alert_supervisor::AlertSupervisor`]: one [`alert::AlertActor`] per rule held,
//!   evaluation ticks, rule leases; [`notifier::NotifierActor`] (pool): the outbox.
//! - [`pool::ActorPool`]: spreads requests over a pool's actors.

pub mod alert;
pub mod alert_supervisor;
pub mod batch_writer;
pub mod compactor;
pub mod downsampler;
pub mod ingest;
pub mod maintenance;
pub mod notifier;
pub mod pool;
pub mod query_router;
pub mod retention;
pub mod rollup_compactor;

pub use batch_writer::BatchWriterActor;
pub use downsampler::DownsamplerActor;
pub use ingest::IngestActor;
pub use pool::ActorPool;
pub use query_router::QueryRouterActor;
pub use retention::RetentionActor;
