//! What the public `/verify` page needs from the server: this instance's published keys. The
//! verification itself runs in the browser (`pages::verify`), on files that never leave it.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The keys a verifier pins: the log's, and the certificate authority the seal chains to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustAnchors {
    /// The log's verifier key (`name+id+base64`), as served at `/log/key`.
    pub log_key: String,
    /// The seal's trust anchors, DER in standard base64 (served as PEM at `/seal/ca.pem`).
    pub seal_anchors: Vec<String>,
}

/// No sign-in: anyone may verify.
#[server(prefix = "/api", endpoint = "verify/keys", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_trust_anchors() -> Result<TrustAnchors, AppError> {
    crate::ssr::respond(crate::ssr::context().map(|ctx| ctx.trust.clone()))
}
