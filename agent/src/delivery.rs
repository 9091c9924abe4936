//! One delivery attempt of a sealed batch to `POST /api/v1/metrics`, what Vigil's
//! answer means for the batch, and how long to wait before the next attempt.
//!
//! Retried: connection errors and timeouts, 5xx, 429, and 401/403 (an ingest key that
//! Vigil does not know yet is an operator's fix away; dropping the data meanwhile
//! would be worse than holding it in the bounded buffer). Never retried: 400 and other
//! 4xx; the body is logged, because it carries Vigil's reasons.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use serde::Deserialize;

use crate::config::ServerSettings;

/// Longest Retry-After honoured; a larger one (or a date) is capped to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Most response bytes read (answers are small JSON documents).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// What an attempt means for the batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// 2xx: the batch is done; some points may have been rejected by validation.
    Accepted {
        accepted: u64,
        rejected: u64,
        /// `point <index>: <reason>` for the first rejections.
        reasons: Vec<String>,
    },
    /// 4xx other than 401/403/429: resending the same bytes cannot succeed.
    Refused { status: u16, body: String },
    /// Try the same bytes again later.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
}

#[derive(Deserialize)]
struct IngestAnswer {
    #[serde(default)]
    accepted: u64,
    #[serde(default)]
    rejected: u64,
    #[serde(default)]
    errors: Vec<IngestError>,
}

#[derive(Deserialize)]
struct IngestError {
    index: u64,
    reason: String,
}

/// Vigil's ingest endpoint, with the agent's credentials. Lives on the delivery
/// thread (awc clients are not `Send`).
pub struct Endpoint {
    client: awc::Client,
    url: String,
    authorization: Option<String>,
}

impl Endpoint {
    pub fn new(server: &ServerSettings) -> Endpoint {
        Endpoint {
            client: awc::Client::builder()
                .timeout(server.timeout)
                .disable_redirects()
                .finish(),
            url: format!("{}/api/v1/metrics", server.url.trim_end_matches('/')),
            authorization: (!server.ingest_key.is_empty())
                .then(|| format!("Bearer {}", server.ingest_key)),
        }
    }

    /// Sends one gzip-compressed JSON batch.
    pub async fn send(&self, body: Bytes) -> Verdict {
        let mut request = self
            .client
            .post(&self.url)
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("Content-Encoding", "gzip"));
        if let Some(authorization) = &self.authorization {
            request = request.insert_header(("Authorization", authorization.as_str()));
        }
        let mut response = match request.send_body(body).await {
            Ok(response) => response,
            Err(e) => {
                return Verdict::Retry {
                    reason: format!("no answer from {}: {e}", self.url),
                    retry_after: None,
                }
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(parse_retry_after);
        let body = response
            .body()
            .limit(MAX_RESPONSE_BYTES)
            .await
            .unwrap_or_default();
        judge(status, &body, retry_after)
    }
}

/// The verdict for an answer (pure, for tests).
pub fn judge(status: u16, body: &[u8], retry_after: Option<Duration>) -> Verdict {
    let text = || String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
    match status {
        200..=299 => match serde_json::from_slice::<IngestAnswer>(body) {
            Ok(answer) => Verdict::Accepted {
                accepted: answer.accepted,
                rejected: answer.rejected,
                reasons: answer
                    .errors
                    .iter()
                    .take(5)
                    .map(|e| format!("point {}: {}", e.index, e.reason))
                    .collect(),
            },
            // A 2xx is a 2xx: the batch is stored even if the answer is odd.
            Err(_) => Verdict::Accepted {
                accepted: 0,
                rejected: 0,
                reasons: Vec::new(),
            },
        },
        401 | 403 | 408 | 429 | 500..=599 => Verdict::Retry {
            reason: format!("status {status}: {}", text()),
            retry_after,
        },
        _ => Verdict::Refused {
            status,
            body: text(),
        },
    }
}

/// Retry-After as seconds; an HTTP date (or garbage) counts as the cap.
fn parse_retry_after(value: &str) -> Duration {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .unwrap_or(MAX_RETRY_AFTER)
        .min(MAX_RETRY_AFTER)
}

/// The wait before retry number `attempt` (0-based): Vigil's Retry-After when it
/// gave one (plus up to 10% so agents told the same do not return in lockstep), else
/// `initial * 2^attempt` capped at `max`, drawn from [d/2, d] ("equal jitter").
pub fn retry_delay(
    attempt: u32,
    initial: Duration,
    max: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let mut rng = rand::rng();
    if let Some(after) = retry_after {
        let spread = after.as_secs_f64() * 0.1;
        return after + Duration::from_secs_f64(rng.random_range(0.0..=spread));
    }
    let exp = initial
        .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .min(max);
    let half = exp.as_secs_f64() / 2.0;
    Duration::from_secs_f64(half + rng.random_range(0.0..=half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_verdicts() {
        let body = br#"{"accepted":2,"rejected":1,"errors":[{"index":1,"reason":"value must be a finite number"}]}"#;
        assert_eq!(
            judge(202, body, None),
            Verdict::Accepted {
                accepted: 2,
                rejected: 1,
                reasons: vec!["point 1: value must be a finite number".into()],
            }
        );
        assert!(matches!(
            judge(400, br#"{"error":"no valid point"}"#, None),
            Verdict::Refused { status: 400, ref body } if body.contains("no valid point")
        ));
        assert!(matches!(judge(413, b"", None), Verdict::Refused { .. }));
        for status in [401, 403, 429, 500, 502, 503] {
            assert!(
                matches!(judge(status, b"", None), Verdict::Retry { .. }),
                "{status}"
            );
        }
        assert!(matches!(
            judge(503, b"", Some(Duration::from_secs(2))),
            Verdict::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(2)
        ));
    }

    #[test]
    fn retry_after_is_seconds_and_capped() {
        assert_eq!(parse_retry_after("3"), Duration::from_secs(3));
        assert_eq!(parse_retry_after("99999"), MAX_RETRY_AFTER);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn delays_grow_exponentially_with_jitter_up_to_the_cap() {
        let initial = Duration::from_millis(500);
        let max = Duration::from_secs(30);
        for _ in 0..100 {
            let first = retry_delay(0, initial, max, None);
            assert!(
                first >= Duration::from_millis(250) && first <= initial,
                "{first:?}"
            );
            let fourth = retry_delay(3, initial, max, None);
            assert!(fourth >= Duration::from_secs(2) && fourth <= Duration::from_secs(4));
            let late = retry_delay(40, initial, max, None);
            assert!(late >= max / 2 && late <= max, "{late:?}");
            let told = retry_delay(0, initial, max, Some(Duration::from_secs(10)));
            assert!(told >= Duration::from_secs(10) && told <= Duration::from_secs(11));
        }
    }
}
