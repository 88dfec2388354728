//! Cache headers: the content-hashed client files are kept for a year, other static files are
//! revalidated, and pages (which show private data) are never stored.

use crate::helpers::{Options, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A site root as `cargo leptos build` with `hash-files` leaves it, and its hash file.
fn built_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let pkg = dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).expect("pkg");
    std::fs::write(pkg.join("attesta.Js1Hash_-x.js"), "export default function init() {}").expect("js");
    std::fs::write(pkg.join("attesta.Wasm2Hash.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    std::fs::write(pkg.join("attesta.Css3Hash.css"), "body { margin: 0 }").expect("css");
    // A file whose name only looks hashed: not in the hash file, so not immutable.
    std::fs::write(pkg.join("attesta.Old9Hash.js"), "// an earlier build").expect("old");
    std::fs::write(dir.path().join("site/favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").expect("icon");
    std::fs::write(dir.path().join("hash.txt"), "js: Js1Hash_-x\nwasm: Wasm2Hash\ncss: Css3Hash\n").expect("hashes");
    dir
}

fn cache_control(r: &reqwest::Response) -> String {
    r.headers().get(CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or("(none)").to_owned()
}

#[tokio::test]
async fn hashed_client_files_are_kept_for_a_year_other_files_revalidated_and_pages_never_stored() {
    let site = built_site();
    let (root, hashes) = (site.path().join("site"), site.path().join("hash.txt"));
    let app = spawn_app_with(Options::configured(move |c| {
        c.server.site_root = root;
        c.server.hash_file = Some(hashes);
    }))
    .await;

    // The page names the hashed files and is itself never stored.
    let page = app.get("/login").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(cache_control(&page), "no-store");
    let html = page.text().await.expect("html");
    for name in ["/pkg/attesta.Js1Hash_-x.js", "/pkg/attesta.Wasm2Hash.wasm", "/pkg/attesta.Css3Hash.css"] {
        assert!(html.contains(name), "the page refers to {name}: {html}");
        let file = app.get(name).await;
        assert_eq!(file.status(), StatusCode::OK, "{name}");
        assert_eq!(cache_control(&file), IMMUTABLE, "{name}");
    }
    assert!(!html.contains("/pkg/attesta.css"), "no unhashed stylesheet: {html}");

    // Other static files are kept but checked first; the check is answered 304, not a 404 page.
    for name in ["/favicon.svg", "/pkg/attesta.Old9Hash.js"] {
        let file = app.get(name).await;
        assert_eq!(file.status(), StatusCode::OK, "{name}");
        assert_eq!(cache_control(&file), "no-cache", "{name}");
        let modified = file.headers().get(LAST_MODIFIED).expect("last-modified").clone();
        let again = app.client.get(app.url(name)).header(IF_MODIFIED_SINCE, modified).send().await.expect("get");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{name}");
        assert_eq!(cache_control(&again), "no-cache", "{name}");
    }

    // Missing files get the not-found page, never stored; so do answers of the app's functions.
    let missing = app.get("/pkg/attesta.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(cache_control(&missing), "no-store");
    let home = app.get("/").await;
    assert_eq!(cache_control(&home), "no-store");
    let limit = app.get("/api/documents/limit").await;
    assert_eq!(cache_control(&limit), "no-store", "{}", limit.status());
}

#[tokio::test]
async fn without_a_hash_file_nothing_is_immutable() {
    let site = built_site();
    let root = site.path().join("site");
    let absent = site.path().join("no-such-hash.txt");
    let app = spawn_app_with(Options::configured(move |c| {
        c.server.site_root = root;
        c.server.hash_file = Some(absent);
    }))
    .await;
    let html = app.get("/login").await.text().await.expect("html");
    assert!(html.contains("/pkg/attesta.css"), "plain names: {html}");
    let file = app.get("/pkg/attesta.Js1Hash_-x.js").await;
    assert_eq!(cache_control(&file), "no-cache");
}

#[tokio::test]
async fn files_compressed_at_build_time_are_sent_as_stored_with_an_etag_per_encoding() {
    let site = built_site();
    let pkg = site.path().join("site/pkg");
    // Not real compressed data: the test tells which stored file was sent by its bytes.
    std::fs::write(pkg.join("attesta.Wasm2Hash.wasm.br"), b"stored brotli").expect("br");
    std::fs::write(pkg.join("attesta.Wasm2Hash.wasm.gz"), b"stored gzip").expect("gz");
    std::fs::write(pkg.join("big.js"), "export const x = 1;\n".repeat(500)).expect("js");
    let (root, hashes) = (site.path().join("site"), site.path().join("hash.txt"));
    let app = spawn_app_with(Options::configured(move |c| {
        c.server.site_root = root;
        c.server.hash_file = Some(hashes);
    }))
    .await;
    let name = "/pkg/attesta.Wasm2Hash.wasm";
    let get = |accept: &'static str, tag: Option<String>| {
        let mut request = app.client.get(app.url(name)).header(ACCEPT_ENCODING, accept);
        if let Some(tag) = tag {
            request = request.header(IF_NONE_MATCH, tag);
        }
        request.send()
    };
    let header = |r: &reqwest::Response, name| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);

    let mut tags = Vec::new();
    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), &b"stored brotli"[..]),
        ("gzip", Some("gzip"), &b"stored gzip"[..]),
        ("identity", None, &b"\0asm\x01\0\0\0"[..]),
    ] {
        let r = get(accept, None).await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{accept}");
        assert_eq!(header(&r, CONTENT_ENCODING).as_deref(), encoding, "{accept}");
        assert_eq!(cache_control(&r), IMMUTABLE, "{accept}");
        let tag = header(&r, ETAG).expect("an etag");
        assert!(tag.contains("Wasm2Hash"), "{tag}");
        assert_eq!(&r.bytes().await.expect("body")[..], body, "{accept}: the stored file as it is");
        tags.push(tag);
    }
    tags.dedup();
    assert_eq!(tags.len(), 3, "one tag per encoding: {tags:?}");

    // The browser that holds a copy gets a 304 with no body; another encoding's tag is no match.
    let again = get("br", Some(tags[0].clone())).await.expect("get");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cache_control(&again), IMMUTABLE);
    assert!(again.bytes().await.expect("body").is_empty());
    let other = get("gzip", Some(tags[0].clone())).await.expect("get");
    assert_eq!(other.status(), StatusCode::OK);
    // A file with nothing stored compressed is still gzipped on the fly (debug builds).
    let js = app.client.get(app.url("/pkg/big.js")).header(ACCEPT_ENCODING, "gzip").send().await.expect("get");
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(header(&js, CONTENT_ENCODING).as_deref(), Some("gzip"));
}
