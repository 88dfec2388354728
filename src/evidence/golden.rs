//! Golden tests: fixed inputs give fixed bytes, so no format can change without a test failing.
//! The worked example in `docs/EVIDENCE.md` is this example; regenerate it with
//! `cargo test -p attesta-core --lib prints_the_worked_example -- --ignored --nocapture`.

use super::chain::{ChainHead, Event, genesis_hash};
use super::checkpoint::{Checkpoint, KeyName, LogSigner, verify_checkpoint};
use super::event::{
    Actor, ActorId, ActorKind, Details, DocumentId, EventId, EventType, GeoSource, Geolocation, Latitude, Longitude,
    NewEvent, PersonalData, Salt, Text,
};
use super::hash::Sha256;
use super::merkle::MemoryTree;
use super::package::EvidencePackage;
use super::verify::verify_package;
use crate::time::Timestamp;
use serde_json::json;

pub(super) struct Example {
    pub(super) signer: LogSigner,
    events: Vec<Event>,
    tree: MemoryTree,
    checkpoint_note: String,
    pub(super) package: EvidencePackage,
}

fn text(s: &str) -> Option<Text> {
    Some(Text::new(s).expect("short"))
}

/// One document, two events, in a log that already held one unrelated leaf.
pub(super) fn example() -> Example {
    let signer = LogSigner::from_seed(KeyName::parse("log.attesta.example").expect("name"), &[0x01; 32]);
    let mut head = ChainHead::genesis(DocumentId::parse("doc-1").expect("id"));
    let file = Sha256::digest(b"%PDF-1.7 example");
    let uploaded = head
        .append(
            NewEvent {
                event_id: EventId::parse("evt-1").expect("id"),
                event_type: EventType::DocumentUploaded,
                time: Timestamp::from_micros(1_795_329_000_000_000),
                actor: Actor { kind: ActorKind::User, id: Some(ActorId::parse("user:42").expect("id")) },
                file_sha256: file,
                client_file_sha256: Some(file),
                details: Details::from_value(json!({
                    "title": "Lease",
                    "pages": 2,
                    "size": 16,
                    "source": "pdf",
                    "pdf_version": "1.7",
                    "file_name": "lease.pdf",
                }))
                .expect("details"),
            },
            PersonalData {
                email: text("owner@example.com"),
                name: text("Olivia Owner"),
                ip: text("203.0.113.7"),
                user_agent: text("Mozilla/5.0"),
                geo: Some(Geolocation {
                    source: GeoSource::Ip,
                    country: text("DE"),
                    region: text("BE"),
                    city: text("Berlin"),
                    latitude: Some(Latitude::new(52.52).expect("lat")),
                    longitude: Some(Longitude::new(13.405).expect("lon")),
                }),
            },
            Salt::from_bytes([0x11; 32]),
        )
        .expect("append");
    let viewed = head
        .append(
            NewEvent {
                event_id: EventId::parse("evt-2").expect("id"),
                event_type: EventType::RecipientViewed,
                time: Timestamp::from_micros(1_795_329_060_000_000),
                actor: Actor { kind: ActorKind::Recipient, id: Some(ActorId::parse("recipient:r-1").expect("id")) },
                file_sha256: file,
                client_file_sha256: None,
                details: Details::from_value(json!({"recipient": "r-1"})).expect("details"),
            },
            PersonalData { email: text("rita@example.org"), ip: text("2001:db8::17"), ..PersonalData::none() },
            Salt::from_bytes([0x22; 32]),
        )
        .expect("append");
    let mut tree = MemoryTree::new();
    tree.push(b"an unrelated entry");
    let placed = vec![(uploaded.clone(), 1), (viewed.clone(), 2)];
    tree.push_leaf_hash(uploaded.leaf_hash());
    tree.push_leaf_hash(viewed.leaf_hash());
    let checkpoint = Checkpoint::new(signer.verifier_key().name(), tree.size(), tree.root());
    let checkpoint_note = signer.sign_checkpoint(&checkpoint).expect("sign");
    let package = EvidencePackage::assemble(placed, &checkpoint_note, &tree, &signer).expect("package");
    Example { signer, events: vec![uploaded, viewed], tree, checkpoint_note, package }
}

#[test]
fn golden_event_encoding_commitment_and_hashes() {
    let ex = example();
    let first = &ex.events[0];
    assert_eq!(genesis_hash(first.record().document_id()).to_hex(), GENESIS);
    let personal = first.personal().expect("present");
    assert_eq!(String::from_utf8(personal.canonical_bytes()).expect("utf-8"), PERSONAL_JCS);
    assert_eq!(personal.commitment(first.salt().expect("present")).to_hex(), COMMITMENT);
    assert_eq!(String::from_utf8(first.record().canonical_bytes()).expect("utf-8"), RECORD_JCS);
    assert_eq!(first.hash().to_hex(), EVENT_HASH);
    assert_eq!(first.leaf_hash().to_hex(), LEAF_HASH);
    assert_eq!(ex.events[1].hash().to_hex(), SECOND_EVENT_HASH);
}

#[test]
fn golden_checkpoint_head_and_package() {
    let ex = example();
    assert_eq!(ex.signer.verifier_key().to_string(), VERIFIER_KEY);
    assert_eq!(ex.tree.root().to_hex(), ROOT);
    assert_eq!(ex.checkpoint_note, CHECKPOINT_NOTE);
    assert!(verify_checkpoint(&ex.checkpoint_note, ex.signer.verifier_key()).is_ok());
    assert_eq!(ex.package.log.document_head, HEAD_NOTE);
    assert_eq!(Sha256::digest(ex.package.to_json().as_bytes()).to_hex(), PACKAGE_JSON_SHA256);
    assert!(verify_package(&ex.package, Some(ex.signer.verifier_key())).is_valid());
}

#[test]
#[ignore = "prints the worked example for docs/EVIDENCE.md"]
fn prints_the_worked_example() {
    let ex = example();
    let first = &ex.events[0];
    let personal = first.personal().expect("present");
    println!("genesis        {}", genesis_hash(first.record().document_id()));
    println!("personal JCS   {}", String::from_utf8_lossy(&personal.canonical_bytes()));
    println!("commitment     {}", personal.commitment(first.salt().expect("present")));
    println!("record JCS     {}", String::from_utf8_lossy(&first.record().canonical_bytes()));
    println!("event hash     {}", first.hash());
    println!("leaf hash      {}", first.leaf_hash());
    println!("event 2 hash   {}", ex.events[1].hash());
    println!("event 2 leaf   {}", ex.events[1].leaf_hash());
    println!("leaf 0         {}", super::merkle::leaf_hash(b"an unrelated entry"));
    println!("root           {}", ex.tree.root());
    println!("vkey           {}", ex.signer.verifier_key());
    println!("checkpoint     {:?}", ex.checkpoint_note);
    println!("head           {:?}", ex.package.log.document_head);
    println!("package sha256 {}", Sha256::digest(ex.package.to_json().as_bytes()));
    println!("{}", ex.package.to_json());
    println!("{}", verify_package(&ex.package, Some(ex.signer.verifier_key())));
}

const GENESIS: &str = "6f451c090cb6012dd700be518343b9e682b859835bb2fff17d7526d3fd0487b6";
const PERSONAL_JCS: &str = r#"{"email":"owner@example.com","geo":{"city":"Berlin","country":"DE","latitude":52.52,"longitude":13.405,"region":"BE","source":"ip"},"ip":"203.0.113.7","name":"Olivia Owner","user_agent":"Mozilla/5.0"}"#;
const COMMITMENT: &str = "dd8725000f4943f63cdd8c0b49888cad14a680c028d09f5e98999b43402bde67";
const RECORD_JCS: &str = r#"{"actor":{"id":"user:42","kind":"user"},"client_file_sha256":"7b90830743ea12df73f6631d1437ab6d80f6f972b642bb6dc6bfda3c203fcc0f","details":{"file_name":"lease.pdf","pages":2,"pdf_version":"1.7","size":16,"source":"pdf","title":"Lease"},"document_id":"doc-1","event_id":"evt-1","file_sha256":"7b90830743ea12df73f6631d1437ab6d80f6f972b642bb6dc6bfda3c203fcc0f","personal_commitment":"dd8725000f4943f63cdd8c0b49888cad14a680c028d09f5e98999b43402bde67","prev_hash":"6f451c090cb6012dd700be518343b9e682b859835bb2fff17d7526d3fd0487b6","seq":0,"time":1795329000000000,"type":"document.uploaded","v":1}"#;
const EVENT_HASH: &str = "3aeb1cdd4b561de451d6ead1ae5b77c34e9acc92259774742f1b234af48d4b4b";
const LEAF_HASH: &str = "8da3a4f4abecfeb1e9807a96a880910f95be473d658516a0f0e878aa33cac089";
const SECOND_EVENT_HASH: &str = "edde75f3bdf29cafe329af6fe7ce7d070a62b1d4597b628073a3b88cd003d436";
const VERIFIER_KEY: &str = "log.attesta.example+2eece63b+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c";
const ROOT: &str = "cd73ac23157a802692d023b18636caf9d5515eb86dab8c63f796dbb72904e0c5";
const CHECKPOINT_NOTE: &str = "log.attesta.example\n3\nzXOsIxV6gCaS0COxhjbK+dVRXrhtq4xj95bbtykE4MU=\n\n\u{2014} log.attesta.example LuzmO52qebffA+hBusnGV3h3iEil9OFmIBeOsMQEedjpvCMjCe90h4IZjXqXUPSjQMUwyqnLncGoGepIb3A4SuND8gg=\n";
const HEAD_NOTE: &str = "attesta/v1/document-head\ndoc-1\n2\nedde75f3bdf29cafe329af6fe7ce7d070a62b1d4597b628073a3b88cd003d436\n3\ncd73ac23157a802692d023b18636caf9d5515eb86dab8c63f796dbb72904e0c5\n\n\u{2014} log.attesta.example LuzmO0t+yirms1Et2h6hAJcIle98CH5H0quuoabD5qZ1oE8Vb8585eEZC3M6D8F1yhD60BQf5JHjjHZPB3oj2iKsnA4=\n";
const PACKAGE_JSON_SHA256: &str = "319874f0bdeb4f6bc756ef32073811fa97d9103ff71f8256de3bbf4fee153381";
