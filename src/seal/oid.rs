//! The object identifiers the seal uses, in one place so the signer (server) and the verifier
//! (here) cannot disagree about one.

use der::asn1::ObjectIdentifier as Oid;

/// CMS content types (RFC 5652).
pub const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
pub const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// RFC 3161: the content type of a time-stamp token's `TSTInfo`.
pub const ID_CT_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Signed attributes (RFC 5652 section 11, RFC 5035).
pub const ID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
pub const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// Not used in a PAdES signature (the time is the signature dictionary's `/M`); a verifier
/// only needs to recognise it.
pub const ID_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
pub const ID_AA_SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// Unsigned attribute carrying an RFC 3161 token over the signature value (PAdES B-T).
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// Digests.
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Elliptic-curve keys and ECDSA signatures.
pub const ID_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");

/// RSA keys and PKCS#1 v1.5 signatures.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub const SHA256_WITH_RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub const SHA384_WITH_RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
pub const SHA512_WITH_RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");

/// Certificate extensions.
pub const ID_CE_SUBJECT_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.14");
pub const ID_CE_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
pub const ID_CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
pub const ID_CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
/// Extended key usages.
pub const ID_KP_EMAIL_PROTECTION: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.4");
pub const ID_KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
/// Adobe's "document signing" usage, which PDF readers recognise for seal certificates.
pub const ID_KP_DOCUMENT_SIGNING_ADOBE: Oid = Oid::new_unwrap("1.2.840.113583.1.1.5");
