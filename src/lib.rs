//! Vigil: a metrics monitoring server.
//!
//! Map of the crate (data flows top to bottom):
//! - [`http`]: actix-web handlers, one file per resource; `http::error` maps every
//!   error to the API's JSON error format.
//! - [`protocol`]: pure decoders: the ingest JSON body, and the envelope that carries
//!   validated points through RabbitMQ.
//! - [`model`]: validated domain types (metric names, labels, points, queries).
//! - [`actors`]: the actors (ingest, batch writer, query router, downsampler,
//!   retention, notifier, alert supervisor and its rule actors) and the pool that
//!   spreads requests over them. Each runs under an actix `Supervisor` that restarts
//!   it, except the rule actors, which the alert supervisor restarts when it finds
//!   one stopped.
//! - [`auth`]: passwords, session and token secrets, credential resolution, rate
//!   limits, the first admin.
//! - [`store`]: every SQL statement, every Redis key and the AMQP topology.
//! - [`app`]: opens connections, starts the actor tree and the HTTP server: the
//!   supervision tree in one place.
//! - [`config`]: typed settings; [`telemetry`]: logging and Prometheus metrics;
//!   [`breaker`]: the circuit breaker around the database for queries;
//!   [`series_ids`]: the series ids the process knows, shared by ingest and writers.
//! - [`promql`]: the PromQL engine: plan, fetch, pure evaluation.
//! - [`query`]: the native query engine's pure core (partial aggregates, bucketing).
//! - [`alerting`]: the pure alert state machine and evaluation plan;
//!   [`notify`]: webhook and email delivery, SSRF guard, retry schedule.

pub mod actors;
pub mod alerting;
pub mod app;
pub mod auth;
pub mod breaker;
pub mod config;
#[doc(hidden)]
pub mod fuzz;
pub mod http;
pub mod model;
pub mod notify;
pub mod promql;
pub mod protocol;
pub mod query;
pub mod series_ids;
pub mod store;
pub mod telemetry;
