//! Prometheus remote_write 1.0 at `/api/v1/write` and `/prometheus/api/v1/write`:
//! hand-built requests stored exactly (labels, stale markers, metadata, retries),
//! every kind of bad input with its status and nothing else stored, the auth header
//! forms, and real senders: Prometheus (its samples compared with its own TSDB) and
//! vmagent.

use std::collections::BTreeMap;
use std::time::Duration;

use vigil::protocol::remote_write::{
    encode, Label, MetricMetadata, Sample, TimeSeries, WriteRequest, STALE_NAN_BITS,
};

use crate::ecosystem::{assert_only_stored, assert_same_up_samples, External};
use crate::helpers::*;

fn label(name: &str, value: &str) -> Label {
    Label {
        name: bytes::Bytes::copy_from_slice(name.as_bytes()),
        value: bytes::Bytes::copy_from_slice(value.as_bytes()),
    }
}

fn series(labels: Vec<Label>, samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels,
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        histograms: Vec::new(),
    }
}

fn body(timeseries: Vec<TimeSeries>) -> Vec<u8> {
    encode(&WriteRequest {
        timeseries,
        metadata: Vec::new(),
    })
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

async fn write(app: &TestApp, path: &str, body: Vec<u8>) -> TestResponse {
    app.post_raw(path, body, HEADERS).await
}

/// Writes a sentinel series, then checks that exactly `expected` is stored besides it.
async fn assert_stored_exactly(app: &TestApp, expected: &[(&str, usize)]) {
    let sentinel = body(vec![series(
        vec![label("__name__", "sentinel")],
        &[(now_ms(), 1.0)],
    )]);
    write(app, "/api/v1/write", sentinel)
        .await
        .assert_status(204, "sentinel");
    assert_only_stored(app, "sentinel", expected).await;
}

#[actix_rt::test]
async fn stores_samples_with_their_labels_on_both_paths() {
    let app = spawn_app().await;
    let t = now_ms() - 60_000;
    let stale = f64::from_bits(STALE_NAN_BITS);
    let request = body(vec![
        series(
            vec![
                label("__name__", "http_request_duration_seconds_bucket"),
                label("instance", "127.0.0.1:9100"),
                label("job", "node"),
                label("le", "0.5"),
            ],
            &[(t, 3.0), (t + 15_000, 7.0), (t + 30_000, stale)],
        ),
        series(
            vec![label("__name__", "rpc_latency"), label("quantile", "0.99")],
            &[(t, 0.25)],
        ),
    ]);
    write(&app, "/api/v1/write", request)
        .await
        .assert_status(204, "remote_write");
    let points = app
        .wait_for_points("http_request_duration_seconds_bucket", 2)
        .await;
    let want = tags(&[
        ("instance", "127.0.0.1:9100"),
        ("job", "node"),
        ("le", "0.5"),
    ]);
    assert_eq!(
        points
            .iter()
            .map(|p| (p.labels.clone(), p.time_ms, p.value))
            .collect::<Vec<_>>(),
        vec![(want.clone(), t, 3.0), (want, t + 15_000, 7.0)],
        "the stale marker is not stored"
    );
    let other = app.wait_for_points("rpc_latency", 1).await;
    assert_eq!(other[0].labels, tags(&[("quantile", "0.99")]));

    let prefixed = body(vec![series(
        vec![label("__name__", "via_prefix"), label("job", "x")],
        &[(t, 1.5)],
    )]);
    write(&app, "/prometheus/api/v1/write", prefixed)
        .await
        .assert_status(204, "prefixed path");
    assert_eq!(app.wait_for_points("via_prefix", 1).await[0].value, 1.5);
    app.cleanup().await;
}

#[actix_rt::test]
async fn a_retried_body_is_stored_once_and_metadata_fills_the_catalogue() {
    let app = spawn_app().await;
    let t = now_ms() - 10_000;
    let request = encode(&WriteRequest {
        timeseries: vec![series(
            vec![label("__name__", "jobs_done_total"), label("job", "w")],
            &[(t, 1.0), (t + 1000, 2.0)],
        )],
        metadata: vec![MetricMetadata {
            r#type: 1,
            metric_family_name: "jobs_done_total".into(),
            help: "Jobs finished.".into(),
            unit: "jobs".into(),
        }],
    });
    for attempt in 0..3 {
        write(&app, "/api/v1/write", request.clone())
            .await
            .assert_status(204, &format!("attempt {attempt}"));
    }
    assert_stored_exactly(&app, &[("jobs_done_total", 2)]).await;
    let row: (String, String, String) = sqlx::query_as(
        "SELECT type, description, unit FROM metric_definitions WHERE name = 'jobs_done_total'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        row,
        ("counter".into(), "Jobs finished.".into(), "jobs".into())
    );
    app.cleanup().await;
}

#[actix_rt::test]
async fn bad_bodies_get_their_status_and_store_nothing() {
    let app = spawn_app().await;
    let good = body(vec![series(
        vec![label("__name__", "up")],
        &[(now_ms(), 1.0)],
    )]);

    let truncated = good[..good.len() - 4].to_vec();
    write(&app, "/api/v1/write", truncated).await.assert_error(
        400,
        "VALIDATION_ERROR",
        "truncated snappy",
    );

    let forged = vec![0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x01, 0x02];
    let response = write(&app, "/api/v1/write", forged).await;
    response.assert_error(413, "PAYLOAD_TOO_LARGE", "forged decompressed length");
    assert!(
        response.text().contains("1073741824"),
        "{}",
        response.describe()
    );

    let garbage = snap::raw::Encoder::new()
        .compress_vec(b"\x0a\xff\xff\xff\xff\x0fnot a protobuf at all")
        .unwrap();
    write(&app, "/api/v1/write", garbage).await.assert_error(
        400,
        "VALIDATION_ERROR",
        "protobuf garbage",
    );

    let v2 = app
        .post_raw(
            "/api/v1/write",
            good.clone(),
            &[
                (
                    "Content-Type",
                    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                ),
                ("Content-Encoding", "snappy"),
                ("X-Prometheus-Remote-Write-Version", "2.0.0"),
            ],
        )
        .await;
    v2.assert_status(415, "remote_write 2.0");
    assert!(v2.text().contains("2.0"), "{}", v2.describe());

    let gzip_body = app
        .post_raw(
            "/api/v1/write",
            gzip(&good),
            &[("Content-Encoding", "gzip")],
        )
        .await;
    gzip_body.assert_status(415, "gzip instead of snappy");

    let many: Vec<(i64, f64)> = (0..60_000).map(|i| (now_ms() - 60_000 + i, 1.0)).collect();
    let too_many = body(vec![series(vec![label("__name__", "many")], &many)]);
    write(&app, "/api/v1/write", too_many).await.assert_error(
        413,
        "PAYLOAD_TOO_LARGE",
        "over max_points_per_request",
    );

    assert_stored_exactly(&app, &[]).await;
    app.cleanup().await;
}

#[actix_rt::test]
async fn bad_series_are_rejected_with_a_text_reason_and_the_good_ones_stored() {
    let app = spawn_app().await;
    let t = now_ms() - 5_000;
    let mut not_utf8 = label("host", "x");
    not_utf8.value = bytes::Bytes::from_static(&[b'a', 0xff, 0xfe]);
    let request = body(vec![
        series(
            vec![label("__name__", "good"), label("job", "a")],
            &[(t, 1.0)],
        ),
        series(
            vec![
                label("__name__", "dup"),
                label("job", "a"),
                label("job", "b"),
            ],
            &[(t, 1.0)],
        ),
        series(
            vec![
                label("job", "z"),
                label("__name__", "unsorted"),
                label("instance", "i"),
            ],
            &[(t, 2.0)],
        ),
        series(
            vec![
                label("__name__", "empty_value"),
                label("job", "a"),
                label("zone", ""),
            ],
            &[(t, 3.0)],
        ),
        series(vec![label("__name__", "not_utf8"), not_utf8], &[(t, 1.0)]),
        series(
            vec![
                label("__name__", "huge"),
                label("path", &"p".repeat(100_000)),
            ],
            &[(t, 1.0)],
        ),
        series(vec![label("job", "no_name")], &[(t, 1.0)]),
        series(
            vec![label("__name__", "nan_value")],
            &[(t, f64::NAN), (t + 1, 4.0)],
        ),
    ]);
    let response = write(&app, "/api/v1/write", request).await;
    response.assert_status(400, "some invalid series");
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let text = response.text();
    assert!(
        text.starts_with("4 samples rejected in 4 series, 5 samples stored"),
        "{text}"
    );
    for needle in [
        "series 1: ",
        "appears twice",
        "series 4: ",
        "not UTF-8",
        "series 5: ",
        "series 6: ",
        "no __name__",
    ] {
        assert!(text.contains(needle), "expected {needle:?} in {text}");
    }
    assert!(
        !text.contains("series 7: "),
        "a NaN is a value, not an invalid sample: {text}"
    );
    assert!(
        text.len() < 4000,
        "a huge label value is not echoed whole: {} bytes",
        text.len()
    );
    assert_eq!(
        app.wait_for_points("unsorted", 1).await[0].labels,
        tags(&[("instance", "i"), ("job", "z")])
    );
    assert_eq!(
        app.wait_for_points("empty_value", 1).await[0].labels,
        tags(&[("job", "a")])
    );
    let nan = app.wait_for_points("nan_value", 2).await;
    assert!(
        nan[0].value.is_nan() && nan[1].value == 4.0,
        "a real NaN (not the stale marker) is stored as NaN: {:?}",
        nan.iter().map(|p| p.value).collect::<Vec<_>>()
    );
    assert_stored_exactly(
        &app,
        &[
            ("empty_value", 1),
            ("good", 1),
            ("nan_value", 2),
            ("unsorted", 1),
        ],
    )
    .await;
    app.cleanup().await;
}

#[actix_rt::test]
async fn every_auth_header_form_is_accepted_when_ingest_keys_are_required() {
    let app = spawn_app_with(|s| s.auth.require_ingest_key = true).await;
    let key = issue_token(&app.db, ADMIN_EMAIL, "ingest").await;
    let t = now_ms() - 1000;
    let request = |i: i64| {
        body(vec![series(
            vec![label("__name__", "authed")],
            &[(t + i, i as f64)],
        )])
    };
    use base64::Engine as _;
    let basic = |user_pass: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    };
    let forms = [
        format!("Bearer {key}"),
        format!("Token {key}"),
        basic(&format!("prometheus:{key}")),
    ];
    for (i, form) in forms.iter().enumerate() {
        let mut headers = HEADERS.to_vec();
        headers.push(("Authorization", form));
        app.post_raw("/api/v1/write", request(i as i64), &headers)
            .await
            .assert_status(204, form);
    }
    write(&app, "/api/v1/write", request(9)).await.assert_error(
        401,
        "UNAUTHORIZED",
        "no credentials",
    );
    let mut headers = HEADERS.to_vec();
    let personal = basic(&format!("grafana:{}", app.admin_token));
    headers.push(("Authorization", &personal));
    app.post_raw("/api/v1/write", request(9), &headers)
        .await
        .assert_error(403, "FORBIDDEN", "a personal token is not an ingest key");
    let wrong = basic("prometheus:vgl_i_0000");
    let mut headers = HEADERS.to_vec();
    headers.push(("Authorization", &wrong));
    app.post_raw("/api/v1/write", request(9), &headers)
        .await
        .assert_error(401, "UNAUTHORIZED", "an unknown key");
    // The same forms work on the rest of the API (a reader with Basic auth).
    let me = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .insert_header(("Authorization", personal.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200, "Basic auth on /api/v1/auth/me");
    app.wait_for_points("authed", 3).await;
    app.cleanup().await;
}

#[actix_rt::test]
async fn a_real_prometheus_remote_writes_its_own_series() {
    let app = spawn_app_with(|s| s.auth.require_ingest_key = true).await;
    let key = issue_token(&app.db, ADMIN_EMAIL, "ingest").await;
    let prometheus = External::prometheus(&app.url("/api/v1/write"), &key);
    prometheus.wait_ready().await;
    let instance = format!("127.0.0.1:{}", prometheus.port);
    // Prometheus' own build info arrives with its labels as Prometheus has them.
    let info = eventually(Duration::from_secs(60), || async {
        let points = app.stored_points("prometheus_build_info").await;
        points.into_iter().next().ok_or_else(|| {
            format!(
                "no prometheus_build_info yet; Prometheus log:\n{}",
                prometheus.log_tail()
            )
        })
    })
    .await;
    assert_eq!(info.labels["job"], "prometheus");
    assert_eq!(info.labels["instance"], instance);
    assert!(
        info.labels["version"].starts_with("2."),
        "{:?}",
        info.labels
    );
    assert_eq!(info.value, 1.0);
    // Histogram buckets keep `le`.
    let buckets: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM series WHERE metric = 'prometheus_http_request_duration_seconds_bucket' AND labels ? 'le'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(buckets > 0, "no histogram bucket series with le");
    // Metadata arrives too.
    eventually(Duration::from_secs(30), || async {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT type, description FROM metric_definitions WHERE name = 'prometheus_http_requests_total'",
        )
        .fetch_optional(&app.db)
        .await
        .unwrap();
        match row {
            Some((kind, help)) if kind == "counter" && !help.is_empty() => Ok(()),
            other => Err(format!("expected counter metadata with HELP; got {other:?}")),
        }
    })
    .await;
    // Every `up` sample Prometheus has is stored, with the same timestamps.
    let selector = format!("up{{job=\"prometheus\",instance=\"{instance}\"}}");
    let truth = eventually(Duration::from_secs(60), || async {
        // A few seconds back, so that the last samples had time to be sent.
        let at_s = (now_ms() - 3_000) as f64 / 1000.0;
        let truth = prometheus.prometheus_raw(&selector, 600, at_s).await;
        if truth.len() >= 5 {
            Ok(truth)
        } else {
            Err(format!("Prometheus holds only {truth:?}"))
        }
    })
    .await;
    assert_same_up_samples(&app, &truth, &prometheus).await;
    drop(prometheus);
    app.cleanup().await;
}

#[actix_rt::test]
async fn vmagent_remote_writes_to_vigil() {
    let app = spawn_app_with(|s| s.auth.require_ingest_key = true).await;
    let key = issue_token(&app.db, ADMIN_EMAIL, "ingest").await;
    let vmagent = External::vmagent(&app.url("/api/v1/write"), &key);
    vmagent.wait_ready().await;
    let instance = format!("127.0.0.1:{}", vmagent.port);
    let up = eventually(Duration::from_secs(60), || async {
        let points = app.stored_points("up").await;
        points.into_iter().next().ok_or_else(|| {
            format!(
                "no up sample from vmagent yet; its log:\n{}",
                vmagent.log_tail()
            )
        })
    })
    .await;
    assert_eq!(
        up.labels,
        tags(&[("instance", &instance), ("job", "vmagent")])
    );
    assert_eq!(up.value, 1.0);
    let own: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM series WHERE metric LIKE 'vmagent_%' AND labels->>'job' = 'vmagent'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(own > 0, "no vmagent_* series arrived");
    drop(vmagent);
    app.cleanup().await;
}
