//! SIGTERM under load, with the real binary: `vigil serve` stops accepting, finishes
//! what is in flight, drains its writers and exits; whatever it acknowledged is
//! stored exactly once after a second start has drained the queue.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;

use crate::helpers::*;
use crate::load::{check_exactly_once, get_json, Load};

const METRIC: &str = "sigterm";
const GRACE: Duration = Duration::from_secs(15);

/// A `vigil serve` child process, killed if the test ends while it runs.
pub(crate) struct Vigil {
    pub(crate) child: Child,
    log: PathBuf,
}

impl Vigil {
    pub(crate) fn start(env: &[(String, String)], log: &Path) -> Vigil {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "info,sqlx=warn,lapin=warn")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("starting the vigil binary");
        Vigil {
            child,
            log: log.to_path_buf(),
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn terminate(&self) {
        // The shell's builtin kill: no procps needed.
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\"", &self.child.id().to_string()])
            .status()
            .expect("running sh -c kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits for the process to exit, polling; None when it is still running at the deadline.
    pub(crate) async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `/health` answers 200, failing early if the process exits.
    pub(crate) async fn wait_healthy(&mut self, client: &awc::Client, address: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "vigil serve exited ({status}) before it was healthy; log:\n{}",
                    self.log_tail()
                );
            }
            let (status, body) = get_json(client, &format!("{address}/health")).await;
            if status == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "vigil serve not healthy within 60 s; last /health {status} {body}; log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Vigil {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn sigterm_under_load_loses_no_acknowledged_point() {
    let _serial = crate::serial();
    actix_rt::System::new().block_on(scenario());
}

async fn scenario() {
    let isolation = Isolation::new();
    let mut leftovers = CleanupGuard::new(&isolation);
    let logs = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    let address = format!("http://127.0.0.1:{port}");
    let mut env = isolation.env();
    env.extend(
        [
            ("VIGIL__HTTP__ADDR", format!("127.0.0.1:{port}")),
            (
                "VIGIL__HTTP__SHUTDOWN_GRACE",
                format!("{}s", GRACE.as_secs()),
            ),
            ("VIGIL__INGEST__FLUSH_INTERVAL", "100ms".to_string()),
            ("VIGIL__DATABASE__MAX_CONNECTIONS", "8".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let client = http_client();

    let mut first = Vigil::start(&env, &logs.path().join("first.log"));
    first.wait_healthy(&client, &address).await;
    let load = Load::start(&address, METRIC, 4, 100, Duration::from_millis(5));
    let started = Instant::now();
    eventually(Duration::from_secs(30), || async {
        match load.acked_count() {
            n if n >= 3000 && started.elapsed() >= Duration::from_secs(1) => Ok(()),
            n => Err(format!(
                "expected 3000 points acknowledged before SIGTERM; got {n}"
            )),
        }
    })
    .await;
    first.terminate();
    let terminated_at = Instant::now();
    let exit = first.wait_exit(GRACE + Duration::from_secs(5)).await;
    let exit_after = terminated_at.elapsed();
    let tally = load.stop().await;
    let first_log = first.log_tail();
    drop(first);

    let mut second = Vigil::start(&env, &logs.path().join("second.log"));
    second.wait_healthy(&client, &address).await;
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&format!("{PG_SERVER}/{}", isolation.database))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let verdict = loop {
        match check_exactly_once(&db, METRIC, &tally.acked).await {
            Ok(()) => break Ok(()),
            Err(e) if Instant::now() >= deadline => break Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    second.terminate();
    let second_exit = second.wait_exit(GRACE + Duration::from_secs(15)).await;
    let second_log = second.log_tail();
    drop(second);
    db.close().await;
    isolation.remove_all().await;
    leftovers.disarm();

    eprintln!(
        "sigterm: {} points acknowledged, outcomes {:?}, first exit {exit:?} after {exit_after:?}",
        tally.acked.len(),
        tally.outcomes
    );
    let exit = exit.unwrap_or_else(|| {
        panic!(
            "vigil serve did not exit within {:?} of SIGTERM (http.shutdown_grace {GRACE:?}); log:\n{first_log}",
            GRACE + Duration::from_secs(5)
        )
    });
    assert!(
        exit.success(),
        "expected vigil serve to exit 0 after SIGTERM; got {exit}; log:\n{first_log}"
    );
    assert!(
        tally.partial.is_empty(),
        "every request had only valid points; partial answers: {:?}",
        tally.partial
    );
    verdict.unwrap_or_else(|e| {
        panic!("after SIGTERM and a restart, expected every acknowledged point stored once: {e}\nfirst log:\n{first_log}\nsecond log:\n{second_log}")
    });
    let second_exit = second_exit.unwrap_or_else(|| {
        panic!("the second vigil serve did not exit after SIGTERM; log:\n{second_log}")
    });
    assert!(
        second_exit.success(),
        "expected the idle server to exit 0 after SIGTERM; got {second_exit}; log:\n{second_log}"
    );
}
