use super::*;
use crate::seal::test_support::{NOW, names};
use std::process::Command;

fn openssl(args: &[&str], dir: &Path) {
    let out =
        Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_embedded_identity_is_created_private_and_loads_back_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seal_dir = dir.path().join("seal");
    let first =
        load_or_create(&seal_dir, &names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("created");
    let again =
        load_or_create(&seal_dir, &names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("loaded");
    assert_eq!(first.certificate().der, again.certificate().der);
    assert_eq!(first.anchors()[0].der, again.anchors()[0].der);
    assert_eq!(first.certificate().subject(), "CN=sign.example.test document seal,O=Example Test");
    assert_eq!(first.anchors()[0].subject(), "CN=sign.example.test instance CA,O=Example Test");
    assert_eq!(first.chain().len(), 2, "the seal certificate and the CA");
    #[cfg(unix)]
    for (file, mode) in [("seal.key", 0o600), ("ca.key", 0o600)] {
        use std::os::unix::fs::PermissionsExt as _;
        let actual = std::fs::metadata(seal_dir.join(file)).expect("exists").permissions().mode() & 0o777;
        assert_eq!(actual, mode, "{file}");
    }
}

#[test]
fn created_certificates_have_the_promised_profile() {
    use x509_cert::ext::pkix::KeyUsages;
    let dir = tempfile::tempdir().expect("temp dir");
    let identity =
        load_or_create(dir.path(), &names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("created");
    let ca = &identity.anchors()[0];
    let constraints = ca.basic_constraints().expect("readable").expect("present");
    assert!(constraints.ca);
    assert_eq!(constraints.path_len_constraint, Some(0));
    let seal = identity.certificate();
    let usage = seal.key_usage().expect("readable").expect("present");
    assert!(usage.0.contains(KeyUsages::DigitalSignature) && usage.0.contains(KeyUsages::NonRepudiation));
    assert!(!seal.basic_constraints().expect("readable").is_some_and(|c| c.ca));
    let years = |c: &Cert| {
        let v = &c.parsed.tbs_certificate.validity;
        (v.not_after.to_unix_duration().as_secs() - v.not_before.to_unix_duration().as_secs()) / (365 * 24 * 3600)
    };
    assert_eq!((years(ca), years(seal)), (20, 10));
    identity.check_valid_at(NOW).expect("valid now");
    assert!(
        identity.check_valid_at(Timestamp::from_micros(NOW.as_micros() + 11 * 366 * 24 * 3600 * 1_000_000)).is_err()
    );
}

#[test]
fn an_incomplete_seal_folder_is_refused_not_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    load_or_create(dir.path(), &names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("created");
    std::fs::remove_file(dir.path().join("seal.key")).expect("removed");
    let err =
        load_or_create(dir.path(), &names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect_err("refused");
    assert!(format!("{err:#}").contains("is incomplete"), "{err:#}");
    assert!(!dir.path().join("seal.key").exists(), "nothing was recreated");
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let one = generate(&names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("one");
    let other = generate(&names(), NOW, &attesta_core::entropy::SeededEntropy::new(11)).expect("other");
    let err = SealIdentity::from_pem(format!("{}{}", one.seal_pem, one.ca_pem).as_bytes(), &other.seal_key_pem)
        .expect_err("refused");
    assert!(err.to_string().contains("belongs to none of the certificates"), "{err:#}");
}

#[test]
fn keys_in_other_forms_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sec1.key"], dir.path());
    let sec1 = std::fs::read_to_string(dir.path().join("sec1.key")).expect("key");
    let err = SealKey::from_pkcs8_pem(&sec1).expect_err("refused");
    assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");

    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "ed.key"], dir.path());
    let ed = std::fs::read_to_string(dir.path().join("ed.key")).expect("key");
    let err = SealKey::from_pkcs8_pem(&ed).expect_err("refused");
    assert!(err.to_string().contains("only ECDSA P-256 and RSA"), "{err}");

    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.key"], dir.path());
    let p384 = std::fs::read_to_string(dir.path().join("p384.key")).expect("key");
    let err = SealKey::from_pkcs8_pem(&p384).expect_err("refused");
    assert!(err.to_string().contains("only P-256"), "{err}");

    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes256",
            "-pass",
            "pass:x",
            "-out",
            "enc.key",
        ],
        dir.path(),
    );
    let encrypted = std::fs::read_to_string(dir.path().join("enc.key")).expect("key");
    let err = SealKey::from_pkcs8_pem(&encrypted).expect_err("refused");
    assert!(err.to_string().contains("encrypted"), "{err}");
}

/// `openssl pkcs12 -export` with OpenSSL 3's defaults (PBES2: PBKDF2 + AES-256-CBC, SHA-256
/// MAC), for an RSA key and chain made by openssl, opened and used to seal.
#[test]
fn a_modern_pkcs12_file_from_openssl_opens_and_seals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=P12 Test CA",
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        d,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "seal.key",
            "-out",
            "seal.csr",
            "-subj",
            "/CN=P12 Test Seal",
        ],
        d,
    );
    std::fs::write(d.join("ext"), "keyUsage=critical,digitalSignature,nonRepudiation\n").expect("ext");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "seal.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "seal.pem",
            "-days",
            "30",
            "-extfile",
            "ext",
        ],
        d,
    );
    openssl(
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "seal.key",
            "-in",
            "seal.pem",
            "-certfile",
            "ca.pem",
            "-passout",
            "pass:s3cret",
            "-out",
            "seal.p12",
        ],
        d,
    );
    let p12 = std::fs::read(d.join("seal.p12")).expect("p12");
    let info = Command::new("openssl")
        .args(["pkcs12", "-info", "-in", "seal.p12", "-noout", "-passin", "pass:s3cret"])
        .current_dir(d)
        .output()
        .expect("openssl");
    let described = String::from_utf8_lossy(&info.stderr);
    assert!(described.contains("AES-256-CBC"), "expected a PBES2/AES file: {described}");

    let identity = SealIdentity::from_pkcs12(&p12, "s3cret").expect("opens");
    assert_eq!(identity.certificate().subject(), "CN=P12 Test Seal");
    assert_eq!(identity.anchors()[0].subject(), "CN=P12 Test CA", "the chain's root is the anchor");
    assert!(matches!(identity.key(), SealKey::Rsa(_)));
    let sealed =
        crate::seal::pades::sign_pdf(&crate::seal::test_support::classic_pdf(1), &identity, Timestamp::UNIX_EPOCH)
            .expect("sealed");
    // Validity is judged at /M, 1970 here: the chain is otherwise sound.
    let report = attesta_core::seal::verify_seal(&sealed, &[identity.anchors()[0].der.clone()]);
    assert!(report.check("seal_signature").is_some_and(|c| c.failures.is_empty()), "{report}");
    assert!(
        report.failures().all(|(name, why)| name == "certificate_chain" && why.contains("not valid at")),
        "{report}"
    );

    let err = SealIdentity::from_pkcs12(&p12, "wrong").expect_err("refused");
    assert!(err.to_string().contains("seal.pkcs12_password"), "{err:#}");

    // The same key and chain as PEM files work too, in any order.
    let chain =
        [std::fs::read(d.join("ca.pem")).expect("ca"), std::fs::read(d.join("seal.pem")).expect("seal")].concat();
    let key = std::fs::read_to_string(d.join("seal.key")).expect("key");
    let from_pem = SealIdentity::from_pem(&chain, &key).expect("PEM");
    assert_eq!(from_pem.certificate().der, identity.certificate().der);
}
