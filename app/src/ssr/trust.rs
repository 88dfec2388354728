//! The trust port: the dashboard's figures, computed by the server from its data when asked.

use crate::api::trust::TrustDashboard;
use crate::error::AppError;

#[async_trait::async_trait]
pub trait TrustPort: Send + Sync {
    /// Every figure of the dashboard, now (the caller checked the viewer).
    async fn dashboard(&self) -> Result<TrustDashboard, AppError>;
}
