//! Cardinality caps: a point that would create a series over a cap is refused with
//! its own reason under its own index, points of existing series keep going through,
//! and `/metrics` counts the refusals by cap.

use serde_json::{json, Value};

use crate::helpers::*;

fn body(metric: &str, hosts: impl Iterator<Item = String>, t: i64) -> Value {
    Value::Array(
        hosts
            .map(|h| json!({"name": metric, "value": 1.0, "timestamp": t, "tags": {"host": h}}))
            .collect(),
    )
}

fn limited(metrics: &str, limit: &str) -> u64 {
    let prefix = format!("vigil_ingest_series_limited_points_total{{limit=\"{limit}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.trim().parse().unwrap())
}

fn rejected_indexes(body: &Value, needle: &str) -> Vec<u64> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"].as_str().unwrap_or("").contains(needle))
        .map(|e| e["index"].as_u64().unwrap())
        .collect()
}

#[actix_web::test]
async fn series_over_the_per_metric_cap_are_refused_and_existing_ones_accepted() {
    let app = spawn_app_with(|s| {
        s.ingest.max_series_per_metric = 3;
        s.ingest.series_count_refresh = std::time::Duration::from_millis(1);
    })
    .await;
    let t = now_ms() - 60_000;
    let first = app
        .post_metrics(&body("card_m", (0..5).map(|i| format!("h{i}")), t))
        .await;
    first.assert_status(202, "five new series against a cap of three");
    let report = first.json();
    assert_eq!(report["accepted"], 3, "{report}");
    assert_eq!(report["rejected"], 2, "{report}");
    assert_eq!(
        rejected_indexes(&report, "max_series_per_metric"),
        [3, 4],
        "{report}"
    );
    app.wait_for_points("card_m", 3).await;

    // The three existing series go through, a new one is still refused; a bad point
    // keeps its own reason and index.
    let mut mixed = body(
        "card_m",
        ["h9", "h0", "h1", "h2"].map(String::from).into_iter(),
        t + 10_000,
    );
    mixed
        .as_array_mut()
        .unwrap()
        .insert(1, json!({"name": "card_m", "value": "NaN"}));
    let second = app.post_metrics(&mixed).await;
    second.assert_status(202, "existing series with a new one");
    let report = second.json();
    assert_eq!(report["accepted"], 3, "{report}");
    assert_eq!(
        rejected_indexes(&report, "max_series_per_metric"),
        [0],
        "{report}"
    );
    assert_eq!(report["rejected"], 2, "{report}");
    app.wait_for_points("card_m", 6).await;
    let series: i64 = sqlx::query_scalar("SELECT count(*) FROM series WHERE metric = 'card_m'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(series, 3, "the series table did not grow past the cap");

    // Another metric has a cap of its own.
    app.post_metrics(&body("card_other", (0..3).map(|i| format!("h{i}")), t))
        .await
        .assert_status(202, "another metric");
    let metrics = app.get("/metrics").await.text();
    assert_eq!(limited(&metrics, "per_metric"), 3, "{metrics}");
    app.cleanup().await;
}

#[actix_web::test]
async fn new_series_per_window_are_capped_overall_and_per_ingest_key() {
    let app = spawn_app_with(|s| {
        s.ingest.max_new_series_per_window = 6;
        s.ingest.max_new_series_per_key = 2;
    })
    .await;
    let key_a = issue_token(&app.db, ADMIN_EMAIL, "ingest").await;
    let key_b = issue_token(&app.db, ADMIN_EMAIL, "ingest").await;
    let t = now_ms() - 60_000;
    let post = |key: String, body: Value| {
        let url = app.url("/api/v1/metrics");
        async move {
            let mut response = authorized_client(&key)
                .post(url)
                .send_json(&body)
                .await
                .expect("ingest response");
            let status = response.status().as_u16();
            let bytes = response.body().await.unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let (status, report) = post(
        key_a.clone(),
        body("card_w", (0..3).map(|i| format!("a{i}")), t),
    )
    .await;
    assert_eq!(status, 202, "{report}");
    assert_eq!(report["accepted"], 2, "{report}");
    assert_eq!(
        rejected_indexes(&report, "max_new_series_per_key"),
        [2],
        "{report}"
    );
    let (status, report) = post(
        key_b.clone(),
        body("card_w", (0..2).map(|i| format!("b{i}")), t),
    )
    .await;
    assert_eq!(
        (status, report["accepted"].clone()),
        (202, json!(2)),
        "{report}"
    );
    // Without a key only the overall cap applies: 4 of 6 are used.
    let anonymous = app
        .post_metrics(&body("card_w", (0..4).map(|i| format!("n{i}")), t))
        .await;
    anonymous.assert_status(202, "anonymous new series");
    let report = anonymous.json();
    assert_eq!(report["accepted"], 2, "{report}");
    assert_eq!(
        rejected_indexes(&report, "max_new_series_per_window"),
        [2, 3],
        "{report}"
    );
    // Existing series of key a still go through.
    let (status, report) = post(
        key_a,
        body("card_w", (0..2).map(|i| format!("a{i}")), t + 1_000),
    )
    .await;
    assert_eq!(
        (status, report["accepted"].clone()),
        (202, json!(2)),
        "{report}"
    );
    app.wait_for_points("card_w", 8).await;
    let metrics = app.get("/metrics").await.text();
    assert_eq!(limited(&metrics, "per_key_window"), 1, "{metrics}");
    assert_eq!(limited(&metrics, "per_window"), 2, "{metrics}");
    app.cleanup().await;
}
