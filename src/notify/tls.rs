//! The TLS client configuration of webhook deliveries: the system's root certificates
//! (`/etc/ssl/certs` and the like, through rustls-native-certs) plus those in
//! `notify.ca_file`, for receivers behind a private CA. Built once at start; a
//! `ca_file` that cannot be read or holds no certificate stops the start.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("notify.ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("no trusted root certificates: the system has none and notify.ca_file is empty")]
    NoRoots,
    #[error("TLS client setup: {0}")]
    Rustls(#[from] rustls::Error),
}

pub fn client_config(ca_file: &str) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        tracing::debug!(%error, "A system root certificate could not be loaded.");
    }
    let (added, _ignored) = roots.add_parsable_certificates(system.certs);
    let mut extra = 0;
    if !ca_file.is_empty() {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca_file)
            .and_then(|certs| certs.collect())
            .map_err(|e| TlsConfigError::CaFile {
                path: ca_file.into(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(TlsConfigError::CaFile {
                path: ca_file.into(),
                reason: "no PEM certificate in it".into(),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| TlsConfigError::CaFile {
                path: ca_file.into(),
                reason: e.to_string(),
            })?;
            extra += 1;
        }
    }
    if roots.is_empty() {
        return Err(TlsConfigError::NoRoots);
    }
    tracing::debug!(system = added, extra, "Webhook TLS roots loaded.");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
