//! API tests: Vigil runs in-process against the real local PostgreSQL, RabbitMQ and
//! Redis, one isolated instance per test (see `helpers`), tests in parallel.
//!
//! One module per feature:
//! - `ingest`: accepted and rejected points, every bad input, gzip, size limits.
//! - `query`: exact aggregates over several series, steps and tag filters.
//! - `catalog`: metric names, tag keys and values.
//! - `cardinality`: caps on new series, reported per point, counted in `/metrics`.
//! - `cache`: repeats answered from Redis, never stale beyond the TTL.
//! - `redelivery`: redelivered or retried batches store no duplicates; poison goes
//!   to the dead-letter queue.
//! - `functions`: groupBy, rate and percentiles.
//! - `rollups`: rollup answers equal raw answers, late data, routing, retention.
//! - `degraded`: Redis or RabbitMQ unreachable.
//! - `observability`: `/health` and `/metrics`.
//! - `auth`: the authorization matrix, sessions, CSRF, ingest keys, rate limits.
//! - `dashboards`: dashboards and panels, versions, visibility, export/import, cache.
//! - `first_start`: the real binary creates the first admin; `vigil user add`.
//! - `config_cli`: `vigil config` through the real loading path; secrets redacted.
//! - `openapi`: the document is valid, complete, and browsable.
//! - `alerts`, `alerts_notify` (support in `alerts_support`): alert rules, the state
//!   machine, restarts, several instances, notification delivery and its faults.
//!
//! Fault tests that stop a service run serially in the separate `faults` binary.

mod helpers;

mod auth;
mod cache;
mod cardinality;
mod catalog;
mod config_cli;
mod dashboards;
mod degraded;
mod first_start;
mod functions;
mod ingest;
mod observability;
mod openapi;
mod query;
mod redelivery;
mod rollups;

// --- alerting ---
mod alerts;
mod alerts_notify;
mod alerts_support;
