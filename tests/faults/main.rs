//! Fault tests: a dependency goes away under load, or the server is stopped under
//! load, and nothing that was acknowledged with a 202 may be lost or stored twice.
//!
//! They never stop the shared services other tests use: the database outage runs
//! against a throwaway PostgreSQL cluster started on a spare port, and the broker
//! outage goes through a TCP proxy in front of the shared RabbitMQ that the test
//! cuts and restores. They run one at a time (`serial()`), each in its own actix
//! System, because they load the 2-core machine and measure timing.
//!
//! - `database_outage`: PostgreSQL stopped for ~10 s during ingest; and stopped until
//!   the ingest queue is full (`x-max-length`), which must turn into 503.
//! - `series_cache`: a series cache far smaller than the series ingested, under batches
//!   mixing known and new series: every point stored once, no writer restart.
//! - `sigterm`: the real `vigil serve` binary is sent SIGTERM under load, then
//!   restarted to drain the queue.
//! - `compaction_kill`: `vigil serve` killed with SIGKILL at random moments while it
//!   compacts and merges late points, ten times; every acknowledged point once.
//! - `rollup_compaction_kill`: `vigil serve` killed with SIGKILL at random moments while
//!   it compacts closed rollup days into blocks and merges late rows into them (every
//!   other kill inside a day's step), twenty times; every acknowledged point once, and
//!   the minute and hour buckets read from the compacted rollup tiers equal what the
//!   raw points give.
//! - `broker_outage`: RabbitMQ unreachable at start, then available; and cut under
//!   load, then back.
//! - `chaos`: kill -9 of `vigil serve`, of a private RabbitMQ node (or a proxy cut),
//!   PostgreSQL crashed, Redis hung, under load with a ledger (`VIGIL_CHAOS=long`
//!   for the long loops; `scripts/chaos.sh`).
//! - `remote_write_outage`: Vigil stopped ~30 s while a real Prometheus remote-writes
//!   to it; every sample Prometheus holds is stored once Vigil is back.

#[path = "../api/helpers.rs"]
mod helpers;

mod cluster;
mod load;
mod private;
mod proxy;

mod broker_outage;
mod chaos;
mod compaction_kill;
mod database_outage;
mod rollup_compaction_kill;
mod series_cache;
mod sigterm;

// --- remote_write and line protocol ingest ---
#[path = "../api/ecosystem.rs"]
mod ecosystem;
mod remote_write_outage;

use std::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for the whole of a fault test; a panic in another one does not poison it.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
