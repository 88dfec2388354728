//! The documents and blobs tables.

use crate::store::db::Sql;
use attesta_core::documents::{DocumentSource, DocumentStatus, EXPIRING_SOON, ListQuery, Sort, Worklist};
use attesta_core::evidence::Sha256;
use attesta_core::time::Timestamp;
use sqlx::AnyConnection;
use sqlx::AnyPool;

/// A document as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub id: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub title: String,
    pub status: DocumentStatus,
    pub source: DocumentSource,
    pub original_name: Option<String>,
    pub page_count: u32,
    pub size: u64,
    pub sha256: Sha256,
    pub blob_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the retention policy deleted its files (`document_files`), UTC µs; the hashes stay.
    pub files_purged_at: Option<i64>,
    /// When a draft is scheduled to be sent (UTC µs) and the time zone it was picked in.
    pub scheduled: Option<(i64, String)>,
    /// The deadline of a document out for signature, UTC µs.
    pub expires_at: Option<i64>,
}

/// An encrypted file's row: where it is and the wrapped key that opens it.
#[derive(Debug, Clone)]
pub struct BlobRow {
    pub key: String,
    pub sha256: Sha256,
    pub size: u64,
    pub stored_size: u64,
    pub wrapped_key: String,
    pub master_key_id: String,
    pub content_type: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct DocumentRecord {
    id: String,
    owner_id: i64,
    owner_name: String,
    title: String,
    status: String,
    source: String,
    original_name: Option<String>,
    page_count: i64,
    size: i64,
    sha256: Vec<u8>,
    blob_key: Option<String>,
    created_at: i64,
    updated_at: i64,
    files_purged_at: Option<i64>,
    scheduled_at: Option<i64>,
    scheduled_zone: Option<String>,
    expires_at: Option<i64>,
}

impl DocumentRecord {
    fn decode(self) -> Result<StoredDocument, sqlx::Error> {
        let corrupt = |what: &str| sqlx::Error::Decode(format!("document {}: {what}", self.id).into());
        Ok(StoredDocument {
            status: DocumentStatus::parse(&self.status).ok_or_else(|| corrupt("unknown status"))?,
            source: DocumentSource::parse(&self.source).ok_or_else(|| corrupt("unknown source"))?,
            sha256: Sha256::from_slice(&self.sha256).map_err(|_| corrupt("hash is not 32 bytes"))?,
            page_count: u32::try_from(self.page_count).map_err(|_| corrupt("page count"))?,
            size: u64::try_from(self.size).map_err(|_| corrupt("size"))?,
            id: self.id,
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            title: self.title,
            original_name: self.original_name,
            blob_key: self.blob_key,
            created_at: self.created_at,
            updated_at: self.updated_at,
            files_purged_at: self.files_purged_at,
            scheduled: self.scheduled_at.map(|at| (at, self.scheduled_zone.unwrap_or_else(|| "UTC".to_owned()))),
            expires_at: self.expires_at,
        })
    }
}

const SELECT: &str = "SELECT d.id, d.owner_id, u.name AS owner_name, d.title, d.status, d.source, d.original_name, \
     d.page_count, d.size, d.sha256, d.blob_key, d.created_at, d.updated_at, \
     d.files_purged_at, d.scheduled_at, d.scheduled_zone, d.expires_at FROM documents d JOIN users u ON u.id = d.owner_id";

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub async fn insert_blob(conn: &mut AnyConnection, blob: &BlobRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO blobs (key, sha256, size, stored_size, wrapped_key, master_key_id, content_type, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&blob.key)
    .bind(blob.sha256.as_bytes().as_slice())
    .bind(to_i64(blob.size))
    .bind(to_i64(blob.stored_size))
    .bind(&blob.wrapped_key)
    .bind(&blob.master_key_id)
    .bind(&blob.content_type)
    .bind(blob.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_document(conn: &mut AnyConnection, d: &StoredDocument) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO documents (id, owner_id, title, title_folded, status, source, original_name, page_count, size, \
         sha256, blob_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&d.id)
    .bind(d.owner_id)
    .bind(&d.title)
    .bind(fold(&d.title))
    .bind(d.status.as_str())
    .bind(d.source.as_str())
    .bind(&d.original_name)
    .bind(i64::from(d.page_count))
    .bind(to_i64(d.size))
    .bind(d.sha256.as_bytes().as_slice())
    .bind(&d.blob_key)
    .bind(d.created_at)
    .bind(d.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Lowercased for case-insensitive search (SQLite's own `lower` only knows ASCII).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<StoredDocument>, sqlx::Error> {
    let record: Option<DocumentRecord> =
        sqlx::query_as(&format!("{SELECT} WHERE d.id = $1")).bind(id).fetch_optional(pool).await?;
    record.map(DocumentRecord::decode).transpose()
}

/// Marks a draft deleted and forgets its file; false when it is not (or no longer) a draft.
pub async fn mark_deleted(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE documents SET status = 'deleted', blob_key = NULL, updated_at = $2 WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets a finished document's files (their keys; the hashes stay) and its signers' images, as
/// the retention purge does; false when they were purged already. The keys' rows go next.
pub async fn mark_files_purged(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE documents SET files_purged_at = $2, blob_key = NULL, signed_blob_key = NULL, sealed_blob_key = NULL, \
         updated_at = $2 WHERE id = $1 AND files_purged_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE recipients SET signature_key = NULL, initials_key = NULL \
         WHERE document_id = $1 AND (signature_key IS NOT NULL OR initials_key IS NOT NULL)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// The keys of a document's signers' signature and initials images.
pub async fn image_keys(pool: &AnyPool, id: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT signature_key, initials_key FROM recipients WHERE document_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().flat_map(|(s, i)| [s, i]).flatten().collect())
}

/// Gives a draft a new title: false when it is no longer a draft.
pub async fn rename(conn: &mut AnyConnection, id: &str, title: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE documents SET title = $2, updated_at = $3 WHERE id = $1 AND status = 'draft'")
        .bind(id)
        .bind(title)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_blob_row(conn: &mut AnyConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM blobs WHERE key = $1").bind(key).execute(conn).await?;
    Ok(())
}

/// A `blobs` row as read: key, hash, size, stored size, wrapped key, master key id, type, time.
type BlobRecord = (String, Vec<u8>, i64, i64, String, String, String, i64);

pub async fn blob(pool: &AnyPool, key: &str) -> Result<Option<BlobRow>, sqlx::Error> {
    let row: Option<BlobRecord> = sqlx::query_as(
        "SELECT key, sha256, size, stored_size, wrapped_key, master_key_id, content_type, created_at \
         FROM blobs WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    row.map(|(key, sha, size, stored, wrapped, master, content_type, created_at)| {
        Ok(BlobRow {
            sha256: Sha256::from_slice(&sha).map_err(|_| sqlx::Error::Decode("blob hash is not 32 bytes".into()))?,
            key,
            size: u64::try_from(size).unwrap_or(0),
            stored_size: u64::try_from(stored).unwrap_or(0),
            wrapped_key: wrapped,
            master_key_id: master,
            content_type,
            created_at,
        })
    })
    .transpose()
}

/// Whose documents a list covers.
pub enum Scope {
    All,
    OwnedBy(i64),
}

/// One page of documents matching `query` at `now` (the "expiring soon" list counts from it),
/// and how many match in all.
pub async fn list(
    pool: &AnyPool,
    scope: &Scope,
    query: &ListQuery,
    view: ListView<'_>,
) -> Result<(Vec<StoredDocument>, u64), sqlx::Error> {
    let mut count = Sql::new("SELECT COUNT(*) FROM documents d WHERE 1 = 1");
    filters(&mut count, scope, query, view);
    let total: i64 = count.query_scalar().fetch_one(pool).await?;

    let mut select = Sql::new(SELECT);
    select.push(" WHERE 1 = 1");
    filters(&mut select, scope, query, view);
    // A time-ordered work list reads soonest first; the other lists as the sender sorts them.
    select.push(match (query.worklist, query.sort) {
        (Some(Worklist::Scheduled), _) => " ORDER BY d.scheduled_at ASC, d.id ASC",
        (Some(Worklist::ExpiringSoon), _) => " ORDER BY d.expires_at ASC, d.id ASC",
        (_, sort) => match sort {
            Sort::NewestFirst => " ORDER BY d.created_at DESC, d.id DESC",
            Sort::OldestFirst => " ORDER BY d.created_at ASC, d.id ASC",
            Sort::TitleAz => " ORDER BY d.title_folded ASC, d.id ASC",
            Sort::TitleZa => " ORDER BY d.title_folded DESC, d.id DESC",
        },
    });
    select.push(" LIMIT ").push_bind(i64::from(query.per_page));
    select.push(" OFFSET ").push_bind(to_i64(query.offset()));
    let records: Vec<DocumentRecord> = select.query_as().fetch_all(pool).await?;
    let rows = records.into_iter().map(DocumentRecord::decode).collect::<Result<_, _>>()?;
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}

/// Whether the scope holds any document at all (deleted drafts aside).
pub async fn any(pool: &AnyPool, scope: &Scope) -> Result<bool, sqlx::Error> {
    let mut q = Sql::new("SELECT EXISTS (SELECT 1 FROM documents d WHERE d.status <> 'deleted'");
    if let Scope::OwnedBy(owner) = scope {
        q.push(" AND d.owner_id = ").push_bind(*owner);
    }
    q.push(")");
    let crate::store::db::Flag(any) = q.query_scalar().fetch_one(pool).await?;
    Ok(any)
}

/// Who looks at a list, and when: "expiring soon" counts from `now`, "waiting for me" is about
/// `email` (a recipient address, stored lowercased).
#[derive(Clone, Copy)]
pub struct ListView<'a> {
    pub now: Timestamp,
    pub email: &'a str,
}

fn filters(q: &mut Sql<'_>, scope: &Scope, query: &ListQuery, view: ListView<'_>) {
    let now = view.now;
    if let Scope::OwnedBy(owner) = scope {
        q.push(" AND d.owner_id = ").push_bind(*owner);
    }
    match query.worklist {
        // Stalled and still out: the core recorded `document.stalled` (`stalls`), and nothing
        // has ended it since.
        Some(Worklist::Attention) => {
            q.push(" AND d.stalls > 0 AND d.status = ").push_bind(DocumentStatus::Sent.as_str());
        }
        // A schedule is cleared by the send; a deleted draft keeps its last one.
        Some(Worklist::Scheduled) => {
            q.push(" AND d.scheduled_at IS NOT NULL AND d.status = ").push_bind(DocumentStatus::Draft.as_str());
        }
        // Still out, its deadline not yet passed (the expiry job may lag it) but near.
        Some(Worklist::ExpiringSoon) => {
            q.push(" AND d.status = ").push_bind(DocumentStatus::Sent.as_str());
            q.push(" AND d.expires_at > ").push_bind(now.as_micros());
            q.push(" AND d.expires_at <= ").push_bind(now.saturating_add(EXPIRING_SOON).as_micros());
        }
        // The viewer holds a live link (issued, not yet acted on) on a document still out.
        Some(list @ (Worklist::WaitingForMe | Worklist::WaitingForOthers)) => {
            use attesta_core::signing::ceremony::RecipientStatus;
            q.push(" AND d.status = ").push_bind(DocumentStatus::Sent.as_str());
            q.push(if list == Worklist::WaitingForMe { " AND EXISTS" } else { " AND NOT EXISTS" });
            // Addresses compare without case, as mail servers treat them in practice.
            q.push(" (SELECT 1 FROM recipients r WHERE r.document_id = d.id AND lower(r.email) = ")
                .push_bind(view.email.to_lowercase());
            q.push(" AND r.status IN (").push_bind(RecipientStatus::Sent.as_str());
            q.push(", ").push_bind(RecipientStatus::Viewed.as_str()).push("))");
        }
        None => {}
    }
    match query.status {
        Some(status) => {
            q.push(" AND d.status = ").push_bind(status.as_str());
        }
        // Deleted drafts are listed only when asked for.
        None => {
            q.push(" AND d.status <> 'deleted'");
        }
    }
    for term in query.search_terms() {
        q.push(" AND d.title_folded LIKE ").push_bind(format!("%{}%", escape_like(&fold(term))));
        q.push(" ESCAPE '\\'");
    }
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::escape_like(r"100%_a\b"), r"100\%\_a\\b");
    }
}
