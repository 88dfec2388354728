use crate::helpers::*;
use std::time::Duration;

#[tokio::test]
async fn a_fresh_instance_sends_visitors_to_setup() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/")).header("accept", "text/html").send().await.expect("request");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/setup");
}

#[tokio::test]
async fn setup_creates_the_owner_and_signs_them_in() {
    let app = spawn_app().await;
    let r = app.set_up("Ada Lovelace", OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let cookie = set_cookie(&r).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http must not set Secure: {cookie}");
    assert_eq!(app.whoami().await.as_deref(), Some(OWNER_EMAIL));

    let role: String = sqlx::query_scalar("SELECT role FROM users").fetch_one(&app.pool).await.expect("row");
    assert_eq!(role, "owner");
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(&app.pool).await.expect("row");
    assert!(hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn setup_is_refused_once_an_owner_exists() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let other = client_with_origin(&app.address);
    let r = other
        .post(app.url("/api/setup"))
        .form(&[
            ("name", "Eve"),
            ("email", "eve@example.com"),
            ("password", OWNER_PASSWORD),
            ("password_confirm", OWNER_PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 409);
    assert!(error_message(r).await.contains("Setup is already done"));
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&app.pool).await.expect("count");
    assert_eq!(users, 1);
}

#[tokio::test]
async fn setup_refuses_a_short_password_and_names_the_field() {
    let app = spawn_app().await;
    let r = app.set_up("Ada", OWNER_EMAIL, "short pass").await;
    assert_eq!(r.status(), 422);
    let body = error_message(r).await;
    assert!(body.contains("password") && body.contains("12"), "{body}");
}

#[tokio::test]
async fn login_succeeds_with_the_right_password() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    app.log_out().await;
    assert_eq!(app.whoami().await, None);
    let r = app.log_in("ADA@example.com", OWNER_PASSWORD).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(app.whoami().await.as_deref(), Some(OWNER_EMAIL));
}

#[tokio::test]
async fn login_fails_with_a_wrong_password_and_says_so() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    app.log_out().await;
    let r = app.log_in(OWNER_EMAIL, "not the password at all").await;
    assert_eq!(r.status(), 401);
    assert!(error_message(r).await.contains("Wrong email or password"));
    assert_eq!(app.whoami().await, None);
}

#[tokio::test]
async fn login_for_an_unknown_account_gives_the_same_answer() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    app.log_out().await;
    let r = app.log_in("nobody@example.com", OWNER_PASSWORD).await;
    assert_eq!(r.status(), 401);
    assert!(error_message(r).await.contains("Wrong email or password"));
}

#[tokio::test]
async fn the_session_id_is_cycled_on_login() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let first = set_cookie(&app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await).expect("cookie");
    let second = set_cookie(&app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await).expect("cookie");
    let id = |c: &str| c.split(';').next().unwrap_or_default().to_owned();
    assert_ne!(id(&first), id(&second));

    // The old id no longer identifies anyone.
    let stale = reqwest::Client::new();
    let r = stale
        .post(app.url("/api/session"))
        .header("cookie", id(&first))
        .header("origin", &app.address)
        .send()
        .await
        .expect("request");
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(body["user"].is_null(), "{body}");
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let cookie = set_cookie(&app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await).expect("cookie");
    let r = app.log_out().await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(app.whoami().await, None);
    // Replaying the old cookie does not bring the session back.
    let id = cookie.split(';').next().unwrap_or_default().to_owned();
    let r = reqwest::Client::new()
        .post(app.url("/api/session"))
        .header("cookie", id)
        .header("origin", &app.address)
        .send()
        .await
        .expect("request");
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(body["user"].is_null(), "{body}");
}

#[tokio::test]
async fn repeated_failures_are_throttled_and_the_owner_gets_back_in_after_the_window() {
    let clock = std::sync::Arc::new(attesta_server::clock::MovableClock::default());
    let app = spawn_app_with(Options {
        failure_window: Duration::from_secs(2),
        max_failures_per_account: 3,
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    app.set_up_owner().await;
    app.log_out().await;
    for _ in 0..3 {
        assert_eq!(app.log_in(OWNER_EMAIL, "a wrong password!").await.status(), 401);
    }
    // Locked: even the right password gets 429, with a clear message and Retry-After.
    let r = app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(error_message(r).await.contains("Too many failed sign-in attempts"));

    // The window passes on the app's clock: no waiting.
    clock.advance(Duration::from_millis(2100));
    let r = app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(app.whoami().await.as_deref(), Some(OWNER_EMAIL));
}

#[tokio::test]
async fn failures_from_one_address_are_throttled_across_accounts() {
    let app = spawn_app_with(Options { max_failures_per_address: 4, ..Options::default() }).await;
    app.set_up_owner().await;
    app.log_out().await;
    for i in 0..4 {
        let r = app.log_in(&format!("guess{i}@example.com"), "a wrong password!").await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(app.log_in("another@example.com", "a wrong password!").await.status(), 429);
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure_host_only_and_hsts_is_sent() {
    let app =
        spawn_app_with(Options { public_url: Some("https://sign.example.test".to_owned()), ..Options::default() })
            .await;
    let client = client_with_origin("https://sign.example.test");
    let r = client
        .post(app.url("/api/setup"))
        .form(&[
            ("name", "Ada"),
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
            ("password_confirm", OWNER_PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-attesta_session="))
        .expect("a __Host- session cookie")
        .to_owned();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    let hsts = r.headers()["strict-transport-security"].to_str().expect("ascii");
    assert!(hsts.contains("max-age="), "{hsts}");
}
