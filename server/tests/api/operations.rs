use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_while_the_process_lives() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn readyz_answers_when_the_database_does_and_not_otherwise() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.pool.close().await;
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn metrics_count_requests_by_route_in_prometheus_format() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    let body = r.text().await.expect("body");
    assert!(body.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"), "{body}");
    assert!(body.contains("http_request_duration_seconds_bucket"), "{body}");
    assert!(body.contains("db_pool_connections"), "{body}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/healthz", "/setup", "/no-such-page"] {
        let r = app.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("object-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin", "{path}");
        assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain http");
        assert!(h.get("x-request-id").is_some(), "{path}");
    }
}

#[tokio::test]
async fn inline_scripts_of_a_page_carry_the_nonce_its_policy_allows() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/setup")).header("accept", "text/html").send().await.expect("request");
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    let nonce =
        csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the policy").to_owned();
    let html = r.text().await.expect("body");
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{html}");
    // A second page gets a different nonce.
    let r2 = app.client.get(app.url("/setup")).header("accept", "text/html").send().await.expect("request");
    assert!(!r2.headers()["content-security-policy"].to_str().expect("ascii").contains(&nonce));
}

#[tokio::test]
async fn a_sane_request_id_is_kept_and_a_bad_one_replaced() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.expect("request");
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r =
        app.client.get(app.url("/healthz")).header("x-request-id", "bad id\twith junk").send().await.expect("request");
    let id = r.headers()["x-request-id"].to_str().expect("ascii");
    assert_eq!(id.len(), 24, "{id}");
}

#[tokio::test]
async fn an_unknown_page_is_a_404() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/no-such-page")).header("accept", "text/html").send().await.expect("request");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn pages_are_gzipped_for_browsers_that_ask_and_pdfs_are_not() {
    let app = spawn_app().await;
    app.set_up_owner().await;
    let page = app.client.get(app.url("/")).header("accept-encoding", "gzip").send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers().get("content-encoding").map(|v| v.to_str().unwrap_or("")), Some("gzip"));
    let plain = app.client.get(app.url("/")).send().await.expect("page");
    assert!(plain.headers().get("content-encoding").is_none(), "only when asked");
    let id = app.upload_ok("c.pdf", pdf(3, "compress me")).await;
    let file = app
        .client
        .get(app.url(&format!("/documents/{id}/file")))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("file");
    assert_eq!(file.status(), 200);
    assert!(file.headers().get("content-encoding").is_none(), "PDFs go as stored");
    assert!(file.headers().contains_key("content-length"));
}
