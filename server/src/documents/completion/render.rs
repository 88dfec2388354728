//! The two documents completion makes, as pure functions of bytes (no database, no storage), so
//! the service runs them on a blocking thread and the benchmark runs them alone.

use super::certificate::{self, Certificate};
use super::pdf_update::{self, Attachment, Placement, Update};
use super::stamps::{self, Mark, Stamp};
use crate::markdown::PageSize;
use attesta_core::signing::geometry::{PageGeometry, PdfRect};
use attesta_core::signing::{Draft, FieldKind};
use serde_json::json;
use std::collections::BTreeMap;

/// Side of the QR code in the corner of each certificate page, in points.
const QR_SIDE: f64 = 64.0;

/// The original with every filled field drawn in, as one incremental update. `values` are the
/// stored field values by field id; `images` the PNGs by (recipient id, `signature`|`initials`).
pub fn signed_pdf(
    original: &[u8],
    layout: &Draft,
    pages: &[PageGeometry],
    values: &BTreeMap<String, serde_json::Value>,
    images: &BTreeMap<(String, String), Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let mut stamps = Vec::new();
    let mut placements = Vec::new();
    // The same mark at the same size (initials on every page) is one stamp drawn many times.
    let mut seen: BTreeMap<(String, u64, u64), usize> = BTreeMap::new();
    for field in &layout.fields {
        let Some(value) = values.get(field.id.as_str()) else { continue };
        let index = field.page.saturating_sub(1) as usize;
        let page = pages.get(index).ok_or("a field on a missing page")?;
        let mark = match (field.kind, value.get("type").and_then(|t| t.as_str())) {
            (FieldKind::Signature | FieldKind::Initials, Some("applied")) => {
                let kind = if field.kind == FieldKind::Signature { "signature" } else { "initials" };
                let png = images
                    .get(&(field.recipient.to_string(), kind.to_owned()))
                    .ok_or("an applied signature without its image")?;
                Mark::Image(png)
            }
            (_, Some("text" | "date")) => match value.get("value").and_then(|v| v.as_str()) {
                Some(text) if !text.trim().is_empty() => Mark::Text(text),
                _ => continue,
            },
            (FieldKind::Checkbox, Some("checked")) if value.get("value") == Some(&json!(true)) => Mark::Check,
            _ => continue,
        };
        let rect = PdfRect { x: field.rect.x, y: field.rect.y, width: field.rect.width, height: field.rect.height };
        let (w, h) = page.display_size_of(rect);
        let identity = match &mark {
            Mark::Image(png) => format!("image:{:p}", png.as_ptr()),
            Mark::Text(text) => format!("text:{text}"),
            Mark::Check => "check".to_owned(),
            Mark::Qr(text) => format!("qr:{text}"),
        };
        let key = (identity, (w as f32).to_bits().into(), (h as f32).to_bits().into());
        let stamp = *seen.entry(key).or_insert_with(|| {
            stamps.push(Stamp { width: w as f32, height: h as f32, mark });
            stamps.len() - 1
        });
        placements.push(Placement { stamp, page: index, matrix: page.form_matrix(rect) });
    }
    let stamps_pdf = if stamps.is_empty() { None } else { Some(stamps::render(&stamps)?) };
    let update = Update { stamps: stamps_pdf.as_deref(), placements, ..Update::default() };
    pdf_update::apply(original, &update).map_err(|e| e.to_string())
}

/// The signed document with the certificate pages appended (a QR code to `/verify` in the
/// corner of each) and the evidence package attached. Returns the file and the number of
/// certificate pages. `page_count` is the signed document's.
pub fn certified_pdf(
    signed: &[u8],
    certificate: &Certificate<'_>,
    page_count: usize,
    package_name: &str,
    modified: &str,
) -> Result<(Vec<u8>, u32), String> {
    let rendered = certificate::render(certificate).map_err(|e| e.to_string())?;
    let json = certificate.package.to_json();
    let bytes = attach_certificate(
        signed.to_vec(),
        &rendered.pdf,
        rendered.page_count,
        certificate.page_size,
        page_count,
        certificate.verify_url,
        (package_name, json.as_bytes()),
        modified,
    )?;
    Ok((bytes, rendered.page_count))
}

/// Appends the typeset certificate's pages (a QR code to `verify_url` in the corner of each)
/// and attaches the package, as one incremental update of `signed`.
#[expect(clippy::too_many_arguments, reason = "each is one thing the update is made of")]
fn attach_certificate(
    signed: Vec<u8>,
    certificate_pdf: &[u8],
    certificate_pages: u32,
    page_size: PageSize,
    page_count: usize,
    verify_url: &str,
    (package_name, package): (&str, &[u8]),
    modified: &str,
) -> Result<Vec<u8>, String> {
    let qr = stamps::render(&[Stamp { width: QR_SIDE as f32, height: QR_SIDE as f32, mark: Mark::Qr(verify_url) }])?;
    let (width, _) = page_size.dimensions();
    let placements = (0..certificate_pages as usize)
        .map(|i| Placement {
            stamp: 0,
            page: page_count + i,
            // Bottom right, in the margin under the text, beside the page number.
            matrix: [1.0, 0.0, 0.0, 1.0, f64::from(width) - 72.0 - QR_SIDE + 8.0, 6.0],
        })
        .collect();
    let update = Update {
        stamps: Some(&qr),
        placements,
        append: Some(certificate_pdf),
        attachment: Some(Attachment {
            name: package_name,
            description: "Attesta evidence package: every event, its log inclusion proof and the signed checkpoint",
            mime: "application/json",
            bytes: package,
            modified: modified.to_owned(),
        }),
    };
    pdf_update::apply_owned(signed, &update).map_err(|e| e.to_string())
}

/// Completion's two updates on made-up values, for a file just uploaded: a text mark drawn on
/// every page (the flattening), then a certificate page with its QR code and an attachment.
/// Returns the unsealed result, which the caller seals in a dry run too. This is how an upload
/// proves it can be completed before anyone is asked to sign it.
pub fn rehearse(original: &[u8], pages: &[PageGeometry]) -> Result<Vec<u8>, String> {
    use attesta_core::signing::{DraftField, DraftRecipient, LocalId, SigningOrder};
    let id = |text: &str| LocalId::parse(text).ok_or_else(|| format!("local id {text}"));
    let recipient = id("r1")?;
    let mut fields = Vec::with_capacity(pages.len());
    let mut values = BTreeMap::new();
    for (index, page) in pages.iter().enumerate() {
        let (w, h) = (page.x1 - page.x0, page.y1 - page.y0);
        let rect = PdfRect {
            x: page.x0 + w / 10.0,
            y: page.y0 + h / 10.0,
            width: (w / 4.0).min(120.0),
            height: (h / 20.0).min(18.0),
        };
        let field = id(&format!("f{}", index + 1))?;
        values.insert(field.to_string(), json!({ "type": "text", "value": "Rehearsal" }));
        fields.push(DraftField {
            id: field,
            recipient: recipient.clone(),
            kind: FieldKind::Text,
            page: u32::try_from(index + 1).map_err(|e| e.to_string())?,
            rect,
            required: true,
            label: String::new(),
        });
    }
    let layout = Draft {
        order: SigningOrder::Sequential,
        recipients: vec![DraftRecipient {
            id: recipient,
            name: "Rehearsal".to_owned(),
            email: "rehearsal@example.invalid".to_owned(),
            otp: false,
            role: Default::default(),
        }],
        fields,
        message: String::new(),
    };
    let signed = signed_pdf(original, &layout, pages, &values, &BTreeMap::new())?;
    let page_size = paper_like(pages.last());
    let options = crate::markdown::Options {
        page_size,
        title: Some("Certificate of completion".to_owned()),
        ..crate::markdown::Options::default()
    };
    let certificate = crate::markdown::render("# Certificate of completion\n\nRehearsal at upload.\n", &options)
        .map_err(|e| e.to_string())?;
    attach_certificate(
        signed,
        &certificate.pdf,
        certificate.page_count,
        page_size,
        pages.len(),
        "https://attesta.invalid/verify#document=rehearsal",
        ("evidence.json", b"{}"),
        "D:20260101000000Z",
    )
}

/// The paper the certificate is set on: Letter when the document's last page is Letter-sized
/// (8.5 × 11 in, either way up), else A4.
pub fn paper_like(page: Option<&PageGeometry>) -> PageSize {
    let Some(page) = page else { return PageSize::A4 };
    let (w, h) = page.display_size();
    let (short, long) = (w.min(h), w.max(h));
    if (short - 612.0).abs() < 12.0 && (long - 792.0).abs() < 12.0 { PageSize::Letter } else { PageSize::A4 }
}
