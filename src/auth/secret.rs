//! The random secrets behind sessions and API tokens.
//!
//! A secret is 256 random bits, hex-encoded; API tokens carry a readable prefix
//! (`vgl_p_` personal, `vgl_i_` ingest) so a leaked one is recognisable in logs and
//! secret scanners. Only the SHA-256 digest of a secret is stored or used as a key.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of personal API tokens.
pub const PERSONAL_PREFIX: &str = "vgl_p_";
/// Prefix of ingest keys.
pub const INGEST_PREFIX: &str = "vgl_i_";

/// `bytes` random bytes from the OS-seeded CSPRNG, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// A new session token.
pub fn new_session_token() -> String {
    random_hex(32)
}

/// A new API token with its kind's prefix.
pub fn new_api_token(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(32))
}

/// The digest under which a secret is stored and cached.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_unique_and_prefixed() {
        let a = new_session_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_session_token());
        let token = new_api_token(INGEST_PREFIX);
        assert!(token.starts_with("vgl_i_") && token.len() == 70);
        assert_eq!(digest(&token), digest(&token));
        assert_ne!(digest(&token), digest(&a));
    }
}
