//! Logging: human-readable text or one JSON object per line, each line of a request carrying
//! its request id through the request's span.

use crate::config::{LogConfig, LogFormat};
use http::{Request, Response};
use std::time::Duration;
use tracing::Span;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Later calls (tests start many servers) do nothing.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| crate::http::request_id::acceptable(id))
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

pub fn on_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
}
