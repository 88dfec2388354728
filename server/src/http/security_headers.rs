//! Security headers on every response.
//!
//! HTML pages get a Content-Security-Policy with the per-response nonce that Leptos puts on its
//! inline hydration scripts (set by the page handler, see `crate::app`); every other response gets
//! the same policy without a nonce, so nothing inline may run anywhere. `'wasm-unsafe-eval'` lets
//! the page compile its own WebAssembly and nothing else.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue, header};

#[derive(Clone, Copy)]
pub struct SecurityHeaders {
    pub https: bool,
}

/// The policy, with `nonce` allowed for inline scripts when given.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let script = match nonce {
        Some(n) => format!("script-src 'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
    };
    format!(
        "default-src 'self'; {script}; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub async fn apply(State(cfg): State<SecurityHeaders>, request: Request, next: Next) -> Response {
    // A signing link is a secret in the path: never send it on as a Referer. What the signer's
    // pages and endpoints answer (names, titles) is for them only: never cached anywhere.
    let path = request.uri().path();
    let secret_path =
        ["/sign/", "/approvals/", "/documents/acknowledge/"].iter().any(|prefix| path.starts_with(prefix));
    let signer_data = secret_path || path.starts_with("/api/sign/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(&content_security_policy(None))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if signer_data {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if secret_path { "no-referrer" } else { "strict-origin-when-cross-origin" }),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), payment=(), usb=()"),
    );
    if cfg.https {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    response
}
