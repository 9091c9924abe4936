//! The harness of the agent's integration tests: a real Vigil (`vigil serve`, the
//! server binary of this workspace) started as a child process against the local
//! services, isolated per test (its own database `vigil_agent_test_<uuid>`, queue
//! and exchange names `test.<uuid>.*`, Redis key prefix), a real agent
//! (`vigil-agent`, this crate's binary) with a config file written by the test, and
//! a real exporter (Debian's `prometheus-node-exporter`) on a loopback port.
//!
//! Reads go through Vigil's API with a bearer token when Vigil has authentication
//! (login as the configured admin, create a personal token); a Vigil without it
//! (login is 404) is read without one. Exactly-once checks read PostgreSQL directly.
//!
//! Nothing sleeps blindly: [`eventually`] polls until a deadline and fails with the
//! last thing it saw. Every child process is killed on drop and every service object
//! is removed at the end of a test, also when it panicked ([`Isolation`]'s guard).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::ConnectionProperties;
use serde_json::{json, Value};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

pub const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379/0";
pub const ADMIN_EMAIL: &str = "agent-test@localhost";
pub const ADMIN_PASSWORD: &str = "agent-test-password-1";

/// How long a point may take from the agent to PostgreSQL on a loaded 2-core machine.
pub const ARRIVAL_DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

/// A free loopback port (bound, then released: the child binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it returns `Ok`, at most `timeout`; then panics with the last
/// `Err` (which says what was expected and what was seen).
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
                panic!("still not true after {timeout:?}: {last}")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Names of everything one test owns on the shared services; removed on drop.
pub struct Isolation {
    pub id: String,
    pub database: String,
    pub key_prefix: String,
    cleaned: bool,
}

impl Isolation {
    pub fn new() -> Isolation {
        let id = Uuid::new_v4().simple().to_string();
        Isolation {
            database: format!("vigil_agent_test_{id}"),
            key_prefix: format!("vigil-agent-test:{id}:"),
            id,
            cleaned: false,
        }
    }

    fn queue(&self, what: &str) -> String {
        format!("test.{}.{what}", self.id)
    }

    pub fn database_url(&self) -> String {
        format!("{PG_SERVER}/{}", self.database)
    }

    /// `VIGIL__...` variables that point Vigil at this test's objects.
    pub fn vigil_env(&self) -> Vec<(String, String)> {
        [
            ("VIGIL__DATABASE__URL", self.database_url()),
            ("VIGIL__DATABASE__MAX_CONNECTIONS", "6".into()),
            ("VIGIL__AMQP__URL", AMQP_URL.into()),
            ("VIGIL__AMQP__INGEST_QUEUE", self.queue("ingest")),
            ("VIGIL__AMQP__DEAD_LETTER_QUEUE", self.queue("dlq")),
            ("VIGIL__AMQP__DEAD_LETTER_EXCHANGE", self.queue("dlx")),
            ("VIGIL__REDIS__URL", REDIS_URL.into()),
            ("VIGIL__REDIS__KEY_PREFIX", self.key_prefix.clone()),
            ("VIGIL__INGEST__FLUSH_INTERVAL", "100ms".into()),
            ("VIGIL__HTTP__WORKERS", "1".into()),
            ("VIGIL__HTTP__SHUTDOWN_GRACE", "10s".into()),
            ("VIGIL__AUTH__ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("VIGIL__AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Removes the queues, exchange, Redis keys and database. Errors are printed,
    /// not fatal: cleanup must not hide the test's verdict.
    pub async fn remove_all(&mut self) {
        self.cleaned = true;
        if let Err(e) = self.remove_amqp().await {
            eprintln!("cleanup {}: AMQP objects: {e}", self.id);
        }
        if let Err(e) = self.remove_redis().await {
            eprintln!("cleanup {}: Redis keys: {e}", self.id);
        }
        if let Err(e) = drop_database(&self.database).await {
            eprintln!("cleanup {}: database: {e}", self.id);
        }
    }

    async fn remove_amqp(&self) -> Result<(), lapin::Error> {
        let properties = ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio::current());
        let connection = lapin::Connection::connect(AMQP_URL, properties).await?;
        let channel = connection.create_channel().await?;
        for queue in [self.queue("ingest"), self.queue("dlq")] {
            channel
                .queue_delete(queue.as_str(), QueueDeleteOptions::default())
                .await?;
        }
        channel
            .exchange_delete(self.queue("dlx").as_str(), ExchangeDeleteOptions::default())
            .await?;
        connection.close(0, "cleanup").await?;
        Ok(())
    }

    async fn remove_redis(&self) -> redis::RedisResult<()> {
        let client = redis::Client::open(REDIS_URL)?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.key_prefix))
            .query_async(&mut connection)
            .await?;
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut connection)
                .await?;
        }
        Ok(())
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        // The test panicked before its cleanup: clean up on a runtime of our own,
        // the test's may be unwinding.
        let mut copy = Isolation {
            id: self.id.clone(),
            database: self.database.clone(),
            key_prefix: self.key_prefix.clone(),
            cleaned: false,
        };
        self.cleaned = true;
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(copy.remove_all());
        })
        .join();
    }
}

pub async fn drop_database(name: &str) -> Result<(), sqlx::Error> {
    assert!(
        name.starts_with("vigil_agent_test_")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "refusing to drop {name:?}: not an agent test database"
    );
    let mut admin = PgConnection::connect(&format!("{PG_SERVER}/postgres")).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await
}

/// A child process, killed on drop, its output in a log file.
pub struct ChildProcess {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl ChildProcess {
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> ChildProcess {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({command:?}): {e}"));
        ChildProcess {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM (the shell's builtin kill: no procps needed).
    pub fn terminate(&self) {
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\"", &self.child.id().to_string()])
            .status()
            .expect("running sh -c kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits for the exit, polling; panics with the log when it does not come.
    pub async fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {timeout:?}; log:\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `vigil` server binary: `VIGIL_BIN`, else beside this test's directory
/// (`target/release/deps/<test>` -> `target/release/vigil`), which
/// `cargo test --workspace` builds before running tests.
pub fn vigil_bin() -> PathBuf {
    if let Ok(path) = std::env::var("VIGIL_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("vigil");
    assert!(
        bin.exists(),
        "the Vigil server binary is not at {}: run `cargo build --release --bin vigil` (or `cargo test --release --workspace`), or set VIGIL_BIN",
        bin.display()
    );
    bin
}

/// A running `vigil serve` and how to read from it.
pub struct Vigil {
    pub process: ChildProcess,
    pub address: String,
    pub port: u16,
    env: Vec<(String, String)>,
    logs: PathBuf,
    starts: u32,
}

impl Vigil {
    /// Starts Vigil on a free port with the isolation's names and `extra` settings,
    /// and waits until it is healthy.
    pub async fn start(isolation: &Isolation, logs: &Path, extra: &[(&str, &str)]) -> Vigil {
        Vigil::start_on(free_port(), isolation, logs, extra).await
    }

    /// [`Vigil::start`] on a given port (an agent may be waiting for it there).
    pub async fn start_on(
        port: u16,
        isolation: &Isolation,
        logs: &Path,
        extra: &[(&str, &str)],
    ) -> Vigil {
        let mut env = isolation.vigil_env();
        env.push(("VIGIL__HTTP__ADDR".into(), format!("127.0.0.1:{port}")));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let process = spawn_vigil(&env, &logs.join("vigil-1.log"));
        let mut vigil = Vigil {
            process,
            address: format!("http://127.0.0.1:{port}"),
            port,
            env,
            logs: logs.to_path_buf(),
            starts: 1,
        };
        vigil.wait_healthy().await;
        vigil
    }

    /// SIGTERM, and wait for the drained exit.
    pub async fn stop(&mut self) {
        self.process.terminate();
        let status = self.process.wait_exit(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "vigil serve exited with {status} after SIGTERM; log:\n{}",
            self.process.log_tail()
        );
    }

    /// Starts it again, same port and database.
    pub async fn restart(&mut self) {
        self.starts += 1;
        self.process = spawn_vigil(
            &self.env,
            &self.logs.join(format!("vigil-{}.log", self.starts)),
        );
        self.wait_healthy().await;
    }

    async fn wait_healthy(&mut self) {
        let client = http_client();
        let url = format!("{}/health", self.address);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            assert!(
                self.process.is_running(),
                "vigil serve exited before it was healthy; log:\n{}",
                self.process.log_tail()
            );
            if let Ok(response) = client.get(&url).send().await {
                if response.status().as_u16() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "vigil serve not healthy within 90 s; log:\n{}",
                self.process.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A reader of Vigil's API, authenticated when Vigil has authentication.
    pub async fn reader(&self) -> Reader {
        let client = http_client();
        let login = client
            .post(format!("{}/api/v1/auth/login", self.address))
            .insert_header(("Content-Type", "application/json"))
            .send_body(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string())
            .await
            .expect("POST /api/v1/auth/login");
        let status = login.status().as_u16();
        if status == 404 {
            return Reader {
                address: self.address.clone(),
                token: None,
                session: None,
            };
        }
        assert_eq!(
            status, 200,
            "login as the test admin: expected 200, got {status}"
        );
        let session = login
            .headers()
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("vigil_session="))
            .map(|c| c.split(';').next().unwrap_or("").to_string())
            .expect("a vigil_session cookie from the login");
        let token = create_token(&self.address, &session, "personal").await;
        Reader {
            address: self.address.clone(),
            token: Some(token),
            session: Some(session),
        }
    }
}

fn spawn_vigil(env: &[(String, String)], log: &Path) -> ChildProcess {
    let mut command = Command::new(vigil_bin());
    command
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "info,sqlx=warn,lapin=warn");
    ChildProcess::spawn("vigil serve", &mut command, log)
}

async fn create_token(address: &str, session: &str, kind: &str) -> String {
    let mut response = http_client()
        .post(format!("{address}/api/v1/auth/tokens"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Cookie", format!("vigil_session={session}")))
        .insert_header(("Origin", address))
        .send_body(json!({"name": format!("agent-test-{kind}"), "kind": kind}).to_string())
        .await
        .expect("POST /api/v1/auth/tokens");
    let body: Value = response.json().await.expect("a JSON token answer");
    body["data"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("expected data.token in {body}"))
        .to_string()
}

pub fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
}

/// Reads Vigil's API.
pub struct Reader {
    pub address: String,
    token: Option<String>,
    session: Option<String>,
}

impl Reader {
    /// Whether Vigil has authentication (login existed).
    pub fn has_auth(&self) -> bool {
        self.token.is_some()
    }

    /// An ingest key, when Vigil has authentication.
    pub async fn ingest_key(&self) -> Option<String> {
        let session = self.session.as_ref()?;
        Some(create_token(&self.address, session, "ingest").await)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let client = http_client();
        let url = format!("{}{path}", self.address);
        let mut request = match method {
            "GET" => client.get(&url),
            _ => client.post(&url),
        };
        if let Some(token) = &self.token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let sent = match body {
            Some(body) => {
                request
                    .insert_header(("Content-Type", "application/json"))
                    .send_body(body.to_string())
                    .await
            }
            None => request.send().await,
        };
        let mut response = sent.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let bytes = response.body().limit(64 << 20).await.unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// `POST /api/v1/query` over the last hour: `[(time, value)]`.
    pub async fn query(
        &self,
        metric: &str,
        aggregation: &str,
        tags: Value,
    ) -> Result<Vec<(i64, f64)>, String> {
        let now = chrono_free_now_ms();
        let mut body = json!({
            "query": metric, "start": now - 3_600_000, "end": now + 60_000,
            "aggregation": aggregation, "step": "10s",
        });
        if !tags.is_null() {
            body["tags"] = tags;
        }
        let (status, answer) = self.call("POST", "/api/v1/query", Some(body)).await;
        if status != 200 {
            return Err(format!("query {metric}: status {status}, body {answer}"));
        }
        Ok(answer["data"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| Some((r["time"].as_i64().unwrap_or(0), r["value"].as_f64()?)))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `GET /api/v1/metrics`: the metric names.
    pub async fn metric_names(&self) -> Vec<String> {
        let (status, answer) = self.call("GET", "/api/v1/metrics", None).await;
        assert_eq!(status, 200, "GET /api/v1/metrics: {answer}");
        answer["data"]
            .as_array()
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().or_else(|| n["name"].as_str()).map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `GET /api/v1/metrics/{name}/tags`: tag key -> values.
    pub async fn tags(&self, metric: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
        let (status, answer) = self
            .call("GET", &format!("/api/v1/metrics/{metric}/tags"), None)
            .await;
        if status != 200 {
            return Err(format!("tags of {metric}: status {status}, body {answer}"));
        }
        let data = &answer["data"];
        let object = data["tags"]
            .as_object()
            .or(data.as_object())
            .cloned()
            .unwrap_or_default();
        Ok(object
            .into_iter()
            .map(|(k, v)| {
                let values = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                (k, values)
            })
            .collect())
    }
}

pub fn chrono_free_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A pool on the test's database, for exactly-once checks.
pub fn database(isolation: &Isolation) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&isolation.database_url())
        .unwrap()
}

/// One stored point of a metric: labels, time (ms), value.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub labels: BTreeMap<String, String>,
    pub time_ms: i64,
    pub value: f64,
}

pub async fn stored(db: &PgPool, metric: &str) -> Vec<Stored> {
    let rows = sqlx::query(
        "SELECT s.labels, (extract(epoch FROM p.time) * 1000)::bigint AS time_ms, p.value \
         FROM points p JOIN series s ON s.id = p.series_id WHERE s.metric = $1 ORDER BY 2",
    )
    .bind(metric)
    .fetch_all(db)
    .await;
    // Before Vigil has created its tables there is simply nothing stored yet.
    let Ok(rows) = rows else { return Vec::new() };
    rows.into_iter()
        .map(|row| {
            let labels: Value = row.get("labels");
            Stored {
                labels: labels
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
                time_ms: row.get("time_ms"),
                value: row.get("value"),
            }
        })
        .collect()
}

/// Waits until exactly `n` points of `metric` are stored; fails at once on more.
pub async fn wait_for_stored(db: &PgPool, metric: &str, n: usize) -> Vec<Stored> {
    eventually(ARRIVAL_DEADLINE, || async {
        let points = stored(db, metric).await;
        assert!(
            points.len() <= n,
            "expected {n} stored points of {metric}; found {} (duplicates?)",
            points.len()
        );
        if points.len() == n {
            Ok(points)
        } else {
            Err(format!(
                "expected {n} stored points of {metric}; got {}",
                points.len()
            ))
        }
    })
    .await
}

/// A `vigil-agent` child process with a config file written by the test.
pub struct Agent {
    pub process: ChildProcess,
    pub config: PathBuf,
}

impl Agent {
    /// Writes `config` (TOML) to `dir/agent.toml` and starts the agent with it.
    pub fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Agent {
        let path = dir.join("agent.toml");
        std::fs::write(&path, config).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigil-agent"));
        command
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "info,vigil_agent=debug")
            .envs(env.iter().copied());
        let process = ChildProcess::spawn("vigil-agent", &mut command, &dir.join("agent.log"));
        Agent {
            process,
            config: path,
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub async fn stop(&mut self) {
        self.process.terminate();
        let status = self.process.wait_exit(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "vigil-agent exited with {status} after SIGTERM; log:\n{}",
            self.process.log_tail()
        );
    }
}

/// A test-sized agent config: short intervals, spill into `dir`, sending to `vigil`.
pub fn agent_config(vigil: &str, dir: &Path, interval: &str, extra: &str) -> String {
    format!(
        r#"
[server]
url = "{vigil}"
timeout = "5s"

[collect]
interval = "{interval}"
shutdown_timeout = "10s"

[delivery]
batch_size = 1000
flush_interval = "200ms"
retry_initial = "200ms"
retry_max = "2s"

[buffer]
spill_dir = "{spill}"

[tags]
host = "agent-test-host"

{extra}
"#,
        spill = dir.join("spill").display()
    )
}

/// Debian's `prometheus-node-exporter` on a free loopback port.
pub struct NodeExporter {
    pub process: ChildProcess,
    pub url: String,
}

impl NodeExporter {
    pub async fn start(dir: &Path) -> NodeExporter {
        let port = free_port();
        let mut command = Command::new("prometheus-node-exporter");
        command.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let process = ChildProcess::spawn(
            "prometheus-node-exporter",
            &mut command,
            &dir.join("node-exporter.log"),
        );
        let url = format!("http://127.0.0.1:{port}/metrics");
        let client = http_client();
        eventually(Duration::from_secs(30), || async {
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("node exporter answered {}", r.status())),
                Err(e) => Err(format!("node exporter not answering at {url}: {e} (is prometheus-node-exporter installed? scripts/agent-test-deps.sh)")),
            }
        })
        .await;
        NodeExporter { process, url }
    }
}
