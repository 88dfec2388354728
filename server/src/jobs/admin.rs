//! The admin page's view of the jobs table (`attesta_app::ssr::jobs::JobsPort`).

use attesta_app::api::jobs::{JobDto, JobsOverview};
use attesta_app::error::AppError;
use sqlx::AnyPool;

/// How many recent (and failed) jobs the page lists.
const LIMIT: i64 = 100;

pub struct JobsAdmin {
    pub pool: AnyPool,
}

fn dto(row: super::store::JobRow) -> JobDto {
    JobDto {
        id: row.id,
        kind: row.kind,
        subject: row.subject,
        state: row.state,
        attempts: row.attempts,
        run_at: row.run_at,
        last_error: row.last_error,
        created_at: row.created_at,
        finished_at: row.finished_at,
    }
}

#[async_trait::async_trait]
impl attesta_app::ssr::jobs::JobsPort for JobsAdmin {
    async fn overview(&self) -> Result<JobsOverview, AppError> {
        let (recent, failed) = super::store::recent(&self.pool, LIMIT).await.map_err(attesta_app::ssr::internal)?;
        Ok(JobsOverview {
            recent: recent.into_iter().map(dto).collect(),
            failed: failed.into_iter().map(dto).collect(),
        })
    }
}
