//! Cardinality caps: whether a series that does not exist yet may be created. Pure:
//! the ingest actors feed it what they looked up and the time.
//!
//! Three caps, each off at 0: series per metric (counted in PostgreSQL, refreshed
//! now and then, counted up locally in between), new series per window overall and
//! new series per window per ingest key (fixed windows of `window`, counted by this
//! instance).

use std::collections::HashMap;
use std::time::Duration;

/// The configured caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub per_metric: u64,
    pub per_window: u64,
    pub per_key_window: u64,
    pub window: Duration,
}

impl Caps {
    pub fn enabled(&self) -> bool {
        self.per_metric > 0 || self.per_window > 0 || self.per_key_window > 0
    }
}

/// Which cap a new series would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Metric,
    Window,
    KeyWindow,
}

impl Over {
    /// The `limit` label of `vigil_ingest_series_limited_total`.
    pub fn label(self) -> &'static str {
        match self {
            Over::Metric => "per_metric",
            Over::Window => "per_window",
            Over::KeyWindow => "per_key_window",
        }
    }

    /// The reason given in the ingest report for every point of the refused series.
    pub fn reason(self, caps: &Caps, metric: &str) -> String {
        let window = humantime::format_duration(caps.window);
        match self {
            Over::Metric => format!(
                "series limit: metric {metric:?} already has {} series (ingest.max_series_per_metric); points of existing series are still accepted",
                caps.per_metric
            ),
            Over::Window => format!(
                "series limit: {} new series per {window} reached (ingest.max_new_series_per_window)",
                caps.per_window
            ),
            Over::KeyWindow => format!(
                "series limit: this ingest key created {} new series in the last {window} (ingest.max_new_series_per_key)",
                caps.per_key_window
            ),
        }
    }
}

/// New series counted in the current window, and series per metric.
#[derive(Debug, Default)]
pub struct Ledger {
    window_start_ms: i64,
    created: u64,
    created_by_key: HashMap<String, u64>,
    /// Metric -> (series count, when it was read from the database, ms).
    metrics: HashMap<String, (u64, i64)>,
}

impl Ledger {
    /// Metrics among `metrics` whose count is missing or older than `refresh`.
    pub fn stale_metrics<'a>(
        &self,
        metrics: impl IntoIterator<Item = &'a str>,
        refresh: Duration,
        now_ms: i64,
    ) -> Vec<String> {
        let mut stale: Vec<String> = metrics
            .into_iter()
            .filter(|m| match self.metrics.get(*m) {
                Some(&(_, at)) => now_ms - at >= refresh.as_millis() as i64,
                None => true,
            })
            .map(str::to_string)
            .collect();
        stale.sort_unstable();
        stale.dedup();
        stale
    }

    /// Records a count read from the database (metrics without series read as 0).
    pub fn set_count(&mut self, metric: &str, count: u64, now_ms: i64) {
        self.metrics.insert(metric.to_string(), (count, now_ms));
    }

    /// Admits one new series of `metric` (by ingest key `key`, if any) and counts it,
    /// or says which cap it would exceed and counts nothing.
    pub fn admit(
        &mut self,
        caps: &Caps,
        metric: &str,
        key: Option<&str>,
        now_ms: i64,
    ) -> Result<(), Over> {
        let window_ms = caps.window.as_millis().max(1) as i64;
        let start = now_ms - now_ms.rem_euclid(window_ms);
        if start != self.window_start_ms {
            self.window_start_ms = start;
            self.created = 0;
            self.created_by_key.clear();
        }
        let in_metric = self.metrics.get(metric).map_or(0, |&(n, _)| n);
        if caps.per_metric > 0 && in_metric >= caps.per_metric {
            return Err(Over::Metric);
        }
        if caps.per_window > 0 && self.created >= caps.per_window {
            return Err(Over::Window);
        }
        let by_key = key.map_or(0, |k| self.created_by_key.get(k).copied().unwrap_or(0));
        if caps.per_key_window > 0 && key.is_some() && by_key >= caps.per_key_window {
            return Err(Over::KeyWindow);
        }
        self.created += 1;
        if let Some(k) = key {
            *self.created_by_key.entry(k.to_string()).or_default() += 1;
        }
        let entry = self
            .metrics
            .entry(metric.to_string())
            .or_insert((0, now_ms));
        entry.0 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn caps(per_metric: u64, per_window: u64, per_key_window: u64) -> Caps {
        Caps {
            per_metric,
            per_window,
            per_key_window,
            window: MINUTE,
        }
    }

    #[test]
    fn the_metric_cap_counts_what_the_database_holds_and_what_was_admitted() {
        let caps = caps(3, 0, 0);
        let mut ledger = Ledger::default();
        ledger.set_count("cpu", 2, 0);
        assert_eq!(ledger.admit(&caps, "cpu", None, 1), Ok(()));
        assert_eq!(ledger.admit(&caps, "cpu", None, 2), Err(Over::Metric));
        assert_eq!(
            ledger.admit(&caps, "mem", None, 3),
            Ok(()),
            "another metric has its own cap"
        );
    }

    #[test]
    fn window_caps_reset_with_the_window_and_keys_are_counted_apart() {
        let caps = caps(0, 3, 2);
        let mut ledger = Ledger::default();
        let t = 10 * 60_000;
        assert_eq!(ledger.admit(&caps, "m", Some("a"), t), Ok(()));
        assert_eq!(ledger.admit(&caps, "m", Some("a"), t + 1), Ok(()));
        assert_eq!(
            ledger.admit(&caps, "m", Some("a"), t + 2),
            Err(Over::KeyWindow)
        );
        assert_eq!(ledger.admit(&caps, "m", Some("b"), t + 3), Ok(()));
        assert_eq!(ledger.admit(&caps, "m", None, t + 4), Err(Over::Window));
        assert_eq!(
            ledger.admit(&caps, "m", Some("a"), t + 60_000),
            Ok(()),
            "a new window"
        );
    }

    #[test]
    fn a_refused_series_counts_against_nothing() {
        let caps = caps(0, 1, 0);
        let mut ledger = Ledger::default();
        assert_eq!(ledger.admit(&caps, "m", None, 5), Ok(()));
        for _ in 0..3 {
            assert_eq!(ledger.admit(&caps, "m", None, 6), Err(Over::Window));
        }
        assert_eq!(ledger.created, 1);
    }

    #[test]
    fn stale_counts_are_the_missing_and_the_old() {
        let mut ledger = Ledger::default();
        ledger.set_count("fresh", 1, 1_000);
        ledger.set_count("old", 1, 0);
        let stale = ledger.stale_metrics(
            ["fresh", "old", "new", "new"],
            Duration::from_millis(500),
            1_200,
        );
        assert_eq!(stale, ["new", "old"]);
        assert!(!caps(0, 0, 0).enabled());
        assert!(caps(0, 0, 1).enabled());
    }
}
