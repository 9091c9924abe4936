//! vigil-agent: the metrics agent that runs on every monitored server, and the client
//! library it is built on.
//!
//! Map of the crate:
//! - [`client`]: `Client::record(name, value, tags)` and `flush`; the delivery thread
//!   that batches, retries and buffers. Any Rust application can use it alone.
//! - [`buffer`] and [`spill`]: the bounded memory + disk buffer of sealed batches.
//! - [`delivery`]: one POST to Vigil and what its answer means; retry delays.
//! - [`point`]: the wire form of a point and Vigil's name/tag rules.
//! - [`host`]: the host collector (/proc, statvfs).
//! - [`exposition`]: the Prometheus text format parser; [`scrape`]: scraping a target.
//! - [`run`]: the agent (client + collectors + scrapers until shutdown).
//! - [`config`]: settings (`config/agent.toml`, a file, `VIGIL_AGENT__...`).
//! - [`process`]: CPU and memory of a process (the agent's own metrics, the benchmark).

pub mod buffer;
pub mod client;
pub mod config;
pub mod delivery;
pub mod exposition;
pub mod host;
pub mod point;
pub mod process;
pub mod run;
pub mod scrape;
pub mod spill;

pub use client::{Client, ClientSettings};
pub use point::{Point, Tags};
