//! How long browsers and proxies may keep each response.
//!
//! - The built client (`/pkg/attesta.<hash>.{js,wasm,css}`): its name changes whenever its bytes
//!   do (cargo-leptos `hash-files`, listed in the hash file), so it is kept for a year and never
//!   revalidated: `public, max-age=31536000, immutable`. Only names in the hash file get this,
//!   never a name that merely looks hashed. They also carry an `ETag` made of their hash and
//!   the encoding sent (brotli, gzip or none: each is its own representation), and a request
//!   whose `If-None-Match` names it is answered 304 without a body.
//! - Other static files (favicon, fonts, the pdf.js viewer): `no-cache`, i.e. kept but checked
//!   with the server (`If-Modified-Since`, answered 304) before each use, because the same name
//!   may hold new bytes after an upgrade.
//! - Everything else (HTML pages, server functions, the REST API): `no-store`. Pages show
//!   private data (documents, names, audit trails) and must not stay in a shared or local cache.
//!
//! A handler that set `Cache-Control` itself (file downloads, the signer's pages) keeps it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "no-cache";
pub const PRIVATE: &str = "no-store";

/// The request paths whose bytes can never change, each with the content hash in its name.
#[derive(Clone, Default)]
pub struct CachePolicy {
    immutable: Arc<HashMap<String, String>>,
}

impl CachePolicy {
    /// From cargo-leptos's hash file (`js: <hash>` lines), for files named
    /// `/{pkg_dir}/{output_name}.<hash>.<kind>`.
    pub fn from_hash_file(text: &str, pkg_dir: &str, output_name: &str) -> Self {
        let immutable = text
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(kind, hash)| (kind.trim(), hash.trim()))
            .filter(|(kind, hash)| {
                matches!(*kind, "js" | "wasm" | "css")
                    && !hash.is_empty()
                    && hash.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .map(|(kind, hash)| (format!("/{pkg_dir}/{output_name}.{hash}.{kind}"), hash.to_owned()))
            .collect();
        Self { immutable: Arc::new(immutable) }
    }

    pub fn is_immutable(&self, path: &str) -> bool {
        self.immutable.contains_key(path)
    }

    /// The entity tag of immutable `path` sent with `encoding` (the `Content-Encoding`, if any).
    fn etag(&self, path: &str, encoding: Option<&HeaderValue>) -> Option<HeaderValue> {
        let hash = self.immutable.get(path)?;
        let encoding = encoding.and_then(|e| e.to_str().ok()).unwrap_or("identity");
        HeaderValue::from_str(&format!("\"{hash}-{encoding}\"")).ok()
    }
}

/// Where the hash file is: the configured path, else `hash.txt` beside the executable (where
/// cargo-leptos writes it and where Leptos looks for it).
pub fn hash_file_path(configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default()
            .join("hash.txt"),
    }
}

pub async fn apply(State(policy): State<CachePolicy>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let immutable = policy.is_immutable(&path);
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let mut response = next.run(request).await;
    if immutable
        && response.status().is_success()
        && let Some(etag) = policy.etag(&path, response.headers().get(header::CONTENT_ENCODING))
    {
        let tag = etag.to_str().unwrap_or_default();
        let matches = if_none_match
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| tags.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == tag));
        response.headers_mut().insert(header::ETAG, etag);
        if matches {
            // The browser holds these very bytes: say so, and send none of them.
            let mut not_modified = Response::new(axum::body::Body::empty());
            *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
            for name in [header::ETAG, header::VARY] {
                if let Some(v) = response.headers().get(&name) {
                    not_modified.headers_mut().insert(name, v.clone());
                }
            }
            response = not_modified;
        }
    }
    if response.headers().contains_key(header::CACHE_CONTROL) {
        return response;
    }
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // The static file service marks what it serves with `Last-Modified`; generated answers
    // have none.
    let static_file = !html && response.headers().contains_key(header::LAST_MODIFIED);
    // A 304 answers for the stored copy: it carries the same rule as the full answer would.
    let not_modified = response.status() == http::StatusCode::NOT_MODIFIED;
    let value = if immutable && (response.status().is_success() || not_modified) {
        IMMUTABLE
    } else if static_file || not_modified {
        REVALIDATE
    } else {
        PRIVATE
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hashed_client_files_are_immutable() {
        let policy = CachePolicy::from_hash_file(
            "js: Ab-c_1\nwasm: Zz9\ncss: Qq\nmanifest: Mm\nbogus line\njs: ../x\n",
            "pkg",
            "attesta",
        );
        for path in ["/pkg/attesta.Ab-c_1.js", "/pkg/attesta.Zz9.wasm", "/pkg/attesta.Qq.css"] {
            assert!(policy.is_immutable(path), "{path}");
        }
        for path in ["/pkg/attesta.js", "/pkg/attesta.Zz9.js", "/pkg/attesta...x.js", "/favicon.svg", "/"] {
            assert!(!policy.is_immutable(path), "{path}");
        }
    }
}
