//! Typed settings. `config/default.toml` (compiled in, so the binary runs without the
//! file on disk) is the base layer, then an optional `--config FILE`, then environment
//! variables `VIGIL__SECTION__KEY`. Unknown keys are an error, and `validate` rejects
//! zero or absurd values before anything starts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// The compiled-in defaults; a unit test checks they equal `Settings::default()`.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not read configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub redis: RedisSettings,
    pub actors: ActorSettings,
    pub ingest: IngestSettings,
    pub query: QuerySettings,
    pub rollup: RollupSettings,
    pub retention: RetentionSettings,
    pub alerts: AlertSettings,
    pub notify: NotifySettings,
    pub auth: AuthSettings,
    pub dashboards: DashboardSettings,
    #[serde(default)]
    pub compaction: CompactionSettings,
    #[serde(default)]
    pub maintenance: MaintenanceSettings,
    #[serde(default)]
    pub rollup_compaction: RollupCompactionSettings,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    pub workers: usize,
    pub max_body_bytes: usize,
    pub max_decompressed_bytes: usize,
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// A built web UI on disk served instead of the embedded one; empty: embedded.
    #[serde(default)]
    pub ui_dir: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// A pooled connection idle at least this long is pinged before it is handed out.
    #[serde(with = "humantime_serde")]
    pub ping_idle_after: Duration,
    pub partitions_ahead_days: u32,
    #[serde(with = "humantime_serde")]
    pub maintenance_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub dedup_retention: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    pub url: String,
    pub ingest_queue: String,
    pub dead_letter_queue: String,
    pub dead_letter_exchange: String,
    pub prefetch: u16,
    pub max_queue_length: u32,
    #[serde(with = "humantime_serde")]
    pub confirm_timeout: Duration,
    pub retry_after_secs: u32,
    #[serde(with = "humantime_serde")]
    pub reconnect_min: Duration,
    #[serde(with = "humantime_serde")]
    pub reconnect_max: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
    #[serde(with = "humantime_serde")]
    pub series_cache_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub reconnect_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSettings {
    pub ingest_pool: usize,
    pub writer_pool: usize,
    pub query_pool: usize,
    pub notifier_pool: usize,
    pub mailbox_capacity: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    pub batch_size: usize,
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    pub max_points_per_request: usize,
    pub max_inflight_requests: usize,
    pub max_points_per_message: usize,
    pub max_tags: usize,
    pub max_name_len: usize,
    pub max_tag_key_len: usize,
    pub max_tag_value_len: usize,
    pub reject_tag_keys: Vec<String>,
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    #[serde(with = "humantime_serde")]
    pub max_future: Duration,
    pub series_cache_capacity: usize,
    #[serde(with = "humantime_serde")]
    pub retry_min: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    pub max_series_per_metric: u64,
    pub max_new_series_per_window: u64,
    pub max_new_series_per_key: u64,
    #[serde(with = "humantime_serde")]
    pub new_series_window: Duration,
    #[serde(with = "humantime_serde")]
    pub series_count_refresh: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySettings {
    #[serde(with = "humantime_serde")]
    pub cache_ttl_live: Duration,
    #[serde(with = "humantime_serde")]
    pub cache_ttl_historical: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub target_buckets: u32,
    pub max_buckets: u32,
    #[serde(with = "humantime_serde")]
    pub max_range: Duration,
    pub max_series: u32,
    pub breaker_failures: u32,
    /// Most queries one `POST /api/v1/query/batch` may carry.
    pub max_batch_queries: u32,
    #[serde(with = "humantime_serde")]
    pub breaker_open_for: Duration,
    /// PromQL: most samples one query may load.
    pub max_samples: u64,
    /// PromQL: how far back an instant selector looks for a sample.
    #[serde(with = "humantime_serde")]
    pub lookback_delta: Duration,
    /// PromQL: most series one selector may match.
    pub max_selector_series: u32,
    /// Cost of decoding one point of a compressed raw block, in rows read from
    /// PostgreSQL: the planner answers from blocks instead of a rollup tier when that
    /// reads less.
    pub block_point_cost: f64,
    pub catalog_page_max: u32,
    pub catalog_values_max: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupSettings {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
    pub max_buckets_per_round: u32,
    pub recompute_series_chunk: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    #[serde(with = "humantime_serde")]
    pub raw: Duration,
    #[serde(with = "humantime_serde")]
    pub rollup_1m: Duration,
    #[serde(with = "humantime_serde")]
    pub rollup_1h: Duration,
    #[serde(with = "humantime_serde")]
    pub drop_timeout: Duration,
}

/// The compressed raw tier (see `actors::compactor`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompactionSettings {
    pub enabled: bool,
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    pub level: usize,
    /// Encoding tasks of one range run at once on the blocking pool.
    pub encode_tasks: usize,
    /// Raw points a second a compaction reads at most; 0: no budget.
    pub points_per_second: u64,
    pub max_ranges_per_round: u32,
    pub merge_series_per_transaction: u32,
    #[serde(with = "humantime_serde")]
    pub drop_raw_after: Duration,
    #[serde(with = "humantime_serde")]
    pub drop_timeout: Duration,
}

impl Default for CompactionSettings {
    fn default() -> Self {
        CompactionSettings {
            enabled: true,
            after: Duration::from_secs(10 * 60),
            interval: Duration::from_secs(60),
            level: 4,
            encode_tasks: 2,
            points_per_second: 0,
            max_ranges_per_round: 24,
            merge_series_per_transaction: 5000,
            drop_raw_after: Duration::from_secs(60),
            drop_timeout: Duration::from_secs(30),
        }
    }
}

/// The compressed rollup tiers (see `actors::rollup_compactor`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupCompactionSettings {
    pub enabled: bool,
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    pub level: usize,
    pub max_days_per_round: u32,
    pub series_per_batch: u32,
    #[serde(with = "humantime_serde")]
    pub drop_rows_after: Duration,
    #[serde(with = "humantime_serde")]
    pub lock_timeout: Duration,
}

impl Default for RollupCompactionSettings {
    fn default() -> Self {
        RollupCompactionSettings {
            enabled: true,
            after: Duration::from_secs(2 * 3600),
            interval: Duration::from_secs(5 * 60),
            level: 4,
            max_days_per_round: 2,
            series_per_batch: 5000,
            drop_rows_after: Duration::from_secs(60),
            lock_timeout: Duration::from_secs(2),
        }
    }
}

/// Vigil's own upkeep of the tables it churns (see `actors::maintenance`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSettings {
    pub enabled: bool,
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    pub vacuum_dead_rows: u64,
    pub vacuum_dead_fraction: f64,
    #[serde(with = "humantime_serde")]
    pub vacuum_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub lock_timeout: Duration,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        MaintenanceSettings {
            enabled: true,
            interval: Duration::from_secs(60),
            vacuum_dead_rows: 1000,
            vacuum_dead_fraction: 0.1,
            vacuum_timeout: Duration::from_secs(10 * 60),
            lock_timeout: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    #[serde(with = "humantime_serde")]
    pub evaluation_interval: Duration,
    // --- alerting ---
    #[serde(with = "humantime_serde")]
    pub min_window: Duration,
    #[serde(with = "humantime_serde")]
    pub slice_width: Duration,
    pub read_work_mem_kb: u32,
    #[serde(with = "humantime_serde")]
    pub recent: Duration,
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
    #[serde(with = "humantime_serde")]
    pub max_window: Duration,
    #[serde(with = "humantime_serde")]
    pub max_duration: Duration,
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub lease_renew_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub evaluation_timeout: Duration,
    pub max_rules: u32,
    pub history_page_max: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    pub smtp_url: String,
    pub smtp_from: String,
    #[serde(with = "humantime_serde")]
    pub webhook_timeout: Duration,
    pub allow_private_targets: bool,
    pub ca_file: String,
    // --- alerting ---
    pub external_url: String,
    #[serde(with = "humantime_serde")]
    pub smtp_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub outbox_poll_interval: Duration,
    pub outbox_batch: u32,
    #[serde(with = "humantime_serde")]
    pub claim_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_min: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    #[serde(with = "humantime_serde")]
    pub give_up_after: Duration,
    pub breaker_failures: u32,
    #[serde(with = "humantime_serde")]
    pub breaker_open_for: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub admin_email: String,
    pub admin_password: String,
    pub require_ingest_key: bool,
    #[serde(with = "humantime_serde")]
    pub session_idle_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub session_absolute_timeout: Duration,
    pub cookie_secure: bool,
    pub allowed_origins: Vec<String>,
    #[serde(with = "humantime_serde")]
    pub credential_cache_ttl: Duration,
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_ip: u32,
    #[serde(with = "humantime_serde")]
    pub login_window: Duration,
    pub ingest_requests_per_key: u32,
    pub ingest_requests_per_ip: u32,
    #[serde(with = "humantime_serde")]
    pub ingest_rate_window: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSettings {
    pub max_panels: usize,
    pub max_page_size: usize,
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            http: HttpSettings {
                addr: "127.0.0.1:8080".parse().expect("literal address"),
                workers: 2,
                max_body_bytes: 10 * 1024 * 1024,
                max_decompressed_bytes: 50 * 1024 * 1024,
                shutdown_grace: 30 * SECOND,
                ui_dir: String::new(),
            },
            database: DatabaseSettings {
                url: "postgres://postgres@127.0.0.1:5432/vigil".into(),
                max_connections: 16,
                acquire_timeout: 5 * SECOND,
                ping_idle_after: SECOND,
                partitions_ahead_days: 3,
                maintenance_interval: 10 * MINUTE,
                dedup_retention: 2 * DAY,
            },
            amqp: AmqpSettings {
                url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
                ingest_queue: "metrics.ingest".into(),
                dead_letter_queue: "metrics.dlq".into(),
                dead_letter_exchange: "metrics.dlx".into(),
                prefetch: 64,
                max_queue_length: 200_000,
                confirm_timeout: 5 * SECOND,
                retry_after_secs: 5,
                reconnect_min: Duration::from_millis(200),
                reconnect_max: 10 * SECOND,
            },
            redis: RedisSettings {
                url: "redis://127.0.0.1:6379/0".into(),
                key_prefix: "vigil:".into(),
                series_cache_ttl: DAY,
                timeout: Duration::from_millis(250),
                reconnect_interval: 2 * SECOND,
            },
            actors: ActorSettings {
                ingest_pool: 2,
                writer_pool: 2,
                query_pool: 2,
                notifier_pool: 2,
                mailbox_capacity: 256,
            },
            ingest: IngestSettings {
                batch_size: 5000,
                flush_interval: SECOND,
                max_points_per_request: 50_000,
                max_inflight_requests: 64,
                max_points_per_message: 5000,
                max_tags: 16,
                max_name_len: 200,
                max_tag_key_len: 100,
                max_tag_value_len: 200,
                reject_tag_keys: ["request_id", "trace_id", "span_id", "uuid", "timestamp"]
                    .map(String::from)
                    .to_vec(),
                max_age: 7 * DAY,
                max_future: 10 * MINUTE,
                series_cache_capacity: 2_000_000,
                retry_min: Duration::from_millis(100),
                retry_max: 10 * SECOND,
                max_series_per_metric: 2_000_000,
                max_new_series_per_window: 2_000_000,
                max_new_series_per_key: 1_000_000,
                new_series_window: 60 * MINUTE,
                series_count_refresh: 10 * SECOND,
            },
            query: QuerySettings {
                cache_ttl_live: 10 * SECOND,
                cache_ttl_historical: 300 * SECOND,
                timeout: 10 * SECOND,
                target_buckets: 1500,
                max_buckets: 11_000,
                max_range: 400 * DAY,
                max_series: 500,
                max_batch_queries: 50,
                breaker_failures: 5,
                breaker_open_for: 10 * SECOND,
                max_samples: 20_000_000,
                lookback_delta: 5 * MINUTE,
                max_selector_series: 100_000,
                block_point_cost: 0.05,
                catalog_page_max: 1000,
                catalog_values_max: 1000,
            },
            rollup: RollupSettings {
                interval: 5 * SECOND,
                settle: 30 * SECOND,
                max_buckets_per_round: 120,
                recompute_series_chunk: 50_000,
            },
            retention: RetentionSettings {
                raw: 7 * DAY,
                rollup_1m: 30 * DAY,
                rollup_1h: 365 * DAY,
                drop_timeout: 30 * SECOND,
            },
            alerts: AlertSettings {
                evaluation_interval: 10 * SECOND,
                min_window: MINUTE,
                slice_width: SECOND,
                read_work_mem_kb: 65_536,
                recent: 2 * SECOND,
                settle: 10 * SECOND,
                max_window: DAY,
                max_duration: DAY,
                lease_ttl: 30 * SECOND,
                lease_renew_interval: 10 * SECOND,
                evaluation_timeout: 30 * SECOND,
                max_rules: 10_000,
                history_page_max: 1000,
            },
            notify: NotifySettings {
                smtp_url: "smtp://127.0.0.1:25".into(),
                smtp_from: "vigil@localhost".into(),
                webhook_timeout: 5 * SECOND,
                allow_private_targets: false,
                ca_file: String::new(),
                external_url: "http://127.0.0.1:8080".into(),
                smtp_timeout: 10 * SECOND,
                outbox_poll_interval: SECOND,
                outbox_batch: 16,
                claim_ttl: MINUTE,
                retry_min: SECOND,
                retry_max: 5 * MINUTE,
                give_up_after: DAY,
                breaker_failures: 5,
                breaker_open_for: 30 * SECOND,
            },
            auth: AuthSettings {
                admin_email: "admin@localhost".into(),
                admin_password: String::new(),
                require_ingest_key: false,
                session_idle_timeout: DAY,
                session_absolute_timeout: 7 * DAY,
                cookie_secure: false,
                allowed_origins: Vec::new(),
                credential_cache_ttl: MINUTE,
                login_max_failures_per_account: 5,
                login_max_failures_per_ip: 20,
                login_window: 15 * MINUTE,
                ingest_requests_per_key: 6000,
                ingest_requests_per_ip: 6000,
                ingest_rate_window: MINUTE,
            },
            dashboards: DashboardSettings {
                max_panels: 100,
                max_page_size: 200,
                cache_ttl: 5 * MINUTE,
            },
            compaction: CompactionSettings::default(),
            maintenance: MaintenanceSettings::default(),
            rollup_compaction: RollupCompactionSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults, then `file` if given, then `VIGIL__SECTION__KEY` variables; validated.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let settings: Settings = builder
            .add_source(
                config::Environment::with_prefix("VIGIL")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("ingest.reject_tag_keys"),
            )
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Rejects values that would make the server misbehave rather than fail loudly.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let mut positive = |name: &str, value: u64| {
            if value == 0 {
                problems.push(format!("{name} must be greater than zero"));
            }
        };
        positive("http.workers", self.http.workers as u64);
        positive("http.max_body_bytes", self.http.max_body_bytes as u64);
        positive(
            "http.max_decompressed_bytes",
            self.http.max_decompressed_bytes as u64,
        );
        positive(
            "database.max_connections",
            self.database.max_connections as u64,
        );
        positive("amqp.prefetch", self.amqp.prefetch as u64);
        positive("amqp.max_queue_length", self.amqp.max_queue_length as u64);
        positive("actors.ingest_pool", self.actors.ingest_pool as u64);
        positive("actors.writer_pool", self.actors.writer_pool as u64);
        positive("actors.query_pool", self.actors.query_pool as u64);
        positive("actors.notifier_pool", self.actors.notifier_pool as u64);
        positive(
            "actors.mailbox_capacity",
            self.actors.mailbox_capacity as u64,
        );
        positive("ingest.batch_size", self.ingest.batch_size as u64);
        positive(
            "ingest.max_points_per_request",
            self.ingest.max_points_per_request as u64,
        );
        positive(
            "ingest.max_points_per_message",
            self.ingest.max_points_per_message as u64,
        );
        positive(
            "ingest.max_inflight_requests",
            self.ingest.max_inflight_requests as u64,
        );
        positive("ingest.max_name_len", self.ingest.max_name_len as u64);
        positive("ingest.max_tag_key_len", self.ingest.max_tag_key_len as u64);
        positive(
            "ingest.max_tag_value_len",
            self.ingest.max_tag_value_len as u64,
        );
        positive(
            "ingest.series_cache_capacity",
            self.ingest.series_cache_capacity as u64,
        );
        positive("query.target_buckets", self.query.target_buckets as u64);
        positive("query.max_buckets", self.query.max_buckets as u64);
        positive("query.breaker_failures", self.query.breaker_failures as u64);
        positive("query.max_series", self.query.max_series as u64);
        positive("query.max_samples", self.query.max_samples);
        positive(
            "query.max_selector_series",
            self.query.max_selector_series as u64,
        );
        positive(
            "query.max_batch_queries",
            self.query.max_batch_queries as u64,
        );
        positive("query.catalog_page_max", self.query.catalog_page_max as u64);
        positive(
            "query.catalog_values_max",
            self.query.catalog_values_max as u64,
        );
        positive("dashboards.max_panels", self.dashboards.max_panels as u64);
        positive(
            "compaction.encode_tasks",
            self.compaction.encode_tasks as u64,
        );
        positive(
            "dashboards.max_page_size",
            self.dashboards.max_page_size as u64,
        );
        positive(
            "auth.login_max_failures_per_account",
            self.auth.login_max_failures_per_account as u64,
        );
        positive(
            "auth.login_max_failures_per_ip",
            self.auth.login_max_failures_per_ip as u64,
        );
        positive(
            "auth.ingest_requests_per_key",
            self.auth.ingest_requests_per_key as u64,
        );
        positive(
            "auth.ingest_requests_per_ip",
            self.auth.ingest_requests_per_ip as u64,
        );
        positive(
            "rollup.max_buckets_per_round",
            self.rollup.max_buckets_per_round as u64,
        );
        positive(
            "rollup.recompute_series_chunk",
            self.rollup.recompute_series_chunk as u64,
        );
        positive(
            "rollup_compaction.max_days_per_round",
            self.rollup_compaction.max_days_per_round as u64,
        );
        positive(
            "rollup_compaction.series_per_batch",
            self.rollup_compaction.series_per_batch as u64,
        );
        let durations = [
            ("http.shutdown_grace", self.http.shutdown_grace),
            ("database.acquire_timeout", self.database.acquire_timeout),
            (
                "database.maintenance_interval",
                self.database.maintenance_interval,
            ),
            ("database.dedup_retention", self.database.dedup_retention),
            ("amqp.confirm_timeout", self.amqp.confirm_timeout),
            ("amqp.reconnect_min", self.amqp.reconnect_min),
            ("amqp.reconnect_max", self.amqp.reconnect_max),
            ("redis.series_cache_ttl", self.redis.series_cache_ttl),
            ("redis.timeout", self.redis.timeout),
            ("redis.reconnect_interval", self.redis.reconnect_interval),
            ("ingest.flush_interval", self.ingest.flush_interval),
            ("ingest.max_age", self.ingest.max_age),
            ("ingest.max_future", self.ingest.max_future),
            ("ingest.retry_min", self.ingest.retry_min),
            ("ingest.retry_max", self.ingest.retry_max),
            ("ingest.new_series_window", self.ingest.new_series_window),
            (
                "ingest.series_count_refresh",
                self.ingest.series_count_refresh,
            ),
            ("query.cache_ttl_live", self.query.cache_ttl_live),
            (
                "query.cache_ttl_historical",
                self.query.cache_ttl_historical,
            ),
            ("query.timeout", self.query.timeout),
            ("query.max_range", self.query.max_range),
            ("query.breaker_open_for", self.query.breaker_open_for),
            ("query.lookback_delta", self.query.lookback_delta),
            ("rollup.interval", self.rollup.interval),
            ("rollup.settle", self.rollup.settle),
            ("retention.raw", self.retention.raw),
            ("retention.rollup_1m", self.retention.rollup_1m),
            ("retention.rollup_1h", self.retention.rollup_1h),
            ("retention.drop_timeout", self.retention.drop_timeout),
            ("auth.session_idle_timeout", self.auth.session_idle_timeout),
            (
                "auth.session_absolute_timeout",
                self.auth.session_absolute_timeout,
            ),
            ("auth.credential_cache_ttl", self.auth.credential_cache_ttl),
            ("auth.login_window", self.auth.login_window),
            ("auth.ingest_rate_window", self.auth.ingest_rate_window),
            ("dashboards.cache_ttl", self.dashboards.cache_ttl),
            (
                "alerts.evaluation_interval",
                self.alerts.evaluation_interval,
            ),
            ("notify.webhook_timeout", self.notify.webhook_timeout),
            // --- alerting ---
            ("alerts.min_window", self.alerts.min_window),
            ("alerts.slice_width", self.alerts.slice_width),
            ("alerts.recent", self.alerts.recent),
            ("alerts.settle", self.alerts.settle),
            ("alerts.max_window", self.alerts.max_window),
            ("alerts.max_duration", self.alerts.max_duration),
            ("alerts.lease_ttl", self.alerts.lease_ttl),
            (
                "alerts.lease_renew_interval",
                self.alerts.lease_renew_interval,
            ),
            ("alerts.evaluation_timeout", self.alerts.evaluation_timeout),
            ("notify.smtp_timeout", self.notify.smtp_timeout),
            (
                "notify.outbox_poll_interval",
                self.notify.outbox_poll_interval,
            ),
            ("notify.claim_ttl", self.notify.claim_ttl),
            ("notify.retry_min", self.notify.retry_min),
            ("notify.retry_max", self.notify.retry_max),
            ("notify.give_up_after", self.notify.give_up_after),
            ("notify.breaker_open_for", self.notify.breaker_open_for),
            ("maintenance.interval", self.maintenance.interval),
            (
                "maintenance.vacuum_timeout",
                self.maintenance.vacuum_timeout,
            ),
            ("maintenance.lock_timeout", self.maintenance.lock_timeout),
            ("rollup_compaction.after", self.rollup_compaction.after),
            (
                "rollup_compaction.interval",
                self.rollup_compaction.interval,
            ),
            (
                "rollup_compaction.drop_rows_after",
                self.rollup_compaction.drop_rows_after,
            ),
            (
                "rollup_compaction.lock_timeout",
                self.rollup_compaction.lock_timeout,
            ),
        ];
        if self.rollup_compaction.level > 12 {
            problems.push("rollup_compaction.level must be between 0 and 12".into());
        }
        let fraction = self.maintenance.vacuum_dead_fraction;
        if !(0.0..=1.0).contains(&fraction) {
            problems.push("maintenance.vacuum_dead_fraction must be between 0 and 1".into());
        }
        for (name, value) in durations {
            if value.is_zero() {
                problems.push(format!("{name} must be longer than zero"));
            }
        }
        if self.http.max_decompressed_bytes < self.http.max_body_bytes {
            problems.push("http.max_decompressed_bytes must be >= http.max_body_bytes".into());
        }
        if !(self.query.block_point_cost.is_finite() && self.query.block_point_cost > 0.0) {
            problems.push("query.block_point_cost must be a positive number".to_string());
        }
        if self.ingest.max_points_per_message > self.ingest.max_points_per_request {
            problems.push(
                "ingest.max_points_per_message must be <= ingest.max_points_per_request".into(),
            );
        }
        if self.ingest.max_age > self.retention.raw {
            problems.push(
                "ingest.max_age must not exceed retention.raw (such points would be dropped at once)"
                    .into(),
            );
        }
        if self.retention.rollup_1m < self.retention.raw
            || self.retention.rollup_1h < self.retention.rollup_1m
        {
            problems.push(
                "retention must not shrink from tier to tier (raw <= rollup_1m <= rollup_1h)"
                    .into(),
            );
        }
        if self.amqp.reconnect_min > self.amqp.reconnect_max {
            problems.push("amqp.reconnect_min must be <= amqp.reconnect_max".into());
        }
        if self.ingest.retry_min > self.ingest.retry_max {
            problems.push("ingest.retry_min must be <= ingest.retry_max".into());
        }
        if self.query.max_buckets < self.query.target_buckets {
            problems.push("query.max_buckets must be >= query.target_buckets".into());
        }
        if self.actors.ingest_pool > 64
            || self.actors.writer_pool > 64
            || self.actors.query_pool > 64
        {
            problems.push("actor pools above 64 are not supported".into());
        }
        if self.amqp.ingest_queue.is_empty() || self.amqp.dead_letter_queue.is_empty() {
            problems.push("amqp queue names must not be empty".into());
        }
        self.validate_alerting(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::Invalid(problems.join("; ")))
        }
    }

    /// Alerting: the lease must outlive several renewals, or a busy instance
    /// would lose its rules between two renewals; notifications need sane bounds.
    fn validate_alerting(&self, problems: &mut Vec<String>) {
        let (a, n) = (&self.alerts, &self.notify);
        if a.lease_renew_interval * 2 > a.lease_ttl {
            problems.push(
                "alerts.lease_renew_interval must be at most half of alerts.lease_ttl".into(),
            );
        }
        if a.min_window > a.max_window {
            problems.push("alerts.min_window must be <= alerts.max_window".into());
        }
        if a.read_work_mem_kb < 64 {
            problems
                .push("alerts.read_work_mem_kb must be at least 64 (PostgreSQL's minimum)".into());
        }
        if a.recent > a.settle {
            problems.push("alerts.recent must be <= alerts.settle".into());
        }
        if a.slice_width > a.evaluation_interval || a.slice_width.subsec_micros() % 1000 != 0 {
            problems.push(
                "alerts.slice_width must be whole milliseconds and at most alerts.evaluation_interval"
                    .into(),
            );
        }
        if a.max_window > self.retention.raw {
            problems.push(
                "alerts.max_window must not exceed retention.raw (rules read raw points)".into(),
            );
        }
        if a.max_rules == 0 || a.history_page_max == 0 {
            problems.push(
                "alerts.max_rules and alerts.history_page_max must be greater than zero".into(),
            );
        }
        if n.outbox_batch == 0 || n.outbox_batch > 1000 {
            problems.push("notify.outbox_batch must be between 1 and 1000".into());
        }
        if n.breaker_failures == 0 {
            problems.push("notify.breaker_failures must be greater than zero".into());
        }
        if n.retry_min > n.retry_max {
            problems.push("notify.retry_min must be <= notify.retry_max".into());
        }
        if n.claim_ttl <= n.webhook_timeout.max(n.smtp_timeout) {
            problems.push("notify.claim_ttl must be longer than notify.webhook_timeout and notify.smtp_timeout (a claim must outlive one delivery)".into());
        }
        if url::Url::parse(&n.external_url).is_err() {
            problems.push("notify.external_url must be an absolute URL".into());
        }
        if n.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push("notify.smtp_from must be an email address".into());
        }
        match url::Url::parse(&n.smtp_url) {
            Ok(url) if matches!(url.scheme(), "smtp" | "smtps") && url.host_str().is_some() => {}
            _ => problems
                .push("notify.smtp_url must be an smtp:// or smtps:// URL with a host".into()),
        }
    }

    /// A copy safe to print: passwords in URLs and the admin password are replaced.
    pub fn redacted(&self) -> Settings {
        let mut copy = self.clone();
        copy.database.url = redact_url(&copy.database.url);
        copy.notify.smtp_url = redact_url(&copy.notify.smtp_url);
        copy.amqp.url = redact_url(&copy.amqp.url);
        copy.redis.url = redact_url(&copy.redis.url);
        if !copy.auth.admin_password.is_empty() {
            copy.auth.admin_password = REDACTED.into();
        }
        copy
    }

    /// The database name in `database.url`, used to create it when missing.
    pub fn database_name(&self) -> Option<String> {
        let without_query = self.database.url.split('?').next()?;
        let name = without_query.rsplit('/').next()?;
        (!name.is_empty() && !name.contains('@')).then(|| name.to_string())
    }
}

const REDACTED: &str = "<redacted>";

/// The URL with its password replaced (an unparseable one with credentials in it
/// entirely), so no secret survives a `vigil config`.
fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some(REDACTED));
            }
            url.to_string()
        }
        Err(_) if text.contains('@') => REDACTED.into(),
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_and_smtps_urls_are_accepted_and_others_refused() {
        for good in [
            "smtp://127.0.0.1:25",
            "smtps://mail.example.com:465",
            "smtp://relay?tls=required",
        ] {
            let mut settings = Settings::default();
            settings.notify.smtp_url = good.into();
            assert!(
                settings.validate().is_ok(),
                "{good}: {:?}",
                settings.validate()
            );
        }
        for bad in ["mail.example.com", "http://mail.example.com", "smtps://"] {
            let mut settings = Settings::default();
            settings.notify.smtp_url = bad.into();
            let message = settings.validate().unwrap_err().to_string();
            assert!(message.contains("notify.smtp_url"), "{bad}: {message}");
        }
    }

    #[test]
    fn redaction_removes_every_password_and_keeps_the_rest() {
        let mut settings = Settings::default();
        settings.database.url = "postgres://vigil:db-secret@db.example.com:5432/vigil".into();
        settings.notify.smtp_url = "smtps://alerts:mail-secret@mail.example.com:465".into();
        settings.auth.admin_password = "admin-secret".into();
        let printed = format!("{:#?}", settings.redacted());
        for secret in ["db-secret", "mail-secret", "admin-secret"] {
            assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        }
        assert!(
            printed.contains("postgres://vigil:<redacted>@db.example.com:5432/vigil")
                || printed.contains("postgres://vigil:%3Credacted%3E@db.example.com:5432/vigil"),
            "{printed}"
        );
        assert!(printed.contains("mail.example.com:465"), "{printed}");
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn default_toml_matches_code_defaults() {
        let from_file: Settings = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_TOML,
                config::FileFormat::Toml,
            ))
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        assert_eq!(from_file, Settings::default());
        Settings::default().validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let extra = format!("{DEFAULT_TOML}\n[ingest_typo]\nbatch = 1\n");
        let result: Result<Settings, _> = config::Config::builder()
            .add_source(config::File::from_str(&extra, config::FileFormat::Toml))
            .build()
            .unwrap()
            .try_deserialize();
        assert!(result.is_err(), "a misspelled section must not be ignored");
    }

    #[test]
    fn zero_and_inconsistent_values_are_rejected() {
        let mut settings = Settings::default();
        settings.ingest.batch_size = 0;
        settings.query.timeout = Duration::ZERO;
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("ingest.batch_size"), "{message}");
        assert!(message.contains("query.timeout"), "{message}");
    }

    #[test]
    fn database_name_is_taken_from_the_url() {
        let mut settings = Settings::default();
        assert_eq!(settings.database_name().as_deref(), Some("vigil"));
        settings.database.url = "postgres://u@h:5432/other?sslmode=disable".into();
        assert_eq!(settings.database_name().as_deref(), Some("other"));
    }
}
