//! Authentication: who a request is, and how much it may try.
//!
//! - [`password`]: argon2id hashing and verification (CPU-heavy: run off the workers).
//! - [`secret`]: the random secrets behind sessions and API tokens, and their digests.
//! - [`credentials`]: resolves a session cookie or bearer token to a user, through the
//!   Redis cache with PostgreSQL as the record.
//! - [`rate_limit`]: sliding-window limits in Redis with a per-process fallback.
//! - [`bootstrap`]: the first admin account.

pub mod bootstrap;
pub mod credentials;
pub mod password;
pub mod rate_limit;
pub mod secret;

pub use credentials::{Credential, CredentialKind, Credentials};
pub use rate_limit::RateLimiter;
