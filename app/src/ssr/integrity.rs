//! The integrity port: what the Settings › Integrity page needs from the server's
//! self-verification runs.

use crate::api::integrity::IntegrityOverview;
use crate::error::AppError;

#[async_trait::async_trait]
pub trait IntegrityPort: Send + Sync {
    /// The schedule and the most recent runs, newest first (the caller checked the viewer).
    async fn overview(&self) -> Result<IntegrityOverview, AppError>;
}
