//! The risk port: what the Risk page, the document page's risk panel and the review form need
//! from the server's risk service (which checks the viewer with the core's access rules).

use crate::api::risk::{DocumentRiskDto, FlagDto, RiskOverview};
use crate::error::AppError;
use attesta_core::User;

/// The Risk page's filter, parsed (the server function's strings: empty is any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskFilter {
    pub severity: Option<String>,
    pub category: Option<String>,
    /// `None`: every status; the page asks for `open` by default.
    pub status: Option<String>,
    pub owner: Option<i64>,
}

impl RiskFilter {
    pub fn parse(severity: &str, category: &str, status: &str, owner: &str) -> Result<Self, AppError> {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty() && s != "all");
        let invalid =
            |field: &str, message: &str| AppError::Validation { field: field.into(), message: message.into() };
        let severity = some(severity);
        if severity.as_deref().is_some_and(|s| !["low", "medium", "high", "critical"].contains(&s)) {
            return Err(invalid("severity", "the severity is low, medium, high or critical"));
        }
        let status = some(status);
        if status
            .as_deref()
            .is_some_and(|s| !["open", "acknowledged", "dismissed", "escalated", "resolved"].contains(&s))
        {
            return Err(invalid("status", "unknown status"));
        }
        let owner = match some(owner) {
            Some(o) => Some(o.parse::<i64>().map_err(|_| invalid("owner", "the owner is a user id"))?),
            None => None,
        };
        Ok(Self { severity, category: some(category), status, owner })
    }
}

/// A review as the form sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewInput {
    pub action: String,
    pub reason: Option<String>,
    pub escalate_to: Option<String>,
}

#[async_trait::async_trait]
pub trait RiskPort: Send + Sync {
    /// Flags across documents (owners and admins only).
    async fn overview(&self, viewer: &User, filter: RiskFilter) -> Result<RiskOverview, AppError>;
    /// A document's flags and missing clauses (whoever may see the document).
    async fn document(&self, viewer: &User, id: &str) -> Result<DocumentRiskDto, AppError>;
    /// One review of a flag.
    async fn review(
        &self,
        viewer: &User,
        flag_id: &str,
        review: ReviewInput,
        meta: super::documents::RequestMeta,
    ) -> Result<FlagDto, AppError>;
}
