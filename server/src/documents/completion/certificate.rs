//! The certificate of completion: pages appended to the signed document that a court or an
//! auditor can read on paper, without any tool. They name the document and its file hashes,
//! every recipient and how they were identified, every event of the evidence chain in order
//! (time, actor, action, address, device, place, file hash, event hash), the checkpoint of the
//! transparency log that covers the completion, and where to verify it all.
//!
//! The pages are written as Markdown and typeset by our own renderer (`crate::markdown`), so
//! long chains flow over as many pages as they need. Everything that comes from people (titles,
//! names, user agents) is escaped, so it prints as text and never as formatting.

use crate::markdown::{self, MarkdownError, Options, PageSize};
use attesta_core::evidence::{
    EvidencePackage, GeoSource, Geolocation, PackagedEvent, PersonalData, VerifierKey, verify_checkpoint,
};
use std::fmt::Write as _;

/// One recipient as the certificate lists them.
#[derive(Debug, Clone)]
pub struct RecipientLine {
    pub id: String,
    pub position: i64,
    pub name: String,
    pub email: String,
    /// When they signed (UTC microseconds).
    pub signed_at: Option<i64>,
}

/// Everything the certificate shows.
pub struct Certificate<'a> {
    pub title: &'a str,
    /// Events up to and including `document.completed`, with a checkpoint that covers them.
    pub package: &'a EvidencePackage,
    pub recipients: &'a [RecipientLine],
    /// Size of the file as uploaded, and of the document with the signers' marks drawn on it.
    pub original_size: u64,
    pub flattened_size: u64,
    /// Subject of the certificate that seals the file.
    pub seal_subject: &'a str,
    /// This instance's `/verify` page, with the document in its fragment.
    pub verify_url: &'a str,
    pub page_size: PageSize,
}

/// The typeset pages.
pub fn render(certificate: &Certificate<'_>) -> Result<markdown::Rendered, MarkdownError> {
    let options = Options {
        page_size: certificate.page_size,
        title: Some("Certificate of completion".to_owned()),
        ..Options::default()
    };
    markdown::render(&text(certificate), &options)
}

/// The certificate as Markdown.
pub fn text(c: &Certificate<'_>) -> String {
    let p = c.package;
    let mut md = String::new();
    let completed = p.events.iter().rev().find(|e| e.record.event_type().as_str() == "document.completed");
    let _ = writeln!(md, "# Certificate of completion\n");
    let _ = writeln!(md, "**Document:** {}\\", escape(c.title));
    let _ = writeln!(md, "**Document ID:** `{}`\\", p.document.id);
    if let Some(done) = completed {
        let _ = writeln!(md, "**Completed:** {}\\", attesta_app::format::time(done.record.time().as_micros()));
    }
    let _ = writeln!(md, "**Original file SHA-256** ({} bytes, as uploaded):\\", c.original_size);
    let _ = writeln!(md, "`{}`\\", p.document.original_sha256);
    if let Some(done) = completed {
        let _ = writeln!(md, "**Signed file SHA-256** ({} bytes, with every signature drawn in):\\", c.flattened_size);
        let _ = writeln!(md, "`{}`", done.record.file_sha256());
    }
    let _ = writeln!(
        md,
        "\nThis file holds the signed document, then these pages, then the evidence package as an \
         attachment ({}), sealed by {}. The original file is the first {} bytes of this file and \
         the signed document the first {} bytes: cut there, their SHA-256 must be the values above.\n",
        escape(&package_file_name(p.document.id.as_str())),
        escape(c.seal_subject),
        c.original_size,
        c.flattened_size
    );

    let _ = writeln!(md, "## Recipients\n");
    let _ = writeln!(md, "| # | Name | Email | Identified by | Signed (UTC) |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for r in c.recipients {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.position,
            cell(&r.name),
            cell(&r.email),
            identified_by(p, &r.id),
            r.signed_at.map(attesta_app::format::time).unwrap_or_else(|| "not signed".to_owned())
        );
    }

    let _ = writeln!(md, "\n## Events\n");
    let _ = writeln!(
        md,
        "Every event of this document, in order. Each names the SHA-256 of the file at that moment \
         and its own hash, which covers the previous event's hash: no event can be changed, \
         removed or reordered without breaking every hash after it.\n"
    );
    for e in &p.events {
        event(&mut md, e);
    }

    let _ = writeln!(md, "## Transparency log\n");
    let checkpoint =
        VerifierKey::parse(&p.log.verifier_key).ok().and_then(|key| verify_checkpoint(&p.log.checkpoint, &key).ok());
    match checkpoint {
        Some(checkpoint) => {
            let _ = writeln!(
                md,
                "Every event above is an entry in the log **{}**, whose signed checkpoint below covers its \
                 first {} entries. The log key signs it; the log can never sign a checkpoint that \
                 disagrees with this one without that being provable.\n",
                escape(checkpoint.origin()),
                checkpoint.size()
            );
        }
        None => {
            let _ = writeln!(md, "The signed checkpoint of the log covering every event above:\n");
        }
    }
    let _ = writeln!(md, "```\n{}```\n", p.log.checkpoint);
    let _ = writeln!(md, "Log key: `{}`\n", p.log.verifier_key);

    let _ = writeln!(md, "## Verify\n");
    let _ = writeln!(
        md,
        "Open {} (or scan the code in the corner) and drop this PDF there: your browser checks \
         the seal, every hash of the chain, each event's place in the log and the log's signature, \
         and the file never leaves your device. On a command line: `attesta verify --pdf <file>`.",
        escape(c.verify_url)
    );
    md
}

/// The name of the evidence package attached to the sealed PDF (and mailed beside it).
pub fn package_file_name(document_id: &str) -> String {
    format!("attesta-evidence-{document_id}.json")
}

/// How a recipient proved who they were: the emailed link always; the emailed code when they
/// entered one.
fn identified_by(p: &EvidencePackage, recipient: &str) -> &'static str {
    let verified = p.events.iter().any(|e| {
        e.record.event_type().as_str() == "recipient.otp_verified"
            && e.record.details().as_map().get("recipient").and_then(|v| v.as_str()) == Some(recipient)
    });
    if verified { "Email link and one-time code sent by email" } else { "Email link" }
}

fn event(md: &mut String, e: &PackagedEvent) {
    let r = &e.record;
    let kind = r.actor().kind.as_str();
    let actor = match e.personal.as_ref() {
        _ if kind == "system" => "Attesta (system)".to_owned(),
        Some(p) => match (&p.name, &p.email) {
            (Some(n), Some(m)) => format!("{} <{}> ({kind})", n.as_str(), m.as_str()),
            (Some(n), None) => format!("{} ({kind})", n.as_str()),
            (None, Some(m)) => format!("{} ({kind})", m.as_str()),
            (None, None) => kind.to_owned(),
        },
        None => format!("{kind} (personal data purged)"),
    };
    let _ = writeln!(
        md,
        "**{}. {}** (`{}`), {}\\",
        r.seq(),
        escape(&super::super::event_label(r.event_type().as_str())),
        r.event_type().as_str(),
        attesta_app::format::time(r.time().as_micros())
    );
    let _ = writeln!(md, "By: {}\\", escape(&actor));
    if let Some(p) = e.personal.as_ref().filter(|p| **p != PersonalData::none()) {
        let ip = p.ip.as_ref().map(|t| t.as_str()).unwrap_or("none recorded");
        let place = p.geo.as_ref().map(place).unwrap_or_else(|| "unknown".to_owned());
        let _ = writeln!(md, "IP address: {} · Location: {}\\", escape(ip), escape(&place));
        if let Some(ua) = p.user_agent.as_ref() {
            let _ = writeln!(md, "Device: {}\\", escape(ua.as_str()));
        }
    }
    if let Some(reason) = r.details().as_map().get("reason").and_then(|v| v.as_str()) {
        let _ = writeln!(md, "Reason: {}\\", escape(reason));
    }
    let _ = writeln!(md, "File SHA-256: `{}`\\", r.file_sha256());
    let _ = writeln!(md, "Event SHA-256: `{}` (log entry {})\n", e.hash, e.log_index);
}

/// A place as words, with the browser's coordinates when it gave them.
fn place(geo: &Geolocation) -> String {
    let words: Vec<&str> = [geo.city.as_ref(), geo.region.as_ref(), geo.country.as_ref()]
        .into_iter()
        .flatten()
        .map(|t| t.as_str())
        .collect();
    let words = if words.is_empty() { "unknown".to_owned() } else { words.join(", ") };
    match (geo.source, geo.latitude, geo.longitude) {
        (GeoSource::Browser, Some(lat), Some(lon)) => {
            format!("{words} (from the browser: {:.5}, {:.5})", f64::from(lat), f64::from(lon))
        }
        (GeoSource::Browser, _, _) => format!("{words} (from the browser)"),
        (GeoSource::Ip, _, _) => format!("{words} (from the IP address)"),
    }
}

/// Text that prints as itself in Markdown: every ASCII punctuation character backslash-escaped
/// (CommonMark allows it for all of them), line breaks and other controls as spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else if c.is_ascii_punctuation() {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// [`escape`] for a table cell, which also must not hold a `|` (escaped above) or be empty.
fn cell(text: &str) -> String {
    let escaped = escape(text);
    if escaped.trim().is_empty() { "–".to_owned() } else { escaped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_type_prints_as_text() {
        assert_eq!(
            escape("# [x](javascript:1) *b* `c` | d\nnext"),
            "\\# \\[x\\]\\(javascript\\:1\\) \\*b\\* \\`c\\` \\| d next"
        );
        let md = format!("A {}", escape("**not bold** <b>"));
        let doc = crate::markdown::render(&md, &Options::default()).expect("renders");
        assert!(doc.page_count == 1);
    }
}
