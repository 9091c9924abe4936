//! Webhook delivery: a JSON POST over http or https, to an address the SSRF guard (see
//! [`super::ssrf`]) checked when the connection was made, redirects not followed (a
//! redirect could lead past the guard), a timeout per attempt, the outbox id as
//! `Idempotency-Key`. 2xx is delivered; 408, 429 and 5xx are retried; any other status
//! is final. https verifies the certificate against the target's host name, with the
//! roots of [`super::tls`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_service::Service;
use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use awc::http::{StatusCode, Uri};
use serde_json::Value;
use tokio::net::TcpStream;

use super::{ssrf, DeliveryError};

/// Builds the client for one notifier round (awc clients are per thread): TLS from
/// `tls`, and every connection made through [`CheckedConnector`].
pub fn client(
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    allow_private: bool,
) -> awc::Client {
    let connector = awc::Connector::new()
        .connector(CheckedConnector { allow_private })
        .rustls_0_23(tls)
        .timeout(timeout);
    awc::Client::builder()
        .connector(connector)
        .timeout(timeout)
        .disable_redirects()
        .finish()
}

/// Opens TCP connections only to addresses the SSRF guard accepts: the host is
/// resolved and checked here, and the connection goes to the checked address, so a
/// second lookup cannot swap it. TLS then runs on top with the URL's host name (SNI
/// and certificate check), which pinning the address in the URL would have lost.
#[derive(Clone, Copy)]
struct CheckedConnector {
    allow_private: bool,
}

impl Service<ConnectInfo<Uri>> for CheckedConnector {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_service::always_ready!();

    fn call(&self, info: ConnectInfo<Uri>) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = info
                .hostname()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let address = ssrf::resolve_checked(&host, info.port(), allow_private)
                .await
                .map_err(|e| {
                    ConnectError::Io(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        e.to_string(),
                    ))
                })?;
            let stream = TcpStream::connect(address)
                .await
                .map_err(ConnectError::Io)?;
            let _ = stream.set_nodelay(true);
            Ok(Connection::new(info.request().clone(), stream))
        })
    }
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
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(DeliveryError::Permanent(format!(
            "unsupported scheme {} (webhooks are http or https)",
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
    // Checked here too, so a refused target fails for good instead of as a connection
    // error to retry; the connector checks again for the address it connects to.
    ssrf::resolve_checked(&host, port, allow_private).await?;
    let response = client
        .post(url.as_str())
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
