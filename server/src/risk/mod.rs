//! Clause intelligence, running: each document's text scanned by the core's engine
//! (`attesta_core::risk`), its flags stored in `document_risk_flags` with one `risk.flagged`
//! event each, reviewed by owners and admins (`risk.reviewed`), and resolved when the document
//! completes or expires (`risk.resolved`). The rules (who reviews, which status follows which)
//! are the core's `risk::review`; this service loads, asks, and writes each change with its event
//! in one transaction (an evidence [`crate::evidence::Effect`]).
//!
//! - A scan runs as the durable job `risk.scan`, enqueued in the upload's transaction; the
//!   hourly `risk.sweep` queues one for every document in progress the current engine version
//!   has not read (`document_risk_scans`), so a new engine re-scans, and resolves the flags of
//!   finished documents whose `risk.resolve` job was lost.
//! - A clause is flagged once per document: the flag's effect refuses a second row for the same
//!   category and span, so a retried or concurrent scan appends no second event.
//! - High and critical flags are mailed to the document's owner once they are committed; the
//!   `risk.flagged` webhook goes out from the log like every webhook (`attesta_core::webhooks`).

mod port;
pub mod repo;

pub use port::{counts_of, filter_of, flag_dto};

use crate::documents::{Documents, StoredDocument};
use crate::evidence::{Append, EffectError, EvidenceError, EvidenceLog};
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::access::Principal;
use attesta_core::documents::DocumentStatus;
use attesta_core::entropy::EntropyExt as _;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, Details, EventId, EventType, NewEvent, PersonalData, Sha256, Text,
};
use attesta_core::jobs::{JobKind, NewJob};
use attesta_core::ports::{Clock, Entropy};
use attesta_core::risk::review::{self, ResolveReason, ReviewAction, ReviewError};
use attesta_core::risk::{Engine, Flag, ScanState};
use attesta_core::{AccountService, User, UserId};
use futures_util::StreamExt as _;
use repo::{FlagFilter, FlagRow, ScanRow};
use sqlx::AnyPool;
use std::sync::Arc;

/// Why a risk request failed.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(anyhow::Error),
}

impl From<sqlx::Error> for RiskError {
    fn from(e: sqlx::Error) -> Self {
        RiskError::Internal(e.into())
    }
}

impl From<crate::documents::DocumentError> for RiskError {
    fn from(e: crate::documents::DocumentError) -> Self {
        use crate::documents::DocumentError as D;
        match e {
            D::NotFound => RiskError::NotFound,
            D::Forbidden => RiskError::Forbidden("not allowed".to_owned()),
            D::Conflict(m) | D::Gone(m) => RiskError::Conflict(m),
            D::Invalid { field, message } => RiskError::Invalid { field, message },
            D::Internal(e) => RiskError::Internal(e),
        }
    }
}

impl From<ReviewError> for RiskError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::NotReviewer => RiskError::Forbidden(e.to_string()),
            ReviewError::Closed(_) | ReviewError::Unchanged(_) => RiskError::Conflict(e.to_string()),
            ReviewError::ReasonRequired | ReviewError::ReasonTooLong => {
                RiskError::Invalid { field: "reason", message: e.to_string() }
            }
            ReviewError::EscalateToSelf => RiskError::Invalid { field: "escalate_to", message: e.to_string() },
        }
    }
}

/// A review as asked for (by a page or the REST API).
#[derive(Debug, Clone)]
pub struct ReviewRequest {
    /// `acknowledge`, `dismiss` or `escalate`.
    pub action: String,
    pub reason: Option<String>,
    /// The email of the user to escalate to.
    pub escalate_to: Option<String>,
}

/// What one scan did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOutcome {
    pub state: &'static str,
    /// Flags newly stored (each with its event).
    pub flagged: usize,
    /// Mails sent about high and critical flags.
    pub alerted: usize,
}

/// A document's risk, for its page.
#[derive(Debug, Clone)]
pub struct DocumentRisk {
    pub scan: Option<ScanRow>,
    pub flags: Vec<FlagRow>,
}

/// The risk service. Cheap to clone.
#[derive(Clone)]
pub struct Risk {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    evidence: EvidenceLog,
    documents: Documents,
    accounts: AccountService,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    public_origin: String,
}

/// Event times and flag rows say which version read the text.
const ENGINE_VERSION: &str = attesta_core::risk::VERSION;

impl Risk {
    pub fn new(
        pool: AnyPool,
        evidence: EvidenceLog,
        documents: Documents,
        accounts: AccountService,
        ports: &crate::Ports,
        public_origin: &str,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                evidence,
                documents,
                accounts,
                clock: ports.clock.clone(),
                entropy: ports.entropy.clone(),
                public_origin: public_origin.trim_end_matches('/').to_owned(),
            }),
        }
    }

    // ---- scanning -----------------------------------------------------------------------

    /// Scans document `id` with the current engine, unless it already did: stores each new flag
    /// with its `risk.flagged` event, records the scan, and mails the owner about new high and
    /// critical flags. A document gone, deleted or without a file is left alone.
    #[tracing::instrument(skip_all, fields(document_id = %id))]
    pub async fn scan(&self, id: &str) -> anyhow::Result<Option<ScanOutcome>> {
        let inner = &self.inner;
        let Some(document) = inner.documents.find(id).await? else { return Ok(None) };
        if document.status == DocumentStatus::Deleted || document.blob_key.is_none() {
            return Ok(None);
        }
        if repo::scanned(&inner.pool, id, ENGINE_VERSION).await? {
            return Ok(None);
        }
        let mut stream = inner.documents.decrypted(&document).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut bytes = Vec::with_capacity(usize::try_from(document.size).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| anyhow::anyhow!("reading the file: {e}"))?);
        }
        // Extraction and scanning are CPU work: off the async threads.
        let scanned = tokio::task::spawn_blocking(move || {
            attesta_core::risk::pdf::page_texts(&bytes).map(|text| Engine::builtin().scan(&text))
        })
        .await?;
        let now = inner.clock.now();
        let (state, contract_type, missing, flags) = match scanned {
            Ok(scan) => {
                let state = match scan.state {
                    ScanState::Analysed => "analysed",
                    ScanState::NoText => "no_text",
                };
                (state, scan.contract_type.as_str(), scan.missing, scan.flags)
            }
            Err(e) => {
                tracing::warn!(error = %e, "no text could be read for the risk scan");
                ("unreadable", "Other", Vec::new(), Vec::new())
            }
        };
        let current = self.current_sha256(&document).await?;
        let mut stored = Vec::new();
        for flag in flags {
            if let Some(row) = self.store_flag(&document, current, flag).await? {
                stored.push(row);
            }
        }
        let missing_json = serde_json::to_string(&missing)?;
        repo::record_scan(
            &inner.pool,
            &ScanRow {
                document_id: document.id.clone(),
                engine: attesta_core::risk::ENGINE.to_owned(),
                engine_version: ENGINE_VERSION.to_owned(),
                state: state.to_owned(),
                contract_type: contract_type.to_owned(),
                missing_json,
                flags: i64::try_from(stored.len()).unwrap_or(i64::MAX),
                scanned_at: now.as_micros(),
            },
        )
        .await?;
        let alerted = self.alert_owner(&document, &stored).await;
        tracing::info!(state, flags = stored.len(), alerted, "risk scan");
        Ok(Some(ScanOutcome { state, flagged: stored.len(), alerted }))
    }

    /// Stores one flag with its event, unless that clause is already flagged on the document.
    async fn store_flag(
        &self,
        document: &StoredDocument,
        current: Sha256,
        flag: Flag,
    ) -> anyhow::Result<Option<FlagRow>> {
        let inner = &self.inner;
        let flag_id = format!("rf{}", inner.entropy.base32(26));
        let details = review::flagged_details(&flag_id, &flag);
        let event = self.event(EventType::RiskFlagged, Actor::system(), current, details)?;
        let now = inner.clock.now().as_micros();
        let row = FlagRow::new(&flag_id, document, &flag, now);
        let insert = row.clone();
        let append =
            Append::event(parse_id(&document.id)?, event, PersonalData::none()).with_effect(Box::new(move |conn| {
                Box::pin(async move {
                    if repo::clause_flagged(conn, &insert).await? {
                        return Err(EffectError::Refused(ALREADY_FLAGGED.to_owned()));
                    }
                    repo::insert_flag(conn, &insert).await?;
                    Ok(())
                })
            }));
        match inner.evidence.append(append).await {
            Ok(_) => Ok(Some(row)),
            Err(EvidenceError::Refused(why)) if why == ALREADY_FLAGGED => Ok(None),
            Err(e) => Err(anyhow::anyhow!("recording a flag: {e}")),
        }
    }

    /// Mails the owner about the high and critical flags among `flags`; returns the mails sent.
    async fn alert_owner(&self, document: &StoredDocument, flags: &[FlagRow]) -> usize {
        let serious: Vec<&FlagRow> = flags.iter().filter(|f| f.alerts()).collect();
        if serious.is_empty() {
            return 0;
        }
        let owner = match self.inner.accounts.user(UserId(document.owner_id)).await {
            Ok(Some(owner)) if !owner.disabled => owner,
            Ok(_) => return 0,
            Err(e) => {
                tracing::error!(error = %e, "the document's owner could not be read for a risk alert");
                return 0;
            }
        };
        let link = format!("{}/documents/{}", self.inner.public_origin, document.id);
        let mail = templates::flagged(&owner, &document.title, &serious, &link);
        match self.inner.documents.mailer().send(mail).await {
            Ok(_) => 1,
            Err(e) => {
                tracing::error!(error = %e, "the risk alert was not delivered");
                0
            }
        }
    }

    /// Every document in progress the current engine has not read gets a `risk.scan` job; every
    /// finished document with live flags has them resolved. Returns (scans queued, resolved).
    pub async fn sweep(&self) -> anyhow::Result<(usize, usize)> {
        let now = self.inner.clock.now();
        let mut queued = 0;
        for id in repo::unscanned(&self.inner.pool, ENGINE_VERSION).await? {
            if crate::jobs::store::enqueue_now(&self.inner.pool, &NewJob::about(JobKind::RiskScan, &id, now), now)
                .await?
            {
                queued += 1;
            }
        }
        let mut resolved = 0;
        for id in repo::finished_with_live_flags(&self.inner.pool).await? {
            resolved += self.resolve_finished(&id).await?;
        }
        Ok((queued, resolved))
    }

    /// Resolves the live flags of a completed or expired document, each with its
    /// `risk.resolved` event; returns how many.
    #[tracing::instrument(skip_all, fields(document_id = %id))]
    pub async fn resolve_finished(&self, id: &str) -> anyhow::Result<usize> {
        let inner = &self.inner;
        let Some(document) = inner.documents.find(id).await? else { return Ok(0) };
        let reason = match document.status {
            DocumentStatus::Completed => ResolveReason::DocumentCompleted,
            DocumentStatus::Expired => ResolveReason::DocumentExpired,
            _ => return Ok(0),
        };
        let current = self.current_sha256(&document).await?;
        let mut resolved = 0;
        for flag in repo::flags_of(&inner.pool, id).await? {
            let Some(next) = review::resolve(flag.status) else { continue };
            let details = review::resolved_details(&flag.id, flag.status, reason);
            let event = self.event(EventType::RiskResolved, Actor::system(), current, details)?;
            let (flag_id, previous, now) = (flag.id.clone(), flag.status, inner.clock.now().as_micros());
            let append = Append::event(parse_id(id)?, event, PersonalData::none()).with_effect(Box::new(move |conn| {
                Box::pin(async move {
                    if !repo::resolve(conn, &flag_id, previous, next, reason.as_str(), now).await? {
                        return Err(EffectError::Refused(FLAG_MOVED.to_owned()));
                    }
                    Ok(())
                })
            }));
            match inner.evidence.append(append).await {
                Ok(_) => resolved += 1,
                // Reviewed or resolved in between: its new status stands.
                Err(EvidenceError::Refused(why)) if why == FLAG_MOVED => {}
                Err(e) => return Err(anyhow::anyhow!("recording a resolution: {e}")),
            }
        }
        if resolved > 0 {
            tracing::info!(flags = resolved, reason = reason.as_str(), "risk flags resolved");
        }
        Ok(resolved)
    }

    // ---- reading and reviewing -------------------------------------------------------------

    /// Flags across documents for the Risk page and `GET /api/v1/risk/flags`: owners and admins
    /// only (the core's `may_review`), with the counts of open flags by severity.
    pub async fn list(
        &self,
        principal: &Principal,
        filter: &FlagFilter,
    ) -> Result<(Vec<FlagRow>, Vec<(String, i64)>), RiskError> {
        if !review::may_review(principal) {
            return Err(RiskError::Forbidden("only owners and admins see the risk review".to_owned()));
        }
        let flags = repo::list(&self.inner.pool, filter).await?;
        let counts = repo::open_counts(&self.inner.pool, filter.owner).await?;
        Ok((flags, counts))
    }

    /// A document's flags and latest scan, for whoever may see the document (its sender too).
    pub async fn of_document(&self, principal: &Principal, id: &str) -> Result<DocumentRisk, RiskError> {
        let document = self.inner.documents.visible_to(principal, id).await?;
        let scan = repo::latest_scan(&self.inner.pool, &document.id).await?;
        let flags = repo::flags_of(&self.inner.pool, &document.id).await?;
        Ok(DocumentRisk { scan, flags })
    }

    /// One review of flag `flag_id` by `reviewer` (as `principal`): the core decides, the new
    /// status and its `risk.reviewed` event are written together, and an escalation's target is
    /// mailed after the commit.
    #[tracing::instrument(skip_all, fields(flag_id = %flag_id))]
    pub async fn review(
        &self,
        principal: &Principal,
        reviewer: &User,
        flag_id: &str,
        request: ReviewRequest,
        meta: &RequestMeta,
    ) -> Result<FlagRow, RiskError> {
        let inner = &self.inner;
        if !review::may_review(principal) {
            return Err(ReviewError::NotReviewer.into());
        }
        let flag = repo::flag(&inner.pool, flag_id).await?.ok_or(RiskError::NotFound)?;
        let document = inner.documents.visible_to(principal, &flag.document_id).await.map_err(|e| match e {
            crate::documents::DocumentError::NotFound => RiskError::NotFound,
            e => e.into(),
        })?;
        let mut target = None;
        let action = match request.action.as_str() {
            "acknowledge" => ReviewAction::Acknowledge,
            "dismiss" => ReviewAction::Dismiss { reason: request.reason.clone().unwrap_or_default() },
            "escalate" => {
                let user = self.escalation_target(request.escalate_to.as_deref(), &document).await?;
                let to = user.id;
                target = Some(user);
                ReviewAction::Escalate { to }
            }
            _ => {
                return Err(RiskError::Invalid {
                    field: "action",
                    message: "the action is acknowledge, dismiss or escalate".to_owned(),
                });
            }
        };
        let (next, action) = review::review(principal, flag.status, action)?;
        let details = review::reviewed_details(&flag.id, &action, next);
        let current = self.current_sha256(&document).await?;
        let event = self.event(EventType::RiskReviewed, user_actor(reviewer, meta)?, current, details)?;
        let now = inner.clock.now().as_micros();
        let change = repo::Review {
            flag_id: flag.id.clone(),
            previous: flag.status,
            next,
            reviewer: reviewer.id.0,
            reason: match &action {
                ReviewAction::Dismiss { reason } => Some(reason.clone()),
                _ => None,
            },
            escalated_to: match &action {
                ReviewAction::Escalate { to } => Some(to.0),
                _ => None,
            },
            at: now,
        };
        let append = Append::event(parse_id(&document.id)?, event, personal(reviewer, meta)).with_effect(Box::new(
            move |conn| {
                Box::pin(async move {
                    if !repo::review(conn, &change).await? {
                        return Err(EffectError::Refused("this flag was reviewed in the meantime: reload".to_owned()));
                    }
                    Ok(())
                })
            },
        ));
        match inner.evidence.append(append).await {
            Ok(_) => {}
            Err(EvidenceError::Refused(why)) => return Err(RiskError::Conflict(why)),
            Err(e) => return Err(RiskError::Internal(anyhow::anyhow!("recording the review: {e}"))),
        }
        let updated = repo::flag(&inner.pool, &flag.id).await?.ok_or(RiskError::NotFound)?;
        if let Some(target) = target {
            let link = format!("{}/documents/{}#flag-{}", inner.public_origin, document.id, flag.id);
            let mail = templates::escalated(&target, reviewer, &document.title, &updated, &link);
            if let Err(e) = inner.documents.mailer().send(mail).await {
                tracing::error!(error = %e, "the escalation mail was not delivered");
            }
        }
        tracing::info!(action = request.action, status = next.as_str(), "risk flag reviewed");
        Ok(updated)
    }

    /// The active user named by `email` who may see `document`.
    async fn escalation_target(&self, email: Option<&str>, document: &StoredDocument) -> Result<User, RiskError> {
        let invalid = |message: &str| RiskError::Invalid { field: "escalate_to", message: message.to_owned() };
        let email = email.map(str::trim).filter(|e| !e.is_empty()).ok_or_else(|| invalid("name who to escalate to"))?;
        let address = attesta_core::EmailAddress::parse(email).map_err(|_| invalid("that is not an email address"))?;
        let user = self
            .inner
            .accounts
            .user_by_email(&address)
            .await
            .map_err(|e| RiskError::Internal(anyhow::anyhow!("{e}")))?
            .filter(|u| !u.disabled)
            .ok_or_else(|| invalid("no active user has that email"))?;
        if !Principal::session(&user).may_see(UserId(document.owner_id)) {
            return Err(invalid("that user cannot see this document"));
        }
        Ok(user)
    }

    // ---- helpers ----------------------------------------------------------------------------

    /// The document's file as it is now (sealed, else signed, else the original): every event
    /// names the current file, as `document.viewed` does.
    async fn current_sha256(&self, document: &StoredDocument) -> Result<Sha256, RiskError> {
        let state = self.inner.documents.completion(&document.id).await?;
        Ok(state.current_file(document.sha256))
    }

    fn event(
        &self,
        event_type: EventType,
        actor: Actor,
        file_sha256: Sha256,
        details: serde_json::Value,
    ) -> Result<NewEvent, RiskError> {
        let details = Details::from_value(details).map_err(|e| RiskError::Internal(anyhow::anyhow!("{e}")))?;
        Ok(NewEvent {
            event_id: EventId::generate(&*self.inner.entropy),
            event_type,
            time: self.inner.clock.now(),
            actor,
            file_sha256,
            client_file_sha256: None,
            details,
        })
    }
}

const ALREADY_FLAGGED: &str = "this clause is already flagged";
const FLAG_MOVED: &str = "the flag changed";

fn parse_id(id: &str) -> Result<attesta_core::evidence::DocumentId, RiskError> {
    attesta_core::evidence::DocumentId::parse(id).map_err(|_| RiskError::NotFound)
}

/// The reviewer, or their API key when the request came with one.
fn user_actor(user: &User, meta: &RequestMeta) -> Result<Actor, RiskError> {
    let id = match &meta.api_key {
        Some(key) => (ActorKind::ApiKey, key.public_id.actor_id()),
        None => (ActorKind::User, format!("user:{}", user.id.0)),
    };
    let actor_id = ActorId::parse(&id.1).map_err(|e| RiskError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(Actor { kind: id.0, id: Some(actor_id) })
}

/// The reviewer's name and email with the request's address and user agent.
fn personal(user: &User, meta: &RequestMeta) -> PersonalData {
    let text = |s: &str| Text::new(s.chars().take(512).collect::<String>()).ok();
    PersonalData {
        email: text(user.email.as_str()),
        name: text(user.name.as_str()),
        ip: meta.ip.and_then(|ip| text(&ip.to_string())),
        user_agent: meta.user_agent.as_deref().and_then(text),
        geo: None,
    }
}

mod templates;
