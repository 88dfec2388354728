//! The marks completion draws onto a document, each rendered by krilla as one page of its own
//! size: a signature or initials image, a line of text, a check mark, or a QR code.
//! `pdf_update` turns each page into a form XObject and draws it where it belongs.
//!
//! A stamp is drawn upright in its own box, which has the field's size *as displayed* (its
//! sides swapped on a page turned a quarter), so it looks on paper as the signer saw it.

use crate::markdown::fonts::{Face, FontSet};
use crate::markdown::pdf::{draw_text, fill};
use crate::markdown::theme::Rgb;
use krilla::geom::{PathBuilder, Rect, Size, Transform};
use krilla::image::Image;
use krilla::page::PageSettings;
use krilla::paint::{LineCap, LineJoin, Stroke};
use krilla::{Data, Document, SerializeSettings};

/// The ink of everything a signer put on the page: the signature pad's colour.
pub const INK: Rgb = Rgb(0x1a, 0x2b, 0x6d);

/// What one stamp shows.
#[derive(Debug, Clone)]
pub enum Mark<'a> {
    /// A PNG (with transparency), scaled to fit and centred.
    Image(&'a [u8]),
    /// One line of text, left-aligned and vertically centred, shrunk to fit.
    Text(&'a str),
    /// A tick.
    Check,
    /// A QR code of this text, filling the box (quiet zone included).
    Qr(&'a str),
}

#[derive(Debug, Clone)]
pub struct Stamp<'a> {
    /// Width and height in points.
    pub width: f32,
    pub height: f32,
    pub mark: Mark<'a>,
}

/// Renders the stamps as a PDF, one page each, in order.
pub fn render(stamps: &[Stamp<'_>]) -> Result<Vec<u8>, String> {
    let fonts = FontSet::get()?;
    let settings = SerializeSettings { enable_tagging: false, ..SerializeSettings::default() };
    let mut document = Document::new_with(settings);
    // One decoded image per distinct PNG, so krilla writes each image once however often it is
    // drawn.
    let mut images: Vec<(*const u8, Image)> = Vec::new();
    for (index, stamp) in stamps.iter().enumerate() {
        let size = PageSettings::from_wh(stamp.width, stamp.height)
            .ok_or_else(|| format!("stamp {index}: invalid size {}x{}", stamp.width, stamp.height))?;
        let mut page = document.start_page_with(size);
        let mut surface = page.surface();
        match &stamp.mark {
            Mark::Image(png) => {
                let image = match images.iter().find(|(at, _)| *at == png.as_ptr()) {
                    Some((_, image)) => image.clone(),
                    None => {
                        let image = Image::from_png(Data::from(png.to_vec()), true)
                            .map_err(|e| format!("stamp {index}: unreadable PNG: {e}"))?;
                        images.push((png.as_ptr(), image.clone()));
                        image
                    }
                };
                let (iw, ih) = image.size();
                let (w, h) = fit(iw as f32, ih as f32, stamp.width, stamp.height);
                surface.push_transform(&Transform::from_translate((stamp.width - w) / 2.0, (stamp.height - h) / 2.0));
                let size = Size::from_wh(w, h).ok_or_else(|| format!("stamp {index}: empty image"))?;
                surface.draw_image(image, size);
                surface.pop();
            }
            Mark::Text(text) => {
                let (size, baseline) = text_fit(fonts, text, stamp.width, stamp.height);
                draw_text(&mut surface, fonts, (pad(stamp.height), baseline), FACE, size, INK, text);
            }
            Mark::Check => draw_check(&mut surface, stamp.width, stamp.height),
            Mark::Qr(text) => draw_qr(&mut surface, text, stamp.width.min(stamp.height))?,
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| format!("writing the stamps failed: {e:?}"))
}

/// The face filled-in text is set in: DejaVu Sans covers Latin, Greek and Cyrillic.
const FACE: Face = Face::Fallback;

/// Inner margin of a text field: a little air, less in small boxes.
fn pad(height: f32) -> f32 {
    (height * 0.15).clamp(1.0, 4.0)
}

/// The largest size `iw × ih` takes inside `w × h` without distortion.
fn fit(iw: f32, ih: f32, w: f32, h: f32) -> (f32, f32) {
    let scale = (w / iw).min(h / ih);
    (iw * scale, ih * scale)
}

/// Font size and baseline for one line of `text` in a `w × h` box: at most 12 pt and 65% of the
/// height, smaller when the text is too wide, centred vertically on its ascent and descent.
fn text_fit(fonts: &FontSet, text: &str, w: f32, h: f32) -> (f32, f32) {
    let em = fonts.measure(text, FACE).max(0.01);
    let room = (w - 2.0 * pad(h)).max(1.0);
    let size = (h * 0.65).min(12.0).min(room / em).max(1.0);
    let (ascent, descent) = fonts.vertical_metrics(FACE);
    let baseline = (h + (ascent - descent) * size) / 2.0;
    (size, baseline)
}

fn draw_check(surface: &mut krilla::surface::Surface<'_>, w: f32, h: f32) {
    let side = w.min(h);
    let (x, y) = ((w - side) / 2.0, (h - side) / 2.0);
    let mut path = PathBuilder::new();
    path.move_to(x + side * 0.2, y + side * 0.55);
    path.line_to(x + side * 0.42, y + side * 0.78);
    path.line_to(x + side * 0.82, y + side * 0.22);
    let Some(path) = path.finish() else { return };
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        paint: krilla::color::rgb::Color::new(INK.0, INK.1, INK.2).into(),
        width: (side * 0.12).max(0.8),
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    }));
    surface.draw_path(&path);
}

/// Draws `text` as a QR code (error correction M) in a `side`-point square, quiet zone of four
/// modules included; black modules only, so the page shows through the rest.
fn draw_qr(surface: &mut krilla::surface::Surface<'_>, text: &str, side: f32) -> Result<(), String> {
    let code = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
        .map_err(|_| "the verification link is too long for a QR code".to_owned())?;
    let n = code.size();
    let module = side / (n + 8) as f32;
    let mut path = PathBuilder::new();
    for y in 0..n {
        for x in 0..n {
            if code.get_module(x, y)
                && let Some(rect) = Rect::from_xywh((x + 4) as f32 * module, (y + 4) as f32 * module, module, module)
            {
                path.push_rect(rect);
            }
        }
    }
    if let Some(path) = path.finish() {
        surface.set_stroke(None);
        surface.set_fill(Some(fill(Rgb(0, 0, 0))));
        surface.draw_path(&path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_keeps_its_proportions() {
        assert_eq!(fit(200.0, 50.0, 100.0, 50.0), (100.0, 25.0));
        assert_eq!(fit(50.0, 100.0, 100.0, 50.0), (25.0, 50.0));
    }

    #[test]
    fn long_text_shrinks_to_fit_its_box() {
        let fonts = FontSet::get().expect("fonts");
        let (short, _) = text_fit(fonts, "Ada", 200.0, 20.0);
        assert_eq!(short, 12.0f32.min(20.0 * 0.65));
        let long = "A rather long answer typed into a narrow box";
        let (size, _) = text_fit(fonts, long, 80.0, 20.0);
        assert!(fonts.measure(long, FACE) * size <= 80.0 - 2.0 * pad(20.0) + 0.01, "{size}");
    }

    #[test]
    fn every_kind_of_stamp_renders_one_page_of_its_size() {
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
            .expect("png");
        let pdf = render(&[
            Stamp { width: 180.0, height: 48.0, mark: Mark::Image(&png) },
            Stamp { width: 110.0, height: 22.0, mark: Mark::Text("Zoë Łukasz — 2026-11-22") },
            Stamp { width: 14.0, height: 14.0, mark: Mark::Check },
            Stamp { width: 64.0, height: 64.0, mark: Mark::Qr("https://sign.example/verify#d=abc") },
        ])
        .expect("rendered");
        let doc = lopdf::Document::load_mem(&pdf).expect("a PDF");
        let pages = doc.get_pages();
        assert_eq!(pages.len(), 4);
        let first = doc.get_dictionary(pages[&1]).expect("page");
        let media = first.get(b"MediaBox").and_then(lopdf::Object::as_array).expect("box");
        let w = media[2].as_float().expect("w");
        assert!((w - 180.0).abs() < 0.01, "{media:?}");
    }
}
