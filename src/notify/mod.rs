//! Notification delivery, without actors: what a notification says ([`payload`]: the
//! Alertmanager webhook v4 body and the email text), how it is sent ([`webhook`] over
//! awc, [`email`] over lettre's async SMTP transport), the SSRF guard for webhook
//! targets ([`ssrf`]), the TLS roots of webhooks ([`tls`]) and the retry schedule
//! ([`retry`]). `actors::notifier` drives
//! these from the durable outbox.

pub mod email;
pub mod payload;
pub mod retry;
pub mod ssrf;
pub mod tls;
pub mod webhook;

/// How one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: 5xx, 429, timeout, connection refused or reset, SMTP 4xx.
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help: 4xx, SMTP 5xx, a refused (private) target, a bad address.
    #[error("{0}")]
    Permanent(String),
}
