//! Every metric Vigil exposes, registered in one registry per application instance
//! (so tests running several apps in one process do not collide).
//! Names follow `vigil_<subsystem>_<what>_<unit>`.

use prometheus::{
    CounterVec, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub const LABEL_RESULT: &str = "result";
pub const LABEL_REASON: &str = "reason";
pub const LABEL_ACTOR: &str = "actor";
pub const LABEL_CACHE: &str = "cache";
pub const LABEL_STATE: &str = "state";
pub const LABEL_DEPENDENCY: &str = "dependency";

/// Handles to every metric; cheap to clone through an `Arc`.
pub struct Metrics {
    registry: Registry,
    /// Points by outcome: `accepted`, or `rejected` with a `reason`.
    pub ingest_points: IntCounterVec,
    pub ingest_requests_rejected: IntCounterVec,
    pub ingest_request_seconds: Histogram,
    pub ingest_messages_published: IntCounter,
    /// Points refused because their series would exceed a cardinality cap, by cap.
    pub ingest_series_limited: IntCounterVec,
    pub writer_batch_points: Histogram,
    pub writer_commit_seconds: Histogram,
    pub writer_stage_seconds: CounterVec,
    pub writer_points_written: IntCounter,
    pub writer_duplicate_batches: IntCounter,
    pub writer_dead_lettered: IntCounter,
    pub writer_retries: IntCounter,
    pub queue_depth_messages: IntGauge,
    pub query_seconds: HistogramVec,
    pub cache_hits: IntCounterVec,
    pub cache_misses: IntCounterVec,
    pub cache_bypassed: IntCounter,
    /// Logins by result: `ok`, `failed` (wrong email or password), `limited`.
    pub auth_logins: IntCounterVec,
    /// Requests refused by a rate limit, by scope (login-ip, login-account,
    /// ingest-key, ingest-ip).
    pub rate_limited: IntCounterVec,
    pub query_breaker_open: IntGauge,
    pub actor_restarts: IntCounterVec,
    pub db_pool_connections: IntGaugeVec,
    pub dependency_up: IntGaugeVec,
    pub partitions_created: IntCounter,
    pub partitions_dropped: IntCounter,
    pub retention_last_run_timestamp: IntGauge,
    pub rollup_buckets: IntCounterVec,
    pub rollup_lag_seconds: IntGaugeVec,
    // --- alerting ---
    pub alerting: AlertMetrics,
    pub compaction: CompactionMetrics,
    pub rollup_compaction: RollupCompactionMetrics,
}

/// The compressed rollup tiers (their bytes go to `vigil_storage_bytes` too).
pub struct RollupCompactionMetrics {
    /// Days compacted into blocks, by tier (1m, 1h) and step (compact, merge).
    pub days: IntCounterVec,
    /// Compacted days still holding rows to merge.
    pub pending_days: IntGauge,
    pub failures: IntCounter,
}

impl RollupCompactionMetrics {
    fn new() -> RollupCompactionMetrics {
        RollupCompactionMetrics {
            days: IntCounterVec::new(
                Opts::new(
                    "vigil_rollup_compaction_days_total",
                    "Rollup days written into blocks, by tier and step (compact, merge).",
                ),
                &["tier", "step"],
            )
            .unwrap(),
            pending_days: IntGauge::new(
                "vigil_rollup_compaction_pending_days",
                "Compacted rollup days still holding rows to merge into their blocks.",
            )
            .unwrap(),
            failures: IntCounter::new(
                "vigil_rollup_compaction_failures_total",
                "Rollup compaction steps that failed (retried next round).",
            )
            .unwrap(),
        }
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.days.clone()),
            Box::new(self.pending_days.clone()),
            Box::new(self.failures.clone()),
        ]
    }
}

/// The compressed raw tier.
pub struct CompactionMetrics {
    /// Bytes on disk (heap, TOAST, indexes) by tier: raw, blocks, late, rollup_1m,
    /// rollup_1h, rollup_1m_blocks, rollup_1h_blocks.
    pub storage_bytes: IntGaugeVec,
    pub points: IntCounter,
    pub ranges: IntCounter,
    pub merged_points: IntCounter,
    pub seconds: Histogram,
    pub pending_ranges: IntGauge,
    pub lag_seconds: IntGauge,
    pub decode_errors: IntCounter,
    pub failures: IntCounter,
}

impl CompactionMetrics {
    fn new() -> CompactionMetrics {
        CompactionMetrics {
            storage_bytes: IntGaugeVec::new(
                Opts::new(
                    "vigil_storage_bytes",
                    "Bytes on disk by storage tier (heap, TOAST and indexes).",
                ),
                &["tier"],
            )
            .unwrap(),
            points: IntCounter::new(
                "vigil_compaction_points_total",
                "Raw points compacted into blocks.",
            )
            .unwrap(),
            ranges: IntCounter::new("vigil_compaction_ranges_total", "Raw ranges compacted.")
                .unwrap(),
            merged_points: IntCounter::new(
                "vigil_compaction_merged_points_total",
                "Points rewritten by late-point and day merges.",
            )
            .unwrap(),
            seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "vigil_compaction_duration_seconds",
                    "Time to compact one raw range.",
                )
                .buckets(vec![
                    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0,
                ]),
            )
            .unwrap(),
            pending_ranges: IntGauge::new(
                "vigil_compaction_pending_ranges",
                "Raw ranges due for compaction and not compacted yet.",
            )
            .unwrap(),
            lag_seconds: IntGauge::new(
                "vigil_compaction_lag_seconds",
                "Age of the oldest range waiting past its due time.",
            )
            .unwrap(),
            decode_errors: IntCounter::new(
                "vigil_compaction_decode_errors_total",
                "Compressed blocks (raw or rollup tiers) that could not be decoded.",
            )
            .unwrap(),
            failures: IntCounter::new(
                "vigil_compaction_failures_total",
                "Compaction steps that failed (retried next round).",
            )
            .unwrap(),
        }
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.storage_bytes.clone()),
            Box::new(self.points.clone()),
            Box::new(self.ranges.clone()),
            Box::new(self.merged_points.clone()),
            Box::new(self.seconds.clone()),
            Box::new(self.pending_ranges.clone()),
            Box::new(self.lag_seconds.clone()),
            Box::new(self.decode_errors.clone()),
            Box::new(self.failures.clone()),
        ]
    }
}

/// Alerting metrics, registered with the others.
pub struct AlertMetrics {
    /// Rules evaluated here, by their worst instance state (ok, pending, firing).
    pub rules: IntGaugeVec,
    pub leases_held: IntGauge,
    pub evaluations: IntCounter,
    pub evaluation_failures: IntCounterVec,
    pub round_seconds: Histogram,
    pub lag_seconds: prometheus::Gauge,
    pub missed_intervals: IntCounter,
    pub transitions: IntCounterVec,
    pub notifications: IntCounterVec,
    pub notification_delay_seconds: HistogramVec,
    pub breakers_open: IntGaugeVec,
    pub outbox_pending: IntGauge,
}

impl AlertMetrics {
    fn new() -> AlertMetrics {
        AlertMetrics {
            rules: IntGaugeVec::new(Opts::new("vigil_alert_rules", "Rules evaluated by this instance, by their worst instance state."), &[LABEL_STATE]).unwrap(),
            leases_held: IntGauge::new("vigil_alert_leases_held", "Rule leases this instance holds (rules it evaluates).").unwrap(),
            evaluations: IntCounter::new("vigil_alert_evaluations_total", "Rule evaluations.").unwrap(),
            evaluation_failures: IntCounterVec::new(
                Opts::new("vigil_alert_evaluation_failures_total", "Failed rule evaluations, by reason (query, state_write, panic, actor, timeout)."),
                &[LABEL_REASON],
            )
            .unwrap(),
            round_seconds: Histogram::with_opts(
                HistogramOpts::new("vigil_alert_round_duration_seconds", "Time to evaluate every rule of one tick, from the scheduled tick to the last reply.")
                    .buckets(vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            )
            .unwrap(),
            lag_seconds: prometheus::Gauge::new("vigil_alert_evaluation_lag_seconds", "How long the last round finished after its scheduled tick.").unwrap(),
            missed_intervals: IntCounter::new("vigil_alert_missed_intervals_total", "Ticks skipped because the previous round was still running.").unwrap(),
            transitions: IntCounterVec::new(Opts::new("vigil_alert_transitions_total", "Recorded transitions, by new state (firing, resolved)."), &[LABEL_STATE]).unwrap(),
            notifications: IntCounterVec::new(
                Opts::new("vigil_notifications_total", "Notification attempts by channel and result (sent, failed, retried, deferred)."),
                &["channel", LABEL_RESULT],
            )
            .unwrap(),
            notification_delay_seconds: HistogramVec::new(
                HistogramOpts::new("vigil_notification_delay_seconds", "From the transition to the successful delivery.")
                    .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0]),
                &["channel"],
            )
            .unwrap(),
            breakers_open: IntGaugeVec::new(Opts::new("vigil_notify_breakers_open", "Notification targets whose circuit breaker is open, by channel."), &["channel"]).unwrap(),
            outbox_pending: IntGauge::new("vigil_notify_outbox_pending", "Notifications waiting in the outbox.").unwrap(),
        }
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.rules.clone()),
            Box::new(self.leases_held.clone()),
            Box::new(self.evaluations.clone()),
            Box::new(self.evaluation_failures.clone()),
            Box::new(self.round_seconds.clone()),
            Box::new(self.lag_seconds.clone()),
            Box::new(self.missed_intervals.clone()),
            Box::new(self.transitions.clone()),
            Box::new(self.notifications.clone()),
            Box::new(self.notification_delay_seconds.clone()),
            Box::new(self.breakers_open.clone()),
            Box::new(self.outbox_pending.clone()),
        ]
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let latency_buckets = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let m = Metrics {
            ingest_points: IntCounterVec::new(
                Opts::new("vigil_ingest_points_total", "Points received, by result and rejection reason."),
                &[LABEL_RESULT, LABEL_REASON],
            )
            .unwrap(),
            ingest_requests_rejected: IntCounterVec::new(
                Opts::new("vigil_ingest_requests_rejected_total", "Ingest requests refused whole, by reason."),
                &[LABEL_REASON],
            )
            .unwrap(),
            ingest_request_seconds: Histogram::with_opts(
                HistogramOpts::new("vigil_ingest_request_duration_seconds", "Ingest request latency, broker confirm included.")
                    .buckets(latency_buckets.clone()),
            )
            .unwrap(),
            ingest_series_limited: IntCounterVec::new(
                Opts::new("vigil_ingest_series_limited_points_total", "Points refused because they would create a series over a cardinality cap, by cap (per_metric, per_window, per_key_window)."),
                &["limit"],
            )
            .unwrap(),
            ingest_messages_published: IntCounter::new(
                "vigil_ingest_messages_published_total",
                "Envelopes published and confirmed by the broker.",
            )
            .unwrap(),
            writer_batch_points: Histogram::with_opts(
                HistogramOpts::new("vigil_writer_batch_points", "Points per committed writer batch.")
                    .buckets(vec![10.0, 100.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 25000.0, 50000.0]),
            )
            .unwrap(),
            writer_commit_seconds: Histogram::with_opts(
                HistogramOpts::new("vigil_writer_commit_duration_seconds", "Time to resolve series, COPY and commit one batch.")
                    .buckets(latency_buckets.clone()),
            )
            .unwrap(),
            writer_stage_seconds: CounterVec::new(
                Opts::new(
                    "vigil_writer_stage_seconds_total",
                    "Time the writers spent in each stage of their batches: series_cache, series_redis, series_upsert, copy (batch ids and COPY), dirty_log, commit, generations.",
                ),
                &["stage"],
            )
            .unwrap(),
            writer_points_written: IntCounter::new("vigil_writer_points_written_total", "Points committed to PostgreSQL.").unwrap(),
            writer_duplicate_batches: IntCounter::new(
                "vigil_writer_duplicate_batches_total",
                "Redelivered or retried envelopes skipped because their batch id was already committed.",
            )
            .unwrap(),
            writer_dead_lettered: IntCounter::new(
                "vigil_writer_dead_lettered_total",
                "Poison messages sent to the dead-letter queue.",
            )
            .unwrap(),
            writer_retries: IntCounter::new("vigil_writer_retries_total", "Batch writes retried after a transient error.").unwrap(),
            queue_depth_messages: IntGauge::new("vigil_queue_depth_messages", "Messages waiting in the ingest queue.").unwrap(),
            query_seconds: HistogramVec::new(
                HistogramOpts::new("vigil_query_duration_seconds", "Query latency, by whether the cache answered.")
                    .buckets(latency_buckets),
                &["cached"],
            )
            .unwrap(),
            cache_hits: IntCounterVec::new(Opts::new("vigil_cache_hits_total", "Cache hits."), &[LABEL_CACHE]).unwrap(),
            cache_misses: IntCounterVec::new(Opts::new("vigil_cache_misses_total", "Cache misses."), &[LABEL_CACHE]).unwrap(),
            cache_bypassed: IntCounter::new(
                "vigil_cache_bypassed_total",
                "Cache operations skipped because Redis was unreachable.",
            )
            .unwrap(),
            query_breaker_open: IntGauge::new("vigil_query_breaker_open", "1 while the query circuit breaker is open.").unwrap(),
            auth_logins: IntCounterVec::new(
                Opts::new("vigil_auth_logins_total", "Login attempts, by result (ok, failed, limited)."),
                &[LABEL_RESULT],
            )
            .unwrap(),
            rate_limited: IntCounterVec::new(
                Opts::new("vigil_rate_limited_requests_total", "Requests refused by a rate limit, by scope."),
                &["scope"],
            )
            .unwrap(),
            actor_restarts: IntCounterVec::new(
                Opts::new("vigil_actor_restarts_total", "Actor restarts by the supervisor."),
                &[LABEL_ACTOR],
            )
            .unwrap(),
            db_pool_connections: IntGaugeVec::new(
                Opts::new("vigil_db_pool_connections", "PostgreSQL pool connections by state."),
                &[LABEL_STATE],
            )
            .unwrap(),
            dependency_up: IntGaugeVec::new(
                Opts::new("vigil_dependency_up", "1 when the last health check reached the dependency."),
                &[LABEL_DEPENDENCY],
            )
            .unwrap(),
            partitions_created: IntCounter::new("vigil_partitions_created_total", "Time partitions created.").unwrap(),
            partitions_dropped: IntCounter::new("vigil_partitions_dropped_total", "Expired time partitions dropped by retention.").unwrap(),
            retention_last_run_timestamp: IntGauge::new(
                "vigil_retention_last_run_timestamp_seconds",
                "When the retention actor last finished a round (Unix time).",
            )
            .unwrap(),
            rollup_buckets: IntCounterVec::new(
                Opts::new("vigil_rollup_buckets_total", "Rollup buckets (re)computed, by tier."),
                &["tier"],
            )
            .unwrap(),
            rollup_lag_seconds: IntGaugeVec::new(
                Opts::new("vigil_rollup_lag_seconds", "How far behind now each rollup tier is complete."),
                &["tier"],
            )
            .unwrap(),
            alerting: AlertMetrics::new(),
            compaction: CompactionMetrics::new(),
            rollup_compaction: RollupCompactionMetrics::new(),
            registry,
        };
        m.register_all();
        m
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.ingest_points.clone()),
            Box::new(self.ingest_requests_rejected.clone()),
            Box::new(self.ingest_request_seconds.clone()),
            Box::new(self.ingest_messages_published.clone()),
            Box::new(self.ingest_series_limited.clone()),
            Box::new(self.writer_batch_points.clone()),
            Box::new(self.writer_commit_seconds.clone()),
            Box::new(self.writer_stage_seconds.clone()),
            Box::new(self.writer_points_written.clone()),
            Box::new(self.writer_duplicate_batches.clone()),
            Box::new(self.writer_dead_lettered.clone()),
            Box::new(self.writer_retries.clone()),
            Box::new(self.queue_depth_messages.clone()),
            Box::new(self.query_seconds.clone()),
            Box::new(self.cache_hits.clone()),
            Box::new(self.cache_misses.clone()),
            Box::new(self.cache_bypassed.clone()),
            Box::new(self.auth_logins.clone()),
            Box::new(self.rate_limited.clone()),
            Box::new(self.query_breaker_open.clone()),
            Box::new(self.actor_restarts.clone()),
            Box::new(self.db_pool_connections.clone()),
            Box::new(self.dependency_up.clone()),
            Box::new(self.partitions_created.clone()),
            Box::new(self.partitions_dropped.clone()),
            Box::new(self.retention_last_run_timestamp.clone()),
            Box::new(self.rollup_buckets.clone()),
            Box::new(self.rollup_lag_seconds.clone()),
        ];
        let collectors = collectors
            .into_iter()
            .chain(self.alerting.collectors())
            .chain(self.compaction.collectors())
            .chain(self.rollup_compaction.collectors());
        for collector in collectors {
            self.registry
                .register(collector)
                .expect("metric names are unique");
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        // Readers anywhere in the process count decode errors in one place.
        let seen = crate::store::samples::decode_errors();
        let counted = self.compaction.decode_errors.get();
        if seen > counted {
            self.compaction.decode_errors.inc_by(seen - counted);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into a Vec does not fail");
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
