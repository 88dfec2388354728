//! Certificates as the verifier uses them (the parsed form beside the exact DER, since hashes and
//! signatures are over the bytes as written) and path building from a signer to a trust anchor.
//!
//! The path check is deliberately small: each certificate's signature by its issuer, issuers
//! being CAs allowed to sign certificates (basic constraints, path length, key usage), and every
//! certificate valid at the time the signature was made. Revocation is not checked (there is no
//! network here); the report says so.

use super::crypto::{PublicKey, certificate_digest, sha256};
use super::{format_utc, oid};
use crate::Timestamp;
use der::asn1::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};

/// The longest path from a signer to an anchor that is followed.
const MAX_PATH: usize = 8;

/// A certificate and the DER it was read from.
#[derive(Debug, Clone)]
pub struct Cert {
    pub parsed: Certificate,
    pub der: Vec<u8>,
}

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let parsed = Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate ({e})"))?;
        Ok(Self { parsed, der: der.to_vec() })
    }

    /// The subject as an RFC 4514 string, e.g. `CN=Example document seal,O=Example`.
    pub fn subject(&self) -> String {
        self.parsed.tbs_certificate.subject.to_string()
    }

    pub fn issuer(&self) -> String {
        self.parsed.tbs_certificate.issuer.to_string()
    }

    pub fn sha256(&self) -> [u8; 32] {
        sha256(&self.der)
    }

    pub fn public_key(&self) -> Result<PublicKey, String> {
        PublicKey::from_spki(&self.parsed.tbs_certificate.subject_public_key_info)
    }

    fn same_name(a: &x509_cert::name::Name, b: &x509_cert::name::Name) -> bool {
        a == b || matches!((a.to_der(), b.to_der()), (Ok(x), Ok(y)) if x == y)
    }

    /// Whether `self` names `issuer` as its issuer (by distinguished name).
    fn names_issuer(&self, issuer: &Cert) -> bool {
        Self::same_name(&self.parsed.tbs_certificate.issuer, &issuer.parsed.tbs_certificate.subject)
    }

    /// Checks that `issuer`'s key made this certificate's signature.
    pub fn verify_issued_by(&self, issuer: &Cert) -> Result<(), String> {
        let algorithm = &self.parsed.signature_algorithm;
        let digest = certificate_digest(&algorithm.oid)
            .ok_or_else(|| format!("{}: unsupported signature algorithm {}", self.subject(), algorithm.oid))?;
        let tbs = super::asn1::raw_first_element(&self.der).map_err(|e| format!("{}: {e}", self.subject()))?;
        let signature = self
            .parsed
            .signature
            .as_bytes()
            .ok_or_else(|| format!("{}: the signature is not a whole number of bytes", self.subject()))?;
        let key = issuer.public_key().map_err(|e| format!("{}: {e}", issuer.subject()))?;
        key.verify(algorithm, digest, &digest.digest(&[&tbs]), signature)
            .map_err(|e| format!("{} is not signed by {}: {e}", self.subject(), issuer.subject()))
    }

    /// The end of the certificate's validity period.
    pub fn not_after(&self) -> Timestamp {
        let t = self.parsed.tbs_certificate.validity.not_after;
        i64::try_from(t.to_unix_duration().as_micros()).map(Timestamp::from_micros).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Whether the certificate was within its validity period at `at`.
    pub fn valid_at(&self, at: Timestamp) -> Result<(), String> {
        let validity = &self.parsed.tbs_certificate.validity;
        let micros = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_micros()).map(Timestamp::from_micros).unwrap_or(Timestamp::UNIX_EPOCH)
        };
        let (from, to) = (micros(validity.not_before), micros(validity.not_after));
        if at < from || at > to {
            return Err(format!(
                "{} was not valid at {} (valid from {} to {})",
                self.subject(),
                format_utc(at),
                format_utc(from),
                format_utc(to)
            ));
        }
        Ok(())
    }

    fn extension<T: for<'a> der::Decode<'a>>(&self, id: ObjectIdentifier) -> Result<Option<T>, String> {
        let Some(extensions) = &self.parsed.tbs_certificate.extensions else { return Ok(None) };
        match extensions.iter().find(|e| e.extn_id == id) {
            None => Ok(None),
            Some(e) => T::from_der(e.extn_value.as_bytes())
                .map(Some)
                .map_err(|err| format!("{}: unreadable extension {id} ({err})", self.subject())),
        }
    }

    pub fn basic_constraints(&self) -> Result<Option<BasicConstraints>, String> {
        self.extension(oid::ID_CE_BASIC_CONSTRAINTS)
    }

    pub fn key_usage(&self) -> Result<Option<KeyUsage>, String> {
        self.extension(oid::ID_CE_KEY_USAGE)
    }

    pub fn extended_key_usage(&self) -> Result<Option<ExtendedKeyUsage>, String> {
        self.extension(oid::ID_CE_EXT_KEY_USAGE)
    }

    /// A signer's key usage, when it has one, must allow signing documents.
    pub fn allows_document_signatures(&self) -> Result<(), String> {
        match self.key_usage()? {
            Some(usage)
                if !usage.0.contains(KeyUsages::DigitalSignature) && !usage.0.contains(KeyUsages::NonRepudiation) =>
            {
                Err(format!("{}: key usage allows neither digitalSignature nor nonRepudiation", self.subject()))
            }
            _ => Ok(()),
        }
    }

    /// Checks that this certificate may issue certificates `below` CAs deep beneath it.
    fn may_issue(&self, below: usize) -> Result<(), String> {
        match self.basic_constraints()? {
            Some(BasicConstraints { ca: true, path_len_constraint }) => {
                if let Some(limit) = path_len_constraint
                    && below > usize::from(limit)
                {
                    return Err(format!(
                        "{} may have at most {limit} CA certificates below it, the path has {below}",
                        self.subject()
                    ));
                }
            }
            _ => return Err(format!("{} is not a CA certificate (basic constraints)", self.subject())),
        }
        match self.key_usage()? {
            Some(usage) if !usage.0.contains(KeyUsages::KeyCertSign) => {
                Err(format!("{}: key usage does not allow signing certificates", self.subject()))
            }
            _ => Ok(()),
        }
    }
}

/// Why no trusted path was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// No issuer among the certificates given leads to an anchor.
    NoPath(String),
    /// A path exists but is broken: a bad signature, an expired certificate, a non-CA issuer.
    Invalid(String),
}

/// Finds a path from `leaf` to one of `anchors`, using `pool` (the certificates the signer
/// sent) for intermediates. Returns the subjects from the leaf up to and including the anchor.
/// With `at`, every certificate on the path must be valid then.
pub fn path_to_anchor(
    leaf: &Cert,
    pool: &[Cert],
    anchors: &[Cert],
    at: Option<Timestamp>,
) -> Result<Vec<String>, PathError> {
    let mut path: Vec<&Cert> = vec![leaf];
    loop {
        let current = path[path.len() - 1];
        if let Some(t) = at {
            current.valid_at(t).map_err(PathError::Invalid)?;
        }
        if anchors.iter().any(|a| a.der == current.der) {
            return Ok(path.iter().map(|c| c.subject()).collect());
        }
        if path.len() > MAX_PATH {
            return Err(PathError::NoPath(format!("no trust anchor within {MAX_PATH} certificates of the signer")));
        }
        // Anchors first: a path that ends early is the one to show.
        let candidates = anchors.iter().chain(pool).filter(|c| current.names_issuer(c) && c.der != current.der);
        let mut failure = None;
        let mut next = None;
        for candidate in candidates {
            if path.iter().any(|p| p.der == candidate.der) {
                continue;
            }
            match current.verify_issued_by(candidate) {
                Ok(()) => {
                    next = Some(candidate);
                    break;
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        match (next, failure) {
            (Some(issuer), _) => {
                // The number of CA certificates between this issuer and the leaf.
                issuer.may_issue(path.len() - 1).map_err(PathError::Invalid)?;
                path.push(issuer);
            }
            (None, Some(e)) => return Err(PathError::Invalid(e)),
            (None, None) if current.names_issuer(current) => {
                return Err(PathError::NoPath(format!("the root {} is not a trust anchor", current.subject())));
            }
            (None, None) => {
                return Err(PathError::NoPath(format!(
                    "{} was issued by {}, which is neither a trust anchor nor among the certificates that lead to one",
                    current.subject(),
                    current.issuer()
                )));
            }
        }
    }
}
