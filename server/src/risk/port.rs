//! The risk service behind the web app's server functions (`attesta_app::ssr::risk::RiskPort`):
//! the viewer as the core's access policy sees them, and the rows as the pages' DTOs.

use super::repo::{FlagFilter, FlagRow, parse_severity};
use super::{ReviewRequest, Risk, RiskError};
use attesta_app::api::risk::{DocumentRiskDto, FlagDto, MissingDto, RiskOverview, SeverityCount};
use attesta_app::error::AppError;
use attesta_app::ssr::documents::RequestMeta;
use attesta_app::ssr::risk::{ReviewInput, RiskFilter};
use attesta_core::User;
use attesta_core::access::Principal;
use attesta_core::risk::review::{FlagStatus, may_review};

/// Flags one page lists at most.
pub const PAGE_FLAGS: i64 = 200;

impl From<RiskError> for AppError {
    fn from(e: RiskError) -> Self {
        match e {
            RiskError::NotFound => AppError::NotFound,
            RiskError::Forbidden(_) => AppError::Forbidden,
            RiskError::Invalid { field, message } => AppError::validation(field, message),
            RiskError::Conflict(why) => AppError::Conflict(why),
            RiskError::Internal(e) => attesta_app::ssr::internal(format!("{e:#}")),
        }
    }
}

/// The store's filter from the page's (already checked) one.
pub fn filter_of(f: &RiskFilter) -> FlagFilter {
    FlagFilter {
        severity: f.severity.as_deref().and_then(parse_severity),
        category: f.category.clone(),
        status: f.status.as_deref().and_then(FlagStatus::parse),
        owner: f.owner,
        limit: PAGE_FLAGS,
    }
}

pub fn flag_dto(f: FlagRow) -> FlagDto {
    FlagDto {
        id: f.id,
        document_id: f.document_id,
        document_title: f.document_title,
        owner_id: f.owner_id,
        owner_name: f.owner_name,
        category: f.category,
        severity: f.severity.as_str().to_owned(),
        clause: f.clause_text,
        page: f.page,
        start: f.char_start,
        end: f.char_end,
        explanation: f.explanation,
        engine_version: f.engine_version,
        status: f.status.as_str().to_owned(),
        review_reason: f.review_reason,
        reviewed_at: f.reviewed_at,
        resolved_reason: f.resolved_reason,
        created_at: f.created_at,
    }
}

/// Every severity, most serious first, with its count of open flags (0 when none).
pub fn counts_of(rows: &[(String, i64)]) -> Vec<SeverityCount> {
    ["critical", "high", "medium", "low"]
        .into_iter()
        .map(|s| SeverityCount {
            severity: s.to_owned(),
            count: rows.iter().find(|(name, _)| name == s).map_or(0, |(_, n)| *n),
        })
        .collect()
}

#[async_trait::async_trait]
impl attesta_app::ssr::risk::RiskPort for Risk {
    async fn overview(&self, viewer: &User, filter: RiskFilter) -> Result<RiskOverview, AppError> {
        let (flags, counts) = self.list(&Principal::session(viewer), &filter_of(&filter)).await?;
        let mut categories: Vec<String> = attesta_core::risk::CATEGORIES.iter().map(|c| (*c).to_owned()).collect();
        categories.extend(["One-Sided Indemnity", "Unusual Penalty"].map(str::to_owned));
        categories.sort();
        Ok(RiskOverview { flags: flags.into_iter().map(flag_dto).collect(), counts: counts_of(&counts), categories })
    }

    async fn document(&self, viewer: &User, id: &str) -> Result<DocumentRiskDto, AppError> {
        let principal = Principal::session(viewer);
        let risk = self.of_document(&principal, id).await?;
        let missing: Vec<attesta_core::risk::MissingClause> = match &risk.scan {
            Some(scan) => serde_json::from_str(&scan.missing_json).map_err(attesta_app::ssr::internal)?,
            None => Vec::new(),
        };
        Ok(DocumentRiskDto {
            state: risk.scan.as_ref().map(|s| s.state.clone()),
            contract_type: risk.scan.as_ref().map(|s| s.contract_type.clone()),
            engine_version: risk.scan.as_ref().map(|s| s.engine_version.clone()),
            missing: missing
                .into_iter()
                .map(|m| MissingDto { clause: m.clause, severity: m.severity.as_str().to_owned(), why: m.why })
                .collect(),
            flags: risk.flags.into_iter().map(flag_dto).collect(),
            may_review: may_review(&principal),
        })
    }

    async fn review(
        &self,
        viewer: &User,
        flag_id: &str,
        review: ReviewInput,
        meta: RequestMeta,
    ) -> Result<FlagDto, AppError> {
        let request = ReviewRequest { action: review.action, reason: review.reason, escalate_to: review.escalate_to };
        let flag = Risk::review(self, &Principal::session(viewer), viewer, flag_id, request, &meta).await?;
        Ok(flag_dto(flag))
    }
}
