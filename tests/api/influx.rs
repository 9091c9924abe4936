//! The Influx write API (`/write`, `/api/v2/write`, `/query`, `/ping`): Telegraf's
//! request shapes (from its influxdb and influxdb_v2 output documentation), escapes,
//! precisions, gzip, field types, a bad line among good ones, and the auth forms.

use std::collections::BTreeMap;

use crate::ecosystem::assert_only_stored;
use crate::helpers::*;

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Telegraf's v1 output headers.
const TELEGRAF_V1: &[(&str, &str)] = &[
    ("Content-Type", "text/plain; charset=utf-8"),
    ("User-Agent", "Telegraf/1.30.0 Go/1.22.1"),
];

/// Writes a sentinel line, then checks that exactly `expected` is stored besides it.
async fn assert_stored_exactly(app: &TestApp, expected: &[(&str, usize)]) {
    app.post_raw("/write", "sentinel v=1", TELEGRAF_V1)
        .await
        .assert_status(204, "sentinel");
    assert_only_stored(app, "sentinel_v", expected).await;
}

#[actix_rt::test]
async fn telegraf_v1_shapes_are_stored_as_measurement_field_series() {
    let app = spawn_app().await;
    let create = app
        .post_raw(
            "/query",
            "q=CREATE+DATABASE+%22telegraf%22",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("User-Agent", "Telegraf/1.30.0"),
            ],
        )
        .await;
    create.assert_status(200, "CREATE DATABASE");
    assert_eq!(create.json()["results"][0]["statement_id"], 0);
    let select = app
        .post_raw(
            "/query",
            "q=SELECT+*+FROM+cpu",
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
        .await;
    select.assert_error(400, "VALIDATION_ERROR", "other InfluxQL");

    let ns = (now_ms() - 30_000) * 1_000_000;
    let lines = format!(
        "cpu,cpu=cpu-total,host=web-1 usage_idle=98.5,usage_user=1.25 {ns}\n\
         mem,host=web-1 available=8000000000i,used_percent=45.5,swap=12u {ns}\n\
         system,host=web-1 uptime_format=\"1 day, 2:03\",n_cpus=2i,healthy=true {ns}\n"
    );
    app.post_raw(
        "/write?db=telegraf&rp=autogen&precision=ns",
        lines,
        TELEGRAF_V1,
    )
    .await
    .assert_status(204, "Telegraf v1 batch");
    let ms = ns / 1_000_000;
    let idle = app.wait_for_points("cpu_usage_idle", 1).await;
    assert_eq!(
        idle[0].labels,
        tags(&[("cpu", "cpu-total"), ("db", "telegraf"), ("host", "web-1")])
    );
    assert_eq!((idle[0].time_ms, idle[0].value), (ms, 98.5));
    assert_eq!(app.wait_for_points("mem_available", 1).await[0].value, 8e9);
    assert_eq!(app.wait_for_points("mem_swap", 1).await[0].value, 12.0);
    assert_eq!(app.wait_for_points("system_healthy", 1).await[0].value, 1.0);
    // String fields are skipped, the rest of their line stored.
    assert_stored_exactly(
        &app,
        &[
            ("cpu_usage_idle", 1),
            ("cpu_usage_user", 1),
            ("mem_available", 1),
            ("mem_swap", 1),
            ("mem_used_percent", 1),
            ("system_healthy", 1),
            ("system_n_cpus", 1),
        ],
    )
    .await;
    let ping = app.client.get(app.url("/ping")).send().await.unwrap();
    assert_eq!(ping.status().as_u16(), 204);
    app.cleanup().await;
}

#[actix_rt::test]
async fn telegraf_v2_gzip_precisions_and_escapes() {
    let app = spawn_app().await;
    let s = now_ms() / 1000 - 60;
    let body = format!(
        "disk,device=sda1,path=/var\\,log,label=a\\ b\\=c used=1i {}\n\
         weather,city=K\\u00f6ln temp=-3.5e0 {}\n",
        s * 1_000_000_000,
        s * 1_000_000_000 + 999_999
    );
    app.post_raw(
        "/api/v2/write?org=acme&bucket=metrics",
        gzip(body.as_bytes()),
        &[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("User-Agent", "Telegraf/1.30.0"),
        ],
    )
    .await
    .assert_status(204, "Telegraf v2 gzip batch");
    let disk = app.wait_for_points("disk_used", 1).await;
    assert_eq!(
        disk[0].labels,
        tags(&[
            ("db", "metrics"),
            ("device", "sda1"),
            ("label", "a b=c"),
            ("path", "/var,log")
        ])
    );
    assert_eq!(disk[0].time_ms, s * 1000);
    let weather = app.wait_for_points("weather_temp", 1).await;
    assert_eq!(
        (weather[0].time_ms, weather[0].value),
        (s * 1000, -3.5),
        "ns cut to ms"
    );
    assert_eq!(
        weather[0].labels["city"], "K\\u00f6ln",
        "a backslash before other characters is literal"
    );

    for (precision, ts, measurement) in [
        ("s", s.to_string(), "prec_s"),
        ("ms", (s * 1000).to_string(), "prec_ms"),
        ("us", (s * 1_000_000).to_string(), "prec_us"),
    ] {
        app.post_raw(
            &format!("/api/v2/write?bucket=b&precision={precision}"),
            format!("{measurement} v=1 {ts}"),
            &[],
        )
        .await
        .assert_status(204, precision);
        let stored = app.wait_for_points(&format!("{measurement}_v"), 1).await;
        assert_eq!(stored[0].time_ms, s * 1000, "precision={precision}");
    }
    app.post_raw(
        "/write?precision=m",
        format!("prec_m v=1 {}", s / 60),
        TELEGRAF_V1,
    )
    .await
    .assert_status(204, "precision=m");
    assert_eq!(
        app.wait_for_points("prec_m_v", 1).await[0].time_ms,
        s / 60 * 60_000
    );
    app.post_raw("/write?precision=d", "x v=1", TELEGRAF_V1)
        .await
        .assert_error(400, "VALIDATION_ERROR", "unknown precision");
    app.cleanup().await;
}

#[actix_rt::test]
async fn a_bad_line_among_good_ones_is_named_and_the_good_ones_stored() {
    let app = spawn_app().await;
    let ms = now_ms() - 10_000;
    let body = format!(
        "good v=1 {ms}\n\
         # a comment line\n\
         broken\n\
         good v=2 {}\n\
         bad,host= v=1 {ms}\n\
         bad v=1 {ms} trailing\n\
         bad v=nope {ms}\n\
         bad,request_id=1 v=1 {ms}\n\
         good v=3 {}\n",
        ms + 1,
        ms + 2
    );
    let response = app
        .post_raw("/write?db=x&precision=ms", body, TELEGRAF_V1)
        .await;
    response.assert_error(400, "VALIDATION_ERROR", "bad lines");
    let json = response.json();
    assert_eq!(json["details"]["accepted"], 3, "{json}");
    assert_eq!(json["details"]["rejected"], 5, "{json}");
    assert_eq!(json["details"]["line"], 3, "{json}");
    let lines: Vec<u64> = json["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 5, 6, 7, 8], "{json}");
    let message = json["error"].as_str().unwrap();
    assert!(
        message.starts_with("partial write: unable to parse 5 of 8 lines"),
        "{message}"
    );
    assert!(
        message.contains("line 8: ") && message.contains("high-cardinality"),
        "{message}"
    );
    // Non-UTF-8 lines are named too.
    let mut raw = format!("good v=4 {}\n", ms + 3).into_bytes();
    raw.extend_from_slice(b"bad,h=\xff v=1\n");
    let response = app
        .post_raw("/write?db=x&precision=ms", raw, TELEGRAF_V1)
        .await;
    response.assert_error(400, "VALIDATION_ERROR", "non-UTF-8 line");
    assert_eq!(response.json()["details"]["line"], 2);
    assert_stored_exactly(&app, &[("good_v", 4)]).await;
    app.cleanup().await;
}

#[actix_rt::test]
async fn a_resent_timestamped_batch_is_stored_once() {
    let app = spawn_app().await;
    let ns = (now_ms() - 5_000) * 1_000_000;
    let body = format!("retry v=1 {ns}\nretry v=2 {}\n", ns + 1_000_000);
    for attempt in 0..3 {
        app.post_raw("/write?db=telegraf", body.clone(), TELEGRAF_V1)
            .await
            .assert_status(204, &format!("attempt {attempt}"));
    }
    // The same lines under another db are other points.
    app.post_raw("/write?db=other", body, TELEGRAF_V1)
        .await
        .assert_status(204, "other db");
    assert_stored_exactly(&app, &[("retry_v", 4)]).await;
    app.cleanup().await;
}

#[actix_rt::test]
async fn influx_auth_forms_when_ingest_keys_are_required() {
    let app = spawn_app_with(|s| s.auth.require_ingest_key = true).await;
    let key = issue_token(&app.db, ADMIN_EMAIL, "ingest").await;
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("telegraf:{key}"))
    );
    let token = format!("Token {key}");
    app.post_raw(
        "/write?db=t",
        "authed v=1",
        &[("Authorization", basic.as_str())],
    )
    .await
    .assert_status(204, "v1 with Basic");
    app.post_raw(
        "/api/v2/write?bucket=t",
        "authed v=2",
        &[("Authorization", token.as_str())],
    )
    .await
    .assert_status(204, "v2 with Token");
    app.post_raw(
        "/query",
        "q=CREATE+DATABASE+t",
        &[("Authorization", basic.as_str())],
    )
    .await
    .assert_status(200, "CREATE DATABASE with Basic");
    app.post_raw("/write?db=t", "authed v=3", TELEGRAF_V1)
        .await
        .assert_error(401, "UNAUTHORIZED", "no credentials");
    app.post_raw("/query", "q=CREATE+DATABASE+t", &[])
        .await
        .assert_error(401, "UNAUTHORIZED", "CREATE DATABASE without credentials");
    let personal = format!("Token {}", app.admin_token);
    app.post_raw(
        "/api/v2/write?bucket=t",
        "authed v=4",
        &[("Authorization", personal.as_str())],
    )
    .await
    .assert_error(403, "FORBIDDEN", "a personal token");
    app.wait_for_points("authed_v", 2).await;
    app.cleanup().await;
}
