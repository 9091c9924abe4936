//! What the alerting tests share: a real webhook receiver (actix-web on 127.0.0.1:0 in
//! the test process, answering scripted statuses), a real SMTP server (aiosmtpd, see
//! tests/support/smtp_sink.py; `scripts/test-deps.sh` installs it), a second Vigil
//! instance on the same services, and rule helpers.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use vigil::app::Application;
use vigil::config::Settings;

use crate::helpers::*;

/// Alert tests run with a 1 s evaluation interval (the issue's test setting), short
/// leases and fast notifier retries, and may reach the loopback receivers.
pub fn alert_settings(settings: &mut Settings) {
    settings.alerts.evaluation_interval = Duration::from_secs(1);
    settings.alerts.min_window = Duration::from_secs(1);
    settings.alerts.lease_ttl = Duration::from_secs(3);
    settings.alerts.lease_renew_interval = Duration::from_secs(1);
    settings.notify.allow_private_targets = true;
    settings.notify.outbox_poll_interval = Duration::from_millis(200);
    settings.notify.retry_min = Duration::from_millis(200);
    settings.notify.retry_max = Duration::from_secs(1);
    settings.notify.webhook_timeout = Duration::from_secs(2);
    settings.notify.smtp_timeout = Duration::from_secs(2);
    settings.notify.claim_ttl = Duration::from_secs(10);
    settings.notify.external_url = "http://vigil.test".into();
}

/// How long a transition may take to show up with a 1 s interval on a busy machine.
pub const ALERT_DEADLINE: Duration = Duration::from_secs(20);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub answered: u16,
    pub body: Value,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
struct ReceiverState {
    script: VecDeque<u16>,
    received: Vec<Received>,
}

/// A webhook receiver: answers the scripted statuses in order, then 200.
pub struct WebhookReceiver {
    pub url: String,
    pub port: u16,
    state: Arc<Mutex<ReceiverState>>,
    server: actix_web::dev::ServerHandle,
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<ReceiverState>>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let status = state.script.pop_front().unwrap_or(200);
    state.received.push(Received {
        at: Instant::now(),
        answered: status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        idempotency_key: request
            .headers()
            .get("Idempotency-Key")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

/// A test CA and a certificate for `localhost` it signed, for an https receiver.
pub struct TestPki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl TestPki {
    pub fn new() -> TestPki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Vigil test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        TestPki {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    fn server_config(&self) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into()),
            )
            .unwrap()
    }
}

impl WebhookReceiver {
    pub async fn start(script: &[u16]) -> WebhookReceiver {
        Self::start_with(script, None).await
    }

    /// The same receiver over https, with the certificate `pki` issued for localhost.
    pub async fn start_tls(script: &[u16], pki: &TestPki) -> WebhookReceiver {
        Self::start_with(script, Some(pki.server_config())).await
    }

    async fn start_with(script: &[u16], tls: Option<rustls::ServerConfig>) -> WebhookReceiver {
        let state = Arc::new(Mutex::new(ReceiverState {
            script: script.iter().copied().collect(),
            received: Vec::new(),
        }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            Some(config) => server.bind_rustls_0_23("127.0.0.1:0", config),
            None => server.bind("127.0.0.1:0"),
        }
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        WebhookReceiver {
            url: format!("{scheme}://127.0.0.1:{port}/hook"),
            port,
            state,
            server: handle,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Requests answered 2xx (deliveries), in order.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Waits until `n` deliveries arrived, and returns them.
    /// Waits until at least `n` requests arrived, whatever they were answered.
    pub async fn wait_for_requests(&self, n: usize) {
        eventually(ALERT_DEADLINE, || async {
            match self.received().len() {
                len if len >= n => Ok(()),
                len => Err(format!("expected {n} webhook requests; got {len}")),
            }
        })
        .await
    }

    pub async fn wait_for_deliveries(&self, n: usize) -> Vec<Received> {
        eventually(ALERT_DEADLINE, || async {
            let delivered = self.delivered();
            match delivered.len() {
                len if len == n => Ok(delivered),
                len if len > n => panic!(
                    "expected {n} webhook deliveries, got {len}: {:#?}",
                    bodies(&delivered)
                ),
                len => Err(format!(
                    "expected {n} webhook deliveries; got {len}: {:?}",
                    bodies(&delivered)
                )),
            }
        })
        .await
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

fn bodies(received: &[Received]) -> Vec<Value> {
    received.iter().map(|r| r.body["status"].clone()).collect()
}

/// aiosmtpd on a port of our choosing, writing messages into a temporary directory.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl SmtpSink {
    pub async fn start(port: u16) -> SmtpSink {
        Self::start_with(port, None).await
    }

    /// The sink speaking SMTPS with the certificate `pki` issued for localhost.
    pub async fn start_tls(port: u16, pki: &TestPki) -> SmtpSink {
        Self::start_with(port, Some(pki)).await
    }

    async fn start_with(port: u16, tls: Option<&TestPki>) -> SmtpSink {
        let dir = tempfile::Builder::new()
            .prefix("vigil-smtp-")
            .tempdir()
            .unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut command = tokio::process::Command::new("python3");
        command
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path().join("mail"));
        if let Some(pki) = tls {
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert, &pki.cert_pem).unwrap();
            std::fs::write(&key, &pki.key_pem).unwrap();
            command.arg(cert).arg(key);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs (scripts/test-deps.sh installs aiosmtpd)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        assert!(
            matches!(ready, Ok(Ok(Some(ref line))) if line == "ready"),
            "the SMTP sink did not start ({ready:?}); is aiosmtpd installed (scripts/test-deps.sh)?"
        );
        SmtpSink { port, dir, child }
    }

    /// Messages received so far, raw, in order.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(self.dir.path().join("mail"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let path = e.path();
                let n = path.file_stem()?.to_str()?.parse().ok()?;
                (path.extension()? == "eml").then_some((n, path))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A second Vigil on the same database, queues and Redis prefix (another "process").
pub struct Instance {
    pub address: String,
    handle: actix_web::dev::ServerHandle,
    server: Option<actix_rt::task::JoinHandle<anyhow::Result<()>>>,
}

impl Instance {
    pub async fn start(settings: &Settings) -> Instance {
        let application = Application::build(settings.clone())
            .await
            .expect("second instance starts");
        let address = format!("http://127.0.0.1:{}", application.port());
        let handle = application.handle();
        let server = actix_rt::spawn(application.run_until_stopped());
        Instance {
            address,
            handle,
            server: Some(server),
        }
    }

    /// Graceful stop, as SIGTERM (releases its rule leases).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            self.handle.stop(true).await;
            let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
        }
    }
}

/// A rule body: `min(metric) > threshold` over 5 minutes, held for `duration`,
/// notifying `target` by webhook.
pub fn webhook_rule(
    name: &str,
    metric: &str,
    threshold: f64,
    duration: &str,
    target: &str,
) -> Value {
    json!({
        "name": name,
        "query": {"query": metric, "aggregation": "min", "window": "5m"},
        "condition": "gt",
        "threshold": threshold,
        "duration": duration,
        "severity": "critical",
        "notification": {"type": "webhook", "target": target},
    })
}

/// The first admin's API token (the harness issues it).
pub async fn admin_token(app: &TestApp) -> String {
    app.admin_token.clone()
}

/// Creates a user with `role` and returns an API token of theirs.
pub async fn user_token(app: &TestApp, role: &str) -> (uuid::Uuid, String) {
    let id = uuid::Uuid::new_v4();
    let email = format!("{id}@example.com");
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, 'not-a-hash', $3)",
    )
    .bind(id)
    .bind(&email)
    .bind(role)
    .execute(&app.db)
    .await
    .unwrap();
    (id, issue_token(&app.db, &email, "personal").await)
}

/// A request to `app` as its admin.
pub async fn send_json(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    let token = admin_token(app).await;
    send_as(&app.address, &token, method, path, body).await
}

/// GET as the admin.
pub async fn get(app: &TestApp, path: &str) -> TestResponse {
    send_json(app, "GET", path, None).await
}

/// A request to the instance at `address` with `token` (empty: none).
pub async fn send_as(
    address: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    let client = http_client();
    let url = format!("{address}{path}");
    let request = match method {
        "POST" => client.post(&url),
        "PUT" => client.put(&url),
        "DELETE" => client.delete(&url),
        _ => client.get(&url),
    };
    let request = if token.is_empty() {
        request
    } else {
        request.insert_header(("Authorization", format!("Bearer {token}")))
    };
    let response = match body {
        Some(body) => request.send_json(body).await,
        None => request.send().await,
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: no response: {e}"));
    let body = response.body().limit(16 * 1024 * 1024).await.unwrap();
    TestResponse {
        status: response.status(),
        headers: response.headers().clone(),
        body,
    }
}

/// POSTs a rule and returns its id.
pub async fn create_rule(app: &TestApp, rule: &Value) -> String {
    let response = send_json(app, "POST", "/api/v1/alerts/rules", Some(rule)).await;
    response.assert_status(201, "creating a rule");
    response.json()["data"]["id"].as_str().unwrap().to_string()
}

/// Pushes one point now and waits until it is stored.
pub async fn push(app: &TestApp, metric: &str, value: f64, tags: &[(&str, &str)]) {
    let before = app.stored_points(metric).await.len();
    let response = app
        .post_metrics(&json!([point(metric, value, tags, now_ms())]))
        .await;
    response.assert_status(202, "pushing a point");
    app.wait_for_points(metric, before + 1).await;
}

/// GET /api/v1/alerts/rules/{id} -> data.
pub async fn rule_state(app: &TestApp, id: &str) -> Value {
    let response = get(app, &format!("/api/v1/alerts/rules/{id}")).await;
    response.assert_status(200, "reading a rule");
    response.json()["data"].clone()
}

/// Waits until the rule's worst state is `state`.
pub async fn wait_for_state(app: &TestApp, id: &str, state: &str) -> Value {
    eventually(ALERT_DEADLINE, || async {
        let rule = rule_state(app, id).await;
        if rule["state"] == state {
            Ok(rule)
        } else {
            Err(format!("expected rule {id} to be {state}; got {}", rule))
        }
    })
    .await
}

/// History events of a rule, oldest first.
pub async fn events(app: &TestApp, id: &str) -> Vec<Value> {
    let response = get(app, &format!("/api/v1/alerts/history?ruleId={id}")).await;
    response.assert_status(200, "reading history");
    let mut events = response.json()["data"].as_array().unwrap().clone();
    events.reverse();
    events
}

/// The outbox rows of a rule: (status, attempts, last_error), oldest first.
pub async fn outbox(app: &TestApp, id: &str) -> Vec<(String, i32, Option<String>)> {
    sqlx::query_as(
        "SELECT status, attempts, last_error FROM notification_outbox WHERE rule_id = $1::uuid ORDER BY created_at",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

pub fn parse_rfc3339_ms(value: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("expected a time; got {value}")),
    )
    .unwrap()
    .timestamp_millis()
}
