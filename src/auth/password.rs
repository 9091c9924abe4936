//! Password hashing with argon2id and the argon2 crate's default parameters
//! (19 MiB, 2 passes): tens of milliseconds of CPU per call, so callers run it on the
//! blocking pool, never on an actor's or HTTP worker's thread.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted: argon2 reads all of it, so an unbounded one is a way to
/// burn the server's CPU.
pub const MAX_LEN: usize = 1024;
/// The same bound in characters, as the API document states it (JSON Schema counts
/// characters): 256 characters of at most 4 bytes each stay within [`MAX_LEN`].
pub const MAX_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_LEN} characters")]
    TooShort,
    #[error("password must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Checks the length rules, then hashes into a PHC string (algorithm, parameters and
/// salt travel with the hash, so parameters can change without a migration).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_LEN || password.chars().count() > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password matches, verified against when the account does not exist so
/// that a login for an unknown email costs as much as one for a known email (no
/// account enumeration by timing).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(crate::auth::secret::random_hex(32).as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_reject() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify("anything", decoy_hash()));
    }

    #[test]
    fn length_rules() {
        assert!(matches!(hash("short"), Err(PasswordError::TooShort)));
        assert!(matches!(
            hash(&"x".repeat(MAX_LEN + 1)),
            Err(PasswordError::TooLong)
        ));
    }
}
