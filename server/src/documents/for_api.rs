//! What the REST API (`crate::api`) reads beyond what the app's pages do: lists narrowed to one
//! owner (a key without the `admin` scope), and where each recipient answered from.

use super::{DocumentError, Documents, StoredDocument, repo};
use attesta_core::documents::{DocumentId, ListQuery};
use attesta_core::evidence::{ActorKind, EventType};
use std::collections::HashMap;

/// Where and when a recipient signed or declined, from the evidence.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub ip: Option<String>,
}

impl Documents {
    /// One page of documents matching `query`: all of them, or only `owner`'s.
    pub async fn list_for(
        &self,
        owner: Option<i64>,
        email: &str,
        query: &ListQuery,
    ) -> Result<(Vec<StoredDocument>, u64), DocumentError> {
        let scope = match owner {
            Some(id) => repo::Scope::OwnedBy(id),
            None => repo::Scope::All,
        };
        Ok(repo::list(&self.inner.pool, &scope, query, repo::ListView { now: self.inner.clock.now(), email }).await?)
    }

    /// The address each recipient signed or declined from, by recipient id (their last answer).
    pub async fn answers(&self, document: &StoredDocument) -> Result<HashMap<String, Answer>, DocumentError> {
        let id = DocumentId::parse(&document.id).map_err(|_| DocumentError::NotFound)?;
        let events = self.inner.evidence.events_of(&id).await.map_err(|e| DocumentError::Internal(e.into()))?;
        let mut answers = HashMap::new();
        for (event, _) in events {
            let record = event.record();
            if !matches!(record.event_type(), EventType::RecipientSigned | EventType::RecipientDeclined)
                || record.actor().kind != ActorKind::Recipient
            {
                continue;
            }
            let Some(rid) = record.actor().id.as_ref().and_then(|a| a.as_str().strip_prefix("recipient:")) else {
                continue;
            };
            let ip = event.personal().and_then(|p| p.ip.as_ref()).map(|t| t.as_str().to_owned());
            answers.insert(rid.to_owned(), Answer { ip });
        }
        Ok(answers)
    }
}
