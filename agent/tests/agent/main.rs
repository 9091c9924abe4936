//! Integration tests of vigil-agent against a real Vigil (the workspace's `vigil`
//! binary), the local PostgreSQL/RabbitMQ/Redis, and real exporters. One binary, a
//! module per feature; `helpers` is the harness.

mod client;
mod helpers;
mod host;
mod outage;
mod restart;
mod scrape;
mod targets;
