//! Wire formats, as pure functions from bytes to model types (no I/O).
//!
//! - [`json`]: the body of `POST /api/v1/metrics`.
//! - [`envelope`]: the message that carries validated points through RabbitMQ.
//! - [`remote_write`]: Prometheus remote_write 1.0 (snappy + protobuf).
//! - [`line`]: the InfluxDB line protocol.
//! - [`protobuf`]: a borrowing protobuf field reader (remote_write's decoder).

pub mod envelope;
pub mod json;
pub mod line;
pub mod protobuf;
pub mod remote_write;
