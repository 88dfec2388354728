use crate::helpers::*;

#[tokio::test]
async fn a_cross_origin_login_is_refused_with_403() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let evil = client_with_origin("https://evil.example");
    let r = evil
        .post(app.url("/api/login"))
        .form(&[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r).is_none());
}

#[tokio::test]
async fn a_cross_origin_logout_riding_on_the_session_cookie_is_refused() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let cookie = set_cookie(&app.log_in(OWNER_EMAIL, OWNER_PASSWORD).await).expect("cookie");
    let id = cookie.split(';').next().unwrap_or_default().to_owned();
    let r = reqwest::Client::new()
        .post(app.url("/api/logout"))
        .header("cookie", &id)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    // And without Origin or Referer, a request carrying a cookie is refused too.
    let r = reqwest::Client::new().post(app.url("/api/logout")).header("cookie", &id).send().await.expect("request");
    assert_eq!(r.status(), 403);
    assert_eq!(app.whoami().await.as_deref(), Some(OWNER_EMAIL), "the session survived");
}

#[tokio::test]
async fn a_cross_site_setup_is_refused_before_anything_is_created() {
    let app = spawn_app().await;
    let r = reqwest::Client::new()
        .post(app.url("/api/setup"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", &app.address)
        .form(&[
            ("name", "Eve"),
            ("email", "eve@example.com"),
            ("password", OWNER_PASSWORD),
            ("password_confirm", OWNER_PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&app.pool).await.expect("count");
    assert_eq!(users, 0);
}
