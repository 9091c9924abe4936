//! Logging and the Prometheus metrics exposed on `/metrics`.

pub mod logging;
pub mod metrics;

pub use logging::init_logging;
pub use metrics::Metrics;
