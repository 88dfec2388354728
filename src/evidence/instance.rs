//! The instance chain: evidence of the instance's own administrative acts.
//!
//! Acts that concern no document (a user created or disabled, an API key created or revoked, a
//! webhook endpoint created, changed or deleted, its secret rotated, sessions revoked, and the
//! seal and log keys in use at each start) are events of one more chain in the same log, whose
//! document id is [`INSTANCE_CHAIN_ID`]. It is hashed, chained, logged, checkpointed, exported
//! and verified exactly like a document's chain (`docs/EVIDENCE.md` §6a): only its event types
//! differ, and its events concern no file, so their `file_sha256` is [`no_file_sha256`].
//!
//! Each kind of act has one details type here, serialised as the event's `details`. Details are
//! public and permanent: they name users, keys, endpoints and sessions by id, and secrets and
//! URLs (which may carry a token) only by SHA-256, never by value.

use super::event::{Actor, ActorId, ActorKind, Details, DocumentId, EventType, PersonalData, Text};
use super::hash::Sha256;
use serde::{Deserialize, Serialize};

/// The document id of the instance chain. Document ids the server assigns never contain `:`,
/// so no document's chain can be this one.
pub const INSTANCE_CHAIN_ID: &str = "attesta:instance";

/// The actor id of the operator at the command line (`attesta user create`, `attesta api-key
/// create`): the person with shell access to the server, whom the server cannot name.
pub const OPERATOR_ACTOR_ID: &str = "system:cli";

/// The instance chain's document id.
pub fn instance_chain_id() -> DocumentId {
    DocumentId::parse(INSTANCE_CHAIN_ID).expect("a valid id")
}

/// SHA-256 of the empty string: the `file_sha256` of every event of the instance chain.
pub fn no_file_sha256() -> Sha256 {
    Sha256::digest(b"")
}

/// Who does an administrative act, as its event names them: the actor, and their personal data
/// (email, name, address, user agent), which enters the event only through its commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct Acting {
    pub actor: Actor,
    pub personal: PersonalData,
}

impl Acting {
    /// A signed-in user (`user:<id>`), from the request's address and user agent.
    pub fn user(user: &crate::User, ip: Option<&str>, user_agent: Option<&str>) -> Self {
        Self {
            actor: Actor { kind: ActorKind::User, id: ActorId::parse(&format!("user:{}", user.id.0)).ok() },
            personal: PersonalData {
                email: Some(Text::truncated(user.email.as_str())),
                name: Some(Text::truncated(user.name.as_str())),
                ip: ip.map(Text::truncated),
                user_agent: user_agent.map(Text::truncated),
                geo: None,
            },
        }
    }

    /// The server itself (`system:attesta`): start-up, and accounts that come into being on
    /// their own (the first-run setup, a first single sign-on), with whatever personal data the
    /// request gives.
    pub fn system(personal: PersonalData) -> Self {
        Self { actor: Actor::system(), personal }
    }

    /// The operator at the command line ([`OPERATOR_ACTOR_ID`]).
    pub fn operator() -> Self {
        Self {
            actor: Actor { kind: ActorKind::System, id: ActorId::parse(OPERATOR_ACTOR_ID).ok() },
            personal: PersonalData::none(),
        }
    }
}

/// `user:<id>`, as details name users.
pub fn user_ref(id: crate::UserId) -> String {
    format!("user:{}", id.0)
}

/// `user.created` for `user`, who signs in with a password when `with_password`, else only
/// through single sign-on.
pub fn user_created(user: &crate::User, with_password: bool) -> InstanceEvent {
    InstanceEvent::UserCreated(UserCreated {
        user: user_ref(user.id),
        role: user.role.as_str().to_owned(),
        sign_in: if with_password { SignIn::Password } else { SignIn::Sso },
    })
}

/// `user.disabled` (when `disabled`) or `user.enabled` for the user `id`.
pub fn user_access(id: crate::UserId, disabled: bool) -> InstanceEvent {
    let access = UserAccess { user: user_ref(id) };
    if disabled { InstanceEvent::UserDisabled(access) } else { InstanceEvent::UserEnabled(access) }
}

/// How a user signs in, as `user.created` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignIn {
    /// With a password (set at creation).
    Password,
    /// Only through single sign-on: no password can match.
    Sso,
}

/// `user.created`: an account was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCreated {
    /// `user:<id>` of the new account.
    pub user: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
    pub sign_in: SignIn,
}

/// `user.disabled` and `user.enabled`: an account was disabled (its sessions end) or re-enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserAccess {
    /// `user:<id>` of the account changed.
    pub user: String,
}

/// `api_key.created`: a REST API key was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreated {
    /// `api_key:<public id>`: the key's actor id in every event it acts in.
    pub api_key: String,
    /// `user:<id>` whose key it is.
    pub user: String,
    /// The scopes granted, in the order the server lists them.
    pub scopes: Vec<String>,
    /// The stored SHA-256 of the key's secret (`attesta_core::api_keys`), never the secret.
    pub secret_sha256: Sha256,
}

/// `api_key.revoked`: a key stopped working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRevoked {
    pub api_key: String,
    pub user: String,
}

/// `webhook.created`: an endpoint was added, enabled, with its first secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreated {
    /// The endpoint's id (`ep_…`).
    pub endpoint: String,
    /// `user:<id>` who owns it.
    pub owner: String,
    /// SHA-256 of the URL's UTF-8 bytes as stored (a URL may carry a token).
    pub url_sha256: Sha256,
    /// The event types it is subscribed to.
    pub event_types: Vec<String>,
    /// The id (`sec_…`) of its first signing secret, never the secret.
    pub secret: String,
}

/// `webhook.updated`: an endpoint was enabled or disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdated {
    pub endpoint: String,
    pub owner: String,
    pub enabled: bool,
}

/// `webhook.deleted`: an endpoint was deleted with its secrets and delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDeleted {
    pub endpoint: String,
    pub owner: String,
}

/// `webhook.secret_rotated`: an endpoint got a new signing secret; the one before keeps signing
/// beside it until `previous_expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecretRotated {
    pub endpoint: String,
    pub owner: String,
    /// The new secret's id (`sec_…`).
    pub secret: String,
    /// UTC microseconds.
    pub previous_expires_at: i64,
}

/// Why sessions were revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// The user signed out of this session.
    SignedOut,
    /// The user ended one of their sessions from their list of devices.
    Revoked,
    /// The user ended every session but the one they used.
    OthersRevoked,
    /// The user signed out everywhere.
    AllRevoked,
    /// An administrator disabled the user.
    UserDisabled,
}

/// `session.revoked`: one session (`session` set), or every live session of `user` except
/// `kept` (`session` null), ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRevoked {
    pub user: String,
    pub reason: RevokeReason,
    /// The handle of the one session revoked (a public name, not a credential), or null.
    pub session: Option<String>,
    /// With `session` null: the handle of the session left alone, or null when none was.
    pub kept: Option<String>,
}

/// `instance.keys_configured`: the keys this instance signs with, as it started: appended at a
/// start when they differ from the last such event (so at the first start, and after a change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfigured {
    /// The log's verifier key (`docs/EVIDENCE.md` §8): public.
    pub log_key: String,
    /// SHA-256 of the DER of the certificate the seal signs with.
    pub seal_certificate_sha256: Sha256,
    /// SHA-256 of the DER of each certificate the seal's chain is anchored in (`/seal/ca.pem`).
    pub seal_anchors_sha256: Vec<Sha256>,
    /// The timestamp authority's URL, or null without one.
    pub tsa_url: Option<String>,
}

/// `instance.self_verification_failed`: a self-verification (`instance.self_verify`) found a
/// problem. Recorded so that the finding itself cannot be quietly removed, and announced to
/// owners' and admins' webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfVerificationFailed {
    /// When the run started and finished, UTC microseconds.
    pub started_at: i64,
    pub finished_at: i64,
    /// The names of the checks that failed (`events`, `changes`, `files`, ...), in run order.
    pub failed_checks: Vec<String>,
    /// Events re-derived; files re-hashed and how many did not match.
    pub log_events: u64,
    pub files_checked: u64,
    pub files_failed: u64,
}

/// One administrative act, with its details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceEvent {
    UserCreated(UserCreated),
    UserDisabled(UserAccess),
    UserEnabled(UserAccess),
    ApiKeyCreated(ApiKeyCreated),
    ApiKeyRevoked(ApiKeyRevoked),
    WebhookCreated(WebhookCreated),
    WebhookUpdated(WebhookUpdated),
    WebhookDeleted(WebhookDeleted),
    WebhookSecretRotated(WebhookSecretRotated),
    SessionRevoked(SessionRevoked),
    KeysConfigured(KeysConfigured),
    SelfVerificationFailed(SelfVerificationFailed),
}

impl InstanceEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::UserCreated(_) => EventType::UserCreated,
            Self::UserDisabled(_) => EventType::UserDisabled,
            Self::UserEnabled(_) => EventType::UserEnabled,
            Self::ApiKeyCreated(_) => EventType::ApiKeyCreated,
            Self::ApiKeyRevoked(_) => EventType::ApiKeyRevoked,
            Self::WebhookCreated(_) => EventType::WebhookCreated,
            Self::WebhookUpdated(_) => EventType::WebhookUpdated,
            Self::WebhookDeleted(_) => EventType::WebhookDeleted,
            Self::WebhookSecretRotated(_) => EventType::WebhookSecretRotated,
            Self::SessionRevoked(_) => EventType::SessionRevoked,
            Self::KeysConfigured(_) => EventType::InstanceKeysConfigured,
            Self::SelfVerificationFailed(_) => EventType::InstanceSelfVerificationFailed,
        }
    }

    /// The event's `details`: the type's fields, every one present (absent values as null).
    pub fn details(&self) -> Details {
        let value = match self {
            Self::UserCreated(d) => serde_json::to_value(d),
            Self::UserDisabled(d) | Self::UserEnabled(d) => serde_json::to_value(d),
            Self::ApiKeyCreated(d) => serde_json::to_value(d),
            Self::ApiKeyRevoked(d) => serde_json::to_value(d),
            Self::WebhookCreated(d) => serde_json::to_value(d),
            Self::WebhookUpdated(d) => serde_json::to_value(d),
            Self::WebhookDeleted(d) => serde_json::to_value(d),
            Self::WebhookSecretRotated(d) => serde_json::to_value(d),
            Self::SessionRevoked(d) => serde_json::to_value(d),
            Self::KeysConfigured(d) => serde_json::to_value(d),
            Self::SelfVerificationFailed(d) => serde_json::to_value(d),
        };
        // Plain structs of strings, small integers, booleans and digests: always an object
        // within the details limits.
        value.ok().and_then(|v| Details::from_value(v).ok()).unwrap_or_default()
    }

    /// The typed act of a recorded event; `None` for a type that is not an instance act or
    /// details that do not have its shape.
    pub fn from_event(event_type: &EventType, details: &Details) -> Option<Self> {
        let value = serde_json::Value::Object(details.as_map().clone());
        let parse = || value.clone();
        Some(match event_type {
            EventType::UserCreated => Self::UserCreated(serde_json::from_value(parse()).ok()?),
            EventType::UserDisabled => Self::UserDisabled(serde_json::from_value(parse()).ok()?),
            EventType::UserEnabled => Self::UserEnabled(serde_json::from_value(parse()).ok()?),
            EventType::ApiKeyCreated => Self::ApiKeyCreated(serde_json::from_value(parse()).ok()?),
            EventType::ApiKeyRevoked => Self::ApiKeyRevoked(serde_json::from_value(parse()).ok()?),
            EventType::WebhookCreated => Self::WebhookCreated(serde_json::from_value(parse()).ok()?),
            EventType::WebhookUpdated => Self::WebhookUpdated(serde_json::from_value(parse()).ok()?),
            EventType::WebhookDeleted => Self::WebhookDeleted(serde_json::from_value(parse()).ok()?),
            EventType::WebhookSecretRotated => Self::WebhookSecretRotated(serde_json::from_value(parse()).ok()?),
            EventType::SessionRevoked => Self::SessionRevoked(serde_json::from_value(parse()).ok()?),
            EventType::InstanceKeysConfigured => Self::KeysConfigured(serde_json::from_value(parse()).ok()?),
            EventType::InstanceSelfVerificationFailed => {
                Self::SelfVerificationFailed(serde_json::from_value(parse()).ok()?)
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: u8) -> Sha256 {
        Sha256::from_bytes([byte; 32])
    }

    fn every_kind() -> Vec<InstanceEvent> {
        vec![
            InstanceEvent::UserCreated(UserCreated {
                user: "user:2".into(),
                role: "member".into(),
                sign_in: SignIn::Sso,
            }),
            InstanceEvent::UserDisabled(UserAccess { user: "user:2".into() }),
            InstanceEvent::UserEnabled(UserAccess { user: "user:2".into() }),
            InstanceEvent::ApiKeyCreated(ApiKeyCreated {
                api_key: "api_key:abc".into(),
                user: "user:1".into(),
                scopes: vec!["documents:read".into()],
                secret_sha256: digest(1),
            }),
            InstanceEvent::ApiKeyRevoked(ApiKeyRevoked { api_key: "api_key:abc".into(), user: "user:1".into() }),
            InstanceEvent::WebhookCreated(WebhookCreated {
                endpoint: "ep_1".into(),
                owner: "user:1".into(),
                url_sha256: digest(2),
                event_types: vec!["document.completed".into()],
                secret: "sec_1".into(),
            }),
            InstanceEvent::WebhookUpdated(WebhookUpdated {
                endpoint: "ep_1".into(),
                owner: "user:1".into(),
                enabled: false,
            }),
            InstanceEvent::WebhookDeleted(WebhookDeleted { endpoint: "ep_1".into(), owner: "user:1".into() }),
            InstanceEvent::WebhookSecretRotated(WebhookSecretRotated {
                endpoint: "ep_1".into(),
                owner: "user:1".into(),
                secret: "sec_2".into(),
                previous_expires_at: 1_795_329_000_000_000,
            }),
            InstanceEvent::SessionRevoked(SessionRevoked {
                user: "user:1".into(),
                reason: RevokeReason::OthersRevoked,
                session: None,
                kept: Some("00".repeat(16)),
            }),
            InstanceEvent::KeysConfigured(KeysConfigured {
                log_key: "log.example+01234567+AQ==".into(),
                seal_certificate_sha256: digest(3),
                seal_anchors_sha256: vec![digest(4)],
                tsa_url: None,
            }),
            InstanceEvent::SelfVerificationFailed(SelfVerificationFailed {
                started_at: 1,
                finished_at: 2,
                failed_checks: vec!["files".into(), "changes".into()],
                log_events: 40,
                files_checked: 3,
                files_failed: 1,
            }),
        ]
    }

    #[test]
    fn every_kind_round_trips_through_its_type_and_details() {
        for act in every_kind() {
            let back = InstanceEvent::from_event(&act.event_type(), &act.details());
            assert_eq!(back.as_ref(), Some(&act), "{}", act.event_type());
            assert!(!matches!(act.event_type(), EventType::Other(_)));
        }
    }

    #[test]
    fn details_list_every_field_with_nulls_and_digests_in_hex() {
        let revoked = InstanceEvent::SessionRevoked(SessionRevoked {
            user: "user:1".into(),
            reason: RevokeReason::AllRevoked,
            session: None,
            kept: None,
        });
        assert_eq!(
            serde_json_canonicalizer::to_string(&revoked.details()).expect("jcs"),
            r#"{"kept":null,"reason":"all_revoked","session":null,"user":"user:1"}"#
        );
        let key = &every_kind()[3];
        assert_eq!(key.details().as_map()["secret_sha256"], "01".repeat(32));
    }

    #[test]
    fn details_of_another_shape_are_not_taken_for_an_act() {
        let details = Details::from_value(serde_json::json!({"user": "user:1", "extra": 1})).expect("details");
        assert_eq!(InstanceEvent::from_event(&EventType::UserDisabled, &details), None);
        assert_eq!(InstanceEvent::from_event(&EventType::DocumentSent, &Details::empty()), None);
    }

    #[test]
    fn the_chain_id_is_one_no_server_document_id_can_be() {
        assert_eq!(instance_chain_id().as_str(), "attesta:instance");
        assert_eq!(no_file_sha256().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    /// A package of an instance chain of `events` acts, in a log with one unrelated leaf first.
    fn instance_package(
        file: impl Fn(usize) -> Sha256,
        id: &str,
    ) -> Result<super::super::EvidencePackage, super::super::PackageError> {
        use super::super::checkpoint::{Checkpoint, KeyName, LogSigner};
        use super::super::{ChainHead, EventId, MemoryTree, NewEvent, Salt};
        let name = KeyName::parse("attesta.example/log").expect("name");
        let signer = LogSigner::from_seed(name.clone(), &[9; 32]);
        let mut tree = MemoryTree::new();
        tree.push(b"another document's event");
        let mut head = ChainHead::genesis(DocumentId::parse(id).expect("id"));
        let mut events = Vec::new();
        for (i, act) in every_kind().into_iter().enumerate() {
            let acting = Acting::operator();
            let new = NewEvent {
                event_id: EventId::parse(&format!("e{i}")).expect("id"),
                event_type: act.event_type(),
                time: crate::Timestamp::from_micros(1_795_329_000_000_000 + i as i64),
                actor: acting.actor,
                file_sha256: file(i),
                client_file_sha256: None,
                details: act.details(),
            };
            let event = head.append(new, acting.personal, Salt::from_bytes([i as u8; 32])).expect("append");
            events.push((event.clone(), tree.size()));
            tree.push_leaf_hash(event.leaf_hash());
        }
        let note = signer.sign_checkpoint(&Checkpoint::new(&name, tree.size(), tree.root())).expect("sign");
        super::super::EvidencePackage::assemble(events, &note, &tree, &signer)
    }

    #[test]
    fn an_instance_chain_package_verifies_like_a_documents_and_names_no_file() {
        use super::super::verify::{Verdict, verify_package_json};
        let package = instance_package(|_| no_file_sha256(), INSTANCE_CHAIN_ID).expect("package");
        let key = super::super::VerifierKey::parse(&package.log.verifier_key).expect("key");
        let report = verify_package_json(package.to_json().as_bytes(), Some(&key)).expect("readable");
        assert_eq!(report.verdict(), Verdict::Valid, "{report}");

        // An instance event that names a file is refused, and so is a document chain that does
        // not start with its upload (the instance rule is for the instance chain only). The
        // assembler runs the verifier on what it made, so it refuses to make either.
        let with_file =
            instance_package(|i| if i == 4 { Sha256::digest(b"x") } else { no_file_sha256() }, INSTANCE_CHAIN_ID);
        let refusal = with_file.expect_err("refused").to_string();
        assert!(refusal.contains("event 4 (api_key.revoked): an instance event must name no file"), "{refusal}");
        let as_document = instance_package(|_| no_file_sha256(), "doc-1").expect_err("refused").to_string();
        assert!(as_document.contains("the first event must be document.uploaded"), "{as_document}");
    }

    #[test]
    fn a_tampered_instance_package_is_invalid() {
        use super::super::verify::{Verdict, verify_package_json};
        let package = instance_package(|_| no_file_sha256(), INSTANCE_CHAIN_ID).expect("package");
        let key = super::super::VerifierKey::parse(&package.log.verifier_key).expect("key");
        let json = package.to_json();
        // Rewriting who was disabled, or dropping the last act, is caught.
        let edited = json.replacen("\"user\": \"user:2\"", "\"user\": \"user:3\"", 1);
        assert_ne!(edited, json);
        let report = verify_package_json(edited.as_bytes(), Some(&key)).expect("readable");
        assert_eq!(report.verdict(), Verdict::Invalid);
        let mut shorter = package.clone();
        shorter.events.pop();
        let report = verify_package_json(shorter.to_json().as_bytes(), Some(&key)).expect("readable");
        assert_eq!(report.verdict(), Verdict::Invalid);
    }

    /// The browser's `/verify` page and `attesta verify` go through this one entry point.
    #[cfg(feature = "pdf")]
    #[test]
    fn the_verify_page_and_cli_entry_point_accepts_an_instance_package_alone() {
        use super::super::sealed::{Inputs, verify_document_detailed};
        use super::super::verify::Verdict;
        let package = instance_package(|_| no_file_sha256(), INSTANCE_CHAIN_ID).expect("package");
        let key = super::super::VerifierKey::parse(&package.log.verifier_key).expect("key");
        let json = package.to_json();
        let inputs = Inputs { pdf: None, package: Some(json.as_bytes()), log_key: Some(&key), seal_anchors: &[] };
        let verification = verify_document_detailed(inputs).expect("readable");
        assert_eq!(verification.report.verdict(), Verdict::Valid, "{}", verification.report);
        assert_eq!(verification.summary.title, None);
    }
}
