use super::*;
use crate::seal::test_support::{NOW, classic_pdf};
use attesta_core::seal::verify_seal_detailed;
use std::path::PathBuf;

fn embedded(dir: &std::path::Path) -> SealConfig {
    SealConfig { dir: dir.join("seal"), ..SealConfig::default() }
}

#[tokio::test]
async fn the_embedded_sealer_is_made_once_and_seals_verifiably() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sealer = Sealer::from_config(
        &embedded(dir.path()),
        "sign.example.test",
        NOW,
        std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
    )
    .expect("created");
    let again = Sealer::from_config(
        &embedded(dir.path()),
        "other.example.test",
        NOW,
        std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
    )
    .expect("loaded");
    assert_eq!(sealer.certificate_sha256(), again.certificate_sha256(), "loaded, not made anew");
    assert_eq!(sealer.subject(), "CN=sign.example.test document seal,O=sign.example.test");
    assert_eq!(sealer.tsa_url(), None);

    let pem = sealer.trust_anchors_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----") && pem.trim_end().ends_with("-----END CERTIFICATE-----"));
    let from_pem = identity::read_pem_certificates(pem.as_bytes()).expect("parses");
    assert_eq!(vec![from_pem[0].der.clone()], sealer.trust_anchors_der());
    assert_eq!(std::fs::read_to_string(dir.path().join("seal/ca.pem")).expect("ca.pem"), pem);

    let original = classic_pdf(1);
    let sealed = sealer.seal(original.clone(), NOW).await.expect("sealed");
    assert!(sealed.bytes.starts_with(&original));
    assert_eq!(sealed.timestamp, None);
    let verified = verify_seal_detailed(&sealed.bytes, &sealer.trust_anchors_der());
    assert!(verified.report.is_valid(), "{}", verified.report);
    assert_eq!(verified.facts.byte_range, Some(sealed.signed_ranges));
    assert_eq!(verified.facts.signer_certificate_sha256, Some(sealer.certificate_sha256()));
}

#[tokio::test]
async fn sealing_outside_the_certificates_validity_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sealer = Sealer::from_config(
        &embedded(dir.path()),
        "sign.example.test",
        NOW,
        std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
    )
    .expect("created");
    let too_late = Timestamp::from_micros(NOW.as_micros() + 11 * 366 * 24 * 3600 * 1_000_000);
    match sealer.seal(classic_pdf(1), too_late).await {
        Err(SealError::Certificate(why)) => assert!(why.contains("was not valid at"), "{why}"),
        other => panic!("expected a certificate error, got {:?}", other.map(|s| s.bytes.len())),
    }
}

#[test]
fn a_configured_pem_identity_is_used_and_a_wrong_key_stops_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let names = crate::seal::test_support::names();
    let one = identity::generate(&names, NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("one");
    let other = identity::generate(&names, NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("other");
    let write = |name: &str, text: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("written");
        path
    };
    let chain = write("chain.pem", &format!("{}{}", one.seal_pem, one.ca_pem));
    let config = SealConfig {
        certificate_file: Some(chain.clone()),
        key_file: Some(write("seal.key", &one.seal_key_pem)),
        ..embedded(dir.path())
    };
    let sealer = Sealer::from_config(
        &config,
        "ignored.example",
        NOW,
        std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
    )
    .expect("loads");
    assert_eq!(sealer.subject(), "CN=sign.example.test document seal,O=Example Test");
    assert_eq!(sealer.trust_anchors_pem(), one.ca_pem);
    assert!(!dir.path().join("seal").exists(), "no embedded identity is made");

    let wrong = SealConfig { key_file: Some(write("other.key", &other.seal_key_pem)), ..config };
    let err = Sealer::from_config(
        &wrong,
        "ignored.example",
        NOW,
        std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(12)),
    )
    .err()
    .expect("refused");
    let text = format!("{err:#}");
    assert!(text.contains("seal.certificate_file and seal.key_file"), "{text}");
    assert!(text.contains("belongs to none of the certificates"), "{text}");
}
