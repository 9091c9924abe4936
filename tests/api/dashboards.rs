//! Dashboards and panels: CRUD, layout saves, optimistic concurrency, visibility,
//! validation, export/import and the Redis read cache.

use serde_json::{json, Value};

use crate::helpers::*;

fn panel(title: &str, x: u32, y: u32) -> Value {
    json!({
        "title": title,
        "type": "line",
        "query": {"query": "cpu.usage", "aggregation": "avg", "tags": {"host": "a"}, "groupBy": ["core"], "step": "1m"},
        "options": {"unit": "%", "color": "#3366ff", "showLegend": true,
                    "thresholds": [{"value": 80, "color": "orange"}, {"value": 95, "color": "red"}],
                    "calculation": "last", "min": 0, "max": 100},
        "position": {"x": x, "y": y, "w": 12, "h": 8}
    })
}

async fn editor(app: &TestApp, email: &str) -> Auth {
    app.call(
        "POST",
        "/api/v1/users",
        Some(&json!({"email": email, "password": "password-123", "role": "editor"})),
        &Auth::Bearer(app.admin_token.clone()),
    )
    .await
    .assert_status(201, "create editor");
    Auth::Bearer(issue_token(&app.db, email, "personal").await)
}

#[actix_rt::test]
async fn dashboard_and_panel_lifecycle_with_versions() {
    let app = spawn_app().await;
    let me = editor(&app, "ed@x.test").await;
    let created = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&json!({"name": "Hosts", "description": "fleet", "panels": [panel("CPU", 0, 0), panel("Memory", 12, 0)]})),
            &me,
        )
        .await;
    created.assert_status(201, "create");
    let dashboard = created.json()["data"].clone();
    let id = dashboard["id"].as_str().unwrap().to_string();
    assert_eq!(dashboard["version"], 1);
    assert_eq!(dashboard["isPublic"], false);
    assert_eq!(dashboard["panels"].as_array().unwrap().len(), 2);
    assert_eq!(
        dashboard["panels"][0]["options"]["thresholds"][1]["color"],
        "red"
    );
    assert_eq!(dashboard["panels"][0]["query"]["groupBy"][0], "core");
    let cpu = dashboard["panels"][0]["id"].as_str().unwrap().to_string();
    let memory = dashboard["panels"][1]["id"].as_str().unwrap().to_string();
    assert_eq!(
        dashboard["layout"],
        json!([{"i": cpu, "x": 0, "y": 0, "w": 12, "h": 8}, {"i": memory, "x": 12, "y": 0, "w": 12, "h": 8}])
    );

    let fetched = app
        .call("GET", &format!("/api/v1/dashboards/{id}"), None, &me)
        .await;
    fetched.assert_status(200, "get");
    assert_eq!(
        fetched.json()["data"],
        dashboard,
        "GET returns what POST returned"
    );

    let listed = app
        .call("GET", "/api/v1/dashboards?page=1&pageSize=10", None, &me)
        .await;
    listed.assert_status(200, "list");
    let listed = listed.json();
    assert_eq!(
        listed["meta"],
        json!({"total": 1, "page": 1, "pageSize": 10})
    );
    assert_eq!(listed["data"][0]["panelCount"], 2);

    // A drag-and-drop save: the whole layout and a rename in one request.
    let saved = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}"),
            Some(&json!({"version": 1, "name": "Hosts (new)", "layout": [
                {"i": cpu, "x": 0, "y": 8, "w": 24, "h": 6},
                {"i": memory, "x": 0, "y": 0, "w": 24, "h": 8}
            ]})),
            &me,
        )
        .await;
    saved.assert_status(200, "layout save");
    let saved = saved.json()["data"].clone();
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["name"], "Hosts (new)");
    assert_eq!(saved["description"], "fleet", "untouched fields stay");
    assert_eq!(
        saved["layout"][0]["i"],
        memory.as_str(),
        "panels ordered by row"
    );
    assert_eq!(
        saved["layout"][1],
        json!({"i": cpu, "x": 0, "y": 8, "w": 24, "h": 6})
    );

    // Someone still holding version 1 does not overwrite version 2.
    let stale = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}"),
            Some(&json!({"version": 1, "name": "lost update"})),
            &me,
        )
        .await;
    stale.assert_error(409, "CONFLICT", "a stale version");
    assert_eq!(stale.json()["details"]["currentVersion"], 2);

    // A layout naming a foreign panel changes nothing at all.
    let bad_layout = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}"),
            Some(&json!({"version": 2, "name": "half applied?", "layout": [
                {"i": cpu, "x": 0, "y": 0, "w": 6, "h": 6},
                {"i": uuid::Uuid::new_v4(), "x": 0, "y": 0, "w": 6, "h": 6}
            ]})),
            &me,
        )
        .await;
    bad_layout.assert_error(400, "VALIDATION_ERROR", "unknown panel in the layout");
    let unchanged = app
        .call("GET", &format!("/api/v1/dashboards/{id}"), None, &me)
        .await
        .json();
    assert_eq!(unchanged["data"]["version"], 2);
    assert_eq!(unchanged["data"]["name"], "Hosts (new)");
    let twice = app
        .call("PUT", &format!("/api/v1/dashboards/{id}"), Some(&json!({"version": 2, "layout": [
            {"i": cpu, "x": 0, "y": 0, "w": 6, "h": 6}, {"i": cpu, "x": 6, "y": 0, "w": 6, "h": 6}
        ]})), &me)
        .await;
    twice.assert_error(
        400,
        "VALIDATION_ERROR",
        "a panel listed twice in the layout",
    );
    assert_eq!(twice.json()["details"]["fields"][0]["field"], "layout[1].i");
    let off_grid = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}"),
            Some(&json!({"version": 2, "layout": [{"i": cpu, "x": 20, "y": 0, "w": 8, "h": 6}]})),
            &me,
        )
        .await;
    off_grid.assert_error(400, "VALIDATION_ERROR", "a panel past the grid's edge");
    assert_eq!(
        off_grid.json()["details"]["fields"][0]["field"],
        "layout[0].x"
    );

    // Panels: add, replace, stale replace, delete.
    let added = app
        .call(
            "POST",
            &format!("/api/v1/dashboards/{id}/panels"),
            Some(&panel("Disk", 0, 14)),
            &me,
        )
        .await;
    added.assert_status(201, "add panel");
    assert_eq!(added.json()["meta"]["dashboardVersion"], 3);
    let disk = added.json()["data"]["id"].as_str().unwrap().to_string();
    let mut replacement = panel("Disk I/O", 0, 14);
    replacement["type"] = json!("bar");
    replacement["version"] = json!(3);
    let replaced = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}/panels/{disk}"),
            Some(&replacement),
            &me,
        )
        .await;
    replaced.assert_status(200, "replace panel");
    assert_eq!(replaced.json()["data"]["type"], "bar");
    assert_eq!(replaced.json()["meta"]["dashboardVersion"], 4);
    let again = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}/panels/{disk}"),
            Some(&replacement),
            &me,
        )
        .await;
    again.assert_error(409, "CONFLICT", "a panel write with a stale version");
    app.call(
        "DELETE",
        &format!("/api/v1/dashboards/{id}/panels/{disk}?version=3"),
        None,
        &me,
    )
    .await
    .assert_error(409, "CONFLICT", "a stale panel delete");
    app.call(
        "DELETE",
        &format!("/api/v1/dashboards/{id}/panels/{disk}?version=4"),
        None,
        &me,
    )
    .await
    .assert_status(204, "delete panel");
    app.call(
        "DELETE",
        &format!("/api/v1/dashboards/{id}/panels/{disk}"),
        None,
        &me,
    )
    .await
    .assert_error(404, "NOT_FOUND", "delete it twice");
    let now = app
        .call("GET", &format!("/api/v1/dashboards/{id}"), None, &me)
        .await
        .json();
    assert_eq!(now["data"]["panels"].as_array().unwrap().len(), 2);
    assert_eq!(now["data"]["version"], 5);

    app.call("DELETE", &format!("/api/v1/dashboards/{id}"), None, &me)
        .await
        .assert_status(204, "delete dashboard");
    app.call("GET", &format!("/api/v1/dashboards/{id}"), None, &me)
        .await
        .assert_error(404, "NOT_FOUND", "a deleted dashboard");
    let panels: i64 = sqlx::query_scalar("SELECT count(*) FROM panels")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(panels, 0, "panels go with their dashboard");
    app.cleanup().await;
}

#[actix_rt::test]
async fn every_invalid_panel_field_is_reported() {
    let app = spawn_app_with(|s| s.dashboards.max_panels = 3).await;
    let me = editor(&app, "ed@x.test").await;
    let bad = json!({
        "title": "",
        "type": "line",
        "query": {"query": "bad name!", "aggregation": "median", "step": "fortnight"},
        "options": {"color": "javascript:alert(1)", "min": 10, "max": 1,
                    "thresholds": [{"value": 1, "color": "#12345"}]},
        "position": {"x": 23, "y": 0, "w": 2, "h": 0}
    });
    let response = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&json!({"name": "", "panels": [bad]})),
            &me,
        )
        .await;
    response.assert_error(400, "VALIDATION_ERROR", "a bad dashboard");
    let fields: Vec<String> = response.json()["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    for expected in [
        "name",
        "panels[0].title",
        "panels[0].position.x",
        "panels[0].position.h",
        "panels[0].query.query",
        "panels[0].query.aggregation",
        "panels[0].query.step",
        "panels[0].options.color",
        "panels[0].options.thresholds[0].color",
        "panels[0].options.min",
    ] {
        assert!(
            fields.contains(&expected.to_string()),
            "{expected} not reported; got {fields:?}"
        );
    }
    for (body, what) in [
        (
            json!({"name": "x", "panels": [{"title": "t", "type": "pie", "query": {"query": "a", "aggregation": "avg"}, "position": {"x": 0, "y": 0, "w": 1, "h": 1}}]}),
            "an unknown panel type",
        ),
        (json!({"name": "x", "owner": "me"}), "an unknown field"),
        (
            json!({"name": "x", "panels": [panel("a", 0, 0), panel("b", 0, 8), panel("c", 0, 16), panel("d", 0, 24)]}),
            "too many panels",
        ),
    ] {
        app.call("POST", "/api/v1/dashboards", Some(&body), &me)
            .await
            .assert_error(400, "VALIDATION_ERROR", what);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM dashboards")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing invalid was stored");
    app.cleanup().await;
}

#[actix_rt::test]
async fn private_dashboards_do_not_leak_and_public_ones_are_read_only() {
    let app = spawn_app().await;
    let alice = editor(&app, "alice@x.test").await;
    let bob = editor(&app, "bob@x.test").await;
    let make = |name: &str, public: bool| json!({"name": name, "isPublic": public, "panels": [panel("p", 0, 0)]});
    let private = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&make("alice private", false)),
            &alice,
        )
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let public = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&make("alice public", true)),
            &alice,
        )
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.call(
        "POST",
        "/api/v1/dashboards",
        Some(&make("bob private", false)),
        &bob,
    )
    .await
    .assert_status(201, "bob's");

    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("/api/v1/dashboards/{private}"),
        format!("/api/v1/dashboards/{missing}"),
    ] {
        let response = app.call("GET", &path, None, &bob).await;
        response.assert_error(404, "NOT_FOUND", "someone else's private dashboard");
        assert_eq!(
            response.json()["error"],
            "no such dashboard",
            "same answer as for a missing id"
        );
    }
    app.call(
        "PUT",
        &format!("/api/v1/dashboards/{private}"),
        Some(&json!({"version": 1, "name": "x"})),
        &bob,
    )
    .await
    .assert_error(404, "NOT_FOUND", "writing someone else's private dashboard");
    app.call("GET", &format!("/api/v1/dashboards/{public}"), None, &bob)
        .await
        .assert_status(200, "a public dashboard");
    app.call(
        "PUT",
        &format!("/api/v1/dashboards/{public}"),
        Some(&json!({"version": 1, "name": "x"})),
        &bob,
    )
    .await
    .assert_error(403, "FORBIDDEN", "writing someone else's public dashboard");
    app.call(
        "DELETE",
        &format!("/api/v1/dashboards/{public}"),
        None,
        &bob,
    )
    .await
    .assert_error(403, "FORBIDDEN", "deleting someone else's public dashboard");

    let names = |listing: Value| -> Vec<String> {
        let mut names: Vec<String> = listing["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let bob_sees = app
        .call("GET", "/api/v1/dashboards", None, &bob)
        .await
        .json();
    assert_eq!(names(bob_sees.clone()), ["alice public", "bob private"]);
    assert_eq!(bob_sees["meta"]["total"], 2);
    let admin_sees = app
        .call(
            "GET",
            "/api/v1/dashboards",
            None,
            &Auth::Bearer(app.admin_token.clone()),
        )
        .await
        .json();
    assert_eq!(
        names(admin_sees),
        ["alice private", "alice public", "bob private"]
    );
    let page = app
        .call(
            "GET",
            "/api/v1/dashboards?page=2&pageSize=2",
            None,
            &Auth::Bearer(app.admin_token.clone()),
        )
        .await
        .json();
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        1,
        "the third of three, page 2 of size 2"
    );
    assert_eq!(page["meta"]["total"], 3);
    app.cleanup().await;
}

#[actix_rt::test]
async fn export_then_import_copies_a_dashboard() {
    let app = spawn_app().await;
    let alice = editor(&app, "alice@x.test").await;
    let bob = editor(&app, "bob@x.test").await;
    let source = app
        .call("POST", "/api/v1/dashboards", Some(&json!({"name": "Source", "description": "d", "isPublic": true, "panels": [panel("CPU", 0, 0), panel("Mem", 12, 0)]})), &alice)
        .await
        .json()["data"]
        .clone();
    let id = source["id"].as_str().unwrap();
    let exported = app
        .call(
            "GET",
            &format!("/api/v1/dashboards/{id}/export"),
            None,
            &bob,
        )
        .await;
    exported.assert_status(200, "export a public dashboard");
    let document = exported.json()["data"].clone();
    assert_eq!(document["schemaVersion"], 1);
    assert!(
        !document.to_string().contains(id),
        "no ids in an export: {document}"
    );

    let imported = app
        .call("POST", "/api/v1/dashboards/import", Some(&document), &bob)
        .await;
    imported.assert_status(201, "import");
    let copy = imported.json()["data"].clone();
    assert_ne!(copy["id"], source["id"]);
    assert_eq!(copy["isPublic"], false, "imports start private");
    assert_eq!(copy["name"], "Source");
    let strip = |d: &Value| -> Vec<Value> {
        d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                json!([
                    p["title"],
                    p["type"],
                    p["query"],
                    p["options"],
                    p["position"]
                ])
            })
            .collect()
    };
    assert_eq!(strip(&copy), strip(&source), "same panels");
    let bob_id = app.call("GET", "/api/v1/auth/me", None, &bob).await.json()["data"]["id"].clone();
    assert_eq!(copy["ownerId"], bob_id);

    let mut future = document.clone();
    future["schemaVersion"] = json!(2);
    app.call("POST", "/api/v1/dashboards/import", Some(&future), &bob)
        .await
        .assert_error(400, "VALIDATION_ERROR", "an unknown export version");
    app.cleanup().await;
}

/// Reads come from Redis, and every write through the API drops the cached copy.
#[actix_rt::test]
async fn dashboard_reads_are_cached_and_writes_invalidate() {
    let app = spawn_app().await;
    let me = editor(&app, "ed@x.test").await;
    let id = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&json!({"name": "Cached", "panels": []})),
            &me,
        )
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/dashboards/{id}");
    app.call("GET", &path, None, &me)
        .await
        .assert_status(200, "first read");
    // Changed behind the API's back: the cached copy still answers, which shows
    // the cache is in use...
    sqlx::query("UPDATE dashboards SET name = 'behind the back' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db)
        .await
        .unwrap();
    let cached = app.call("GET", &path, None, &me).await.json();
    assert_eq!(cached["data"]["name"], "Cached", "served from the cache");
    // ...and a write through the API drops it, so the next read is fresh.
    let written = app
        .call(
            "POST",
            &format!("{path}/panels"),
            Some(&panel("new", 0, 0)),
            &me,
        )
        .await;
    written.assert_status(201, "add a panel");
    let fresh = app.call("GET", &path, None, &me).await.json();
    assert_eq!(fresh["data"]["name"], "behind the back");
    assert_eq!(fresh["data"]["panels"].as_array().unwrap().len(), 1);
    assert_eq!(fresh["data"]["version"], 2);
    app.cleanup().await;
}

fn variables() -> Value {
    json!([
        {"name": "host", "label": "Host", "metric": "cpu.usage", "tagKey": "host",
         "multi": true, "includeAll": true, "default": ["web-1", "web-2"]},
        {"name": "zone", "metric": "cpu.usage", "tagKey": "zone", "multi": false, "includeAll": false}
    ])
}

#[actix_rt::test]
async fn variables_and_settings_round_trip_and_are_validated() {
    let app = spawn_app().await;
    let me = editor(&app, "vars@x.test").await;
    let mut templated = panel("CPU", 0, 0);
    templated["query"]["tags"] = json!({"host": "$host"});
    let settings = json!({"timeRange": {"from": "now-24h", "to": "now/d"}, "refresh": "30s", "timeZone": "Europe/Paris"});
    let created = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&json!({"name": "Templated", "panels": [templated], "variables": variables(), "settings": settings})),
            &me,
        )
        .await;
    created.assert_status(201, "create with variables and settings");
    let dashboard = created.json()["data"].clone();
    let id = dashboard["id"].as_str().unwrap().to_string();
    assert_eq!(dashboard["variables"], variables());
    assert_eq!(dashboard["settings"], settings);
    assert_eq!(dashboard["panels"][0]["query"]["tags"]["host"], "$host");
    let fetched = app
        .call("GET", &format!("/api/v1/dashboards/{id}"), None, &me)
        .await;
    assert_eq!(fetched.json()["data"], dashboard, "stored as sent");

    // Absent on write: the defaults, always present on read.
    let plain = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&json!({"name": "Plain"})),
            &me,
        )
        .await;
    plain.assert_status(201, "create without them");
    assert_eq!(plain.json()["data"]["variables"], json!([]));
    assert_eq!(
        plain.json()["data"]["settings"],
        json!({"timeRange": {"from": "now-6h", "to": "now"}, "refresh": "10s", "timeZone": "browser"})
    );
    let partial = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&json!({"name": "Partial", "settings": {"refresh": "off"}})),
            &me,
        )
        .await;
    partial.assert_status(201, "partial settings");
    assert_eq!(
        partial.json()["data"]["settings"],
        json!({"timeRange": {"from": "now-6h", "to": "now"}, "refresh": "off", "timeZone": "browser"})
    );

    // PUT replaces them, and only them.
    let updated = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}"),
            Some(&json!({"version": dashboard["version"], "variables": [variables()[1]], "settings": {"timeZone": "utc"}})),
            &me,
        )
        .await;
    updated.assert_status(200, "update variables and settings");
    let after = updated.json()["data"].clone();
    assert_eq!(after["variables"], json!([variables()[1]]));
    assert_eq!(
        after["settings"],
        json!({"timeRange": {"from": "now-6h", "to": "now"}, "refresh": "10s", "timeZone": "utc"})
    );
    assert_eq!(after["name"], "Templated");
    let renamed = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}"),
            Some(&json!({"version": after["version"], "name": "Renamed"})),
            &me,
        )
        .await;
    renamed.assert_status(200, "rename");
    assert_eq!(
        renamed.json()["data"]["variables"],
        after["variables"],
        "kept by a PUT that omits them"
    );

    // Export carries them, import restores them.
    let exported = app
        .call("GET", &format!("/api/v1/dashboards/{id}/export"), None, &me)
        .await;
    exported.assert_status(200, "export");
    let document = exported.json()["data"].clone();
    assert_eq!(document["variables"], after["variables"]);
    assert_eq!(document["settings"], after["settings"]);
    let imported = app
        .call("POST", "/api/v1/dashboards/import", Some(&document), &me)
        .await;
    imported.assert_status(201, "import");
    assert_eq!(imported.json()["data"]["variables"], after["variables"]);
    assert_eq!(imported.json()["data"]["settings"], after["settings"]);

    // Every bad field is named; nothing is stored.
    let bad = json!({"name": "Bad",
        "variables": [
            {"name": "host", "metric": "cpu.usage", "tagKey": "host"},
            {"name": "host", "metric": "cpu.usage", "tagKey": "host"},
            {"name": "1st", "metric": "bad metric", "tagKey": "", "default": ["a", "b"]}
        ],
        "settings": {"timeRange": {"from": "yesterday", "to": "now-"}, "timeZone": "Mars/../x y"}});
    let refused = app
        .call("POST", "/api/v1/dashboards", Some(&bad), &me)
        .await;
    refused.assert_error(400, "VALIDATION_ERROR", "bad variables and settings");
    let fields: Vec<String> = refused.json()["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    for expected in [
        "variables[1].name",
        "variables[2].name",
        "variables[2].metric",
        "variables[2].tagKey",
        "variables[2].default",
        "settings.timeRange.from",
        "settings.timeRange.to",
        "settings.timeZone",
    ] {
        assert!(
            fields.contains(&expected.to_string()),
            "{expected} missing from {fields:?}"
        );
    }
    for (what, body) in [
        (
            "unknown refresh",
            json!({"name": "x", "settings": {"refresh": "7s"}}),
        ),
        (
            "unknown variable field",
            json!({"name": "x", "variables": [{"name": "a", "metric": "m", "tagKey": "k", "evil": 1}]}),
        ),
    ] {
        app.call("POST", "/api/v1/dashboards", Some(&body), &me)
            .await
            .assert_status(400, what);
    }
    let put_bad = app
        .call(
            "PUT",
            &format!("/api/v1/dashboards/{id}"),
            Some(&json!({"version": renamed.json()["data"]["version"], "settings": {"timeRange": {"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T09:00:00Z"}}})),
            &me,
        )
        .await;
    put_bad.assert_error(400, "VALIDATION_ERROR", "to before from");
    assert_eq!(
        put_bad.json()["details"]["fields"][0]["field"],
        "settings.timeRange.to"
    );
    let listed = app.call("GET", "/api/v1/dashboards", None, &me).await;
    assert_eq!(
        listed.json()["meta"]["total"],
        4,
        "the refused ones were not stored"
    );
    app.cleanup().await;
}
