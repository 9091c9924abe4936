//! `GET /api/v1/metrics` and `GET /api/v1/metrics/{name}/tags`: what query builders
//! list, derived from the points that were stored.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::helpers::*;

/// A metric's expected tag keys, each with its sorted values.
type TagsOf = &'static [(&'static str, &'static [&'static str])];

#[actix_web::test]
async fn stored_metrics_are_listed_with_their_tag_keys_and_values() {
    let app = spawn_app().await;
    let t = hour_start_ms(1);
    let body = json!([
        point("cat_cpu", 1.0, &[("host", "x"), ("dc", "one")], t),
        point("cat_cpu", 2.0, &[("host", "y"), ("dc", "one")], t),
        point("cat_cpu", 3.0, &[("host", "z"), ("dc", "two")], t),
        point("cat_cpu", 4.0, &[("host", "x"), ("dc", "one")], t + 10_000),
        point("cat.mem:bytes", 5.0, &[("zone", "z1")], t),
        point("cat_plain", 6.0, &[], t),
    ]);
    app.post_metrics(&body)
        .await
        .assert_status(202, "catalog points");
    app.wait_for_points("cat_cpu", 4).await;
    app.wait_for_points("cat.mem:bytes", 1).await;
    app.wait_for_points("cat_plain", 1).await;

    let response = app.get("/api/v1/metrics").await;
    response.assert_status(200, "GET /api/v1/metrics");
    let listed = response.json();
    let data = listed["data"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a data array; got {listed}"));
    let mut names: Vec<&str> = data.iter().filter_map(|m| m["name"].as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["cat.mem:bytes", "cat_cpu", "cat_plain"],
        "expected the three stored metrics; got {listed}"
    );
    for metric in data {
        assert_eq!(
            metric["type"], "gauge",
            "a metric sent without a type is a gauge; got {metric}"
        );
        assert!(
            metric["unit"].is_string() && metric["description"].is_string(),
            "expected unit and description strings; got {metric}"
        );
    }

    let expectations: [(&str, TagsOf); 3] = [
        (
            "cat_cpu",
            &[("dc", &["one", "two"]), ("host", &["x", "y", "z"])],
        ),
        ("cat.mem:bytes", &[("zone", &["z1"])]),
        ("cat_plain", &[]),
    ];
    for (metric, want) in expectations {
        let response = app.get(&format!("/api/v1/metrics/{metric}/tags")).await;
        response.assert_status(200, &format!("tags of {metric}"));
        let body = response.json();
        let got: BTreeMap<String, Vec<String>> =
            serde_json::from_value::<BTreeMap<String, Vec<String>>>(body["data"].clone())
                .unwrap_or_else(|e| {
                    panic!("tags of {metric}: expected data {{key: [values]}} ({e}); got {body}")
                })
                .into_iter()
                .map(|(k, mut v)| {
                    v.sort();
                    (k, v)
                })
                .collect();
        let want: BTreeMap<String, Vec<String>> = want
            .iter()
            .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect();
        assert_eq!(got, want, "tags of {metric}");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn an_unknown_metric_has_no_tags() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/metrics/never_sent/tags").await;
    let body: Value = response.json();
    let empty_ok = response.status.as_u16() == 200 && body["data"] == json!({});
    let not_found = response.status.as_u16() == 404 && body["code"] == "NOT_FOUND";
    assert!(
        empty_ok || not_found,
        "expected 404 NOT_FOUND or 200 with empty data; got {}",
        response.describe()
    );

    let response = app.get("/api/v1/metrics").await;
    response.assert_status(200, "GET /api/v1/metrics on an empty database");
    assert_eq!(
        response.json()["data"],
        json!([]),
        "a fresh database lists no metrics"
    );
    app.cleanup().await;
}

/// Metrics come in pages by name (`limit`, `after` = `meta.nextAfter`); tag values are
/// capped per key at `query.catalog_values_max`, the first ones by sort order.
#[actix_web::test]
async fn metrics_are_paged_and_tag_values_capped() {
    let app = spawn_app_with(|s| {
        s.query.catalog_page_max = 3;
        s.query.catalog_values_max = 4;
    })
    .await;
    let t = hour_start_ms(1);
    let mut points: Vec<Value> = (0..7)
        .map(|i| point(&format!("page_{i}"), 1.0, &[], t))
        .collect();
    let hosts: Vec<String> = (0..10).map(|i| format!("h{i:02}")).collect();
    for host in &hosts {
        points.push(point("page_0", 2.0, &[("host", host), ("dc", "one")], t));
    }
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "catalog points");
    app.wait_for_points("page_0", 11).await;
    for i in 1..7 {
        app.wait_for_points(&format!("page_{i}"), 1).await;
    }

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..5 {
        let path = match &after {
            None => "/api/v1/metrics".to_string(),
            Some(a) => format!("/api/v1/metrics?after={a}"),
        };
        let response = app.get(&path).await;
        response.assert_status(200, &path);
        let body = response.json();
        assert_eq!(body["meta"]["total"], 7, "{body}");
        let page: Vec<String> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect();
        assert!(page.len() <= 3, "a page holds at most 3: {body}");
        seen.extend(page);
        match body["meta"]["nextAfter"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    let want: Vec<String> = (0..7).map(|i| format!("page_{i}")).collect();
    assert_eq!(
        seen, want,
        "every metric once, in name order, over the pages"
    );

    let response = app.get("/api/v1/metrics?limit=2").await;
    response.assert_status(200, "limit=2");
    assert_eq!(response.json()["data"].as_array().unwrap().len(), 2);
    let clamped = app.get("/api/v1/metrics?limit=4").await;
    clamped.assert_status(200, "a limit above catalog_page_max is served as it");
    assert_eq!(
        clamped.json()["data"].as_array().unwrap().len(),
        3,
        "catalog_page_max is 3 here"
    );
    app.get("/api/v1/metrics?limit=0")
        .await
        .assert_error(400, "VALIDATION_ERROR", "limit 0");

    let response = app.get("/api/v1/metrics/page_0/tags").await;
    response.assert_status(200, "tags of page_0");
    let body = response.json();
    assert_eq!(body["data"]["dc"], json!(["one"]), "{body}");
    assert_eq!(
        body["data"]["host"],
        json!(["h00", "h01", "h02", "h03"]),
        "{body}"
    );
    assert_eq!(body["meta"]["valuesPerKey"], 4, "{body}");
    app.cleanup().await;
}

/// `contains` keeps the names holding a fragment, ignoring case, with `_` a plain
/// character (not a `LIKE` wildcard), paged like the whole listing; a fragment no
/// metric name could hold is refused.
#[actix_web::test]
async fn metrics_are_filtered_by_a_name_fragment_over_pages() {
    let app = spawn_app_with(|s| s.query.catalog_page_max = 2).await;
    let t = hour_start_ms(1);
    let names = [
        "aaa_other",
        "api_cpu_seconds",
        "host_CPU_busy",
        "net_cpu.rx:bytes",
        "zzz_cpuless",
        "a_b",
        "axb",
    ];
    let points: Vec<Value> = names.iter().map(|n| point(n, 1.0, &[], t)).collect();
    app.post_metrics(&Value::Array(points))
        .await
        .assert_status(202, "catalog points");
    for name in names {
        app.wait_for_points(name, 1).await;
    }

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..5 {
        let path = match &after {
            None => "/api/v1/metrics?contains=cpu".to_string(),
            Some(a) => format!("/api/v1/metrics?contains=cpu&after={a}"),
        };
        let response = app.get(&path).await;
        response.assert_status(200, &path);
        let body = response.json();
        assert_eq!(
            body["meta"]["total"], 7,
            "total counts every metric, filter or not: {body}"
        );
        let page = names_of(&body);
        assert!(page.len() <= 2, "a page holds at most 2: {body}");
        seen.extend(page);
        match body["meta"]["nextAfter"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "api_cpu_seconds",
            "host_CPU_busy",
            "net_cpu.rx:bytes",
            "zzz_cpuless"
        ],
        "every name holding cpu in any case, once, in name order"
    );

    let response = app.get("/api/v1/metrics?contains=A_B").await;
    response.assert_status(200, "contains=A_B");
    assert_eq!(
        names_of(&response.json()),
        ["a_b"],
        "_ is a plain character, so axb does not match"
    );
    let response = app.get("/api/v1/metrics?contains=rx:b&limit=1").await;
    response.assert_status(200, "contains=rx:b");
    let body = response.json();
    assert_eq!(names_of(&body), ["net_cpu.rx:bytes"], "{body}");
    assert!(
        body["meta"].get("nextAfter").is_none(),
        "the only match is the last page: {body}"
    );
    let response = app.get("/api/v1/metrics?contains=nothing_like_it").await;
    response.assert_status(200, "a fragment nothing holds");
    assert_eq!(response.json()["data"], json!([]));
    let response = app.get("/api/v1/metrics?contains=").await;
    response.assert_status(200, "an empty fragment");
    let unfiltered = app.get("/api/v1/metrics").await;
    unfiltered.assert_status(200, "no fragment");
    assert_eq!(
        names_of(&response.json()),
        names_of(&unfiltered.json()),
        "an empty fragment filters nothing"
    );

    for bad in ["a%25b", "cpu%20busy", "x%27%20OR%201%3D1"] {
        app.get(&format!("/api/v1/metrics?contains={bad}"))
            .await
            .assert_error(400, "VALIDATION_ERROR", &format!("contains={bad}"));
    }
    let long = "a".repeat(201);
    app.get(&format!("/api/v1/metrics?contains={long}"))
        .await
        .assert_error(
            400,
            "VALIDATION_ERROR",
            "contains longer than ingest.max_name_len",
        );
    app.cleanup().await;
}

fn names_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a data array; got {body}"))
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}
