//! Users, sessions, API tokens, authorization on every route, CSRF, ingest keys and
//! rate limits, against the real services.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

/// Creates a user through the admin API and returns its id.
async fn add_user(app: &TestApp, email: &str, role: &str) -> String {
    let response = app
        .call(
            "POST",
            "/api/v1/users",
            Some(&json!({"email": email, "password": "password-123", "role": role})),
            &Auth::Bearer(app.admin_token.clone()),
        )
        .await;
    response.assert_status(201, &format!("create {role} {email}"));
    response.json()["data"]["id"].as_str().unwrap().to_string()
}

/// Logs `email` in and creates a personal token through the API with the session.
async fn token_via_session(app: &TestApp, email: &str, kind: &str) -> (String, String) {
    let session = app.login(email, "password-123").await;
    let response = app
        .call(
            "POST",
            "/api/v1/auth/tokens",
            Some(&json!({"name": format!("{kind} token"), "kind": kind})),
            &Auth::Session(session),
        )
        .await;
    response.assert_status(201, &format!("{email} creates a {kind} token"));
    let body = response.json();
    (
        body["data"]["token"].as_str().unwrap().to_string(),
        body["data"]["id"].as_str().unwrap().to_string(),
    )
}

fn dashboard_body(name: &str, public: bool) -> Value {
    json!({
        "name": name,
        "isPublic": public,
        "panels": [{
            "title": "CPU",
            "type": "line",
            "query": {"query": "cpu.usage", "aggregation": "avg"},
            "position": {"x": 0, "y": 0, "w": 12, "h": 6}
        }]
    })
}

async fn create_dashboard(app: &TestApp, token: &str, name: &str, public: bool) -> String {
    let response = app
        .call(
            "POST",
            "/api/v1/dashboards",
            Some(&dashboard_body(name, public)),
            &Auth::Bearer(token.to_string()),
        )
        .await;
    response.assert_status(201, &format!("create dashboard {name}"));
    response.json()["data"]["id"].as_str().unwrap().to_string()
}

/// Every role and credential type against every route: the expected status for
/// anonymous, ingest key, viewer, editor (the owner of the private dashboards),
/// another editor, and admin. Mismatches are collected and reported together.
#[actix_rt::test]
async fn authorization_matrix() {
    let app = spawn_app().await;
    add_user(&app, "viewer@x.test", "viewer").await;
    add_user(&app, "editor@x.test", "editor").await;
    add_user(&app, "other@x.test", "editor").await;
    let victim = add_user(&app, "victim@x.test", "viewer").await;
    let demotee = add_user(&app, "demotee@x.test", "viewer").await;
    let (viewer, _) = token_via_session(&app, "viewer@x.test", "personal").await;
    let (editor, _) = token_via_session(&app, "editor@x.test", "personal").await;
    let (other, _) = token_via_session(&app, "other@x.test", "personal").await;
    let admin = app.admin_token.clone();
    let ingest = {
        let response = app
            .call(
                "POST",
                "/api/v1/auth/tokens",
                Some(&json!({"name": "agent", "kind": "ingest"})),
                &Auth::Bearer(admin.clone()),
            )
            .await;
        response.assert_status(201, "admin creates an ingest key");
        response.json()["data"]["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let spare_admin_token = {
        let response = app
            .call(
                "POST",
                "/api/v1/auth/tokens",
                Some(&json!({"name": "spare", "kind": "personal"})),
                &Auth::Bearer(admin.clone()),
            )
            .await;
        response.json()["data"]["id"].as_str().unwrap().to_string()
    };
    let private = create_dashboard(&app, &editor, "editor private", false).await;
    let public = create_dashboard(&app, &admin, "admin public", true).await;
    let doomed = create_dashboard(&app, &editor, "to delete", false).await;
    let other_public = create_dashboard(&app, &other, "other public", true).await;
    let panel_of_private = {
        let response = app
            .call(
                "GET",
                &format!("/api/v1/dashboards/{private}"),
                None,
                &Auth::Bearer(editor.clone()),
            )
            .await;
        response.json()["data"]["panels"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let panel = json!({"title": "p", "type": "stat", "query": {"query": "m", "aggregation": "max"}, "position": {"x": 0, "y": 6, "w": 4, "h": 4}});
    let query = json!({"query": "cpu.usage", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "aggregation": "avg"});
    let export = json!({"schemaVersion": 1, "name": "imported", "panels": []});
    // (method, path, body, [anonymous, ingest, viewer, editor, other editor, admin])
    let cases: Vec<(&str, String, Option<Value>, [u16; 6])> = vec![
        ("GET", "/health".into(), None, [200; 6]),
        ("GET", "/metrics".into(), None, [200; 6]),
        ("GET", "/api/openapi.json".into(), None, [200; 6]),
        ("GET", "/api/docs".into(), None, [200; 6]),
        (
            "GET",
            "/api/v1/metrics".into(),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/metrics/nope/tags".into(),
            None,
            [401, 403, 404, 404, 404, 404],
        ),
        (
            "POST",
            "/api/v1/query".into(),
            Some(query),
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/auth/me".into(),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/auth/logout".into(),
            None,
            [401, 403, 400, 400, 400, 400],
        ),
        (
            "GET",
            "/api/v1/auth/tokens".into(),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/auth/tokens?all=true".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/auth/tokens".into(),
            Some(json!({"name": "k", "kind": "ingest"})),
            [401, 403, 403, 403, 403, 201],
        ),
        (
            "DELETE",
            format!("/api/v1/auth/tokens/{spare_admin_token}"),
            None,
            [401, 403, 404, 404, 404, 204],
        ),
        (
            "GET",
            "/api/v1/users".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"email": "new@x.test", "password": "password-123", "role": "viewer"})),
            [401, 403, 403, 403, 403, 201],
        ),
        (
            "PATCH",
            format!("/api/v1/users/{demotee}"),
            Some(json!({"role": "editor"})),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "DELETE",
            format!("/api/v1/users/{victim}"),
            None,
            [401, 403, 403, 403, 403, 204],
        ),
        (
            "GET",
            "/api/v1/dashboards".into(),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/dashboards".into(),
            Some(dashboard_body("new", false)),
            [401, 403, 403, 201, 201, 201],
        ),
        (
            "POST",
            "/api/v1/dashboards/import".into(),
            Some(export),
            [401, 403, 403, 201, 201, 201],
        ),
        (
            "GET",
            format!("/api/v1/dashboards/{private}"),
            None,
            [401, 403, 404, 200, 404, 200],
        ),
        (
            "GET",
            format!("/api/v1/dashboards/{public}"),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "GET",
            format!("/api/v1/dashboards/{private}/export"),
            None,
            [401, 403, 404, 200, 404, 200],
        ),
        (
            "PUT",
            format!("/api/v1/dashboards/{private}"),
            Some(json!({"version": 1, "name": "renamed"})),
            [401, 403, 403, 200, 404, 409],
        ),
        (
            "PUT",
            format!("/api/v1/dashboards/{other_public}"),
            Some(json!({"version": 1, "isPublic": true})),
            [401, 403, 403, 403, 200, 409],
        ),
        (
            "POST",
            format!("/api/v1/dashboards/{private}/panels"),
            Some(panel.clone()),
            [401, 403, 403, 201, 404, 201],
        ),
        (
            "PUT",
            format!("/api/v1/dashboards/{public}/panels/{panel_of_private}"),
            Some(panel.clone()),
            [401, 403, 403, 403, 403, 404],
        ),
        (
            "PUT",
            format!("/api/v1/dashboards/{private}/panels/{panel_of_private}"),
            Some(panel),
            [401, 403, 403, 200, 404, 200],
        ),
        (
            "DELETE",
            format!("/api/v1/dashboards/{private}/panels/{panel_of_private}"),
            None,
            [401, 403, 403, 204, 404, 404],
        ),
        (
            "DELETE",
            format!("/api/v1/dashboards/{doomed}"),
            None,
            [401, 403, 403, 204, 404, 404],
        ),
        (
            "DELETE",
            format!("/api/v1/dashboards/{public}"),
            None,
            [401, 403, 403, 403, 403, 204],
        ),
    ];
    let callers = [
        ("anonymous", Auth::None),
        ("ingest key", Auth::Bearer(ingest)),
        ("viewer", Auth::Bearer(viewer)),
        ("editor", Auth::Bearer(editor)),
        ("other editor", Auth::Bearer(other)),
        ("admin", Auth::Bearer(admin)),
    ];
    let mut mismatches = Vec::new();
    for (method, path, body, expected) in &cases {
        for ((who, auth), want) in callers.iter().zip(expected) {
            let response = app.call(method, path, body.as_ref(), auth).await;
            if response.status.as_u16() != *want {
                mismatches.push(format!(
                    "{method} {path} as {who}: expected {want}, got {}",
                    response.describe()
                ));
            } else if *want >= 400 {
                let body = response.json();
                let code = body["code"].as_str().unwrap_or("");
                let expected_code = match want {
                    400 => "VALIDATION_ERROR",
                    401 => "UNAUTHORIZED",
                    403 => "FORBIDDEN",
                    404 => "NOT_FOUND",
                    409 => "CONFLICT",
                    _ => "",
                };
                if code != expected_code || body["error"].as_str().unwrap_or("").is_empty() {
                    mismatches.push(format!(
                        "{method} {path} as {who}: expected code {expected_code} with a message, got {body}"
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} authorization mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    app.cleanup().await;
}

#[actix_rt::test]
async fn session_lifecycle_login_use_logout() {
    let app = spawn_app().await;
    add_user(&app, "ana@x.test", "editor").await;

    for (email, password) in [
        ("ana@x.test", "wrong-password"),
        ("nobody@x.test", "password-123"),
    ] {
        let response = app
            .call(
                "POST",
                "/api/v1/auth/login",
                Some(&json!({"email": email, "password": password})),
                &Auth::None,
            )
            .await;
        response.assert_error(401, "UNAUTHORIZED", "a wrong password or unknown email");
        assert!(
            session_cookie(&response).is_none(),
            "no cookie on a failed login"
        );
    }

    // Emails are matched case-insensitively.
    let response = app
        .call(
            "POST",
            "/api/v1/auth/login",
            Some(&json!({"email": "ANA@x.test", "password": "password-123"})),
            &Auth::None,
        )
        .await;
    response.assert_status(200, "login");
    assert_eq!(response.json()["data"]["email"], "ana@x.test");
    assert!(response.json()["data"].get("passwordHash").is_none());
    let set_cookie = response.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "cookie lacks {attribute}: {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP by default: {set_cookie}"
    );
    let session = session_cookie(&response).unwrap();
    assert_eq!(session.len(), 64, "a 256-bit token, hex");

    let me = app
        .call(
            "GET",
            "/api/v1/auth/me",
            None,
            &Auth::Session(session.clone()),
        )
        .await;
    me.assert_status(200, "me with the session");
    assert_eq!(me.json()["data"]["role"], "editor");
    assert_eq!(me.json()["data"]["authenticatedBy"], "session");

    // Only the digest is stored.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE token_hash = $1")
        .bind(session.as_bytes())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        stored, 0,
        "the session secret itself is not in the database"
    );

    let logout = app
        .call(
            "POST",
            "/api/v1/auth/logout",
            None,
            &Auth::Session(session.clone()),
        )
        .await;
    logout.assert_status(204, "logout");
    assert!(logout
        .header("set-cookie")
        .is_some_and(|c| c.starts_with("vigil_session=;") || c.contains("Max-Age=0")));
    let after = app
        .call("GET", "/api/v1/auth/me", None, &Auth::Session(session))
        .await;
    after.assert_error(401, "UNAUTHORIZED", "the cookie after logout");

    // Authentication is decided before the body is read: an anonymous caller learns
    // nothing about what the route would accept.
    let anonymous = app
        .post_raw(
            "/api/v1/dashboards",
            "{not json",
            &[("Content-Type", "application/json")],
        )
        .await;
    anonymous.assert_error(401, "UNAUTHORIZED", "an anonymous malformed body");

    let forged = app
        .call(
            "GET",
            "/api/v1/auth/me",
            None,
            &Auth::Session("0".repeat(64)),
        )
        .await;
    forged.assert_error(401, "UNAUTHORIZED", "a made-up session");
    let malformed = app
        .call(
            "GET",
            "/api/v1/auth/me",
            None,
            &Auth::Bearer("not-a-token".into()),
        )
        .await;
    malformed.assert_error(401, "UNAUTHORIZED", "a made-up token");
    app.cleanup().await;
}

#[actix_rt::test]
async fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    // Generous margins: on the 2-core CI machine a request can stall for a second or
    // two while other tests load it, and a stall longer than the idle timeout between
    // two requests of the "busy" session would end it, rightly.
    let app = spawn_app_with(|s| {
        s.auth.session_idle_timeout = Duration::from_secs(5);
        s.auth.credential_cache_ttl = Duration::from_secs(60);
    })
    .await;
    let idle = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.call("GET", "/api/v1/auth/me", None, &Auth::Session(idle.clone()))
        .await
        .assert_status(200, "fresh session");
    // Idleness is what is under test, so this waits without touching the session
    // (any request would count as activity).
    tokio::time::sleep(Duration::from_millis(5600)).await;
    app.call("GET", "/api/v1/auth/me", None, &Auth::Session(idle))
        .await
        .assert_error(401, "UNAUTHORIZED", "a session idle past its timeout");
    // A session used more often than the idle timeout stays alive.
    let busy = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        app.call("GET", "/api/v1/auth/me", None, &Auth::Session(busy.clone()))
            .await
            .assert_status(200, "a session in use, past one idle timeout");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    app.cleanup().await;

    let app = spawn_app_with(|s| {
        s.auth.session_idle_timeout = Duration::from_secs(3600);
        s.auth.session_absolute_timeout = Duration::from_secs(3);
    })
    .await;
    let busy = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let started = Instant::now();
    let mut last_ok = Duration::ZERO;
    loop {
        let response = app
            .call("GET", "/api/v1/auth/me", None, &Auth::Session(busy.clone()))
            .await;
        if response.status == 401 {
            break;
        }
        response.assert_status(200, "a busy session before its absolute limit");
        last_ok = started.elapsed();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "a busy session outlived its 3 s absolute limit"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        last_ok >= Duration::from_millis(2000),
        "ended early, at {last_ok:?}"
    );
    app.cleanup().await;
}

/// Redis down: logins, sessions and tokens keep working from PostgreSQL, and logout
/// still ends the session at once.
#[actix_rt::test]
async fn a_redis_outage_logs_nobody_out() {
    let app = spawn_app_with(|s| s.redis.url = DEAD_REDIS_URL.into()).await;
    let session = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for _ in 0..3 {
        app.call(
            "GET",
            "/api/v1/auth/me",
            None,
            &Auth::Session(session.clone()),
        )
        .await
        .assert_status(200, "session with Redis down");
    }
    app.call(
        "GET",
        "/api/v1/dashboards",
        None,
        &Auth::Bearer(app.admin_token.clone()),
    )
    .await
    .assert_status(200, "token with Redis down");
    app.call(
        "POST",
        "/api/v1/auth/logout",
        None,
        &Auth::Session(session.clone()),
    )
    .await
    .assert_status(204, "logout with Redis down");
    app.call("GET", "/api/v1/auth/me", None, &Auth::Session(session))
        .await
        .assert_error(401, "UNAUTHORIZED", "after logout with Redis down");
    app.cleanup().await;
}

/// Role changes, token deletion and user deletion act at once, even though the
/// resolved credentials are cached in Redis.
#[actix_rt::test]
async fn revocations_take_effect_at_once_despite_the_cache() {
    let app = spawn_app_with(|s| s.auth.credential_cache_ttl = Duration::from_secs(600)).await;
    let id = add_user(&app, "vic@x.test", "viewer").await;
    let session = app.login("vic@x.test", "password-123").await;
    let (token, token_id) = token_via_session(&app, "vic@x.test", "personal").await;
    // Warm the cache for both credentials.
    for auth in [Auth::Session(session.clone()), Auth::Bearer(token.clone())] {
        app.call("GET", "/api/v1/auth/me", None, &auth)
            .await
            .assert_status(200, "warm");
    }
    let body = dashboard_body("d", false);
    app.call(
        "POST",
        "/api/v1/dashboards",
        Some(&body),
        &Auth::Session(session.clone()),
    )
    .await
    .assert_error(403, "FORBIDDEN", "a viewer creating a dashboard");
    let admin = Auth::Bearer(app.admin_token.clone());
    app.call(
        "PATCH",
        &format!("/api/v1/users/{id}"),
        Some(&json!({"role": "editor"})),
        &admin,
    )
    .await
    .assert_status(200, "promote");
    app.call(
        "POST",
        "/api/v1/dashboards",
        Some(&body),
        &Auth::Session(session.clone()),
    )
    .await
    .assert_status(201, "the promotion applies to the cached session at once");

    app.call(
        "DELETE",
        &format!("/api/v1/auth/tokens/{token_id}"),
        None,
        &Auth::Bearer(token.clone()),
    )
    .await
    .assert_status(204, "delete own token");
    app.call("GET", "/api/v1/auth/me", None, &Auth::Bearer(token))
        .await
        .assert_error(401, "UNAUTHORIZED", "a deleted token");

    app.call("DELETE", &format!("/api/v1/users/{id}"), None, &admin)
        .await
        .assert_status(204, "delete the user");
    app.call("GET", "/api/v1/auth/me", None, &Auth::Session(session))
        .await
        .assert_error(401, "UNAUTHORIZED", "a deleted user's session");

    // The last admin can be neither demoted nor deleted.
    let me = app
        .call("GET", "/api/v1/auth/me", None, &admin)
        .await
        .json();
    let admin_id = me["data"]["id"].as_str().unwrap().to_string();
    app.call(
        "PATCH",
        &format!("/api/v1/users/{admin_id}"),
        Some(&json!({"role": "viewer"})),
        &admin,
    )
    .await
    .assert_error(409, "CONFLICT", "demote the last admin");
    app.call("DELETE", &format!("/api/v1/users/{admin_id}"), None, &admin)
        .await
        .assert_error(409, "CONFLICT", "delete the last admin");
    app.cleanup().await;
}

/// Extra headers of a cookie-authenticated write, the expected status, and why.
type CsrfCase<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

#[actix_rt::test]
async fn cookie_writes_are_guarded_against_csrf() {
    let app = spawn_app_with(|s| {
        s.auth.allowed_origins = vec!["http://ui.example:3000".into()];
        s.auth.cookie_secure = true;
    })
    .await;
    let login = app
        .call(
            "POST",
            "/api/v1/auth/login",
            Some(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            &Auth::None,
        )
        .await;
    assert!(
        login.header("set-cookie").unwrap().contains("Secure"),
        "auth.cookie_secure marks the cookie Secure"
    );
    let session = session_cookie(&login).unwrap();
    let body = serde_json::to_vec(&dashboard_body("csrf", false)).unwrap();
    let cookie = format!("vigil_session={session}");
    let own = app.address.clone();
    let cases: Vec<CsrfCase> = vec![
        (
            vec![("Origin", "http://evil.example")],
            403,
            "a foreign Origin",
        ),
        (vec![], 403, "no Origin and no Sec-Fetch-Site"),
        (
            vec![("Sec-Fetch-Site", "cross-site")],
            403,
            "Sec-Fetch-Site cross-site",
        ),
        (
            vec![("Sec-Fetch-Site", "same-site")],
            403,
            "Sec-Fetch-Site same-site",
        ),
        (
            vec![("Origin", own.as_str()), ("Content-Type", "text/plain")],
            403,
            "a form-like content type",
        ),
        (vec![("Origin", own.as_str())], 201, "Vigil's own origin"),
        (
            vec![("Sec-Fetch-Site", "same-origin")],
            201,
            "Sec-Fetch-Site same-origin",
        ),
        (
            vec![("Origin", "http://ui.example:3000")],
            201,
            "an allowed origin",
        ),
    ];
    for (headers, status, what) in cases {
        let mut all = vec![("Cookie", cookie.as_str())];
        if !headers.iter().any(|(n, _)| *n == "Content-Type") {
            all.push(("Content-Type", "application/json"));
        }
        all.extend(headers);
        let response = app.post_raw("/api/v1/dashboards", body.clone(), &all).await;
        if status == 403 {
            response.assert_error(403, "FORBIDDEN", what);
        } else {
            response.assert_status(status, what);
        }
    }
    // Reads are not guarded (the same-origin policy keeps their answers from other
    // sites), and bearer tokens are not sent by browsers on their own.
    app.call(
        "GET",
        "/api/v1/dashboards",
        None,
        &Auth::SessionFrom(session.clone(), Some("http://evil.example".into())),
    )
    .await
    .assert_status(200, "a cross-site read");
    let response = app
        .post_raw(
            "/api/v1/dashboards",
            body,
            &[
                ("Authorization", &format!("Bearer {}", app.admin_token)),
                ("Origin", "http://evil.example"),
                ("Content-Type", "application/json"),
            ],
        )
        .await;
    response.assert_status(201, "a bearer token from anywhere");
    // Logging in from another site's page is refused too.
    let response = app
        .post_raw(
            "/api/v1/auth/login",
            serde_json::to_vec(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).unwrap(),
            &[
                ("Origin", "http://evil.example"),
                ("Content-Type", "application/json"),
            ],
        )
        .await;
    response.assert_error(403, "FORBIDDEN", "a cross-site login");
    app.cleanup().await;
}

#[actix_rt::test]
async fn ingest_keys_when_required() {
    let app = spawn_app_with(|s| s.auth.require_ingest_key = true).await;
    let admin = Auth::Bearer(app.admin_token.clone());
    let created = app
        .call(
            "POST",
            "/api/v1/auth/tokens",
            Some(&json!({"name": "agent", "kind": "ingest"})),
            &admin,
        )
        .await;
    created.assert_status(201, "create an ingest key");
    let key = created.json()["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let key_id = created.json()["data"]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("vgl_i_"), "{key}");
    let listed = app
        .call("GET", "/api/v1/auth/tokens", None, &admin)
        .await
        .json();
    let mine = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == key_id.as_str())
        .expect("the new key is listed")
        .clone();
    assert_eq!(mine["kind"], "ingest");
    assert!(mine["lastUsedAt"].is_null(), "not used yet: {mine}");
    assert!(
        !listed.to_string().contains(&key[6..]),
        "the secret is never listed: {listed}"
    );

    let points = json!([{"name": "keyed", "value": 1.0, "timestamp": chrono::Utc::now().timestamp_millis()}]);
    let send = |auth: Option<String>| {
        let points = serde_json::to_vec(&points).unwrap();
        let app = &app;
        async move {
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            if let Some(auth) = auth {
                headers.push(("Authorization".to_string(), auth));
            }
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            app.post_raw("/api/v1/metrics", points, &headers).await
        }
    };
    send(None)
        .await
        .assert_error(401, "UNAUTHORIZED", "ingest without a key");
    send(Some(format!("Bearer {}", app.admin_token)))
        .await
        .assert_error(403, "FORBIDDEN", "ingest with a read token");
    send(Some("Bearer vgl_i_0000".into())).await.assert_error(
        401,
        "UNAUTHORIZED",
        "ingest with an unknown key",
    );
    send(Some("Basic abc".into()))
        .await
        .assert_error(401, "UNAUTHORIZED", "another scheme");
    send(Some(format!("Bearer {key}")))
        .await
        .assert_status(202, "ingest with the key");
    app.wait_for_points("keyed", 1).await;
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE id = $1::uuid")
            .bind(&key_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(used.is_some(), "a use of the key is recorded");

    app.call("GET", "/api/v1/metrics", None, &Auth::Bearer(key.clone()))
        .await
        .assert_error(403, "FORBIDDEN", "an ingest key cannot read");
    app.call(
        "DELETE",
        &format!("/api/v1/auth/tokens/{key_id}"),
        None,
        &admin,
    )
    .await
    .assert_status(204, "revoke the key");
    send(Some(format!("Bearer {key}")))
        .await
        .assert_error(401, "UNAUTHORIZED", "a revoked key");
    app.cleanup().await;
}

fn retry_after(response: &TestResponse) -> u64 {
    response
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {response:?}"))
}

#[actix_rt::test]
async fn logins_are_rate_limited_per_account_and_per_ip() {
    let app = spawn_app_with(|s| {
        s.auth.login_max_failures_per_account = 3;
        s.auth.login_max_failures_per_ip = 6;
        s.auth.login_window = Duration::from_secs(60);
    })
    .await;
    add_user(&app, "target@x.test", "viewer").await;
    let attempt = |email: &str, password: &str| {
        let body = json!({"email": email, "password": password});
        let app = &app;
        async move {
            app.call("POST", "/api/v1/auth/login", Some(&body), &Auth::None)
                .await
        }
    };
    for i in 0..3 {
        attempt("target@x.test", "wrong-password")
            .await
            .assert_error(401, "UNAUTHORIZED", &format!("failure {i}"));
    }
    // Locked: even the right password waits for the window.
    let locked = attempt("TARGET@x.test", "password-123").await;
    locked.assert_error(429, "RATE_LIMITED", "the 4th attempt on the account");
    let wait = retry_after(&locked);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // Other accounts from the same IP go on until the per-IP limit.
    attempt(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .assert_status(200, "another account");
    for i in 0..3 {
        attempt(&format!("u{i}@x.test"), "wrong-password")
            .await
            .assert_error(401, "UNAUTHORIZED", "spread failures");
    }
    attempt(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_error(
        429,
        "RATE_LIMITED",
        "the IP is over its failure limit",
    );
    app.cleanup().await;
}

#[actix_rt::test]
async fn ingest_is_rate_limited_per_key_and_per_ip_with_redis_or_without() {
    for redis_down in [false, true] {
        let app = spawn_app_with(|s| {
            s.auth.ingest_requests_per_key = 3;
            s.auth.ingest_requests_per_ip = 2;
            s.auth.ingest_rate_window = Duration::from_secs(60);
            if redis_down {
                s.redis.url = DEAD_REDIS_URL.into();
            }
        })
        .await;
        let key = issue_token(&app.db, ADMIN_EMAIL, "ingest").await;
        let body = serde_json::to_vec(&json!([{"name": "limited", "value": 1.0}])).unwrap();
        let bearer = format!("Bearer {key}");
        let keyed = [
            ("Content-Type", "application/json"),
            ("Authorization", bearer.as_str()),
        ];
        let mut statuses = BTreeMap::new();
        for i in 0..4 {
            let response = app.post_raw("/api/v1/metrics", body.clone(), &keyed).await;
            statuses.insert(format!("key {i}"), response.status.as_u16());
            if i == 3 {
                response.assert_error(429, "RATE_LIMITED", "the 4th keyed request");
                assert!(retry_after(&response) >= 1);
            }
        }
        for i in 0..3 {
            let response = app
                .post_raw(
                    "/api/v1/metrics",
                    body.clone(),
                    &[("Content-Type", "application/json")],
                )
                .await;
            statuses.insert(format!("anonymous {i}"), response.status.as_u16());
        }
        let expected: BTreeMap<String, u16> = [
            ("key 0", 202),
            ("key 1", 202),
            ("key 2", 202),
            ("key 3", 429),
            ("anonymous 0", 202),
            ("anonymous 1", 202),
            ("anonymous 2", 429),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(statuses, expected, "redis down: {redis_down}");
        app.wait_for_points("limited", 5).await;
        app.cleanup().await;
    }
}

#[actix_rt::test]
async fn user_and_token_input_is_validated() {
    let app = spawn_app().await;
    let admin = Auth::Bearer(app.admin_token.clone());
    let cases = [
        (
            json!({"email": "not-an-email", "password": "password-123", "role": "viewer"}),
            400,
            "email",
        ),
        (
            json!({"email": "a@b.c", "password": "short", "role": "viewer"}),
            400,
            "password",
        ),
        (
            json!({"email": "a@b.c", "password": "password-123", "role": "root"}),
            400,
            "role",
        ),
        (
            json!({"email": ADMIN_EMAIL.to_uppercase(), "password": "password-123", "role": "viewer"}),
            409,
            "duplicate email",
        ),
    ];
    for (body, status, what) in cases {
        let response = app.call("POST", "/api/v1/users", Some(&body), &admin).await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{what}: {}",
            response.describe()
        );
        assert!(
            !response.text().contains("sqlx") && !response.text().contains("duplicate key"),
            "no internal error text reaches the client: {}",
            response.text()
        );
    }
    let response = app
        .call(
            "POST",
            "/api/v1/auth/tokens",
            Some(&json!({"name": "", "kind": "personal"})),
            &admin,
        )
        .await;
    response.assert_error(400, "VALIDATION_ERROR", "an empty token name");
    assert_eq!(response.json()["details"]["fields"][0]["field"], "name");
    let response = app
        .call(
            "POST",
            "/api/v1/auth/tokens",
            Some(&json!({"name": "t", "kind": "personal", "expiresAt": "2001-01-01T00:00:00Z"})),
            &admin,
        )
        .await;
    response.assert_error(400, "VALIDATION_ERROR", "an expiry in the past");
    app.cleanup().await;
}
