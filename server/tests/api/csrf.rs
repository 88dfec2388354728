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

/// A top-level link from another site carries the `Lax` session cookie: it must not make the
/// signed-in person download (and so record `document.downloaded` in their name). A link on
/// our own pages, and a URL the person typed or bookmarked, still work and are recorded.
#[tokio::test]
async fn a_cross_site_link_to_a_file_records_nothing_in_the_signed_in_users_name() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let id = app.upload_ok("agreement.pdf", pdf(1, "Agreement")).await;
    let doc = attesta_core::evidence::DocumentId::parse(&id).expect("id");
    let events = || async { app.evidence.events_of(&doc).await.expect("events").len() };
    let before = events().await;
    let paths = [
        format!("/documents/{id}/file?download=1"),
        format!("/documents/{id}/file"),
        format!("/documents/{id}/evidence.json"),
    ];
    for path in &paths {
        for (site, referer) in [("cross-site", "https://evil.example/"), ("same-site", "https://evil.sign.example/")] {
            let r = app
                .client
                .get(app.url(path))
                .header("sec-fetch-site", site)
                .header("sec-fetch-mode", "navigate")
                .header("referer", referer)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 403, "{path} from {site}");
            assert!(r.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
            let body = r.text().await.expect("body");
            assert!(body.contains("Open the document") && body.contains(&path.replace('&', "&amp;")), "{body}");
        }
        // An old browser without fetch metadata, from another site's page.
        let r =
            app.client.get(app.url(path)).header("referer", "https://evil.example/x").send().await.expect("request");
        assert_eq!(r.status(), 403, "{path} with a foreign referer");
    }
    assert_eq!(events().await, before, "nothing was recorded");

    for (n, site) in ["same-origin", "none"].into_iter().enumerate() {
        let r = app.client.get(app.url(&paths[0])).header("sec-fetch-site", site).send().await.expect("request");
        assert_eq!(r.status(), 200, "{site}");
        assert_eq!(events().await, before + n + 1, "the {site} download is recorded");
    }
}
