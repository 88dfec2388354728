//! Prometheus metrics: request counts and latencies by route, the database pool, and the trust
//! dashboard's figures (`crate::trust`).
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder), installed once
//! however many servers a process starts, as the integration tests do.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::AnyPool;
use std::sync::OnceLock;
use std::time::Instant;

const DURATION: &str = "http_request_duration_seconds";

pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(DURATION.to_owned()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

pub async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!(DURATION, &labels[..2]).record(start.elapsed().as_secs_f64());
    response
}

#[derive(Clone)]
pub struct MetricsState {
    pub handle: PrometheusHandle,
    pub pool: AnyPool,
    /// The trust dashboard's figures, set as gauges on each scrape.
    pub trust: Option<crate::trust::Trust>,
}

pub async fn render(State(state): State<MetricsState>) -> impl IntoResponse {
    metrics::gauge!("db_pool_connections").set(f64::from(state.pool.size()));
    metrics::gauge!("db_pool_idle_connections").set(state.pool.num_idle() as f64);
    metrics::gauge!("db_pool_max_connections").set(f64::from(state.pool.options().get_max_connections()));
    if let Some(trust) = &state.trust {
        trust.record_gauges().await;
    }
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.handle.render())
}
