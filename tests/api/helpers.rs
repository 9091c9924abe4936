//! The harness every integration test is built on.
//!
//! `spawn_app()` starts Vigil in-process on a free port against the real local services
//! (PostgreSQL, RabbitMQ, Redis on 127.0.0.1), isolated per test: a fresh database
//! `vigil_test_<uuid>`, its own queue and exchange names `test.<uuid>.{ingest,dlq,dlx}`
//! and its own Redis key prefix `vigil-test:<uuid>:`. Tests therefore run in parallel
//! threads without seeing each other's data. `TestApp::cleanup` removes all of it at the
//! end of a test; a sweep at the first spawn of a process removes what tests that
//! panicked left behind (databases older than an hour, and the queues and keys whose
//! database is gone).
//!
//! Nothing here sleeps blindly: `eventually` polls a check until a deadline and fails
//! with the last thing it saw.

#![allow(dead_code)] // shared with the faults binary, which uses part of it

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use awc::http::header::HeaderMap;
use awc::http::StatusCode;
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures_util::Stream;
use lapin::options::{ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, ConnectionProperties};
use serde_json::{json, Value};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;
use vigil::app::Application;
use vigil::config::Settings;

/// The shared local services (DESIGN.md, "Local services").
pub const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379/0";
/// Addresses where nothing listens: the "service unreachable" tests point here.
pub const DEAD_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:1/%2f";
pub const DEAD_REDIS_URL: &str = "redis://127.0.0.1:1/0";

/// How long a point may take from a 202 to PostgreSQL in a healthy test setup
/// (flush_interval is 100 ms; the margin is for a loaded 2-core CI machine).
pub const STORE_DEADLINE: Duration = Duration::from_secs(30);

/// The first admin every test app starts with.
pub const ADMIN_EMAIL: &str = "admin@vigil.test";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

const POLL_INTERVAL: Duration = Duration::from_millis(50);
const STALE_AFTER: &str = "1 hour";

/// Names of everything one test owns on the shared services.
#[derive(Debug, Clone)]
pub struct Isolation {
    pub id: String,
    pub database: String,
    pub ingest_queue: String,
    pub dead_letter_queue: String,
    pub dead_letter_exchange: String,
    pub key_prefix: String,
}

impl Isolation {
    pub fn new() -> Isolation {
        let id = Uuid::new_v4().simple().to_string();
        Isolation {
            database: format!("vigil_test_{id}"),
            ingest_queue: format!("test.{id}.ingest"),
            dead_letter_queue: format!("test.{id}.dlq"),
            dead_letter_exchange: format!("test.{id}.dlx"),
            key_prefix: format!("vigil-test:{id}:"),
            id,
        }
    }

    /// Removes the queues, exchange, Redis keys and database (on the shared server)
    /// this test used. Errors are reported, not fatal: cleanup must not hide the
    /// test's own verdict, and the sweep catches whatever is left.
    pub async fn remove_all(&self) {
        if let Err(e) = delete_amqp_objects(
            &[&self.ingest_queue, &self.dead_letter_queue],
            &[&self.dead_letter_exchange],
        )
        .await
        {
            eprintln!(
                "cleanup: could not delete the AMQP objects of {}: {e:#}",
                self.id
            );
        }
        if let Err(e) = delete_redis_keys(&format!("{}*", self.key_prefix)).await {
            eprintln!(
                "cleanup: could not delete the Redis keys of {}: {e:#}",
                self.id
            );
        }
        if let Err(e) = drop_database(&self.database).await {
            eprintln!("cleanup: could not drop database {}: {e:#}", self.database);
        }
    }

    /// Applies these names to `settings` (database URL on the shared server).
    pub fn apply(&self, settings: &mut Settings) {
        settings.database.url = format!("{PG_SERVER}/{}", self.database);
        settings.amqp.url = AMQP_URL.into();
        settings.amqp.ingest_queue = self.ingest_queue.clone();
        settings.amqp.dead_letter_queue = self.dead_letter_queue.clone();
        settings.amqp.dead_letter_exchange = self.dead_letter_exchange.clone();
        settings.redis.url = REDIS_URL.into();
        settings.redis.key_prefix = self.key_prefix.clone();
    }

    /// The same names as `VIGIL__SECTION__KEY` variables, for running the binary.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            (
                "VIGIL__DATABASE__URL",
                format!("{PG_SERVER}/{}", self.database),
            ),
            ("VIGIL__AMQP__URL", AMQP_URL.to_string()),
            ("VIGIL__AMQP__INGEST_QUEUE", self.ingest_queue.clone()),
            (
                "VIGIL__AMQP__DEAD_LETTER_QUEUE",
                self.dead_letter_queue.clone(),
            ),
            (
                "VIGIL__AMQP__DEAD_LETTER_EXCHANGE",
                self.dead_letter_exchange.clone(),
            ),
            ("VIGIL__REDIS__URL", REDIS_URL.to_string()),
            ("VIGIL__REDIS__KEY_PREFIX", self.key_prefix.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// Removes a test's objects even when the test panicked before its cleanup: on drop,
/// unless disarmed, it runs `Isolation::remove_all` on a thread of its own (the test's
/// runtime may be unwinding). Queues that the still-running actors re-declare in the
/// meantime are orphans once the database is gone, and the next sweep deletes them.
pub struct CleanupGuard(Option<Isolation>);

impl CleanupGuard {
    pub fn new(isolation: &Isolation) -> CleanupGuard {
        CleanupGuard(Some(isolation.clone()))
    }

    /// The test cleaned up itself.
    pub fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        let Some(isolation) = self.0.take() else {
            return;
        };
        eprintln!("cleanup after a failed test: removing {}", isolation.id);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if tokio::time::timeout(Duration::from_secs(30), isolation.remove_all())
                    .await
                    .is_err()
                {
                    eprintln!("cleanup of {} timed out", isolation.id);
                }
            });
        })
        .join();
    }
}

/// Defaults made test-sized: port 0, one HTTP worker, a short flush interval so
/// points reach PostgreSQL quickly, small pools (tests run in parallel).
pub fn test_settings(isolation: &Isolation) -> Settings {
    let mut settings = Settings::default();
    isolation.apply(&mut settings);
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.http.workers = 1;
    settings.http.shutdown_grace = Duration::from_secs(5);
    settings.database.max_connections = 5;
    // Two ingest actors, as in production: the pool passes over an actor that is still
    // connecting, so "/health says the broker is up" means "ingest will publish".
    settings.actors.ingest_pool = 2;
    settings.ingest.flush_interval = Duration::from_millis(100);
    settings.amqp.confirm_timeout = Duration::from_secs(5);
    settings.auth.admin_email = ADMIN_EMAIL.into();
    settings.auth.admin_password = ADMIN_PASSWORD.into();
    // Load tests post far more often than an agent; the rate-limit tests lower these.
    settings.auth.ingest_requests_per_ip = 1_000_000;
    settings.auth.ingest_requests_per_key = 1_000_000;
    // Tests that backfill hours ago read `points` directly; compaction tests run it
    // themselves (`maintenance.run_compaction`).
    settings.compaction.enabled = false;
    settings
}

/// Issues an API token of `kind` (personal or ingest) for the user `email` straight
/// in the database (the token API itself is tested in `auth`), and returns its secret.
pub async fn issue_token(db: &PgPool, email: &str, kind: &str) -> String {
    let prefix = if kind == "ingest" { "vgl_i_" } else { "vgl_p_" };
    let token = format!("{prefix}{}", Uuid::new_v4().simple());
    let digest: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, kind, token_hash, prefix)
         SELECT $1, id, 'test', $3, $4, $5 FROM users WHERE lower(email) = lower($2)",
    )
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(kind)
    .bind(&digest[..])
    .bind(&token[..12])
    .execute(db)
    .await
    .expect("insert a test API token");
    token
}

/// An HTTP client that sends `Authorization: Bearer <token>` on every request.
pub fn authorized_client(token: &str) -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .add_default_header(("Authorization", format!("Bearer {token}")))
        .finish()
}

/// One running Vigil and what a test needs to talk to it and to look behind it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub port: u16,
    pub client: awc::Client,
    /// A personal API token of the first admin, sent by `query` and `get`.
    pub admin_token: String,
    /// A small pool on the test's own database, for assertions.
    pub db: PgPool,
    pub settings: Settings,
    pub isolation: Isolation,
    /// Stops the HTTP server, which makes `run_until_stopped` drain and stop the actors.
    pub handle: actix_web::dev::ServerHandle,
    /// Runs the downsampler or retention on demand.
    pub maintenance: vigil::app::Maintenance,
    server: Option<actix_rt::task::JoinHandle<anyhow::Result<()>>>,
    guard: CleanupGuard,
}

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Bearer(String),
    /// The session cookie, sent as a browser on Vigil's own page would (with Origin).
    Session(String),
    /// The session cookie with the given Origin header, or none.
    SessionFrom(String, Option<String>),
}

/// The value of the `vigil_session` cookie a response sets.
pub fn session_cookie(response: &TestResponse) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("vigil_session="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
}

/// A fully read HTTP response.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON; panics with the raw body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("expected a JSON body ({e}); got {}", self.describe()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not ascii>").to_string())
    }

    /// `status 400 Bad Request, body {...}` (body cut at 2 KB), for failure messages.
    pub fn describe(&self) -> String {
        let text = self.text();
        let cut: String = text.chars().take(2000).collect();
        let more = if cut.len() < text.len() { " ..." } else { "" };
        format!("status {}, body {cut}{more}", self.status)
    }

    /// Asserts the status, and for errors the `{"error", "code"}` shape and code.
    pub fn assert_status(&self, expected: u16, context: &str) {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "{context}: expected status {expected}; got {}",
            self.describe()
        );
    }

    /// Asserts an API error: status, JSON `{"error": non-empty text, "code": code}`.
    pub fn assert_error(&self, status: u16, code: &str, context: &str) {
        self.assert_status(status, context);
        let body: Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{context}: expected a JSON error body ({e}); got {}",
                self.describe()
            )
        });
        assert_eq!(
            body["code"].as_str(),
            Some(code),
            "{context}: expected error code {code}; got {}",
            self.describe()
        );
        assert!(
            body["error"].as_str().is_some_and(|s| !s.is_empty()),
            "{context}: expected a non-empty \"error\" message; got {}",
            self.describe()
        );
    }
}

/// Spawns Vigil with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns Vigil with the test defaults changed by `tweak` (which must keep the
/// isolation names unless it knows what it does).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    init_tracing();
    sweep_leftovers_once().await;
    let isolation = Isolation::new();
    let mut settings = test_settings(&isolation);
    tweak(&mut settings);
    let application = match Application::build(settings.clone()).await {
        Ok(app) => app,
        Err(e) => {
            isolation.remove_all().await;
            panic!("Application::build failed for test {}: {e:#}", isolation.id);
        }
    };
    let port = application.port();
    let handle = application.handle();
    let maintenance = application.maintenance();
    let server = actix_rt::spawn(application.run_until_stopped());
    let db = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy(&format!("{PG_SERVER}/{}", isolation.database))
        .expect("a valid test database URL");
    let guard = CleanupGuard::new(&isolation);
    let admin_token = issue_token(&db, ADMIN_EMAIL, "personal").await;
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: http_client(),
        admin_token,
        db,
        settings,
        isolation,
        handle,
        maintenance,
        server: Some(server),
        guard,
    };
    // The actors connect to RabbitMQ in the background after `build` returns, and
    // ingest answers 503 until one has. Tests that point Vigil at another broker
    // address are about that state and start at once.
    if app.settings.amqp.url == AMQP_URL {
        app.wait_until_broker_connected().await;
    }
    app
}

/// A port nothing listens on right now (for servers a test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP client with a timeout long enough for a confirm timeout plus a busy CI.
pub fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Waits until `/health` reports RabbitMQ (and PostgreSQL) up.
    pub async fn wait_until_broker_connected(&self) {
        eventually(Duration::from_secs(30), || async {
            let health = self.get("/health").await;
            let body: Value = serde_json::from_slice(&health.body).unwrap_or(Value::Null);
            let checks = &body["checks"];
            if checks["rabbitmq"]["status"] == "up" && checks["postgres"]["status"] == "up" {
                Ok(())
            } else {
                Err(format!(
                    "expected /health to report rabbitmq and postgres up; got {}",
                    health.describe()
                ))
            }
        })
        .await
    }

    /// POST /api/v1/metrics with a JSON body.
    pub async fn post_metrics(&self, body: &Value) -> TestResponse {
        self.post_raw(
            "/api/v1/metrics",
            serde_json::to_vec(body).unwrap(),
            &[("Content-Type", "application/json")],
        )
        .await
    }

    /// POST /api/v1/metrics with an already gzip-compressed body.
    pub async fn post_metrics_gzip(&self, gzipped: Vec<u8>) -> TestResponse {
        self.post_raw(
            "/api/v1/metrics",
            gzipped,
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
        )
        .await
    }

    /// POST /api/v1/query as the admin.
    pub async fn query(&self, body: &Value) -> TestResponse {
        let bearer = format!("Bearer {}", self.admin_token);
        self.post_raw(
            "/api/v1/query",
            serde_json::to_vec(body).unwrap(),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", bearer.as_str()),
            ],
        )
        .await
    }

    /// Any request with any credential, for the auth tests.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        auth: &Auth,
    ) -> TestResponse {
        let url = self.url(path);
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method.clone(), &url);
        match auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                request = request.insert_header(("Authorization", format!("Bearer {token}")));
            }
            Auth::Session(cookie) => {
                request = request
                    .insert_header(("Cookie", format!("vigil_session={cookie}")))
                    .insert_header(("Origin", self.address.clone()));
            }
            Auth::SessionFrom(cookie, origin) => {
                request = request.insert_header(("Cookie", format!("vigil_session={cookie}")));
                if let Some(origin) = origin {
                    request = request.insert_header(("Origin", origin.clone()));
                }
            }
        }
        let sent = match body {
            Some(body) => request.send_json(body).await,
            None => request.send().await,
        };
        read_response(sent)
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: no response: {e}"))
    }

    /// Logs in and returns the session cookie's value.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .call(
                "POST",
                "/api/v1/auth/login",
                Some(&json!({"email": email, "password": password})),
                &Auth::None,
            )
            .await;
        response.assert_status(200, &format!("login as {email}"));
        session_cookie(&response).expect("login sets the vigil_session cookie")
    }

    /// POST with arbitrary bytes and headers; panics when no response arrives.
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let url = self.url(path);
        self.try_post_raw(path, body, headers)
            .await
            .unwrap_or_else(|e| panic!("POST {url}: no response: {e}"))
    }

    pub async fn try_post_raw(
        &self,
        path: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> Result<TestResponse, String> {
        let mut request = self.client.post(self.url(path));
        for &(name, value) in headers {
            request = request.insert_header((name, value));
        }
        read_response(request.send_body(body.into()).await).await
    }

    /// POST with a streamed (chunked, no Content-Length) body.
    pub async fn post_stream<S>(
        &self,
        path: &str,
        stream: S,
        headers: &[(&str, &str)],
    ) -> Result<TestResponse, String>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Unpin + 'static,
    {
        let mut request = self.client.post(self.url(path));
        for &(name, value) in headers {
            request = request.insert_header((name, value));
        }
        read_response(request.send_stream(stream).await).await
    }

    /// GET a path as the admin; panics when no response arrives.
    pub async fn get(&self, path: &str) -> TestResponse {
        let url = self.url(path);
        let request = self
            .client
            .get(&url)
            .insert_header(("Authorization", format!("Bearer {}", self.admin_token)));
        read_response(request.send().await)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: no response: {e}"))
    }

    /// Points stored for `metric`, sorted by (time, value, labels).
    pub async fn stored_points(&self, metric: &str) -> Vec<StoredPoint> {
        stored_points(&self.db, metric).await
    }

    /// Count of all rows in `points`, whatever the metric.
    pub async fn total_points(&self) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM points")
            .fetch_one(&self.db)
            .await
            .expect("count points in the test database")
    }

    /// Waits until exactly `n` points of `metric` are stored, and returns them.
    /// Fails at once when more than `n` appear (duplicates or unexpected points).
    pub async fn wait_for_points(&self, metric: &str, n: usize) -> Vec<StoredPoint> {
        wait_for_points(&self.db, metric, n).await
    }

    /// Stops the application (HTTP server, then the actors: they would otherwise
    /// re-declare the queues on reconnect), then removes the database, queues,
    /// exchange and Redis keys.
    pub async fn cleanup(mut self) {
        self.stop().await;
        self.db.close().await;
        self.isolation.remove_all().await;
        self.guard.disarm();
    }

    /// Stops the server gracefully and waits for `run_until_stopped` to return.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            self.handle.stop(true).await;
            let grace = self.settings.http.shutdown_grace + Duration::from_secs(10);
            match tokio::time::timeout(grace, server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => eprintln!("cleanup: run_until_stopped returned an error: {e:#}"),
                Ok(Err(e)) => eprintln!("cleanup: the server task failed: {e}"),
                Err(_) => eprintln!("cleanup: the application did not stop within {grace:?}"),
            }
        }
    }
}

async fn read_response<S>(
    sent: Result<awc::ClientResponse<S>, awc::error::SendRequestError>,
) -> Result<TestResponse, String>
where
    S: Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin,
{
    let mut response = sent.map_err(|e| format!("request failed: {e}"))?;
    let body = response.body().limit(64 * 1024 * 1024).await.map_err(|e| {
        format!(
            "status {} but the body could not be read: {e}",
            response.status()
        )
    })?;
    Ok(TestResponse {
        status: response.status(),
        headers: response.headers().clone(),
        body,
    })
}

/// One row of `points` joined with its series.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPoint {
    pub metric: String,
    pub labels: BTreeMap<String, String>,
    pub time_ms: i64,
    pub value: f64,
}

pub async fn stored_points(db: &PgPool, metric: &str) -> Vec<StoredPoint> {
    let rows = sqlx::query(
        "SELECT s.metric, s.labels, \
                (extract(epoch FROM p.time) * 1000)::bigint AS time_ms, p.value \
         FROM points p JOIN series s ON s.id = p.series_id \
         WHERE s.metric = $1",
    )
    .bind(metric)
    .fetch_all(db)
    .await
    .unwrap_or_else(|e| panic!("reading the stored points of {metric}: {e}"));
    let mut points: Vec<StoredPoint> = rows
        .into_iter()
        .map(|row| {
            let labels: Value = row.get("labels");
            StoredPoint {
                metric: row.get("metric"),
                labels: labels_of(&labels),
                time_ms: row.get("time_ms"),
                value: row.get("value"),
            }
        })
        .collect();
    points.sort_by(|a, b| {
        a.time_ms
            .cmp(&b.time_ms)
            .then(a.value.total_cmp(&b.value))
            .then(a.labels.cmp(&b.labels))
    });
    points
}

pub async fn wait_for_points(db: &PgPool, metric: &str, n: usize) -> Vec<StoredPoint> {
    eventually(STORE_DEADLINE, || async {
        let points = stored_points(db, metric).await;
        if points.len() > n {
            panic!(
                "expected {n} stored points of {metric}; found {} (more than were accepted)",
                points.len()
            );
        }
        if points.len() == n {
            Ok(points)
        } else {
            Err(format!(
                "expected {n} stored points of {metric}; found {}",
                points.len()
            ))
        }
    })
    .await
}

/// A JSON object of string labels as a sorted map (non-string values are shown as JSON).
pub fn labels_of(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map(String::from).unwrap_or(v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` until it returns `Ok`, at most until `timeout`; then panics with the
/// last `Err` it returned (which should say what was expected and what was seen).
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("not true within {timeout:?}: {last}")
            }
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Checks that `check` keeps returning `Ok` for `period` (polling); panics at the first
/// `Err`. For "nothing more happens" assertions after a flush window.
pub async fn consistently<F, Fut>(period: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let until = Instant::now() + period;
    loop {
        if let Err(seen) = check().await {
            panic!("expected to hold for {period:?}, but: {seen}");
        }
        if Instant::now() >= until {
            return;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The start of the hour `hours` hours before the current one, in ms: an aligned base
/// for exact query tests that is safely inside `ingest.max_age`.
pub fn hour_start_ms(hours_ago: i64) -> i64 {
    let now = now_ms();
    now - now.rem_euclid(3_600_000) - hours_ago * 3_600_000
}

/// `2026-11-22T10:00:00Z` for a ms timestamp.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("timestamp in range")
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 time from a response into ms.
pub fn parse_time_ms(value: &Value) -> Result<i64, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("expected an RFC 3339 string as time; got {value}"))?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("time {text:?} is not RFC 3339: {e}"))
}

/// `[(time_ms, value)]` from a query response's `data`, failing on any other shape.
pub fn series_of(body: &Value) -> Result<Vec<(i64, f64)>, String> {
    let data = body["data"]
        .as_array()
        .ok_or_else(|| format!("expected \"data\" to be an array; got {body}"))?;
    data.iter()
        .map(|item| {
            let time = parse_time_ms(&item["time"])?;
            let value = item["value"]
                .as_f64()
                .ok_or_else(|| format!("expected a number as value; got {item}"))?;
            Ok((time, value))
        })
        .collect()
}

/// Peak (VmHWM) and current (VmRSS) resident memory of this process, in KiB.
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets VmHWM to the current RSS (Linux >= 4.0); false when not permitted.
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ---------------------------------------------------------------------------------
// Direct access to the services, for assertions and cleanup.

/// A connection to the shared PostgreSQL server's maintenance database.
pub async fn admin_connection() -> anyhow::Result<PgConnection> {
    Ok(PgConnection::connect(&format!("{PG_SERVER}/postgres")).await?)
}

pub async fn drop_database(name: &str) -> anyhow::Result<()> {
    let mut admin = admin_connection().await?;
    drop_database_on(&mut admin, name).await?;
    admin.close().await?;
    Ok(())
}

async fn drop_database_on(admin: &mut PgConnection, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        name.starts_with("vigil_test_")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "refusing to drop {name:?}: not a test database"
    );
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut *admin)
        .await?;
    Ok(())
}

/// An AMQP connection to the shared broker, on the current tokio runtime.
pub async fn amqp_connection(url: &str) -> anyhow::Result<lapin::Connection> {
    let properties = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    Ok(lapin::Connection::connect(url, properties).await?)
}

/// Ready messages in `queue`, or `None` when the queue does not exist.
pub async fn queue_depth(queue: &str) -> anyhow::Result<Option<u32>> {
    let connection = amqp_connection(AMQP_URL).await?;
    let channel = connection.create_channel().await?;
    let result = channel
        .queue_declare(
            queue,
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    let _ = connection.close(200, "done").await;
    match result {
        Ok(q) => Ok(Some(q.message_count())),
        Err(e) if matches!(e.kind(), lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 404) => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Publishes `body` persistently to `queue` through the default exchange.
pub async fn publish_raw(
    queue: &str,
    body: &[u8],
    properties: BasicProperties,
) -> anyhow::Result<()> {
    let connection = amqp_connection(AMQP_URL).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await?;
    let confirm = channel
        .basic_publish(
            "",
            queue,
            lapin::options::BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            body,
            properties.with_delivery_mode(2),
        )
        .await?
        .await?;
    anyhow::ensure!(
        confirm.is_ack(),
        "the broker did not confirm the publish: {confirm:?}"
    );
    anyhow::ensure!(
        confirm.take_message().is_none(),
        "the message to {queue} was returned (no such queue?)"
    );
    let _ = connection.close(200, "done").await;
    Ok(())
}

async fn delete_amqp_objects(queues: &[&str], exchanges: &[&str]) -> anyhow::Result<()> {
    let connection = amqp_connection(AMQP_URL).await?;
    // One channel per operation: a failed operation closes its channel.
    for queue in queues {
        let channel = connection.create_channel().await?;
        if let Err(e) = channel
            .queue_delete(queue, QueueDeleteOptions::default())
            .await
        {
            eprintln!("cleanup: queue_delete {queue}: {e}");
        }
    }
    for exchange in exchanges {
        let channel = connection.create_channel().await?;
        if let Err(e) = channel
            .exchange_delete(exchange, ExchangeDeleteOptions::default())
            .await
        {
            eprintln!("cleanup: exchange_delete {exchange}: {e}");
        }
    }
    let _ = connection.close(200, "done").await;
    Ok(())
}

/// A multiplexed connection to the shared Redis.
pub async fn redis_connection() -> anyhow::Result<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(REDIS_URL)?;
    Ok(client.get_multiplexed_async_connection().await?)
}

/// Keys matching `pattern` (SCAN, never KEYS).
pub async fn redis_keys(pattern: &str) -> anyhow::Result<Vec<String>> {
    let mut connection = redis_connection().await?;
    let mut cursor = 0u64;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .cursor_arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

async fn delete_redis_keys(pattern: &str) -> anyhow::Result<()> {
    let keys = redis_keys(pattern).await?;
    if keys.is_empty() {
        return Ok(());
    }
    let mut connection = redis_connection().await?;
    for chunk in keys.chunks(500) {
        let _: i64 = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut connection)
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// The sweep of what crashed tests left behind.

static SWEEP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

async fn sweep_leftovers_once() {
    SWEEP
        .get_or_init(|| async {
            if let Err(e) = sweep_leftovers().await {
                eprintln!("sweep of leftovers from earlier test runs failed: {e:#}");
            }
        })
        .await;
}

/// Drops `vigil_test_%` databases older than an hour (a test that panicked skipped
/// its cleanup), then deletes test queues/exchanges and Redis keys whose database no
/// longer exists. The database is the lease: a running test's database exists.
async fn sweep_leftovers() -> anyhow::Result<()> {
    let mut admin = admin_connection().await?;
    // A database's PG_VERSION file is written once, when it is created.
    let stale: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT datname::text FROM pg_database \
         WHERE datname LIKE 'vigil\\_test\\_%' \
           AND (pg_stat_file('base/' || oid || '/PG_VERSION')).modification \
               < now() - interval '{STALE_AFTER}'"
    ))
    .fetch_all(&mut admin)
    .await?;
    for name in &stale {
        eprintln!("sweep: dropping stale test database {name}");
        drop_database_on(&mut admin, name).await?;
    }
    let live: BTreeSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT substr(datname::text, 12) FROM pg_database WHERE datname LIKE 'vigil\\_test\\_%'",
    )
    .fetch_all(&mut admin)
    .await?
    .into_iter()
    .collect();
    admin.close().await?;

    let orphan = |id: &str| {
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) && !live.contains(id)
    };

    let mut orphan_keys = Vec::new();
    for key in redis_keys("vigil-test:*").await.unwrap_or_default() {
        if key.split(':').nth(1).is_some_and(orphan) {
            orphan_keys.push(key);
        }
    }
    if !orphan_keys.is_empty() {
        let mut connection = redis_connection().await?;
        for chunk in orphan_keys.chunks(500) {
            let _: i64 = redis::cmd("DEL")
                .arg(chunk)
                .query_async(&mut connection)
                .await?;
        }
    }

    // Listing queues needs rabbitmqctl (no management plugin is assumed); without it,
    // or without the rights to run it, queues are left alone.
    let (queues, exchanges) = (
        rabbitmqctl_names(&["list_queues", "-q", "--no-table-headers", "name"]).await,
        rabbitmqctl_names(&["list_exchanges", "-q", "--no-table-headers", "name"]).await,
    );
    let test_id = |name: &str| -> Option<String> {
        let mut parts = name.split('.');
        (parts.next() == Some("test")).then_some(())?;
        let id = parts.next()?;
        orphan(id).then(|| id.to_string())
    };
    let queues: Vec<String> = queues
        .into_iter()
        .filter(|q| test_id(q).is_some())
        .collect();
    let exchanges: Vec<String> = exchanges
        .into_iter()
        .filter(|x| test_id(x).is_some())
        .collect();
    if !queues.is_empty() || !exchanges.is_empty() {
        eprintln!(
            "sweep: deleting {} orphaned test queues and {} exchanges",
            queues.len(),
            exchanges.len()
        );
        let q: Vec<&str> = queues.iter().map(String::as_str).collect();
        let x: Vec<&str> = exchanges.iter().map(String::as_str).collect();
        delete_amqp_objects(&q, &x).await?;
    }
    Ok(())
}

async fn rabbitmqctl_names(args: &[&str]) -> Vec<String> {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("rabbitmqctl")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await;
    match output {
        Ok(Ok(out)) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

static TRACING: std::sync::Once = std::sync::Once::new();

/// Server logs go to the test output when `TEST_LOG` is set (e.g. `TEST_LOG=debug`).
/// ERROR events are always kept (see `logged_errors`).
fn init_tracing() {
    TRACING.call_once(|| {
        use tracing_subscriber::filter::LevelFilter;
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::Layer;
        let shown = std::env::var("TEST_LOG").ok().map(|filter| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(tracing_subscriber::EnvFilter::new(filter))
        });
        let _ = tracing_subscriber::registry()
            .with(shown)
            .with(ErrorCapture.with_filter(LevelFilter::ERROR))
            .try_init();
    });
}

/// The newest ERROR events of this process, oldest first: tests run in parallel, so
/// one looks for lines naming its own objects (a series id with a time range, say).
static LOGGED_ERRORS: std::sync::Mutex<std::collections::VecDeque<String>> =
    std::sync::Mutex::new(std::collections::VecDeque::new());
const LOGGED_ERRORS_KEPT: usize = 10_000;

/// ERROR events logged by the apps of this process so far (the newest 10,000), each
/// as `message field=value ...`: what an operator would read in the log.
pub fn logged_errors() -> Vec<String> {
    LOGGED_ERRORS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .cloned()
        .collect()
}

struct ErrorCapture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ErrorCapture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Line(String);
        impl tracing::field::Visit for Line {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                use std::fmt::Write as _;
                if field.name() == "message" {
                    let _ = write!(self.0, "{value:?}");
                } else {
                    let _ = write!(self.0, " {}={value:?}", field.name());
                }
            }
        }
        let mut line = Line(String::new());
        event.record(&mut line);
        let mut logged = LOGGED_ERRORS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if logged.len() >= LOGGED_ERRORS_KEPT {
            logged.pop_front();
        }
        logged.push_back(line.0);
    }
}

// ---------------------------------------------------------------------------------
// Building request bodies.

/// `{"name", "value", "tags", "timestamp"}` with the tags as given.
pub fn point(name: &str, value: f64, tags: &[(&str, &str)], timestamp_ms: i64) -> Value {
    let tags: serde_json::Map<String, Value> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({"name": name, "value": value, "tags": tags, "timestamp": timestamp_ms})
}

/// Samples of the metric family `name` in Prometheus text format: (labels, value).
pub fn prometheus_samples(text: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = if let Some(inner) = rest.strip_prefix('{') {
                let (labels, value) = inner.split_once('}')?;
                (labels, value)
            } else if rest.starts_with(' ') {
                ("", rest)
            } else {
                return None;
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                })
                .collect();
            let value = value.split_whitespace().next()?.parse().ok()?;
            Some((labels, value))
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include all of `with`.
pub fn prometheus_sum(text: &str, name: &str, with: &[(&str, &str)]) -> f64 {
    prometheus_samples(text, name)
        .iter()
        .filter(|(labels, _)| {
            with.iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, value)| value)
        .sum()
}
