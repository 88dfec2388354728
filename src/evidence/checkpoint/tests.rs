use super::*;
use crate::evidence::merkle::{MemoryTree, consistency_proof};

/// The reference key pair and note from Go's `golang.org/x/mod/sumdb/note` tests.
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn go_note() -> String {
    format!("{GO_TEXT}\n{GO_SIG}")
}

fn name(text: &str) -> KeyName {
    KeyName::parse(text).expect("valid key name")
}

fn signer() -> LogSigner {
    LogSigner::from_seed(name("attesta.example/log"), &[0x42; 32])
}

#[test]
fn signing_reproduces_the_go_reference_note_byte_for_byte() {
    let signer = LogSigner::parse_signer_key(GO_SKEY).expect("reference signer key");
    assert_eq!(signer.verifier_key().to_string(), GO_VKEY);
    assert_eq!(signer.verifier_key().key_id(), 0xc74f20a3);
    assert_eq!(signer.sign_note(GO_TEXT).expect("sign"), go_note());
}

#[test]
fn the_go_reference_note_verifies_and_any_edit_to_its_text_does_not() {
    let key = VerifierKey::parse(GO_VKEY).expect("reference key");
    assert_eq!(open_note(&go_note(), &key), Ok(GO_TEXT));
    let edited = go_note().replace("cryptography", "cryptographY");
    assert_eq!(open_note(&edited, &key), Err(CheckpointError::BadSignature("PeterNeumann".into())));
}

#[test]
fn the_signed_note_spec_example_verifies() {
    let key = VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").expect("key");
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    assert_eq!(open_note(note, &key), Ok("This is an example message.\n"));
}

#[test]
fn every_truncation_and_single_byte_change_of_a_verifier_key_is_refused() {
    // As Go's TestNewVerifier does.
    assert!(VerifierKey::parse(GO_VKEY).is_ok());
    let bytes = GO_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i != 0 || j != bytes.len() {
                let part = std::str::from_utf8(&bytes[i..j]).expect("ascii");
                assert!(VerifierKey::parse(part).is_err(), "{part}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[i] = changed[i].wrapping_add(1);
        if let Ok(text) = std::str::from_utf8(&changed) {
            assert!(VerifierKey::parse(text).is_err(), "{text}");
        }
    }
    // Upper-case hex spells the same id but is not the canonical form.
    assert!(VerifierKey::parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
}

#[test]
fn verifier_keys_round_trip_through_their_text_form() {
    let key = signer().verifier_key().clone();
    assert_eq!(VerifierKey::parse(&key.to_string()), Ok(key));
}

#[test]
fn small_order_and_non_canonical_public_keys_are_refused() {
    let identity = {
        let mut bytes = [0u8; 32];
        bytes[0] = 1;
        bytes
    };
    assert!(VerifierKey::from_public_key(name("x"), &identity).is_err());
    // y = p + 1 encodes the same point as y = 1 but is not canonical.
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    assert!(VerifierKey::from_public_key(name("x"), &non_canonical).is_err());
}

#[test]
fn key_names_refuse_spaces_plus_signs_and_emptiness() {
    for bad in ["", "a b", "a+b", "a\tb", "a\u{00a0}b", "a\nb"] {
        assert!(KeyName::parse(bad).is_err(), "{bad:?}");
    }
    assert!(KeyName::parse("sign.example.com/log").is_ok());
}

#[test]
fn signatures_by_other_keys_are_ignored_but_a_bad_one_by_our_key_rejects_the_note() {
    let ours = signer();
    let other = LogSigner::from_seed(name("witness.example"), &[7; 32]);
    let text = "hello\n";
    let ours_note = ours.sign_note(text).expect("sign");
    let other_line = other.sign_note(text).expect("sign").trim_start_matches("hello\n\n").to_owned();

    let both = format!("{ours_note}{other_line}");
    assert_eq!(open_note(&both, ours.verifier_key()), Ok(text));
    assert_eq!(open_note(&both, other.verifier_key()), Ok(text));

    let only_other = format!("{text}\n{other_line}");
    assert_eq!(
        open_note(&only_other, ours.verifier_key()),
        Err(CheckpointError::NotSigned("attesta.example/log".into()))
    );

    // Same name and key id as ours, wrong signature bytes.
    let forged = {
        let mut blob = ours.verifier_key().key_id().to_be_bytes().to_vec();
        blob.extend_from_slice(&[9u8; 64]);
        format!("{text}\n\u{2014} attesta.example/log {}\n{other_line}", BASE64.encode(blob))
    };
    assert!(matches!(open_note(&forged, ours.verifier_key()), Err(CheckpointError::BadSignature(_))));

    // Same name, different key id: someone else's key, so ignored.
    let stranger = LogSigner::from_seed(name("attesta.example/log"), &[8; 32]);
    let stranger_note = stranger.sign_note(text).expect("sign");
    assert!(matches!(open_note(&stranger_note, ours.verifier_key()), Err(CheckpointError::NotSigned(_))));
}

#[test]
fn malformed_notes_are_refused() {
    let ours = signer();
    let good = ours.sign_note("a\nb\n").expect("sign");
    let key = ours.verifier_key();
    assert_eq!(open_note(&good, key), Ok("a\nb\n"));
    let cases = [
        good.trim_end_matches('\n').to_owned(),
        good.replace("\n\n", "\n"),
        good.replacen('a', "a\r", 1),
        good.replace('\u{2014}', "-"),
        good.replacen(" ", "  ", 1),
        format!("{good}\n"),
        format!("{good}{}", "\u{2014} x YWJjZA==\n".repeat(MAX_SIGNATURES)),
        format!("{good}\u{2014} x YWI=\n"),
        format!("{good}\u{2014} a+b YWJjZGVm\n"),
    ];
    for case in cases {
        assert!(open_note(&case, key).is_err(), "{case:?}");
    }
    assert!(ours.sign_note("no newline").is_err());
    assert!(ours.sign_note("bell\u{7}\n").is_err());
    assert!(ours.sign_note("").is_err());
}

#[test]
fn checkpoint_text_round_trips_and_rejects_non_canonical_fields() {
    let root = Sha256::digest(b"root");
    let checkpoint = Checkpoint::new(&name("attesta.example/log"), 20852163, root);
    let text = checkpoint.to_text();
    assert_eq!(text, format!("attesta.example/log\n20852163\n{}\n", root.to_base64()));
    assert_eq!(Checkpoint::parse_text(&text), Ok(checkpoint));
    let with_extension = format!("{text}ext\n");
    assert_eq!(Checkpoint::parse_text(&with_extension).map(|c| c.extensions().to_vec()), Ok(vec!["ext".to_owned()]));

    let b64 = root.to_base64();
    for bad in [
        format!("attesta.example/log\n020852163\n{b64}\n"),
        format!("attesta.example/log\n+5\n{b64}\n"),
        format!("attesta.example/log\n18446744073709551616\n{b64}\n"),
        format!("attesta.example/log\n5\n{}\n", &b64[1..]),
        format!("attesta.example/log\n5\n{}\n", root.to_hex()),
        format!("attesta.example/log\n5\n{b64}"),
        format!("attesta.example/log\n5\n{b64}\n\n"),
        format!("\n5\n{b64}\n"),
        "attesta.example/log\n5\n".to_owned(),
    ] {
        assert!(Checkpoint::parse_text(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_decimal("0"), Some(0));
    assert_eq!(parse_decimal("00"), None);
}

#[test]
fn a_checkpoint_must_be_signed_by_the_key_named_by_its_origin() {
    let ours = signer();
    let foreign = Checkpoint::parse_text(&format!("other.example/log\n1\n{}\n", Sha256::digest(b"r").to_base64()))
        .expect("checkpoint");
    assert!(matches!(ours.sign_checkpoint(&foreign), Err(CheckpointError::OriginMismatch { .. })));
    let note = ours.sign_note(&foreign.to_text()).expect("signing raw text is allowed");
    assert!(matches!(verify_checkpoint(&note, ours.verifier_key()), Err(CheckpointError::OriginMismatch { .. })));
}

#[test]
fn golden_checkpoint_note_for_a_fixed_seed() {
    let ours = signer();
    let checkpoint = Checkpoint::new(ours.verifier_key().name(), 8, Sha256::parse_hex(GOLDEN_ROOT).expect("root"));
    let note = ours.sign_note(&checkpoint.to_text()).expect("sign");
    assert_eq!(ours.verifier_key().to_string(), GOLDEN_VKEY);
    assert_eq!(note, GOLDEN_NOTE);
    assert_eq!(verify_checkpoint(&note, ours.verifier_key()), Ok(checkpoint));
}

/// transparency-dev's root of the 8 reference leaves.
const GOLDEN_ROOT: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
const GOLDEN_VKEY: &str = "attesta.example/log+26d89978+ASFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS";
const GOLDEN_NOTE: &str = "attesta.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\u{2014} attesta.example/log JtiZePMM6/l7WAXGszdEavtc+rHR/h0z9ePfAbJ3y7uI1MSBmST6BwGGZa4/wxXidp1GsehWvn4dlrDVI3boMnH+cwU=\n";

fn tree(n: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for i in 0..n {
        tree.push(&i.to_be_bytes());
    }
    tree
}

#[test]
fn the_signer_refuses_a_checkpoint_inconsistent_with_the_previous_one() {
    let ours = signer();
    let log = name("attesta.example/log");
    let t = tree(20);
    let at = |size: u64| Checkpoint::new(&log, size, merkle::root(&t, size).expect("root"));
    let proof = consistency_proof(&t, 7, 20).expect("proof");

    assert!(ours.sign_checkpoint_after(None, &at(7), &[]).is_ok());
    assert!(ours.sign_checkpoint_after(Some(&at(7)), &at(20), &proof).is_ok());
    assert!(ours.sign_checkpoint_after(Some(&at(20)), &at(20), &[]).is_ok());

    // A fork: same size as before, different leaves.
    let fork = tree(21);
    let forked = Checkpoint::new(&log, 7, merkle::root(&MemoryTree::new(), 0).expect("root"));
    assert!(matches!(
        ours.sign_checkpoint_after(Some(&at(7)), &forked, &[]),
        Err(CheckpointError::Inconsistent(ProofError::RootMismatch))
    ));
    // A rewritten history: the new tree does not extend the old one.
    let mut rewritten = MemoryTree::new();
    for i in 0..20u64 {
        rewritten.push(&(i + 1000).to_be_bytes());
    }
    let rewritten_head = Checkpoint::new(&log, 20, rewritten.root());
    let their_proof = consistency_proof(&rewritten, 7, 20).expect("proof");
    assert!(ours.sign_checkpoint_after(Some(&at(7)), &rewritten_head, &their_proof).is_err());
    assert!(ours.sign_checkpoint_after(Some(&at(7)), &rewritten_head, &proof).is_err());
    // Shrinking.
    assert_eq!(
        ours.sign_checkpoint_after(Some(&at(20)), &at(7), &proof),
        Err(CheckpointError::SizeDecreased { old: 20, new: 7 })
    );
    // Another log's checkpoint.
    let other = Checkpoint::new(&name("other.example/log"), 21, fork.root());
    assert!(matches!(check_consistent(&at(20), &other, &[]), Err(CheckpointError::OriginChanged { .. })));
    // From the empty tree anything is consistent, but only with an empty proof and the empty root.
    assert_eq!(check_consistent(&at(0), &at(20), &[]), Ok(()));
    assert!(check_consistent(&at(0), &at(20), &proof).is_err());
    let bogus_empty = Checkpoint::new(&log, 0, Sha256::digest(b"x"));
    assert!(check_consistent(&bogus_empty, &at(20), &[]).is_err());
}
