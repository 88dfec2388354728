//! The two document endpoints that move file bytes, so they stream instead of going through
//! server functions:
//!
//! - `POST /api/documents`: an upload, as `multipart/form-data` (fields `sha256` and `title`,
//!   optional, before the `file` field) or as the raw body (`Content-Type: application/pdf` or
//!   `text/markdown`, optional `?title=` and `?filename=`, optional RFC 9530
//!   `Content-Digest: sha-256=:<base64>:`). Answers 201 with the document as JSON, or an error
//!   JSON `{"error": code, "message": text}` with 400, 401, 413, 415 or 422.
//! - `GET /documents/{id}/file`: the PDF, inline; `?download=1` as an attachment.
//!
//! The GETs that serve a signed-in user a file record `document.viewed` or
//! `document.downloaded` in their name, so they answer only requests from this site's pages or
//! typed by the person (`crate::http::csrf::may_record_on_get`); another site's link gets a page
//! with a link to continue from here instead.

use super::ingest::IngestError;
use super::{DocumentError, Documents, FileKind, StoredDocument, UploadInfo};
use attesta_app::ssr::ServerContext;
use attesta_app::ssr::documents::RequestMeta;
use attesta_core::User;
use attesta_core::documents::Refusal;
use attesta_core::evidence::Sha256;
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest as _, Multipart, Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

#[derive(Clone)]
pub struct DocumentsState {
    pub documents: Documents,
    pub context: ServerContext,
    /// Who may make a GET that records a view or download.
    pub csrf: crate::http::csrf::CsrfPolicy,
}

/// An error answer: its status, a stable code and a sentence.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The core's messages are lower case so they compose; people read a sentence.
        let message = attesta_core::text::sentence(&self.message);
        (self.status, Json(json!({ "error": self.code, "message": message }))).into_response()
    }
}

fn api_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError { status, code, message: message.into() }
}

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    api_error(status, code, message).into_response()
}

async fn signed_in(state: &DocumentsState, session: &Session, meta: &RequestMeta) -> Result<User, ApiError> {
    match attesta_app::ssr::session::user_of(&state.context, session, meta).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(api_error(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first")),
        Err(e) => Err(api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())),
    }
}

fn meta(request: &Request) -> RequestMeta {
    RequestMeta::of_request(request.extensions(), request.headers())
}

#[derive(Debug, Deserialize, Default)]
pub struct UploadParams {
    title: Option<String>,
    filename: Option<String>,
}

pub async fn upload(
    State(state): State<DocumentsState>,
    session: Session,
    Query(params): Query<UploadParams>,
    request: Request,
) -> Response {
    let user = match signed_in(&state, &session, &meta(&request)).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let limit = state.documents.limits().max_bytes;
    // Refuse what is announced too large before reading any of it. (Multipart framing adds a
    // little to the file, hence the allowance.)
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(64 * 1024)) {
        return refusal(&Refusal::TooLarge { limit });
    }
    let meta = meta(&request);
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let result = if content_type.starts_with("multipart/form-data") {
        upload_multipart(&state, &user, request, &meta).await
    } else {
        let digest = match content_digest(request.headers()) {
            Ok(d) => d,
            Err(e) => return e.into_response(),
        };
        let info = UploadInfo {
            file_name: params.filename,
            content_type: Some(content_type),
            title: params.title,
            client_sha256: digest,
        };
        let body = request.into_body().into_data_stream();
        state.documents.upload(&user, info, body, &meta).await.map_err(Failure::Ingest)
    };
    match result {
        Ok(document) => created(&document),
        Err(Failure::Ingest(e)) => ingest_error(e),
        Err(Failure::Response(e)) => e.into_response(),
    }
}

enum Failure {
    Ingest(IngestError),
    Response(ApiError),
}

async fn upload_multipart(
    state: &DocumentsState,
    user: &User,
    request: Request,
    meta: &RequestMeta,
) -> Result<StoredDocument, Failure> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| Failure::Response(api_error(StatusCode::BAD_REQUEST, "bad_request", e.body_text())))?;
    let mut info = UploadInfo::default();
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| Failure::Response(api_error(StatusCode::BAD_REQUEST, "bad_request", e.body_text())))?;
        let Some(mut field) = field else {
            return Err(Failure::Response(api_error(
                StatusCode::BAD_REQUEST,
                "missing_file",
                "the form has no `file` field",
            )));
        };
        match field.name() {
            Some("file") => {
                info.file_name = field.file_name().map(str::to_owned);
                info.content_type = field.content_type().map(str::to_owned);
                return state.documents.upload(user, info, &mut field, meta).await.map_err(Failure::Ingest);
            }
            Some("sha256") => {
                let text = small_text(&mut field).await.map_err(Failure::Response)?;
                if !text.trim().is_empty() {
                    let hash = Sha256::parse_hex(text.trim()).map_err(|_| {
                        Failure::Response(api_error(
                            StatusCode::BAD_REQUEST,
                            "bad_request",
                            "sha256 must be 64 hexadecimal characters",
                        ))
                    })?;
                    info.client_sha256 = Some(hash);
                }
            }
            Some("title") => info.title = Some(small_text(&mut field).await.map_err(Failure::Response)?),
            // Unknown fields are skipped, not read into memory.
            _ => while let Some(Ok(_)) = field.next().await {},
        }
    }
}

/// A form field of at most 4 KiB.
async fn small_text(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| api_error(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > 4096 {
            return Err(api_error(StatusCode::BAD_REQUEST, "bad_request", "a form field is longer than 4 KiB"));
        }
    }
    String::from_utf8(bytes).map_err(|_| api_error(StatusCode::BAD_REQUEST, "bad_request", "a form field is not UTF-8"))
}

/// The SHA-256 from an RFC 9530 `Content-Digest: sha-256=:<base64>:` header, if sent.
fn content_digest(headers: &HeaderMap) -> Result<Option<Sha256>, ApiError> {
    let Some(value) = headers.get("content-digest").and_then(|v| v.to_str().ok()) else { return Ok(None) };
    for member in value.split(',') {
        if let Some((algorithm, rest)) = member.trim().split_once('=')
            && algorithm.trim().eq_ignore_ascii_case("sha-256")
        {
            let b64 = rest.trim().trim_matches(':');
            return Sha256::parse_base64(b64).map(Some).map_err(|_| {
                api_error(StatusCode::BAD_REQUEST, "bad_request", "Content-Digest sha-256 is not 32 bytes of base64")
            });
        }
    }
    Ok(None)
}

fn created(document: &StoredDocument) -> Response {
    let url = format!("/documents/{}", document.id);
    let body = json!({
        "id": document.id,
        "title": document.title,
        "status": document.status.as_str(),
        "source": document.source.as_str(),
        "pages": document.page_count,
        "size": document.size,
        "sha256": document.sha256.to_hex(),
        "url": url,
    });
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

fn refusal(r: &Refusal) -> Response {
    let status = match r {
        Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut response = error(status, r.code(), r.to_string());
    if *r == Refusal::Busy {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(super::ingest::BUSY_RETRY_SECONDS));
    }
    response
}

fn ingest_error(e: IngestError) -> Response {
    match e {
        IngestError::Refused(r) => refusal(&r),
        IngestError::Interrupted(why) => {
            error(StatusCode::BAD_REQUEST, "interrupted", format!("the upload was interrupted: {why}"))
        }
        IngestError::Internal(e) => {
            let shown = attesta_app::ssr::internal(format!("upload: {e:#}"));
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", shown.to_string())
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct FileParams {
    download: Option<String>,
}

pub async fn file(
    State(state): State<DocumentsState>,
    session: Session,
    Path(id): Path<String>,
    Query(params): Query<FileParams>,
    request: Request,
) -> Response {
    let download = params.download.as_deref().is_some_and(|d| d == "1" || d == "true");
    serve_file(state, session, id, FileKind::Original, download, request).await
}

/// `GET /documents/{id}/sealed.pdf`: the sealed PDF, as a download unless `?download=0`.
pub async fn sealed(
    State(state): State<DocumentsState>,
    session: Session,
    Path(id): Path<String>,
    Query(params): Query<FileParams>,
    request: Request,
) -> Response {
    let download = !params.download.as_deref().is_some_and(|d| d == "0" || d == "false");
    serve_file(state, session, id, FileKind::Sealed, download, request).await
}

async fn serve_file(
    state: DocumentsState,
    session: Session,
    id: String,
    kind: FileKind,
    download: bool,
    request: Request,
) -> Response {
    if !crate::http::csrf::may_record_on_get(&state.csrf, request.headers()) {
        return continue_from_here(request.uri());
    }
    let user = match signed_in(&state, &session, &meta(&request)).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let opened = match state.documents.open_file(&user, &id, kind, download, &meta(&request)).await {
        Ok(o) => o,
        Err(e) => return read_error(e),
    };
    let disposition = disposition(download, &opened.file_name);
    let mut response = Response::new(Body::from_stream(opened.stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(opened.size));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{}:", opened.sha256.to_base64())) {
        headers.insert("repr-digest", v);
    }
    response
}

/// `GET /documents/{id}/evidence.json`: the evidence package, including this download.
pub async fn evidence(
    State(state): State<DocumentsState>,
    session: Session,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    if !crate::http::csrf::may_record_on_get(&state.csrf, request.headers()) {
        return continue_from_here(request.uri());
    }
    let user = match signed_in(&state, &session, &meta(&request)).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let (document, package) = match state.documents.download_package(&user, &id, &meta(&request)).await {
        Ok(p) => p,
        Err(e) => return read_error(e),
    };
    let name = super::completion::package_file_name(&document.id);
    let mut response = Response::new(Body::from(package.to_json()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition(true, &name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// 403 for a recording GET started by another site: a page whose link repeats the request from
/// here, so the person (and only the person) can still open the file with one click.
fn continue_from_here(uri: &http::Uri) -> Response {
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let href = crate::mail::templates::escape_html(target);
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width\"><title>Open the document</title></head><body><h1>Open the document</h1>\
         <p>Another site sent you here. Opening or downloading a document is recorded in its evidence under \
         your name, so Attesta only does it when you ask from this site.</p>\
         <p><a href=\"{href}\">Open the document</a></p></body></html>"
    );
    let mut response = (StatusCode::FORBIDDEN, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

fn read_error(e: DocumentError) -> Response {
    match e {
        DocumentError::NotFound | DocumentError::Forbidden => {
            error(StatusCode::NOT_FOUND, "not_found", "no such document")
        }
        DocumentError::Conflict(why) => error(StatusCode::CONFLICT, "conflict", why),
        DocumentError::Gone(why) => error(StatusCode::GONE, "gone", why),
        DocumentError::Invalid { message, .. } => error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message),
        DocumentError::Internal(e) => {
            let shown = attesta_app::ssr::internal(format!("reading a document: {e:#}"));
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", shown.to_string())
        }
    }
}

/// `attachment` or `inline`, with an ASCII fallback name and the UTF-8 one (RFC 6266).
pub(crate) fn disposition(download: bool, name: &str) -> String {
    format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if download { "attachment" } else { "inline" },
        ascii_file_name(name),
        attesta_app::format::percent_encode(name),
    )
}

/// `name` with everything but plain ASCII letters, digits, spaces and `-_.()` as `_`.
fn ascii_file_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')') { c } else { '_' })
        .collect();
    name.trim().to_owned()
}

/// `GET /sign/{token}/file`: the document for the signer holding the link (no account). The
/// view itself is recorded when the signing page opens (`recipient.viewed`).
pub async fn signer_file(State(state): State<DocumentsState>, Path(token): Path<String>) -> Response {
    use super::signing::SigningError;
    let link = match state.documents.link(&token).await {
        Ok(link) => link,
        Err(SigningError::Link(problem)) => return error(StatusCode::GONE, problem.code(), problem.message()),
        Err(e) => {
            let shown = attesta_app::ssr::internal(format!("reading a signer's document: {e}"));
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", shown.to_string());
        }
    };
    let stream = match state.documents.decrypted(&link.document).await {
        Ok(s) => s,
        Err(e) => {
            let shown = attesta_app::ssr::internal(format!("reading a signer's document: {e}"));
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", shown.to_string());
        }
    };
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(link.document.size));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{}:", link.document.sha256.to_base64())) {
        headers.insert("repr-digest", v);
    }
    response
}
