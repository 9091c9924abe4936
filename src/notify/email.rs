//! Alert email over lettre's async SMTP transport (tokio). The message is built with
//! lettre's typed headers, so nothing in a rule reaches the header block unencoded.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
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
    pub fn new(smtp_url: &str, from: &str, timeout: Duration) -> Result<Mailer, String> {
        let url = url::Url::parse(smtp_url).map_err(|e| format!("notify.smtp_url: {e}"))?;
        if url.scheme() != "smtp" {
            return Err("notify.smtp_url: only smtp:// (plain, for a local relay) is supported by this build".into());
        }
        let host = url.host_str().ok_or("notify.smtp_url has no host")?;
        // Plain SMTP: this build carries no TLS client. Credentials in the URL are sent
        // with AUTH, which is only sane to a relay on a trusted network.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(25))
            .timeout(Some(timeout));
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
