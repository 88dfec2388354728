//! `/api/v1/documents`: create (upload, prepare and send in one call), list, get, download, void.
//!
//! Handlers are thin: check the key's scope, call the document service with the key's user (and
//! the key in `RequestMeta`, so the evidence names it as the actor), map to the wire types here.

use super::ApiState;
use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::idempotency::{self, Claim};
use crate::documents::ingest::{self, IngestError, Spooled};
use crate::documents::{FileKind, StoredDocument, UploadInfo};
use attesta_core::api_keys::Scope;
use attesta_core::ceremony::ParticipantRole;
use attesta_core::documents::Refusal;
use attesta_core::documents::{DocumentStatus, ListQuery};
use attesta_core::signing::geometry::PdfRect;
use attesta_core::signing::{Draft, DraftField, DraftRecipient, FieldKind, LocalId, SigningOrder};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Who signs, in the API's words. Only signers exist today; the field is there so more roles
/// (approvers, copies) can come without breaking clients.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    #[default]
    Signer,
    /// Approves (or declines) at their turn, through a link to `/approvals/…`; no fields.
    Approver,
    /// Confirms having read it, through a link to `/documents/acknowledge/…`; no fields, no decline.
    Acknowledger,
    /// Receives the sealed document and its evidence once complete; no fields, no link.
    Cc,
}

/// One after another in `order`, or everyone at once.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    #[default]
    Sequential,
    Parallel,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Signature,
    Initials,
    DateSigned,
    Text,
    Checkbox,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecipient {
    #[schema(example = "Grace Hopper")]
    pub name: String,
    #[schema(example = "grace@example.com")]
    pub email: String,
    #[serde(default)]
    pub role: RecipientRole,
    /// Position in a sequential signing (1 first); recipients without one follow in list order.
    #[serde(default)]
    pub order: Option<u32>,
    /// Ask for a one-time code sent by email before this person may sign.
    #[serde(default)]
    pub otp: bool,
}

/// A field, in the page's PDF user space as the app's editor stores it: points, origin at the
/// lower-left corner of the page, unrotated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewField {
    /// The email of the recipient who fills it.
    pub recipient: String,
    pub kind: Kind,
    /// 1-based page number.
    #[schema(minimum = 1)]
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub label: String,
}

fn yes() -> bool {
    true
}

/// The document to create: as the `document` part of a multipart request (with a `file` part
/// holding a PDF or a `markdown` part), or as the whole JSON body with `markdown` inline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// Defaults to the file's name.
    pub title: Option<String>,
    /// Markdown source, typeset to PDF (JSON bodies only; multipart sends a part instead).
    pub markdown: Option<String>,
    #[serde(default)]
    pub recipients: Vec<NewRecipient>,
    #[serde(default)]
    pub signing_order: Order,
    #[serde(default)]
    pub fields: Vec<NewField>,
    /// A note in the signing request email.
    #[serde(default)]
    pub message: String,
    /// Send it for signature now; otherwise it stays a draft to finish in the app.
    #[serde(default)]
    pub send: bool,
    /// Schedule the send for this moment instead (RFC 3339 with an offset, in the future and
    /// at most a year ahead); not with `send`. The draft is locked until then.
    pub send_at: Option<String>,
    /// The IANA time zone the sender reads `send_at` in (default `UTC`): the app shows the
    /// schedule in it, and the evidence records it.
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
}

/// `POST /api/v1/documents/{id}/schedule`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// When to send (RFC 3339 with an offset), in the future and at most a year ahead.
    pub send_at: String,
    /// The IANA time zone the sender reads it in (default `UTC`).
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
}

/// A draft's scheduled send.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduledSendResource {
    /// RFC 3339, UTC.
    pub send_at: String,
    /// The IANA time zone the sender picked it in.
    pub time_zone: String,
}

/// The multipart form of `POST /api/v1/documents` (for the OpenAPI document).
#[derive(ToSchema)]
#[expect(dead_code, reason = "describes the multipart body; the handler reads the parts itself")]
pub struct NewDocumentForm {
    /// `NewDocument` as JSON.
    document: String,
    /// The PDF.
    #[schema(value_type = Option<String>, format = Binary)]
    file: Option<Vec<u8>>,
    /// Or Markdown source to typeset.
    markdown: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientResource {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: RecipientRole,
    pub order: u32,
    /// waiting, sent, viewed, signed or declined; `approved` for an approver who approved, `acknowledged` for an acknowledger who did (a person
    /// in copy stays `waiting`: nothing is asked of them).
    pub status: String,
    pub emailed_at: Option<String>,
    pub viewed_at: Option<String>,
    pub signed_at: Option<String>,
    pub declined_at: Option<String>,
    pub decline_reason: Option<String>,
    /// The address the recipient signed or declined from.
    pub ip: Option<String>,
    /// Reminders sent to them (`signing.reminders` at sending caps it); each was a fresh link.
    pub reminders_sent: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentResource {
    pub id: String,
    pub title: String,
    /// draft, sent, completed, declined, voided, expired or deleted.
    pub status: String,
    /// pdf or markdown.
    pub source: String,
    pub pages: u32,
    pub created_at: String,
    /// SHA-256 (hex) of the file as uploaded.
    pub original_sha256: String,
    /// SHA-256 of the signed PDF (fields drawn in), once complete.
    pub signed_sha256: Option<String>,
    /// SHA-256 of the sealed PDF (certificate and evidence attached, PAdES-sealed).
    pub sealed_sha256: Option<String>,
    /// When the last signer signed.
    pub completed_at: Option<String>,
    pub sealed_at: Option<String>,
    /// When the retention policy deleted the document's files (`retention.document_files_days`):
    /// the hashes above and the evidence remain, the files cannot be downloaded any more (410).
    pub files_purged_at: Option<String>,
    pub signing_order: Option<Order>,
    pub void_reason: Option<String>,
    /// When a draft is scheduled to be sent (it is locked until then); null otherwise.
    pub scheduled_send: Option<ScheduledSendResource>,
    pub recipients: Vec<RecipientResource>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentSummary {
    pub id: String,
    pub title: String,
    pub status: String,
    pub created_at: String,
    pub original_sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub data: Vec<DocumentSummary>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only documents with this status, or on one of the sender's work lists: `attention`
    /// (out for signature and stalled), `scheduled` (drafts scheduled to be sent, soonest
    /// first), `expiring_soon` (out for signature, deadline within 7 days, soonest first),
    /// `waiting_for_me` (out for signature with a live link for the key owner's own email),
    /// `waiting_for_others` (out for signature, not waiting for them).
    pub status: Option<StatusFilter>,
    /// 1-based.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// The highest page number asked for (far past any real list; it keeps the offset in range).
const MAX_PAGE: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Draft,
    Sent,
    Completed,
    Declined,
    Voided,
    Expired,
    Deleted,
    Attention,
    Scheduled,
    ExpiringSoon,
    WaitingForMe,
    WaitingForOthers,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    /// Shown to the recipients.
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub reason: String,
}

/// RFC 3339 in UTC, from microseconds.
fn time(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

#[utoipa::path(
    get, path = "/api/v1/documents", tag = "documents",
    params(ListParams),
    responses(
        (status = 200, body = DocumentList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DocumentList>, ApiError> {
    caller.require(Scope::Read)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    use attesta_core::documents::Worklist;
    let (status, worklist) = match params.status {
        None => (None, None),
        Some(StatusFilter::Draft) => (Some(DocumentStatus::Draft), None),
        Some(StatusFilter::Sent) => (Some(DocumentStatus::Sent), None),
        Some(StatusFilter::Completed) => (Some(DocumentStatus::Completed), None),
        Some(StatusFilter::Declined) => (Some(DocumentStatus::Declined), None),
        Some(StatusFilter::Voided) => (Some(DocumentStatus::Voided), None),
        Some(StatusFilter::Expired) => (Some(DocumentStatus::Expired), None),
        Some(StatusFilter::Deleted) => (Some(DocumentStatus::Deleted), None),
        Some(StatusFilter::Attention) => (None, Some(Worklist::Attention)),
        Some(StatusFilter::Scheduled) => (None, Some(Worklist::Scheduled)),
        Some(StatusFilter::ExpiringSoon) => (None, Some(Worklist::ExpiringSoon)),
        Some(StatusFilter::WaitingForMe) => (None, Some(Worklist::WaitingForMe)),
        Some(StatusFilter::WaitingForOthers) => (None, Some(Worklist::WaitingForOthers)),
    };
    let page = params.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(ApiError::validation("page", "pages count from 1 to 1000000"));
    }
    let per_page = params.per_page.unwrap_or(25);
    if !(1..=attesta_core::documents::MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::validation("per_page", "1 to 100 documents a page"));
    }
    let query = ListQuery { status, worklist, page, per_page, ..ListQuery::default() };
    let (rows, total) = state.documents.list_for(caller.owner_filter(), caller.user.email.as_str(), &query).await?;
    Ok(Json(DocumentList {
        data: rows
            .into_iter()
            .map(|d| DocumentSummary {
                id: d.id,
                title: d.title,
                status: d.status.as_str().to_owned(),
                created_at: time(d.created_at),
                original_sha256: d.sha256.to_hex(),
            })
            .collect(),
        page: query.page,
        per_page: query.per_page,
        total,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, body = DocumentResource),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocumentResource>, ApiError> {
    caller.require(Scope::Read)?;
    let document = caller.document(&state, &id).await?;
    Ok(Json(resource(&state, &caller, document).await?))
}

async fn resource(state: &ApiState, caller: &Caller, document: StoredDocument) -> Result<DocumentResource, ApiError> {
    let (document, order, recipients, void_reason) = state.documents.status(&caller.user, &document.id).await?;
    let completion = state.documents.completion(&document.id).await?;
    let answers = state.documents.answers(&document).await?;
    let completed_at = (document.status == DocumentStatus::Completed)
        .then(|| recipients.iter().filter_map(|r| r.signed_at).max())
        .flatten()
        .map(time);
    Ok(DocumentResource {
        title: document.title.clone(),
        status: document.status.as_str().to_owned(),
        source: document.source.as_str().to_owned(),
        pages: document.page_count,
        created_at: time(document.created_at),
        original_sha256: document.sha256.to_hex(),
        signed_sha256: completion.signed_sha256.map(|s| s.to_hex()),
        sealed_sha256: completion.sealed_sha256.map(|s| s.to_hex()),
        completed_at,
        sealed_at: completion.sealed_at.map(time),
        files_purged_at: document.files_purged_at.map(time),
        signing_order: (!recipients.is_empty()).then_some(match order {
            SigningOrder::Sequential => Order::Sequential,
            SigningOrder::Parallel => Order::Parallel,
        }),
        void_reason,
        scheduled_send: state
            .documents
            .scheduled_send(&document.id)
            .await?
            .map(|s| ScheduledSendResource { send_at: time(s.send_at), time_zone: s.time_zone }),
        recipients: recipients
            .into_iter()
            .map(|r| RecipientResource {
                ip: answers.get(&r.id).and_then(|a| a.ip.clone()),
                id: r.id,
                name: r.name,
                email: r.email,
                role: match ParticipantRole::parse(&r.role) {
                    Some(ParticipantRole::Cc) => RecipientRole::Cc,
                    Some(ParticipantRole::Approver) => RecipientRole::Approver,
                    Some(ParticipantRole::Acknowledger) => RecipientRole::Acknowledger,
                    _ => RecipientRole::Signer,
                },
                order: r.position,
                // An approver's finished part is an approval.
                status: match (ParticipantRole::parse(&r.role), r.status) {
                    (Some(ParticipantRole::Approver), attesta_core::signing::ceremony::RecipientStatus::Signed) => {
                        "approved".to_owned()
                    }
                    (Some(ParticipantRole::Acknowledger), attesta_core::signing::ceremony::RecipientStatus::Signed) => {
                        "acknowledged".to_owned()
                    }
                    (_, status) => status.as_str().to_owned(),
                },
                emailed_at: r.emailed_at.map(time),
                viewed_at: r.viewed_at.map(time),
                signed_at: r.signed_at.map(time),
                declined_at: r.declined_at.map(time),
                decline_reason: r.decline_reason,
                reminders_sent: r.reminders_sent,
            })
            .collect(),
        id: document.id,
    })
}

#[utoipa::path(
    post, path = "/api/v1/documents", tag = "documents",
    request_body(content(
        (NewDocument = "application/json"),
        (NewDocumentForm = "multipart/form-data"),
    )),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "Retrying with the same key and the same request returns the first answer (with `Idempotent-Replayed: true`) instead of creating another document. Kept 24 hours, per API key.")),
    responses(
        (status = 201, body = DocumentResource),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, description = "Busy checking other uploads; retry after `Retry-After` seconds", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(State(state): State<ApiState>, caller: Caller, request: Request) -> Result<Response, ApiError> {
    caller.require(Scope::Send)?;
    let (parts, body) = request.into_parts();
    let limit = state.documents.limits().max_bytes.saturating_add(state.max_json_bytes as u64);
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the request is larger than this server accepts: files up to {}",
                attesta_core::documents::human_bytes(state.documents.limits().max_bytes)
            ),
        )
    };
    // Refuse what is announced too large before reading any of it.
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let idempotency_key = idempotency::key_of(&parts.headers)?;

    // The body streams into an unnamed temporary file (as the browser's upload does), hashed on
    // the way for the idempotency fingerprint; it is read back from there, never held in memory.
    let prefix = idempotency::fingerprint_prefix(&content_type);
    let body = ingest::spool_hashed(state.documents.spool_dir(), body.into_data_stream(), limit, &prefix)
        .await
        .map_err(|e| match e {
            IngestError::Refused(Refusal::TooLarge { .. }) => too_large(),
            IngestError::Refused(Refusal::Empty) => ApiError::bad_request("the request has no body"),
            other => ApiError::from(other),
        })?;

    let claim = match &idempotency_key {
        Some(key) => {
            match idempotency::claim(&state.pool, caller.key.id, key, &body.sha256, state.clock.now().as_micros())
                .await?
            {
                Claim::Replay(response) => return Ok(response),
                Claim::Fresh => Some(key.clone()),
            }
        }
        None => None,
    };
    let result = create_document(&state, &caller, &content_type, &body).await;
    match (&claim, result) {
        (Some(key), Ok(created)) => {
            let body = serde_json::to_string(&created).map_err(ApiError::internal)?;
            idempotency::store(&state.pool, caller.key.id, key, StatusCode::CREATED, &body).await?;
            Ok(json_response(StatusCode::CREATED, body))
        }
        (Some(key), Err(e)) => {
            // Nothing was created: the key is free again for a corrected retry.
            idempotency::release(&state.pool, caller.key.id, key).await;
            Err(e)
        }
        (None, Ok(created)) => Ok((StatusCode::CREATED, Json(created)).into_response()),
        (None, Err(e)) => Err(e),
    }
}

pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The spooled request body, read from its start. Each read names its own offset (`pread`),
/// so two readers of the one file (the form's two passes) never move each other's position.
fn reread(
    body: &Spooled,
) -> Result<impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static, ApiError> {
    use std::os::unix::fs::FileExt as _;
    const CHUNK: usize = 64 * 1024;
    let file = std::sync::Arc::new(body.file.try_clone().map_err(ApiError::internal)?);
    let len = body.len;
    Ok(futures_util::stream::try_unfold(0u64, move |offset| {
        let file = file.clone();
        async move {
            if offset >= len {
                return Ok(None);
            }
            let want = usize::try_from((len - offset).min(CHUNK as u64)).unwrap_or(CHUNK);
            let chunk = tokio::task::spawn_blocking(move || {
                let mut buffer = vec![0u8; want];
                let mut filled = 0;
                while filled < want {
                    match file.read_at(&mut buffer[filled..], offset + filled as u64)? {
                        0 => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
                        n => filled += n,
                    }
                }
                Ok(buffer)
            })
            .await
            .map_err(std::io::Error::other)??;
            Ok(Some((Bytes::from(chunk), offset + want as u64)))
        }
    }))
}

async fn create_document(
    state: &ApiState,
    caller: &Caller,
    content_type: &str,
    body: &Spooled,
) -> Result<DocumentResource, ApiError> {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let document = match media.as_str() {
        "application/json" => {
            // Markdown inline: its JSON escaping may double it, beside the rest of the request.
            let json_limit = state.max_json_bytes as u64 + 2 * ingest::MAX_MARKDOWN_BYTES;
            if body.len > json_limit {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!(
                        "a JSON body is limited to {}; send a file as multipart/form-data",
                        attesta_core::documents::human_bytes(json_limit)
                    ),
                ));
            }
            let mut bytes = Vec::with_capacity(body.len as usize);
            let mut stream = std::pin::pin!(reread(body)?);
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(&chunk.map_err(ApiError::internal)?);
            }
            let mut request = parse_document(&bytes, "")?;
            drop(bytes);
            let markdown = request.markdown.take().ok_or_else(|| {
                ApiError::validation("markdown", "a JSON body needs `markdown`; send a PDF as multipart/form-data")
            })?;
            let draft = draft_of(&request)?;
            let then = Then::of(&request)?;
            let info = UploadInfo {
                title: request.title.clone(),
                file_name: None,
                content_type: Some("text/markdown".to_owned()),
                client_sha256: None,
            };
            let source = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(markdown))]);
            let document = state.documents.upload(&caller.user, info, source, &caller.meta).await?;
            (document, draft, then)
        }
        "multipart/form-data" => {
            let boundary = multer::parse_boundary(content_type).map_err(|e| ApiError::bad_request(e.to_string()))?;
            // First pass: the `document` part, and which part holds the file.
            let (request, source) = read_form(state, body, &boundary).await?;
            let draft = draft_of(&request)?;
            let then = Then::of(&request)?;
            // Second pass: that part streams into the upload.
            let mut form = form(state, body, &boundary)?;
            let mut index = 0usize;
            let document = loop {
                let field = form.next_field().await.map_err(form_error)?;
                let Some(field) = field else { return Err(ApiError::internal("the form changed between reads")) };
                if index == source.index {
                    let info = UploadInfo {
                        title: request.title.clone(),
                        file_name: source.file_name.clone(),
                        content_type: Some(source.content_type.to_owned()),
                        client_sha256: None,
                    };
                    break state.documents.upload(&caller.user, info, field, &caller.meta).await?;
                }
                drop(field);
                index += 1;
            };
            (document, draft, then)
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json (Markdown inline) or multipart/form-data (a `document` part and a `file` or `markdown` part)",
            ));
        }
    };
    let (document, draft, then) = document;
    if let Err(e) = prepare(state, caller, &document.id, draft, then).await {
        // One call, one outcome: a document that cannot be prepared as asked is not left behind
        // as a draft (its upload and deletion stay in the evidence).
        if let Err(cleanup) = state.documents.delete(&caller.user, &document.id, &caller.meta).await {
            tracing::error!(document_id = %document.id, error = %cleanup, "removing a document the API could not prepare");
        }
        return Err(e);
    }
    resource(state, caller, document).await
}

/// How a new document leaves the create call: a draft, sent, or scheduled.
enum Then {
    Draft,
    Send,
    Schedule { send_at: String, time_zone: Option<String> },
}

impl Then {
    fn of(request: &NewDocument) -> Result<Self, ApiError> {
        match (&request.send_at, request.send) {
            (Some(_), true) => {
                Err(ApiError::validation("send_at", "either send now (`send`) or schedule (`send_at`), not both"))
            }
            (Some(at), false) => Ok(Self::Schedule { send_at: at.clone(), time_zone: request.time_zone.clone() }),
            (None, true) => Ok(Self::Send),
            (None, false) => Ok(Self::Draft),
        }
    }
}

async fn prepare(state: &ApiState, caller: &Caller, id: &str, draft: Draft, then: Then) -> Result<(), ApiError> {
    if draft.recipients.is_empty() && draft.fields.is_empty() && matches!(then, Then::Draft) {
        return Ok(());
    }
    let (_, _, revision, _) = state.documents.draft(&caller.user, id).await?;
    let revision = state.documents.save_draft(&caller.user, id, revision, draft).await?;
    match then {
        Then::Draft => {}
        Then::Send => state.documents.send(&caller.user, id, revision, &caller.meta).await?,
        Then::Schedule { send_at, time_zone } => {
            schedule_draft(state, caller, id, revision, &send_at, time_zone.as_deref()).await?;
        }
    }
    Ok(())
}

fn parse_document(bytes: &[u8], within: &str) -> Result<NewDocument, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let field = if within.is_empty() { "body".to_owned() } else { within.to_owned() };
        ApiError {
            field: Some(field),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", e.to_string())
        }
    })
}

/// Which part of the form is the file, and what it was called.
struct SourcePart {
    /// Its position among the form's parts, from 0.
    index: usize,
    file_name: Option<String>,
    content_type: &'static str,
}

/// A multipart reader over the spooled body. The `document` part is bounded by the JSON limit;
/// the file part by the upload's own limit, checked as it streams into the spool.
fn form(state: &ApiState, body: &Spooled, boundary: &str) -> Result<multer::Multipart<'static>, ApiError> {
    let limits = multer::SizeLimit::new().for_field("document", state.max_json_bytes as u64);
    let constraints = multer::Constraints::new().size_limit(limits);
    Ok(multer::Multipart::with_constraints(reread(body)?, boundary.to_owned(), constraints))
}

fn form_error(e: multer::Error) -> ApiError {
    match e {
        multer::Error::FieldSizeExceeded { field_name, .. } => ApiError {
            field: field_name,
            ..ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "a form part is larger than this server accepts",
            )
        },
        other => ApiError::bad_request(other.to_string()),
    }
}

async fn read_form(state: &ApiState, body: &Spooled, boundary: &str) -> Result<(NewDocument, SourcePart), ApiError> {
    let mut form = form(state, body, boundary)?;
    let (mut document, mut source) = (None, None);
    let mut index = 0usize;
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        match field.name() {
            Some("document") => {
                let data = field.bytes().await.map_err(form_error)?;
                document = Some(parse_document(&data, "document")?);
            }
            Some(name @ ("file" | "markdown")) => {
                source = Some(if name == "file" {
                    SourcePart {
                        index,
                        file_name: Some(field.file_name().map_or_else(|| "document.pdf".to_owned(), str::to_owned)),
                        content_type: "application/pdf",
                    }
                } else {
                    SourcePart { index, file_name: None, content_type: "text/markdown" }
                });
                // Read past it here; the second pass streams it into the upload.
                while field.chunk().await.map_err(form_error)?.is_some() {}
            }
            _ => while field.chunk().await.map_err(form_error)?.is_some() {},
        }
        index += 1;
    }
    let document =
        document.ok_or_else(|| ApiError::validation("document", "the form needs a `document` part (JSON)"))?;
    if document.markdown.is_some() {
        return Err(ApiError::validation("document.markdown", "in a form, send Markdown as its own `markdown` part"));
    }
    let source =
        source.ok_or_else(|| ApiError::validation("file", "the form needs a `file` (PDF) or `markdown` part"))?;
    Ok((document, source))
}

/// The app's draft from the API's request: recipients in their order, fields tied to them by
/// email. Whatever needs the pages (positions inside them) is checked by the document service.
fn draft_of(request: &NewDocument) -> Result<Draft, ApiError> {
    if request.recipients.len() > attesta_core::signing::MAX_RECIPIENTS {
        return Err(ApiError::validation("recipients", "too many recipients"));
    }
    if request.fields.len() > attesta_core::signing::MAX_FIELDS {
        return Err(ApiError::validation("fields", "too many fields"));
    }
    let mut people: Vec<(u32, usize, &NewRecipient)> =
        request.recipients.iter().enumerate().map(|(i, r)| (r.order.unwrap_or(u32::MAX), i, r)).collect();
    people.sort_by_key(|(order, i, _)| (*order, *i));
    let id =
        |n: usize, prefix: &str| LocalId::parse(&format!("{prefix}{n}")).ok_or_else(|| ApiError::internal("local id"));
    let mut recipients = Vec::with_capacity(people.len());
    for (n, (_, _, r)) in people.iter().enumerate() {
        recipients.push(DraftRecipient {
            id: id(n + 1, "r")?,
            name: r.name.trim().to_owned(),
            email: r.email.trim().to_owned(),
            otp: r.otp,
            role: match r.role {
                RecipientRole::Signer => ParticipantRole::Signer,
                RecipientRole::Approver => ParticipantRole::Approver,
                RecipientRole::Acknowledger => ParticipantRole::Acknowledger,
                RecipientRole::Cc => ParticipantRole::Cc,
            },
        });
    }
    let mut fields = Vec::with_capacity(request.fields.len());
    for (i, f) in request.fields.iter().enumerate() {
        let owner = recipients
            .iter()
            .find(|r| r.email.eq_ignore_ascii_case(f.recipient.trim()))
            .ok_or_else(|| ApiError::validation(format!("fields[{i}].recipient"), "no recipient has this email"))?;
        let numbers = [f.x, f.y, f.width, f.height];
        if numbers.iter().any(|n| !n.is_finite()) || f.width <= 0.0 || f.height <= 0.0 {
            return Err(ApiError::validation(
                format!("fields[{i}]"),
                "position and size must be finite, size above zero",
            ));
        }
        fields.push(DraftField {
            id: id(i + 1, "f")?,
            recipient: owner.id.clone(),
            kind: match f.kind {
                Kind::Signature => FieldKind::Signature,
                Kind::Initials => FieldKind::Initials,
                Kind::DateSigned => FieldKind::DateSigned,
                Kind::Text => FieldKind::Text,
                Kind::Checkbox => FieldKind::Checkbox,
            },
            page: f.page,
            rect: PdfRect { x: f.x, y: f.y, width: f.width, height: f.height },
            required: f.required,
            label: f.label.clone(),
        });
    }
    Ok(Draft {
        order: match request.signing_order {
            Order::Sequential => SigningOrder::Sequential,
            Order::Parallel => SigningOrder::Parallel,
        },
        recipients,
        fields,
        message: request.message.clone(),
    })
}

#[utoipa::path(
    post, path = "/api/v1/documents/{id}/void", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    request_body(content = VoidRequest, content_type = "application/json"),
    responses(
        (status = 200, body = DocumentResource),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn void(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<VoidRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<DocumentResource>, ApiError> {
    caller.require(Scope::Send)?;
    let document = caller.document(&state, &id).await?;
    let Json(body) = body.map_err(json_rejection)?;
    state.documents.void(&caller.user, &document.id, &body.reason, &caller.meta).await?;
    Ok(Json(resource(&state, &caller, document).await?))
}

#[utoipa::path(
    post, path = "/api/v1/documents/{id}/schedule", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    request_body(content = ScheduleRequest, content_type = "application/json"),
    responses(
        (status = 200, body = DocumentResource, description = "Scheduled (or moved): `scheduled_send` says when"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Not a draft, or changed meanwhile"),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Not ready to send, a time in the past or over a year ahead, or an unknown time zone"),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn schedule(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<ScheduleRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<DocumentResource>, ApiError> {
    caller.require(Scope::Send)?;
    let document = caller.document(&state, &id).await?;
    let Json(body) = body.map_err(json_rejection)?;
    let (_, _, revision, _) = state.documents.draft(&caller.user, &document.id).await?;
    schedule_draft(&state, &caller, &document.id, revision, &body.send_at, body.time_zone.as_deref()).await?;
    Ok(Json(resource(&state, &caller, document).await?))
}

#[utoipa::path(
    delete, path = "/api/v1/documents/{id}/schedule", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, body = DocumentResource, description = "The schedule is cancelled: the draft can be edited again"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Not scheduled"), (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn unschedule(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocumentResource>, ApiError> {
    caller.require(Scope::Send)?;
    let document = caller.document(&state, &id).await?;
    state.documents.cancel_schedule(&caller.user, &document.id, &caller.meta).await?;
    Ok(Json(resource(&state, &caller, document).await?))
}

/// Schedules draft `id` at `revision` for `send_at` (RFC 3339), read in `time_zone`.
async fn schedule_draft(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    revision: i64,
    send_at: &str,
    time_zone: Option<&str>,
) -> Result<(), ApiError> {
    let at =
        time::OffsetDateTime::parse(send_at.trim(), &time::format_description::well_known::Rfc3339).map_err(|_| {
            ApiError::validation("send_at", "give a date and time in RFC 3339 form, such as 2027-01-04T09:00:00+01:00")
        })?;
    let micros = i64::try_from(at.unix_timestamp_nanos() / 1000)
        .map_err(|_| ApiError::validation("send_at", "that time is out of range"))?;
    let zone = time_zone.unwrap_or("UTC");
    state
        .documents
        .schedule_at(&caller.user, id, revision, attesta_core::Timestamp::from_micros(micros), zone, &caller.meta)
        .await?;
    Ok(())
}

pub(super) fn json_rejection(e: axum::extract::rejection::JsonRejection) -> ApiError {
    use axum::extract::rejection::JsonRejection as R;
    match e {
        R::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        R::JsonSyntaxError(e) => ApiError {
            field: Some("body".to_owned()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", e.body_text())
        },
        R::JsonDataError(e) => ApiError {
            field: Some("body".to_owned()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", e.body_text())
        },
        R::BytesRejection(_) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is too large")
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

#[utoipa::path(
    get, path = "/api/v1/documents/{id}/original.pdf", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The file as uploaded (Markdown: as typeset)", content_type = "application/pdf", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "The retention policy deleted the document's files (`files_purged_at`); its evidence remains", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn original(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    file(state, caller, id, FileKind::Original).await
}

#[utoipa::path(
    get, path = "/api/v1/documents/{id}/sealed.pdf", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The sealed PDF, once every signer signed", content_type = "application/pdf", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "The retention policy deleted the document's files (`files_purged_at`); its evidence remains", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn sealed(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    file(state, caller, id, FileKind::Sealed).await
}

async fn file(state: ApiState, caller: Caller, id: String, kind: FileKind) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let document = caller.document(&state, &id).await?;
    let opened = state.documents.open_file(&caller.user, &document.id, kind, true, &caller.meta).await?;
    let mut response = Response::new(Body::from_stream(opened.stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(opened.size));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&crate::documents::http::disposition(true, &opened.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{}:", opened.sha256.to_base64())) {
        headers.insert("repr-digest", v);
    }
    Ok(response)
}

#[utoipa::path(
    get, path = "/api/v1/documents/{id}/evidence.json", tag = "documents",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The evidence package (docs/EVIDENCE.md), including this download", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn evidence(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let document = caller.document(&state, &id).await?;
    let (document, package) = state.documents.download_package(&caller.user, &document.id, &caller.meta).await?;
    let mut response = json_response(StatusCode::OK, package.to_json());
    let name = crate::documents::completion::package_file_name(&document.id);
    if let Ok(v) = HeaderValue::from_str(&crate::documents::http::disposition(true, &name)) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}
