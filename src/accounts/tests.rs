//! Account rules over an in-memory store, a fake hasher and a clock the test moves.

use super::*;
use crate::ports::StoredUser;
use futures::executor::block_on;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Default)]
struct MemoryStore {
    users: Mutex<Vec<(User, Option<String>)>>,
    failures: Mutex<Vec<(String, Timestamp)>>,
}

#[async_trait::async_trait]
impl AccountStore for MemoryStore {
    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(self.users.lock().expect("lock").len() as u64)
    }
    async fn insert_user(
        &self,
        new: &NewUser,
        hash: Option<&str>,
        only_if_empty: bool,
    ) -> Result<Option<User>, StoreError> {
        let mut users = self.users.lock().expect("lock");
        if (only_if_empty && !users.is_empty()) || users.iter().any(|(u, _)| u.email == new.email) {
            return Ok(None);
        }
        let user = User {
            id: UserId(users.len() as i64 + 1),
            email: new.email.clone(),
            name: new.name.clone(),
            role: new.role,
            disabled: false,
            session_generation: 0,
            created_at: new.created_at,
        };
        users.push((user.clone(), hash.map(str::to_owned)));
        Ok(Some(user))
    }
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<StoredUser>, StoreError> {
        let users = self.users.lock().expect("lock");
        Ok(users
            .iter()
            .find(|(u, _)| &u.email == email)
            .map(|(u, h)| StoredUser { user: u.clone(), password_hash: h.clone() }))
    }
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.users.lock().expect("lock").iter().find(|(u, _)| u.id == id).map(|(u, _)| u.clone()))
    }
    async fn record_failure(&self, keys: &[ThrottleKey], at: Timestamp) -> Result<(), StoreError> {
        let mut f = self.failures.lock().expect("lock");
        f.extend(keys.iter().map(|k| (k.storage_key(), at)));
        Ok(())
    }
    async fn failures_since(&self, key: &ThrottleKey, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
        let k = key.storage_key();
        Ok(self
            .failures
            .lock()
            .expect("lock")
            .iter()
            .filter(|(kk, t)| *kk == k && *t > since)
            .map(|(_, t)| *t)
            .collect())
    }
    async fn clear_failures(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let k = key.storage_key();
        self.failures.lock().expect("lock").retain(|(kk, _)| *kk != k);
        Ok(())
    }
    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self.users.lock().expect("lock").iter().map(|(u, _)| u.clone()).collect())
    }
    async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<Option<User>, StoreError> {
        let mut users = self.users.lock().expect("lock");
        Ok(users.iter_mut().find(|(u, _)| u.id == id).map(|(u, _)| {
            u.disabled = disabled;
            if disabled {
                u.session_generation += 1;
            }
            u.clone()
        }))
    }
    async fn bump_session_generation(&self, id: UserId) -> Result<(), StoreError> {
        if let Some((u, _)) = self.users.lock().expect("lock").iter_mut().find(|(u, _)| u.id == id) {
            u.session_generation += 1;
        }
        Ok(())
    }
}

/// Stands in for argon2: the tests are about the rules, not the hash.
struct ReversingHasher;

impl PasswordHasher for ReversingHasher {
    fn hash(&self, password: &str) -> Result<String, StoreError> {
        Ok(password.chars().rev().collect())
    }
    fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        hash.is_some_and(|h| h == password.chars().rev().collect::<String>())
    }
}

#[derive(Default)]
struct TestClock(AtomicI64);

impl TestClock {
    fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_micros() as i64, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.0.load(Ordering::SeqCst))
    }
}

fn service() -> (AccountService, Arc<TestClock>) {
    let clock = Arc::new(TestClock::default());
    let policy = ThrottlePolicy { max_failures: 3, window: Duration::from_secs(60) };
    let wide = ThrottlePolicy { max_failures: 10, window: Duration::from_secs(60) };
    let svc =
        AccountService::new(Arc::new(MemoryStore::default()), Arc::new(ReversingHasher), clock.clone(), policy, wide);
    (svc, clock)
}

fn attempt<'a>(email: &'a str, password: &'a str) -> LoginAttempt<'a> {
    LoginAttempt { email, password, client_address: Some("192.0.2.1") }
}

const PW: &str = "correct horse battery";

#[test]
fn setup_creates_the_owner_only_once() {
    let (svc, _) = service();
    assert!(block_on(svc.needs_setup()).expect("store"));
    let owner = block_on(svc.set_up_owner("Ada", "Ada@Example.com", PW)).expect("setup");
    assert_eq!(owner.role, Role::Owner);
    assert_eq!(owner.email.as_str(), "ada@example.com");
    assert!(!block_on(svc.needs_setup()).expect("store"));
    let again = block_on(svc.set_up_owner("Eve", "eve@example.com", PW));
    assert!(matches!(again, Err(AccountError::AlreadySetUp)));
}

#[test]
fn short_passwords_and_bad_emails_are_refused() {
    let (svc, _) = service();
    assert!(matches!(
        block_on(svc.set_up_owner("Ada", "ada@example.com", "elevenchars")),
        Err(AccountError::PasswordTooShort { min: 12 })
    ));
    assert!(matches!(block_on(svc.set_up_owner("Ada", "not-an-email", PW)), Err(AccountError::InvalidEmail)));
    assert!(matches!(block_on(svc.set_up_owner("  ", "ada@example.com", PW)), Err(AccountError::InvalidName)));
}

#[test]
fn the_first_user_created_from_the_command_line_is_the_owner() {
    let (svc, _) = service();
    let first = block_on(svc.create_user("Ada", "ada@example.com", PW, Role::Member)).expect("create");
    assert_eq!(first.role, Role::Owner);
    let second = block_on(svc.create_user("Bob", "bob@example.com", PW, Role::Member)).expect("create");
    assert_eq!(second.role, Role::Member);
    let dup = block_on(svc.create_user("Bob", "BOB@example.com", PW, Role::Member));
    assert!(matches!(dup, Err(AccountError::EmailTaken)));
}

#[test]
fn login_checks_the_password_case_insensitively_on_email() {
    let (svc, _) = service();
    block_on(svc.set_up_owner("Ada", "ada@example.com", PW)).expect("setup");
    assert!(block_on(svc.log_in(attempt("ADA@example.com", PW))).is_ok());
    assert!(matches!(
        block_on(svc.log_in(attempt("ada@example.com", "wrong password!"))),
        Err(AccountError::WrongCredentials)
    ));
    assert!(matches!(block_on(svc.log_in(attempt("nobody@example.com", PW))), Err(AccountError::WrongCredentials)));
}

#[test]
fn repeated_failures_lock_the_account_until_the_window_passes() {
    let (svc, clock) = service();
    block_on(svc.set_up_owner("Ada", "ada@example.com", PW)).expect("setup");
    for _ in 0..3 {
        let _ = block_on(svc.log_in(attempt("ada@example.com", "wrong password!")));
        clock.advance(Duration::from_secs(1));
    }
    // Even the right password is refused while throttled.
    let locked = block_on(svc.log_in(attempt("ada@example.com", PW)));
    assert!(matches!(locked, Err(AccountError::Throttled { .. })), "{locked:?}");
    clock.advance(Duration::from_secs(60));
    assert!(block_on(svc.log_in(attempt("ada@example.com", PW))).is_ok());
}

#[test]
fn failures_from_one_address_across_accounts_are_throttled() {
    let (svc, _) = service();
    for i in 0..10 {
        let email = format!("user{i}@example.com");
        let _ = block_on(svc.log_in(attempt(&email, "wrong password!")));
    }
    let r = block_on(svc.log_in(attempt("other@example.com", "wrong password!")));
    assert!(matches!(r, Err(AccountError::Throttled { .. })));
    // Another address is unaffected.
    let other = LoginAttempt { email: "other@example.com", password: "x", client_address: Some("198.51.100.7") };
    assert!(matches!(block_on(svc.log_in(other)), Err(AccountError::WrongCredentials)));
}

#[test]
fn a_success_clears_the_account_failures() {
    let (svc, _) = service();
    block_on(svc.set_up_owner("Ada", "ada@example.com", PW)).expect("setup");
    for _ in 0..2 {
        let _ = block_on(svc.log_in(attempt("ada@example.com", "wrong password!")));
    }
    block_on(svc.log_in(attempt("ada@example.com", PW))).expect("login");
    for _ in 0..2 {
        let _ = block_on(svc.log_in(attempt("ada@example.com", "wrong password!")));
    }
    assert!(block_on(svc.log_in(attempt("ada@example.com", PW))).is_ok());
}

#[test]
fn email_parsing_accepts_real_addresses_and_refuses_others() {
    for ok in ["a@example.com", "first.last+tag@sub.example.co.uk", "UPPER@EXAMPLE.COM"] {
        assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["", "plain", "@example.com", "a@", "a@localhost", "a b@example.com", "Name <a@example.com>"] {
        assert!(EmailAddress::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn passwords_never_appear_in_debug_output() {
    let p = NewPassword::parse("a very secret passphrase").expect("valid");
    assert!(!format!("{p:?}").contains("secret"));
}

#[test]
fn owners_and_admins_disable_others_within_their_rank() {
    let (svc, _) = service();
    let owner = block_on(svc.set_up_owner("Olive Owner", "owner@example.com", PW)).expect("setup");
    let admin = block_on(svc.create_user("Ada Admin", "admin@example.com", PW, Role::Admin)).expect("admin");
    let admin2 = block_on(svc.create_user("Abe Admin", "admin2@example.com", PW, Role::Admin)).expect("admin 2");
    let member = block_on(svc.create_user("Mia Member", "member@example.com", PW, Role::Member)).expect("member");

    let refused = |actor: &User, target: &User| {
        matches!(block_on(svc.set_disabled(actor, target.id, true)), Err(AccountError::Forbidden(_)))
    };
    assert!(refused(&owner, &owner), "nobody disables themselves");
    assert!(refused(&admin, &owner), "the owner is never disabled");
    assert!(refused(&admin, &admin2), "admins do not disable admins");
    assert!(refused(&member, &admin), "members disable nobody");
    assert!(matches!(block_on(svc.list_users(&member)), Err(AccountError::Forbidden(_))));
    assert_eq!(block_on(svc.list_users(&admin)).expect("list").len(), 4);

    let disabled = block_on(svc.set_disabled(&admin, member.id, true)).expect("admin disables a member");
    assert!(disabled.disabled);
    assert_eq!(disabled.session_generation, member.session_generation + 1, "disabling ends every session");
    assert!(matches!(block_on(svc.log_in(attempt("member@example.com", PW))), Err(AccountError::Disabled)));
    let enabled = block_on(svc.set_disabled(&owner, member.id, false)).expect("the owner re-enables");
    assert!(!enabled.disabled);
    assert!(block_on(svc.log_in(attempt("member@example.com", PW))).is_ok());
    block_on(svc.set_disabled(&owner, admin2.id, true)).expect("the owner disables an admin");
    assert!(matches!(block_on(svc.set_disabled(&owner, UserId(999), true)), Err(AccountError::UnknownUser)));
}

#[test]
fn ending_all_sessions_bumps_the_generation() {
    let (svc, _) = service();
    let owner = block_on(svc.set_up_owner("Olive Owner", "owner@example.com", PW)).expect("setup");
    block_on(svc.end_all_sessions(owner.id)).expect("end");
    let after = block_on(svc.user(owner.id)).expect("read").expect("exists");
    assert_eq!(after.session_generation, owner.session_generation + 1);
}

#[test]
fn an_sso_account_has_no_password_that_could_match() {
    let (svc, _) = service();
    let email = EmailAddress::parse("grace@acme.com").expect("valid email");
    let user = block_on(svc.create_sso_user("Grace", &email)).expect("create");
    assert_eq!(user.role, Role::Owner, "the first account of an empty instance is the owner");
    for password in ["", "grace@acme.com", PW] {
        assert!(
            matches!(block_on(svc.log_in(attempt("grace@acme.com", password))), Err(AccountError::WrongCredentials)),
            "{password:?} must not sign in an SSO-only account"
        );
    }
    let other = EmailAddress::parse("alan@acme.com").expect("valid email");
    assert_eq!(block_on(svc.create_sso_user("Alan", &other)).expect("create").role, Role::Member);
    assert!(matches!(block_on(svc.create_sso_user("Grace again", &email)), Err(AccountError::EmailTaken)));
}
