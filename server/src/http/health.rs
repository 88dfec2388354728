//! Liveness and readiness, for load balancers and orchestrators.

use crate::blob::BlobStore;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use sqlx::AnyPool;
use std::sync::Arc;

/// The process is up and answering.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

#[derive(Clone)]
pub struct Readiness {
    pub pool: AnyPool,
    pub blobs: Arc<dyn BlobStore>,
}

/// The process can serve requests: the database answers and the file store is reachable.
pub async fn readyz(State(ready): State<Readiness>) -> impl IntoResponse {
    if let Err(e) = sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&ready.pool).await {
        tracing::warn!(error = %e, "readiness check failed: database unreachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n".to_owned());
    }
    if let Err(e) = ready.blobs.check().await {
        tracing::warn!(error = %e, store = ready.blobs.kind(), "readiness check failed: file store unreachable");
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{} file store unreachable\n", ready.blobs.kind()));
    }
    (StatusCode::OK, "ready\n".to_owned())
}
