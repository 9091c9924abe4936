//! Alert notification delivery through the outbox against real receivers: webhook
//! retries and permanent failures, SMTP down then up, silences, the SSRF guard.

use std::time::Duration;

use serde_json::json;

use crate::alerts_support::*;
use crate::helpers::*;

#[actix_web::test]
async fn a_webhook_answering_500_then_200_is_delivered_exactly_once() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[500, 503]).await;
    let id = create_rule(
        &app,
        &webhook_rule("Retry me", "retry", 1.0, "0s", &hook.url),
    )
    .await;
    push(&app, "retry", 5.0, &[]).await;
    let delivered = hook.wait_for_deliveries(1).await;
    let all = hook.received();
    assert_eq!(all.len(), 3, "two failures then the delivery: {all:?}");
    assert!(
        all.iter()
            .all(|r| r.idempotency_key == delivered[0].idempotency_key),
        "every attempt carries the same idempotency key"
    );
    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &id).await.as_slice() {
            [(status, 3, None)] if status == "sent" => Ok(()),
            other => Err(format!(
                "expected one sent row after 3 attempts; got {other:?}"
            )),
        }
    })
    .await;
    consistently(Duration::from_secs(2), || async {
        match hook.received().len() {
            3 => Ok(()),
            n => Err(format!(
                "a delivered notification was sent again: {n} requests"
            )),
        }
    })
    .await;
    let metrics = get(&app, "/metrics").await.text();
    assert_eq!(
        prometheus_sum(
            &metrics,
            "vigil_notifications_total",
            &[("result", "retried")]
        ),
        2.0
    );
    hook.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_webhook_answering_400_is_not_retried_and_recorded_failed() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[400]).await;
    let id = create_rule(&app, &webhook_rule("Bad hook", "bad", 1.0, "0s", &hook.url)).await;
    push(&app, "bad", 5.0, &[]).await;
    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &id).await.as_slice() {
            [(status, 1, Some(error))] if status == "failed" && error.contains("400") => Ok(()),
            other => Err(format!(
                "expected one failed row after one attempt; got {other:?}"
            )),
        }
    })
    .await;
    consistently(Duration::from_secs(2), || async {
        match hook.received().len() {
            1 => Ok(()),
            n => Err(format!("a 400 must not be retried; got {n} requests")),
        }
    })
    .await;
    let history = events(&app, &id).await;
    assert_eq!(history[0]["notification"], "failed");
    hook.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn email_is_retried_while_smtp_is_down_and_delivered_once_it_is_up() {
    let smtp_port = free_port();
    let app = spawn_app_with(|s| {
        alert_settings(s);
        s.notify.smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
        s.notify.smtp_from = "vigil@example.com".into();
    })
    .await;
    let rule = json!({
        "name": "Disk\r\nBcc: victim@example.com",
        "query": {"query": "disk.free", "aggregation": "max", "window": "5m"},
        "condition": "lt", "threshold": 10, "duration": "0s", "severity": "critical",
        "notification": {"type": "email", "target": "oncall@example.com"},
    });
    let response = send_json(&app, "POST", "/api/v1/alerts/rules", Some(&rule)).await;
    // Control characters in names are refused outright ...
    response.assert_error(400, "VALIDATION_ERROR", "a rule name with CR/LF");
    let mut rule = rule;
    rule["name"] = json!("Disk almost full");
    let id = create_rule(&app, &rule).await;
    push(&app, "disk.free", 3.5, &[("host", "db-1")]).await;
    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &id).await.as_slice() {
            [(status, attempts, Some(_))] if status == "pending" && *attempts >= 2 => Ok(()),
            other => Err(format!(
                "expected a pending row retried while SMTP is down; got {other:?}"
            )),
        }
    })
    .await;

    let sink = SmtpSink::start(smtp_port).await;
    let message = eventually(ALERT_DEADLINE, || async {
        match sink.messages().as_slice() {
            [one] => Ok(one.clone()),
            [] => Err("expected an email".to_string()),
            many => panic!("expected one email, got {}", many.len()),
        }
    })
    .await;
    // The body is quoted-printable: undo soft line breaks and `=3D`.
    let message = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(
        message.contains("X-Envelope-To: oncall@example.com"),
        "{message}"
    );
    assert!(
        message.contains("Subject: [CRITICAL] Disk almost full"),
        "{message}"
    );
    assert!(message.contains("Value:     3.5"), "{message}");
    assert!(message.contains("value < 10"), "{message}");
    assert!(
        message.contains(&format!("http://vigil.test/api/v1/alerts/rules/{id}")),
        "{message}"
    );
    assert!(
        message.contains("alertname = Disk almost full"),
        "{message}"
    );
    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &id).await.as_slice() {
            [(status, _, _)] if status == "sent" => Ok(()),
            other => Err(format!("expected the row sent; got {other:?}")),
        }
    })
    .await;
    sink.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_silenced_alert_keeps_state_and_history_but_is_not_notified() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let id = create_rule(&app, &webhook_rule("Noisy", "noise", 1.0, "0s", &hook.url)).await;
    let ends = rfc3339(now_ms() + 3_600_000);
    let silence = send_json(
        &app,
        "POST",
        "/api/v1/alerts/silences",
        Some(&json!({"ruleId": id, "matchers": {"alertname": "Noisy"}, "endsAt": ends, "comment": "maintenance"})),
    )
    .await;
    silence.assert_status(201, "creating a silence");
    let listed = get(&app, "/api/v1/alerts/silences").await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    send_json(
        &app,
        "POST",
        "/api/v1/alerts/silences",
        Some(&json!({"endsAt": ends})),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR", "a silence of everything");

    push(&app, "noise", 5.0, &[("dc", "x")]).await;
    wait_for_state(&app, &id, "firing").await;
    let history = events(&app, &id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["silenced"], true);
    assert!(history[0]["notification"].is_null());
    consistently(Duration::from_secs(2), || async {
        match hook.received().len() {
            0 => Ok(()),
            n => Err(format!("a silenced alert was notified: {n}")),
        }
    })
    .await;
    assert!(outbox(&app, &id).await.is_empty());

    // Once the silence ends, the next transition is notified again.
    let silence_id = silence.json()["data"]["id"].as_str().unwrap().to_string();
    send_json(
        &app,
        "DELETE",
        &format!("/api/v1/alerts/silences/{silence_id}"),
        None,
    )
    .await
    .assert_status(204, "ending the silence");
    sqlx::query("DELETE FROM points")
        .execute(&app.db)
        .await
        .unwrap();
    let resolved = hook.wait_for_deliveries(1).await;
    assert_eq!(resolved[0].body["status"], "resolved");
    hook.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn private_webhook_targets_are_refused_unless_allowed() {
    let app = spawn_app_with(|s| {
        alert_settings(s);
        s.notify.allow_private_targets = false;
    })
    .await;
    let hook = WebhookReceiver::start(&[]).await;
    // An IP literal is refused when the rule is written ...
    send_json(
        &app,
        "POST",
        "/api/v1/alerts/rules",
        Some(&webhook_rule("x", "ssrf", 1.0, "0s", &hook.url)),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR", "a loopback webhook target");
    // ... a name is checked against what it resolves to, on delivery, and not retried.
    let target = format!("http://localhost:{}/hook", hook.port);
    let id = create_rule(&app, &webhook_rule("Sneaky", "ssrf", 1.0, "0s", &target)).await;
    push(&app, "ssrf", 5.0, &[]).await;
    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &id).await.as_slice() {
            [(status, 1, Some(error))] if status == "failed" && error.contains("refused") => Ok(()),
            other => Err(format!(
                "expected the delivery refused and failed; got {other:?}"
            )),
        }
    })
    .await;
    assert!(
        hook.received().is_empty(),
        "the private receiver was reached"
    );
    hook.stop().await;
    app.cleanup().await;
}

/// https: the receiver's certificate is checked against the target's host name, with
/// the system's roots plus `notify.ca_file`. The same receiver under a name its
/// certificate does not carry gets no request at all, and the attempt is kept for a
/// retry with the reason.
#[actix_web::test]
async fn https_webhooks_are_delivered_only_to_a_verified_certificate() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let app = spawn_app_with(|s| {
        alert_settings(s);
        s.notify.ca_file = ca_file.to_string_lossy().into_owned();
    })
    .await;
    let hook = WebhookReceiver::start_tls(&[], &pki).await;

    let target = format!("https://localhost:{}/hook", hook.port);
    let mut rule = webhook_rule("Over TLS", "tls_ok", 1.0, "0s", &target);
    rule["query"]["aggregation"] = json!("max");
    let id = create_rule(&app, &rule).await;
    push(&app, "tls_ok", 5.0, &[]).await;
    let delivered = hook.wait_for_deliveries(1).await;
    assert_eq!(
        delivered[0].body["alerts"][0]["labels"]["alertname"],
        "Over TLS"
    );
    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &id).await.as_slice() {
            [(status, 1, None)] if status == "sent" => Ok(()),
            other => Err(format!("expected one sent notification; got {other:?}")),
        }
    })
    .await;

    // 127.0.0.1 is not a name in the certificate.
    let wrong_name = format!("https://127.0.0.1:{}/hook", hook.port);
    let mut rule = webhook_rule("Wrong name", "tls_bad", 1.0, "0s", &wrong_name);
    rule["query"]["aggregation"] = json!("max");
    let bad = create_rule(&app, &rule).await;
    push(&app, "tls_bad", 5.0, &[]).await;
    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &bad).await.as_slice() {
            [(status, attempts, Some(error))]
                if status != "sent"
                    && *attempts >= 1
                    && error.to_lowercase().contains("certificate") =>
            {
                Ok(())
            }
            other => Err(format!(
                "expected a failed attempt naming the certificate; got {other:?}"
            )),
        }
    })
    .await;
    assert_eq!(
        hook.received().len(),
        1,
        "the wrongly named target was reached"
    );
    hook.stop().await;
    app.cleanup().await;
}

/// Email over SMTPS: the relay's certificate (issued by the test CA for localhost) is
/// verified with `notify.ca_file`, and the message arrives. The notify settings come
/// through the loading path a user runs (a config file, then validation).
#[actix_web::test]
async fn email_over_smtps_is_delivered_to_a_verified_relay() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let smtp_port = free_port();
    let sink = SmtpSink::start_tls(smtp_port, &pki).await;
    let config_file = dir.path().join("vigil.toml");
    std::fs::write(
        &config_file,
        format!(
            "[notify]\nsmtp_url = \"smtps://localhost:{smtp_port}\"\nsmtp_from = \"vigil@example.com\"\nca_file = {:?}\n",
            ca_file.to_string_lossy()
        ),
    )
    .unwrap();
    let loaded = vigil::config::Settings::load(Some(&config_file))
        .expect("a config with an smtps:// URL loads and validates");
    let app = spawn_app_with(|s| {
        alert_settings(s);
        s.notify.smtp_url = loaded.notify.smtp_url.clone();
        s.notify.smtp_from = loaded.notify.smtp_from.clone();
        s.notify.ca_file = loaded.notify.ca_file.clone();
    })
    .await;
    let rule = json!({
        "name": "Queue stuck",
        "query": {"query": "queue.depth", "aggregation": "max", "window": "5m"},
        "condition": "gt", "threshold": 100, "duration": "0s", "severity": "warning",
        "notification": {"type": "email", "target": "oncall@example.com"},
    });
    let id = create_rule(&app, &rule).await;
    push(&app, "queue.depth", 500.0, &[]).await;
    let message = eventually(ALERT_DEADLINE, || async {
        match sink.messages().as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(format!(
                "expected an email; outbox {:?}",
                outbox(&app, &id).await
            )),
            many => panic!("expected one email, got {}", many.len()),
        }
    })
    .await;
    assert!(
        message.contains("Subject: [WARNING] Queue stuck"),
        "{message}"
    );
    assert!(
        message.contains("X-Envelope-To: oncall@example.com"),
        "{message}"
    );
    sink.stop().await;
    app.cleanup().await;
}

/// A target that keeps failing: its breaker opens (deliveries are deferred without
/// spending an attempt), the notification is given up at its deadline and recorded
/// failed, nothing is sent after that — and another target's notifications are not
/// held up by that breaker.
#[actix_web::test]
async fn a_dead_target_trips_its_own_breaker_and_is_given_up_at_the_deadline() {
    let app = spawn_app_with(|s| {
        alert_settings(s);
        s.notify.give_up_after = Duration::from_secs(5);
        s.notify.breaker_failures = 2;
        s.notify.breaker_open_for = Duration::from_secs(1);
    })
    .await;
    let dead = WebhookReceiver::start(&[500; 1000]).await;
    let healthy = WebhookReceiver::start(&[]).await;
    let doomed = create_rule(
        &app,
        &webhook_rule("Dead hook", "dead", 1.0, "0s", &dead.url),
    )
    .await;
    push(&app, "dead", 5.0, &[]).await;
    dead.wait_for_requests(2).await;
    // The dead target's breaker is open now; a rule notifying another target is
    // delivered regardless.
    create_rule(
        &app,
        &webhook_rule("Live hook", "live", 1.0, "0s", &healthy.url),
    )
    .await;
    push(&app, "live", 5.0, &[]).await;
    healthy.wait_for_deliveries(1).await;

    eventually(ALERT_DEADLINE, || async {
        match outbox(&app, &doomed).await.as_slice() {
            [(status, _, Some(error))] if status == "failed" && error.contains("gave up") => Ok(()),
            other => Err(format!(
                "expected the notification given up and failed; got {other:?}"
            )),
        }
    })
    .await;
    let attempts = dead.received().len();
    consistently(Duration::from_secs(2), || async {
        match dead.received().len() {
            n if n == attempts => Ok(()),
            n => Err(format!(
                "a given-up notification was sent again: {n} > {attempts} requests"
            )),
        }
    })
    .await;
    let metrics = get(&app, "/metrics").await.text();
    let deferred = prometheus_sum(
        &metrics,
        "vigil_notifications_total",
        &[("result", "deferred")],
    );
    assert!(
        deferred >= 1.0,
        "the open breaker deferred deliveries: {deferred}"
    );
    assert_eq!(events(&app, &doomed).await[0]["notification"], "failed");
    dead.stop().await;
    healthy.stop().await;
    app.cleanup().await;
}
