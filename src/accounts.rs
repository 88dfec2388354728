//! Accounts of the embedded default: who may sign in, with which role.
//!
//! Invariants: an email address identifies at most one user (compared case-insensitively);
//! the first user ever created is the owner and is created only while no user exists; a
//! password has at least 12 characters; login failures are throttled per account and per
//! client address, and a throttled attempt is refused before the password is even checked.

use crate::evidence::Acting;
use crate::ports::{AccountStore, Clock, PasswordHasher, StoreError, ThrottleKey};
use crate::throttle::{ThrottleDecision, ThrottlePolicy};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An email address that parsed, kept in lower case so comparison is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, AccountError> {
        let trimmed = input.trim();
        if trimmed.len() > 254 {
            return Err(AccountError::InvalidEmail);
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default().without_display_text().without_domain_literal(),
        )
        .map_err(|_| AccountError::InvalidEmail)?;
        // Addresses must have a dotted domain: `user@localhost` is not somewhere we can mail.
        if !parsed.domain().contains('.') {
            return Err(AccountError::InvalidEmail);
        }
        Ok(Self(parsed.as_str().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = AccountError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name as shown in the app: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<Self, AccountError> {
        let trimmed = input.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS || trimmed.chars().any(char::is_control) {
            return Err(AccountError::InvalidName);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = AccountError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

/// A password chosen by a user, checked against the policy. Never printed.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    /// Longer inputs are refused so hashing cost stays bounded.
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(input: &str) -> Result<Self, AccountError> {
        if input.chars().count() < Self::MIN_CHARS {
            return Err(AccountError::PasswordTooShort { min: Self::MIN_CHARS });
        }
        if input.len() > Self::MAX_BYTES {
            return Err(AccountError::PasswordTooLong { max: Self::MAX_BYTES });
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// What a user may do. Owners and admins manage the instance; members work on documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AccountError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(AccountError::InvalidRole),
        }
    }

    /// Whether this role may manage users and instance settings.
    pub fn can_administer(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as the rest of the app sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub name: DisplayName,
    pub role: Role,
    pub disabled: bool,
    /// Bumped to end every session of this user at once.
    pub session_generation: i64,
    pub created_at: Timestamp,
}

/// A user to be created.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: EmailAddress,
    pub name: DisplayName,
    pub role: Role,
    pub created_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("enter a valid email address, like name@example.com")]
    InvalidEmail,
    #[error("enter a name of 1 to 100 characters")]
    InvalidName,
    #[error("the password must have at least {min} characters")]
    PasswordTooShort { min: usize },
    #[error("the password must have at most {max} bytes")]
    PasswordTooLong { max: usize },
    #[error("role must be owner, admin or member")]
    InvalidRole,
    #[error("an account with this email address already exists")]
    EmailTaken,
    #[error("setup is already done: sign in instead")]
    AlreadySetUp,
    #[error("wrong email or password")]
    WrongCredentials,
    #[error("this account is disabled")]
    Disabled,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no such user")]
    UnknownUser,
    #[error("too many failed sign-in attempts: try again in {} seconds", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Account rules, over whatever store, hasher and clock the caller provides.
#[derive(Clone)]
pub struct AccountService {
    store: Arc<dyn AccountStore>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    account_policy: ThrottlePolicy,
    address_policy: ThrottlePolicy,
}

/// Who is trying to sign in, for throttling.
#[derive(Debug, Clone)]
pub struct LoginAttempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub client_address: Option<&'a str>,
}

impl AccountService {
    pub fn new(
        store: Arc<dyn AccountStore>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        account_policy: ThrottlePolicy,
        address_policy: ThrottlePolicy,
    ) -> Self {
        Self { store, hasher, clock, account_policy, address_policy }
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Whether the instance still needs its first user.
    pub async fn needs_setup(&self) -> Result<bool, AccountError> {
        Ok(self.store.count_users().await? == 0)
    }

    /// Creates the owner; refused once any user exists. `by` is who the evidence names (the
    /// server, with the request's details: the owner does not exist before this).
    pub async fn set_up_owner(
        &self,
        name: &str,
        email: &str,
        password: &str,
        by: &Acting,
    ) -> Result<User, AccountError> {
        let new = self.new_user(name, email, Role::Owner)?;
        let password = NewPassword::parse(password)?;
        let hash = self.hasher.hash(password.expose())?;
        self.store.insert_user(&new, Some(&hash), true, by).await?.ok_or(AccountError::AlreadySetUp)
    }

    /// Creates a user with the given role (from the command line or, later, an admin page).
    /// The first user is always made the owner, whatever role was asked for.
    pub async fn create_user(
        &self,
        name: &str,
        email: &str,
        password: &str,
        role: Role,
        by: &Acting,
    ) -> Result<User, AccountError> {
        let new = self.new_user(name, email, role)?;
        let password = NewPassword::parse(password)?;
        let hash = self.hasher.hash(password.expose())?;
        if let Some(owner) =
            self.store.insert_user(&NewUser { role: Role::Owner, ..new.clone() }, Some(&hash), true, by).await?
        {
            return Ok(owner);
        }
        self.store.insert_user(&new, Some(&hash), false, by).await?.ok_or(AccountError::EmailTaken)
    }

    /// Creates the account of someone signing in through SSO for the first time: a member, or
    /// the owner when the instance has no user yet (as `create_user` does), and without a
    /// password, so only SSO signs it in. The caller has checked that SSO may create it
    /// (`crate::sso::decide`).
    pub async fn create_sso_user(&self, name: &str, email: &EmailAddress, by: &Acting) -> Result<User, AccountError> {
        let new = self.new_user(name, email.as_str(), Role::Member)?;
        if let Some(owner) =
            self.store.insert_user(&NewUser { role: Role::Owner, ..new.clone() }, None, true, by).await?
        {
            return Ok(owner);
        }
        self.store.insert_user(&new, None, false, by).await?.ok_or(AccountError::EmailTaken)
    }

    /// The user with this email, if any (SSO looks for a local account to link).
    pub async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, AccountError> {
        Ok(self.store.user_by_email(email).await?.map(|s| s.user))
    }

    fn new_user(&self, name: &str, email: &str, role: Role) -> Result<NewUser, AccountError> {
        Ok(NewUser {
            email: EmailAddress::parse(email)?,
            name: DisplayName::parse(name)?,
            role,
            created_at: self.clock.now(),
        })
    }

    /// Checks a login. Throttled attempts are refused before the password is looked at; a failure
    /// counts against the account and the client address.
    pub async fn log_in(&self, attempt: LoginAttempt<'_>) -> Result<User, AccountError> {
        let now = self.clock.now();
        // An unparsable email still counts against the address, so typing garbage is no way around
        // the throttle.
        let email = EmailAddress::parse(attempt.email).ok();
        let mut keys = Vec::with_capacity(2);
        if let Some(email) = &email {
            keys.push((ThrottleKey::Account(email.clone()), self.account_policy));
        }
        if let Some(addr) = attempt.client_address {
            keys.push((ThrottleKey::Address(addr.to_owned()), self.address_policy));
        }
        for (key, policy) in &keys {
            let failures = self.store.failures_since(key, policy.window_start(now)).await?;
            if let ThrottleDecision::Refuse { retry_after } = policy.decide(&failures, now) {
                return Err(AccountError::Throttled { retry_after });
            }
        }

        let stored = match &email {
            Some(email) => self.store.user_by_email(email).await?,
            None => None,
        };
        let hash = stored.as_ref().and_then(|s| s.password_hash.as_deref());
        let password_ok = self.hasher.verify(attempt.password, hash);
        match stored {
            Some(stored) if password_ok => {
                if stored.user.disabled {
                    return Err(AccountError::Disabled);
                }
                if let Some(email) = &email {
                    self.store.clear_failures(&ThrottleKey::Account(email.clone())).await?;
                }
                Ok(stored.user)
            }
            _ => {
                let keys: Vec<_> = keys.into_iter().map(|(k, _)| k).collect();
                self.store.record_failure(&keys, now).await?;
                Err(AccountError::WrongCredentials)
            }
        }
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, AccountError> {
        Ok(self.store.user_by_id(id).await?)
    }

    /// Every user, for someone who may administer them.
    pub async fn list_users(&self, actor: &User) -> Result<Vec<User>, AccountError> {
        if !actor.role.can_administer() {
            return Err(AccountError::Forbidden("only owners and admins may see the users"));
        }
        Ok(self.store.list_users().await?)
    }

    /// Disables or re-enables `target`. Disabling ends every session of the target at once.
    /// See [`may_disable`] for who may.
    /// `by` is `actor` with the request's details, as the evidence names them.
    pub async fn set_disabled(
        &self,
        actor: &User,
        target: UserId,
        disabled: bool,
        by: &Acting,
    ) -> Result<User, AccountError> {
        let current = self.store.user_by_id(target).await?.ok_or(AccountError::UnknownUser)?;
        may_disable(actor, &current)?;
        self.store.set_disabled(target, disabled, by).await?.ok_or(AccountError::UnknownUser)
    }

    /// Ends every session of `user`, on every device ("sign out everywhere").
    pub async fn end_all_sessions(&self, user: UserId) -> Result<(), AccountError> {
        Ok(self.store.bump_session_generation(user).await?)
    }
}

/// Whether `actor` may disable or re-enable `target`: owners may change anyone but themselves,
/// admins only members; nobody changes themselves (an instance must not lock out its last
/// administrator by accident) and the owner is never disabled.
pub fn may_disable(actor: &User, target: &User) -> Result<(), AccountError> {
    if actor.id == target.id {
        return Err(AccountError::Forbidden("you cannot disable your own account"));
    }
    match (actor.role, target.role) {
        (_, Role::Owner) => Err(AccountError::Forbidden("the owner's account cannot be disabled")),
        (Role::Owner, _) | (Role::Admin, Role::Member) => Ok(()),
        (Role::Admin, _) => Err(AccountError::Forbidden("only the owner may disable an admin")),
        (Role::Member, _) => Err(AccountError::Forbidden("only owners and admins may disable users")),
    }
}

#[cfg(test)]
mod tests;
