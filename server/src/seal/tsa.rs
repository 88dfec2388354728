//! An RFC 3161 time-stamp client: asks the configured authority to stamp a seal's signature
//! value, and accepts the answer only when it is sound.
//!
//! The request: a SHA-256 message imprint, a fresh 64-bit nonce, and `certReq` so the token
//! carries the authority's certificate (a verifier needs it, and has no network). It is POSTed
//! as `application/timestamp-query` with a time limit and without following redirects (hyper
//! never follows one; a redirect would send the request somewhere nobody configured). The
//! answer must be granted, and its token must repeat the nonce, stamp exactly our imprint, and carry a valid signature by a
//! timeStamping certificate (checked by the core's token verifier) before it is embedded.
//! Whether the authority is trusted is the verifier's question, against its trust anchors.

use super::SealError;
use attesta_core::seal::asn1::{MessageImprint, TimeStampReq, TimeStampResp};
use attesta_core::seal::{TimestampToken, oid, verify_timestamp_token};
use der::asn1::{Int, OctetString, Uint};
use der::{Decode as _, Encode as _};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;
use std::sync::Arc;
use std::time::Duration;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Largest answer read from an authority; tokens are a few kilobytes.
const MAX_RESPONSE: usize = 256 * 1024;

/// A configured time-stamping authority. Cheap to clone.
#[derive(Clone)]
pub struct TsaClient {
    url: http::Uri,
    timeout: Duration,
    /// hyper's client never follows redirects.
    http: Client<Connector, Full<bytes::Bytes>>,
    /// Request nonces come from here.
    entropy: std::sync::Arc<dyn attesta_core::ports::Entropy>,
}

impl std::fmt::Debug for TsaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaClient").field("url", &self.url).field("timeout", &self.timeout).finish()
    }
}

/// A sound token and its DER, ready to embed.
pub struct Stamp {
    pub token: TimestampToken,
    pub der: Vec<u8>,
}

impl TsaClient {
    pub fn new(
        url: &str,
        timeout: Duration,
        entropy: std::sync::Arc<dyn attesta_core::ports::Entropy>,
    ) -> anyhow::Result<Self> {
        let uri: http::Uri = url.parse().map_err(|e| anyhow::anyhow!("seal.tsa_url {url:?}: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            anyhow::bail!("seal.tsa_url {url:?}: expected an http:// or https:// URL");
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { url: uri, timeout, http, entropy })
    }

    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// Gets a token over `data` (the seal's signature value) and checks it.
    pub async fn stamp(&self, data: &[u8]) -> Result<Stamp, SealError> {
        let nonce = nonce(&*self.entropy)?;
        let fail = |why: String| SealError::Timestamp(format!("{}: {why}", self.url));
        let request = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/timestamp-query")
            .header(http::header::USER_AGENT, concat!("attesta/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(bytes::Bytes::from(request(data, &nonce)?)))
            .map_err(|e| SealError::Internal(format!("building the time-stamp request failed ({e})")))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| describe_http_error(&e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("answered HTTP {status}"));
            }
            let body = Limited::new(response.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| format!("the answer could not be read ({e})"))?;
            Ok(body.to_bytes())
        };
        let body = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| fail(format!("did not answer in time ({} s)", self.timeout.as_secs_f32())))?
            .map_err(fail)?;
        check_response(&body, data, &nonce).map_err(fail)
    }
}

/// Reads a `TimeStampResp` and checks its token against what was asked.
pub fn check_response(body: &[u8], data: &[u8], nonce: &Int) -> Result<Stamp, String> {
    let response =
        TimeStampResp::from_der(body).map_err(|e| format!("the answer is not a time-stamp response ({e})"))?;
    let status = &response.status;
    if status.status > 1 {
        let words = status.status_string.as_ref().map(|s| s.join("; ")).unwrap_or_default();
        let kind = match status.status {
            2 => "rejected the request",
            3 => "asks to wait",
            _ => "refused (revocation notice)",
        };
        return Err(format!(
            "the authority {kind} (status {}){}",
            status.status,
            if words.is_empty() { String::new() } else { format!(": {words}") }
        ));
    }
    let token = response.time_stamp_token.ok_or("the answer says granted but holds no token")?;
    let der = token.to_der().map_err(|e| format!("the token is unreadable ({e})"))?;
    let checked = verify_timestamp_token(&der, data).map_err(|e| e.0)?;
    if checked.nonce.as_deref() != Some(nonce.as_bytes()) {
        return Err("the token does not repeat our nonce: it was not made for this request".to_owned());
    }
    Ok(Stamp { token: checked, der })
}

/// A `TimeStampReq` for SHA-256 of `data`, with `nonce` and certReq.
pub fn request(data: &[u8], nonce: &Int) -> Result<Vec<u8>, SealError> {
    let encoding = |e: der::Error| SealError::Internal(format!("encoding the time-stamp request failed ({e})"));
    let request = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None },
            hashed_message: OctetString::new(sha2::Sha256::digest(data).to_vec()).map_err(encoding)?,
        },
        req_policy: None,
        nonce: Some(nonce.clone()),
        cert_req: true,
        extensions: None,
    };
    request.to_der().map_err(encoding)
}

/// A fresh positive 64-bit nonce.
pub fn nonce(entropy: &dyn attesta_core::ports::Entropy) -> Result<Int, SealError> {
    use attesta_core::entropy::EntropyExt as _;
    let bytes: [u8; 8] = entropy.bytes();
    Uint::new(&bytes).map(Int::from).map_err(|e| SealError::Internal(format!("making a nonce failed ({e})")))
}

/// rustls on the aws-lc-rs provider the rest of the server uses, with the system's roots (the SSO
/// client uses it too).
pub(crate) fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::warn!("no system root certificates found: https:// seal.tsa_url and sso.issuer_url will not connect");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn describe_http_error(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if e.is_connect() { format!("cannot connect ({text})") } else { text }
}
