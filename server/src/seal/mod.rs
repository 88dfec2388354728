//! The document seal: signs completed PDFs with the instance's seal certificate (PAdES, see
//! [`pades`]), with an RFC 3161 timestamp when an authority is configured ([`tsa`]).
//!
//! [`Sealer`] is what the rest of the server uses: built once at start-up from `[seal]`
//! ([`Sealer::from_config`]: the configured PEM or PKCS#12 identity, or the embedded one made on
//! first run, see [`identity`]), cheap to clone, and its [`Sealer::seal`] does the CPU work on a
//! blocking thread. The verifier is `attesta_core::seal::verify_seal`, which the server, the
//! CLI and the browser share.

pub mod identity;
pub mod pades;
pub mod tsa;

use crate::config::SealConfig;
use anyhow::Context as _;
use attesta_core::Timestamp;
use attesta_core::evidence::Sha256;
use identity::{SealIdentity, SealNames};
use secrecy::ExposeSecret as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Room kept for a timestamp token at first: an `openssl ts` token with an RSA 2048 authority
/// and its root is about 3.5 KB; commercial ones with longer chains stay well under this. A
/// larger token raises it for the seals that follow.
const FIRST_TIMESTAMP_RESERVE: usize = 8 * 1024;

/// Why a PDF could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The PDF itself cannot take a seal (encrypted, damaged cross-references, no pages).
    #[error("the PDF cannot be sealed: {0}")]
    Unsealable(String),
    /// The seal certificate (or an issuer) is not valid at the signing time.
    #[error("the seal certificate cannot sign now: {0}")]
    Certificate(String),
    /// The time-stamping authority failed or gave an unacceptable answer.
    #[error("time-stamping failed: {0}")]
    Timestamp(String),
    /// The signature did not fit the room kept for it.
    #[error("the signature needs {needed} bytes but {capacity} were reserved")]
    PlaceholderTooSmall { needed: usize, capacity: usize },
    #[error("sealing failed: {0}")]
    Internal(String),
}

/// A sealed PDF.
#[derive(Debug, Clone)]
pub struct SealedPdf {
    pub bytes: Vec<u8>,
    /// The authority's time (`genTime`), when the seal carries a timestamp.
    pub timestamp: Option<Timestamp>,
    /// The signature's `/ByteRange`: `[0, hole start, hole end, length after the hole]`.
    pub signed_ranges: [u64; 4],
}

/// Seals PDFs. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Sealer {
    inner: Arc<Inner>,
}

// Handed to request handlers and background tasks alike.
const _: fn() = || {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Sealer>();
};

struct Inner {
    identity: SealIdentity,
    tsa: Option<tsa::TsaClient>,
    /// Room kept for the timestamp token: grows when a token turns out larger than the room.
    timestamp_reserve: AtomicUsize,
}

impl Sealer {
    /// Loads the configured identity (PEM or PKCS#12), or the embedded one under `config.dir`,
    /// creating it on first run with names from `public_host` (the instance's host name) and
    /// validity from `now`. Serial numbers and time-stamp nonces come from `entropy`.
    pub fn from_config(
        config: &SealConfig,
        public_host: &str,
        now: Timestamp,
        entropy: std::sync::Arc<dyn attesta_core::ports::Entropy>,
    ) -> anyhow::Result<Self> {
        let identity = match (&config.certificate_file, &config.key_file, &config.pkcs12_file) {
            (Some(certificate), Some(key), None) => {
                let chain = std::fs::read(certificate)
                    .with_context(|| format!("seal.certificate_file {}", certificate.display()))?;
                let key_pem =
                    std::fs::read_to_string(key).with_context(|| format!("seal.key_file {}", key.display()))?;
                SealIdentity::from_pem(&chain, &key_pem)
                    .with_context(|| format!("seal.certificate_file and seal.key_file ({})", certificate.display()))?
            }
            (None, None, Some(pkcs12)) => {
                let der = std::fs::read(pkcs12).with_context(|| format!("seal.pkcs12_file {}", pkcs12.display()))?;
                SealIdentity::from_pkcs12(&der, config.pkcs12_password.expose_secret())
                    .with_context(|| format!("seal.pkcs12_file {}", pkcs12.display()))?
            }
            (None, None, None) => {
                let organization =
                    if config.organization.is_empty() { public_host.to_owned() } else { config.organization.clone() };
                let names = SealNames { instance: public_host.to_owned(), organization };
                identity::load_or_create(&config.dir, &names, now, &*entropy)
                    .with_context(|| format!("the seal identity in seal.dir {}", config.dir.display()))?
            }
            _ => anyhow::bail!(
                "seal: set seal.certificate_file with seal.key_file, or seal.pkcs12_file, or neither (embedded identity)"
            ),
        };
        if let Err(e) = identity.check_valid_at(now) {
            tracing::warn!(error = %e, "the seal certificate is not valid now: sealing will fail until it is replaced");
        }
        let tsa = match &config.tsa_url {
            Some(url) => Some(tsa::TsaClient::new(url, config.tsa_timeout, entropy)?),
            None => None,
        };
        Ok(Self::new(identity, tsa))
    }

    pub fn new(identity: SealIdentity, tsa: Option<tsa::TsaClient>) -> Self {
        Self { inner: Arc::new(Inner { identity, tsa, timestamp_reserve: AtomicUsize::new(FIRST_TIMESTAMP_RESERVE) }) }
    }

    /// The trust anchors a verifier should pin (the instance CA, or the configured chain's
    /// topmost certificate), PEM.
    pub fn trust_anchors_pem(&self) -> String {
        identity::certificates_pem(self.inner.identity.anchors())
    }

    /// The same anchors, DER.
    pub fn trust_anchors_der(&self) -> Vec<Vec<u8>> {
        self.inner.identity.anchors().iter().map(|c| c.der.clone()).collect()
    }

    /// SHA-256 of the seal certificate's DER.
    pub fn certificate_sha256(&self) -> Sha256 {
        Sha256::from_bytes(self.inner.identity.certificate().sha256())
    }

    /// The seal certificate's subject, e.g. `CN=sign.example.com document seal,O=Example`.
    pub fn subject(&self) -> String {
        self.inner.identity.certificate().subject()
    }

    /// When the seal certificate expires: after it, no document can be sealed under it.
    pub fn not_after(&self) -> Timestamp {
        self.inner.identity.certificate().not_after()
    }

    /// The time-stamping authority's URL, when one is configured.
    pub fn tsa_url(&self) -> Option<String> {
        self.inner.tsa.as_ref().map(tsa::TsaClient::url)
    }

    /// Seals `pdf` at `signing_time` (the `/M` of the signature), with a timestamp when an
    /// authority is configured. The PDF work runs on a blocking thread.
    pub async fn seal(&self, pdf: Vec<u8>, signing_time: Timestamp) -> Result<SealedPdf, SealError> {
        self.inner.identity.check_valid_at(signing_time)?;
        let pdf = Arc::new(pdf);
        let Some(tsa) = &self.inner.tsa else {
            let prepared = self.prepare(pdf, signing_time, 0).await?;
            let signed_ranges = prepared.byte_range();
            let bytes = prepared.finish(None)?;
            return Ok(SealedPdf { bytes, timestamp: None, signed_ranges });
        };
        let mut reserve = self.inner.timestamp_reserve.load(Ordering::Relaxed);
        // A token larger than the room kept means signing again with room for it (and a new
        // token, since the signature changes with the placeholder); a second miss is an error.
        for attempt in 0..2 {
            let prepared = self.prepare(pdf.clone(), signing_time, reserve).await?;
            let stamp = tsa.stamp(prepared.signature_value()).await?;
            let signed_ranges = prepared.byte_range();
            let learnt = stamp.der.len() + stamp.der.len() / 4;
            self.inner.timestamp_reserve.fetch_max(learnt, Ordering::Relaxed);
            match prepared.finish(Some(&stamp.der)) {
                Ok(bytes) => return Ok(SealedPdf { bytes, timestamp: Some(stamp.token.time), signed_ranges }),
                Err(SealError::PlaceholderTooSmall { needed, capacity }) if attempt == 0 => {
                    reserve += needed - capacity + 1024;
                }
                Err(e) => return Err(e),
            }
        }
        Err(SealError::Internal("the timestamp did not fit after a retry".to_owned()))
    }

    /// Seals `pdf` without a timestamp and hands the result back to be thrown away: proves at
    /// upload that a file can take the seal completion will give it. Synchronous: the caller is
    /// on a blocking thread already.
    pub fn dry_run(&self, pdf: &[u8], signing_time: Timestamp) -> Result<Vec<u8>, SealError> {
        pades::prepare(pdf, &self.inner.identity, signing_time, 0)?.finish(None)
    }

    async fn prepare(
        &self,
        pdf: Arc<Vec<u8>>,
        signing_time: Timestamp,
        reserve: usize,
    ) -> Result<pades::PreparedSeal, SealError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || pades::prepare(&pdf, &inner.identity, signing_time, reserve))
            .await
            .map_err(|e| SealError::Internal(format!("the sealing task failed ({e})")))?
    }
}

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
