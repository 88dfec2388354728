//! Ports: the traits through which the domain reaches the outside world.
//!
//! The `server` crate implements them (SQLite store, argon2 hasher, system clock); tests
//! implement them in memory. Every implementation must be safe to share between tasks.

use crate::accounts::{EmailAddress, NewUser, User, UserId};
use crate::evidence::Acting;
use crate::time::Timestamp;
use async_trait::async_trait;

pub use crate::entropy::Entropy;

/// Where time comes from. The server uses the system clock; tests use a clock they move.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// A failure of a store, described for the logs; never shown to end users.
#[derive(Debug, thiserror::Error)]
#[error("store error: {0}")]
pub struct StoreError(pub String);

/// What the store knows about a user, with the password hash that login compares against.
#[derive(Debug, Clone)]
pub struct StoredUser {
    pub user: User,
    pub password_hash: Option<String>,
}

/// What counts a login failure against: one account, or one client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    Account(EmailAddress),
    Address(String),
}

impl ThrottleKey {
    /// A stable text form for storage.
    pub fn storage_key(&self) -> String {
        match self {
            ThrottleKey::Account(email) => format!("account:{}", email.as_str()),
            ThrottleKey::Address(ip) => format!("address:{ip}"),
        }
    }
}

/// Persistent accounts and login failures.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn count_users(&self) -> Result<u64, StoreError>;
    /// Creates a user. With `only_if_empty`, creation happens only if no user exists yet, checked
    /// in the same transaction, so two simultaneous setups cannot both create an owner.
    /// Returns `Ok(None)` when the email is taken or, with `only_if_empty`, when a user exists.
    /// `password_hash` is `None` for an account that signs in only through SSO: no password can
    /// ever match it (never a made-up hash that someone could guess). The creation is recorded
    /// as `user.created` by `by` ([`crate::evidence::instance`]), in the same transaction.
    async fn insert_user(
        &self,
        user: &NewUser,
        password_hash: Option<&str>,
        only_if_empty: bool,
        by: &Acting,
    ) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<StoredUser>, StoreError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn record_failure(&self, keys: &[ThrottleKey], at: Timestamp) -> Result<(), StoreError>;
    async fn failures_since(&self, key: &ThrottleKey, since: Timestamp) -> Result<Vec<Timestamp>, StoreError>;
    async fn clear_failures(&self, key: &ThrottleKey) -> Result<(), StoreError>;
    /// Every user, in the order they were created.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Sets whether `id` is disabled; disabling also bumps the session generation, in the same
    /// statement, so no session of theirs outlives it. `None` when there is no such user.
    /// Recorded as `user.disabled` or `user.enabled` by `by`, in the same transaction.
    async fn set_disabled(&self, id: UserId, disabled: bool, by: &Acting) -> Result<Option<User>, StoreError>;
    /// Bumps the session generation of `id`: every session started before ends.
    async fn bump_session_generation(&self, id: UserId) -> Result<(), StoreError>;
}

/// Password hashing. The server's implementation is argon2id with a fresh random salt.
pub trait PasswordHasher: Send + Sync {
    fn hash(&self, password: &str) -> Result<String, StoreError>;
    /// Whether `password` matches `hash`. Must take about as long for a wrong password as for a
    /// right one, and as long when `hash` is `None` (unknown account) as otherwise.
    fn verify(&self, password: &str, hash: Option<&str>) -> bool;
}
