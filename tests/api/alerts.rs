//! Alerting: the rules API, the state machine against real time, restarts, several
//! instances, groupBy, edits, evaluate-now, history and metrics. Notification delivery
//! faults are in `alerts_notify`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::alerts_support::*;
use crate::helpers::*;

#[actix_web::test]
async fn rules_are_created_read_updated_and_deleted_with_validation() {
    let app = spawn_app_with(|s| s.alerts.evaluation_interval = Duration::from_secs(1)).await;
    let rule = webhook_rule(
        "CPU high",
        "cpu.usage",
        80.0,
        "5m",
        "http://hooks.example.com/x",
    );
    let id = create_rule(&app, &rule).await;
    let listed = get(&app, "/api/v1/alerts/rules").await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    let read = rule_state(&app, &id).await;
    assert_eq!(read["name"], "CPU high");
    assert_eq!(read["condition"], "gt");
    assert_eq!(read["window"], "5m");
    assert_eq!(read["enabled"], true);
    assert_eq!(read["noData"], "ok");
    assert_eq!(read["state"], "ok");

    let mut changed = rule.clone();
    changed["threshold"] = json!(90);
    changed["severity"] = json!("warning");
    let updated = send_json(
        &app,
        "PUT",
        &format!("/api/v1/alerts/rules/{id}"),
        Some(&changed),
    )
    .await;
    updated.assert_status(200, "updating a rule");
    assert_eq!(updated.json()["data"]["threshold"], 90.0);
    assert_eq!(updated.json()["data"]["version"], 2);

    let bad: Vec<(Value, &str)> = vec![
        (json!({"duration": "five minutes"}), "duration"),
        (json!({"query": {"query": "bad name"}}), "query.query"),
        (
            json!({"query": {"query": "cpu", "aggregation": "p99"}}),
            "query.aggregation",
        ),
        (
            json!({"notification": {"type": "email", "target": "not-an-address"}}),
            "notification.target",
        ),
        (
            json!({"notification": {"type": "webhook", "target": "ftp://x.example.com/"}}),
            "notification.target",
        ),
        // Private targets are refused by default (SSRF), checked at creation for IP literals.
        (
            json!({"notification": {"type": "webhook", "target": "http://127.0.0.1:9/x"}}),
            "notification.target",
        ),
        (
            json!({"notification": {"type": "webhook", "target": "http://169.254.169.254/latest"}}),
            "notification.target",
        ),
        (json!({"name": ""}), "name"),
    ];
    for (patch, field) in bad {
        let mut body = rule.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = send_json(&app, "POST", "/api/v1/alerts/rules", Some(&body)).await;
        response.assert_error(400, "VALIDATION_ERROR", &format!("rule with bad {field}"));
        assert_eq!(
            response.json()["details"]["field"],
            field,
            "{}",
            response.describe()
        );
    }
    let mut unknown = rule.clone();
    unknown["condition"] = json!("between");
    send_json(&app, "POST", "/api/v1/alerts/rules", Some(&unknown))
        .await
        .assert_error(400, "VALIDATION_ERROR", "unknown condition");

    let deleted = send_json(&app, "DELETE", &format!("/api/v1/alerts/rules/{id}"), None).await;
    deleted.assert_status(204, "deleting a rule");
    get(&app, &format!("/api/v1/alerts/rules/{id}"))
        .await
        .assert_error(404, "NOT_FOUND", "reading a deleted rule");
    send_json(&app, "DELETE", &format!("/api/v1/alerts/rules/{id}"), None)
        .await
        .assert_error(404, "NOT_FOUND", "deleting twice");
    app.cleanup().await;
}

#[actix_web::test]
async fn fires_after_exactly_the_duration_resolves_and_never_repeats() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let id = create_rule(
        &app,
        &webhook_rule("Temp high", "temp", 50.0, "3s", &hook.url),
    )
    .await;
    push(&app, "temp", 100.0, &[("room", "a")]).await;

    let pending = wait_for_state(&app, &id, "pending").await;
    let pending_since = parse_rfc3339_ms(&pending["instances"][0]["pendingSince"]);
    // Not before the duration: nothing is sent while the condition has held < 3 s.
    while now_ms() < pending_since + 2_500 {
        assert!(
            hook.received().is_empty(),
            "notified before the duration had passed: {:?}",
            hook.received()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fired = hook.wait_for_deliveries(1).await;
    let body = &fired[0].body;
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], "Temp high");
    assert_eq!(body["alerts"][0]["labels"]["severity"], "critical");
    assert_eq!(body["alerts"][0]["annotations"]["value"], "100");
    assert!(body["alerts"][0]["generatorURL"]
        .as_str()
        .unwrap()
        .ends_with(&id));
    assert_eq!(
        fired[0].idempotency_key.as_deref(),
        body["idempotencyKey"].as_str()
    );

    let history = events(&app, &id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    let fired_at = parse_rfc3339_ms(&history[0]["at"]);
    let since = parse_rfc3339_ms(&history[0]["since"]);
    assert_eq!(
        since, pending_since,
        "the event's since is the pending start"
    );
    assert!(
        fired_at - since >= 3_000 && fired_at - since < 3_000 + 3_000,
        "fired {} ms after the condition first held; expected 3 s plus at most a few intervals",
        fired_at - since
    );

    // Still firing: no repeat.
    consistently(Duration::from_secs(3), || async {
        match hook.received().len() {
            1 => Ok(()),
            n => Err(format!("expected no repeat while firing; got {n} webhooks")),
        }
    })
    .await;

    push(&app, "temp", 10.0, &[("room", "a")]).await;
    let both = hook.wait_for_deliveries(2).await;
    assert_eq!(both[1].body["status"], "resolved");
    assert_ne!(both[0].idempotency_key, both[1].idempotency_key);
    assert_ne!(both[1].body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    // The receiver answers before the notifier records the delivery: poll for the record.
    eventually(ALERT_DEADLINE, || async {
        let history = events(&app, &id).await;
        let states: Vec<&str> = history
            .iter()
            .map(|e| e["state"].as_str().unwrap_or("?"))
            .collect();
        match (
            states.as_slice(),
            history.get(1).map(|e| &e["notification"]),
        ) {
            (["firing", "resolved"], Some(n)) if n == "sent" => Ok(()),
            _ => Err(format!(
                "expected firing then resolved, sent; got {history:?}"
            )),
        }
    })
    .await;
    wait_for_state(&app, &id, "ok").await;
    hook.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_restart_keeps_pending_since_and_does_not_fire_again() {
    let mut app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let id = create_rule(&app, &webhook_rule("Disk", "disk", 50.0, "5s", &hook.url)).await;
    push(&app, "disk", 90.0, &[]).await;
    let pending = wait_for_state(&app, &id, "pending").await;
    let pending_since = parse_rfc3339_ms(&pending["instances"][0]["pendingSince"]);

    // Restart while pending.
    app.stop().await;
    let mut second = Instance::start(&app.settings).await;
    let fired = hook.wait_for_deliveries(1).await;
    let history = events_at(&app, &second.address, &id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        parse_rfc3339_ms(&history[0]["since"]),
        pending_since,
        "the restarted instance kept the pending start"
    );
    let fired_at = parse_rfc3339_ms(&history[0]["at"]);
    assert!(
        fired_at - pending_since >= 5_000,
        "fired after {} ms",
        fired_at - pending_since
    );
    assert_eq!(fired[0].body["status"], "firing");

    // Restart while firing: no second firing notification, same firing start.
    let before = firing_since(&app, &second.address, &id).await;
    second.stop().await;
    let mut third = Instance::start(&app.settings).await;
    eventually(ALERT_DEADLINE, || async {
        let evaluated: Option<String> = sqlx::query_scalar(
            "SELECT holder FROM alert_leases WHERE rule_id = $1::uuid AND expires_at > now()",
        )
        .bind(&id)
        .fetch_optional(&app.db)
        .await
        .unwrap();
        evaluated
            .map(|_| ())
            .ok_or_else(|| "expected the third instance to hold the rule".to_string())
    })
    .await;
    consistently(Duration::from_secs(4), || async {
        match hook.received().len() {
            1 => Ok(()),
            n => Err(format!(
                "expected no new notification after the restart; got {n}"
            )),
        }
    })
    .await;
    assert_eq!(firing_since(&app, &third.address, &id).await, before);
    assert_eq!(events_at(&app, &third.address, &id).await.len(), 1);
    third.stop().await;
    hook.stop().await;
    app.cleanup().await;
}

async fn events_at(app: &TestApp, address: &str, id: &str) -> Vec<Value> {
    let token = admin_token(app).await;
    let response = send_as(
        address,
        &token,
        "GET",
        &format!("/api/v1/alerts/history?ruleId={id}"),
        None,
    )
    .await;
    response.assert_status(200, "history");
    let mut events = response.json()["data"].as_array().unwrap().clone();
    events.reverse();
    events
}

async fn firing_since(app: &TestApp, address: &str, id: &str) -> i64 {
    let token = admin_token(app).await;
    eventually(ALERT_DEADLINE, || async {
        let rule = send_as(
            address,
            &token,
            "GET",
            &format!("/api/v1/alerts/rules/{id}"),
            None,
        )
        .await
        .json();
        match rule["data"]["instances"][0]["firingSince"].as_str() {
            Some(_) => Ok(parse_rfc3339_ms(
                &rule["data"]["instances"][0]["firingSince"],
            )),
            None => Err(format!("expected a firing instance; got {rule}")),
        }
    })
    .await
}

#[actix_web::test]
async fn two_instances_evaluate_each_rule_once_and_a_survivor_takes_over() {
    let app = spawn_app_with(alert_settings).await;
    let mut other = Instance::start(&app.settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let id = create_rule(&app, &webhook_rule("Shared", "load", 1.0, "1s", &hook.url)).await;
    push(&app, "load", 5.0, &[]).await;
    hook.wait_for_deliveries(1).await;
    consistently(Duration::from_secs(3), || async {
        match hook.received().len() {
            1 => Ok(()),
            n => Err(format!(
                "two instances must notify a transition once; got {n}"
            )),
        }
    })
    .await;
    let holders: i64 =
        sqlx::query_scalar("SELECT count(*) FROM alert_leases WHERE rule_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(holders, 1);

    // A holder that dies without releasing: its lease expires and a survivor takes the
    // rule over within lease_ttl + lease_renew_interval, with a new epoch.
    let epoch: i64 = sqlx::query_scalar(
        "UPDATE alert_leases SET holder = 'dead-instance', expires_at = now() + interval '3 seconds'
         WHERE rule_id = $1::uuid RETURNING epoch",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let started = std::time::Instant::now();
    eventually(ALERT_DEADLINE, || async {
        let (holder, new_epoch): (String, i64) =
            sqlx::query_as("SELECT holder, epoch FROM alert_leases WHERE rule_id = $1::uuid")
                .bind(&id)
                .fetch_one(&app.db)
                .await
                .unwrap();
        if holder != "dead-instance" && new_epoch > epoch {
            Ok(())
        } else {
            Err(format!(
                "expected a survivor to take the lease over; holder {holder}, epoch {new_epoch}"
            ))
        }
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3 + 1 + 3),
        "takeover took {:?}",
        started.elapsed()
    );

    // The survivor restored the firing state: resolving notifies once, not a new firing.
    push(&app, "load", 0.0, &[]).await;
    let delivered = hook.wait_for_deliveries(2).await;
    assert_eq!(delivered[1].body["status"], "resolved");
    consistently(Duration::from_secs(2), || async {
        match hook.received().len() {
            2 => Ok(()),
            n => Err(format!("expected exactly firing + resolved; got {n}")),
        }
    })
    .await;
    other.stop().await;
    hook.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn group_by_gives_each_series_its_own_alert() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let mut rule = webhook_rule("Per host", "mem", 50.0, "0s", &hook.url);
    rule["query"]["groupBy"] = json!(["host"]);
    let id = create_rule(&app, &rule).await;
    push(&app, "mem", 90.0, &[("host", "a")]).await;
    push(&app, "mem", 10.0, &[("host", "b")]).await;
    let first = hook.wait_for_deliveries(1).await;
    assert_eq!(first[0].body["alerts"][0]["labels"]["host"], "a");
    push(&app, "mem", 95.0, &[("host", "c")]).await;
    let both = hook.wait_for_deliveries(2).await;
    assert_eq!(both[1].body["alerts"][0]["labels"]["host"], "c");
    let rule = wait_for_state(&app, &id, "firing").await;
    let firing: Vec<&Value> = rule["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["state"] == "firing")
        .collect();
    assert_eq!(firing.len(), 2, "{rule}");
    assert_eq!(events(&app, &id).await.len(), 2);
    hook.stop().await;
    app.cleanup().await;
}

/// A point stored after its slice had its first background read (older than the
/// fresh range a tick reads itself) is taken in by the slice's last read, at
/// `alerts.settle`: late points delay an alert, they are not lost to it.
#[actix_web::test]
async fn a_point_stored_late_is_seen_by_the_slices_last_read() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let mut rule = webhook_rule("Late", "late", 50.0, "0s", &hook.url);
    rule["query"]["aggregation"] = json!("max");
    let id = create_rule(&app, &rule).await;
    push(&app, "late", 10.0, &[("host", "a")]).await;
    eventually(ALERT_DEADLINE, || async {
        let rule = rule_state(&app, &id).await;
        match rule["instances"][0]["lastValue"].as_f64() {
            Some(10.0) => Ok(()),
            _ => Err(format!("expected the first point evaluated; got {rule}")),
        }
    })
    .await;
    // The metric is cached now; a point 6 s old lies before the fresh range (the last
    // `alerts.recent` = 2 s and up to two slices) in a slice already read once.
    let late_ms = now_ms() - 6_000;
    let response = app
        .post_metrics(&json!([point("late", 100.0, &[("host", "a")], late_ms)]))
        .await;
    response.assert_status(202, "pushing a late point");
    app.wait_for_points("late", 2).await;
    let stored_at = now_ms();
    let fired = hook.wait_for_deliveries(1).await;
    assert_eq!(fired[0].body["status"], "firing");
    assert_eq!(fired[0].body["alerts"][0]["annotations"]["value"], "100");
    let history = events(&app, &id).await;
    let fired_at = parse_rfc3339_ms(&history[0]["at"]);
    // The last read of the point's slice is due 10 s after the slice ended.
    assert!(
        fired_at <= late_ms + 10_000 + 1_000 + 3_000,
        "fired at {fired_at}, {} ms after the late point was stored; its slice's last read was due by {}",
        fired_at - stored_at,
        late_ms + 11_000
    );
    hook.stop().await;
    app.cleanup().await;
}

/// An evaluation whose state write fails (the database refuses this rule's events,
/// through a trigger in the test's own database) is counted and retried at the next
/// tick; the other rule is not held up, and once the database accepts the write again
/// the rule fires exactly once.
#[actix_web::test]
async fn a_failing_evaluation_is_counted_retried_and_does_not_hold_up_other_rules() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let mut broken = webhook_rule("Broken", "fail_a", 50.0, "0s", &hook.url);
    broken["query"]["aggregation"] = json!("max");
    let broken_id = create_rule(&app, &broken).await;
    let mut healthy = webhook_rule("Healthy", "fail_b", 50.0, "0s", &hook.url);
    healthy["query"]["aggregation"] = json!("max");
    let healthy_id = create_rule(&app, &healthy).await;
    sqlx::query(&format!(
        "CREATE FUNCTION refuse_broken() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.rule_id = '{broken_id}'::uuid THEN RAISE EXCEPTION 'refused by the test'; END IF;
           RETURN NEW;
         END $$"
    ))
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER refuse_broken BEFORE INSERT ON alert_events FOR EACH ROW EXECUTE FUNCTION refuse_broken()")
        .execute(&app.db)
        .await
        .unwrap();
    let failures_before = state_write_failures(&app).await;

    push(&app, "fail_a", 100.0, &[]).await;
    push(&app, "fail_b", 100.0, &[]).await;
    let delivered = hook.wait_for_deliveries(1).await;
    assert_eq!(
        delivered[0].body["alerts"][0]["labels"]["alertname"],
        "Healthy"
    );
    wait_for_state(&app, &healthy_id, "firing").await;
    // The broken rule keeps failing, tick after tick, and records nothing.
    eventually(ALERT_DEADLINE, || async {
        let failures = state_write_failures(&app).await - failures_before;
        if failures >= 3.0 {
            Ok(())
        } else {
            Err(format!(
                "expected repeated state_write failures; counted {failures}"
            ))
        }
    })
    .await;
    assert!(events(&app, &broken_id).await.is_empty());
    assert_eq!(rule_state(&app, &broken_id).await["state"], "ok");
    assert_eq!(hook.received().len(), 1, "{:?}", hook.received());

    sqlx::query("DROP TRIGGER refuse_broken ON alert_events")
        .execute(&app.db)
        .await
        .unwrap();
    wait_for_state(&app, &broken_id, "firing").await;
    let both = hook.wait_for_deliveries(2).await;
    assert_eq!(both[1].body["alerts"][0]["labels"]["alertname"], "Broken");
    consistently(Duration::from_secs(2), || async {
        match (hook.received().len(), events(&app, &broken_id).await.len()) {
            (2, 1) => Ok(()),
            other => Err(format!(
                "expected one firing of each rule; got (webhooks, events) {other:?}"
            )),
        }
    })
    .await;
    hook.stop().await;
    app.cleanup().await;
}

async fn state_write_failures(app: &TestApp) -> f64 {
    prometheus_sum(
        &get(app, "/metrics").await.text(),
        "vigil_alert_evaluation_failures_total",
        &[("reason", "state_write")],
    )
}

#[actix_web::test]
async fn editing_disabling_and_deleting_a_rule_take_effect() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let rule = webhook_rule("Editable", "queue", 10.0, "0s", &hook.url);
    let id = create_rule(&app, &rule).await;
    push(&app, "queue", 20.0, &[]).await;
    hook.wait_for_deliveries(1).await;

    // A higher threshold: the condition no longer holds, the alert resolves.
    let mut higher = rule.clone();
    higher["threshold"] = json!(100);
    send_json(
        &app,
        "PUT",
        &format!("/api/v1/alerts/rules/{id}"),
        Some(&higher),
    )
    .await
    .assert_status(200, "raising the threshold");
    let delivered = hook.wait_for_deliveries(2).await;
    assert_eq!(delivered[1].body["status"], "resolved");
    assert_eq!(delivered[1].body["commonAnnotations"]["threshold"], "100");

    // Disabled: nothing is evaluated, whatever the data.
    let mut disabled = rule.clone();
    disabled["enabled"] = json!(false);
    send_json(
        &app,
        "PUT",
        &format!("/api/v1/alerts/rules/{id}"),
        Some(&disabled),
    )
    .await
    .assert_status(200, "disabling");
    eventually(ALERT_DEADLINE, || async {
        let leases: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_leases l JOIN alert_rules r ON r.id = l.rule_id WHERE r.id = $1::uuid AND r.enabled")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
        (leases == 0).then_some(()).ok_or("the rule is still enabled".to_string())
    })
    .await;
    let evaluations = evaluation_count(&app).await;
    consistently(Duration::from_secs(3), || async {
        match hook.received().len() {
            2 => Ok(()),
            n => Err(format!("a disabled rule notified: {n}")),
        }
    })
    .await;
    assert_eq!(
        evaluation_count(&app).await,
        evaluations,
        "a disabled rule is not evaluated"
    );

    // Re-enabled with the low threshold: fires again; then deleted: no more events.
    send_json(
        &app,
        "PUT",
        &format!("/api/v1/alerts/rules/{id}"),
        Some(&rule),
    )
    .await
    .assert_status(200, "enabling");
    hook.wait_for_deliveries(3).await;
    send_json(&app, "DELETE", &format!("/api/v1/alerts/rules/{id}"), None)
        .await
        .assert_status(204, "deleting");
    let evaluations = evaluation_count(&app).await;
    push(&app, "queue", 0.0, &[]).await;
    consistently(Duration::from_secs(3), || async {
        match hook.received().len() {
            3 => Ok(()),
            n => Err(format!("a deleted rule notified: {n}")),
        }
    })
    .await;
    assert!(
        evaluation_count(&app).await <= evaluations + 1.0,
        "a deleted rule is not evaluated"
    );
    assert_eq!(
        events(&app, &id).await.len(),
        3,
        "history outlives the rule"
    );
    hook.stop().await;
    app.cleanup().await;
}

async fn evaluation_count(app: &TestApp) -> f64 {
    prometheus_sum(
        &get(app, "/metrics").await.text(),
        "vigil_alert_evaluations_total",
        &[],
    )
}

#[actix_web::test]
async fn evaluate_now_shows_the_value_and_would_be_state_without_recording() {
    let app = spawn_app_with(|s| {
        alert_settings(s);
        // No ticks during the test: only the endpoint evaluates.
        s.alerts.evaluation_interval = Duration::from_secs(3600);
    })
    .await;
    let id = create_rule(
        &app,
        &webhook_rule("Now", "rps", 10.0, "0s", "http://127.0.0.1:9/x"),
    )
    .await;
    let empty = send_json(
        &app,
        "POST",
        &format!("/api/v1/alerts/rules/{id}/evaluate"),
        None,
    )
    .await;
    empty.assert_status(200, "evaluating without data");
    assert_eq!(empty.json()["data"]["instances"][0]["value"], Value::Null);
    assert_eq!(empty.json()["data"]["instances"][0]["wouldBe"], "ok");
    push(&app, "rps", 42.0, &[]).await;
    let response = send_json(
        &app,
        "POST",
        &format!("/api/v1/alerts/rules/{id}/evaluate"),
        None,
    )
    .await;
    response.assert_status(200, "evaluating");
    let instance = &response.json()["data"]["instances"][0];
    assert_eq!(instance["value"], 42.0);
    assert_eq!(instance["conditionMet"], true);
    assert_eq!(instance["state"], "ok");
    assert_eq!(instance["wouldBe"], "firing");
    assert_eq!(instance["transition"], "firing");
    assert!(
        events(&app, &id).await.is_empty(),
        "evaluate-now records nothing"
    );
    send_json(
        &app,
        "POST",
        "/api/v1/alerts/rules/00000000-0000-0000-0000-000000000000/evaluate",
        None,
    )
    .await
    .assert_error(404, "NOT_FOUND", "evaluating an unknown rule");
    app.cleanup().await;
}

#[actix_web::test]
async fn an_unsaved_rule_is_evaluated_as_written_and_nothing_is_stored() {
    let app = spawn_app_with(|s| {
        alert_settings(s);
        s.alerts.evaluation_interval = Duration::from_secs(3600);
    })
    .await;
    push(&app, "draft_rps", 42.0, &[]).await;
    let rule = webhook_rule("Draft", "draft_rps", 10.0, "0s", "http://127.0.0.1:9/x");
    let response = send_json(&app, "POST", "/api/v1/alerts/rules/evaluate", Some(&rule)).await;
    response.assert_status(200, "evaluating a draft");
    let instance = &response.json()["data"]["instances"][0];
    assert_eq!(instance["value"], 42.0);
    assert_eq!(instance["conditionMet"], true);
    assert_eq!(instance["state"], "ok");
    assert_eq!(instance["wouldBe"], "firing");
    // The same draft with a threshold above the value would stay ok.
    let mut calm = rule.clone();
    calm["threshold"] = serde_json::json!(100.0);
    let calm = send_json(&app, "POST", "/api/v1/alerts/rules/evaluate", Some(&calm)).await;
    assert_eq!(calm.json()["data"]["instances"][0]["wouldBe"], "ok");
    let rules: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_rules")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rules, 0, "a draft evaluation stores no rule");
    let mut bad = rule;
    bad["duration"] = serde_json::json!("soon");
    send_json(&app, "POST", "/api/v1/alerts/rules/evaluate", Some(&bad))
        .await
        .assert_error(400, "VALIDATION_ERROR", "a draft with a bad duration");
    app.cleanup().await;
}

#[actix_web::test]
async fn history_filters_and_pages() {
    let app = spawn_app_with(alert_settings).await;
    let hook = WebhookReceiver::start(&[]).await;
    let id = create_rule(&app, &webhook_rule("Flappy", "flap", 10.0, "0s", &hook.url)).await;
    for (i, value) in [20.0, 0.0, 20.0, 0.0].into_iter().enumerate() {
        push(&app, "flap", value, &[]).await;
        // Each value replaces the window's minimum only downwards, so reset the
        // window by letting the rule see the transition before the next point.
        hook.wait_for_deliveries(i + 1).await;
        if value == 0.0 {
            sqlx::query("DELETE FROM points WHERE series_id IN (SELECT id FROM series WHERE metric = 'flap')")
                .execute(&app.db)
                .await
                .unwrap();
        }
    }
    let all = events(&app, &id).await;
    let states: Vec<&str> = all.iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["firing", "resolved", "firing", "resolved"]);

    let page = get(&app, &format!("/api/v1/alerts/history?ruleId={id}&limit=3"))
        .await
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    let cursor = page["meta"]["nextCursor"].as_i64().expect("a next cursor");
    let rest = get(
        &app,
        &format!("/api/v1/alerts/history?ruleId={id}&limit=3&cursor={cursor}"),
    )
    .await
    .json();
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert!(rest["meta"]["nextCursor"].is_null());
    let firing = get(
        &app,
        &format!("/api/v1/alerts/history?ruleId={id}&state=firing"),
    )
    .await
    .json();
    assert_eq!(firing["data"].as_array().unwrap().len(), 2);
    let future = rfc3339(now_ms() + 3_600_000);
    let none = get(
        &app,
        &format!("/api/v1/alerts/history?from={}", future.replace('+', "%2B")),
    )
    .await
    .json();
    assert_eq!(none["data"].as_array().unwrap().len(), 0, "{none}");
    get(&app, "/api/v1/alerts/history?state=weird")
        .await
        .assert_error(400, "VALIDATION_ERROR", "bad state filter");
    get(&app, "/api/v1/alerts/history?limit=0")
        .await
        .assert_error(400, "VALIDATION_ERROR", "bad limit");

    let metrics = get(&app, "/metrics").await.text();
    assert!(prometheus_sum(&metrics, "vigil_alert_evaluations_total", &[]) > 0.0);
    assert_eq!(
        prometheus_sum(
            &metrics,
            "vigil_notifications_total",
            &[("channel", "webhook"), ("result", "sent")]
        ),
        4.0
    );
    assert_eq!(
        prometheus_sum(
            &metrics,
            "vigil_alert_transitions_total",
            &[("state", "firing")]
        ),
        2.0
    );
    assert!(metrics.contains("vigil_alert_round_duration_seconds"));
    assert!(metrics.contains("vigil_notify_breakers_open"));
    hook.stop().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn viewers_read_editors_write_their_own_rules_and_admins_everything() {
    let app = spawn_app_with(|s| s.alerts.evaluation_interval = Duration::from_secs(1)).await;
    let (_, viewer) = user_token(&app, "viewer").await;
    let (editor_id, editor) = user_token(&app, "editor").await;
    let (_, other_editor) = user_token(&app, "editor").await;
    let rule = webhook_rule("Owned", "owned", 1.0, "1m", "http://hooks.example.com/x");
    let rules = "/api/v1/alerts/rules";

    send_as(&app.address, "", "GET", rules, None)
        .await
        .assert_error(401, "UNAUTHORIZED", "no credentials");
    send_as(&app.address, &viewer, "POST", rules, Some(&rule))
        .await
        .assert_error(403, "FORBIDDEN", "a viewer creating a rule");
    let created = send_as(&app.address, &editor, "POST", rules, Some(&rule)).await;
    created.assert_status(201, "an editor creating a rule");
    assert_eq!(created.json()["data"]["ownerId"], editor_id.to_string());
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let path = format!("{rules}/{id}");

    send_as(&app.address, &viewer, "GET", &path, None)
        .await
        .assert_status(200, "a viewer reading a rule");
    send_as(&app.address, &viewer, "GET", "/api/v1/alerts/history", None)
        .await
        .assert_status(200, "a viewer reading history");
    send_as(&app.address, &other_editor, "PUT", &path, Some(&rule))
        .await
        .assert_error(403, "FORBIDDEN", "another editor changing the rule");
    send_as(&app.address, &other_editor, "DELETE", &path, None)
        .await
        .assert_error(403, "FORBIDDEN", "another editor deleting the rule");
    send_as(
        &app.address,
        &viewer,
        "POST",
        "/api/v1/alerts/silences",
        Some(&json!({"ruleId": id, "endsAt": rfc3339(now_ms() + 60_000)})),
    )
    .await
    .assert_error(403, "FORBIDDEN", "a viewer silencing");
    send_as(&app.address, &editor, "PUT", &path, Some(&rule))
        .await
        .assert_status(200, "the owner changing the rule");
    send_json(&app, "DELETE", &path, None)
        .await
        .assert_status(204, "an admin deleting someone's rule");
    app.cleanup().await;
}
