//! The verifier on inputs that are not genuine seals. Genuine seals come from the server's
//! signer, so the round trips (sign, verify, tamper, verify again) are in `server/src/seal/` and
//! `server/tests/seal.rs`; here the verifier must refuse everything else with a reason, never
//! panic.

use super::*;
use crate::evidence::verify::Status;
use proptest::prelude::*;

/// A one-page PDF whose page carries a signature field with `sub_filter` and `contents` (the
/// hex string's bytes), its `/ByteRange` set to leave out exactly that string.
fn pdf_with_signature(sub_filter: &str, contents: &[u8]) -> Vec<u8> {
    let hex: String = contents.iter().map(|b| format!("{b:02X}")).collect();
    let placeholder = "[0 0000000000 0000000000 0000000000]";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R] >>".to_owned(),
        "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Seal1) /V 5 0 R /Rect [0 0 0 0] /P 3 0 R >>".to_owned(),
        format!(
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /{sub_filter} /M (D:20261122063000+00'00') \
             /ByteRange {placeholder} /Contents <{hex}> >>"
        ),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    let text = String::from_utf8_lossy(&out).into_owned();
    let hole_start = text.find(&format!("<{hex}>")).expect("the contents are in the file");
    let hole_end = hole_start + hex.len() + 2;
    let range = format!("[0 {hole_start:010} {hole_end:010} {:010}]", out.len() - hole_end);
    let at = text.find(placeholder).expect("the placeholder is in the file");
    out[at..at + placeholder.len()].copy_from_slice(range.as_bytes());
    out
}

fn status(report: &crate::evidence::verify::Report, name: &str) -> Option<Status> {
    report.check(name).map(|c| c.status)
}

fn failure(report: &crate::evidence::verify::Report, name: &str) -> String {
    report.check(name).map(|c| c.failures.join("; ")).unwrap_or_default()
}

#[test]
fn pdf_dates_are_written_in_utc_and_read_in_any_zone() {
    let t = Timestamp::from_micros(1_795_329_000_000_000);
    assert_eq!(pdf_date(t).as_deref(), Some("D:20261122063000+00'00'"));
    assert_eq!(format_utc(t), "2026-11-22T06:30:00Z");
    assert_eq!(parse_pdf_date(b"D:20261122063000+00'00'"), Some(t));
    assert_eq!(parse_pdf_date(b"D:20261122063000Z"), Some(t));
    assert_eq!(parse_pdf_date(b"D:20261122083000+02'00'"), Some(t));
    assert_eq!(parse_pdf_date(b"D:20261122003000-06'00"), Some(t));
    assert_eq!(parse_pdf_date(b"D:20261122063000"), Some(t), "no zone: UTC");
    assert_eq!(parse_pdf_date(b"D:2026"), Some(Timestamp::from_micros(1_767_225_600_000_000)));
    assert_eq!(parse_pdf_date(b"D:202611220630001"), None, "an odd number of digits");
    assert_eq!(parse_pdf_date(b"D:20261322063000Z"), None, "month 13");
    assert_eq!(parse_pdf_date(b"yesterday"), None);
    assert_eq!(parse_pdf_date(b"D:20261122063000+0"), None);
}

#[test]
fn input_that_is_not_a_pdf_fails_with_a_reason() {
    for input in [&b""[..], b"hello", b"%PDF-1.7\ngarbage", &[0xFF; 64]] {
        let report = verify_seal(input, &[]);
        assert!(!report.is_valid());
        assert_eq!(report.checks.len(), 1, "{report}");
        assert!(failure(&report, "seal_present").starts_with("not a readable PDF"), "{report}");
    }
}

#[test]
fn a_pdf_without_a_signature_is_not_sealed() {
    let pdf = crate::documents::pdf::tests::tiny_pdf(1);
    let report = verify_seal(&pdf, &[]);
    assert_eq!(failure(&report, "seal_present"), "the PDF has no signature");
}

#[test]
fn a_pkcs7_signature_is_not_a_pades_seal() {
    let pdf = pdf_with_signature("adbe.pkcs7.detached", &[0x30, 0x00]);
    let report = verify_seal(&pdf, &[]);
    assert!(failure(&report, "seal_present").contains("/SubFilter /adbe.pkcs7.detached"), "{report}");
}

#[test]
fn a_seal_whose_contents_are_not_cms_fails_at_the_container() {
    let pdf = pdf_with_signature("ETSI.CAdES.detached", &[0x04, 0x02, 0xAB, 0xCD, 0, 0, 0]);
    let detailed = verify_seal_detailed(&pdf, &[]);
    let report = &detailed.report;
    assert_eq!(status(report, "seal_present"), Some(Status::Pass), "{report}");
    assert_eq!(status(report, "byte_range"), Some(Status::Pass), "{report}");
    assert_eq!(status(report, "whole_file"), Some(Status::Pass), "{report}");
    assert!(failure(report, "signature_container").contains("not a CMS ContentInfo"), "{report}");
    assert!(!report.is_valid());
    assert_eq!(detailed.facts.field_name.as_deref(), Some("Seal1"));
    assert_eq!(detailed.facts.signing_time, Some(Timestamp::from_micros(1_795_329_000_000_000)));
    assert_eq!(detailed.facts.signatures, 1);
}

#[test]
fn padding_that_is_not_zero_is_refused() {
    let pdf = pdf_with_signature("ETSI.CAdES.detached", &[0x04, 0x01, 0xAB, 0, 7]);
    let report = verify_seal(&pdf, &[]);
    assert_eq!(failure(&report, "signature_container"), "/Contents has data after the signature", "{report}");
}

#[test]
fn bytes_appended_after_the_signed_ranges_are_reported() {
    let mut pdf = pdf_with_signature("ETSI.CAdES.detached", &[0x04, 0x01, 0xAB]);
    pdf.extend_from_slice(b"% appended\n");
    let report = verify_seal(&pdf, &[]);
    assert!(failure(&report, "whole_file").contains("does not cover the whole file: 11 bytes"), "{report}");
}

#[test]
fn an_unreadable_trust_anchor_is_a_failure() {
    let pdf = pdf_with_signature("ETSI.CAdES.detached", &[0x04, 0x01, 0xAB]);
    let report = verify_seal(&pdf, &[b"not a certificate".to_vec()]);
    assert!(failure(&report, "trust_anchors").starts_with("trust anchor 0: not an X.509 certificate"), "{report}");
}

#[test]
fn timestamp_tokens_that_are_not_tokens_are_refused() {
    let err = verify_timestamp_token(b"\x30\x03\x02\x01\x01", b"data").expect_err("refused");
    assert!(err.0.starts_with("the token: not a CMS ContentInfo"), "{err}");
    assert!(verify_timestamp_token(&[], b"data").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any byte of a seal-shaped file changed, or the file cut anywhere: a report, never a
    /// panic, and never a valid one (the CMS here is not a signature at all).
    #[test]
    fn damaged_files_never_panic_or_pass(at in 0usize..2000, byte in any::<u8>(), cut in 0usize..2000) {
        let pdf = pdf_with_signature("ETSI.CAdES.detached", &[0x30, 0x03, 0x02, 0x01, 0x01, 0, 0]);
        let mut flipped = pdf.clone();
        let i = at % flipped.len();
        flipped[i] = byte;
        prop_assert!(!verify_seal(&flipped, &[]).is_valid());
        let truncated = &pdf[..cut % pdf.len()];
        prop_assert!(!verify_seal(truncated, &[]).is_valid());
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut input = b"%PDF-1.7\n".to_vec();
        input.extend_from_slice(&bytes);
        prop_assert!(!verify_seal(&input, std::slice::from_ref(&bytes)).is_valid());
        prop_assert!(verify_timestamp_token(&bytes, b"x").is_err());
    }
}
