//! A request id on every request (kept from `X-Request-Id` when a client or proxy sent a sane
//! one), echoed in the response and recorded on the request's tracing span, so every log line of
//! a request carries it.

use attesta_core::entropy::EntropyExt as _;
use attesta_core::ports::Entropy;
use http::Request;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes 12 random bytes, in hex, from the server's Entropy port.
#[derive(Clone)]
pub struct RandomRequestId(pub Arc<dyn Entropy>);

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        hex::encode(self.0.bytes::<12>()).parse().ok().map(RequestId::new)
    }
}

/// Whether an incoming id is safe to keep and log: short, and only `[A-Za-z0-9._-]`.
pub fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Removes an incoming `X-Request-Id` that is not [`acceptable`], so a fresh one is made.
pub async fn drop_unacceptable(mut request: axum::extract::Request) -> axum::extract::Request {
    let bad = request.headers().get("x-request-id").is_some_and(|v| !v.to_str().is_ok_and(acceptable));
    if bad {
        request.headers_mut().remove("x-request-id");
    }
    request
}
