//! The web UI as the binary serves it: index.html for client routes, hashed assets
//! cached for good, a strict Content-Security-Policy, gzip, and the server's own
//! prefixes never swallowed by the fallback. Also: the API document the UI's types
//! are generated from is the one the server serves (web/src/api/openapi.json).

use std::io::Read;

use flate2::read::GzDecoder;
use serde_json::Value;
use vigil::http::ui::Assets;

use crate::helpers::{spawn_app, TestApp};

struct Got {
    status: u16,
    headers: awc::http::header::HeaderMap,
    body: bytes::Bytes,
}

impl Got {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

async fn fetch(app: &TestApp, method: &str, path: &str, gzip: bool) -> Got {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, app.url(path));
    if gzip {
        request = request.insert_header(("Accept-Encoding", "gzip, br"));
    }
    let mut response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let body = response.body().limit(16 * 1024 * 1024).await.unwrap();
    Got {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body,
    }
}

fn require_built_ui() -> String {
    let index = Assets::get("index.html").expect(
        "web/dist/index.html is not in this build: run scripts/web-build.sh (scripts/test.sh does), then rebuild",
    );
    String::from_utf8(index.data.into_owned()).unwrap()
}

#[actix_web::test]
async fn index_and_client_routes_get_the_app_shell_uncached_with_a_strict_csp() {
    let index = require_built_ui();
    let app = spawn_app().await;
    for path in [
        "/",
        "/dashboards",
        "/d/6f1c2b9e-0000-4000-8000-000000000000?from=now-6h",
        "/alerts/rules/new",
    ] {
        let got = fetch(&app, "GET", path, false).await;
        assert_eq!(got.status, 200, "GET {path}");
        assert_eq!(got.body, index.as_bytes(), "GET {path} is not index.html");
        assert!(
            got.header("content-type").starts_with("text/html"),
            "GET {path}"
        );
        assert_eq!(got.header("cache-control"), "no-cache", "GET {path}");
        let csp = got.header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "GET {path}: CSP {csp:?}");
        assert!(!csp.contains("unsafe-eval"), "GET {path}: CSP {csp:?}");
        assert!(
            !csp.split(';')
                .any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")),
            "GET {path}: CSP {csp:?}"
        );
    }
    // No inline script for the CSP to block: every <script> has a src.
    for tag in index.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(
            open.contains("src="),
            "inline script in index.html: <script{open}>"
        );
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn hashed_assets_are_immutable_and_compressed() {
    let index = require_built_ui();
    let app = spawn_app().await;
    let script = index
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("index.html names its script");
    assert!(script.starts_with("/assets/"), "{script}");

    let plain = fetch(&app, "GET", script, false).await;
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(
        plain.header("content-type").contains("javascript"),
        "{}",
        plain.header("content-type")
    );
    assert_eq!(plain.header("content-encoding"), "");

    let gz = fetch(&app, "GET", script, true).await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), "gzip");
    assert!(
        gz.body.len() * 2 < plain.body.len(),
        "gzip saved too little: {} of {}",
        gz.body.len(),
        plain.body.len()
    );
    let mut unpacked = Vec::new();
    GzDecoder::new(&gz.body[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, plain.body, "gzip body differs from the file");

    // The stylesheet too; index.html is below the size worth compressing.
    let style = index
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.ends_with(".css"))
        .expect("index.html links its stylesheet");
    let css = fetch(&app, "GET", style, true).await;
    assert_eq!(css.header("content-encoding"), "gzip");
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    app.cleanup().await;
}

#[actix_web::test]
async fn the_fallback_never_answers_for_the_server_or_for_missing_assets() {
    require_built_ui();
    let app = spawn_app().await;
    for path in [
        "/api/v1/no-such-thing",
        "/api",
        "/prometheus/api/v1/nothing",
        "/health/extra",
        "/metrics/x",
    ] {
        let got = fetch(&app, "GET", path, false).await;
        assert_eq!(got.status, 404, "GET {path}");
        let body: Value =
            serde_json::from_slice(&got.body).unwrap_or_else(|_| panic!("GET {path}: not JSON"));
        assert_eq!(body["code"], "NOT_FOUND", "GET {path}: {body}");
    }
    let missing = fetch(&app, "GET", "/assets/index-00000000.js", false).await;
    assert_eq!(
        missing.status, 404,
        "a missing hashed asset is not index.html"
    );
    for method in ["POST", "PUT", "DELETE"] {
        let got = fetch(&app, method, "/dashboards", false).await;
        assert_eq!(got.status, 404, "{method} /dashboards");
        assert!(
            got.header("content-type").contains("json"),
            "{method} /dashboards"
        );
    }
    // The server's own GETs still answer as before.
    assert_eq!(fetch(&app, "GET", "/metrics", false).await.status, 200);
    assert!(fetch(&app, "GET", "/api/openapi.json", false)
        .await
        .header("content-type")
        .contains("json"));
    app.cleanup().await;
}

/// The UI's API types are generated from web/src/api/openapi.json; this fails when
/// the server's document has moved on. Regenerate with
/// `VIGIL_UPDATE_API_SNAPSHOT=1 cargo test --release --test api ui::` and
/// `npm --prefix web run gen:api`.
#[actix_web::test]
async fn the_ui_api_snapshot_is_the_served_document() {
    let app = spawn_app().await;
    let served = fetch(&app, "GET", "/api/openapi.json", false).await;
    let served: Value = serde_json::from_slice(&served.body).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/src/api/openapi.json");
    if std::env::var_os("VIGIL_UPDATE_API_SNAPSHOT").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&served).unwrap() + "\n").unwrap();
    }
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        snapshot == served,
        "web/src/api/openapi.json is stale: run VIGIL_UPDATE_API_SNAPSHOT=1 cargo test --release --test api ui:: \
         then npm --prefix web run gen:api, and commit both"
    );
    app.cleanup().await;
}
