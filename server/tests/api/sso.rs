//! Single sign-on against a real OpenID provider (oidc-provider, `scripts/services/idp.sh`).
//!
//! Each test starts the app configured for the provider and walks the whole flow as a browser
//! would, with cookies and without following redirects automatically: the app's start URL, the
//! provider's login and consent forms, the callback. Failures are produced through the provider
//! itself: a client whose ID tokens the provider's front corrupts, a code used twice, a token
//! that expires while the app's clock moves.
//!
//! Without `ATTESTA_TEST_OIDC_*` (from `scripts/services/idp.sh env`) each test says why it is
//! skipped and passes, unless `ATTESTA_TEST_REQUIRE_SERVICES=1` (set by scripts/test.sh), which
//! makes a missing provider a failure.

use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, Options, TestApp, spawn_app_with};
use attesta_server::clock::MovableClock;
use attesta_server::config::Config;
use reqwest::{Client, StatusCode, redirect};
use std::sync::Arc;
use std::time::Duration;

struct Idp {
    issuer: String,
    client_id: String,
    client_secret: String,
    tampered_client_id: String,
    tampered_client_secret: String,
}

/// The provider from the environment, or `None` (the test is skipped) when it is not set.
fn idp(test: &str) -> Option<Idp> {
    let var = |name: &str| std::env::var(format!("ATTESTA_TEST_OIDC_{name}")).ok().filter(|v| !v.is_empty());
    match (
        var("ISSUER"),
        var("CLIENT_ID"),
        var("CLIENT_SECRET"),
        var("TAMPERED_CLIENT_ID"),
        var("TAMPERED_CLIENT_SECRET"),
    ) {
        (
            Some(issuer),
            Some(client_id),
            Some(client_secret),
            Some(tampered_client_id),
            Some(tampered_client_secret),
        ) => Some(Idp { issuer, client_id, client_secret, tampered_client_id, tampered_client_secret }),
        _ if crate::completion::validators::services_required() => {
            panic!(
                "{test}: ATTESTA_TEST_OIDC_* are not set but ATTESTA_TEST_REQUIRE_SERVICES=1 (scripts/services/idp.sh start)"
            )
        }
        _ => {
            eprintln!("SKIPPED {test}: ATTESTA_TEST_OIDC_* are not set (eval \"$(scripts/services/idp.sh env)\")");
            None
        }
    }
}

/// How a test's app is set up for the provider.
struct Setup {
    tampered_client: bool,
    configure: Box<dyn FnOnce(&mut Config) + Send>,
    data: Option<tempfile::TempDir>,
}

impl Default for Setup {
    fn default() -> Self {
        Self { tampered_client: false, configure: Box::new(|_| {}), data: None }
    }
}

/// An app signing in through `idp` (people from acme.test get accounts), and its clock.
async fn spawn_sso_app(idp: &Idp, setup: Setup) -> (TestApp, Arc<MovableClock>) {
    let (client_id, secret) = match setup.tampered_client {
        true => (idp.tampered_client_id.clone(), idp.tampered_client_secret.clone()),
        false => (idp.client_id.clone(), idp.client_secret.clone()),
    };
    let issuer = idp.issuer.clone();
    let configure = setup.configure;
    let clock = Arc::new(MovableClock::default());
    let mut options = Options::configured(move |c| {
        c.sso.issuer_url = issuer;
        c.sso.client_id = client_id;
        c.sso.client_secret = secret.into();
        c.sso.display_name = "Acme".to_owned();
        c.sso.allowed_domains = vec!["acme.test".to_owned()];
        configure(c);
    });
    options.clock = Some(clock.clone());
    options.data = setup.data;
    (spawn_app_with(options).await, clock)
}

/// A browser of its own for the provider's pages (cookies, no automatic redirects).
fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(redirect::Policy::none()).build().expect("client")
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).expect("a Location header").to_owned()
}

/// Absolute form of a Location the provider sent.
fn absolute(base: &str, location: &str) -> String {
    reqwest::Url::parse(base).expect("base URL").join(location).expect("location URL").to_string()
}

/// Starts a sign-in at the app (`start` is the path with its query): the provider URL it sends to.
async fn start(app: &TestApp, start: &str) -> String {
    let r = app.get(start).await;
    assert!(r.status().is_redirection(), "start answered {}", r.status());
    let to = location(&r);
    assert!(to.contains("code_challenge_method=S256"), "PKCE S256 is asked for: {to}");
    to
}

/// Signs in at the provider as `login` (its dev form takes any password) and consents; returns
/// the callback URL the provider sends the browser back to.
async fn authenticate(app: &TestApp, authorize: &str, login: &str) -> String {
    let idp = browser();
    let mut url = authorize.to_owned();
    for _ in 0..12 {
        if url.starts_with(&app.address) {
            return url;
        }
        let r = idp.get(&url).send().await.expect("provider request");
        if r.status().is_redirection() {
            url = absolute(&url, &location(&r));
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "provider page {url}");
        let page = r.text().await.expect("page");
        let form: Vec<(&str, &str)> = if page.contains(r#"name="prompt" value="login""#) {
            vec![("prompt", "login"), ("login", login), ("password", "any-password")]
        } else if page.contains(r#"name="prompt" value="consent""#) {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected provider page at {url}: {page}");
        };
        let r = idp.post(&url).form(&form).send().await.expect("form post");
        assert!(r.status().is_redirection(), "the provider's form answered {}", r.status());
        url = absolute(&url, &location(&r));
    }
    panic!("the provider never sent the browser back to the app (last URL {url})");
}

/// The whole flow up to the callback URL, not yet visited.
async fn callback_url(app: &TestApp, login: &str) -> String {
    let authorize = start(app, "/auth/sso/start").await;
    authenticate(app, &authorize, login).await
}

/// Visits the callback; where the app sends the browser.
async fn visit(app: &TestApp, url: &str) -> String {
    let r = app.client.get(url).send().await.expect("callback request");
    assert!(r.status().is_redirection(), "callback answered {}", r.status());
    location(&r)
}

async fn sign_in(app: &TestApp, login: &str) -> String {
    let url = callback_url(app, login).await;
    visit(app, &url).await
}

fn query_param(url: &str, name: &str) -> String {
    let url = reqwest::Url::parse(url).expect("URL");
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).expect("parameter")
}

#[tokio::test]
async fn a_first_sso_sign_in_creates_the_account_and_signs_in() {
    let Some(idp) = idp("a_first_sso_sign_in_creates_the_account_and_signs_in") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;

    let authorize = start(&app, "/auth/sso/start?next=/documents/new").await;
    let callback = authenticate(&app, &authorize, "grace@acme.test").await;
    assert_eq!(visit(&app, &callback).await, "/documents/new", "back where the person was going");

    assert_eq!(app.whoami().await.as_deref(), Some("grace@acme.test"), "the session works");
    let (role, hash): (String, Option<String>) =
        sqlx::query_as("SELECT role, password_hash FROM users WHERE email = 'grace@acme.test'")
            .fetch_one(&app.pool)
            .await
            .expect("the user");
    assert_eq!(role, "owner", "the first account of an empty instance is the owner");
    assert_eq!(hash, None, "an SSO account has no password");
    let (issuer, subject): (String, String) =
        sqlx::query_as("SELECT issuer, subject FROM sso_identities").fetch_one(&app.pool).await.expect("identity");
    assert_eq!((issuer.as_str(), subject.as_str()), (idp.issuer.as_str(), "grace@acme.test"));

    // Signing in again (a new session) finds the same account.
    app.log_out().await;
    assert_eq!(app.whoami().await, None);
    assert_eq!(sign_in(&app, "grace@acme.test").await, "/");
    assert_eq!(app.whoami().await.as_deref(), Some("grace@acme.test"));
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test]
async fn next_never_leaves_the_site() {
    let Some(idp) = idp("next_never_leaves_the_site") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    let authorize = start(&app, "/auth/sso/start?next=//evil.example/x").await;
    let callback = authenticate(&app, &authorize, "ken@acme.test").await;
    assert_eq!(visit(&app, &callback).await, "/");
}

#[tokio::test]
async fn a_disallowed_domain_is_refused_and_creates_nothing() {
    let Some(idp) = idp("a_disallowed_domain_is_refused_and_creates_nothing") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    assert_eq!(sign_in(&app, "mallory@other.test").await, "/login?sso_error=domain");
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("sso_identities").await, 0);
}

#[tokio::test]
async fn an_unverified_email_is_refused() {
    let Some(idp) = idp("an_unverified_email_is_refused") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    assert_eq!(sign_in(&app, "unverified+eve@acme.test").await, "/login?sso_error=email_unverified");
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn an_existing_local_account_is_linked_only_when_configured() {
    let Some(idp) = idp("an_existing_local_account_is_linked_only_when_configured") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    app.set_up_owner().await;
    app.log_out().await;
    assert_eq!(sign_in(&app, OWNER_EMAIL).await, "/login?sso_error=account_exists");
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.count("sso_identities").await, 0);

    let linking = Setup { configure: Box::new(|c| c.sso.link_existing_accounts = true), ..Setup::default() };
    let (app, _) = spawn_sso_app(&idp, linking).await;
    app.set_up_owner().await;
    app.log_out().await;
    assert_eq!(sign_in(&app, OWNER_EMAIL).await, "/");
    assert_eq!(app.whoami().await.as_deref(), Some(OWNER_EMAIL));
    assert_eq!(app.count("users").await, 1, "linked, not duplicated");
    assert_eq!(app.count("sso_identities").await, 1);
    // The local password still works beside SSO.
    app.log_out().await;
    let r = app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "password sign-in: {}", r.status());
}

#[tokio::test]
async fn a_wrong_state_is_refused_and_uses_up_the_sign_in() {
    let Some(idp) = idp("a_wrong_state_is_refused_and_uses_up_the_sign_in") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    let callback = callback_url(&app, "sam@acme.test").await;
    let state = query_param(&callback, "state");
    let forged = callback.replace(&format!("state={state}"), "state=forged-state");
    assert_eq!(visit(&app, &forged).await, "/login?sso_error=state");
    // The flow was taken out by the refused callback: the genuine answer no longer works either.
    assert_eq!(visit(&app, &callback).await, "/login?sso_error=state");
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn a_callback_from_another_browser_is_refused() {
    let Some(idp) = idp("a_callback_from_another_browser_is_refused") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    let callback = callback_url(&app, "tom@acme.test").await;
    // An attacker's callback URL opened in a victim's browser (login CSRF): no flow there.
    let other = crate::helpers::client_with_origin(&app.address);
    let r = other.get(&callback).send().await.expect("request");
    assert_eq!(location(&r), "/login?sso_error=state");
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn a_replayed_callback_or_code_is_refused() {
    let Some(idp) = idp("a_replayed_callback_or_code_is_refused") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    let callback = callback_url(&app, "rita@acme.test").await;
    assert_eq!(visit(&app, &callback).await, "/");
    // The same URL again: its sign-in is used up.
    assert_eq!(visit(&app, &callback).await, "/login?sso_error=state");

    // The same code under a fresh, genuine state: the provider refuses to exchange it twice.
    app.log_out().await;
    let authorize = start(&app, "/auth/sso/start").await;
    let fresh_state = query_param(&authorize, "state");
    let old_state = query_param(&callback, "state");
    let replay = callback.replace(&format!("state={old_state}"), &format!("state={fresh_state}"));
    assert_eq!(visit(&app, &replay).await, "/login?sso_error=token");
    assert_eq!(app.whoami().await, None);
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    let Some(idp) = idp("a_tampered_id_token_is_refused") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup { tampered_client: true, ..Setup::default() }).await;
    assert_eq!(sign_in(&app, "trudy@acme.test").await, "/login?sso_error=token");
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let Some(idp) = idp("an_expired_id_token_is_refused") else { return };
    let (app, clock) = spawn_sso_app(&idp, Setup::default()).await;
    let callback = callback_url(&app, "olga@acme.test").await;
    // The provider's ID tokens live 5 minutes; the sign-in itself may take 10.
    clock.advance(Duration::from_secs(6 * 60));
    assert_eq!(visit(&app, &callback).await, "/login?sso_error=expired");
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn a_sign_in_left_too_long_at_the_provider_is_refused() {
    let Some(idp) = idp("a_sign_in_left_too_long_at_the_provider_is_refused") else { return };
    let (app, clock) = spawn_sso_app(&idp, Setup::default()).await;
    let callback = callback_url(&app, "paul@acme.test").await;
    clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(visit(&app, &callback).await, "/login?sso_error=state");
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_with_sso() {
    let Some(idp) = idp("a_disabled_user_cannot_sign_in_with_sso") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    assert_eq!(sign_in(&app, "dora@acme.test").await, "/");
    app.log_out().await;
    sqlx::query("UPDATE users SET disabled = 1 WHERE email = 'dora@acme.test'")
        .execute(&app.pool)
        .await
        .expect("disable");
    assert_eq!(sign_in(&app, "dora@acme.test").await, "/login?sso_error=disabled");
    assert_eq!(app.whoami().await, None);
}

#[tokio::test]
async fn with_sso_only_password_sign_in_and_setup_are_refused() {
    let Some(idp) = idp("with_sso_only_password_sign_in_and_setup_are_refused") else { return };
    // A password account made before SSO became the only way in.
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    app.set_up_owner().await;
    let data = app.stop().await;

    let only = Setup { configure: Box::new(|c| c.sso.only = true), data: Some(data), ..Setup::default() };
    let (app, _) = spawn_sso_app(&idp, only).await;
    let r = app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the right password is refused too");
    assert_eq!(app.whoami().await, None);
    let r = app.set_up("Eve", "eve@acme.test", OWNER_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = app.post_form("/api/session", &[]).await;
    let state: serde_json::Value = r.json().await.expect("json");
    assert_eq!(state["sso"]["only"], true);
    assert_eq!(state["sso"]["display_name"], "Acme");

    // SSO still signs people in.
    assert_eq!(sign_in(&app, "ivy@acme.test").await, "/");
    assert_eq!(app.whoami().await.as_deref(), Some("ivy@acme.test"));
}

#[tokio::test]
async fn the_login_page_offers_the_provider_and_explains_a_refusal() {
    let Some(idp) = idp("the_login_page_offers_the_provider_and_explains_a_refusal") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    app.set_up_owner().await;
    app.log_out().await;
    let page = app.client.get(app.url("/login?sso_error=domain")).header("accept", "text/html").send().await;
    let page = page.expect("login page");
    // The status and headers too: once, under load, this page came back empty.
    let (status, headers) = (page.status(), format!("{:?}", page.headers()));
    let page = page.text().await.expect("html");
    assert!(
        page.contains(r#"data-testid="sso-login""#) && page.contains("Sign in with Acme"),
        "{status} {headers}\n{page}"
    );
    assert!(page.contains(r#"href="/auth/sso/start""#));
    assert!(page.contains(r#"data-testid="sso-error""#) && page.contains("not created"), "{page}");
    assert!(page.contains(r#"name="password""#), "the password form stays beside SSO");

    let page = app.client.get(app.url("/login?sso_error=%3Cscript%3E")).header("accept", "text/html").send().await;
    let page = page.expect("login page").text().await.expect("html");
    assert!(!page.contains(r#"data-testid="sso-error""#), "unknown codes show nothing");
}

#[tokio::test]
async fn the_provider_answering_with_an_error_is_refused_as_cancelled() {
    let Some(idp) = idp("the_provider_answering_with_an_error_is_refused_as_cancelled") else { return };
    let (app, _) = spawn_sso_app(&idp, Setup::default()).await;
    let authorize = start(&app, "/auth/sso/start").await;
    let state = query_param(&authorize, "state");
    let url = app.url(&format!("/auth/sso/callback?error=access_denied&state={state}"));
    assert_eq!(visit(&app, &url).await, "/login?sso_error=cancelled");
}

/// A provider of the test's own (rotating the shared one's keys would break the sign-ins of
/// tests running beside it), stopped when dropped.
struct PrivateIdp {
    child: std::process::Child,
    issuer: String,
}

impl PrivateIdp {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/services/idp");
        let child = std::process::Command::new("node")
            .arg("idp.mjs")
            .current_dir(&dir)
            .env("IDP_PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs idp.mjs (scripts/services/idp.sh install)");
        let idp = Self { child, issuer: format!("http://127.0.0.1:{port}") };
        let discovery = format!("{}/.well-known/openid-configuration", idp.issuer);
        // As long as `idp.sh start` waits (IDP_START_TIMEOUT): node loading oidc-provider took
        // over 10 s once on two busy cores while the other tests ran.
        for _ in 0..300 {
            if reqwest::get(&discovery).await.is_ok_and(|r| r.status().is_success()) {
                return idp;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the private provider did not start on port {port}");
    }
}

impl Drop for PrivateIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_provider_key_rotation_needs_no_restart() {
    let Some(shared) = idp("a_provider_key_rotation_needs_no_restart") else { return };
    let private = PrivateIdp::start().await;
    let idp = Idp { issuer: private.issuer.clone(), ..shared };
    let (app, clock) = spawn_sso_app(&idp, Setup::default()).await;
    assert_eq!(sign_in(&app, "rosa@acme.test").await, "/", "discovery fetched the first key");
    app.log_out().await;

    let r = reqwest::Client::new().post(format!("{}/test/rotate-keys", idp.issuer)).send().await.expect("rotate");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Within the refetch floor, a token under the new key is not trusted (nor the key fetched).
    assert_eq!(sign_in(&app, "rosa@acme.test").await, "/login?sso_error=token");
    // Once the floor has passed, the unknown key makes the app fetch the key set again.
    clock.advance(attesta_server::sso::KEYS_REFETCH_FLOOR + Duration::from_secs(1));
    assert_eq!(sign_in(&app, "rosa@acme.test").await, "/");
    assert_eq!(app.whoami().await.as_deref(), Some("rosa@acme.test"));
}
