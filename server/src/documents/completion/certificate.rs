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
    /// The signature they adopted (a PNG), shown beside their row.
    pub signature_png: Option<Vec<u8>>,
    /// What they were asked to do (an approver's `signed_at` is when they approved).
    pub role: attesta_core::ceremony::ParticipantRole,
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
    markdown::render_with_images(&text(certificate), &options, &images(certificate))
}

/// Largest box a signature is shown in beside its row, in points.
const SIGNATURE_BOX: (f32, f32) = (96.0, 30.0);

/// The key of a recipient's signature image in the certificate's Markdown.
fn signature_key(r: &RecipientLine) -> String {
    format!("signature-{}", r.position)
}

/// Each signer's signature, sized to fit [`SIGNATURE_BOX`] with its proportions. A PNG whose
/// size cannot be read is left out (the row then says so) rather than failing the seal.
pub fn images(c: &Certificate<'_>) -> markdown::Images {
    c.recipients
        .iter()
        .filter_map(|r| {
            let png = r.signature_png.as_ref()?;
            let (w, h) = png_size(png)?;
            let (bw, bh) = SIGNATURE_BOX;
            let scale = (bw / w).min(bh / h);
            Some((signature_key(r), markdown::InlineImage { png: png.clone(), width: w * scale, height: h * scale }))
        })
        .collect()
}

/// Width and height from a PNG's header (IHDR), when it is a PNG.
fn png_size(png: &[u8]) -> Option<(f32, f32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(png[20..24].try_into().ok()?);
    (w > 0 && h > 0).then_some((w as f32, h as f32))
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
    let _ = writeln!(md, "| # | Name | Email | Identified by | Signed (UTC) | Signature |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let shown = images(c);
    for r in c.recipients {
        let signature = if shown.contains_key(&signature_key(r)) {
            format!("![Signature of {}](attesta-image:{})", escape(&r.name), signature_key(r))
        } else {
            "–".to_owned()
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            r.position,
            cell(&r.name),
            cell(&r.email),
            if r.role.must_act() { identified_by(p, &r.id) } else { "In copy (no action asked)" },
            match (r.signed_at, r.role) {
                (Some(at), attesta_core::ceremony::ParticipantRole::Approver) => {
                    format!("approved {}", attesta_app::format::time(at))
                }
                (Some(at), attesta_core::ceremony::ParticipantRole::Acknowledger) => {
                    format!("acknowledged reading {}", attesta_app::format::time(at))
                }
                (Some(at), _) => attesta_app::format::time(at),
                (None, attesta_core::ceremony::ParticipantRole::Cc) => "receives a copy".to_owned(),
                (None, attesta_core::ceremony::ParticipantRole::Approver) => "not approved".to_owned(),
                (None, attesta_core::ceremony::ParticipantRole::Acknowledger) => "not acknowledged".to_owned(),
                (None, attesta_core::ceremony::ParticipantRole::Signer) => "not signed".to_owned(),
            },
            signature
        );
    }

    let _ = writeln!(md, "\n## Events\n");
    let _ = writeln!(
        md,
        "Every event of this document, in order. Each names the SHA-256 of the file at that moment \
         and its own hash, which covers the previous event's hash: no event can be changed, \
         removed or reordered without breaking every hash after it.\n"
    );
    let groups = repeats(&p.events);
    if groups.iter().any(|g| g.len() > 1) {
        let _ = writeln!(
            md,
            "Repeated views and downloads by the same person are summarised here in one entry \
             each: how many times, the first and the last, and their event numbers. Every one of \
             them, with its own hashes, is in the attached evidence package.\n"
        );
    }
    for group in &groups {
        match group.as_slice() {
            [one] => event(&mut md, one),
            [first, .., last] => summary(&mut md, group, first, last),
            [] => {}
        }
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

/// Events that record only that someone looked: repeats of these by one actor are summarised.
const REPEATABLE: [&str; 3] = ["document.viewed", "document.downloaded", "recipient.viewed"];

/// The events in order, each a group of one, except that every repeat of a [`REPEATABLE`] event
/// by the same actor joins the group of its first occurrence (which keeps that place).
fn repeats(events: &[PackagedEvent]) -> Vec<Vec<&PackagedEvent>> {
    let mut groups: Vec<Vec<&PackagedEvent>> = Vec::new();
    let mut first_of: std::collections::HashMap<(String, String, String), usize> = std::collections::HashMap::new();
    for e in events {
        let r = &e.record;
        let kind = r.event_type().as_str();
        if REPEATABLE.contains(&kind) {
            let actor = r.actor();
            let by = actor.id.as_ref().map(|id| id.as_str().to_owned()).unwrap_or_default();
            let key = (kind.to_owned(), actor.kind.as_str().to_owned(), by);
            if let Some(&at) = first_of.get(&key) {
                groups[at].push(e);
                continue;
            }
            first_of.insert(key, groups.len());
        }
        groups.push(vec![e]);
    }
    groups
}

/// Sequence numbers as runs: `3, 5, 8–11`.
fn runs(numbers: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        parts.push(if end == start { start.to_string() } else { format!("{start}–{end}") });
        i += 1;
    }
    parts.join(", ")
}

/// One entry for repeats of the same event by the same actor.
fn summary(md: &mut String, group: &[&PackagedEvent], first: &PackagedEvent, last: &PackagedEvent) {
    let r = &first.record;
    let seqs: Vec<u64> = group.iter().map(|e| e.record.seq()).collect();
    let _ = writeln!(
        md,
        "**{}. {} {} times** (`{}`), first {}, last {}\\",
        r.seq(),
        escape(&super::super::event_label(r.event_type().as_str())),
        group.len(),
        r.event_type().as_str(),
        attesta_app::format::time(r.time().as_micros()),
        attesta_app::format::time(last.record.time().as_micros())
    );
    let _ = writeln!(md, "By: {}\\", escape(&actor(first)));
    let mut seen = std::collections::BTreeSet::new();
    let addresses: Vec<&str> = group
        .iter()
        .filter_map(|e| e.personal.as_ref()?.ip.as_ref().map(|t| t.as_str()))
        .filter(|ip| seen.insert(*ip))
        .collect();
    if !addresses.is_empty() {
        let _ = writeln!(md, "IP addresses: {}\\", escape(&addresses.join(", ")));
    }
    let _ = writeln!(md, "Events: {} (each listed in the attached evidence package)\n", runs(&seqs));
}

/// Who acted, as people read it.
fn actor(e: &PackagedEvent) -> String {
    let kind = e.record.actor().kind.as_str();
    match e.personal.as_ref() {
        _ if kind == "system" => "Attesta (system)".to_owned(),
        Some(p) => match (&p.name, &p.email) {
            (Some(n), Some(m)) => format!("{} <{}> ({kind})", n.as_str(), m.as_str()),
            (Some(n), None) => format!("{} ({kind})", n.as_str()),
            (None, Some(m)) => format!("{} ({kind})", m.as_str()),
            (None, None) => kind.to_owned(),
        },
        None => format!("{kind} (personal data purged)"),
    }
}

fn event(md: &mut String, e: &PackagedEvent) {
    let r = &e.record;
    let actor = actor(e);
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
    use crate::evidence::{Append, EvidenceLog};
    use attesta_core::Timestamp;
    use attesta_core::evidence::{
        Actor, ActorId, ActorKind, Details, DocumentId, EventId, EventType, KeyName, LogSigner, NewEvent, Sha256, Text,
    };
    use serde_json::json;

    /// A signature-like PNG, `w` × `h`, ink on transparent.
    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut rgba = vec![0u8; (w * h * 4) as usize];
        for x in 0..w {
            let y = (h / 2 + (f64::from(x) / 9.0).sin().mul_add(f64::from(h) / 4.0, 0.0) as u32).min(h - 1);
            let i = ((y * w + x) * 4) as usize;
            rgba[i..i + 4].copy_from_slice(&[0x1a, 0x2b, 0x6d, 0xff]);
        }
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, w, h);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.write_header().expect("png").write_image_data(&rgba).expect("png");
        }
        out
    }

    /// A completed chain in which the sender looked at the document eight times and downloaded
    /// it twice, and the signer opened their link three times.
    async fn package(dir: &std::path::Path) -> EvidencePackage {
        let url = format!("sqlite://{}", dir.join("cert.db").display());
        let pool = crate::store::db::connect(&url, 2).await.expect("db");
        let log = EvidenceLog::start(
            pool,
            LogSigner::from_seed(KeyName::parse("cert.test/log").expect("name"), &[7; 32]),
            std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(1)),
        );
        let doc = DocumentId::parse("cert-doc").expect("id");
        let ada = attesta_core::evidence::PersonalData {
            name: Some(Text::new("Ada Lovelace").expect("text")),
            email: Some(Text::new("ada@example.com").expect("text")),
            ip: Some(Text::new("198.51.100.4").expect("text")),
            ..attesta_core::evidence::PersonalData::none()
        };
        let bob = attesta_core::evidence::PersonalData {
            name: Some(Text::new("Bob Builder").expect("text")),
            email: Some(Text::new("bob@example.com").expect("text")),
            ..attesta_core::evidence::PersonalData::none()
        };
        let user = Actor { kind: ActorKind::User, id: Some(ActorId::parse("user:1").expect("id")) };
        let signer = Actor { kind: ActorKind::Recipient, id: Some(ActorId::parse("recipient:r1").expect("id")) };
        use EventType as T;
        let script = [
            (T::DocumentUploaded, &user, json!({ "size": 1 })),
            (T::DocumentViewed, &user, json!({})),
            (T::DocumentViewed, &user, json!({})),
            (T::DocumentSent, &user, json!({})),
            (T::DocumentViewed, &user, json!({})),
            (T::RecipientViewed, &signer, json!({ "recipient": "r1" })),
            (T::DocumentViewed, &user, json!({})),
            (T::RecipientViewed, &signer, json!({ "recipient": "r1" })),
            (T::DocumentDownloaded, &user, json!({})),
            (T::RecipientViewed, &signer, json!({ "recipient": "r1" })),
            (T::RecipientSigned, &signer, json!({ "recipient": "r1" })),
            (T::DocumentViewed, &user, json!({})),
            (T::DocumentViewed, &user, json!({})),
            (T::DocumentDownloaded, &user, json!({})),
            (T::DocumentViewed, &user, json!({})),
            (T::DocumentViewed, &user, json!({})),
            (T::DocumentCompleted, &user, json!({})),
        ];
        for (n, (kind, actor, details)) in script.into_iter().enumerate() {
            let event = NewEvent {
                event_id: EventId::parse(&format!("evt-{n}")).expect("id"),
                event_type: kind,
                time: Timestamp::from_micros(1_795_329_000_000_000 + n as i64 * 60_000_000),
                actor: actor.clone(),
                file_sha256: Sha256::digest(b"%PDF-1.7 certificate"),
                client_file_sha256: None,
                details: Details::from_value(details).expect("details"),
            };
            let person = if actor.kind == ActorKind::User { ada.clone() } else { bob.clone() };
            log.append(Append::event(doc.clone(), event, person)).await.expect("append");
        }
        log.package(&doc, 1_795_329_100_000_000).await.expect("package")
    }

    fn recipients(signature: Option<Vec<u8>>) -> Vec<RecipientLine> {
        vec![RecipientLine {
            id: "r1".into(),
            position: 1,
            name: "Bob Builder".into(),
            email: "bob@example.com".into(),
            signed_at: Some(1_795_329_600_000_000),
            signature_png: signature,
            role: attesta_core::ceremony::ParticipantRole::Signer,
        }]
    }

    fn certificate<'a>(package: &'a EvidencePackage, recipients: &'a [RecipientLine]) -> Certificate<'a> {
        Certificate {
            title: "Lease",
            package,
            recipients,
            original_size: 1000,
            flattened_size: 2000,
            seal_subject: "cert.test document seal",
            verify_url: "https://cert.test/verify",
            page_size: markdown::PageSize::A4,
        }
    }

    /// Image XObjects in a PDF, as (width, height), leaving out soft masks.
    fn images_in(pdf: &[u8]) -> Vec<(i64, i64)> {
        let doc = lopdf::Document::load_mem(pdf).expect("pdf");
        let masks: Vec<lopdf::ObjectId> = doc
            .objects
            .values()
            .filter_map(|o| o.as_stream().ok()?.dict.get(b"SMask").ok()?.as_reference().ok())
            .collect();
        doc.objects
            .iter()
            .filter(|(id, _)| !masks.contains(id))
            .filter_map(|(_, o)| {
                let dict = &o.as_stream().ok()?.dict;
                (dict.get(b"Subtype").ok()?.as_name().ok()? == b"Image").then(|| {
                    (
                        dict.get(b"Width").and_then(lopdf::Object::as_i64).unwrap_or(0),
                        dict.get(b"Height").and_then(lopdf::Object::as_i64).unwrap_or(0),
                    )
                })
            })
            .collect()
    }

    /// The text pdftotext reads, words separated by single spaces; `None` without poppler.
    fn pdftotext(pdf: &[u8]) -> Option<String> {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("c.pdf");
        std::fs::write(&path, pdf).expect("write");
        match std::process::Command::new("pdftotext").arg(&path).arg("-").output() {
            Ok(out) if out.status.success() => {
                Some(String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" "))
            }
            Ok(out) => panic!("pdftotext failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) if std::env::var_os("CI").is_some() => panic!("pdftotext is required (apt install poppler-utils)"),
            Err(_) => {
                eprintln!("pdftotext not installed (apt install poppler-utils): certificate text not checked");
                None
            }
        }
    }

    #[tokio::test]
    async fn repeated_views_are_summarised_and_every_event_is_still_accounted_for() {
        let dir = tempfile::tempdir().expect("dir");
        let package = package(dir.path()).await;
        assert_eq!(package.events.len(), 17, "the package keeps every event");
        let people = recipients(None);
        let c = certificate(&package, &people);
        let md = text(&c);
        // One entry each for the sender's 8 views and 2 downloads and the signer's 3 link opens.
        assert!(md.contains("**1. Viewed 8 times**"), "{md}");
        assert!(md.contains("Events: 1–2, 4, 6, 11–12, 14–15"), "{md}");
        assert!(md.contains("**8. Downloaded 2 times**"), "{md}");
        assert!(md.contains("**5. Recipient viewed 3 times**"), "{md}");
        assert!(md.contains("are summarised here"), "the page says repeats are summarised: {md}");
        // The other events are listed one by one, in order.
        for seq in [0, 3, 10, 16] {
            assert!(md.contains(&format!("**{seq}. ")), "event {seq} is listed: {md}");
        }
        assert_eq!(md.matches("Event SHA-256").count(), 4, "only single events print their hash: {md}");
        let rendered = render(&c).expect("renders");
        if let Some(words) = pdftotext(&rendered.pdf) {
            assert!(words.contains("Viewed 8 times"), "{words}");
            let at = |minutes: i64| attesta_app::format::time(1_795_329_000_000_000 + minutes * 60_000_000);
            assert!(words.contains(&format!("first {}, last {}", at(1), at(15))), "{words}");
            assert!(words.contains("attached evidence package"), "{words}");
        }
    }

    #[tokio::test]
    async fn each_signature_is_shown_beside_its_row() {
        let dir = tempfile::tempdir().expect("dir");
        let package = package(dir.path()).await;
        let signature = png(600, 160);
        let signed = recipients(Some(signature.clone()));
        let with = render(&certificate(&package, &signed)).expect("renders");
        assert_eq!(images_in(&with.pdf), vec![(600, 160)], "the signature is drawn once");
        if let Some(words) = pdftotext(&with.pdf) {
            assert!(words.contains("Signature"), "the table has a signature column: {words}");
        }
        let unsigned = recipients(None);
        let without = render(&certificate(&package, &unsigned)).expect("renders");
        assert!(images_in(&without.pdf).is_empty());
        // Not a PNG: the row goes without, the certificate is still made.
        let odd = recipients(Some(b"not a png".to_vec()));
        let odd = render(&certificate(&package, &odd)).expect("renders");
        assert!(images_in(&odd.pdf).is_empty());
    }

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
