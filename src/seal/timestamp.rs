//! RFC 3161 time-stamp tokens: reading one and checking that it is sound, for the server before
//! it embeds a token and for the verifier after.
//!
//! "Sound" means: a one-signer CMS SignedData over a `TSTInfo`, its message digest and signature
//! correct, signed by a certificate whose extended key usage is timeStamping, and its message
//! imprint the digest of exactly the data that was meant to be stamped. Whether the authority is
//! *trusted* is a separate question (a path to a trust anchor), asked by the seal verifier.

use super::asn1::TstInfo;
use super::certs::Cert;
use super::cms::SignedMessage;
use super::crypto::DigestAlgorithm;
use super::oid;
use crate::Timestamp;
use der::Decode as _;

/// Why a token is not acceptable, in words for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimestampError(pub String);

/// A sound token, and what it says.
#[derive(Debug, Clone)]
pub struct TimestampToken {
    /// When the authority says it saw the data (`genTime`), to the microsecond.
    pub time: Timestamp,
    /// The nonce the token repeats, as the big-endian bytes of the INTEGER, when there is one.
    pub nonce: Option<Vec<u8>>,
    /// The authority's policy under which the token was issued.
    pub policy: String,
    pub info: TstInfo,
    pub(crate) message: SignedMessage,
    pub(crate) authority: Cert,
}

impl TimestampToken {
    /// The authority's certificate subject, e.g. `CN=Example TSA,O=Example`.
    pub fn authority(&self) -> String {
        self.authority.subject()
    }

    /// The authority's certificate, DER.
    pub fn authority_certificate_der(&self) -> &[u8] {
        &self.authority.der
    }

    /// The certificates the token carries, DER (the authority's and, when sent, its chain).
    pub fn certificates_der(&self) -> Vec<Vec<u8>> {
        self.message.certificates.iter().map(|c| c.der.clone()).collect()
    }

    pub(crate) fn certificates(&self) -> &[Cert] {
        &self.message.certificates
    }
}

/// Reads `token` (a DER `ContentInfo`) and checks that it is sound and stamps `stamped`.
pub fn verify_timestamp_token(token: &[u8], stamped: &[u8]) -> Result<TimestampToken, TimestampError> {
    let token = read(token).map_err(TimestampError)?;
    check_imprint(&token.info, stamped).map_err(TimestampError)?;
    Ok(token)
}

fn read(token: &[u8]) -> Result<TimestampToken, String> {
    let message = SignedMessage::parse(token).map_err(|e| format!("the token: {e}"))?;
    if message.signed_data.encap_content_info.econtent_type != oid::ID_CT_TST_INFO {
        return Err("the token does not hold a TSTInfo".to_owned());
    }
    message.check_content_type().map_err(|e| format!("the token: {e}"))?;
    let content = message.encapsulated_content()?.ok_or("the token has no TSTInfo content")?;
    let info = TstInfo::from_der(&content).map_err(|e| format!("the token's TSTInfo is unreadable ({e})"))?;
    if message.message_digest()? != message.digest.digest(&[&content]) {
        return Err("the token's message digest does not match its TSTInfo".to_owned());
    }
    let authority = message.signer_certificate().map_err(|e| format!("the token: {e}"))?.clone();
    let eku = authority.extended_key_usage()?;
    if !eku.is_some_and(|eku| eku.0.contains(&oid::ID_KP_TIME_STAMPING)) {
        return Err(format!("{} is not a time-stamping certificate (no timeStamping key usage)", authority.subject()));
    }
    let key = authority.public_key().map_err(|e| format!("{}: {e}", authority.subject()))?;
    message.verify_signature(&key).map_err(|e| format!("the token's signature by {}: {e}", authority.subject()))?;
    let time = info
        .gen_time
        .to_timestamp()
        .ok_or_else(|| format!("the token's time {:?} is not a UTC GeneralizedTime", info.gen_time.0))?;
    let nonce = info.nonce.as_ref().map(|n| n.as_bytes().to_vec());
    let policy = info.policy.to_string();
    Ok(TimestampToken { time, nonce, policy, info, message, authority })
}

fn check_imprint(info: &TstInfo, stamped: &[u8]) -> Result<(), String> {
    let imprint = &info.message_imprint;
    let algorithm = DigestAlgorithm::from_oid(&imprint.hash_algorithm.oid)
        .ok_or_else(|| format!("the token's imprint uses unsupported digest {}", imprint.hash_algorithm.oid))?;
    if imprint.hashed_message.as_bytes() == algorithm.digest(&[stamped]).as_slice() {
        Ok(())
    } else {
        Err("the token's message imprint is not the digest of the stamped data".to_owned())
    }
}
