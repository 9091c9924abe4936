//! Webhook delivery: a JSON POST to the checked address (see [`super::ssrf`]), redirects
//! not followed (a redirect could lead past the SSRF guard), a timeout per attempt, the
//! outbox id as `Idempotency-Key`. 2xx is delivered; 408, 429 and 5xx are retried;
//! any other status is final.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::Value;

use super::{ssrf, DeliveryError};

/// Builds the client for one notifier (awc clients are per thread).
pub fn client(timeout: Duration) -> awc::Client {
    awc::Client::builder()
        .timeout(timeout)
        .disable_redirects()
        .finish()
}

pub async fn post(
    client: &awc::Client,
    target: &str,
    body: &Value,
    idempotency_key: &str,
    allow_private: bool,
) -> Result<(), DeliveryError> {
    let url = url::Url::parse(target)
        .map_err(|e| DeliveryError::Permanent(format!("bad webhook URL: {e}")))?;
    if url.scheme() != "http" {
        return Err(DeliveryError::Permanent(format!(
            "unsupported scheme {} (this build sends webhooks over http only)",
            url.scheme()
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| DeliveryError::Permanent("webhook URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let address = ssrf::resolve_checked(&host, port, allow_private).await?;
    let mut pinned = url.clone();
    pinned
        .set_ip_host(address.ip())
        .map_err(|_| DeliveryError::Permanent("cannot address the webhook host".into()))?;
    let host_header = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let response = client
        .post(pinned.as_str())
        .insert_header(("Host", host_header))
        .insert_header(("Idempotency-Key", idempotency_key))
        .insert_header(("User-Agent", concat!("Vigil/", env!("CARGO_PKG_VERSION"))))
        .send_json(body)
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            return Err(DeliveryError::Retryable(format!(
                "webhook request failed: {e}"
            )))
        }
    };
    let status = response.status();
    // Drain a little of the body so the connection can be reused; ignore its content.
    let _ = response.body().limit(64 * 1024).await;
    classify(status)
}

fn classify(status: StatusCode) -> Result<(), DeliveryError> {
    if status.is_success() {
        Ok(())
    } else if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(DeliveryError::Retryable(format!(
            "webhook answered {status}"
        )))
    } else {
        Err(DeliveryError::Permanent(format!(
            "webhook answered {status}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert!(classify(StatusCode::OK).is_ok());
        assert!(classify(StatusCode::ACCEPTED).is_ok());
        for retry in [500, 502, 503, 429, 408] {
            assert!(matches!(
                classify(StatusCode::from_u16(retry).unwrap()),
                Err(DeliveryError::Retryable(_))
            ));
        }
        for fail in [400, 401, 404, 410, 301, 302] {
            assert!(matches!(
                classify(StatusCode::from_u16(fail).unwrap()),
                Err(DeliveryError::Permanent(_))
            ));
        }
    }
}
