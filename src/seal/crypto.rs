//! Digests and signature verification for the two key types the seal supports: ECDSA on P-256
//! and RSA with PKCS#1 v1.5 padding. Anything else is refused by name, never guessed at.

use super::oid;
use der::asn1::ObjectIdentifier;
use sha2::Digest as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// The digests a seal, a certificate or a timestamp may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// The digest of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        match self {
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// A public key taken from a certificate.
#[derive(Debug, Clone)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

impl PublicKey {
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, String> {
        let bits = spki.subject_public_key.raw_bytes();
        match spki.algorithm.oid {
            oid::ID_EC_PUBLIC_KEY => {
                let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                if curve != Some(oid::SECP256R1) {
                    let name = curve.map_or_else(|| "unnamed".to_owned(), |c| c.to_string());
                    return Err(format!("unsupported elliptic curve {name} (only P-256 is supported)"));
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                    .map(Self::P256)
                    .map_err(|_| "the P-256 public key is not a valid curve point".to_owned())
            }
            oid::RSA_ENCRYPTION => {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                rsa::RsaPublicKey::from_pkcs1_der(bits)
                    .map(Self::Rsa)
                    .map_err(|e| format!("the RSA public key is unreadable or too large ({e})"))
            }
            other => Err(format!("unsupported public key algorithm {other} (only ECDSA P-256 and RSA are supported)")),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::P256(_) => "ECDSA P-256".to_owned(),
            Self::Rsa(key) => {
                use rsa::traits::PublicKeyParts as _;
                format!("RSA {}", key.size() * 8)
            }
        }
    }

    /// Verifies `signature` over a message whose digest (with `digest`) is `hashed`.
    /// `algorithm` is the signature algorithm the signer declared; it must fit the key.
    pub fn verify(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        digest: DigestAlgorithm,
        hashed: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        check_algorithm(self, &algorithm.oid, digest)?;
        match self {
            Self::P256(key) => {
                use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
                let signature = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| "the ECDSA signature is not a DER-encoded (r, s) pair".to_owned())?;
                key.verify_prehash(hashed, &signature).map_err(|_| "the signature does not verify".to_owned())
            }
            Self::Rsa(key) => {
                let scheme = match digest {
                    DigestAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    DigestAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    DigestAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                key.verify(scheme, hashed, signature).map_err(|_| "the signature does not verify".to_owned())
            }
        }
    }
}

/// A signature algorithm must match the key's type, and when it names a digest, the digest used.
fn check_algorithm(key: &PublicKey, algorithm: &ObjectIdentifier, digest: DigestAlgorithm) -> Result<(), String> {
    let named = match (key, *algorithm) {
        (PublicKey::P256(_), oid::ID_EC_PUBLIC_KEY) | (PublicKey::Rsa(_), oid::RSA_ENCRYPTION) => None,
        (PublicKey::P256(_), oid::ECDSA_WITH_SHA256) | (PublicKey::Rsa(_), oid::SHA256_WITH_RSA_ENCRYPTION) => {
            Some(DigestAlgorithm::Sha256)
        }
        (PublicKey::P256(_), oid::ECDSA_WITH_SHA384) | (PublicKey::Rsa(_), oid::SHA384_WITH_RSA_ENCRYPTION) => {
            Some(DigestAlgorithm::Sha384)
        }
        (PublicKey::P256(_), oid::ECDSA_WITH_SHA512) | (PublicKey::Rsa(_), oid::SHA512_WITH_RSA_ENCRYPTION) => {
            Some(DigestAlgorithm::Sha512)
        }
        (key, other) => {
            return Err(format!("signature algorithm {other} is not supported for a {} key", key.describe()));
        }
    };
    match named {
        Some(named) if named != digest => {
            Err(format!("the signature algorithm names {} but the digest is {}", named.name(), digest.name()))
        }
        _ => Ok(()),
    }
}

/// The digest a certificate's signature algorithm implies.
pub fn certificate_digest(algorithm: &ObjectIdentifier) -> Option<DigestAlgorithm> {
    match *algorithm {
        oid::ECDSA_WITH_SHA256 | oid::SHA256_WITH_RSA_ENCRYPTION => Some(DigestAlgorithm::Sha256),
        oid::ECDSA_WITH_SHA384 | oid::SHA384_WITH_RSA_ENCRYPTION => Some(DigestAlgorithm::Sha384),
        oid::ECDSA_WITH_SHA512 | oid::SHA512_WITH_RSA_ENCRYPTION => Some(DigestAlgorithm::Sha512),
        _ => None,
    }
}
