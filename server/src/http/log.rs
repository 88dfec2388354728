//! The public face of the transparency log: anyone may fetch the latest signed checkpoint and
//! the key that verifies it, without signing in.

use crate::evidence::EvidenceLog;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `GET /log/checkpoint`: the latest checkpoint, a C2SP signed note (`text/plain`). The verifier
/// key is also sent in the `Attesta-Log-Key` header, so one request gets both.
pub async fn checkpoint(State(log): State<EvidenceLog>) -> Response {
    match log.latest_checkpoint().await {
        Ok(Some(c)) => {
            let mut res = ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], c.note).into_response();
            if let Ok(v) = HeaderValue::from_str(&log.signer().verifier_key().to_string()) {
                res.headers_mut().insert("attesta-log-key", v);
            }
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res
        }
        Ok(None) => (StatusCode::SERVICE_UNAVAILABLE, "no checkpoint signed yet\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading the latest checkpoint");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not read the checkpoint\n").into_response()
        }
    }
}

/// `GET /log/key`: the log's verifier key (`name+id+base64`, as C2SP signed-note defines it).
pub async fn key(State(log): State<EvidenceLog>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", log.signer().verifier_key()))
}

/// `GET /seal/ca.pem`: the certificate authority sealed PDFs chain to, for validators
/// (`pyhanko sign validate --trust`, `attesta verify --seal-ca`).
pub async fn seal_anchors(State(pem): State<std::sync::Arc<str>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], pem.to_string())
}
