//! Appending the instance's administrative acts to the instance chain (`docs/EVIDENCE.md` §6a),
//! each in the same transaction as the state change it records ([`Append::with_effect`]).
//!
//! The acts' details are typed in `attesta_core::evidence::instance`; this is only where they
//! meet the log: event ids and times come from the ports, the chain id and the "no file" hash
//! from the core.

use super::log::{Append, Appended, Effect, EvidenceError, EvidenceLog};
use crate::Ports;
use attesta_core::evidence::instance::{Acting, InstanceEvent, KeysConfigured, instance_chain_id, no_file_sha256};
use attesta_core::evidence::{EventId, EventRecord, NewEvent};

/// The instance chain of one evidence log. Cheap to clone.
#[derive(Clone)]
pub struct InstanceLog {
    log: EvidenceLog,
    ports: Ports,
}

impl InstanceLog {
    pub fn new(log: EvidenceLog, ports: Ports) -> Self {
        Self { log, ports }
    }

    pub fn log(&self) -> &EvidenceLog {
        &self.log
    }

    /// The append of `act` by `by`, now; add its state change with [`Append::with_effect`].
    pub fn append(&self, act: &InstanceEvent, by: &Acting) -> Append {
        let event = NewEvent {
            event_id: EventId::generate(&*self.ports.entropy),
            event_type: act.event_type(),
            time: self.ports.clock.now(),
            actor: by.actor.clone(),
            file_sha256: no_file_sha256(),
            client_file_sha256: None,
            details: act.details(),
        };
        Append::event(instance_chain_id(), event, by.personal.clone())
    }

    /// Records `act` with `effect` (when given), in one transaction: both or neither.
    pub async fn record(
        &self,
        act: &InstanceEvent,
        by: &Acting,
        effect: Option<Effect>,
    ) -> Result<Appended, EvidenceError> {
        let append = self.append(act, by);
        let append = match effect {
            Some(effect) => append.with_effect(effect),
            None => append,
        };
        let appended = self.log.append(append).await?;
        tracing::info!(event = %act.event_type(), actor = ?by.actor.id.as_ref().map(|a| a.as_str()), "instance act recorded");
        Ok(appended)
    }

    /// Records the keys this start signs with, unless the last such event named the same ones
    /// (so a restart with unchanged keys adds nothing). Returns whether it appended.
    pub async fn record_keys(&self, keys: KeysConfigured) -> Result<bool, EvidenceError> {
        let last: Option<String> = sqlx::query_scalar(
            "SELECT record FROM audit_events WHERE document_id = $1 AND event_type = 'instance.keys_configured' \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(attesta_core::evidence::INSTANCE_CHAIN_ID)
        .fetch_optional(self.log.pool())
        .await?;
        let act = InstanceEvent::KeysConfigured(keys);
        if let Some(record) = last {
            let record: EventRecord =
                serde_json::from_str(&record).map_err(|e| EvidenceError::Corrupt(format!("instance chain: {e}")))?;
            if InstanceEvent::from_event(record.event_type(), record.details()).as_ref() == Some(&act) {
                return Ok(false);
            }
        }
        self.record(&act, &Acting::system(attesta_core::evidence::PersonalData::none()), None).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use attesta_core::Timestamp;
    use attesta_core::entropy::{EntropyExt as _, SeededEntropy};
    use attesta_core::evidence::instance::{UserAccess, instance_chain_id};
    use attesta_core::evidence::{KeyName, LogSigner, Sha256};
    use attesta_core::ports::Clock;
    use std::sync::Arc;

    struct Fixed(Timestamp);

    impl Clock for Fixed {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    async fn instance(dir: &std::path::Path, seed: u64) -> InstanceLog {
        let url = format!("sqlite://{}", dir.join("instance.db").display());
        let pool = crate::store::db::connect(&url, 2).await.expect("db");
        let entropy: Arc<dyn attesta_core::ports::Entropy> = Arc::new(SeededEntropy::new(seed));
        let signer = LogSigner::from_seed(KeyName::parse("instance.test/log").expect("name"), &[3; 32]);
        let log = EvidenceLog::start(pool, signer, entropy.clone());
        InstanceLog::new(log, Ports { clock: Arc::new(Fixed(Timestamp::from_micros(1_795_329_000_000_000))), entropy })
    }

    #[tokio::test]
    async fn acts_take_their_id_and_time_from_the_ports_and_name_no_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let instance = instance(dir.path(), 42).await;
        let act = InstanceEvent::UserDisabled(UserAccess { user: "user:7".into() });
        let appended = instance.record(&act, &Acting::operator(), None).await.expect("recorded");
        let record = appended.event.record();
        // The same seed draws the same id: the first 26 characters of its stream.
        let expected_id = format!("e{}", SeededEntropy::new(42).base32(26));
        assert_eq!(record.event_id().as_str(), expected_id);
        assert_eq!(record.time(), Timestamp::from_micros(1_795_329_000_000_000));
        assert_eq!(record.document_id(), &instance_chain_id());
        assert_eq!(record.file_sha256(), &Sha256::digest(b""));
        assert_eq!(record.actor().id.as_ref().map(|a| a.as_str()), Some("system:cli"));
        assert_eq!(InstanceEvent::from_event(record.event_type(), record.details()), Some(act));
    }

    #[tokio::test]
    async fn the_keys_are_recorded_again_only_when_they_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let instance = instance(dir.path(), 1).await;
        let keys = KeysConfigured {
            log_key: instance.log().signer().verifier_key().to_string(),
            seal_certificate_sha256: Sha256::digest(b"certificate"),
            seal_anchors_sha256: vec![Sha256::digest(b"ca")],
            tsa_url: None,
        };
        assert!(instance.record_keys(keys.clone()).await.expect("first"));
        assert!(!instance.record_keys(keys.clone()).await.expect("same"));
        let renewed = KeysConfigured { seal_certificate_sha256: Sha256::digest(b"renewed"), ..keys };
        assert!(instance.record_keys(renewed.clone()).await.expect("renewed"));
        assert!(!instance.record_keys(renewed).await.expect("same again"));
        let events = instance.log().events_of(&instance_chain_id()).await.expect("chain");
        assert_eq!(events.len(), 2);
    }
}
