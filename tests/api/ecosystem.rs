//! Real Prometheus and vmagent processes for the remote_write tests, started on
//! loopback ports with fresh data directories (installed by scripts/ecosystem-deps.sh)
//! and killed when dropped. Shared with the faults binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::helpers::{consistently, eventually, free_port, http_client, TestApp};

/// A child process with its own directory; killed on drop.
pub struct External {
    pub name: &'static str,
    pub port: u16,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl External {
    /// Prometheus scraping its own /metrics every second and remote-writing to `url`
    /// with HTTP Basic auth (the ingest key as the password), sending metadata every
    /// second and retrying quickly.
    pub fn prometheus(url: &str, ingest_key: &str) -> External {
        let dir = tempfile::Builder::new()
            .prefix("vigil-prom-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             remote_write:\n  - url: {url}\n    basic_auth:\n      username: prometheus\n      password: {ingest_key}\n\
             \x20   queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n\
             \x20   metadata_config:\n      send_interval: 1s\n"
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let args = vec![
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        External::start("prometheus", "prometheus", &args, port, dir)
    }

    /// vmagent scraping its own /metrics every second and remote-writing to `url`
    /// with `Authorization: Bearer <ingest key>`.
    pub fn vmagent(url: &str, ingest_key: &str) -> External {
        let dir = tempfile::Builder::new()
            .prefix("vigil-vmagent-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let config = format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n  - job_name: vmagent\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        );
        let config_path = dir.path().join("scrape.yml");
        std::fs::write(&config_path, config).unwrap();
        let args = vec![
            format!("-promscrape.config={}", config_path.display()),
            format!("-remoteWrite.url={url}"),
            format!("-remoteWrite.bearerToken={ingest_key}"),
            format!(
                "-remoteWrite.tmpDataPath={}",
                dir.path().join("queue").display()
            ),
            "-remoteWrite.flushInterval=1s".into(),
            format!("-httpListenAddr=127.0.0.1:{port}"),
        ];
        External::start("vmagent", "vmagent", &args, port, dir)
    }

    fn start(
        name: &'static str,
        program: &str,
        args: &[String],
        port: u16,
        dir: TempDir,
    ) -> External {
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start {program} (installed by scripts/ecosystem-deps.sh): {e}")
            });
        External {
            name,
            port,
            child,
            log,
            _dir: dir,
        }
    }

    /// The last lines of the process' output, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Waits until the process answers HTTP on its port.
    pub async fn wait_ready(&self) {
        let client = http_client();
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        eventually(Duration::from_secs(60), || async {
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => Ok(()),
                other => Err(format!(
                    "{} is not up on port {} ({:?}); its log:\n{}",
                    self.name,
                    self.port,
                    other.map(|r| r.status()),
                    self.log_tail()
                )),
            }
        })
        .await
    }

    /// The raw samples Prometheus itself holds for `selector` over the `range_s`
    /// seconds before `at_s`: the ground truth for what remote_write must deliver.
    pub async fn prometheus_raw(&self, selector: &str, range_s: i64, at_s: f64) -> Vec<(i64, f64)> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let query = format!("{selector}[{range_s}s]");
        let mut response = http_client()
            .get(&url)
            .query(&[("query", query.as_str()), ("time", &at_s.to_string())])
            .unwrap()
            .send()
            .await
            .unwrap_or_else(|e| panic!("query Prometheus: {e}"));
        let body: Value = response.json().limit(64 << 20).await.unwrap();
        assert_eq!(body["status"], "success", "Prometheus answered {body}");
        let result = body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            result.len() <= 1,
            "{selector} is more than one series: {body}"
        );
        result
            .first()
            .and_then(|s| s["values"].as_array())
            .map(|values| {
                values
                    .iter()
                    .map(|pair| {
                        let t = pair[0].as_f64().unwrap();
                        let v: f64 = pair[1].as_str().unwrap().parse().unwrap();
                        ((t * 1000.0).round() as i64, v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for External {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Points stored per metric, sorted by metric.
pub async fn stored_counts(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT s.metric, count(*) FROM points p JOIN series s ON s.id = p.series_id
         GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// After the sentinel metric `sentinel` (1 point) is stored, checks for a quiet
/// window that exactly `expected` (metric, points) are stored besides it.
pub async fn assert_only_stored(app: &TestApp, sentinel: &str, expected: &[(&str, usize)]) {
    app.wait_for_points(sentinel, 1).await;
    let mut want: Vec<(String, i64)> = expected
        .iter()
        .map(|(m, n)| (m.to_string(), *n as i64))
        .chain([(sentinel.to_string(), 1)])
        .collect();
    want.sort();
    consistently(Duration::from_secs(1), || async {
        let seen = stored_counts(app).await;
        if seen == want {
            Ok(())
        } else {
            Err(format!("expected stored {want:?}; found {seen:?}"))
        }
    })
    .await;
}

/// Waits until Vigil holds exactly the `up` samples in `truth` (what Prometheus
/// holds itself) up to the last of them.
pub async fn assert_same_up_samples(app: &TestApp, truth: &[(i64, f64)], sender: &External) {
    let last = truth.last().expect("Prometheus holds samples").0;
    eventually(Duration::from_secs(60), || async {
        let stored: Vec<(i64, f64)> = app
            .stored_points("up")
            .await
            .into_iter()
            .filter(|p| p.time_ms <= last)
            .map(|p| (p.time_ms, p.value))
            .collect();
        if stored == truth {
            Ok(())
        } else {
            let missing = truth.iter().filter(|s| !stored.contains(s)).count();
            Err(format!(
                "expected the {} up samples Prometheus holds; Vigil has {} ({missing} missing): {truth:?} vs {stored:?}; sender log:\n{}",
                truth.len(),
                stored.len(),
                sender.log_tail()
            ))
        }
    })
    .await;
}
