//! Writes laid-out pages to PDF with krilla, which subsets and embeds the fonts.
//!
//! No creation date is written and krilla derives document IDs from the content hash, so the
//! same Markdown always produces byte-identical PDFs.

use krilla::action::{Action, LinkAction};
use krilla::annotation::{Annotation, LinkAnnotation, Target};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, LineCap, Stroke};
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use super::fonts::{Face, FontSet};
use super::layout::{Geometry, Op, Page};
use super::theme::{self, Rgb};

/// Serialises `pages`, adding the "Page N of M" footer to each.
pub fn write(
    pages: &[Page],
    geometry: &Geometry,
    fonts: &FontSet,
    title: Option<&str>,
    images: &super::Images,
) -> Result<Vec<u8>, String> {
    // Each supplied image decoded once; krilla writes it once however often it is drawn.
    let mut decoded = std::collections::BTreeMap::new();
    for (key, image) in images {
        let png = krilla::image::Image::from_png(krilla::Data::from(image.png.clone()), true)
            .map_err(|e| format!("image {key}: {e}"))?;
        decoded.insert(key.as_str(), png);
    }
    // Tagging needs semantic structure we do not produce; leaving it on would only add overhead.
    let settings = SerializeSettings { enable_tagging: false, ..SerializeSettings::default() };
    let mut document = Document::new_with(settings);
    let mut metadata = Metadata::new().creator("Attesta".to_string());
    if let Some(title) = title {
        metadata = metadata.title(title.to_string());
    }
    document.set_metadata(metadata);

    let total = pages.len();
    for (index, page) in pages.iter().enumerate() {
        let footer = footer(fonts, geometry, index + 1, total);
        let size = PageSettings::from_wh(geometry.width, geometry.height)
            .ok_or_else(|| format!("invalid page size {}x{}", geometry.width, geometry.height))?;
        let mut pdf_page = document.start_page_with(size);
        let mut surface = pdf_page.surface();
        for op in page.ops.iter().chain(std::iter::once(&footer)) {
            draw(&mut surface, fonts, op, &decoded);
        }
        surface.finish();
        for op in &page.ops {
            if let Some(annotation) = link_annotation(op) {
                pdf_page.add_annotation(annotation);
            }
        }
        pdf_page.finish();
    }
    document.finish().map_err(|e| format!("PDF serialisation failed: {e:?}"))
}

fn footer(fonts: &FontSet, geometry: &Geometry, number: usize, total: usize) -> Op {
    let text = format!("Page {number} of {total}");
    let width = fonts.measure(&text, Face::Regular) * theme::FOOTER_SIZE;
    Op::Text {
        x: (geometry.width - width) / 2.0,
        y: geometry.height - theme::FOOTER_BASELINE_FROM_BOTTOM,
        face: Face::Regular,
        size: theme::FOOTER_SIZE,
        color: theme::MUTED,
        text,
    }
}

fn color(c: Rgb) -> rgb::Color {
    rgb::Color::new(c.0, c.1, c.2)
}

pub(crate) fn fill(c: Rgb) -> Fill {
    Fill { paint: color(c).into(), opacity: NormalizedF32::ONE, rule: FillRule::NonZero }
}

fn draw(
    surface: &mut Surface<'_>,
    fonts: &FontSet,
    op: &Op,
    images: &std::collections::BTreeMap<&str, krilla::image::Image>,
) {
    match op {
        Op::Text { x, y, face, size, color, text } => draw_text(surface, fonts, (*x, *y), *face, *size, *color, text),
        Op::Fill { x, y, w, h, color } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                return;
            };
            let mut path = PathBuilder::new();
            path.push_rect(rect);
            let Some(path) = path.finish() else { return };
            surface.set_stroke(None);
            surface.set_fill(Some(fill(*color)));
            surface.draw_path(&path);
        }
        Op::Line { x1, y1, x2, y2, width, color: c } => {
            let mut path = PathBuilder::new();
            path.move_to(*x1, *y1);
            path.line_to(*x2, *y2);
            let Some(path) = path.finish() else { return };
            surface.set_fill(None);
            let stroke =
                Stroke { paint: color(*c).into(), width: *width, line_cap: LineCap::Butt, ..Stroke::default() };
            surface.set_stroke(Some(stroke));
            surface.draw_path(&path);
        }
        Op::Image { x, y, w, h, key } => {
            let (Some(image), Some(size)) = (images.get(key.as_str()), krilla::geom::Size::from_wh(*w, *h)) else {
                return;
            };
            surface.push_transform(&krilla::geom::Transform::from_translate(*x, *y));
            surface.draw_image(image.clone(), size);
            surface.pop();
        }
        Op::Link { .. } => {}
    }
}

/// Draws text run by run (baseline at `at`), switching to the fallback font wherever the requested face lacks a glyph.
pub(crate) fn draw_text(
    surface: &mut Surface<'_>,
    fonts: &FontSet,
    at: (f32, f32),
    face: Face,
    size: f32,
    c: Rgb,
    text: &str,
) {
    if text.is_empty() {
        return;
    }
    surface.set_stroke(None);
    surface.set_fill(Some(fill(c)));
    let (mut x, y) = at;
    for run in fonts.runs(text, face) {
        let (Some(font), Some(run_text)) = (fonts.krilla_font(run.face), text.get(run.text.clone())) else {
            continue;
        };
        if !run.glyphs.is_empty() {
            surface.draw_glyphs(Point::from_xy(x, y), &run.glyphs, font, run_text, size, false);
        }
        x += run.width * size;
    }
}

fn link_annotation(op: &Op) -> Option<Annotation> {
    let Op::Link { x, y, w, h, url } = op else { return None };
    let rect = Rect::from_xywh(*x, *y, w.max(0.1), h.max(0.1))?;
    let target = Target::Action(Action::Link(LinkAction::new(url.clone())));
    Some(Annotation::new_link(LinkAnnotation::new(rect, target), Some(url.clone())))
}
