//! The jobs port: what the admin page's server function needs from the server's job runner.

use crate::api::jobs::JobsOverview;
use crate::error::AppError;

#[async_trait::async_trait]
pub trait JobsPort: Send + Sync {
    /// The most recent jobs and the failed ones, newest first (the caller checked the viewer).
    async fn overview(&self) -> Result<JobsOverview, AppError>;
}
