//! The client library in an application: record a few points and flush them.
//!
//!     cargo run --release -p vigil-agent --example record -- http://127.0.0.1:8080
//!
//! Prints what Vigil accepted. Works without an async runtime: the client delivers
//! from a thread of its own.

use std::time::Duration;

use vigil_agent::buffer::FlushOutcome;
use vigil_agent::{Client, ClientSettings};

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let mut settings = ClientSettings::new(url);
    // Optional: an ingest key, and tags every point gets.
    settings.server.ingest_key = std::env::var("VIGIL_INGEST_KEY").unwrap_or_default();
    settings
        .default_tags
        .insert("service".into(), "example".into());
    let client = Client::start(settings).expect("starting the client");

    for i in 0..10 {
        client.record("example.orders.placed", i as f64, &[("region", "eu")]);
    }
    client.record("example.queue.depth", 42.0, &[]);

    match client.flush_blocking(Duration::from_secs(10)) {
        FlushOutcome::Flushed => {
            let stats = client.stats();
            println!(
                "flushed: {} accepted, {} rejected",
                stats.sent, stats.rejected
            );
        }
        FlushOutcome::TimedOut { buffered } => {
            println!("Vigil did not take the points within 10 s; {buffered} still buffered")
        }
    }
}
