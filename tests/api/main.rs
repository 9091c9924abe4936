//! API tests: Vigil runs in-process against the real local PostgreSQL, RabbitMQ and
//! Redis, one isolated instance per test (see `helpers`), tests in parallel.
//!
//! One module per feature:
//! - `ingest`: accepted and rejected points, every bad input, gzip, size limits.
//! - `query`: exact aggregates over several series, steps and tag filters.
//! - `query_batch`: the batch query, incremental `since`, label matchers.
//! - `catalog`: metric names, tag keys and values.
//! - `cardinality`: caps on new series, reported per point, counted in `/metrics`.
//! - `cache`: repeats answered from Redis, never stale beyond the TTL.
//! - `redelivery`: redelivered or retried batches store no duplicates; poison goes
//!   to the dead-letter queue.
//! - `functions`: groupBy, rate and percentiles.
//! - `rollups`: rollup answers equal raw answers, late data, routing, retention.
//! - `rollup_blocks`: compacted rollup days answer the same and take late points; a
//!   corrupt rollup block fails only the requests and passes that read it.
//! - `compaction`: answers unchanged by compaction, late points, corrupt blocks.
//! - `degraded`: Redis or RabbitMQ unreachable.
//! - `observability`: `/health` and `/metrics`.
//! - `maintenance`: Vigil vacuums the rollup churn itself, summarises BRIN indexes.
//! - `auth`: the authorization matrix, sessions, CSRF, ingest keys, rate limits.
//! - `dashboards`: dashboards and panels, versions, visibility, export/import, cache.
//! - `first_start`: the real binary creates the first admin; `vigil user add`.
//! - `promql`: the Prometheus query API; PromQL answers against a real Prometheus.
//! - `config_cli`: `vigil config` through the real loading path; secrets redacted.
//! - `openapi`: the document is valid, complete, and browsable.
//! - `alerts`, `alerts_notify` (support in `alerts_support`): alert rules, the state
//!   machine, restarts, several instances, notification delivery and its faults.
//!
//! - `remote_write`, `influx` (real senders started by `ecosystem`): Prometheus
//!   remote_write and the Influx write API, their bad input and auth forms.
//!
//! Fault tests that stop a service run serially in the separate `faults` binary.

mod helpers;

mod auth;
mod cache;
mod cardinality;
mod catalog;
mod compaction;
mod config_cli;
mod contract;
mod dashboards;
mod degraded;
mod first_start;
mod functions;
mod ingest;
mod maintenance;
mod observability;
mod openapi;
mod promql;
mod query;
mod query_batch;
mod redelivery;
mod rollup_blocks;
mod rollups;
mod ui;

// --- alerting ---
mod alerts;
mod alerts_notify;
mod alerts_support;

// --- remote_write and line protocol ingest ---
mod ecosystem;
mod influx;
mod remote_write;
