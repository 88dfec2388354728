//! Completion benchmark: prints figures, asserts nothing. Run with
//! `cargo bench -p attesta-server --bench completion` (`-- --quick` for fewer rounds).
//!
//! For a ~20-page and a ~100-page real contract from the CUAD corpus (`../shared/corpus/cuad/pdf`
//! or `ATTESTA_CUAD_DIR`; skipped with a message when absent), the three steps of completion on
//! bytes in memory: drawing the fields in (two signers: a signature each on the last page,
//! initials on every page, a date and a text field), the certificate pages with the evidence
//! package attached (a 40-event chain), and the PAdES seal with the instance's key; next to
//! pyHanko signing the same certified PDF with the same key and certificate, in the same run, warm
//! and in process (`support/pyhanko_sign.py`: Python's start-up is not counted).

#[path = "support/pyhanko.rs"]
mod pyhanko;

use attesta_core::Timestamp;
use attesta_core::evidence::{
    Actor, ActorId, ActorKind, Details, DocumentId, EventId, EventType, KeyName, LogSigner, NewEvent, PersonalData,
    Sha256, Text,
};
use attesta_core::signing::Draft;
use attesta_server::documents::completion::certificate::{Certificate, RecipientLine};
use attesta_server::documents::completion::render;
use attesta_server::evidence::{Append, EvidenceLog};
use attesta_server::seal::identity::{self, SealIdentity, SealNames};
use attesta_server::seal::pades::sign_pdf;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus() -> Option<Vec<PathBuf>> {
    let dir = std::env::var_os("ATTESTA_CUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/cuad/pdf"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    paths.sort();
    Some(paths)
}

/// The contract whose page count is closest to `pages`.
fn closest(paths: &[PathBuf], pages: usize) -> Option<(PathBuf, Vec<u8>, usize)> {
    paths
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let n = attesta_core::documents::pdf::page_geometry(&bytes).ok()?.len();
            Some((p.clone(), bytes, n))
        })
        .min_by_key(|(_, _, n)| n.abs_diff(pages))
}

/// A signature-like PNG: ink strokes on transparency, 600 × 160.
fn signature_png() -> Vec<u8> {
    let (w, h) = (600u32, 160u32);
    let mut rgba = vec![0u8; (w * h * 4) as usize];
    for x in 0..w {
        let y = (80.0 + 50.0 * ((x as f64) / 37.0).sin()) as u32;
        for dy in 0..4 {
            let i = (((y + dy).min(h - 1) * w + x) * 4) as usize;
            rgba[i..i + 4].copy_from_slice(&[0x1a, 0x2b, 0x6d, 0xff]);
        }
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

fn layout(pages: usize) -> Draft {
    let mut fields = Vec::new();
    for page in 1..=pages {
        fields.push(json!({ "id": format!("i{page}"), "recipient": "r1", "kind": "initials", "page": page,
            "rect": { "x": 500.0, "y": 30.0, "width": 64.0, "height": 40.0 }, "required": true, "label": "" }));
    }
    for (i, r) in ["r1", "r2"].iter().enumerate() {
        let y = 120.0 + 70.0 * i as f64;
        fields.push(json!({ "id": format!("s{i}"), "recipient": r, "kind": "signature", "page": pages,
            "rect": { "x": 72.0, "y": y, "width": 180.0, "height": 48.0 }, "required": true, "label": "" }));
        fields.push(json!({ "id": format!("d{i}"), "recipient": r, "kind": "date_signed", "page": pages,
            "rect": { "x": 300.0, "y": y, "width": 110.0, "height": 22.0 }, "required": true, "label": "" }));
    }
    fields.push(json!({ "id": "t0", "recipient": "r1", "kind": "text", "page": pages,
        "rect": { "x": 72.0, "y": 260.0, "width": 220.0, "height": 24.0 }, "required": true, "label": "Title" }));
    serde_json::from_value(json!({
        "order": "sequential",
        "recipients": [
            { "id": "r1", "name": "Bob Builder", "email": "bob@example.com", "otp": false },
            { "id": "r2", "name": "Carol Danvers", "email": "carol@example.com", "otp": true }
        ],
        "fields": fields,
        "message": ""
    }))
    .expect("layout")
}

fn values(layout: &Draft) -> BTreeMap<String, serde_json::Value> {
    layout
        .fields
        .iter()
        .map(|f| {
            let v = match f.kind.as_str() {
                "date_signed" => json!({ "type": "date", "value": "2026-11-22" }),
                "text" => json!({ "type": "text", "value": "Chief Executive Officer" }),
                _ => json!({ "type": "applied" }),
            };
            (f.id.to_string(), v)
        })
        .collect()
}

/// A realistic chain of 40 events for one document, and its package.
async fn package(dir: &Path) -> attesta_core::evidence::EvidencePackage {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let pool = attesta_server::store::db::connect(&url, 4).await.expect("db");
    let log = EvidenceLog::start(
        pool,
        LogSigner::from_seed(KeyName::parse("bench.test/log").expect("name"), &[9; 32]),
        std::sync::Arc::new(attesta_core::entropy::SeededEntropy::new(1)),
    );
    let doc = DocumentId::parse("bench-doc").expect("id");
    let person = PersonalData {
        name: Some(Text::new("Bob Builder").expect("text")),
        email: Some(Text::new("bob@example.com").expect("text")),
        ip: Some(Text::new("203.0.113.7").expect("text")),
        user_agent: Some(
            Text::new("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15").expect("t"),
        ),
        ..PersonalData::none()
    };
    for n in 0..40u64 {
        let kind = match n {
            0 => EventType::DocumentUploaded,
            1 => EventType::DocumentSent,
            39 => EventType::DocumentCompleted,
            _ => EventType::RecipientViewed,
        };
        let details = if n == 0 { json!({ "size": 1 }) } else { json!({ "recipient": "r1" }) };
        let event = NewEvent {
            event_id: EventId::parse(&format!("evt-{n}")).expect("id"),
            event_type: kind,
            time: Timestamp::from_micros(1_795_329_000_000_000 + n as i64 * 1_000_000),
            actor: Actor { kind: ActorKind::Recipient, id: Some(ActorId::parse("recipient:r1").expect("id")) },
            file_sha256: Sha256::digest(b"%PDF-1.7 bench"),
            client_file_sha256: None,
            details: Details::from_value(details).expect("details"),
        };
        log.append(Append::event(doc.clone(), event, person.clone())).await.expect("append");
    }
    log.package(&doc, 1_795_329_100_000_000).await.expect("package")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 9 };
    let Some(paths) = corpus() else {
        println!("SKIPPED: the CUAD corpus is not there (set ATTESTA_CUAD_DIR or put it in ../shared/corpus/cuad/pdf)");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let package = runtime.block_on(package(dir.path()));
    let png = signature_png();
    let mut images = BTreeMap::new();
    for r in ["r1", "r2"] {
        images.insert((r.to_owned(), "signature".to_owned()), png.clone());
        images.insert((r.to_owned(), "initials".to_owned()), png.clone());
    }
    let recipients = vec![
        RecipientLine {
            id: "r1".into(),
            position: 1,
            name: "Bob Builder".into(),
            email: "bob@example.com".into(),
            signed_at: Some(1),
            signature_png: Some(png.clone()),
            role: attesta_core::ceremony::ParticipantRole::Signer,
        },
        RecipientLine {
            id: "r2".into(),
            position: 2,
            name: "Carol Danvers".into(),
            email: "carol@example.com".into(),
            signed_at: Some(2),
            signature_png: Some(png.clone()),
            role: attesta_core::ceremony::ParticipantRole::Signer,
        },
    ];
    let now = Timestamp::from_micros(1_795_329_000_000_000);
    let names = SealNames { instance: "bench.example.test".to_owned(), organization: "Bench".to_owned() };
    let made = identity::generate(&names, now, &attesta_core::entropy::SeededEntropy::new(1)).expect("identity");
    let identity =
        SealIdentity::from_pem(format!("{}{}", made.seal_pem, made.ca_pem).as_bytes(), &made.seal_key_pem).expect("id");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let (key, cert, ca) =
        (write("seal.key", &made.seal_key_pem), write("seal.pem", &made.seal_pem), write("ca.pem", &made.ca_pem));
    let pyhanko = pyhanko::python();
    println!("## Completion ({rounds} rounds each, median; 40-event chain; two signers; seal B-B, ECDSA P-256)");
    for target in [20usize, 100] {
        let Some((path, original, n)) = closest(&paths, target) else { continue };
        let pages = attesta_core::documents::pdf::page_geometry(&original).expect("pages");
        let layout = layout(n);
        let values = values(&layout);
        let (mut flatten, mut certify) = (Vec::new(), Vec::new());
        let mut certified = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let signed = render::signed_pdf(&original, &layout, &pages, &values, &images).expect("signed");
            flatten.push(t.elapsed());
            let cert = Certificate {
                title: "Bench agreement",
                package: &package,
                recipients: &recipients,
                original_size: original.len() as u64,
                flattened_size: signed.len() as u64,
                seal_subject: "Attesta bench document seal",
                verify_url: "https://sign.example.com/verify#document=bench-doc",
                page_size: render::paper_like(pages.last()),
            };
            let t = Instant::now();
            let (bytes, _) =
                render::certified_pdf(&signed, &cert, n, "attesta-evidence-bench-doc.json", "D:20261122000000Z")
                    .expect("certified");
            certify.push(t.elapsed());
            certified = bytes;
        }
        let mut seal = Vec::new();
        let mut sealed = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            sealed = sign_pdf(&certified, &identity, now).expect("sealed");
            seal.push(t.elapsed());
        }
        let report = attesta_core::seal::verify_seal(&sealed, &[identity.anchors()[0].der.clone()]);
        assert!(report.is_valid(), "{report}");
        let (f, c, s) = (median(flatten), median(certify), median(seal));
        println!(
            "  {} ({n} pages, {} KB): flatten {:.1} ms ({} fields), certificate + attach {:.1} ms, seal {:.1} ms; \
             total {:.1} ms; sealed file {} KB",
            path.file_name().and_then(|s| s.to_str()).unwrap_or("?"),
            original.len() / 1024,
            ms(f),
            layout.fields.len(),
            ms(c),
            ms(s),
            ms(f + c + s),
            sealed.len() / 1024
        );
        if let Some(pyhanko) = &pyhanko {
            let input = dir.path().join("certified.pdf");
            std::fs::write(&input, &certified).expect("write");
            let times = pyhanko::sign_in_process(pyhanko, &key, &cert, &ca, rounds, &input);
            let theirs = median(times);
            println!(
                "    pyHanko signing the same certified PDF, same key: {:.1} ms, {:.0}x our seal step",
                ms(theirs),
                theirs.as_secs_f64() / s.as_secs_f64()
            );
        }
    }
    if pyhanko.is_none() {
        println!("  (pyHanko is not installed: scripts/bootstrap.sh makes its venv)");
    }
}
