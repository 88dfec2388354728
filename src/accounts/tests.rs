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
    /// The acts the store was asked to record, as the SQLite store appends them.
    acts: Mutex<Vec<(crate::evidence::InstanceEvent, Acting)>>,
}

/// Whoever acts in these tests: the operator at the command line.
fn by() -> Acting {
    Acting::operator()
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
        by: &Acting,
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
        let act = crate::evidence::instance::user_created(&user, hash.is_some());
        self.acts.lock().expect("lock").push((act, by.clone()));
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
    async fn set_disabled(&self, id: UserId, disabled: bool, by: &Acting) -> Result<Option<User>, StoreError> {
        let mut users = self.users.lock().expect("lock");
        if users.iter().any(|(u, _)| u.id == id) {
            self.acts.lock().expect("lock").push((crate::evidence::instance::user_access(id, disabled), by.clone()));
        }
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
    let owner = block_on(svc.set_up_owner("Ada", "Ada@Example.com", PW, &by())).expect("setup");
    assert_eq!(owner.role, Role::Owner);
    assert_eq!(owner.email.as_str(), "ada@example.com");
    assert!(!block_on(svc.needs_setup()).expect("store"));
    let again = block_on(svc.set_up_owner("Eve", "eve@example.com", PW, &by()));
    assert!(matches!(again, Err(AccountError::AlreadySetUp)));
}

#[test]
fn short_passwords_and_bad_emails_are_refused() {
    let (svc, _) = service();
    assert!(matches!(
        block_on(svc.set_up_owner("Ada", "ada@example.com", "elevenchars", &by())),
        Err(AccountError::PasswordTooShort { min: 12 })
    ));
    assert!(matches!(block_on(svc.set_up_owner("Ada", "not-an-email", PW, &by())), Err(AccountError::InvalidEmail)));
    assert!(matches!(block_on(svc.set_up_owner("  ", "ada@example.com", PW, &by())), Err(AccountError::InvalidName)));
}

#[test]
fn the_first_user_created_from_the_command_line_is_the_owner() {
    let (svc, _) = service();
    let first = block_on(svc.create_user("Ada", "ada@example.com", PW, Role::Member, &by())).expect("create");
    assert_eq!(first.role, Role::Owner);
    let second = block_on(svc.create_user("Bob", "bob@example.com", PW, Role::Member, &by())).expect("create");
    assert_eq!(second.role, Role::Member);
    let dup = block_on(svc.create_user("Bob", "BOB@example.com", PW, Role::Member, &by()));
    assert!(matches!(dup, Err(AccountError::EmailTaken)));
}

#[test]
fn login_checks_the_password_case_insensitively_on_email() {
    let (svc, _) = service();
    block_on(svc.set_up_owner("Ada", "ada@example.com", PW, &by())).expect("setup");
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
    block_on(svc.set_up_owner("Ada", "ada@example.com", PW, &by())).expect("setup");
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
    block_on(svc.set_up_owner("Ada", "ada@example.com", PW, &by())).expect("setup");
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
    let owner = block_on(svc.set_up_owner("Olive Owner", "owner@example.com", PW, &by())).expect("setup");
    let admin = block_on(svc.create_user("Ada Admin", "admin@example.com", PW, Role::Admin, &by())).expect("admin");
    let admin2 = block_on(svc.create_user("Abe Admin", "admin2@example.com", PW, Role::Admin, &by())).expect("admin 2");
    let member =
        block_on(svc.create_user("Mia Member", "member@example.com", PW, Role::Member, &by())).expect("member");

    let refused = |actor: &User, target: &User| {
        matches!(block_on(svc.set_disabled(actor, target.id, true, &by())), Err(AccountError::Forbidden(_)))
    };
    assert!(refused(&owner, &owner), "nobody disables themselves");
    assert!(refused(&admin, &owner), "the owner is never disabled");
    assert!(refused(&admin, &admin2), "admins do not disable admins");
    assert!(refused(&member, &admin), "members disable nobody");
    assert!(matches!(block_on(svc.list_users(&member)), Err(AccountError::Forbidden(_))));
    assert_eq!(block_on(svc.list_users(&admin)).expect("list").len(), 4);

    let disabled = block_on(svc.set_disabled(&admin, member.id, true, &by())).expect("admin disables a member");
    assert!(disabled.disabled);
    assert_eq!(disabled.session_generation, member.session_generation + 1, "disabling ends every session");
    assert!(matches!(block_on(svc.log_in(attempt("member@example.com", PW))), Err(AccountError::Disabled)));
    let enabled = block_on(svc.set_disabled(&owner, member.id, false, &by())).expect("the owner re-enables");
    assert!(!enabled.disabled);
    assert!(block_on(svc.log_in(attempt("member@example.com", PW))).is_ok());
    block_on(svc.set_disabled(&owner, admin2.id, true, &by())).expect("the owner disables an admin");
    assert!(matches!(block_on(svc.set_disabled(&owner, UserId(999), true, &by())), Err(AccountError::UnknownUser)));
}

#[test]
fn ending_all_sessions_bumps_the_generation() {
    let (svc, _) = service();
    let owner = block_on(svc.set_up_owner("Olive Owner", "owner@example.com", PW, &by())).expect("setup");
    block_on(svc.end_all_sessions(owner.id)).expect("end");
    let after = block_on(svc.user(owner.id)).expect("read").expect("exists");
    assert_eq!(after.session_generation, owner.session_generation + 1);
}

#[test]
fn an_sso_account_has_no_password_that_could_match() {
    let (svc, _) = service();
    let email = EmailAddress::parse("grace@acme.com").expect("valid email");
    let user = block_on(svc.create_sso_user("Grace", &email, &by())).expect("create");
    assert_eq!(user.role, Role::Owner, "the first account of an empty instance is the owner");
    for password in ["", "grace@acme.com", PW] {
        assert!(
            matches!(block_on(svc.log_in(attempt("grace@acme.com", password))), Err(AccountError::WrongCredentials)),
            "{password:?} must not sign in an SSO-only account"
        );
    }
    let other = EmailAddress::parse("alan@acme.com").expect("valid email");
    assert_eq!(block_on(svc.create_sso_user("Alan", &other, &by())).expect("create").role, Role::Member);
    assert!(matches!(block_on(svc.create_sso_user("Grace again", &email, &by())), Err(AccountError::EmailTaken)));
}

#[test]
fn each_account_change_reaches_the_store_with_who_made_it_for_the_instance_chain() {
    use crate::evidence::instance::{InstanceEvent, SignIn, UserAccess, UserCreated};
    let store = Arc::new(MemoryStore::default());
    let policy = ThrottlePolicy { max_failures: 3, window: Duration::from_secs(60) };
    let svc =
        AccountService::new(store.clone(), Arc::new(ReversingHasher), Arc::new(TestClock::default()), policy, policy);
    let owner = block_on(svc.set_up_owner("Olive Owner", "owner@example.com", PW, &by())).expect("setup");
    let as_owner = Acting::user(&owner, Some("192.0.2.7"), Some("Firefox"));
    let member = block_on(svc.create_user("Mia", "mia@example.com", PW, Role::Member, &as_owner)).expect("member");
    let email = EmailAddress::parse("sso@example.com").expect("email");
    block_on(svc.create_sso_user("Sam", &email, &as_owner)).expect("sso user");
    block_on(svc.set_disabled(&owner, member.id, true, &as_owner)).expect("disabled");
    block_on(svc.set_disabled(&owner, member.id, false, &as_owner)).expect("enabled");
    // A refused change records nothing.
    assert!(block_on(svc.set_disabled(&member, owner.id, true, &as_owner)).is_err());

    let acts = store.acts.lock().expect("lock").clone();
    let created = |id: i64, role: &str, sign_in| {
        InstanceEvent::UserCreated(UserCreated { user: format!("user:{id}"), role: role.into(), sign_in })
    };
    let access = UserAccess { user: format!("user:{}", member.id.0) };
    assert_eq!(
        acts.iter().map(|(act, _)| act.clone()).collect::<Vec<_>>(),
        vec![
            created(1, "owner", SignIn::Password),
            created(2, "member", SignIn::Password),
            created(3, "member", SignIn::Sso),
            InstanceEvent::UserDisabled(access.clone()),
            InstanceEvent::UserEnabled(access),
        ]
    );
    assert_eq!(acts[0].1, by());
    assert!(acts[1..].iter().all(|(_, acting)| acting == &as_owner));
    assert_eq!(as_owner.actor.id.as_ref().map(|id| id.as_str()), Some("user:1"));
    assert_eq!(as_owner.personal.ip.as_ref().map(|t| t.as_str()), Some("192.0.2.7"));
}
