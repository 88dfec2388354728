//! `GET /auth/session`: the cheap question an open tab asks every few seconds, "am I still
//! signed in?". `{"signed_in": true|false}` (false: signed out elsewhere, revoked, disabled,
//! expired), so a tab leaves for the sign-in page within seconds of a logout on another device.
//! The answer is 200 either way: "no" is the expected answer of a poll, not a failed request
//! (browsers log every 401 to the console).

use attesta_app::ssr::ServerContext;
use attesta_app::ssr::documents::RequestMeta;
use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse as _, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use tower_sessions::Session;

pub async fn check(State(context): State<ServerContext>, session: Session, request: Request) -> Response {
    let meta = RequestMeta::of_request(request.extensions(), request.headers());
    let mut response = match attesta_app::ssr::session::user_of(&context, &session, &meta).await {
        Ok(user) => Json(json!({ "signed_in": user.is_some() })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "session check failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
