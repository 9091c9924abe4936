//! Builds and runs the application: the one place where connections are opened,
//! actors are started and wired, and HTTP routes are mounted.
//!
//! Supervision tree (every actor but the rule actors is under an actix `Supervisor`,
//! which restarts it at the same address when it stops; the alert supervisor restarts
//! a rule actor it finds stopped at its next reconcile):
//!
//! ```text
//! System
//! ├── IngestActor × actors.ingest_pool          own arbiter each; AMQP confirm channel
//! ├── BatchWriterActor × actors.writer_pool     own arbiter each; AMQP consumer + PgPool
//! ├── QueryRouterActor × actors.query_pool      own arbiter each; PgPool + Redis
//! ├── RetentionActor                             own arbiter; creates and drops partitions
//! ├── DownsamplerActor                           own arbiter; recomputes dirty rollup buckets
//! ├── CompactorActor                             own arbiter; compresses closed raw ranges
//! ├── RollupCompactorActor                       own arbiter; compresses closed rollup days
//! ├── MaintenanceActor                           own arbiter; vacuums churned tables, summarises BRIN
//! ├── NotifierActor × actors.notifier_pool      own arbiter each; delivers the outbox
//! ├── AlertSupervisor                            own arbiter; rule leases and ticks
//! │   └── AlertActor × rules held                 one arbiter for all; restarted by the supervisor
//! └── HttpServer (http.workers threads)         handlers send to the pools above
//! ```

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Arbiter, Supervisor};
use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use backon::{BackoffBuilder, ExponentialBuilder};
use sqlx::PgPool;

use crate::actors::alert::AlertDeps;
use crate::actors::alert_supervisor::{AlertSupervisor, ReleaseLeases};
use crate::actors::batch_writer::{DrainWriter, WriterDeps};
use crate::actors::downsampler::RunRollups;
use crate::actors::ingest::{CloseBroker, SeriesGuard};
use crate::actors::maintenance::{MaintenanceActor, RunUpkeep, UpkeepReport};
use crate::actors::notifier::{Breakers, DrainNotifier, NotifierActor};
use crate::actors::retention::RunMaintenance;
use crate::actors::{
    ActorPool, BatchWriterActor, DownsamplerActor, IngestActor, QueryRouterActor, RetentionActor,
};
use crate::breaker::CircuitBreaker;
use crate::config::Settings;
use crate::http::{self, AppState};
use crate::series_ids::SeriesIds;
use crate::store::partitions::{days_ahead, PartitionSet, PartitionedTable};
use crate::store::postgres;
use crate::store::redis::RedisStore;
use crate::telemetry::Metrics;

pub struct Application {
    port: u16,
    server: Server,
    settings: Arc<Settings>,
    writers: Vec<Addr<BatchWriterActor>>,
    retention: Addr<RetentionActor>,
    downsampler: Addr<DownsamplerActor>,
    compactor: Addr<crate::actors::compactor::CompactorActor>,
    rollup_compactor: Addr<crate::actors::rollup_compactor::RollupCompactorActor>,
    upkeep: Addr<MaintenanceActor>,
    ingest: Vec<Addr<IngestActor>>,
    abort_writers: Arc<AtomicBool>,
    arbiters: Vec<Arbiter>,
    pg: PgPool,
    redis: RedisStore,
    // --- alerting ---
    alert_supervisor: Addr<AlertSupervisor>,
    notifiers: Vec<Addr<NotifierActor>>,
}

impl Application {
    /// Prepares the database (create, migrate), starts every actor and binds the
    /// HTTP listener. The server runs once `run_until_stopped` is awaited.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let settings = Arc::new(settings);
        let metrics = Arc::new(Metrics::new());

        let pg = prepare_database(&settings).await?;
        let redis = RedisStore::new(&settings.redis, metrics.clone());
        let partitions = Arc::new(PartitionSet::default());
        for table in PartitionedTable::ALL {
            partitions
                .ensure(
                    &pg,
                    table,
                    days_ahead(chrono::Utc::now(), settings.database.partitions_ahead_days),
                )
                .await
                .context("creating the time partitions")?;
        }
        let breaker = Arc::new(CircuitBreaker::new(
            "queries to the database",
            settings.query.breaker_failures,
            settings.query.breaker_open_for,
        ));
        let abort_writers = Arc::new(AtomicBool::new(false));

        let mut arbiters = Vec::new();
        let series_ids = Arc::new(SeriesIds::new(settings.ingest.series_cache_capacity));
        let ingest = {
            let (settings, metrics, pg) = (settings.clone(), metrics.clone(), pg.clone());
            let guard = SeriesGuard::new(series_ids.clone(), settings.ingest.series_cache_capacity);
            ActorPool::start_with_readiness(
                settings.actors.ingest_pool,
                &mut arbiters,
                move |i, ready| {
                    let (settings, metrics) = (settings.clone(), metrics.clone());
                    IngestActor::new(i, settings, metrics, pg.clone(), guard.clone(), ready)
                },
            )
        };
        let writer_deps = WriterDeps {
            settings: settings.clone(),
            pg: pg.clone(),
            redis: redis.clone(),
            partitions: partitions.clone(),
            metrics: metrics.clone(),
            series_ids,
            abort: abort_writers.clone(),
            database: postgres::database_identity(&pg)
                .await
                .context("reading the database identity")?,
            shard: 0,
        };
        let writers = ActorPool::start(settings.actors.writer_pool, &mut arbiters, move |i| {
            BatchWriterActor::new(i, writer_deps.clone())
        });
        let query = {
            let (settings, pg, redis, metrics) =
                (settings.clone(), pg.clone(), redis.clone(), metrics.clone());
            ActorPool::start(settings.actors.query_pool, &mut arbiters, move |_| {
                QueryRouterActor::new(
                    settings.clone(),
                    pg.clone(),
                    redis.clone(),
                    breaker.clone(),
                    metrics.clone(),
                )
            })
        };
        let retention = {
            let (settings, pg, metrics, partitions) = (
                settings.clone(),
                pg.clone(),
                metrics.clone(),
                partitions.clone(),
            );
            start_alone(&mut arbiters, move || {
                RetentionActor::new(settings, pg, partitions, metrics)
            })
        };
        let downsampler = {
            let (settings, pg, metrics, partitions) = (
                settings.clone(),
                pg.clone(),
                metrics.clone(),
                partitions.clone(),
            );
            start_alone(&mut arbiters, move || {
                DownsamplerActor::new(settings, pg, partitions, metrics)
            })
        };
        let compactor = {
            let (settings, pg, metrics, partitions) = (
                settings.clone(),
                pg.clone(),
                metrics.clone(),
                partitions.clone(),
            );
            start_alone(&mut arbiters, move || {
                crate::actors::compactor::CompactorActor::new(settings, pg, partitions, metrics)
            })
        };
        let rollup_compactor = {
            let (settings, pg, metrics, partitions) = (
                settings.clone(),
                pg.clone(),
                metrics.clone(),
                partitions.clone(),
            );
            start_alone(&mut arbiters, move || {
                crate::actors::rollup_compactor::RollupCompactorActor::new(
                    settings, pg, partitions, metrics,
                )
            })
        };

        let upkeep = {
            let (settings, pg, metrics) = (settings.clone(), pg.clone(), metrics.clone());
            start_alone(&mut arbiters, move || {
                MaintenanceActor::new(settings, pg, metrics)
            })
        };

        // --- alerting ---
        let webhook_tls = crate::notify::tls::client_config(&settings.notify.ca_file)?;
        let (alert_supervisor, notifiers) =
            start_alerting(&settings, &pg, &redis, &metrics, webhook_tls, &mut arbiters);
        let alerts_state = web::Data::new(http::alerts::AlertsState {
            supervisor: alert_supervisor.clone(),
        });

        crate::auth::bootstrap::ensure_admin(&pg, &settings.auth)
            .await
            .context("creating the first admin")?;
        let credentials =
            crate::auth::Credentials::new(pg.clone(), redis.clone(), settings.auth.clone());
        let limiter = crate::auth::RateLimiter::new(redis.clone());

        let ingest_addrs = ingest.all().to_vec();
        let state = web::Data::new(AppState {
            settings: settings.clone(),
            metrics,
            pg: pg.clone(),
            redis: redis.clone(),
            ingest,
            query,
            ingest_permits: Arc::new(tokio::sync::Semaphore::new(
                settings.ingest.max_inflight_requests,
            )),
            credentials,
            limiter,
        });
        let listener = TcpListener::bind(settings.http.addr)
            .with_context(|| format!("binding {}", settings.http.addr))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(http::auth::resolve_caller))
                .wrap(actix_web::middleware::from_fn(http::trace::request_span))
                .app_data(state.clone())
                .app_data(alerts_state.clone())
                .configure(http::configure)
        })
        .workers(settings.http.workers)
        .shutdown_timeout(settings.http.shutdown_grace.as_secs())
        // actix-server stops the whole System on a signal, which would kill the
        // writers before they drain; `run_until_stopped` handles signals instead.
        .disable_signals()
        .listen(listener)?
        .run();
        tracing::info!(addr = %settings.http.addr, port, "Vigil is listening.");

        Ok(Application {
            port,
            server,
            writers: writers.all().to_vec(),
            ingest: ingest_addrs,
            retention,
            downsampler,
            compactor,
            rollup_compactor,
            upkeep,
            settings,
            abort_writers,
            arbiters,
            pg,
            redis,
            alert_supervisor,
            notifiers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the HTTP server gracefully (what SIGTERM does).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn redis(&self) -> &RedisStore {
        &self.redis
    }

    /// Handles to run maintenance on demand (tests and admin tasks); the actors also
    /// run on their own schedule.
    pub fn maintenance(&self) -> Maintenance {
        Maintenance {
            retention: self.retention.clone(),
            downsampler: self.downsampler.clone(),
            compactor: self.compactor.clone(),
            rollup_compactor: self.rollup_compactor.clone(),
            upkeep: self.upkeep.clone(),
        }
    }

    /// Serves until SIGTERM/SIGINT (or `handle().stop()`), then drains: the HTTP server
    /// stops accepting and finishes in-flight requests, the writers flush and ack what
    /// they hold, and whatever is not done within `http.shutdown_grace` stays unacked
    /// in RabbitMQ for the next start.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let watcher = actix_rt::spawn(async move {
            wait_for_signal().await;
            tracing::info!("Shutdown signal received; stopping HTTP intake.");
            handle.stop(true).await;
        });
        self.server.await?;
        watcher.abort();
        // Survivors take the rules over at their next renewal instead of after the TTL.
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.alert_supervisor.send(ReleaseLeases),
        )
        .await;
        tracing::info!("HTTP server stopped; draining the writers.");
        let grace = self.settings.http.shutdown_grace;
        let drains =
            futures_util::future::join_all(self.writers.iter().map(|w| w.send(DrainWriter)));
        match tokio::time::timeout(grace, drains).await {
            Ok(results) => {
                let failed = results.iter().filter(|r| r.is_err()).count();
                if failed > 0 {
                    tracing::warn!(failed, "Some writers were gone before draining; their unacked messages will be redelivered.");
                }
            }
            Err(_) => tracing::warn!("Writers did not drain within the grace period; their unacked messages will be redelivered."),
        }
        // Deliveries under way finish and are recorded, so they are neither lost from
        // the report nor sent again by the next claimant after `notify.claim_ttl`.
        let drains =
            futures_util::future::join_all(self.notifiers.iter().map(|n| n.send(DrainNotifier)));
        if tokio::time::timeout(grace, drains).await.is_err() {
            tracing::warn!("Notifiers did not finish their deliveries within the grace period; their claims expire and are taken again.");
        }
        let closes =
            futures_util::future::join_all(self.ingest.iter().map(|a| a.send(CloseBroker)));
        let _ = tokio::time::timeout(Duration::from_secs(5), closes).await;
        self.abort_writers.store(true, Ordering::Relaxed);
        self.pg.close().await;
        // Arbiters stop with the process; stopping them here would tear down the tokio
        // contexts under lapin's I/O threads while they finish closing.
        drop(self.arbiters);
        tracing::info!("Vigil stopped.");
        Ok(())
    }
}

/// Starts one supervised actor on an arbiter of its own (kept in `arbiters`).
fn start_alone<A, F>(arbiters: &mut Vec<Arbiter>, make: F) -> Addr<A>
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Supervised + Send,
    F: FnOnce() -> A + Send + 'static,
{
    let arbiter = Arbiter::new();
    let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| make());
    arbiters.push(arbiter);
    addr
}

// --- alerting ---
/// Starts the notifier pool and the alert supervisor (which starts the rule actors on
/// an arbiter of their own).
fn start_alerting(
    settings: &Arc<Settings>,
    pg: &PgPool,
    redis: &RedisStore,
    metrics: &Arc<Metrics>,
    webhook_tls: Arc<rustls::ClientConfig>,
    arbiters: &mut Vec<Arbiter>,
) -> (Addr<AlertSupervisor>, Vec<Addr<NotifierActor>>) {
    let breakers = Arc::new(Breakers::new(
        settings.notify.breaker_failures,
        settings.notify.breaker_open_for,
    ));
    let notifiers = {
        let (settings, pg, metrics) = (settings.clone(), pg.clone(), metrics.clone());
        ActorPool::start(settings.actors.notifier_pool, arbiters, move |i| {
            NotifierActor::new(
                i,
                settings.clone(),
                pg.clone(),
                metrics.clone(),
                breakers.clone(),
                webhook_tls.clone(),
            )
        })
    };
    let deps = AlertDeps {
        settings: settings.clone(),
        pg: pg.clone(),
        redis: redis.clone(),
        metrics: metrics.clone(),
        notifiers: notifiers
            .all()
            .iter()
            .map(|a| a.clone().recipient())
            .collect(),
    };
    let rule_arbiter = Arbiter::new();
    let handle = rule_arbiter.handle();
    arbiters.push(rule_arbiter);
    let supervisor = start_alone(arbiters, move || AlertSupervisor::new(deps, handle));
    (supervisor, notifiers.all().to_vec())
}

/// Triggers for the maintenance actors.
#[derive(Clone)]
pub struct Maintenance {
    retention: Addr<RetentionActor>,
    downsampler: Addr<DownsamplerActor>,
    compactor: Addr<crate::actors::compactor::CompactorActor>,
    rollup_compactor: Addr<crate::actors::rollup_compactor::RollupCompactorActor>,
    upkeep: Addr<MaintenanceActor>,
}

impl Maintenance {
    /// Runs one table upkeep round now (vacuum what is due, summarise BRIN indexes),
    /// also when `maintenance.enabled` is off.
    pub async fn run_upkeep(&self) -> anyhow::Result<UpkeepReport> {
        self.upkeep
            .send(RunUpkeep)
            .await?
            .map_err(anyhow::Error::msg)
    }

    /// Runs one compaction round now (also when `compaction.enabled` is off, so tests
    /// can drive it).
    pub async fn run_compaction(&self) -> anyhow::Result<crate::actors::compactor::RoundReport> {
        self.compactor
            .send(crate::actors::compactor::RunCompaction)
            .await?
            .map_err(anyhow::Error::msg)
    }

    /// Runs one rollup compaction round now (also when `rollup_compaction.enabled` is
    /// off, so tests can drive it).
    pub async fn run_rollup_compaction(
        &self,
    ) -> anyhow::Result<crate::actors::rollup_compactor::RollupCompactionReport> {
        self.rollup_compactor
            .send(crate::actors::rollup_compactor::RunRollupCompaction)
            .await?
            .map_err(anyhow::Error::msg)
    }

    /// Runs a retention round now and returns the partitions it dropped.
    pub async fn run_retention(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.retention.send(RunMaintenance).await?)
    }

    /// Runs the downsampler until nothing settled is left; returns buckets computed.
    pub async fn run_rollups(&self) -> anyhow::Result<usize> {
        self.downsampler
            .send(RunRollups)
            .await?
            .map_err(anyhow::Error::msg)
    }
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::warn!(%error, "Cannot listen for SIGTERM; only Ctrl-C stops the server.");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Creates the database if missing and applies migrations, waiting (with backoff and
/// a log line per failure) while PostgreSQL is unreachable rather than panicking.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<PgPool> {
    let name = settings
        .database_name()
        .context("database.url names no database")?;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        match postgres::ensure_database(&settings.database, &name).await {
            Ok(()) => break,
            Err(postgres::DatabaseError::Url(e)) => {
                return Err(e).context("database.url is not a valid PostgreSQL URL")
            }
            Err(error) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(10));
                tracing::error!(%error, retry_in = ?delay, "PostgreSQL is not reachable; waiting for it.");
                tokio::time::sleep(delay).await;
            }
        }
    }
    let pg = postgres::pool(&settings.database)?;
    postgres::migrate(&pg)
        .await
        .context("applying migrations")?;
    Ok(pg)
}
