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

struct Example {
    signer: LogSigner,
    events: Vec<Event>,
    tree: MemoryTree,
    checkpoint_note: String,
    package: EvidencePackage,
}

fn text(s: &str) -> Option<Text> {
    Some(Text::new(s).expect("short"))
}

/// One document, two events, in a log that already held one unrelated leaf.
fn example() -> Example {
    let signer = LogSigner::from_seed(KeyName::parse("log.attesta.example").expect("name"), &[0x01; 32]);
    let mut head = ChainHead::genesis(DocumentId::parse("doc-1").expect("id"));
    let file = Sha256::digest(b"%PDF-1.7 example");
    let uploaded = head
        .append(
            NewEvent {
                event_id: EventId::parse("evt-1").expect("id"),
                event_type: EventType::DocumentUploaded,
                time: Timestamp::from_micros(1_795_329_000_000_000),
                actor: Actor { kind: ActorKind::User, id: Some(ActorId::parse("42").expect("id")) },
                file_sha256: file,
                client_file_sha256: Some(file),
                details: Details::from_value(json!({"title": "Lease", "pages": 2})).expect("details"),
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
                actor: Actor { kind: ActorKind::Recipient, id: Some(ActorId::parse("r-1").expect("id")) },
                file_sha256: file,
                client_file_sha256: None,
                details: Details::empty(),
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
const RECORD_JCS: &str = r#"{"actor":{"id":"42","kind":"user"},"client_file_sha256":"7b90830743ea12df73f6631d1437ab6d80f6f972b642bb6dc6bfda3c203fcc0f","details":{"pages":2,"title":"Lease"},"document_id":"doc-1","event_id":"evt-1","file_sha256":"7b90830743ea12df73f6631d1437ab6d80f6f972b642bb6dc6bfda3c203fcc0f","personal_commitment":"dd8725000f4943f63cdd8c0b49888cad14a680c028d09f5e98999b43402bde67","prev_hash":"6f451c090cb6012dd700be518343b9e682b859835bb2fff17d7526d3fd0487b6","seq":0,"time":1795329000000000,"type":"document.uploaded","v":1}"#;
const EVENT_HASH: &str = "c8bce3e4e690e041fa5180c0f2c5ea21f362ab5877b9be4c8e844439888d060d";
const LEAF_HASH: &str = "87ea16b631f5142cc1caf70ea93852b9fc96b6789cae51025ef15fed5aa18c97";
const SECOND_EVENT_HASH: &str = "ad92541a1b345c0be9c8ae0495d93bf1a34885969d813cd863a94220578dc7ca";
const VERIFIER_KEY: &str = "log.attesta.example+2eece63b+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c";
const ROOT: &str = "dd9790191f97a04946871860f814656fdf1dedb4238e5c426b809dad146425cf";
const CHECKPOINT_NOTE: &str = "log.attesta.example\n3\n3ZeQGR+XoElGhxhg+BRlb98d7bQjjlxCa4CdrRRkJc8=\n\n\u{2014} log.attesta.example LuzmOx8EhFUVZRKVQ/8rZ+yEWQzjUzA7uJRi/pGyGWGKzKu/ii8ImVUuQQ+ZeDiTTcIQwlHSMOa6Ppe8bosgON8rbgw=\n";
const HEAD_NOTE: &str = "attesta/v1/document-head\ndoc-1\n2\nad92541a1b345c0be9c8ae0495d93bf1a34885969d813cd863a94220578dc7ca\n3\ndd9790191f97a04946871860f814656fdf1dedb4238e5c426b809dad146425cf\n\n\u{2014} log.attesta.example LuzmOySJegtqd5es9gn9yfKa25r26A6E7Df6ktNefBYl/qn866tD+sGOVG7Tdp0H7hwLeo3mET/zGfM6o4VO6kHm/gA=\n";
const PACKAGE_JSON_SHA256: &str = "171102eb2edb84840776e0acd3d6b82381cfedd21895af40838dd5221f944680";
