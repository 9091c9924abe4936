//! Typed settings of the agent: `config/agent.toml` (compiled in, so the documented
//! file *is* the defaults), then an optional file, then `VIGIL_AGENT__SECTION__KEY`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::point::{is_valid_tag_key, Tags};

/// The documented defaults; also the base layer of every load.
pub const DEFAULT_TOML: &str = include_str!("../config/agent.toml");

/// Why the settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    pub server: ServerSettings,
    pub collect: CollectSettings,
    pub delivery: DeliverySettings,
    pub buffer: BufferSettings,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub host: HostSettings,
    pub scrape: ScrapeSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub url: String,
    #[serde(default)]
    pub ingest_key: String,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectSettings {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    pub batch_size: usize,
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferSettings {
    pub memory_max_points: usize,
    /// Empty: no disk buffer.
    #[serde(default)]
    pub spill_dir: PathBuf,
    pub disk_max_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSettings {
    pub enabled: bool,
    #[serde(default)]
    pub ignore_fstypes: Vec<String>,
    #[serde(default)]
    pub ignore_devices: Vec<String>,
    #[serde(default)]
    pub ignore_interfaces: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeSettings {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub max_body_bytes: usize,
    #[serde(default)]
    pub targets: Vec<TargetSettings>,
}

/// One `[[scrape.targets]]` entry as written; [`AgentSettings::targets`] resolves defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    pub url: String,
    #[serde(default)]
    pub job: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A scrape target with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: String,
    pub job: String,
    /// `host:port` of the URL.
    pub instance: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub tags: Tags,
}

impl AgentSettings {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<AgentSettings, ConfigError> {
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).required(true));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("VIGIL_AGENT")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let settings: AgentSettings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The defaults alone (no file, no environment).
    pub fn defaults() -> AgentSettings {
        let settings: AgentSettings = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_TOML,
                config::FileFormat::Toml,
            ))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("config/agent.toml is valid");
        settings
    }

    /// Rejects zero and absurd values at start, with the key that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.server.url.starts_with("http://") || self.server.url.starts_with("https://")) {
            return Err(invalid("server.url", "must start with http://"));
        }
        if self.server.url.starts_with("https://") {
            return Err(invalid(
                "server.url",
                "https is not supported by this build; put Vigil behind a local TLS proxy (agent/README.md, \"TLS\")",
            ));
        }
        if self
            .server
            .ingest_key
            .chars()
            .any(|c| c.is_control() || c == ' ')
        {
            return Err(invalid(
                "server.ingest_key",
                "must not contain spaces or control characters",
            ));
        }
        positive("server.timeout", self.server.timeout)?;
        if self.collect.interval < Duration::from_millis(100) {
            return Err(invalid("collect.interval", "must be at least 100ms"));
        }
        if !(1..=50_000).contains(&self.delivery.batch_size) {
            return Err(invalid(
                "delivery.batch_size",
                "must be 1 to 50000 (Vigil's per-request limit)",
            ));
        }
        positive("delivery.flush_interval", self.delivery.flush_interval)?;
        positive("delivery.retry_initial", self.delivery.retry_initial)?;
        if self.delivery.retry_max < self.delivery.retry_initial {
            return Err(invalid(
                "delivery.retry_max",
                "must not be below delivery.retry_initial",
            ));
        }
        if self.buffer.memory_max_points < self.delivery.batch_size {
            return Err(invalid(
                "buffer.memory_max_points",
                "must hold at least one batch (delivery.batch_size)",
            ));
        }
        if !self.buffer.spill_dir.as_os_str().is_empty() && self.buffer.disk_max_bytes < 1024 * 1024
        {
            return Err(invalid(
                "buffer.disk_max_bytes",
                "must be at least 1 MiB when buffer.spill_dir is set",
            ));
        }
        for key in self.tags.keys() {
            if !is_valid_tag_key(key) {
                return Err(invalid(
                    &format!("tags.{key}"),
                    "is not a valid Vigil tag key ([a-zA-Z_][a-zA-Z0-9_.]*, not starting with __)",
                ));
            }
        }
        positive("scrape.timeout", self.scrape.timeout)?;
        if self.scrape.max_body_bytes == 0 {
            return Err(invalid("scrape.max_body_bytes", "must not be 0"));
        }
        for (index, target) in self.scrape.targets.iter().enumerate() {
            let key = format!("scrape.targets[{index}]");
            instance_of(&target.url).ok_or_else(|| {
                invalid(
                    &format!("{key}.url"),
                    format!("{:?} is not an http:// URL", target.url),
                )
            })?;
            if let Some(interval) = target.interval {
                if interval < Duration::from_millis(100) {
                    return Err(invalid(
                        &format!("{key}.interval"),
                        "must be at least 100ms",
                    ));
                }
            }
            if target.timeout == Some(Duration::ZERO) {
                return Err(invalid(&format!("{key}.timeout"), "must not be 0"));
            }
            for tag in target.tags.keys() {
                if !is_valid_tag_key(tag) {
                    return Err(invalid(
                        &format!("{key}.tags.{tag}"),
                        "is not a valid Vigil tag key",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Global tags: `[tags]`, with `host` = the hostname unless set (`""` removes it).
    pub fn global_tags(&self) -> Tags {
        let mut tags: Tags = self
            .tags
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !self.tags.contains_key("host") {
            if let Some(host) = hostname() {
                tags.insert("host".into(), host);
            }
        }
        tags
    }

    /// The scrape targets with defaults applied.
    pub fn targets(&self) -> Vec<Target> {
        self.scrape
            .targets
            .iter()
            .map(|t| {
                let interval = t.interval.unwrap_or(self.collect.interval);
                Target {
                    url: t.url.clone(),
                    job: t.job.clone().unwrap_or_else(|| "scrape".into()),
                    instance: instance_of(&t.url).unwrap_or_default(),
                    interval,
                    timeout: t.timeout.unwrap_or(self.scrape.timeout).min(interval),
                    tags: t.tags.clone(),
                }
            })
            .collect()
    }
}

fn positive(key: &str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        Err(invalid(key, "must not be 0"))
    } else {
        Ok(())
    }
}

/// `host:port` of an `http://` URL (port 80 when none is written).
pub fn instance_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    Some(if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    })
}

/// This machine's hostname, from the kernel.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_file_is_valid_and_is_the_defaults() {
        let settings = AgentSettings::defaults();
        settings.validate().unwrap();
        assert_eq!(settings.collect.interval, Duration::from_secs(10));
        assert_eq!(settings.server.timeout, Duration::from_secs(5));
        assert_eq!(settings.delivery.batch_size, 1000);
        assert!(settings.scrape.targets.is_empty());
        assert!(settings.host.enabled);
    }

    #[test]
    fn every_key_of_the_file_is_commented() {
        let lines: Vec<&str> = DEFAULT_TOML.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let is_key = !line.starts_with('#') && !line.starts_with('[') && line.contains(" = ");
            if is_key {
                assert!(
                    i > 0 && lines[i - 1].starts_with('#'),
                    "key without a comment above it: {line:?}"
                );
            }
        }
    }

    #[test]
    fn targets_get_defaults_and_instance() {
        let mut settings = AgentSettings::defaults();
        settings.scrape.targets.push(TargetSettings {
            url: "http://127.0.0.1:9100/metrics".into(),
            job: None,
            interval: Some(Duration::from_secs(2)),
            timeout: None,
            tags: BTreeMap::new(),
        });
        settings.validate().unwrap();
        let target = &settings.targets()[0];
        assert_eq!(target.instance, "127.0.0.1:9100");
        assert_eq!(target.job, "scrape");
        // A timeout longer than the interval would let rounds overlap.
        assert_eq!(target.timeout, Duration::from_secs(2));
    }

    #[test]
    fn instances() {
        assert_eq!(instance_of("http://a/metrics").as_deref(), Some("a:80"));
        assert_eq!(instance_of("http://a:9/x?y").as_deref(), Some("a:9"));
        assert_eq!(instance_of("http://[::1]/m").as_deref(), Some("[::1]:80"));
        assert_eq!(instance_of("http://[::1]:7/m").as_deref(), Some("[::1]:7"));
        assert_eq!(instance_of("ftp://a"), None);
    }

    #[test]
    fn absurd_values_are_rejected_with_their_key() {
        let mut settings = AgentSettings::defaults();
        settings.delivery.batch_size = 0;
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("delivery.batch_size"), "{error}");

        let mut settings = AgentSettings::defaults();
        settings.tags.insert("__x".into(), "y".into());
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("tags.__x"), "{error}");

        let mut settings = AgentSettings::defaults();
        settings.server.url = "https://vigil".into();
        assert!(settings.validate().is_err());
    }

    #[test]
    fn host_tag_defaults_to_the_hostname_and_can_be_removed() {
        let mut settings = AgentSettings::defaults();
        assert_eq!(settings.global_tags().get("host"), hostname().as_ref());
        settings.tags.insert("host".into(), String::new());
        assert!(!settings.global_tags().contains_key("host"));
    }
}
