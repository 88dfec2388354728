//! A CMS `SignedData` with exactly one signer (RFC 5652), as both a PAdES signature and an
//! RFC 3161 time-stamp token are: decoded, with the exact bytes verification needs kept beside.

use super::asn1::raw_signed_attributes;
use super::certs::Cert;
use super::crypto::{DigestAlgorithm, PublicKey};
use super::oid;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{AnyRef, ObjectIdentifier, OctetString};
use der::{Any, Decode as _, Encode as _, Tag, Tagged as _};
use x509_cert::attr::Attributes;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

/// A decoded one-signer `SignedData`.
#[derive(Debug, Clone)]
pub struct SignedMessage {
    pub signed_data: SignedData,
    pub signer: SignerInfo,
    /// The signed attributes as signed: DER, tagged as a SET.
    pub signed_attributes: Vec<u8>,
    /// The certificates the message carries, each with its DER as written.
    pub certificates: Vec<Cert>,
    pub digest: DigestAlgorithm,
}

impl SignedMessage {
    /// Reads a `ContentInfo` holding a `SignedData` (no trailing bytes).
    pub fn parse(content_info: &[u8]) -> Result<Self, String> {
        let info = ContentInfo::from_der(content_info).map_err(|e| format!("not a CMS ContentInfo ({e})"))?;
        if info.content_type != oid::ID_SIGNED_DATA {
            return Err(format!("the CMS content is {}, not SignedData", info.content_type));
        }
        let signed_data: SignedData =
            info.content.decode_as().map_err(|e| format!("the CMS SignedData is unreadable ({e})"))?;
        let signer = match signed_data.signer_infos.0.as_slice() {
            [one] => one.clone(),
            [] => return Err("the CMS SignedData has no signer".to_owned()),
            more => return Err(format!("the CMS SignedData has {} signers; one is expected", more.len())),
        };
        let digest = DigestAlgorithm::from_oid(&signer.digest_alg.oid)
            .ok_or_else(|| format!("unsupported digest algorithm {}", signer.digest_alg.oid))?;
        let signed_attributes = raw_signed_attributes(content_info)
            .map_err(|e| format!("the signed attributes are unreadable ({e})"))?
            .ok_or_else(|| "the signer has no signed attributes".to_owned())?;
        let certificates = raw_certificates(&info.content)?;
        Ok(Self { signed_data, signer, signed_attributes, certificates, digest })
    }

    /// The certificate the signer identifies itself by.
    pub fn signer_certificate(&self) -> Result<&Cert, String> {
        let found = match &self.signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => self.certificates.iter().find(|c| {
                let tbs = &c.parsed.tbs_certificate;
                tbs.serial_number == id.serial_number && tbs.issuer == id.issuer
            }),
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                self.certificates.iter().find(|c| subject_key_identifier(c).as_ref() == Some(ski))
            }
        };
        found.ok_or_else(|| "the signer's certificate is not among the certificates the signature carries".to_owned())
    }

    /// The single value of a signed attribute; `Ok(None)` when it is absent.
    pub fn signed_attribute(&self, id: ObjectIdentifier) -> Result<Option<&Any>, String> {
        single_value(self.signer.signed_attrs.as_ref(), id)
    }

    /// The single value of an unsigned attribute; `Ok(None)` when it is absent.
    pub fn unsigned_attribute(&self, id: ObjectIdentifier) -> Result<Option<&Any>, String> {
        single_value(self.signer.unsigned_attrs.as_ref(), id)
    }

    /// The content-type attribute must name the encapsulated content's type.
    pub fn check_content_type(&self) -> Result<(), String> {
        let value = self.signed_attribute(oid::ID_CONTENT_TYPE)?.ok_or("the content-type attribute is missing")?;
        let named: ObjectIdentifier =
            value.decode_as().map_err(|_| "the content-type attribute is not an object identifier".to_owned())?;
        let actual = self.signed_data.encap_content_info.econtent_type;
        if named == actual {
            Ok(())
        } else {
            Err(format!("the content-type attribute says {named} but the content is {actual}"))
        }
    }

    /// The message-digest attribute, which must equal the digest of the signed content.
    pub fn message_digest(&self) -> Result<Vec<u8>, String> {
        let value = self.signed_attribute(oid::ID_MESSAGE_DIGEST)?.ok_or("the message-digest attribute is missing")?;
        let digest: OctetString =
            value.decode_as().map_err(|_| "the message-digest attribute is not an octet string".to_owned())?;
        Ok(digest.into_bytes())
    }

    /// Checks the signature over the signed attributes with `key`.
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), String> {
        let hashed = self.digest.digest(&[&self.signed_attributes]);
        key.verify(&self.signer.signature_algorithm, self.digest, &hashed, self.signer.signature.as_bytes())
    }

    /// The encapsulated content's bytes (an RFC 3161 token's `TSTInfo`), if it has any.
    pub fn encapsulated_content(&self) -> Result<Option<Vec<u8>>, String> {
        match &self.signed_data.encap_content_info.econtent {
            None => Ok(None),
            Some(any) => any
                .decode_as::<OctetString>()
                .map(|o| Some(o.into_bytes()))
                .map_err(|_| "the encapsulated content is not an octet string".to_owned()),
        }
    }
}

fn single_value(attributes: Option<&Attributes>, id: ObjectIdentifier) -> Result<Option<&Any>, String> {
    let Some(attributes) = attributes else { return Ok(None) };
    let mut matching = attributes.iter().filter(|a| a.oid == id);
    let Some(attribute) = matching.next() else { return Ok(None) };
    if matching.next().is_some() {
        return Err(format!("attribute {id} appears more than once"));
    }
    match attribute.values.as_slice() {
        [value] => Ok(Some(value)),
        values => Err(format!("attribute {id} has {} values; one is expected", values.len())),
    }
}

fn subject_key_identifier(cert: &Cert) -> Option<SubjectKeyIdentifier> {
    let extensions = cert.parsed.tbs_certificate.extensions.as_ref()?;
    let ext = extensions.iter().find(|e| e.extn_id == oid::ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok()
}

/// The `certificates [0]` field of a SignedData, each certificate with its DER as written
/// (hashes of a certificate are over those bytes, not over a re-encoding).
fn raw_certificates(signed_data: &Any) -> Result<Vec<Cert>, String> {
    let unreadable = |e: der::Error| format!("the CMS certificates are unreadable ({e})");
    let der = signed_data.to_der().map_err(unreadable)?;
    let outer = AnyRef::from_der(&der).map_err(unreadable)?;
    let mut reader = der::SliceReader::new(outer.value()).map_err(unreadable)?;
    let certificates_tag = Tag::ContextSpecific { constructed: true, number: der::TagNumber::N0 };
    let mut out = Vec::new();
    while !der::Reader::is_finished(&reader) {
        let field = AnyRef::decode(&mut reader).map_err(unreadable)?;
        if field.tag() != certificates_tag {
            continue;
        }
        let mut inner = der::SliceReader::new(field.value()).map_err(unreadable)?;
        while !der::Reader::is_finished(&inner) {
            let choice = AnyRef::decode(&mut inner).map_err(unreadable)?;
            // Only plain certificates (a SEQUENCE); attribute and other certificate formats are skipped.
            if choice.tag() == Tag::Sequence {
                out.push(Cert::from_der(&choice.to_der().map_err(unreadable)?)?);
            }
        }
    }
    Ok(out)
}
