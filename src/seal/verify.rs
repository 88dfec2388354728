//! Verifying a sealed PDF: the last signature, check by check, into the same [`Report`] the
//! evidence verifier produces, so one report type covers a whole verification.

use super::asn1::SigningCertificateV2;
use super::certs::{Cert, PathError, path_to_anchor};
use super::cms::SignedMessage;
use super::pdf::{ByteRange, SUBFILTER_CADES, SignatureDictionary, check_byte_range, signature_dictionaries};
use super::timestamp::{TimestampToken, verify_timestamp_token};
use super::{format_utc, oid, parse_pdf_date};
use crate::Timestamp;
use crate::evidence::Sha256;
use crate::evidence::verify::Report;

/// What a seal says, for display beside the report. Each fact is as the file states it; the
/// report says which of them were verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealFacts {
    /// Signature dictionaries in the file (a PAdES seal with a document timestamp has two).
    pub signatures: usize,
    /// The name of the field holding the checked signature.
    pub field_name: Option<String>,
    /// The signer certificate's subject, e.g. `CN=sign.example.com document seal,O=Example`.
    pub signer_subject: Option<String>,
    /// SHA-256 of the signer certificate's DER.
    pub signer_certificate_sha256: Option<Sha256>,
    /// `/M`: when the signer says it signed.
    pub signing_time: Option<Timestamp>,
    /// The signature timestamp's `genTime`, when there is a token.
    pub timestamp: Option<Timestamp>,
    /// The time-stamping authority's certificate subject.
    pub timestamp_authority: Option<String>,
    /// The checked signature's `/ByteRange`.
    pub byte_range: Option<[u64; 4]>,
}

/// A report and the facts it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealVerification {
    pub report: Report,
    pub facts: SealFacts,
}

/// Verifies the last signature of `pdf` as a PAdES seal. `trust_anchors_der` are the
/// certificates (DER) a trusted signer or time-stamping authority must chain to; with none,
/// the trust checks are skipped and the report says so.
pub fn verify_seal(pdf: &[u8], trust_anchors_der: &[Vec<u8>]) -> Report {
    verify_seal_detailed(pdf, trust_anchors_der).report
}

/// [`verify_seal`], with the facts the report describes.
pub fn verify_seal_detailed(pdf: &[u8], trust_anchors_der: &[Vec<u8>]) -> SealVerification {
    let mut report = Report::default();
    let mut facts = SealFacts::default();
    let anchors = read_anchors(&mut report, trust_anchors_der);
    if let Some(signature) = find_seal(&mut report, &mut facts, pdf) {
        check_seal(&mut report, &mut facts, pdf, &signature, &anchors);
    }
    SealVerification { report, facts }
}

fn read_anchors(report: &mut Report, anchors_der: &[Vec<u8>]) -> Vec<Cert> {
    let mut anchors = Vec::new();
    let mut failures = Vec::new();
    for (i, der) in anchors_der.iter().enumerate() {
        match Cert::from_der(der) {
            Ok(cert) => anchors.push(cert),
            Err(e) => failures.push(format!("trust anchor {i}: {e}")),
        }
    }
    if !failures.is_empty() {
        report.add("trust_anchors", failures, None);
    }
    anchors
}

/// The last signature in the file, when it is a PAdES one.
fn find_seal(report: &mut Report, facts: &mut SealFacts, pdf: &[u8]) -> Option<SignatureDictionary> {
    let document = match load(pdf) {
        Ok(document) => document,
        Err(why) => {
            report.add("seal_present", vec![format!("not a readable PDF: {why}")], None);
            return None;
        }
    };
    let mut signatures = signature_dictionaries(&document);
    facts.signatures = signatures.len();
    let Some(last) = signatures.pop() else {
        report.add("seal_present", vec!["the PDF has no signature".to_owned()], None);
        return None;
    };
    facts.field_name.clone_from(&last.field_name);
    if last.document_timestamp || last.sub_filter != SUBFILTER_CADES {
        let what = if last.document_timestamp {
            "a document timestamp".to_owned()
        } else {
            format!("/SubFilter /{}", String::from_utf8_lossy(&last.sub_filter))
        };
        report.add("seal_present", vec![format!("the last signature is {what}, not /ETSI.CAdES.detached")], None);
        return None;
    }
    let field = last.field_name.as_deref().unwrap_or("unnamed field");
    let detail = format!("{field}, the last of {} signature(s), /ETSI.CAdES.detached", facts.signatures);
    report.add("seal_present", vec![], Some(detail));
    Some(last)
}

/// Parses `pdf` for its dictionaries, with decompression bounded and ordinary streams (page
/// content, images, fonts) emptied as they are read: a signature dictionary is never a stream.
fn load(pdf: &[u8]) -> Result<lopdf::Document, String> {
    if !crate::documents::has_pdf_header(pdf) {
        return Err("it does not start with %PDF-".to_owned());
    }
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(64 * 1024 * 1024),
        filter: Some(empty_streams),
        ..lopdf::LoadOptions::default()
    };
    lopdf::Document::load_mem_with_options(pdf, options).map_err(|e| crate::documents::pdf::describe(&e))
}

/// lopdf keeps the object as changed in place (and, for objects inside object streams, the
/// returned copy), so the stream is emptied in place and returned too.
fn empty_streams(id: lopdf::ObjectId, object: &mut lopdf::Object) -> Option<(lopdf::ObjectId, lopdf::Object)> {
    if let lopdf::Object::Stream(stream) = object
        && !stream.dict.has_type(b"ObjStm")
        && !stream.dict.has_type(b"XRef")
    {
        stream.content = Vec::new();
    }
    Some((id, object.clone()))
}

fn check_seal(
    report: &mut Report,
    facts: &mut SealFacts,
    pdf: &[u8],
    signature: &SignatureDictionary,
    anchors: &[Cert],
) {
    facts.signing_time = signature.signing_time.as_deref().and_then(parse_pdf_date);

    let range = match check_byte_range(pdf, signature) {
        Ok(range) => {
            facts.byte_range = Some(range.ranges);
            report.add("byte_range", vec![], Some(format!("{:?}, the hole is exactly /Contents", range.ranges)));
            Some(range)
        }
        Err(why) => {
            report.add("byte_range", vec![why], None);
            None
        }
    };
    match range {
        Some(range) if range.end() == pdf.len() as u64 => {
            report.add("whole_file", vec![], Some(format!("all {} bytes but the signature itself", pdf.len())))
        }
        Some(range) => report.add(
            "whole_file",
            vec![format!(
                "the signature does not cover the whole file: {} bytes were added after the signed ranges \
                 (an incremental update made after sealing)",
                (pdf.len() as u64).saturating_sub(range.end())
            )],
            None,
        ),
        None => report.add("whole_file", vec!["no valid /ByteRange to compare with the file".to_owned()], None),
    }

    let Some(message) = read_container(report, &signature.contents) else { return };
    let signer = match message.signer_certificate() {
        Ok(cert) => cert.clone(),
        Err(why) => return report.add("seal_signature", vec![why], None),
    };
    facts.signer_subject = Some(signer.subject());
    facts.signer_certificate_sha256 = Some(Sha256::from_bytes(signer.sha256()));

    check_message_digest(report, pdf, range, &message);
    check_signature(report, &message, &signer);
    check_signing_certificate(report, &message, &signer);
    let token = check_timestamp(report, facts, &message, anchors);
    let at = token.as_ref().map(|t| t.time).or(facts.signing_time);
    check_chain(report, &signer, &message.certificates, anchors, at);
}

fn read_container(report: &mut Report, contents: &[u8]) -> Option<SignedMessage> {
    let parsed = super::asn1::split_der(contents)
        .map_err(|e| format!("/Contents does not hold a DER structure ({e})"))
        .and_then(|(der, padding)| {
            if padding.iter().any(|&b| b != 0) {
                return Err("/Contents has data after the signature".to_owned());
            }
            SignedMessage::parse(der)
        })
        .and_then(|message| message.check_content_type().map(|()| message));
    match parsed {
        Ok(message) => {
            if message.signed_data.encap_content_info.econtent.is_some() {
                report.add(
                    "signature_container",
                    vec!["the signature is not detached: it embeds content".into()],
                    None,
                );
                return None;
            }
            let detail = format!("CMS SignedData, detached, {}", message.digest.name());
            report.add("signature_container", vec![], Some(detail));
            Some(message)
        }
        Err(why) => {
            report.add("signature_container", vec![why], None);
            None
        }
    }
}

fn check_message_digest(report: &mut Report, pdf: &[u8], range: Option<ByteRange>, message: &SignedMessage) {
    let Some([first, second]) = range.and_then(|r| r.signed_parts(pdf)) else {
        return report.add("message_digest", vec!["no valid signed ranges to hash".to_owned()], None);
    };
    let failures = match message.message_digest() {
        Ok(claimed) if claimed == message.digest.digest(&[first, second]) => vec![],
        Ok(_) => vec![format!(
            "the signed ranges' {} is not the one that was signed: the file was changed after sealing",
            message.digest.name()
        )],
        Err(why) => vec![why],
    };
    report.add("message_digest", failures, Some(format!("{} of the signed ranges", message.digest.name())));
}

fn check_signature(report: &mut Report, message: &SignedMessage, signer: &Cert) {
    let outcome = signer
        .public_key()
        .and_then(|key| message.verify_signature(&key).map(|()| key.describe()))
        .and_then(|key| signer.allows_document_signatures().map(|()| key));
    match outcome {
        Ok(key) => report.add("seal_signature", vec![], Some(format!("{key}, by {}", signer.subject()))),
        Err(why) => report.add("seal_signature", vec![why], None),
    }
}

fn check_signing_certificate(report: &mut Report, message: &SignedMessage, signer: &Cert) {
    let outcome = message
        .signed_attribute(oid::ID_AA_SIGNING_CERTIFICATE_V2)
        .and_then(|value| value.ok_or_else(|| "the ESS signing-certificate-v2 attribute is missing".to_owned()))
        .and_then(|value| {
            value.decode_as::<SigningCertificateV2>().map_err(|e| format!("signing-certificate-v2 is unreadable ({e})"))
        })
        .and_then(|attribute| {
            let first = attribute.certs.first().ok_or("signing-certificate-v2 names no certificate")?;
            let digest = super::crypto::DigestAlgorithm::from_oid(&first.hash_oid())
                .ok_or_else(|| format!("signing-certificate-v2 uses unsupported digest {}", first.hash_oid()))?;
            if first.cert_hash.as_bytes() != digest.digest(&[&signer.der]).as_slice() {
                return Err("signing-certificate-v2 names another certificate than the signer's".to_owned());
            }
            if let Some(issuer_serial) = &first.issuer_serial
                && issuer_serial.serial_number != signer.parsed.tbs_certificate.serial_number
            {
                return Err("signing-certificate-v2 names another serial number than the signer's".to_owned());
            }
            Ok(())
        });
    match outcome {
        Ok(()) => report.add("signing_certificate", vec![], Some("ESS signing-certificate-v2 names the signer".into())),
        Err(why) => report.add("signing_certificate", vec![why], None),
    }
}

fn check_timestamp(
    report: &mut Report,
    facts: &mut SealFacts,
    message: &SignedMessage,
    anchors: &[Cert],
) -> Option<TimestampToken> {
    let token = match message.unsigned_attribute(oid::ID_AA_SIGNATURE_TIME_STAMP_TOKEN) {
        Ok(Some(value)) => value,
        Ok(None) => {
            report
                .skip("timestamp", "no signature timestamp (PAdES B-B): the signing time is the signer's claim".into());
            report.skip("timestamp_trust", "no signature timestamp".into());
            return None;
        }
        Err(why) => {
            report.add("timestamp", vec![why], None);
            return None;
        }
    };
    let token = der::Encode::to_der(token)
        .map_err(|e| format!("the timestamp token is unreadable ({e})"))
        .and_then(|der| verify_timestamp_token(&der, message.signer.signature.as_bytes()).map_err(|e| e.0));
    let token = match token {
        Ok(token) => token,
        Err(why) => {
            report.add("timestamp", vec![format!("signature timestamp: {why}")], None);
            report.skip("timestamp_trust", "the timestamp is not sound".into());
            return None;
        }
    };
    facts.timestamp = Some(token.time);
    facts.timestamp_authority = Some(token.authority());
    let detail = format!("{} by {}, over the signature value", format_utc(token.time), token.authority());
    report.add("timestamp", vec![], Some(detail));

    let authority = token.authority.clone();
    if anchors.is_empty() {
        report.skip("timestamp_trust", "no trust anchors given".into());
    } else {
        match path_to_anchor(&authority, token.certificates(), anchors, Some(token.time)) {
            Ok(path) => report.add("timestamp_trust", vec![], Some(path.join(" -> "))),
            Err(PathError::NoPath(why)) => report.skip(
                "timestamp_trust",
                format!("the time-stamping authority is not under a given trust anchor ({why})"),
            ),
            Err(PathError::Invalid(why)) => report.add("timestamp_trust", vec![why], None),
        }
    }
    Some(token)
}

fn check_chain(report: &mut Report, signer: &Cert, pool: &[Cert], anchors: &[Cert], at: Option<Timestamp>) {
    if anchors.is_empty() {
        return report.skip(
            "certificate_chain",
            format!("no trust anchors given: {} is not known to be trusted", signer.subject()),
        );
    }
    let note = if at.is_some() { "" } else { "; no signing time, so validity periods were not checked" };
    match path_to_anchor(signer, pool, anchors, at) {
        Ok(path) => report.add(
            "certificate_chain",
            vec![],
            Some(format!("{}{note} (revocation is not checked)", path.join(" -> "))),
        ),
        Err(PathError::NoPath(why) | PathError::Invalid(why)) => {
            report.add("certificate_chain", vec![format!("untrusted: {why}")], None)
        }
    }
}
