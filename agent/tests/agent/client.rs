//! The client library on its own, as an application would use it: record, flush,
//! and see what Vigil accepted and rejected (a 202 with rejections, and a 400 that
//! must not be retried).

use std::time::Duration;

use vigil_agent::buffer::FlushOutcome;
use vigil_agent::client::{Client, ClientSettings};

use crate::helpers::*;

#[actix_rt::test]
async fn recorded_points_are_stored_once_and_rejections_are_counted() {
    let mut isolation = Isolation::new();
    let dir = tempfile::tempdir().unwrap();
    let mut vigil = Vigil::start(&isolation, dir.path(), &[]).await;
    let db = database(&isolation);

    let mut settings = ClientSettings::new(vigil.address.clone());
    settings.delivery.batch_size = 100;
    settings
        .default_tags
        .insert("service".into(), "checkout".into());
    let client = Client::start(settings).unwrap();
    let start = chrono_free_now_ms() - 10_000;
    for i in 0..1000 {
        client.record_at("orders.placed", i as f64, &[("region", "eu")], start + i);
    }
    // Vigil rejects high-cardinality tag keys; the point is reported, not retried.
    client.record("orders.placed", 1.0, &[("request_id", "abc")]);
    // Non-finite values never leave the process.
    client.record("orders.placed", f64::NAN, &[]);

    let outcome = client.flush(Duration::from_secs(30)).await;
    assert_eq!(outcome, FlushOutcome::Flushed);
    let stats = client.stats();
    assert_eq!(
        (stats.sent, stats.rejected, stats.invalid),
        (1000, 1, 1),
        "{stats:?}"
    );

    let points = wait_for_stored(&db, "orders.placed", 1000).await;
    assert!(points
        .iter()
        .all(|p| p.labels["service"] == "checkout" && p.labels["region"] == "eu"));

    // A batch with nothing valid gets a 400: logged and dropped, never retried.
    client.record("orders.placed", 2.0, &[("trace_id", "t-1")]);
    let outcome = client.flush(Duration::from_secs(30)).await;
    assert_eq!(outcome, FlushOutcome::Flushed);
    let stats = client.stats();
    assert_eq!((stats.rejected, stats.retries), (2, 0), "{stats:?}");
    let report = client.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.lost_points, report.spilled_points), (0, 0));

    vigil.stop().await;
    db.close().await;
    isolation.remove_all().await;
}

/// Vigil's ingest rate limit answers 429 with Retry-After: the client waits as told and
/// resends the same batches, and every point is stored once.
#[actix_rt::test]
async fn rate_limited_batches_are_retried_after_retry_after_and_stored_once() {
    let mut isolation = Isolation::new();
    let dir = tempfile::tempdir().unwrap();
    let mut vigil = Vigil::start(
        &isolation,
        dir.path(),
        &[
            ("VIGIL__AUTH__INGEST_REQUESTS_PER_IP", "3"),
            ("VIGIL__AUTH__INGEST_RATE_WINDOW", "3s"),
        ],
    )
    .await;
    let db = database(&isolation);
    let mut settings = ClientSettings::new(vigil.address.clone());
    settings.delivery.batch_size = 10;
    let client = Client::start(settings).unwrap();
    let start = chrono_free_now_ms() - 10_000;
    for i in 0..80 {
        client.record_at("rate.limited", i as f64, &[], start + i);
    }
    let outcome = client.flush(Duration::from_secs(60)).await;
    assert_eq!(outcome, FlushOutcome::Flushed);
    let stats = client.stats();
    assert!(
        stats.retries > 0,
        "expected 429s to be retried with 8 batches against 3 requests per 3 s: {stats:?}"
    );
    assert_eq!(
        (stats.sent, stats.rejected, stats.dropped),
        (80, 0, 0),
        "{stats:?}"
    );
    let points = wait_for_stored(&db, "rate.limited", 80).await;
    let values: std::collections::BTreeSet<u64> = points.iter().map(|p| p.value as u64).collect();
    assert_eq!(values.len(), 80, "each point once");
    client.shutdown(Duration::from_secs(5)).await;
    vigil.stop().await;
    db.close().await;
    isolation.remove_all().await;
}
