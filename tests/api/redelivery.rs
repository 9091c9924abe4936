//! Exactly-once storage across redelivery: a message delivered twice (a writer crashed
//! between COMMIT and ack) or a request retried by an agent stores its points once;
//! a message the writers cannot decode goes to the dead-letter queue and does not
//! stop them.

use std::time::Duration;

use lapin::BasicProperties;
use serde_json::json;
use uuid::Uuid;
use vigil::protocol::envelope::{Envelope, SeriesPoints};

use crate::helpers::*;

const QUIET_WINDOW: Duration = Duration::from_secs(1);

async fn metrics_text(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    response.assert_status(200, "GET /metrics");
    response.text()
}

#[actix_web::test]
async fn a_redelivered_envelope_is_stored_once() {
    let app = spawn_app().await;
    let t = hour_start_ms(1);
    let id = Uuid::new_v4();
    let envelope = Envelope {
        v: 1,
        id,
        series: vec![SeriesPoints {
            metric: "redelivered".into(),
            labels: [("host".to_string(), "a".to_string())]
                .into_iter()
                .collect(),
            points: vec![(t, 1.0), (t + 10_000, 2.0), (t + 20_000, 3.0)],
        }],
    };
    let bytes = envelope.encode();

    publish_raw(
        &app.isolation.ingest_queue,
        &bytes,
        BasicProperties::default(),
    )
    .await
    .unwrap();
    app.wait_for_points("redelivered", 3).await;
    publish_raw(
        &app.isolation.ingest_queue,
        &bytes,
        BasicProperties::default(),
    )
    .await
    .unwrap();

    // The duplicate is consumed (acked) without adding rows.
    eventually(STORE_DEADLINE, || async {
        let duplicates = prometheus_sum(&metrics_text(&app).await, "vigil_writer_duplicate_batches_total", &[]);
        let depth = queue_depth(&app.isolation.ingest_queue).await.map_err(|e| e.to_string())?;
        if duplicates >= 1.0 && depth == Some(0) {
            Ok(())
        } else {
            Err(format!("expected the second delivery to be recognised as a duplicate; duplicates {duplicates}, queue depth {depth:?}"))
        }
    })
    .await;
    consistently(QUIET_WINDOW, || async {
        match app.stored_points("redelivered").await.len() {
            3 => Ok(()),
            n => Err(format!("expected the 3 points once; found {n} rows")),
        }
    })
    .await;
    let batches: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ingest_batches WHERE batch_id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        batches, 1,
        "expected the batch id recorded once; found {batches}"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn a_retried_request_with_timestamps_is_stored_once() {
    let app = spawn_app().await;
    let t = hour_start_ms(1);
    let body = json!([
        point("retried", 1.0, &[("host", "a")], t),
        point("retried", 2.0, &[("host", "a")], t + 10_000),
    ]);
    app.post_metrics(&body)
        .await
        .assert_status(202, "first attempt");
    app.post_metrics(&body)
        .await
        .assert_status(202, "retry of the same body");
    app.wait_for_points("retried", 2).await;
    consistently(QUIET_WINDOW, || async {
        match app.stored_points("retried").await.len() {
            2 => Ok(()),
            n => Err(format!(
                "expected a retried body stored once (2 points); found {n}"
            )),
        }
    })
    .await;

    // Points without timestamps are new points each time.
    let untimed = json!([{"name": "untimed", "value": 1.0}]);
    app.post_metrics(&untimed)
        .await
        .assert_status(202, "untimed 1");
    app.post_metrics(&untimed)
        .await
        .assert_status(202, "untimed 2");
    app.wait_for_points("untimed", 2).await;
    app.cleanup().await;
}

#[actix_web::test]
async fn poison_messages_are_dead_lettered_and_the_writers_carry_on() {
    let app = spawn_app().await;
    let queue = app.isolation.ingest_queue.clone();
    publish_raw(
        &queue,
        b"\x00\x01 not an envelope",
        BasicProperties::default(),
    )
    .await
    .unwrap();
    let wrong_version = json!({"v": 99, "id": Uuid::new_v4(), "series": []}).to_string();
    publish_raw(&queue, wrong_version.as_bytes(), BasicProperties::default())
        .await
        .unwrap();

    let dlq = app.isolation.dead_letter_queue.clone();
    eventually(STORE_DEADLINE, || async {
        match queue_depth(&dlq).await {
            Ok(Some(2)) => Ok(()),
            other => Err(format!(
                "expected 2 messages in the dead-letter queue {dlq}; got {other:?}"
            )),
        }
    })
    .await;

    app.post_metrics(&json!([{"name": "after_poison", "value": 1.0}]))
        .await
        .assert_status(202, "a valid point after poison");
    app.wait_for_points("after_poison", 1).await;
    let text = metrics_text(&app).await;
    let dead = prometheus_sum(&text, "vigil_writer_dead_lettered_total", &[]);
    assert_eq!(
        dead,
        2.0,
        "expected vigil_writer_dead_lettered_total = 2; /metrics has {:?}",
        prometheus_samples(&text, "vigil_writer_dead_lettered_total")
    );
    app.cleanup().await;
}
