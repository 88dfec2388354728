//! The seal identity: the signing key and the certificate chain that names it, and the trust
//! anchors a verifier should pin.
//!
//! Three sources, one shape: PEM files (chain + PKCS#8 key), a PKCS#12 file, or the embedded
//! default made on first run. The embedded default is an **instance CA** (ECDSA P-256, CA with
//! path length 0, 20 years) and a **seal certificate** it issued (ECDSA P-256, digitalSignature
//! and nonRepudiation, Adobe document signing and emailProtection usages, 10 years), kept under
//! `seal.dir`:
//!
//! * `ca.pem`: the instance CA, the trust anchor verifiers pin (evidence packages, certificate
//!   pages, the offline verifier);
//! * `seal.pem`: the seal certificate followed by the CA certificate;
//! * `seal.key`: the seal's PKCS#8 key (0600), read at every start;
//! * `ca.key`: the CA's key (0600). Kept, not discarded, because it is the only way to issue a
//!   successor seal certificate (at expiry, after a key compromise, when the organisation name
//!   changes) under the anchor everyone already pinned; discarding it would turn every renewal
//!   into a new anchor and orphan the old pins. The server never reads it: an operator may move
//!   it offline once it is backed up.
//!
//! Keys are ECDSA P-256 (signed deterministically, RFC 6979) or RSA of 2048 bits or more
//! (PKCS#1 v1.5 with SHA-256, through aws-lc-rs). Anything else is refused when loaded.

use super::SealError;
use anyhow::{Context as _, bail};
use attesta_core::Timestamp;
use attesta_core::seal::certs::{Cert, PathError, path_to_anchor};
use attesta_core::seal::crypto::PublicKey;
use attesta_core::seal::oid;
use der::Encode as _;
use der::asn1::ObjectIdentifier;
use p256::pkcs8::DecodePrivateKey as _;
use spki::AlgorithmIdentifierOwned;
use std::path::Path;

/// The seal's private key.
pub enum SealKey {
    P256(p256::ecdsa::SigningKey),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl SealKey {
    /// Reads an unencrypted PKCS#8 key (DER), ECDSA P-256 or RSA.
    pub fn from_pkcs8_der(der: &[u8]) -> anyhow::Result<Self> {
        let info = p256::pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| anyhow::anyhow!("not a PKCS#8 key ({e})"))?;
        match info.algorithm.oid {
            oid::ID_EC_PUBLIC_KEY => {
                let curve = info.algorithm.parameters.and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                if curve != Some(oid::SECP256R1) {
                    bail!(
                        "the key is on elliptic curve {}; only P-256 (prime256v1) is supported",
                        curve.map_or_else(|| "(unnamed)".to_owned(), |c| c.to_string())
                    );
                }
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(der)
                    .map_err(|e| anyhow::anyhow!("unreadable P-256 key ({e})"))?;
                Ok(Self::P256(key))
            }
            oid::RSA_ENCRYPTION => aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                .map(Self::Rsa)
                .map_err(|e| anyhow::anyhow!("unusable RSA key ({e}); RSA keys must have 2048 to 8192 bits")),
            other => bail!("unsupported key algorithm {other}; only ECDSA P-256 and RSA keys are supported"),
        }
    }

    /// Reads an unencrypted PKCS#8 key from PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> anyhow::Result<Self> {
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| anyhow::anyhow!("not PEM ({e})"))?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => bail!(
                "the key is encrypted; give it unencrypted (openssl pkcs8 -topk8 -nocrypt) in a file only the server can read, or use a PKCS#12 file with seal.pkcs12_password"
            ),
            "EC PRIVATE KEY" | "RSA PRIVATE KEY" => bail!(
                "the key is in the legacy {label} form; convert it to PKCS#8 with: openssl pkcs8 -topk8 -nocrypt -in old.key -out seal.key"
            ),
            other => bail!("expected a PKCS#8 key (BEGIN PRIVATE KEY), found BEGIN {other}"),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::P256(_) => "ECDSA P-256",
            Self::Rsa(_) => "RSA",
        }
    }

    /// The signature algorithm written into the CMS SignerInfo.
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            Self::P256(_) => AlgorithmIdentifierOwned { oid: oid::ECDSA_WITH_SHA256, parameters: None },
            Self::Rsa(_) => AlgorithmIdentifierOwned {
                oid: oid::SHA256_WITH_RSA_ENCRYPTION,
                parameters: Some(der::asn1::Null.into()),
            },
        }
    }

    /// The largest signature this key makes, in bytes (for sizing the PDF's placeholder).
    pub fn max_signature_len(&self) -> usize {
        match self {
            // SEQUENCE { INTEGER r, INTEGER s }, each up to 33 bytes with its header.
            Self::P256(_) => 72,
            Self::Rsa(key) => key.public_modulus_len(),
        }
    }

    /// Signs `message` with SHA-256: ECDSA (DER-encoded, deterministic) or RSA PKCS#1 v1.5.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SealError> {
        match self {
            Self::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::DerSignature = key.sign(message);
                Ok(signature.as_bytes().to_vec())
            }
            Self::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| SealError::Internal("the RSA signature failed".to_owned()))?;
                Ok(signature)
            }
        }
    }

    /// Whether `certificate` names this key's public half.
    fn matches(&self, certificate: &Cert) -> bool {
        match self {
            Self::P256(key) => {
                matches!(certificate.public_key(), Ok(PublicKey::P256(public)) if public == *key.verifying_key())
            }
            Self::Rsa(key) => {
                use aws_lc_rs::signature::KeyPair as _;
                // Both are the PKCS#1 RSAPublicKey DER.
                let spki = &certificate.parsed.tbs_certificate.subject_public_key_info;
                spki.algorithm.oid == oid::RSA_ENCRYPTION
                    && spki.subject_public_key.raw_bytes() == key.public_key().as_ref()
            }
        }
    }
}

/// A seal key with the certificates that name it.
#[derive(Debug)]
pub struct SealIdentity {
    key: SealKey,
    /// The seal certificate first, then its issuers as far as they were given.
    chain: Vec<Cert>,
    /// What a verifier should pin.
    anchors: Vec<Cert>,
}

impl SealIdentity {
    /// Assembles an identity: `certificates` in any order, one of them the key's; the chain is
    /// followed from it by issuer names. Without `anchors`, the topmost certificate of the chain
    /// (its root, when the chain includes it) is the anchor.
    pub fn new(key: SealKey, certificates: Vec<Cert>, anchors: Option<Vec<Cert>>) -> anyhow::Result<Self> {
        let leaf_index = certificates.iter().position(|c| key.matches(c)).with_context(|| {
            let subjects: Vec<String> = certificates.iter().map(Cert::subject).collect();
            format!(
                "the private key ({}) belongs to none of the certificates given ({})",
                key.describe(),
                if subjects.is_empty() { "none".to_owned() } else { subjects.join("; ") }
            )
        })?;
        // Each certificate goes into every signature re-encoded from its parsed form; a
        // certificate whose DER would come out different would break its issuer's signature.
        for c in &certificates {
            if c.parsed.to_der().ok().as_deref() != Some(c.der.as_slice()) {
                bail!("the certificate {} is not in canonical DER, so it cannot be embedded unchanged", c.subject());
            }
        }
        let mut rest = certificates;
        let leaf = rest.remove(leaf_index);
        let mut chain = vec![leaf];
        while let Some(position) = rest.iter().position(|c| {
            let last = &chain[chain.len() - 1];
            last.parsed.tbs_certificate.issuer == c.parsed.tbs_certificate.subject && last.der != c.der
        }) {
            chain.push(rest.remove(position));
        }
        let anchors = match anchors {
            Some(anchors) => anchors,
            None => vec![chain[chain.len() - 1].clone()],
        };
        if let Some(usage) = chain[0].key_usage().map_err(anyhow::Error::msg)? {
            use x509_cert::ext::pkix::KeyUsages;
            if !usage.0.contains(KeyUsages::DigitalSignature) && !usage.0.contains(KeyUsages::NonRepudiation) {
                bail!("the seal certificate's key usage allows neither digitalSignature nor nonRepudiation");
            }
        }
        let identity = Self { key, chain, anchors };
        match path_to_anchor(identity.certificate(), &identity.chain, &identity.anchors, None) {
            Ok(_) => Ok(identity),
            Err(PathError::NoPath(why) | PathError::Invalid(why)) => {
                bail!("the seal certificate does not chain to its trust anchor: {why}")
            }
        }
    }

    /// A PEM certificate chain and a PKCS#8 PEM key.
    pub fn from_pem(chain_pem: &[u8], key_pem: &str) -> anyhow::Result<Self> {
        let key = SealKey::from_pkcs8_pem(key_pem).context("the seal key")?;
        let certificates = read_pem_certificates(chain_pem).context("the seal certificate chain")?;
        Self::new(key, certificates, None)
    }

    /// A PKCS#12 file: its first key and the chain that goes with it.
    pub fn from_pkcs12(der: &[u8], password: &str) -> anyhow::Result<Self> {
        let store = p12_keystore::KeyStore::from_pkcs12(der, password)
            .map_err(|e| anyhow::anyhow!("cannot open the PKCS#12 file ({e}); is seal.pkcs12_password right?"))?;
        let (_, entry) =
            store.private_key_chain().context("the PKCS#12 file holds no private key with a certificate")?;
        let key = SealKey::from_pkcs8_der(entry.key()).context("the PKCS#12 key")?;
        let certificates = entry
            .chain()
            .iter()
            .map(|c| Cert::from_der(c.as_der()).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("a certificate in the PKCS#12 file")?;
        Self::new(key, certificates, None)
    }

    pub fn key(&self) -> &SealKey {
        &self.key
    }

    /// The seal certificate.
    pub fn certificate(&self) -> &Cert {
        &self.chain[0]
    }

    /// The seal certificate and its issuers, as they go into each signature.
    pub fn chain(&self) -> &[Cert] {
        &self.chain
    }

    pub fn anchors(&self) -> &[Cert] {
        &self.anchors
    }

    /// Checks that the seal certificate and its issuers are valid at `at`.
    pub fn check_valid_at(&self, at: Timestamp) -> Result<(), SealError> {
        self.chain.iter().try_for_each(|c| c.valid_at(at)).map_err(SealError::Certificate)
    }
}

/// Every certificate in a PEM file, in order.
pub fn read_pem_certificates(pem: &[u8]) -> anyhow::Result<Vec<Cert>> {
    let parsed = x509_cert::Certificate::load_pem_chain(pem).map_err(|e| anyhow::anyhow!("unreadable PEM ({e})"))?;
    if parsed.is_empty() {
        bail!("no certificate in it");
    }
    parsed
        .iter()
        .map(|c| {
            let der = c.to_der().map_err(|e| anyhow::anyhow!("{e}"))?;
            Cert::from_der(&der).map_err(anyhow::Error::msg)
        })
        .collect()
}

/// PEM text of DER certificates.
pub fn certificates_pem(certificates: &[Cert]) -> String {
    certificates
        .iter()
        .filter_map(|c| der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &c.der).ok())
        .collect()
}

/// The names a created identity carries.
#[derive(Debug, Clone)]
pub struct SealNames {
    /// The instance's host, e.g. `sign.example.com`: the CN says whose seal it is.
    pub instance: String,
    /// The organisation (O).
    pub organization: String,
}

/// The files of the embedded identity under `seal.dir`.
struct Files {
    ca_cert: std::path::PathBuf,
    ca_key: std::path::PathBuf,
    chain: std::path::PathBuf,
    key: std::path::PathBuf,
}

impl Files {
    fn in_dir(dir: &Path) -> Self {
        Self {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            chain: dir.join("seal.pem"),
            key: dir.join("seal.key"),
        }
    }
}

/// Loads the embedded identity from `dir`, or creates it there on first run.
pub fn load_or_create(
    dir: &Path,
    names: &SealNames,
    now: Timestamp,
    entropy: &dyn attesta_core::ports::Entropy,
) -> anyhow::Result<SealIdentity> {
    let files = Files::in_dir(dir);
    let present = [&files.ca_cert, &files.chain, &files.key].map(|p| p.exists());
    match present {
        [true, true, true] => load_embedded(&files),
        [false, false, false] => create(dir, &files, names, now, entropy),
        _ => bail!(
            "{} is incomplete: ca.pem, seal.pem and seal.key belong together (found {}); restore the folder \
             from its backup, or move it away to make a new seal identity (verifiers that pinned the old \
             ca.pem will not trust the new one)",
            dir.display(),
            [(&files.ca_cert, "ca.pem"), (&files.chain, "seal.pem"), (&files.key, "seal.key")]
                .iter()
                .filter(|(p, _)| p.exists())
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn load_embedded(files: &Files) -> anyhow::Result<SealIdentity> {
    let read = |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let key_pem = String::from_utf8(read(&files.key)?).context("seal.key is not text")?;
    let key = SealKey::from_pkcs8_pem(&key_pem).with_context(|| files.key.display().to_string())?;
    let chain = read_pem_certificates(&read(&files.chain)?).with_context(|| files.chain.display().to_string())?;
    let anchors = read_pem_certificates(&read(&files.ca_cert)?).with_context(|| files.ca_cert.display().to_string())?;
    SealIdentity::new(key, chain, Some(anchors))
}

/// Makes the instance CA and the seal certificate, writes them, and says so loudly.
fn create(
    dir: &Path,
    files: &Files,
    names: &SealNames,
    now: Timestamp,
    entropy: &dyn attesta_core::ports::Entropy,
) -> anyhow::Result<SealIdentity> {
    let made = generate(names, now, entropy)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::private_file::create(&files.ca_key, &made.ca_key_pem, "the seal CA's key")?;
    crate::private_file::create(&files.key, &made.seal_key_pem, "the seal key")?;
    write_public(&files.ca_cert, &made.ca_pem)?;
    write_public(&files.chain, &format!("{}{}", made.seal_pem, made.ca_pem))?;
    let identity = load_embedded(files)?;
    tracing::warn!(
        dir = %dir.display(),
        subject = %identity.certificate().subject(),
        anchor = %files.ca_cert.display(),
        "created the instance CA and seal certificate; back up this folder: verifiers pin ca.pem, and without \
         seal.key no seal can be made under it (ca.key is only needed to issue a successor certificate)"
    );
    Ok(identity)
}

fn write_public(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// A freshly made embedded identity, as PEM.
pub struct GeneratedIdentity {
    pub ca_pem: String,
    pub ca_key_pem: String,
    pub seal_pem: String,
    pub seal_key_pem: String,
}

/// Makes an instance CA (20 years) and a seal certificate issued by it (10 years), both ECDSA
/// P-256 with fresh keys, valid from `now` (less an hour, for clocks slightly behind).
/// Certificate serial numbers come from `entropy`; the keys from aws-lc's own generator.
pub fn generate(
    names: &SealNames,
    now: Timestamp,
    entropy: &dyn attesta_core::ports::Entropy,
) -> anyhow::Result<GeneratedIdentity> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    const YEAR: i64 = 365 * 24 * 3600 + 6 * 3600;
    let seconds = now.as_micros().div_euclid(1_000_000);
    let at = |offset: i64| {
        time::OffsetDateTime::from_unix_timestamp(seconds.saturating_add(offset))
            .context("the current time is out of the certificates' range")
    };
    let name = |common_name: String| {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, names.organization.clone());
        dn.push(DnType::CommonName, common_name);
        dn
    };
    let serial = || {
        let mut bytes: [u8; 16] = attesta_core::entropy::EntropyExt::bytes(entropy);
        bytes[0] &= 0x7f;
        bytes[0] |= 0x01;
        rcgen::SerialNumber::from_slice(&bytes)
    };

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the CA key")?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name(format!("{} instance CA", names.instance));
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = at(-3600)?;
    ca.not_after = at(20 * YEAR)?;
    ca.serial_number = Some(serial());
    let ca_cert = ca.self_signed(&ca_key).context("signing the CA certificate")?;
    let issuer = Issuer::new(ca, &ca_key);

    let seal_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the seal key")?;
    let mut seal = CertificateParams::default();
    seal.distinguished_name = name(format!("{} document seal", names.instance));
    seal.is_ca = IsCa::ExplicitNoCa;
    seal.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    seal.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::Other(vec![1, 2, 840, 113583, 1, 1, 5]),
        ExtendedKeyUsagePurpose::EmailProtection,
    ];
    seal.use_authority_key_identifier_extension = true;
    seal.not_before = at(-3600)?;
    seal.not_after = at(10 * YEAR)?;
    seal.serial_number = Some(serial());
    let seal_cert = seal.signed_by(&seal_key, &issuer).context("signing the seal certificate")?;

    Ok(GeneratedIdentity {
        ca_pem: ca_cert.pem(),
        ca_key_pem: ca_key.serialize_pem(),
        seal_pem: seal_cert.pem(),
        seal_key_pem: seal_key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests;
