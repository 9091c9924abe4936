//! Concurrent agents for the fault tests, and the exactly-once check.
//!
//! Every point carries a unique value (a sequence number), so what PostgreSQL holds
//! can be compared point by point with what was acknowledged: every point of a 202
//! must be stored exactly once; a point of a failed request may be stored (its
//! response was lost) but never twice.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::http_client;

/// What the agents saw.
#[derive(Default)]
pub struct Tally {
    next: u64,
    /// Sequence numbers whose request got a 202 (with every point accepted).
    pub acked: BTreeSet<u64>,
    /// Response statuses (or `error`) by count.
    pub outcomes: BTreeMap<String, usize>,
    /// Status of every response received after `mark`, with when it came.
    pub since_mark: Vec<(Instant, String)>,
    mark: Option<Instant>,
    /// 2xx answers whose body did not accept every point.
    pub partial: Vec<String>,
}

impl Tally {
    fn record(&mut self, outcome: String) {
        *self.outcomes.entry(outcome.clone()).or_default() += 1;
        if self.mark.is_some() {
            self.since_mark.push((Instant::now(), outcome));
        }
    }
}

pub struct Load {
    pub tally: Rc<RefCell<Tally>>,
    stop: Rc<Cell<bool>>,
    tasks: Vec<actix_rt::task::JoinHandle<()>>,
}

impl Load {
    /// `agents` concurrent agents posting `batch` points of `metric` to `base_url`,
    /// one request after another, pausing `pause` between requests (and 100 ms after
    /// a connection error, so a stopped server is not hammered).
    pub fn start(base_url: &str, metric: &str, agents: usize, batch: u64, pause: Duration) -> Load {
        let tally = Rc::new(RefCell::new(Tally::default()));
        let stop = Rc::new(Cell::new(false));
        let tasks = (0..agents)
            .map(|agent| {
                let (tally, stop) = (tally.clone(), stop.clone());
                let url = format!("{base_url}/api/v1/metrics");
                let metric = metric.to_string();
                actix_rt::spawn(async move {
                    let client = http_client();
                    let agent_tag = format!("agent{agent}");
                    while !stop.get() {
                        let first = {
                            let mut t = tally.borrow_mut();
                            let first = t.next;
                            t.next += batch;
                            first
                        };
                        let seqs: Vec<u64> = (first..first + batch).collect();
                        let body = Value::Array(
                            seqs.iter()
                                .map(|s| json!({"name": metric, "value": *s as f64, "tags": {"agent": agent_tag}}))
                                .collect(),
                        );
                        let sent = client
                            .post(&url)
                            .timeout(Duration::from_secs(30))
                            .insert_header(("Content-Type", "application/json"))
                            .send_json(&body)
                            .await;
                        match sent {
                            Ok(mut response) => {
                                let status = response.status().as_u16();
                                // A 503 must tell the agent when to come back.
                                let bare_503 = status == 503
                                    && response.headers().get("Retry-After").is_none();
                                let body = response.body().await.unwrap_or_default();
                                {
                                    let mut t = tally.borrow_mut();
                                    if status == 202 {
                                        let reply: Value = serde_json::from_slice(&body).unwrap_or_default();
                                        if reply["accepted"].as_u64() == Some(batch) {
                                            t.acked.extend(seqs);
                                        } else {
                                            t.partial.push(String::from_utf8_lossy(&body).into_owned());
                                        }
                                    }
                                    if bare_503 {
                                        t.record("503 without Retry-After".into());
                                    } else {
                                        t.record(status.to_string());
                                    }
                                }
                                tokio::time::sleep(pause).await;
                            }
                            Err(_) => {
                                tally.borrow_mut().record("error".into());
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        Load { tally, stop, tasks }
    }

    /// From now on, record each outcome with its time (for "never 2xx while down").
    pub fn mark(&self) {
        self.tally.borrow_mut().mark = Some(Instant::now());
    }

    pub fn acked_count(&self) -> usize {
        self.tally.borrow().acked.len()
    }

    /// Stops the agents and waits for their last requests.
    pub async fn stop(self) -> Tally {
        self.stop.set(true);
        for task in self.tasks {
            let _ = task.await;
        }
        Rc::try_unwrap(self.tally)
            .ok()
            .expect("agents finished")
            .into_inner()
    }
}

/// The ledger compared with the database: acknowledged values not stored, and
/// values stored more than once.
pub struct LedgerCheck {
    pub stored: usize,
    pub missing: Vec<u64>,
    pub duplicated: Vec<(u64, i64)>,
}

/// Reads how often each value of `metric` is stored and compares with `acked`.
pub async fn compare_ledger(
    db: &PgPool,
    metric: &str,
    acked: &BTreeSet<u64>,
) -> Result<LedgerCheck, String> {
    let rows: Vec<(f64, i64)> = sqlx::query_as(
        "SELECT p.value, count(*) FROM points p JOIN series s ON s.id = p.series_id \
         WHERE s.metric = $1 GROUP BY p.value",
    )
    .bind(metric)
    .fetch_all(db)
    .await
    .map_err(|e| format!("reading the stored points: {e}"))?;
    let stored: BTreeMap<u64, i64> = rows.into_iter().map(|(v, n)| (v as u64, n)).collect();
    let missing: Vec<u64> = acked
        .iter()
        .filter(|s| !stored.contains_key(s))
        .copied()
        .collect();
    let duplicated: Vec<(u64, i64)> = stored
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(s, n)| (*s, *n))
        .collect();
    Ok(LedgerCheck {
        stored: stored.len(),
        missing,
        duplicated,
    })
}

/// Ok when every acknowledged value of `metric` is stored exactly once and nothing
/// is stored twice; Err says what is missing or duplicated.
pub async fn check_exactly_once(
    db: &PgPool,
    metric: &str,
    acked: &BTreeSet<u64>,
) -> Result<(), String> {
    let LedgerCheck {
        stored,
        missing,
        duplicated,
    } = compare_ledger(db, metric, acked).await?;
    if missing.is_empty() && duplicated.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} acknowledged points; {} distinct stored; {} acknowledged but missing (first: {:?}); \
         {} stored more than once (first: {:?})",
        acked.len(),
        stored,
        missing.len(),
        &missing[..missing.len().min(10)],
        duplicated.len(),
        &duplicated[..duplicated.len().min(10)]
    ))
}

/// POST JSON; `(0, {"transport error": ..})` when no response came.
pub async fn post_json(client: &awc::Client, url: &str, body: &Value) -> (u16, Value) {
    match client.post(url).send_json(body).await {
        Ok(mut response) => {
            let bytes = response.body().await.unwrap_or_default();
            (
                response.status().as_u16(),
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }
        Err(e) => (0, json!({"transport error": e.to_string()})),
    }
}

/// GET; `(0, {"transport error": ..})` when no response came.
pub async fn get_json(client: &awc::Client, url: &str) -> (u16, Value) {
    match client.get(url).send().await {
        Ok(mut response) => {
            let bytes = response.body().await.unwrap_or_default();
            (
                response.status().as_u16(),
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }
        Err(e) => (0, json!({"transport error": e.to_string()})),
    }
}
