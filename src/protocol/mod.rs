//! Wire formats, as pure functions from bytes to model types (no I/O).
//!
//! - [`json`]: the body of `POST /api/v1/metrics`.
//! - [`envelope`]: the message that carries validated points through RabbitMQ.

pub mod envelope;
pub mod json;
