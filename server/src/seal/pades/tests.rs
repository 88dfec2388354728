//! The signer against the core's verifier: round trips on each kind of PDF, and every way of
//! tampering with a sealed file the brief names (the external validators run in
//! `server/tests/seal.rs`).

use super::*;
use crate::seal::test_support::{NOW, classic_pdf, p256_identity, rsa_identity, xref_stream_pdf};
use attesta_core::evidence::verify::{Report, Status};
use attesta_core::seal::{verify_seal, verify_seal_detailed};
use proptest::prelude::*;
use std::sync::LazyLock;

/// One identity and one sealed file shared by the property tests (making them is the slow part).
static SEALED: LazyLock<(Vec<u8>, Vec<u8>, Vec<u8>)> = LazyLock::new(|| {
    let (identity, anchor) = p256_identity();
    let original = classic_pdf(2);
    let sealed = sign_pdf(&original, &identity, NOW).expect("sealed");
    (original, sealed, anchor)
});

fn failures(report: &Report, name: &str) -> String {
    report.check(name).map(|c| c.failures.join("; ")).unwrap_or_else(|| format!("no check {name}"))
}

fn assert_valid(sealed: &[u8], anchor: &[u8]) {
    let report = verify_seal(sealed, &[anchor.to_vec()]);
    assert!(report.is_valid(), "{report}");
    for name in ["seal_present", "byte_range", "whole_file", "message_digest", "seal_signature", "signing_certificate"]
    {
        assert_eq!(report.check(name).map(|c| c.status), Some(Status::Pass), "{name}: {report}");
    }
    assert_eq!(report.check("certificate_chain").map(|c| c.status), Some(Status::Pass), "{report}");
    assert_eq!(report.check("timestamp").map(|c| c.status), Some(Status::Skip), "{report}");
}

#[test]
fn a_sealed_pdf_verifies_and_keeps_the_original_as_its_prefix() {
    let (original, sealed, anchor) = &*SEALED;
    assert!(sealed.starts_with(original));
    assert_valid(sealed, anchor);
    let facts = verify_seal_detailed(sealed, std::slice::from_ref(anchor)).facts;
    assert_eq!(facts.field_name.as_deref(), Some("Seal1"));
    assert_eq!(facts.signing_time, Some(NOW));
    assert_eq!(facts.signer_subject.as_deref(), Some("CN=sign.example.test document seal,O=Example Test"));
    let range = facts.byte_range.expect("byte range");
    assert_eq!(range[0], 0);
    assert_eq!(range[2] + range[3], sealed.len() as u64);
}

#[test]
fn sealing_is_deterministic_for_ecdsa_keys() {
    let (identity, _) = p256_identity();
    let pdf = classic_pdf(1);
    assert_eq!(sign_pdf(&pdf, &identity, NOW).expect("once"), sign_pdf(&pdf, &identity, NOW).expect("twice"));
}

#[test]
fn a_pdf_with_a_cross_reference_stream_and_form_fields_is_sealed_keeping_its_fields() {
    let (identity, anchor) = p256_identity();
    let original = xref_stream_pdf();
    let sealed = sign_pdf(&original, &identity, NOW).expect("sealed");
    assert!(sealed.starts_with(&original));
    assert_valid(&sealed, &anchor);
    let document = Document::load_mem(&sealed).expect("parses");
    let root = document.trailer.get(b"Root").and_then(Object::as_reference).expect("root");
    let form = document.get_object(root).and_then(Object::as_dict).and_then(|c| c.get(b"AcroForm")).expect("form");
    let (_, form) = document.dereference(form).expect("form");
    let fields = form.as_dict().and_then(|f| f.get(b"Fields")).and_then(Object::as_array).expect("fields");
    assert_eq!(fields.len(), 2, "the text field and the seal");
    assert_eq!(form.as_dict().and_then(|f| f.get(b"SigFlags")).and_then(Object::as_i64).ok(), Some(3));
}

#[test]
fn a_pdf_already_updated_incrementally_and_a_second_seal_both_work() {
    let (identity, anchor) = p256_identity();
    // An incremental update such as certificate pages make: a new page appended by lopdf.
    let original = classic_pdf(1);
    let document = Document::load_mem(&original).expect("parses");
    let mut update = IncrementalDocument::create_from(original.clone(), document);
    let mut new_page = Dictionary::new();
    new_page.set("Type", Object::Name(b"Page".to_vec()));
    new_page.set("Parent", Object::Reference((2, 0)));
    new_page.set("MediaBox", Object::Array([0, 0, 612, 792].map(Object::Integer).to_vec()));
    let page = update.new_document.add_object(new_page);
    update.opt_clone_object_to_new_document((2, 0)).expect("pages");
    let pages = update.new_document.get_object_mut((2, 0)).and_then(Object::as_dict_mut).expect("pages");
    pages.set("Count", 2);
    pages.get_mut(b"Kids").and_then(Object::as_array_mut).expect("kids").push(page.into());
    let mut updated = Vec::new();
    update.save_to(&mut updated).expect("saved");

    let sealed = sign_pdf(&updated, &identity, NOW).expect("sealed");
    assert!(sealed.starts_with(&updated));
    assert_valid(&sealed, &anchor);
    let twice = sign_pdf(&sealed, &identity, NOW).expect("sealed again");
    assert_valid(&twice, &anchor);
    let facts = verify_seal_detailed(&twice, &[anchor]).facts;
    assert_eq!((facts.signatures, facts.field_name.as_deref()), (2, Some("Seal2")));
    // The first seal's revision is still a prefix of the file, and verifies on its own.
    assert!(twice.starts_with(&sealed));
    assert!(verify_seal(&twice[..sealed.len()], &[]).is_valid());
}

#[test]
fn an_rsa_seal_verifies() {
    let (identity, anchor) = rsa_identity();
    let sealed = sign_pdf(&classic_pdf(1), &identity, NOW).expect("sealed");
    assert_valid(&sealed, &anchor);
    let report = verify_seal(&sealed, &[anchor]);
    assert!(report.check("seal_signature").and_then(|c| c.detail.clone()).is_some_and(|d| d.starts_with("RSA 2048")));
}

#[test]
fn bytes_appended_after_the_seal_are_reported() {
    let (original, sealed, anchor) = &*SEALED;
    // What an incremental update changing a page would add after the seal.
    let mut updated = sealed.clone();
    updated.extend_from_slice(b"\n5 0 obj\n<< /Type /Page /Parent 2 0 R >>\nendobj\n");
    let report = verify_seal(&updated, std::slice::from_ref(anchor));
    assert!(failures(&report, "whole_file").contains("does not cover the whole file"), "{report}");
    // Everything the seal signed is intact: only coverage fails.
    assert_eq!(report.failures().count(), 1, "{report}");
    assert!(sealed.starts_with(original));
}

#[test]
fn a_truncated_seal_fails() {
    let (_, sealed, anchor) = &*SEALED;
    for cut in [1, 10, sealed.len() / 2] {
        let report = verify_seal(&sealed[..sealed.len() - cut], std::slice::from_ref(anchor));
        assert!(!report.is_valid(), "cut {cut}: {report}");
    }
}

#[test]
fn a_seal_by_an_unknown_ca_is_untrusted() {
    let (_, sealed, _) = &*SEALED;
    let other = crate::seal::identity::generate(
        &crate::seal::identity::SealNames { instance: "other.test".to_owned(), organization: "Other".to_owned() },
        NOW,
        &attesta_core::entropy::SeededEntropy::new(11),
    )
    .expect("other CA");
    let other_anchor =
        crate::seal::identity::read_pem_certificates(other.ca_pem.as_bytes()).expect("pem").remove(0).der;
    let report = verify_seal(sealed, &[other_anchor]);
    assert_eq!(
        failures(&report, "certificate_chain"),
        "untrusted: the root CN=sign.example.test instance CA,O=Example Test is not a trust anchor",
        "{report}"
    );
    assert_eq!(report.failures().count(), 1, "{report}");

    // Another CA under the very same name does not pass for ours either.
    let (_, same_name_anchor) = p256_identity();
    let report = verify_seal(sealed, &[same_name_anchor]);
    assert!(failures(&report, "certificate_chain").contains("the signature does not verify"), "{report}");

    let report = verify_seal(sealed, &[]);
    assert!(report.is_valid(), "without anchors trust is skipped, not failed: {report}");
    assert_eq!(report.check("certificate_chain").map(|c| c.status), Some(Status::Skip));
}

#[test]
fn a_token_too_large_for_the_placeholder_is_refused() {
    let (identity, _) = p256_identity();
    let prepared = prepare(&classic_pdf(1), &identity, NOW, 100).expect("prepared");
    // A syntactically valid DER value far larger than the 100 bytes reserved.
    let big = OctetString::new(vec![7u8; 4000]).expect("octets").to_der().expect("der");
    match prepared.finish(Some(&big)) {
        Err(SealError::PlaceholderTooSmall { needed, capacity }) => assert!(needed > capacity),
        other => panic!("expected PlaceholderTooSmall, got {:?}", other.map(|b| b.len())),
    }
}

#[test]
fn unsealable_pdfs_are_refused_with_a_reason() {
    let (identity, _) = p256_identity();
    let refuse = |pdf: &[u8]| match sign_pdf(pdf, &identity, NOW) {
        Err(SealError::Unsealable(why)) => why,
        other => panic!("expected a refusal, got {:?}", other.map(|b| b.len())),
    };
    assert!(refuse(b"not a pdf").contains("cannot be parsed"));
    let mut encrypted = classic_pdf(1);
    let at = encrypted.windows(7).rposition(|w| w == b"/Root 1").expect("trailer");
    encrypted.splice(at..at, b"/Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >> ".iter().copied());
    let why = refuse(&encrypted);
    assert!(why.contains("encrypted") || why.contains("cannot be parsed"), "{why}");
    // A wrong startxref makes lopdf rebuild the table by scanning: no incremental update on that.
    let mut damaged = classic_pdf(1);
    let at = damaged.windows(9).rposition(|w| w == b"startxref").expect("startxref") + 10;
    damaged[at] = b'1';
    let why = refuse(&damaged);
    assert!(why.contains("damaged") || why.contains("cannot be parsed"), "{why}");
}

/// What the seal's signature covers inside `/Contents`: the signed attributes, the signature
/// value and the signer's certificate (bound by ESS signing-certificate-v2).
fn signed_parts(pdf: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let signature = verify_seal_detailed(pdf, &[]).facts.byte_range?;
    let [_, start, end, _] = signature.map(|v| v as usize);
    let contents = hex::decode(pdf.get(start + 1..end - 1)?).ok()?;
    let (der, _) = attesta_core::seal::asn1::split_der(&contents).ok()?;
    let message = attesta_core::seal::cms::SignedMessage::parse(der).ok()?;
    let certificate = message.signer_certificate().ok()?.der.clone();
    Some((message.signed_attributes, message.signer.signature.as_bytes().to_vec(), certificate))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any byte changed outside `/Contents` breaks the seal. Inside it, the seal may survive
    /// only a change to what a CMS signature leaves unsigned (the case of a hex digit, another
    /// certificate of the bag): whenever the tampered file still verifies, the signed
    /// attributes, the signature and the signer's certificate must be exactly the original ones.
    #[test]
    fn any_flipped_byte_is_detected(position in proptest::arbitrary::any::<prop::sample::Index>(), mask in 1u8..=255) {
        let (_, sealed, anchor) = &*SEALED;
        let i = position.index(sealed.len());
        let mut tampered = sealed.clone();
        tampered[i] ^= mask;
        let [_, hole_start, hole_end, _] = verify_seal_detailed(sealed, &[]).facts.byte_range.expect("range");
        let report = verify_seal(&tampered, std::slice::from_ref(anchor));
        if (hole_start as usize..hole_end as usize).contains(&i) {
            if report.is_valid() {
                prop_assert_eq!(signed_parts(&tampered), signed_parts(sealed), "byte {} ^ {:#x}", i, mask);
            }
        } else {
            prop_assert!(!report.is_valid(), "byte {} ^ {:#x}: {}", i, mask, report);
        }
    }
}
