//! Scraping one Prometheus target: fetch with a timeout, parse, turn samples into
//! Vigil points, and report the round the way Prometheus does (`up`,
//! `scrape_duration_seconds`, `scrape_samples_scraped`).
//!
//! Mapping (agent/README.md, "Prometheus samples in Vigil"):
//! - names are kept as they are (`node_cpu_seconds_total`, `..._bucket`); a name
//!   Vigil cannot store (starting with `:`) skips the sample;
//! - labels become tags, `le` and `quantile` included; an empty label value means
//!   "no label" in Prometheus and is left out;
//! - every sample also gets the global tags, the target's tags, `job` and `instance`;
//!   a scraped label that collides with one of those is kept as `exported_<label>`
//!   (Prometheus' `honor_labels: false`);
//! - NaN and ±Inf values (Vigil stores finite numbers only) and labels Vigil would
//!   refuse (`__` prefix) skip the sample; skipped samples are counted in
//!   `vigil_agent_scrape_samples_skipped`;
//! - the exposition's own timestamp is used when given, else the scrape's start.
//!
//! A malformed exposition fails the whole round (as in Prometheus): `up` is 0, the
//! line and reason are logged, nothing of it is sent, and the next round tries again.

use std::time::{Duration, Instant};

use crate::config::Target;
use crate::exposition::{self, Sample};
use crate::point::{is_valid_name, is_valid_tag_key, now_ms, Point, Tags};

/// Why a round produced no samples.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrapeError {
    #[error("no answer: {0}")]
    Unreachable(String),
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    #[error("status {0}")]
    Status(u16),
    #[error("could not read the body: {0}")]
    Body(String),
    #[error("malformed exposition: {0}")]
    Malformed(String),
}

impl ScrapeError {
    /// The `reason` tag of `vigil_agent_scrape_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ScrapeError::Unreachable(_) => "unreachable",
            ScrapeError::Timeout(_) => "timeout",
            ScrapeError::Status(_) => "status",
            ScrapeError::Body(_) => "body",
            ScrapeError::Malformed(_) => "malformed",
        }
    }
}

/// The outcome of one round.
#[derive(Debug)]
pub struct ScrapeRound {
    /// The samples as points, then the round's own metrics (`up`, ...).
    pub points: Vec<Point>,
    pub error: Option<ScrapeError>,
    pub samples: usize,
    pub skipped: usize,
    pub duration: Duration,
}

/// Scrapes one target; lives on the agent's runtime thread (awc is not `Send`).
pub struct Scraper {
    target: Target,
    client: awc::Client,
    max_body_bytes: usize,
    /// Global tags, then the target's tags, then `job` and `instance`.
    base_tags: Tags,
}

impl Scraper {
    pub fn new(target: Target, global_tags: &Tags, max_body_bytes: usize) -> Scraper {
        let mut base_tags = global_tags.clone();
        base_tags.extend(target.tags.clone());
        base_tags.insert("job".into(), target.job.clone());
        base_tags.insert("instance".into(), target.instance.clone());
        Scraper {
            // The round's own timeout (in `scrape`) is what bounds a scrape; awc's,
            // a little longer, only keeps it from cutting first with its own error.
            client: awc::Client::builder()
                .timeout(target.timeout + Duration::from_secs(1))
                .finish(),
            target,
            max_body_bytes,
            base_tags,
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// One round: the whole fetch, headers to last byte, is bounded by the target's
    /// timeout, so a slow target costs at most that and never delays another
    /// (each target has its own task).
    pub async fn scrape(&self) -> ScrapeRound {
        let started = Instant::now();
        let timestamp = now_ms();
        let fetched = tokio::time::timeout(self.target.timeout, self.fetch()).await;
        let body = match fetched {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ScrapeError::Timeout(self.target.timeout)),
        };
        let (mut points, samples, skipped, error) = match body {
            Ok(body) => match std::str::from_utf8(&body) {
                Err(e) => (
                    Vec::new(),
                    0,
                    0,
                    Some(ScrapeError::Malformed(format!("not UTF-8: {e}"))),
                ),
                Ok(text) => match exposition::parse(text) {
                    Ok(samples) => {
                        let count = samples.len();
                        let (points, skipped) =
                            samples_to_points(&samples, &self.base_tags, timestamp);
                        (points, count, skipped, None)
                    }
                    Err(e) => (
                        Vec::new(),
                        0,
                        0,
                        Some(ScrapeError::Malformed(e.to_string())),
                    ),
                },
            },
            Err(e) => (Vec::new(), 0, 0, Some(e)),
        };
        let duration = started.elapsed();
        let own =
            |name: &str, value: f64| Point::new(name, value, self.base_tags.clone(), timestamp);
        points.push(own("up", if error.is_none() { 1.0 } else { 0.0 }));
        points.push(own("scrape_duration_seconds", duration.as_secs_f64()));
        points.push(own("scrape_samples_scraped", samples as f64));
        points.push(own("vigil_agent_scrape_samples_skipped", skipped as f64));
        ScrapeRound {
            points,
            error,
            samples,
            skipped,
            duration,
        }
    }

    async fn fetch(&self) -> Result<bytes::Bytes, ScrapeError> {
        let mut response = self
            .client
            .get(&self.target.url)
            .insert_header(("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1"))
            .insert_header((
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", self.target.timeout.as_secs_f64()),
            ))
            .send()
            .await
            .map_err(|e| ScrapeError::Unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(ScrapeError::Status(response.status().as_u16()));
        }
        response
            .body()
            .limit(self.max_body_bytes)
            .await
            .map_err(|e| ScrapeError::Body(e.to_string()))
    }
}

/// Samples as points with `base` tags (see the module documentation); returns the
/// points and the number of samples skipped.
pub fn samples_to_points(
    samples: &[Sample<'_>],
    base: &Tags,
    scrape_ms: i64,
) -> (Vec<Point>, usize) {
    let mut points = Vec::with_capacity(samples.len());
    let mut skipped = 0;
    'samples: for sample in samples {
        if !sample.value.is_finite() || !is_valid_name(sample.name) {
            skipped += 1;
            continue;
        }
        let mut tags = base.clone();
        for (key, value) in &sample.labels {
            if value.is_empty() {
                continue;
            }
            if !is_valid_tag_key(key) {
                skipped += 1;
                continue 'samples;
            }
            let key = if base.contains_key(*key) {
                format!("exported_{key}")
            } else {
                (*key).to_string()
            };
            tags.insert(key, value.to_string());
        }
        points.push(Point::new(
            sample.name,
            sample.value,
            tags,
            sample.timestamp_ms.unwrap_or(scrape_ms),
        ));
    }
    (points, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::tags;

    #[test]
    fn samples_become_points_with_prometheus_label_rules() {
        let text = "# TYPE h histogram\n\
                    h_bucket{le=\"0.5\",job=\"inner\"} 3\n\
                    h_bucket{le=\"+Inf\"} 4 1700000000123\n\
                    g{empty=\"\"} NaN\n\
                    g{mode=\"idle\"} +Inf\n\
                    g{__reserved=\"x\"} 1\n\
                    :bad 1\n\
                    ok{path=\"a\\\"b\"} 2\n";
        let samples = exposition::parse(text).unwrap();
        let base = tags([
            ("host", "h1"),
            ("job", "node"),
            ("instance", "127.0.0.1:9100"),
        ]);
        let (points, skipped) = samples_to_points(&samples, &base, 42);
        assert_eq!(skipped, 4);
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].name, "h_bucket");
        assert_eq!(
            points[0].tags,
            tags([
                ("host", "h1"),
                ("job", "node"),
                ("instance", "127.0.0.1:9100"),
                ("le", "0.5"),
                ("exported_job", "inner"),
            ])
        );
        assert_eq!(points[0].timestamp, 42);
        assert_eq!(points[1].tags["le"], "+Inf");
        assert_eq!(points[1].timestamp, 1700000000123);
        assert_eq!(points[2].tags["path"], "a\"b");
    }
}
