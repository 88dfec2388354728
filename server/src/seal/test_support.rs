//! Fixtures for the seal's unit tests: identities made on the spot (no key is ever shipped) and
//! small PDFs of each cross-reference kind.

use super::identity::{self, SealIdentity, SealKey, SealNames};
use attesta_core::Timestamp;
use attesta_core::seal::certs::Cert;
use lopdf::{Document, Object, Stream, dictionary};

/// 2026-11-22T06:30:00Z.
pub const NOW: Timestamp = Timestamp::from_micros(1_795_329_000_000_000);

pub fn names() -> SealNames {
    SealNames { instance: "sign.example.test".to_owned(), organization: "Example Test".to_owned() }
}

/// An embedded-style identity (instance CA + P-256 seal certificate) and its anchor, DER.
pub fn p256_identity() -> (SealIdentity, Vec<u8>) {
    let made = identity::generate(&names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("generated");
    let identity = SealIdentity::from_pem(format!("{}{}", made.seal_pem, made.ca_pem).as_bytes(), &made.seal_key_pem)
        .expect("loads");
    let anchor = identity.anchors()[0].der.clone();
    (identity, anchor)
}

/// A self-signed RSA 2048 seal certificate (its own anchor).
pub fn rsa_identity() -> (SealIdentity, Vec<u8>) {
    use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256, RsaKeySize};
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).expect("RSA key");
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "RSA test seal");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    let cert = params.self_signed(&key).expect("certificate");
    let cert = Cert::from_der(cert.der()).expect("parses");
    let identity =
        SealIdentity::new(SealKey::from_pkcs8_der(key.serialized_der()).expect("key"), vec![cert.clone()], None)
            .expect("identity");
    (identity, cert.der)
}

/// A PDF with `pages` pages of text, written by hand with a classic cross-reference table.
pub fn classic_pdf(pages: usize) -> Vec<u8> {
    let content = "BT /F1 18 Tf 72 720 Td (Agreement) Tj ET";
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 5)).collect();
    objects[1] = format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" "));
    for _ in 0..pages {
        objects.push(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
                .to_owned(),
        );
    }
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
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
    out
}

/// A two-page PDF written by lopdf with object streams and a cross-reference stream, and an
/// AcroForm that already has a text field (which the seal must keep).
pub fn xref_stream_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(Stream::new(dictionary! {}, b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET".to_vec()));
    let font = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let mut kids = Vec::new();
    for _ in 0..2 {
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
            "Contents" => content,
        });
        kids.push(Object::Reference(page));
    }
    let field = doc.add_object(dictionary! {
        "FT" => "Tx", "T" => Object::string_literal("Name"), "V" => Object::string_literal("Ada"),
    });
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => 2 }));
    let form = doc.add_object(dictionary! { "Fields" => vec![Object::Reference(field)] });
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id, "AcroForm" => form });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_modern(&mut out).expect("saved");
    out
}
