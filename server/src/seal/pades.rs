//! Signing a PDF as a PAdES seal (ETSI EN 319 142-1, baseline B-B, and B-T with a timestamp).
//!
//! The signature is an **incremental update**: the original bytes stay a byte-exact prefix of the
//! sealed file (the evidence verifier relies on that), and the update adds an invisible signature
//! field with its widget on page 1, lists it in the AcroForm (existing fields kept), and a
//! signature dictionary: `/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached`, `/M` the
//! signing time, `/ByteRange` and a zero-filled `/Contents` placeholder.
//!
//! Signing happens in two steps so that the one slow, remote part (the time-stamping authority)
//! runs between them and off the blocking thread: [`prepare`] writes the update, patches the
//! `/ByteRange` in place, hashes the signed ranges and signs the CMS signed attributes
//! (content-type, message-digest, ESS signing-certificate-v2; no signing-time, PAdES uses `/M`);
//! [`PreparedSeal::finish`] adds the RFC 3161 token over the signature value as the unsigned
//! attribute signature-time-stamp-token, if any, and writes the CMS into the placeholder. If the
//! CMS does not fit, it refuses ([`SealError::PlaceholderTooSmall`] says how much is needed)
//! rather than overflow.

use super::SealError;
use super::identity::SealIdentity;
use attesta_core::Timestamp;
use attesta_core::seal::asn1::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use attesta_core::seal::{oid, pdf_date};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode as _, Encode as _};
use lopdf::{Dictionary, Document, IncrementalDocument, Object, ObjectId, StringFormat};
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

/// The `/ByteRange` as first written: four ten-digit numbers, overwritten in place (padded with
/// spaces) once the offsets are known. Ten digits hold any file below 10 GB.
const BYTE_RANGE_PLACEHOLDER: &[u8] = b"/ByteRange[0 9999999999 9999999999 9999999999]";
const PLACEHOLDER_NUMBER: i64 = 9_999_999_999;
/// Room in `/Contents` beyond the certificates, the signature and the timestamp: the CMS
/// structure, the three signed attributes and their headers take under 600 bytes.
const CMS_OVERHEAD: usize = 1024;

/// A PDF with its update written and its signature made, waiting for an optional timestamp.
pub struct PreparedSeal {
    pdf: Vec<u8>,
    /// Where the hex digits of `/Contents` start, and how many bytes they can hold.
    contents_at: usize,
    capacity: usize,
    byte_range: [u64; 4],
    certificates: CertificateSet,
    signer: SignerInfo,
}

impl PreparedSeal {
    /// The CMS signature value: what a signature timestamp stamps.
    pub fn signature_value(&self) -> &[u8] {
        self.signer.signature.as_bytes()
    }

    pub fn byte_range(&self) -> [u64; 4] {
        self.byte_range
    }

    /// Writes the CMS, with `timestamp_token` (a DER RFC 3161 `TimeStampToken`) as its
    /// signature timestamp when given, into the placeholder. The caller checks the token first.
    pub fn finish(mut self, timestamp_token: Option<&[u8]>) -> Result<Vec<u8>, SealError> {
        let mut signer = self.signer.clone();
        if let Some(token) = timestamp_token {
            let token =
                Any::from_der(token).map_err(|e| SealError::Timestamp(format!("the token is not DER ({e})")))?;
            signer.unsigned_attrs = Some(attributes(vec![attribute(oid::ID_AA_SIGNATURE_TIME_STAMP_TOKEN, token)?])?);
        }
        let cms = content_info(self.certificates.clone(), signer)?;
        if cms.len() > self.capacity {
            return Err(SealError::PlaceholderTooSmall { needed: cms.len(), capacity: self.capacity });
        }
        let hex = hex::encode_upper(&cms);
        self.pdf[self.contents_at..self.contents_at + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.pdf)
    }
}

/// Seals `pdf` without a timestamp (PAdES B-B), in one step.
pub fn sign_pdf(pdf: &[u8], identity: &SealIdentity, signing_time: Timestamp) -> Result<Vec<u8>, SealError> {
    prepare(pdf, identity, signing_time, 0)?.finish(None)
}

/// Writes the incremental update to `pdf` and signs it. `timestamp_reserve` is the room, in
/// bytes, kept in `/Contents` for a timestamp token (0 for none).
pub fn prepare(
    pdf: &[u8],
    identity: &SealIdentity,
    signing_time: Timestamp,
    timestamp_reserve: usize,
) -> Result<PreparedSeal, SealError> {
    let document = load(pdf)?;
    let chain_len: usize = identity.chain().iter().map(|c| c.der.len()).sum();
    let capacity = chain_len + identity.key().max_signature_len() + CMS_OVERHEAD + timestamp_reserve;
    let mut out = write_update(pdf, document, signing_time, capacity)?;

    // Locate the placeholders in the appended part only: the original bytes are not ours.
    let appended = pdf.len();
    let contents_marker = b"/Contents<";
    let marker_at = find_unique(&out[appended..], contents_marker)
        .ok_or_else(|| SealError::Internal("the /Contents placeholder is not where it was written".to_owned()))?;
    let hole_start = appended + marker_at + contents_marker.len() - 1;
    let hole_end = hole_start + 2 * capacity + 2;
    if out.get(hole_end - 1) != Some(&b'>') || !out[hole_start + 1..hole_end - 1].iter().all(|&b| b == b'0') {
        return Err(SealError::Internal("the /Contents placeholder has an unexpected shape".to_owned()));
    }
    let range_at = appended
        + find_unique(&out[appended..], BYTE_RANGE_PLACEHOLDER)
            .ok_or_else(|| SealError::Internal("the /ByteRange placeholder is not where it was written".to_owned()))?;
    let byte_range = [0, hole_start as u64, hole_end as u64, (out.len() - hole_end) as u64];
    let numbers = format!("/ByteRange[0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    let mut patched = numbers.into_bytes();
    patched.resize(BYTE_RANGE_PLACEHOLDER.len() - 1, b' ');
    patched.push(b']');
    out[range_at..range_at + patched.len()].copy_from_slice(&patched);

    let mut hasher = sha2::Sha256::new();
    hasher.update(&out[..hole_start]);
    hasher.update(&out[hole_end..]);
    let digest: [u8; 32] = hasher.finalize().into();
    let (certificates, signer) = sign_attributes(identity, &digest)?;
    Ok(PreparedSeal { pdf: out, contents_at: hole_start + 1, capacity, byte_range, certificates, signer })
}

/// Parses `pdf` for the update. Only dictionaries are changed, so ordinary stream content is
/// dropped while parsing (the update copies the original bytes, not the parsed document).
fn load(pdf: &[u8]) -> Result<Document, SealError> {
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(64 * 1024 * 1024),
        filter: Some(empty_streams),
        ..lopdf::LoadOptions::default()
    };
    let document = Document::load_mem_with_options(pdf, options)
        .map_err(|e| SealError::Unsealable(format!("the PDF cannot be parsed ({e})")))?;
    if document.is_encrypted() || document.trailer.get(b"Encrypt").is_ok() {
        return Err(SealError::Unsealable("the PDF is encrypted".to_owned()));
    }
    if document.xref_start == 0 || document.xref_recovery.is_some() {
        return Err(SealError::Unsealable(
            "the PDF's cross-reference data is damaged, so it cannot be updated incrementally".to_owned(),
        ));
    }
    Ok(document)
}

/// lopdf keeps an object as changed in place (and, inside object streams, the returned copy).
fn empty_streams(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    if let Object::Stream(stream) = object
        && !stream.dict.has_type(b"ObjStm")
        && !stream.dict.has_type(b"XRef")
    {
        stream.content = Vec::new();
    }
    Some((id, object.clone()))
}

/// Appends the signature field, its widget on page 1, the AcroForm entry and the signature
/// dictionary with its placeholders; returns the whole new file.
fn write_update(
    pdf: &[u8],
    document: Document,
    signing_time: Timestamp,
    capacity: usize,
) -> Result<Vec<u8>, SealError> {
    let unsealable = |what: &str| SealError::Unsealable(what.to_owned());
    let page = *document.get_pages().values().next().ok_or_else(|| unsealable("the PDF has no pages"))?;
    let root = document.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| unsealable("no /Root"))?;
    let field_name = free_field_name(&document, root);
    // New objects are numbered from the trailer's /Size on (ISO 32000-1, 7.5.6), whatever the
    // highest object lopdf happened to read.
    let size = document.trailer.get(b"Size").and_then(Object::as_i64).ok().and_then(|s| u32::try_from(s).ok());
    let mut update = IncrementalDocument::create_from(pdf.to_vec(), document);
    update.new_document.max_id = update.new_document.max_id.max(size.unwrap_or(0).saturating_sub(1));
    // Only the keys a trailer needs: an xref-stream trailer's /W, /Index, /Filter or /DecodeParms
    // would otherwise describe the new section wrongly, and /XRefStm would point at the old one.
    let previous = std::mem::take(&mut update.new_document.trailer);
    for key in [b"Size".as_slice(), b"Prev", b"Root", b"Info", b"ID"] {
        if let Ok(value) = previous.get(key) {
            update.new_document.trailer.set(key, value.clone());
        }
    }

    let when = pdf_date(signing_time).ok_or_else(|| SealError::Internal("the signing time is out of range".into()))?;
    let mut signature = Dictionary::new();
    signature.set("Type", Object::Name(b"Sig".to_vec()));
    signature.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
    signature.set("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec()));
    signature.set(
        "ByteRange",
        Object::Array([0, PLACEHOLDER_NUMBER, PLACEHOLDER_NUMBER, PLACEHOLDER_NUMBER].map(Object::Integer).to_vec()),
    );
    signature.set("Contents", Object::String(vec![0; capacity], StringFormat::Hexadecimal));
    signature.set("M", Object::String(when.into_bytes(), StringFormat::Literal));
    let signature_id = update.new_document.add_object(signature);

    let mut widget = Dictionary::new();
    widget.set("Type", Object::Name(b"Annot".to_vec()));
    widget.set("Subtype", Object::Name(b"Widget".to_vec()));
    widget.set("FT", Object::Name(b"Sig".to_vec()));
    widget.set("T", Object::String(field_name.into_bytes(), StringFormat::Literal));
    widget.set("V", Object::Reference(signature_id));
    // Print + Locked; a zero rectangle: the seal is invisible on the page.
    widget.set("F", Object::Integer(132));
    widget.set("Rect", Object::Array([0, 0, 0, 0].map(Object::Integer).to_vec()));
    widget.set("P", Object::Reference(page));
    let widget_id = update.new_document.add_object(widget);

    append_to_array_entry(&mut update, page, b"Annots", widget_id)?;
    add_to_acroform(&mut update, root, widget_id)?;

    let mut out = Vec::with_capacity(pdf.len() + 2 * capacity + 4096);
    update.save_to(&mut out).map_err(|e| SealError::Internal(format!("writing the update failed ({e})")))?;
    if !out.starts_with(pdf) {
        return Err(SealError::Internal("the update did not keep the original bytes as its prefix".to_owned()));
    }
    Ok(out)
}

/// `Seal1`, or the first `SealN` no field of the document is called yet.
fn free_field_name(document: &Document, root: ObjectId) -> String {
    let fields = document
        .get_object(root)
        .and_then(Object::as_dict)
        .and_then(|catalog| catalog.get(b"AcroForm"))
        .and_then(|form| document.dereference(form))
        .and_then(|(_, form)| form.as_dict())
        .and_then(|form| form.get(b"Fields"))
        .and_then(|fields| document.dereference(fields))
        .and_then(|(_, fields)| fields.as_array());
    let taken: Vec<Vec<u8>> = fields
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| document.dereference(f).ok())
                .filter_map(|(_, f)| f.as_dict().ok()?.get(b"T").ok()?.as_str().ok().map(<[u8]>::to_vec))
                .collect()
        })
        .unwrap_or_default();
    (1..).map(|n| format!("Seal{n}")).find(|name| !taken.iter().any(|t| t == name.as_bytes())).unwrap_or_default()
}

/// Adds `item` to the array at `key` of dictionary object `owner` (creating the array), editing
/// the array object itself when the entry is a reference to one.
fn append_to_array_entry(
    update: &mut IncrementalDocument,
    owner: ObjectId,
    key: &[u8],
    item: ObjectId,
) -> Result<(), SealError> {
    let broken =
        |e: lopdf::Error| SealError::Unsealable(format!("cannot update {}: {e}", String::from_utf8_lossy(key)));
    update.opt_clone_object_to_new_document(owner).map_err(broken)?;
    let entry = update.new_document.get_object(owner).and_then(Object::as_dict).map_err(broken)?.get(key).ok().cloned();
    match entry {
        Some(Object::Reference(array_id)) => {
            update.opt_clone_object_to_new_document(array_id).map_err(broken)?;
            let array = update.new_document.get_object_mut(array_id).and_then(Object::as_array_mut).map_err(broken)?;
            array.push(Object::Reference(item));
        }
        Some(Object::Array(mut array)) => {
            array.push(Object::Reference(item));
            update.new_document.get_object_mut(owner).and_then(Object::as_dict_mut).map_err(broken)?.set(key, array);
        }
        None | Some(Object::Null) => {
            let array = Object::Array(vec![Object::Reference(item)]);
            update.new_document.get_object_mut(owner).and_then(Object::as_dict_mut).map_err(broken)?.set(key, array);
        }
        Some(_) => {
            return Err(SealError::Unsealable(format!("/{} is not an array", String::from_utf8_lossy(key))));
        }
    }
    Ok(())
}

/// Lists the field in the document's AcroForm (made when missing) and sets `/SigFlags 3`
/// (signatures exist; append only).
fn add_to_acroform(update: &mut IncrementalDocument, root: ObjectId, field: ObjectId) -> Result<(), SealError> {
    let broken = |e: lopdf::Error| SealError::Unsealable(format!("cannot update the AcroForm: {e}"));
    update.opt_clone_object_to_new_document(root).map_err(broken)?;
    let entry =
        update.new_document.get_object(root).and_then(Object::as_dict).map_err(broken)?.get(b"AcroForm").ok().cloned();
    let form_id = match entry {
        Some(Object::Reference(id)) => id,
        Some(Object::Dictionary(inline)) => {
            // Moved into an object of its own, so the same code path edits it.
            let id = update.new_document.add_object(inline);
            update.new_document.get_object_mut(root).and_then(Object::as_dict_mut).map_err(broken)?.set("AcroForm", id);
            id
        }
        None | Some(Object::Null) => {
            let id = update.new_document.add_object(Dictionary::new());
            update.new_document.get_object_mut(root).and_then(Object::as_dict_mut).map_err(broken)?.set("AcroForm", id);
            id
        }
        Some(_) => return Err(SealError::Unsealable("/AcroForm is not a dictionary".to_owned())),
    };
    append_to_array_entry(update, form_id, b"Fields", field)?;
    let form = update.new_document.get_object_mut(form_id).and_then(Object::as_dict_mut).map_err(broken)?;
    let flags = form.get(b"SigFlags").and_then(Object::as_i64).unwrap_or(0);
    form.set("SigFlags", Object::Integer(flags | 3));
    Ok(())
}

/// The first offset of `needle` in `haystack`, if it occurs exactly once.
fn find_unique(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let mut found = haystack.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn attribute(id: ObjectIdentifier, value: Any) -> Result<Attribute, SealError> {
    Ok(Attribute { oid: id, values: SetOfVec::try_from(vec![value]).map_err(der_error)? })
}

fn attributes(list: Vec<Attribute>) -> Result<SignedAttributes, SealError> {
    SetOfVec::try_from(list).map_err(der_error)
}

fn der_error(e: der::Error) -> SealError {
    SealError::Internal(format!("encoding the signature failed ({e})"))
}

fn any<T: der::Encode>(value: &T) -> Result<Any, SealError> {
    Any::from_der(&value.to_der().map_err(der_error)?).map_err(der_error)
}

/// The signed attributes over `digest` (SHA-256 of the signed ranges), and their signature.
fn sign_attributes(identity: &SealIdentity, digest: &[u8; 32]) -> Result<(CertificateSet, SignerInfo), SealError> {
    let leaf = &identity.certificate().parsed;
    let issuer_serial = IssuerSerial {
        issuer: vec![GeneralName::DirectoryName(leaf.tbs_certificate.issuer.clone())],
        serial_number: leaf.tbs_certificate.serial_number.clone(),
    };
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(sha2::Sha256::digest(&identity.certificate().der).to_vec())
                .map_err(der_error)?,
            issuer_serial: Some(issuer_serial),
        }],
        policies: None,
    };
    let signed = attributes(vec![
        attribute(oid::ID_CONTENT_TYPE, any(&oid::ID_DATA)?)?,
        attribute(oid::ID_MESSAGE_DIGEST, any(&OctetString::new(digest.to_vec()).map_err(der_error)?)?)?,
        attribute(oid::ID_AA_SIGNING_CERTIFICATE_V2, any(&signing_certificate)?)?,
    ])?;
    // RFC 5652 section 5.4: the signature is over the attributes' DER as a SET OF.
    let signature = identity.key().sign(&signed.to_der().map_err(der_error)?)?;
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None },
        signed_attrs: Some(signed),
        signature_algorithm: identity.key().signature_algorithm(),
        signature: OctetString::new(signature).map_err(der_error)?,
        unsigned_attrs: None,
    };
    let certificates =
        identity.chain().iter().map(|c| CertificateChoices::Certificate(c.parsed.clone())).collect::<Vec<_>>();
    let certificates = CertificateSet(SetOfVec::try_from(certificates).map_err(der_error)?);
    Ok((certificates, signer))
}

/// `ContentInfo { signedData }`, detached (no content), DER.
fn content_info(certificates: CertificateSet, signer: SignerInfo) -> Result<Vec<u8>, SealError> {
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None }).map_err(der_error)?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo { econtent_type: oid::ID_DATA, econtent: None },
        certificates: Some(certificates),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(der_error)?),
    };
    ContentInfo { content_type: oid::ID_SIGNED_DATA, content: any(&signed_data)? }.to_der().map_err(der_error)
}

#[cfg(test)]
mod tests;
