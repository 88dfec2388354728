//! Documents: what an uploaded contract is, the rules for accepting one, and how lists of them
//! are asked for.
//!
//! A document is identified by the same [`DocumentId`] its evidence chain uses, so the audit
//! trail of a document is found by its id alone, even after the document itself is deleted.

#[cfg(feature = "pdf")]
pub mod pdf;
#[cfg(feature = "pdf")]
pub mod repair;

pub use crate::evidence::DocumentId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Event types this module records, as they appear in the evidence.
pub mod events {
    pub const UPLOADED: &str = "document.uploaded";
    pub const VIEWED: &str = "document.viewed";
    pub const DOWNLOADED: &str = "document.downloaded";
    pub const DELETED: &str = "document.deleted";
    pub const RENAMED: &str = "document.renamed";
}

/// Where a document is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentStatus {
    /// Uploaded, not sent: the owner may still change or delete it.
    Draft,
    /// Out for signature.
    Sent,
    /// Every signer signed.
    Completed,
    /// A signer declined.
    Declined,
    /// The sender withdrew it.
    Voided,
    /// Its deadline passed unsigned.
    Expired,
    /// A draft its owner deleted: the file is gone, the evidence stays.
    Deleted,
}

impl DocumentStatus {
    pub const ALL: [DocumentStatus; 7] = [
        DocumentStatus::Draft,
        DocumentStatus::Sent,
        DocumentStatus::Completed,
        DocumentStatus::Declined,
        DocumentStatus::Voided,
        DocumentStatus::Expired,
        DocumentStatus::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Draft => "draft",
            DocumentStatus::Sent => "sent",
            DocumentStatus::Completed => "completed",
            DocumentStatus::Declined => "declined",
            DocumentStatus::Voided => "voided",
            DocumentStatus::Expired => "expired",
            DocumentStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// The word people read.
    pub fn label(self) -> &'static str {
        match self {
            DocumentStatus::Draft => "Draft",
            DocumentStatus::Sent => "Out for signature",
            DocumentStatus::Completed => "Completed",
            DocumentStatus::Declined => "Declined",
            DocumentStatus::Voided => "Voided",
            DocumentStatus::Expired => "Expired",
            DocumentStatus::Deleted => "Deleted",
        }
    }

    /// Only a draft has never left its owner's hands, so only a draft may be deleted.
    pub fn can_delete(self) -> bool {
        self == DocumentStatus::Draft
    }

    /// Only a draft may be renamed: once sent, its title is in the signing emails, on the
    /// signers' pages and in the certificate of completion, and must stay what they saw.
    pub fn can_rename(self) -> bool {
        self == DocumentStatus::Draft
    }
}

impl fmt::Display for DocumentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// A document's title: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    #[error("a title cannot be empty")]
    Empty,
    #[error("a title is at most {MAX_TITLE_CHARS} characters")]
    TooLong,
}

impl Title {
    pub fn parse(input: &str) -> Result<Self, TitleError> {
        let cleaned: String =
            input.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned();
        let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Err(TitleError::Empty);
        }
        if collapsed.chars().count() > MAX_TITLE_CHARS {
            return Err(TitleError::TooLong);
        }
        Ok(Self(collapsed))
    }

    /// A title from an uploaded file's name: without its directory and extension, with `_` and
    /// `-` runs read as spaces, cut to the maximum length. `None` when nothing readable is left.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let stem = match base.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() && ext.len() <= 8 => stem,
            _ => base,
        };
        let spaced = stem.replace(['_'], " ");
        let cut: String = spaced.chars().take(MAX_TITLE_CHARS).collect();
        Self::parse(&cut).ok()
    }

    /// The title of a document nobody named.
    pub fn untitled() -> Self {
        Self("Untitled document".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Title {
    type Error = TitleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Title> for String {
    fn from(value: Title) -> Self {
        value.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a document cannot take a new title.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    #[error("only drafts can be renamed; this document is {}", .0.label().to_lowercase())]
    NotDraft(DocumentStatus),
    #[error(transparent)]
    Title(#[from] TitleError),
}

/// The rule for renaming a document in `status` to `input`: only a draft, and only to a valid
/// [`Title`] (trimmed, inner whitespace collapsed). The server function and any other caller
/// apply this one rule.
pub fn rename(status: DocumentStatus, input: &str) -> Result<Title, RenameError> {
    if !status.can_rename() {
        return Err(RenameError::NotDraft(status));
    }
    Ok(Title::parse(input)?)
}

/// How a document came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentSource {
    /// A PDF, stored as uploaded.
    Pdf,
    /// Markdown, typeset into a PDF on upload; the PDF is the document.
    Markdown,
}

impl DocumentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentSource::Pdf => "pdf",
            DocumentSource::Markdown => "markdown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pdf" => Some(DocumentSource::Pdf),
            "markdown" => Some(DocumentSource::Markdown),
            _ => None,
        }
    }
}

/// What an upload may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Most pages a PDF may have.
    pub max_pages: u32,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self { max_bytes: 50 * 1024 * 1024, max_pages: 2000 }
    }
}

/// Why an upload was refused. Each carries the message the uploader sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than the {} limit", human_bytes(*limit))]
    TooLarge { limit: u64 },
    #[error("this is not a PDF (or a Markdown .md file); only those can be uploaded")]
    UnsupportedType,
    #[error("the PDF is encrypted or password-protected; remove the protection and upload it again")]
    Encrypted,
    #[error("the PDF is damaged and cannot be read: {0}")]
    Corrupt(String),
    #[error("the PDF has no pages, so there is nothing to sign")]
    NoPages,
    #[error("the PDF is damaged and could not be repaired: {0}")]
    Unrepairable(String),
    #[error("the PDF could not be prepared for signing and sealing: {0}")]
    Unsealable(String),
    #[error("the server is busy checking other uploads; try again in a moment")]
    Busy,
    #[error("the PDF has {pages} pages; at most {limit} are accepted")]
    TooManyPages { pages: u32, limit: u32 },
    #[error("the file changed on the way: your browser computed SHA-256 {client}, the server received {server}")]
    HashMismatch { client: String, server: String },
    #[error("the Markdown could not be typeset: {0}")]
    Markdown(String),
}

impl Refusal {
    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty_file",
            Refusal::TooLarge { .. } => "too_large",
            Refusal::UnsupportedType => "unsupported_type",
            Refusal::Encrypted => "encrypted_pdf",
            Refusal::Corrupt(_) => "corrupt_pdf",
            Refusal::NoPages => "no_pages",
            Refusal::Unrepairable(_) => "unrepairable_pdf",
            Refusal::Unsealable(_) => "unsealable_pdf",
            Refusal::Busy => "busy",
            Refusal::TooManyPages { .. } => "too_many_pages",
            Refusal::HashMismatch { .. } => "hash_mismatch",
            Refusal::Markdown(_) => "markdown_error",
        }
    }
}

/// `52428800` → `50 MB` (binary multiples, the way file sizes are usually meant).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value.fract() < 0.05 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// What kind of file the first bytes and the declared name/type say an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Pdf,
    Markdown,
    Unsupported,
}

/// Decides the kind of an upload. A PDF is recognised by its header (within the first 1024
/// bytes, as readers allow), whatever it is called; Markdown only when declared as such (by a
/// `.md`/`.markdown` name or a `text/markdown` type), since any text could be read as Markdown.
pub fn sniff(first_bytes: &[u8], file_name: Option<&str>, content_type: Option<&str>) -> Sniffed {
    if has_pdf_header(first_bytes) {
        return Sniffed::Pdf;
    }
    let named_md = file_name
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("md") || ext.eq_ignore_ascii_case("markdown"));
    let typed_md = content_type
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .is_some_and(|t| t.eq_ignore_ascii_case("text/markdown") || t.eq_ignore_ascii_case("text/x-markdown"));
    if named_md || typed_md { Sniffed::Markdown } else { Sniffed::Unsupported }
}

/// Whether `%PDF-` appears within the first 1024 bytes, where PDF readers look for it.
pub fn has_pdf_header(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-")
}

/// How a list of documents is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    NewestFirst,
    OldestFirst,
    TitleAz,
    TitleZa,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::NewestFirst, Sort::OldestFirst, Sort::TitleAz, Sort::TitleZa];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::NewestFirst => "newest",
            Sort::OldestFirst => "oldest",
            Sort::TitleAz => "title",
            Sort::TitleZa => "title_desc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::NewestFirst => "Newest first",
            Sort::OldestFirst => "Oldest first",
            Sort::TitleAz => "Title A–Z",
            Sort::TitleZa => "Title Z–A",
        }
    }
}

/// Most documents on one page of a list.
pub const MAX_PER_PAGE: u32 = 100;
/// Longest search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// One page of a filtered, sorted list of documents, as asked for (for example from a URL's
/// query string). Every field is optional in the request and normalised here, so any URL gives a
/// valid query rather than an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Words that must all appear in the title (case-insensitive).
    pub search: Option<String>,
    pub status: Option<DocumentStatus>,
    /// One of the sender's work lists instead of a status (`status=attention` and so on in a
    /// query string).
    pub worklist: Option<Worklist>,
    pub sort: Sort,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { search: None, status: None, worklist: None, sort: Sort::default(), page: 1, per_page: 25 }
    }
}

/// A list of documents that ask something of the sender, beside the lists by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Worklist {
    /// Out for signature and stalled (`document.stalled`), nothing having ended it since.
    Attention,
    /// Drafts scheduled to be sent (`document.scheduled`), soonest first.
    Scheduled,
    /// Out for signature with a deadline within [`EXPIRING_SOON`], soonest first.
    ExpiringSoon,
    /// Out for signature, and the viewer is a recipient whose turn it is (a live link, not yet
    /// done): what they should act on themselves.
    WaitingForMe,
    /// Out for signature, and not waiting for the viewer: the others have to act.
    WaitingForOthers,
}

/// How close a deadline puts a document on the "Expiring soon" list.
pub const EXPIRING_SOON: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl Worklist {
    pub const ALL: [Worklist; 5] = [
        Worklist::WaitingForMe,
        Worklist::WaitingForOthers,
        Worklist::Attention,
        Worklist::Scheduled,
        Worklist::ExpiringSoon,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Worklist::Attention => "attention",
            Worklist::Scheduled => "scheduled",
            Worklist::ExpiringSoon => "expiring_soon",
            Worklist::WaitingForMe => "waiting_for_me",
            Worklist::WaitingForOthers => "waiting_for_others",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Worklist::Attention => "Needs attention",
            Worklist::Scheduled => "Scheduled",
            Worklist::ExpiringSoon => "Expiring soon",
            Worklist::WaitingForMe => "Waiting for me",
            Worklist::WaitingForOthers => "Waiting for others",
        }
    }
}

impl ListQuery {
    /// The `status` parameter this query was made from (empty: any).
    pub fn status_param(&self) -> &'static str {
        match self.status {
            Some(s) => s.as_str(),
            None => self.worklist.map_or("", Worklist::as_str),
        }
    }

    /// Builds a query from loose text values, ignoring what cannot be understood.
    pub fn from_params(
        search: Option<&str>,
        status: Option<&str>,
        sort: Option<&str>,
        page: Option<&str>,
        per_page: Option<&str>,
    ) -> Self {
        let defaults = Self::default();
        let search = search
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(MAX_SEARCH_CHARS).collect());
        Self {
            search,
            status: status.and_then(DocumentStatus::parse),
            worklist: status.and_then(Worklist::parse),
            sort: sort.and_then(Sort::parse).unwrap_or_default(),
            page: page.and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1),
            per_page: per_page
                .and_then(|p| p.parse().ok())
                .map(|p: u32| p.clamp(1, MAX_PER_PAGE))
                .unwrap_or(defaults.per_page),
        }
    }

    /// The search split into words, each a substring every matching title contains.
    pub fn search_terms(&self) -> Vec<&str> {
        self.search.as_deref().map(|s| s.split_whitespace().collect()).unwrap_or_default()
    }

    /// Rows to skip for this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }

    /// The number of pages `total` matching documents fill (at least 1).
    pub fn page_count(&self, total: u64) -> u32 {
        let pages = total.div_ceil(u64::from(self.per_page.max(1))).max(1);
        u32::try_from(pages).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_drafts_are_renamed_and_only_to_a_valid_title() {
        assert_eq!(rename(DocumentStatus::Draft, "  Lease\n 2027 ").map(String::from), Ok("Lease 2027".to_owned()));
        assert_eq!(rename(DocumentStatus::Draft, " \t "), Err(RenameError::Title(TitleError::Empty)));
        assert_eq!(
            rename(DocumentStatus::Draft, &"x".repeat(MAX_TITLE_CHARS + 1)),
            Err(RenameError::Title(TitleError::TooLong))
        );
        for status in DocumentStatus::ALL.into_iter().filter(|s| *s != DocumentStatus::Draft) {
            assert_eq!(rename(status, "Lease"), Err(RenameError::NotDraft(status)));
        }
        assert_eq!(
            rename(DocumentStatus::Sent, "Lease").err().map(|e| e.to_string()).as_deref(),
            Some("only drafts can be renamed; this document is out for signature")
        );
    }

    #[test]
    fn titles_are_trimmed_collapsed_and_bounded() {
        assert_eq!(
            Title::parse("  Master\tServices\nAgreement ").map(String::from),
            Ok("Master Services Agreement".into())
        );
        assert_eq!(Title::parse(" \u{7} "), Err(TitleError::Empty));
        assert_eq!(Title::parse(&"x".repeat(201)), Err(TitleError::TooLong));
        assert!(Title::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn titles_come_from_file_names() {
        let t = |n: &str| Title::from_file_name(n).map(String::from);
        assert_eq!(t("C:\\contracts\\NDA_Acme_2026.pdf"), Some("NDA Acme 2026".into()));
        assert_eq!(t("/tmp/Lease.v2.PDF"), Some("Lease.v2".into()));
        assert_eq!(t(".pdf"), Some(".pdf".into()));
        assert_eq!(t("___.pdf"), None);
    }

    #[test]
    fn pdfs_are_recognised_by_content_markdown_by_declaration() {
        assert_eq!(sniff(b"%PDF-1.7\n...", Some("contract.txt"), None), Sniffed::Pdf);
        assert_eq!(sniff(b"\xEF\xBB\xBF junk %PDF-1.4", None, None), Sniffed::Pdf);
        assert_eq!(sniff(b"# Terms", Some("terms.md"), None), Sniffed::Markdown);
        assert_eq!(sniff(b"# Terms", None, Some("text/markdown; charset=utf-8")), Sniffed::Markdown);
        assert_eq!(sniff(b"# Terms", Some("terms.txt"), Some("text/plain")), Sniffed::Unsupported);
        assert_eq!(sniff(b"PK\x03\x04", Some("contract.docx"), None), Sniffed::Unsupported);
        let late = [vec![b' '; 1030], b"%PDF-1.4".to_vec()].concat();
        assert_eq!(sniff(&late, None, None), Sniffed::Unsupported);
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(52_428_800), "50 MB");
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(12), "12 bytes");
    }

    #[test]
    fn list_queries_normalise_anything() {
        let q =
            ListQuery::from_params(Some("  master   services "), Some("draft"), Some("title"), Some("3"), Some("500"));
        assert_eq!(q.search.as_deref(), Some("master services"));
        assert_eq!(q.search_terms(), vec!["master", "services"]);
        assert_eq!(q.status, Some(DocumentStatus::Draft));
        assert_eq!(q.sort, Sort::TitleAz);
        assert_eq!((q.page, q.per_page), (3, MAX_PER_PAGE));
        assert_eq!(q.offset(), 200);
        let q = ListQuery::from_params(Some("   "), Some("bogus"), Some("?"), Some("0"), Some("x"));
        assert_eq!(q, ListQuery::default());
        assert_eq!(q.page_count(0), 1);
        assert_eq!(q.page_count(26), 2);
    }

    #[test]
    fn statuses_round_trip_and_only_drafts_may_be_deleted() {
        for s in DocumentStatus::ALL {
            assert_eq!(DocumentStatus::parse(s.as_str()), Some(s));
            assert_eq!(s.can_delete(), s == DocumentStatus::Draft);
        }
        for s in Sort::ALL {
            assert_eq!(Sort::parse(s.as_str()), Some(s));
        }
    }

    proptest! {
        #[test]
        fn any_params_give_a_valid_query(search in ".{0,300}", status in ".{0,10}", page in ".{0,12}", per in ".{0,12}") {
            let q = ListQuery::from_params(Some(&search), Some(&status), None, Some(&page), Some(&per));
            prop_assert!(q.page >= 1);
            prop_assert!((1..=MAX_PER_PAGE).contains(&q.per_page));
            prop_assert!(q.search.as_ref().is_none_or(|s| !s.is_empty() && s.chars().count() <= MAX_SEARCH_CHARS));
        }

        #[test]
        fn parsed_titles_are_stable(input in ".{0,300}") {
            if let Ok(t) = Title::parse(&input) {
                prop_assert_eq!(Title::parse(t.as_str()), Ok(t.clone()));
                prop_assert!(t.as_str().chars().count() <= MAX_TITLE_CHARS);
            }
        }
    }
}
