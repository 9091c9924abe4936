//! The agent itself: one [`Client`], the host collector and one task per scrape
//! target, on the current (actix) runtime, until the shutdown future resolves; then a
//! flush within `collect.shutdown_timeout`.
//!
//! Each target has its own task and its own timeout, so a target that hangs costs
//! only its own rounds. The host collector runs on the blocking pool (statvfs on a
//! dead network mount blocks); if its previous round is still stuck, a round is
//! skipped rather than piling up threads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::client::{Client, ClientError, ClientSettings, ShutdownReport};
use crate::config::AgentSettings;
use crate::host::HostCollector;
use crate::point::{now_ms, Point, Tags};
use crate::process;
use crate::scrape::Scraper;

/// Scrape failures by (job, instance, reason), for `vigil_agent_scrape_errors_total`.
type ScrapeErrors = Rc<RefCell<BTreeMap<(String, String, &'static str), u64>>>;

/// A started agent: its client and the tasks that feed it.
pub struct RunningAgent {
    client: Client,
    tasks: Vec<actix_rt::task::JoinHandle<()>>,
    shutdown_timeout: Duration,
}

impl RunningAgent {
    /// Starts the client, the host collector, one task per scrape target and the
    /// agent's own metrics, on the current actix runtime.
    pub fn start(settings: &AgentSettings) -> Result<RunningAgent, ClientError> {
        let client = Client::start(ClientSettings::from_agent(settings))?;
        let tags = settings.global_tags();
        let interval = settings.collect.interval;
        tracing::info!(
            "vigil-agent sending to {} every {:?} (host collector {}, {} scrape targets), tags {:?}.",
            settings.server.url,
            interval,
            if settings.host.enabled { "on" } else { "off" },
            settings.scrape.targets.len(),
            tags
        );
        let mut tasks = Vec::new();
        if settings.host.enabled {
            tasks.push(actix_rt::spawn(host_task(
                client.clone(),
                HostCollector::new(settings.host.clone()),
                tags.clone(),
                interval,
            )));
        }
        let errors: ScrapeErrors = Rc::default();
        for target in settings.targets() {
            let scraper = Scraper::new(target, &tags, settings.scrape.max_body_bytes);
            tasks.push(actix_rt::spawn(scrape_task(
                client.clone(),
                scraper,
                errors.clone(),
            )));
        }
        tasks.push(actix_rt::spawn(self_task(
            client.clone(),
            tags,
            interval,
            errors,
        )));
        Ok(RunningAgent {
            client,
            tasks,
            shutdown_timeout: settings.collect.shutdown_timeout,
        })
    }

    /// The client the collectors record into (its stats show the agent's progress).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Stops collecting, then delivers what is buffered within `collect.shutdown_timeout`.
    pub async fn shutdown(self) -> ShutdownReport {
        tracing::info!(
            "Shutting down: delivering what is buffered (at most {:?}).",
            self.shutdown_timeout
        );
        for task in &self.tasks {
            task.abort();
        }
        let report = self.client.shutdown(self.shutdown_timeout).await;
        tracing::info!(
            "Stopped: {} points sent, {} rejected by Vigil, {} dropped, {} saved for the next start, {} lost.",
            report.stats.sent,
            report.stats.rejected,
            report.stats.dropped,
            report.spilled_points,
            report.lost_points
        );
        report
    }
}

/// Runs the agent until `shutdown` resolves.
pub async fn run(
    settings: AgentSettings,
    shutdown: impl Future<Output = ()>,
) -> Result<ShutdownReport, ClientError> {
    let agent = RunningAgent::start(&settings)?;
    shutdown.await;
    Ok(agent.shutdown().await)
}

/// A ticker that fires at once, then every `period`; late ticks are skipped, not
/// bunched (a round that overran should not be followed by a burst of rounds).
fn ticker(period: Duration) -> tokio::time::Interval {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tick
}

async fn host_task(client: Client, collector: HostCollector, tags: Tags, interval: Duration) {
    let collector = Arc::new(Mutex::new(collector));
    let tags = Arc::new(tags);
    let mut tick = ticker(interval);
    loop {
        tick.tick().await;
        let (collector, tags) = (collector.clone(), tags.clone());
        let round = tokio::task::spawn_blocking(move || {
            let Ok(mut collector) = collector.try_lock() else {
                return None;
            };
            Some(collector.collect(now_ms(), &tags))
        });
        match tokio::time::timeout(interval, round).await {
            Ok(Ok(Some(points))) => client.record_points(points),
            Ok(Ok(None)) => {
                tracing::warn!("Skipped a host round: the previous one is still running.")
            }
            Ok(Err(e)) => tracing::error!("The host collector failed: {e}"),
            Err(_) => tracing::warn!("A host round took longer than {interval:?} (a hung mount?)."),
        }
    }
}

async fn scrape_task(client: Client, scraper: Scraper, errors: ScrapeErrors) {
    let target = scraper.target().clone();
    let mut tick = ticker(target.interval);
    let mut was_up = true;
    loop {
        tick.tick().await;
        let round = scraper.scrape().await;
        match &round.error {
            None if !was_up => {
                was_up = true;
                tracing::info!("Target {} ({}) is up again.", target.url, target.job);
            }
            None => {}
            Some(error) => {
                *errors
                    .borrow_mut()
                    .entry((target.job.clone(), target.instance.clone(), error.reason()))
                    .or_default() += 1;
                // Every malformed round is worth a line (someone must fix the
                // exporter); a down target only when it goes down.
                if was_up || error.reason() == "malformed" {
                    tracing::warn!(
                        "Scrape of {} ({}) failed, up = 0: {error}",
                        target.url,
                        target.job
                    );
                }
                was_up = false;
            }
        }
        if round.skipped > 0 {
            tracing::debug!(
                "Skipped {} of {} samples of {} (non-finite values or names/labels Vigil refuses).",
                round.skipped,
                round.samples,
                target.url
            );
        }
        client.record_points(round.points);
    }
}

/// The agent's own metrics, every `interval`.
async fn self_task(client: Client, tags: Tags, interval: Duration, errors: ScrapeErrors) {
    let mut tick = ticker(interval);
    loop {
        tick.tick().await;
        let now = now_ms();
        let stats = client.stats();
        let point = |name: &str, value: f64| Point::new(name, value, tags.clone(), now);
        let mut points = vec![
            point("vigil_agent_points_recorded_total", stats.recorded as f64),
            point("vigil_agent_points_sent_total", stats.sent as f64),
            point("vigil_agent_points_rejected_total", stats.rejected as f64),
            point("vigil_agent_points_dropped_total", stats.dropped as f64),
            point("vigil_agent_points_invalid_total", stats.invalid as f64),
            point("vigil_agent_send_retries_total", stats.retries as f64),
            point(
                "vigil_agent_buffer_points",
                stats.buffer.total_points() as f64,
            ),
            point(
                "vigil_agent_buffer_disk_bytes",
                stats.buffer.disk_bytes as f64,
            ),
        ];
        if let Some(usage) = process::usage(None) {
            points.push(point("vigil_agent_cpu_seconds_total", usage.cpu_seconds));
            points.push(point(
                "vigil_agent_resident_memory_bytes",
                usage.rss_bytes as f64,
            ));
        }
        for ((job, instance, reason), count) in errors.borrow().iter() {
            let mut t = tags.clone();
            t.insert("job".into(), job.clone());
            t.insert("instance".into(), instance.clone());
            t.insert("reason".into(), (*reason).to_string());
            points.push(Point::new(
                "vigil_agent_scrape_errors_total",
                *count as f64,
                t,
                now,
            ));
        }
        client.record_points(points);
    }
}
