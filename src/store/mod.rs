//! Every SQL statement, every Redis key and the AMQP topology live here; actors and
//! handlers call these functions and never build queries themselves.
//!
//! - [`postgres`]: pool, database creation, migrations.
//! - [`partitions`]: daily `points` partitions, created ahead and on demand.
//! - [`series`]: metric + label set -> series id, in bulk.
//! - [`points`]: the batch write (dedup record + binary COPY) in one transaction.
//! - [`selector`]: series ids by label matchers (`=`, `!=`, `=~`, `!~`).
//! - [`blocks`], [`blocks_compaction`]: the compressed raw tier's codec and the
//!   compactor's statements; [`copy_binary`]: the binary COPY format they stream.
//! - [`samples`]: the one raw-sample reader every raw consumer goes through.
//! - [`aggregate`]: dashboard query SQL, one static statement per aggregation.
//! - [`rollups`]: dirty buckets and their recompute; [`rollup_blocks`]: the
//!   compressed rollup days and the stitched rollup reader ([`rollup_codec`]: their codec).
//! - [`cardinality`]: existing series and series per metric, for the caps.
//! - [`catalog`]: metric names and tag values for query builders.
//! - [`maintenance`]: what Vigil asks PostgreSQL about its own upkeep.
//! - [`users`], [`credentials`]: accounts, sessions, API tokens.
//! - [`dashboards`]: dashboards and panels with versioned writes.
//! - [`redis`]: the optional cache connection and its keys.
//! - [`amqp`]: broker connection and queue topology.
//! - [`alerts`]: alert rules, leases, fenced state writes, events, silences;
//!   [`outbox`]: the notification outbox.

pub mod aggregate;
pub mod alerts;
pub mod amqp;
pub mod blocks;
pub mod blocks_compaction;
pub mod cardinality;
pub mod catalog;
pub mod copy_binary;
pub mod credentials;
pub mod dashboards;
pub mod maintenance;
pub mod outbox;
pub mod partitions;
pub mod points;
pub mod postgres;
pub mod query_generations;
pub mod redis;
pub mod rollup_blocks;
pub mod rollup_codec;
pub mod rollups;
pub mod samples;
pub mod selector;
pub mod series;
pub mod users;

/// Whether a database error is worth retrying (the database or network is sick) or
/// says something about the data itself.
/// Text PostgreSQL cannot store (a NUL character, in text or jsonb): the client's
/// input, not a server fault.
pub fn is_unstorable_text(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("22021" | "22P05")),
        _ => false,
    }
}

pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => match db.code() {
            // 08 connection, 40 rollback (serialization/deadlock), 53 resources,
            // 57 operator intervention (shutdown, cancel), 58 system, 55P03 lock timeout.
            Some(code) => {
                let class = &code[..code.len().min(2)];
                matches!(class, "08" | "40" | "53" | "57" | "58") || code == "55P03"
            }
            None => true,
        },
        _ => false,
    }
}
