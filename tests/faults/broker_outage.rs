//! RabbitMQ unreachable, through a proxy the test controls: at start (Vigil must come
//! up, answer 503 and connect once the broker is there) and under load (connections
//! cut for a few seconds: no 2xx while the broker is gone, nothing acknowledged lost
//! or doubled by the redeliveries that follow).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::load::{check_exactly_once, get_json, Load};
use crate::proxy::Proxy;

const CUT: Duration = Duration::from_secs(5);

fn broker() -> SocketAddr {
    "127.0.0.1:5672".parse().unwrap()
}

async fn spawn_behind(proxy: &Proxy) -> TestApp {
    let port = proxy.port;
    spawn_app_with(move |s| {
        s.amqp.url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
        s.amqp.reconnect_min = Duration::from_millis(100);
        s.amqp.reconnect_max = Duration::from_secs(1);
        s.amqp.confirm_timeout = Duration::from_secs(2);
        s.ingest.retry_max = Duration::from_secs(1);
    })
    .await
}

#[test]
fn rabbitmq_unreachable_at_start_then_available() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(async {
        let proxy = Proxy::start(broker(), false);
        let app = spawn_behind(&proxy).await;

        let body = json!([{"name": "late_broker", "value": 1.0}]);
        for attempt in 0..3 {
            let response = app.post_metrics(&body).await;
            response.assert_error(
                503,
                "UNAVAILABLE",
                &format!("attempt {attempt} while the broker is unreachable"),
            );
            assert!(
                response.header("Retry-After").is_some(),
                "expected Retry-After with the 503; got {:?}",
                response.headers
            );
        }
        let health = app.get("/health").await;
        health.assert_status(503, "/health while the broker is unreachable");
        assert_eq!(
            health.json()["checks"]["rabbitmq"]["status"],
            "down",
            "{}",
            health.describe()
        );

        proxy.restore();
        let statuses = RefCell::new(Vec::new());
        eventually(Duration::from_secs(30), || async {
            let response = app
                .post_metrics(&json!([{"name": "late_broker", "value": 2.0}]))
                .await;
            let status = response.status.as_u16();
            statuses.borrow_mut().push(status);
            match status {
                202 => Ok(()),
                503 => Err(format!(
                    "expected a 202 once the broker is reachable; still 503 ({:?})",
                    statuses.borrow()
                )),
                _ => panic!(
                    "expected 503 or 202 while connecting to the broker; got {}",
                    response.describe()
                ),
            }
        })
        .await;
        let stored = app.wait_for_points("late_broker", 1).await;
        assert_eq!(
            stored[0].value, 2.0,
            "only the acknowledged point is stored; got {stored:?}"
        );
        eventually(Duration::from_secs(30), || async {
            let health = app.get("/health").await;
            if health.status.as_u16() == 200 {
                Ok(())
            } else {
                Err(format!("expected /health 200; got {}", health.describe()))
            }
        })
        .await;
        app.cleanup().await;
    });
}

#[test]
fn a_broker_cut_under_load_loses_nothing_acknowledged() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(async {
        let proxy = Proxy::start(broker(), true);
        let app = spawn_behind(&proxy).await;
        let load = Load::start(&app.address, "cut", 3, 50, Duration::from_millis(20));
        eventually(Duration::from_secs(30), || async {
            match load.acked_count() {
                n if n >= 1000 => Ok(()),
                n => Err(format!("expected 1000 points acknowledged before the cut; got {n}")),
            }
        })
        .await;

        proxy.cut();
        load.mark();
        let cut_at = Instant::now();
        let mut health_saw_down = false;
        while cut_at.elapsed() < CUT {
            let (status, body) = get_json(&app.client, &app.url("/health")).await;
            health_saw_down |= status == 503 && body["checks"]["rabbitmq"]["status"] == "down";
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        proxy.restore();
        let restored_at = Instant::now();
        let acked_at_restore = load.acked_count();
        eventually(Duration::from_secs(60), || async {
            match load.acked_count() - acked_at_restore {
                n if n >= 1000 => Ok(()),
                n => Err(format!(
                    "expected ingest to resume after the broker came back; {n} more points acknowledged"
                )),
            }
        })
        .await;
        let tally = load.stop().await;

        let verdict = {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match check_exactly_once(&app.db, "cut", &tally.acked).await {
                    Ok(()) => break Ok(()),
                    Err(e) if Instant::now() >= deadline => break Err(e),
                    Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            }
        };
        let dead_lettered = queue_depth(&app.isolation.dead_letter_queue).await.ok().flatten();
        app.cleanup().await;
        drop(proxy);

        // A confirm needs the broker: a 202 that arrives well after the cut, and
        // before the restore, was never confirmed.
        let impossible: Vec<String> = tally
            .since_mark
            .iter()
            .filter(|(at, outcome)| {
                outcome.starts_with('2') && *at > cut_at + Duration::from_secs(1) && *at < restored_at
            })
            .map(|(at, outcome)| format!("{outcome} at +{:.2}s", at.duration_since(cut_at).as_secs_f64()))
            .collect();
        let during: Vec<&String> = tally
            .since_mark
            .iter()
            .filter(|(at, _)| *at < restored_at)
            .map(|(_, outcome)| outcome)
            .collect();
        eprintln!(
            "broker cut: {} points acknowledged, outcomes {:?}",
            tally.acked.len(),
            tally.outcomes
        );
        assert!(
            impossible.is_empty(),
            "expected no 2xx while the broker was cut off; got {impossible:?}"
        );
        assert!(
            during.iter().any(|o| *o == "503"),
            "expected 503 answers while the broker was cut off; got {during:?}"
        );
        assert!(tally.partial.is_empty(), "partial answers: {:?}", tally.partial);
        verdict.unwrap_or_else(|e| {
            panic!("after the broker came back, expected every acknowledged point stored once: {e}")
        });
        assert!(
            health_saw_down,
            "expected /health 503 with rabbitmq down during the cut"
        );
        assert_eq!(
            dead_lettered,
            Some(0),
            "a broker outage must not dead-letter data; dead-letter queue depth {dead_lettered:?}"
        );
    });
}
