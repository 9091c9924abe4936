//! The OpenAPI document: valid OpenAPI 3 (checked by the `openapi-spec-validator`
//! package, installed by scripts/test.sh), every documented route is mounted, and the
//! browsable docs are served from the binary.

use serde_json::Value;

use crate::helpers::*;

#[actix_rt::test]
async fn the_document_is_valid_openapi_3() {
    let app = spawn_app().await;
    let doc = app.get("/api/openapi.json").await;
    doc.assert_status(200, "openapi.json");
    assert!(doc.json()["openapi"].as_str().unwrap().starts_with("3."));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &doc.body).unwrap();
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document (is it installed? scripts/test.sh installs it):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    app.cleanup().await;
}

/// Every (method, path) the document lists reaches a handler: the answer is never
/// the router's "no route" 404. (The unit test in `http::openapi` checks the other
/// direction: every mounted route is documented.)
#[actix_rt::test]
async fn every_documented_route_is_mounted() {
    let app = spawn_app().await;
    let doc = app.get("/api/openapi.json").await.json();
    let paths = doc["paths"].as_object().unwrap();
    let mut unmounted = Vec::new();
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{panelId}", &uuid::Uuid::new_v4().to_string())
            .replace("{name}", "some.metric")
            .replace("{file}", "init.js");
        for method in item.as_object().unwrap().keys() {
            let response = app
                .call(
                    &method.to_uppercase(),
                    &concrete,
                    Some(&Value::Object(Default::default()))
                        .filter(|_| method != "get" && method != "delete"),
                    &Auth::Bearer(app.admin_token.clone()),
                )
                .await;
            checked += 1;
            if response.text().contains("no route for") {
                unmounted.push(format!("{method} {path}"));
            }
        }
    }
    assert!(checked >= 29, "only {checked} operations documented");
    assert!(
        unmounted.is_empty(),
        "documented but not mounted: {unmounted:?}"
    );
    app.cleanup().await;
}

#[actix_rt::test]
async fn browsable_docs_are_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/api/docs").await;
    page.assert_status(200, "/api/docs");
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "init.js"] {
        assert!(page.text().contains(asset), "the page loads {asset}");
        let response = app.get(&format!("/api/docs/{asset}")).await;
        response.assert_status(200, asset);
        assert!(response.body.len() > 100, "{asset} has content");
    }
    assert!(app
        .get("/api/docs/init.js")
        .await
        .text()
        .contains("/api/openapi.json"));
    app.get("/api/docs/..%2Fsecrets").await.assert_error(
        404,
        "NOT_FOUND",
        "only the vendored files",
    );
    app.cleanup().await;
}
