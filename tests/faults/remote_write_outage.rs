//! Vigil stopped for ~30 s while a real Prometheus remote-writes to it: Prometheus
//! keeps the samples in its WAL and retries the connection errors, and once Vigil is
//! back (same database, queues and port) every sample Prometheus scraped in the
//! meantime is stored, the same ones Prometheus' own TSDB holds.

use std::time::Duration;

use crate::ecosystem::{assert_same_up_samples, External};
use crate::helpers::*;

const OUTAGE: Duration = Duration::from_secs(30);

#[test]
fn vigil_stopped_30s_while_prometheus_remote_writes_loses_nothing() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(scenario());
}

async fn scenario() {
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut first = spawn_app_with(move |s| s.http.addr = addr).await;
    let prometheus = External::prometheus(&first.url("/api/v1/write"), "unused");
    prometheus.wait_ready().await;
    let instance = format!("127.0.0.1:{}", prometheus.port);
    let selector = format!("up{{job=\"prometheus\",instance=\"{instance}\"}}");
    eventually(Duration::from_secs(60), || async {
        match first.stored_points("up").await.len() {
            n if n >= 3 => Ok(()),
            n => Err(format!(
                "expected 3 up samples before the outage; got {n}; Prometheus log:\n{}",
                prometheus.log_tail()
            )),
        }
    })
    .await;

    first.stop().await;
    let stopped_at = now_ms();
    tokio::time::sleep(OUTAGE).await;
    let isolation = first.isolation.clone();
    let second = spawn_app_with(move |s| {
        isolation.apply(s);
        s.http.addr = addr;
    })
    .await;
    let restarted_at = now_ms();

    // Wait for Prometheus to catch up past the outage, then compare everything up to
    // a few seconds after the restart with what Prometheus holds itself.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let until = restarted_at + 3_000;
    let truth = prometheus
        .prometheus_raw(&selector, 600, until as f64 / 1000.0)
        .await;
    let during: Vec<&(i64, f64)> = truth
        .iter()
        .filter(|(t, _)| (stopped_at..restarted_at).contains(t))
        .collect();
    assert!(
        during.len() >= 20,
        "Prometheus scraped only {} times during the {OUTAGE:?} outage: {truth:?}",
        during.len()
    );
    assert_same_up_samples(&second, &truth, &prometheus).await;
    drop(prometheus);
    second.cleanup().await;
    first.cleanup().await;
}
