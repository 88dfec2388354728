//! Sessions as their user sees them: the list of devices, revoking one, signing out everywhere,
//! an administrator disabling an account, and the cheap check open tabs poll.

use crate::helpers::*;
use attesta_core::{AccountService, Role, ThrottlePolicy};
use reqwest::Client;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const MEMBER_EMAIL: &str = "grace@example.com";
pub(crate) const MEMBER_PASSWORD: &str = "another long passphrase";

/// A browser of its own (own cookie jar) on `app`, with a user agent of `ua`.
fn browser(app: &TestApp, ua: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.address.parse().expect("origin"));
    headers.insert("accept", reqwest::header::HeaderValue::from_static("application/json"));
    Client::builder()
        .user_agent(ua.to_owned())
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

pub(crate) async fn log_in(app: &TestApp, client: &Client, email: &str, password: &str) {
    let r = client
        .post(app.url("/api/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success() || r.status().is_redirection(), "login: {}", r.status());
}

/// Whether `GET /auth/session` says this browser is signed in.
async fn check(app: &TestApp, client: &Client) -> bool {
    let r = client.get(app.url("/auth/session")).send().await.expect("check");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let body: serde_json::Value = r.json().await.expect("json");
    body["signed_in"].as_bool().expect("signed_in")
}

async fn sessions(app: &TestApp, client: &Client) -> Vec<serde_json::Value> {
    let r = client.post(app.url("/api/sessions")).send().await.expect("sessions");
    assert!(r.status().is_success(), "sessions: {}", r.status());
    r.json().await.expect("json")
}

pub(crate) async fn add_member(app: &TestApp) {
    let accounts = AccountService::new(
        Arc::new(attesta_server::store::accounts::SqlStore::new(
            app.pool.clone(),
            attesta_server::evidence::InstanceLog::new(app.evidence.clone(), app.ports.clone()),
        )),
        Arc::new(attesta_server::password::Argon2Hasher::new(app.ports.entropy.clone())),
        app.ports.clock.clone(),
        ThrottlePolicy { max_failures: 5, window: Duration::from_secs(900) },
        ThrottlePolicy { max_failures: 50, window: Duration::from_secs(900) },
    );
    let by = attesta_core::evidence::Acting::operator();
    accounts.create_user("Grace Hopper", MEMBER_EMAIL, MEMBER_PASSWORD, Role::Member, &by).await.expect("member");
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn the_session_list_shows_each_device_and_revoking_one_ends_it_at_once() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let laptop = browser(&app, FIREFOX);
    let phone = browser(&app, IPHONE);
    log_in(&app, &laptop, OWNER_EMAIL, OWNER_PASSWORD).await;
    log_in(&app, &phone, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(check(&app, &laptop).await);
    assert!(check(&app, &phone).await);
    assert!(!check(&app, &browser(&app, FIREFOX)).await, "no cookie, no session");

    let listed = sessions(&app, &laptop).await;
    // The owner's setup session (the test client) is a third one.
    assert_eq!(listed.len(), 3, "{listed:#?}");
    let current: Vec<_> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Firefox on Linux");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    let phone_row = listed.iter().find(|s| s["device"] == "Safari on iPhone").expect("the phone is listed");
    let handle = phone_row["handle"].as_str().expect("handle").to_owned();

    let r =
        laptop.post(app.url("/api/sessions/revoke")).form(&[("handle", handle.as_str())]).send().await.expect("revoke");
    assert!(r.status().is_success(), "revoke: {}", r.status());
    assert!(!check(&app, &phone).await, "the revoked session ends on its next request");
    assert!(check(&app, &laptop).await, "the others stay");
    let r = phone.post(app.url("/api/sessions")).send().await.expect("request");
    assert_eq!(r.status(), 401);
    assert_eq!(sessions(&app, &laptop).await.len(), 2);

    // Revoking it again, or someone else's session, finds nothing.
    let r =
        laptop.post(app.url("/api/sessions/revoke")).form(&[("handle", handle.as_str())]).send().await.expect("again");
    assert_eq!(r.status(), 404);
    let r = laptop.post(app.url("/api/sessions/revoke")).form(&[("handle", "not a handle")]).send().await.expect("bad");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_and_keeping_this_one_keeps_it() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let laptop = browser(&app, FIREFOX);
    let phone = browser(&app, IPHONE);
    log_in(&app, &laptop, OWNER_EMAIL, OWNER_PASSWORD).await;
    log_in(&app, &phone, OWNER_EMAIL, OWNER_PASSWORD).await;

    let r = laptop.post(app.url("/api/sessions/end-all")).form(&[("keep_this", "true")]).send().await.expect("others");
    assert!(r.status().is_success());
    assert_eq!(r.json::<u64>().await.expect("count"), 2, "the phone and the setup session");
    assert!(check(&app, &laptop).await);
    assert!(!check(&app, &phone).await);
    assert_eq!(app.whoami().await, None);

    log_in(&app, &phone, OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = laptop.post(app.url("/api/sessions/end-all")).form(&[("keep_this", "false")]).send().await.expect("all");
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert!(!check(&app, &laptop).await);
    assert!(!check(&app, &phone).await);
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_sessions WHERE revoked_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(live, 0);
}

#[tokio::test]
async fn signing_out_on_one_device_signs_out_every_device() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let laptop = browser(&app, FIREFOX);
    let phone = browser(&app, IPHONE);
    log_in(&app, &laptop, OWNER_EMAIL, OWNER_PASSWORD).await;
    log_in(&app, &phone, OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = phone.post(app.url("/api/logout")).send().await.expect("logout");
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert!(!check(&app, &phone).await);
    assert!(!check(&app, &laptop).await, "the laptop's session ended with the phone's sign-out");
    assert_eq!(app.whoami().await, None, "and the setup session too");
    log_in(&app, &laptop, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(check(&app, &laptop).await, "signing in again works");
}

#[tokio::test]
async fn a_session_cookie_kept_after_logout_lets_nobody_in() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let r = app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    let cookie = set_cookie(&r).expect("cookie");
    let pair = cookie.split(';').next().expect("name=value").to_owned();
    app.log_out().await;
    let stale =
        reqwest::Client::new().get(app.url("/auth/session")).header("cookie", pair).send().await.expect("replay");
    let body: serde_json::Value = stale.json().await.expect("json");
    assert_eq!(body["signed_in"], false);
}

#[tokio::test]
async fn an_admin_disabling_a_user_ends_their_sessions_and_sign_ins() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    add_member(&app).await;
    let member = browser(&app, IPHONE);
    log_in(&app, &member, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    assert!(check(&app, &member).await);

    // Members may neither list nor disable users.
    let r = member.post(app.url("/api/users")).send().await.expect("list");
    assert_eq!(r.status(), 403);
    let users: Vec<serde_json::Value> =
        app.client.post(app.url("/api/users")).send().await.expect("list").json().await.expect("json");
    assert_eq!(users.len(), 2);
    let owner = users.iter().find(|u| u["email"] == OWNER_EMAIL).expect("owner");
    assert_eq!(owner["can_change"], false, "nobody disables themselves");
    let grace = users.iter().find(|u| u["email"] == MEMBER_EMAIL).expect("member");
    assert_eq!(grace["can_change"], true);
    let owner_id = owner["id"].to_string();
    let r = member
        .post(app.url("/api/users/disabled"))
        .form(&[("id", owner_id.as_str()), ("disabled", "true")])
        .send()
        .await
        .expect("try");
    assert_eq!(r.status(), 403);

    let id = grace["id"].to_string();
    let r = app.post_form("/api/users/disabled", &[("id", id.as_str()), ("disabled", "true")]).await;
    assert!(r.status().is_success(), "disable: {}", r.status());
    assert!(!check(&app, &member).await, "disabling ends the session at once");
    let again = browser(&app, IPHONE);
    let r = again
        .post(app.url("/api/login"))
        .form(&[("email", MEMBER_EMAIL), ("password", MEMBER_PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 401);

    let r = app.post_form("/api/users/disabled", &[("id", id.as_str()), ("disabled", "false")]).await;
    assert!(r.status().is_success());
    log_in(&app, &again, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    assert!(check(&app, &again).await);
}
