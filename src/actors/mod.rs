//! The supervised actors. Each file holds one actor and its messages; `app.rs` starts
//! them all and shows the supervision tree.
//!
//! - [`ingest::IngestActor`] (pool): validates ingest bodies, publishes envelopes with
//!   publisher confirms.
//! - [`batch_writer::BatchWriterActor`] (pool): consumes the ingest queue, COPYs
//!   batches into PostgreSQL, acks after COMMIT.
//! - [`query_router::QueryRouterActor`] (pool): cache, tier choice, SQL, breaker.
//! - [`partition_keeper::PartitionKeeperActor`]: future partitions, dedup pruning.
//! - [`pool::ActorPool`]: spreads requests over a pool's actors.

pub mod batch_writer;
pub mod ingest;
pub mod partition_keeper;
pub mod pool;
pub mod query_router;

pub use batch_writer::BatchWriterActor;
pub use ingest::IngestActor;
pub use partition_keeper::PartitionKeeperActor;
pub use pool::ActorPool;
pub use query_router::QueryRouterActor;
