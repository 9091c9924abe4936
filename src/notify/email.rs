//! Alert email over lettre's async SMTP transport (tokio), in the clear to a local
//! relay or over TLS (smtps, STARTTLS). The message is built with lettre's typed
//! headers, so nothing in a rule reaches the header block unencoded.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::payload::NotificationPayload;
use super::DeliveryError;

/// An SMTP client; each delivery opens its own connection (lettre's pool is not
/// compiled in): alert email is rare, and a pooled connection to a relay that
/// restarted would only fail later.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `smtp://host[:25]` sends in the clear (a local relay); `smtp://…?tls=required`
    /// upgrades with STARTTLS and refuses a server that cannot; `smtps://host[:465]`
    /// speaks TLS from the first byte. TLS verifies the server's certificate against
    /// `host`, trusting the system's roots plus those in `ca_file`.
    pub fn new(
        smtp_url: &str,
        from: &str,
        timeout: Duration,
        ca_file: &str,
    ) -> Result<Mailer, String> {
        let url = url::Url::parse(smtp_url).map_err(|e| format!("notify.smtp_url: {e}"))?;
        let host = url.host_str().ok_or("notify.smtp_url has no host")?;
        let starttls = url
            .query_pairs()
            .any(|(k, v)| k == "tls" && v == "required");
        let (tls, default_port) = match url.scheme() {
            "smtp" if starttls => (Some(true), 587),
            "smtp" => (None, 25),
            "smtps" => (Some(false), 465),
            other => {
                return Err(format!(
                    "notify.smtp_url: unsupported scheme {other} (smtp or smtps)"
                ))
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(default_port))
            .timeout(Some(timeout));
        if let Some(starttls) = tls {
            let mut params = TlsParameters::builder(host.to_string());
            if !ca_file.is_empty() {
                let pem =
                    std::fs::read(ca_file).map_err(|e| format!("notify.ca_file {ca_file}: {e}"))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("notify.ca_file {ca_file}: {e}"))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("SMTP TLS setup: {e}"))?;
            builder = builder.tls(if starttls {
                Tls::Required(params)
            } else {
                Tls::Wrapper(params)
            });
        }
        // Credentials in the URL are sent with AUTH: over TLS, or to a relay on a
        // trusted network.
        if !url.username().is_empty() {
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    url.username().to_string(),
                    url.password().unwrap_or_default().to_string(),
                ));
        }
        let transport = builder.build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("notify.smtp_from: {e}"))?;
        Ok(Mailer { transport, from })
    }

    pub async fn send(
        &self,
        to: &str,
        payload: &NotificationPayload,
        notification_id: uuid::Uuid,
    ) -> Result<(), DeliveryError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| DeliveryError::Permanent(format!("bad address {to:?}: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(payload.email_subject())
            .message_id(Some(format!("<{notification_id}@vigil>")))
            .header(ContentType::TEXT_PLAIN)
            .body(payload.email_body())
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                Err(DeliveryError::Permanent(format!("SMTP refused: {e}")))
            }
            Err(e) => Err(DeliveryError::Retryable(format!("SMTP failed: {e}"))),
        }
    }
}
