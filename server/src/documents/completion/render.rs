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
    let qr = stamps::render(&[Stamp {
        width: QR_SIDE as f32,
        height: QR_SIDE as f32,
        mark: Mark::Qr(certificate.verify_url),
    }])?;
    let (width, _) = certificate.page_size.dimensions();
    let placements = (0..rendered.page_count as usize)
        .map(|i| Placement {
            stamp: 0,
            page: page_count + i,
            // Bottom right, in the margin under the text, beside the page number.
            matrix: [1.0, 0.0, 0.0, 1.0, f64::from(width) - 72.0 - QR_SIDE + 8.0, 6.0],
        })
        .collect();
    let json = certificate.package.to_json();
    let update = Update {
        stamps: Some(&qr),
        placements,
        append: Some(&rendered.pdf),
        attachment: Some(Attachment {
            name: package_name,
            description: "Attesta evidence package: every event, its log inclusion proof and the signed checkpoint",
            mime: "application/json",
            bytes: json.as_bytes(),
            modified: modified.to_owned(),
        }),
    };
    let bytes = pdf_update::apply(signed, &update).map_err(|e| e.to_string())?;
    Ok((bytes, rendered.page_count))
}

/// The paper the certificate is set on: Letter when the document's last page is Letter-sized
/// (8.5 × 11 in, either way up), else A4.
pub fn paper_like(page: Option<&PageGeometry>) -> PageSize {
    let Some(page) = page else { return PageSize::A4 };
    let (w, h) = page.display_size();
    let (short, long) = (w.min(h), w.max(h));
    if (short - 612.0).abs() < 12.0 && (long - 792.0).abs() < 12.0 { PageSize::Letter } else { PageSize::A4 }
}
