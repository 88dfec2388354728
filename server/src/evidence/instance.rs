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
            "SELECT record FROM audit_events WHERE document_id = ?1 AND event_type = 'instance.keys_configured' \
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
