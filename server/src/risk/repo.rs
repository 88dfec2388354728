//! The `document_risk_flags` and `document_risk_scans` tables (migrations 0018), one SQL text
//! for SQLite and PostgreSQL.

use crate::documents::StoredDocument;
use attesta_core::risk::review::{self, FlagStatus};
use attesta_core::risk::{Flag, Severity};
use sqlx::{AnyConnection, AnyPool, Row as _};

/// A stored flag, with its document's title and owner.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRow {
    pub id: String,
    pub document_id: String,
    pub document_title: String,
    pub document_status: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub category: String,
    pub severity: Severity,
    pub clause_text: String,
    pub clause_sha256: Vec<u8>,
    pub page: Option<i64>,
    pub char_start: i64,
    pub char_end: i64,
    pub rects_json: Option<String>,
    pub explanation: String,
    pub engine: String,
    pub engine_version: String,
    pub status: FlagStatus,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<i64>,
    pub review_reason: Option<String>,
    pub escalated_to: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolved_reason: Option<String>,
    pub created_at: i64,
}

impl FlagRow {
    /// A new open flag raised on `document`.
    pub fn new(id: &str, document: &StoredDocument, flag: &Flag, now: i64) -> Self {
        Self {
            id: id.to_owned(),
            document_id: document.id.clone(),
            document_title: document.title.clone(),
            document_status: document.status.as_str().to_owned(),
            owner_id: document.owner_id,
            owner_name: document.owner_name.clone(),
            category: flag.category.clone(),
            severity: flag.severity,
            clause_text: flag.text.clone(),
            clause_sha256: review::clause_sha256(&flag.text).as_bytes().to_vec(),
            page: flag.page.map(i64::from),
            char_start: i64::from(flag.start),
            char_end: i64::from(flag.end),
            rects_json: None,
            explanation: flag.explanation.clone(),
            engine: flag.engine.clone(),
            engine_version: flag.engine_version.clone(),
            status: FlagStatus::Open,
            reviewed_by: None,
            reviewed_at: None,
            review_reason: None,
            escalated_to: None,
            resolved_at: None,
            resolved_reason: None,
            created_at: now,
        }
    }

    /// Whether it is told to the owner at once.
    pub fn alerts(&self) -> bool {
        review::alerts(self.severity)
    }
}

/// The record of one engine version's scan of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRow {
    pub document_id: String,
    pub engine: String,
    pub engine_version: String,
    /// `analysed`, `no_text` (a scan without a text layer) or `unreadable`.
    pub state: String,
    pub contract_type: String,
    pub missing_json: String,
    pub flags: i64,
    pub scanned_at: i64,
}

/// What the Risk page asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagFilter {
    pub severity: Option<Severity>,
    pub category: Option<String>,
    /// `None`: every status.
    pub status: Option<FlagStatus>,
    pub owner: Option<i64>,
    pub limit: i64,
}

/// One status change by a reviewer.
#[derive(Debug, Clone)]
pub struct Review {
    pub flag_id: String,
    pub previous: FlagStatus,
    pub next: FlagStatus,
    pub reviewer: i64,
    pub reason: Option<String>,
    pub escalated_to: Option<i64>,
    pub at: i64,
}

const COLUMNS: &str = "f.id, f.document_id, d.title, d.status, d.owner_id, u.name, f.category, f.severity, \
     f.clause_text, f.clause_sha256, f.page, f.char_start, f.char_end, f.rects_json, f.explanation, f.engine, \
     f.engine_version, f.status, f.reviewed_by, f.reviewed_at, f.review_reason, f.escalated_to, f.resolved_at, \
     f.resolved_reason, f.created_at \
     FROM document_risk_flags f JOIN documents d ON d.id = f.document_id JOIN users u ON u.id = d.owner_id";

fn decode(row: &sqlx::any::AnyRow) -> Result<FlagRow, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let corrupt = |what: &str| sqlx::Error::Decode(format!("risk flag {id}: {what}").into());
    let severity: String = row.try_get(7)?;
    let status: String = row.try_get(17)?;
    Ok(FlagRow {
        document_id: row.try_get(1)?,
        document_title: row.try_get(2)?,
        document_status: row.try_get(3)?,
        owner_id: row.try_get(4)?,
        owner_name: row.try_get(5)?,
        category: row.try_get(6)?,
        severity: parse_severity(&severity).ok_or_else(|| corrupt("severity"))?,
        clause_text: row.try_get(8)?,
        clause_sha256: row.try_get(9)?,
        page: row.try_get(10)?,
        char_start: row.try_get(11)?,
        char_end: row.try_get(12)?,
        rects_json: row.try_get(13)?,
        explanation: row.try_get(14)?,
        engine: row.try_get(15)?,
        engine_version: row.try_get(16)?,
        status: FlagStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        reviewed_by: row.try_get(18)?,
        reviewed_at: row.try_get(19)?,
        review_reason: row.try_get(20)?,
        escalated_to: row.try_get(21)?,
        resolved_at: row.try_get(22)?,
        resolved_reason: row.try_get(23)?,
        created_at: row.try_get(24)?,
        id,
    })
}

pub fn parse_severity(text: &str) -> Option<Severity> {
    [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|s| s.as_str() == text)
}

/// Whether the same clause (category and span) is already flagged on the document.
pub async fn clause_flagged(conn: &mut AnyConnection, f: &FlagRow) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM document_risk_flags \
         WHERE document_id = $1 AND category = $2 AND char_start = $3 AND char_end = $4",
    )
    .bind(&f.document_id)
    .bind(&f.category)
    .bind(f.char_start)
    .bind(f.char_end)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

pub async fn insert_flag(conn: &mut AnyConnection, f: &FlagRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO document_risk_flags (id, document_id, category, severity, clause_text, clause_sha256, page, \
         char_start, char_end, rects_json, explanation, engine, engine_version, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&f.id)
    .bind(&f.document_id)
    .bind(&f.category)
    .bind(f.severity.as_str())
    .bind(&f.clause_text)
    .bind(&f.clause_sha256)
    .bind(f.page)
    .bind(f.char_start)
    .bind(f.char_end)
    .bind(&f.rects_json)
    .bind(&f.explanation)
    .bind(&f.engine)
    .bind(&f.engine_version)
    .bind(f.status.as_str())
    .bind(f.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a scan (once per document and engine version; a second record is ignored).
pub async fn record_scan(pool: &AnyPool, s: &ScanRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO document_risk_scans (document_id, engine, engine_version, state, contract_type, missing_json, \
         flags, scanned_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (document_id, engine_version) DO NOTHING",
    )
    .bind(&s.document_id)
    .bind(&s.engine)
    .bind(&s.engine_version)
    .bind(&s.state)
    .bind(&s.contract_type)
    .bind(&s.missing_json)
    .bind(s.flags)
    .bind(s.scanned_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn scanned(pool: &AnyPool, document_id: &str, version: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM document_risk_scans WHERE document_id = $1 AND engine_version = $2")
            .bind(document_id)
            .bind(version)
            .fetch_one(pool)
            .await?;
    Ok(n > 0)
}

/// The latest scan of a document, by any engine version.
pub async fn latest_scan(pool: &AnyPool, document_id: &str) -> Result<Option<ScanRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT document_id, engine, engine_version, state, contract_type, missing_json, flags, scanned_at \
         FROM document_risk_scans WHERE document_id = $1 ORDER BY scanned_at DESC, engine_version DESC LIMIT 1",
    )
    .bind(document_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(ScanRow {
            document_id: r.try_get(0)?,
            engine: r.try_get(1)?,
            engine_version: r.try_get(2)?,
            state: r.try_get(3)?,
            contract_type: r.try_get(4)?,
            missing_json: r.try_get(5)?,
            flags: r.try_get(6)?,
            scanned_at: r.try_get(7)?,
        })
    })
    .transpose()
}

/// Documents in progress (drafts and sent ones, with a file) that `version` has not scanned.
pub async fn unscanned(pool: &AnyPool, version: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT d.id FROM documents d WHERE d.status IN ('draft', 'sent') AND d.blob_key IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM document_risk_scans s WHERE s.document_id = d.id AND s.engine_version = $1) \
         ORDER BY d.created_at",
    )
    .bind(version)
    .fetch_all(pool)
    .await
}

/// Completed or expired documents that still have live flags.
pub async fn finished_with_live_flags(pool: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT d.id FROM documents d JOIN document_risk_flags f ON f.document_id = d.id \
         WHERE d.status IN ('completed', 'expired') AND f.status IN ('open', 'acknowledged', 'escalated') \
         ORDER BY d.id",
    )
    .fetch_all(pool)
    .await
}

pub async fn flag(pool: &AnyPool, id: &str) -> Result<Option<FlagRow>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} WHERE f.id = $1")).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(decode).transpose()
}

/// A document's flags in the order they appear in its text.
pub async fn flags_of(pool: &AnyPool, document_id: &str) -> Result<Vec<FlagRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} WHERE f.document_id = $1 ORDER BY f.char_start, f.category"))
        .bind(document_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// Flags across documents, most severe and newest first.
pub async fn list(pool: &AnyPool, filter: &FlagFilter) -> Result<Vec<FlagRow>, sqlx::Error> {
    let mut conditions = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut next = 1;
    if let Some(s) = filter.severity {
        conditions.push(format!("f.severity = ${next}"));
        texts.push(s.as_str().to_owned());
        next += 1;
    }
    if let Some(c) = &filter.category {
        conditions.push(format!("f.category = ${next}"));
        texts.push(c.clone());
        next += 1;
    }
    if let Some(s) = filter.status {
        conditions.push(format!("f.status = ${next}"));
        texts.push(s.as_str().to_owned());
        next += 1;
    }
    let owner_at = next;
    if filter.owner.is_some() {
        conditions.push(format!("d.owner_id = ${owner_at}"));
        next += 1;
    }
    let limit_at = next;
    let filter_sql = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let sql = format!(
        "SELECT {COLUMNS}{filter_sql} ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 \
         WHEN 'medium' THEN 2 ELSE 3 END, f.created_at DESC, f.id LIMIT ${limit_at}"
    );
    let mut query = sqlx::query(&sql);
    for t in &texts {
        query = query.bind(t);
    }
    if let Some(owner) = filter.owner {
        query = query.bind(owner);
    }
    let rows = query.bind(filter.limit.clamp(1, 500)).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
}

/// Open flags by severity (of one owner's documents, or everyone's).
pub async fn open_counts(pool: &AnyPool, owner: Option<i64>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let base = "SELECT f.severity, COUNT(*) FROM document_risk_flags f JOIN documents d ON d.id = f.document_id \
                WHERE f.status = 'open'";
    let rows: Vec<(String, i64)> = match owner {
        Some(owner) => {
            sqlx::query_as(&format!("{base} AND d.owner_id = $1 GROUP BY f.severity"))
                .bind(owner)
                .fetch_all(pool)
                .await?
        }
        None => sqlx::query_as(&format!("{base} GROUP BY f.severity")).fetch_all(pool).await?,
    };
    Ok(rows)
}

/// Applies a review if the flag is still in the status it was decided on.
pub async fn review(conn: &mut AnyConnection, r: &Review) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE document_risk_flags SET status = $1, reviewed_by = $2, reviewed_at = $3, \
         review_reason = COALESCE($4, review_reason), escalated_to = COALESCE($5, escalated_to) \
         WHERE id = $6 AND status = $7",
    )
    .bind(r.next.as_str())
    .bind(r.reviewer)
    .bind(r.at)
    .bind(&r.reason)
    .bind(r.escalated_to)
    .bind(&r.flag_id)
    .bind(r.previous.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Resolves a flag if it is still in `previous`.
pub async fn resolve(
    conn: &mut AnyConnection,
    id: &str,
    previous: FlagStatus,
    next: FlagStatus,
    reason: &str,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE document_risk_flags SET status = $1, resolved_at = $2, resolved_reason = $3 \
         WHERE id = $4 AND status = $5",
    )
    .bind(next.as_str())
    .bind(at)
    .bind(reason)
    .bind(id)
    .bind(previous.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
