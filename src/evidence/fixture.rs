//! A small, fixed log for tests: two documents whose events interleave with each other and with
//! unrelated leaves, one signed checkpoint, and a package for each document. Everything is
//! derived from constants, so golden tests can pin the bytes.

use super::chain::{ChainHead, Event};
use super::checkpoint::{Checkpoint, KeyName, LogSigner};
use super::event::{
    Actor, ActorId, ActorKind, Details, DocumentId, EventId, EventType, GeoSource, Geolocation, Latitude, Longitude,
    NewEvent, PersonalData, Salt, Text,
};
use super::hash::Sha256;
use super::merkle::{MemoryTree, NodeId, NodeSource};
use super::package::EvidencePackage;
use crate::time::Timestamp;
use serde_json::json;
use std::sync::OnceLock;

pub(crate) const LOG_NAME: &str = "attesta.example/log";
pub(crate) const LOG_SEED: [u8; 32] = [0x42; 32];
/// 2026-11-22T06:30:00Z.
pub(crate) const START_MICROS: i64 = 1_795_329_000_000_000;

pub(crate) struct Fixture {
    pub signer: LogSigner,
    pub tree: MemoryTree,
    pub checkpoint_note: String,
    pub doc_a: Vec<(Event, u64)>,
    pub doc_b: Vec<(Event, u64)>,
    pub package_a: EvidencePackage,
    pub package_b: EvidencePackage,
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

pub(crate) fn signer() -> LogSigner {
    LogSigner::from_seed(KeyName::parse(LOG_NAME).expect("valid name"), &LOG_SEED)
}

fn text(s: &str) -> Option<Text> {
    Some(Text::new(s).expect("short text"))
}

pub(crate) fn uploader() -> PersonalData {
    PersonalData {
        email: text("owner@example.com"),
        name: text("Olivia Owner"),
        ip: text("203.0.113.7"),
        user_agent: text("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"),
        geo: Some(Geolocation {
            source: GeoSource::Ip,
            country: text("DE"),
            region: text("BE"),
            city: text("Berlin"),
            latitude: Some(Latitude::new(52.52).expect("on the globe")),
            longitude: Some(Longitude::new(13.405).expect("on the globe")),
        }),
    }
}

pub(crate) fn signer_person() -> PersonalData {
    PersonalData {
        email: text("rita@example.org"),
        name: text("Rita Recipient"),
        ip: text("2001:db8::17"),
        user_agent: text("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"),
        geo: Some(Geolocation {
            source: GeoSource::Browser,
            country: None,
            region: None,
            city: None,
            latitude: Some(Latitude::new(-33.8688).expect("on the globe")),
            longitude: Some(Longitude::new(151.2093).expect("on the globe")),
        }),
    }
}

pub(crate) fn original_file() -> Sha256 {
    Sha256::digest(b"%PDF-1.7 original contract")
}

pub(crate) fn sealed_file() -> Sha256 {
    Sha256::digest(b"%PDF-1.7 sealed contract")
}

/// One step of a document's life: type, actor, personal data, file hash, details.
type Step = (EventType, Actor, PersonalData, Sha256, Option<Sha256>, serde_json::Value);

fn user(id: &str) -> Actor {
    Actor { kind: ActorKind::User, id: Some(ActorId::parse(id).expect("id")) }
}

fn recipient(id: &str) -> Actor {
    Actor { kind: ActorKind::Recipient, id: Some(ActorId::parse(id).expect("id")) }
}

fn system() -> Actor {
    Actor { kind: ActorKind::System, id: Some(ActorId::parse("mailer").expect("id")) }
}

fn steps_a() -> Vec<Step> {
    let (o, s) = (original_file(), sealed_file());
    let none = PersonalData::none;
    vec![
        (
            EventType::DocumentUploaded,
            user("42"),
            uploader(),
            o,
            Some(o),
            json!({"title": "Service agreement", "pages": 3}),
        ),
        (EventType::DocumentSent, user("42"), uploader(), o, None, json!({"recipients": ["r-1"]})),
        (EventType::RecipientEmailSent, system(), none(), o, None, json!({"recipient": "r-1"})),
        (EventType::RecipientViewed, recipient("r-1"), signer_person(), o, None, json!({})),
        (EventType::RecipientConsented, recipient("r-1"), signer_person(), o, None, json!({"consent": "esign-v1"})),
        (EventType::RecipientSigned, recipient("r-1"), signer_person(), o, Some(o), json!({"fields": 2, "ratio": 0.5})),
        (EventType::DocumentCompleted, system(), none(), o, None, json!({})),
        (EventType::DocumentSealed, system(), none(), s, None, json!({"pades": "B-T"})),
        (EventType::DocumentDownloaded, user("42"), uploader(), s, None, json!({})),
    ]
}

fn steps_b() -> Vec<Step> {
    let o = Sha256::digest(b"%PDF-1.7 another document");
    vec![
        (EventType::DocumentUploaded, user("7"), uploader(), o, None, json!({})),
        (EventType::DocumentSent, user("7"), uploader(), o, None, json!({})),
        (EventType::RecipientViewed, recipient("r-9"), signer_person(), o, None, json!({})),
        (EventType::RecipientDeclined, recipient("r-9"), signer_person(), o, None, json!({"reason": "wrong date"})),
    ]
}

/// Salts in tests are constants; the server draws them from its random source.
pub(crate) fn salt(document: u8, seq: u64) -> Salt {
    let mut bytes = [document; 32];
    bytes[31] = seq as u8;
    Salt::from_bytes(bytes)
}

fn events_of(document_id: &str, tag: u8, steps: Vec<Step>) -> Vec<Event> {
    let mut head = ChainHead::genesis(DocumentId::parse(document_id).expect("id"));
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (event_type, actor, personal, file, client_file, details))| {
            let new = NewEvent {
                event_id: EventId::parse(&format!("{document_id}-e{i}")).expect("id"),
                event_type,
                time: Timestamp::from_micros(START_MICROS + 60_000_000 * i as i64),
                actor,
                file_sha256: file,
                client_file_sha256: client_file,
                details: Details::from_value(details).expect("small details"),
            };
            head.append(new, personal, salt(tag, i as u64)).expect("append")
        })
        .collect()
}

fn build() -> Fixture {
    let signer = signer();
    let mut tree = MemoryTree::new();
    // Other documents' leaves come first, then A and B interleave: A0 B0 A1 B1 … A3 B3 A4 … A8.
    for i in 0..3u64 {
        tree.push(Sha256::digest(&i.to_be_bytes()).as_bytes());
    }
    let a = events_of("doc-a", 0xa0, steps_a());
    let b = events_of("doc-b", 0xb0, steps_b());
    let (mut doc_a, mut doc_b) = (Vec::new(), Vec::new());
    for i in 0..a.len().max(b.len()) {
        if let Some(event) = a.get(i) {
            doc_a.push((event.clone(), tree.size()));
            tree.push_leaf_hash(event.leaf_hash());
        }
        if let Some(event) = b.get(i) {
            doc_b.push((event.clone(), tree.size()));
            tree.push_leaf_hash(event.leaf_hash());
        }
    }
    tree.push(Sha256::digest(b"a later leaf").as_bytes());
    let name = KeyName::parse(LOG_NAME).expect("valid name");
    let checkpoint = Checkpoint::new(&name, tree.size(), tree.root());
    let checkpoint_note = signer.sign_checkpoint(&checkpoint).expect("sign");
    let package_a = EvidencePackage::assemble(doc_a.clone(), &checkpoint_note, &tree, &signer).expect("package a");
    let package_b = EvidencePackage::assemble(doc_b.clone(), &checkpoint_note, &tree, &signer).expect("package b");
    Fixture { signer, tree, checkpoint_note, doc_a, doc_b, package_a, package_b }
}

/// A source that fails loudly if a proof reads a node outside the plan it was given.
pub(crate) struct PlannedNodes<'a> {
    pub tree: &'a MemoryTree,
    pub plan: Vec<NodeId>,
}

impl NodeSource for PlannedNodes<'_> {
    fn node(&self, id: NodeId) -> Option<Sha256> {
        if self.plan.contains(&id) { self.tree.node(id) } else { None }
    }
}
