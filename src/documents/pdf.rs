//! Reading just enough of a PDF to decide whether to accept it: is it one, is it encrypted, can
//! its structure be parsed, and how many pages does it have.
//!
//! The file is parsed in two passes. The first reads only the cross-reference table, trailer and
//! page tree (cheap, and it sees `/Encrypt`). The second parses every object, which is what finds
//! damage deeper in the file, with the content of ordinary streams dropped as each object is read.
//! Object and cross-reference streams keep their content, since other objects live inside them.
//! Decompression is bounded, so a small "zip bomb" cannot exhaust memory.
//!
//! The full pass copies each stream while parsing it, so its peak memory grows with the largest
//! stream. Files above [`FULL_PARSE_LIMIT`] (scans, mostly: contracts are far smaller) get the
//! first pass only, which keeps the memory an upload costs flat however large it is.
//!
//! [`page_geometry`] reads each page's visible area and rotation the way pdf.js does, so fields a
//! sender places on pages shown in the browser can be stored in the PDF's own coordinates.
//!
//! Nothing here catches panics: the fuzz target (`fuzz/`) exists to find them, and the server
//! runs inspection on a blocking thread whose panic becomes a refusal.

use super::Refusal;
use crate::signing::geometry::PageGeometry;
use lopdf::{Document, LoadOptions, Object, ObjectId};
use std::collections::BTreeSet;

/// Largest size any one stream may decompress to while the structure is parsed.
const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// Files up to this size get the full structural parse.
pub const FULL_PARSE_LIMIT: usize = 16 * 1024 * 1024;

/// What inspection learnt about an acceptable PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfInfo {
    pub pages: u32,
    /// The header's version, e.g. `1.7`.
    pub version: String,
}

/// Inspects `bytes` as a PDF. Any problem is a [`Refusal`]: `UnsupportedType` when it is not a
/// PDF at all, `Encrypted`, `Corrupt` or `NoPages` otherwise.
pub fn inspect(bytes: &[u8]) -> Result<PdfInfo, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if !super::has_pdf_header(bytes) {
        return Err(Refusal::UnsupportedType);
    }
    let metadata = Document::load_metadata_mem(bytes).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    if metadata.encrypted {
        return Err(Refusal::Encrypted);
    }
    if bytes.len() > FULL_PARSE_LIMIT {
        if metadata.page_count == 0 {
            return Err(Refusal::NoPages);
        }
        return Ok(PdfInfo { pages: metadata.page_count, version: metadata.version });
    }
    let document = parse(bytes, true).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    if document.is_encrypted() || document.trailer.get(b"Encrypt").is_ok() {
        return Err(Refusal::Encrypted);
    }
    let mut pages = document.get_pages().len();
    if pages == 0 {
        // A filtered parse skips lopdf's repair of a damaged page tree; try once more in full.
        pages = parse(bytes, false).map(|d| d.get_pages().len()).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    }
    if pages == 0 {
        return Err(Refusal::NoPages);
    }
    Ok(PdfInfo { pages: u32::try_from(pages).unwrap_or(u32::MAX), version: document.version.clone() })
}

/// US Letter: what pdf.js (like other viewers) shows when no page up the tree has a /MediaBox.
const LETTER: [f64; 4] = [0.0, 0.0, 612.0, 792.0];

/// Each page's geometry as pdf.js would show it, in page order.
///
/// The visible area is the /CropBox (default: the /MediaBox) intersected with the /MediaBox
/// (default: US Letter), or the media box alone when they do not overlap; the rotation is
/// /Rotate. All three are inherited through the page tree's /Parent chain, the nearest entry
/// winning, as pdf.js reads them (`Page.view` and `Page.rotate` in its worker).
///
/// pdf.js quietly replaces a box it cannot read with a default; here such a box is
/// [`Refusal::Corrupt`] instead, naming the page, because a guessed page could put a field
/// somewhere the signer never saw it. A /Rotate that is not a multiple of 90 is read as 0, as
/// pdf.js reads it, since that is how the page was shown.
///
/// Parses the whole file, stream contents dropped, like the full pass of [`inspect`].
pub fn page_geometry(bytes: &[u8]) -> Result<Vec<PageGeometry>, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if !super::has_pdf_header(bytes) {
        return Err(Refusal::UnsupportedType);
    }
    let mut document = parse(bytes, true).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    if document.is_encrypted() || document.was_encrypted() || document.trailer.get(b"Encrypt").is_ok() {
        return Err(Refusal::Encrypted);
    }
    if document.get_pages().is_empty() {
        // As in `inspect`: only an unfiltered parse repairs a damaged page tree.
        document = parse(bytes, false).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    }
    let pages = document.get_pages();
    if pages.is_empty() {
        return Err(Refusal::NoPages);
    }
    pages
        .into_iter()
        .map(|(number, id)| {
            page_view(&document, id).map_err(|problem| Refusal::Corrupt(format!("page {number}: {problem}")))
        })
        .collect()
}

/// One page's geometry, or what is wrong with its boxes.
fn page_view(document: &Document, page: ObjectId) -> Result<PageGeometry, String> {
    let media = match inherited(document, page, b"MediaBox")? {
        Some(value) => rectangle(document, value).ok_or("its /MediaBox is not a rectangle of four numbers")?,
        None => LETTER,
    };
    let crop = match inherited(document, page, b"CropBox")? {
        Some(value) => Some(rectangle(document, value).ok_or("its /CropBox is not a rectangle of four numbers")?),
        None => None,
    };
    let view = crop.and_then(|crop| intersection(crop, media)).unwrap_or(media);
    let rotate = inherited(document, page, b"Rotate")?.map_or(0, |value| rotation(document, value));
    PageGeometry::new(view, rotate).map_err(|e| e.to_string())
}

/// The nearest value of an inheritable page attribute: the page's own, else its parent's, and
/// so on up. A /Parent cycle ends the walk, as in pdf.js.
fn inherited<'a>(document: &'a Document, page: ObjectId, key: &[u8]) -> Result<Option<&'a Object>, String> {
    let mut node = document.get_dictionary(page).map_err(|_| "it is not a page dictionary".to_owned())?;
    let mut seen = BTreeSet::from([page]);
    loop {
        if let Ok(value) = node.get(key) {
            return Ok(Some(value));
        }
        let Ok(parent) = node.get(b"Parent").and_then(Object::as_reference) else { return Ok(None) };
        if !seen.insert(parent) {
            return Ok(None);
        }
        match document.get_dictionary(parent) {
            Ok(dictionary) => node = dictionary,
            Err(_) => return Ok(None),
        }
    }
}

/// A PDF rectangle (the array itself or its entries may be references), corners normalised.
fn rectangle(document: &Document, value: &Object) -> Option<[f64; 4]> {
    let (_, value) = document.dereference(value).ok()?;
    let [a, b, c, d] = value.as_array().ok()?.as_slice() else { return None };
    let [x0, y0, x1, y1] = [a, b, c, d].map(|entry| number(document, entry));
    let [x0, y0, x1, y1] = [x0?, y0?, x1?, y1?];
    Some([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)])
}

/// An integer or real, through references. lopdf keeps reals as `f32`; going through their
/// shortest decimal form gives back the `f64` pdf.js reads for any number written with up to
/// about seven significant digits (`595.276`, not `595.2760009765625`).
fn number(document: &Document, value: &Object) -> Option<f64> {
    match document.dereference(value).ok()?.1 {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => r.to_string().parse().ok().filter(|r: &f64| r.is_finite()),
        _ => None,
    }
}

/// The crop box within the media box, if they overlap with some area (pdf.js `Page.view`).
fn intersection(crop: [f64; 4], media: [f64; 4]) -> Option<[f64; 4]> {
    let view = [crop[0].max(media[0]), crop[1].max(media[1]), crop[2].min(media[2]), crop[3].min(media[3])];
    (view[2] - view[0] > 0.0 && view[3] - view[1] > 0.0).then_some(view)
}

/// /Rotate as pdf.js reads it: a whole number of degrees, anything else (or not a multiple of
/// 90) as 0. Reducing it to 0..360 is left to [`PageGeometry::new`].
fn rotation(document: &Document, value: &Object) -> i64 {
    let degrees = match document.dereference(value).map(|(_, value)| value) {
        Ok(Object::Integer(i)) => *i,
        Ok(Object::Real(r)) if r.is_finite() && r.fract() == 0.0 => *r as i64,
        _ => 0,
    };
    if degrees % 90 == 0 { degrees } else { 0 }
}

fn parse(bytes: &[u8], drop_contents: bool) -> lopdf::Result<Document> {
    load(bytes, LoadOptions::default().strict, drop_contents)
}

/// Reads `bytes` within the decompression bound: `strict` refuses anything not as written (see
/// [`super::repair`]); `drop_contents` empties ordinary streams as they are read.
pub(crate) fn load(bytes: &[u8], strict: bool, drop_contents: bool) -> lopdf::Result<Document> {
    let options = LoadOptions {
        strict,
        max_decompressed_size: Some(MAX_DECOMPRESSED),
        filter: drop_contents.then_some(drop_stream_content as lopdf::FilterFunc),
        ..LoadOptions::default()
    };
    Document::load_mem_with_options(bytes, options)
}

/// Keeps every object, but empties ordinary streams (page contents, images, fonts): their bytes
/// are not needed to judge the file's structure.
fn drop_stream_content(id: (u32, u16), object: &mut Object) -> Option<((u32, u16), Object)> {
    if let Object::Stream(stream) = object
        && !stream.dict.has_type(b"ObjStm")
        && !stream.dict.has_type(b"XRef")
    {
        stream.content = Vec::new();
    }
    // lopdf keeps the object as changed in place; the returned copy is what it keeps of
    // objects inside object streams.
    Some((id, object.clone()))
}

/// lopdf's error, shortened to something a person can act on.
pub(crate) fn describe(error: &lopdf::Error) -> String {
    let text = error.to_string();
    let first_line = text.lines().next().unwrap_or("unreadable structure");
    first_line.chars().take(160).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lopdf::{Dictionary, dictionary};

    /// A minimal valid PDF with `pages` empty pages, built by hand.
    pub(crate) fn tiny_pdf(pages: usize) -> Vec<u8> {
        let mut objects = vec!["<< /Type /Catalog /Pages 2 0 R >>".to_owned()];
        let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")));
        for _ in 0..pages {
            objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_owned());
        }
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
        );
        out
    }

    #[test]
    fn a_valid_pdf_is_accepted_with_its_page_count() {
        assert_eq!(inspect(&tiny_pdf(3)), Ok(PdfInfo { pages: 3, version: "1.7".into() }));
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(inspect(b""), Err(Refusal::Empty));
        assert_eq!(inspect(b"hello, world"), Err(Refusal::UnsupportedType));
        assert!(matches!(inspect(b"%PDF-1.7\n garbage garbage"), Err(Refusal::Corrupt(_))));
        assert!(matches!(inspect(&tiny_pdf(0)), Err(Refusal::NoPages) | Err(Refusal::Corrupt(_))));
    }

    #[test]
    fn an_encrypt_entry_is_refused() {
        let pdf = String::from_utf8(tiny_pdf(1)).expect("ascii");
        let pdf = pdf.replace(
            "/Root 1 0 R >>",
            "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O (x) /U (y) /P -4 >> /ID [<00> <00>] >>",
        );
        assert_eq!(inspect(pdf.as_bytes()), Err(Refusal::Encrypted));
        assert_eq!(page_geometry(pdf.as_bytes()), Err(Refusal::Encrypted));
    }

    /// A one-page PDF written by lopdf; `set_up` adds entries to the page tree node and the page,
    /// and may add objects of its own.
    fn one_page_pdf(set_up: impl FnOnce(&mut Document, &mut Dictionary, &mut Dictionary)) -> Vec<u8> {
        let mut document = Document::with_version("1.7");
        let pages_id = document.new_object_id();
        let mut pages = dictionary! { "Type" => "Pages", "Count" => 1 };
        let mut page = dictionary! { "Type" => "Page", "Parent" => pages_id };
        set_up(&mut document, &mut pages, &mut page);
        let page_id = document.add_object(page);
        pages.set("Kids", vec![Object::from(page_id)]);
        document.objects.insert(pages_id, Object::Dictionary(pages));
        let catalog = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        document.trailer.set("Root", catalog);
        let mut bytes = Vec::new();
        document.save_to(&mut bytes).expect("lopdf writes the PDF");
        bytes
    }

    fn numbers(values: [f64; 4]) -> Vec<Object> {
        values.iter().map(|&v| if v.fract() == 0.0 { Object::Integer(v as i64) } else { Object::from(v) }).collect()
    }

    fn boxes(media: Option<[f64; 4]>, crop: Option<[f64; 4]>, rotate: Option<i64>) -> Vec<u8> {
        one_page_pdf(|_, _, page| {
            if let Some(media) = media {
                page.set("MediaBox", numbers(media));
            }
            if let Some(crop) = crop {
                page.set("CropBox", numbers(crop));
            }
            if let Some(rotate) = rotate {
                page.set("Rotate", rotate);
            }
        })
    }

    fn only_page(bytes: &[u8]) -> PageGeometry {
        let pages = page_geometry(bytes).expect("the geometry is readable");
        assert_eq!(pages.len(), 1, "{pages:?}");
        pages[0]
    }

    fn geometry(view: [f64; 4], rotate: u16) -> PageGeometry {
        let [x0, y0, x1, y1] = view;
        PageGeometry { x0, y0, x1, y1, rotate }
    }

    const LETTER_BOX: [f64; 4] = [0.0, 0.0, 612.0, 792.0];

    // pdf.js 6.5.438 (`page.view`, `page.rotate`) reports the same view and rotation for each
    // page below, checked in Node on the equivalent hand-written files.

    #[test]
    fn a_portrait_a4_page_keeps_its_real_numbers_exactly() {
        let a4 = [0.0, 0.0, 595.276, 841.89];
        assert_eq!(only_page(&boxes(Some(a4), None, None)), geometry(a4, 0));
    }

    #[test]
    fn a_landscape_page_is_wider_than_high() {
        let page = only_page(&boxes(Some([0.0, 0.0, 842.0, 595.0]), None, None));
        assert_eq!(page, geometry([0.0, 0.0, 842.0, 595.0], 0));
        assert_eq!(page.display_size(), (842.0, 595.0));
    }

    #[test]
    fn a_page_rotated_on_itself_is_shown_turned() {
        let page = only_page(&boxes(Some(LETTER_BOX), None, Some(90)));
        assert_eq!(page, geometry(LETTER_BOX, 90));
        assert_eq!(page.display_size(), (792.0, 612.0));
    }

    #[test]
    fn rotation_and_media_box_are_inherited_from_the_page_tree() {
        let pdf = one_page_pdf(|_, pages, _| {
            pages.set("Rotate", 270);
            pages.set("MediaBox", numbers(LETTER_BOX));
        });
        assert_eq!(only_page(&pdf), geometry(LETTER_BOX, 270));
    }

    #[test]
    fn the_page_s_own_entries_win_over_inherited_ones() {
        let pdf = one_page_pdf(|_, pages, page| {
            pages.set("Rotate", 270);
            pages.set("MediaBox", numbers(LETTER_BOX));
            page.set("Rotate", 0);
            page.set("MediaBox", numbers([0.0, 0.0, 842.0, 595.0]));
        });
        assert_eq!(only_page(&pdf), geometry([0.0, 0.0, 842.0, 595.0], 0));
    }

    #[test]
    fn a_crop_box_is_the_visible_area() {
        let crop = [50.0, 60.0, 400.0, 700.0];
        assert_eq!(only_page(&boxes(Some(LETTER_BOX), Some(crop), None)), geometry(crop, 0));
    }

    #[test]
    fn a_crop_box_is_cut_to_the_media_box_and_ignored_when_outside_it() {
        let overhanging = [500.0, -20.0, 700.0, 100.0];
        assert_eq!(
            only_page(&boxes(Some(LETTER_BOX), Some(overhanging), None)),
            geometry([500.0, 0.0, 612.0, 100.0], 0)
        );
        let disjoint = [700.0, 800.0, 900.0, 900.0];
        assert_eq!(only_page(&boxes(Some(LETTER_BOX), Some(disjoint), None)), geometry(LETTER_BOX, 0));
        let empty = [100.0, 100.0, 100.0, 300.0];
        assert_eq!(only_page(&boxes(Some(LETTER_BOX), Some(empty), None)), geometry(LETTER_BOX, 0));
    }

    #[test]
    fn an_indirect_media_box_of_reals_is_followed() {
        let pdf = one_page_pdf(|document, _, page| {
            let top = document.add_object(Object::Real(842.75));
            let array = vec![Object::Real(0.5), Object::Real(1.25), Object::Real(595.5), Object::from(top)];
            let media = document.add_object(Object::Array(array));
            page.set("MediaBox", media);
        });
        assert_eq!(only_page(&pdf), geometry([0.5, 1.25, 595.5, 842.75], 0));
    }

    #[test]
    fn a_page_without_a_media_box_anywhere_is_us_letter() {
        assert_eq!(only_page(&boxes(None, None, None)), geometry(LETTER_BOX, 0));
    }

    #[test]
    fn reversed_corners_are_normalised() {
        assert_eq!(only_page(&boxes(Some([612.0, 792.0, 0.0, 0.0]), None, None)), geometry(LETTER_BOX, 0));
    }

    #[test]
    fn odd_rotations_are_read_as_pdfjs_reads_them() {
        for (written, read) in [(-90, 270), (450, 90), (-180, 180), (45, 0), (100, 0)] {
            assert_eq!(only_page(&boxes(Some(LETTER_BOX), None, Some(written))).rotate, read, "/Rotate {written}");
        }
        let real = one_page_pdf(|_, _, page| page.set("Rotate", Object::Real(90.0)));
        assert_eq!(only_page(&real).rotate, 90);
        let name = one_page_pdf(|_, _, page| page.set("Rotate", "Ninety"));
        assert_eq!(only_page(&name).rotate, 0);
    }

    #[test]
    fn a_parent_cycle_ends_the_search_instead_of_looping() {
        let pdf = one_page_pdf(|document, pages, _| {
            // The tree node claims a parent that claims it back; neither has a media box.
            let above = document.new_object_id();
            pages.set("Parent", above);
            document.objects.insert(above, Object::Dictionary(dictionary! { "Type" => "Pages", "Parent" => above }));
        });
        assert_eq!(only_page(&pdf), geometry(LETTER_BOX, 0));
    }

    #[test]
    fn malformed_boxes_are_refused_naming_the_page() {
        let three = one_page_pdf(|_, _, page| page.set("MediaBox", vec![0.into(), 0.into(), 612.into()]));
        assert_eq!(
            page_geometry(&three),
            Err(Refusal::Corrupt("page 1: its /MediaBox is not a rectangle of four numbers".into()))
        );
        let named = one_page_pdf(|_, _, page| {
            page.set("MediaBox", numbers(LETTER_BOX));
            page.set("CropBox", vec![0.into(), 0.into(), 612.into(), "Top".into()]);
        });
        assert_eq!(
            page_geometry(&named),
            Err(Refusal::Corrupt("page 1: its /CropBox is not a rectangle of four numbers".into()))
        );
        let flat = boxes(Some([0.0, 0.0, 612.0, 0.0]), None, None);
        assert_eq!(
            page_geometry(&flat),
            Err(Refusal::Corrupt("page 1: the page has no area: its box is zero wide or zero high".into()))
        );
        let huge = boxes(Some([0.0, 0.0, 20_000.0, 792.0]), None, None);
        assert!(matches!(page_geometry(&huge), Err(Refusal::Corrupt(m)) if m.contains("larger than PDF allows")));
    }

    #[test]
    fn every_page_is_read_in_order() {
        assert_eq!(page_geometry(&tiny_pdf(3)), Ok(vec![geometry(LETTER_BOX, 0); 3]));
    }

    #[test]
    fn geometry_of_what_is_not_a_pdf_is_refused() {
        assert_eq!(page_geometry(b""), Err(Refusal::Empty));
        assert_eq!(page_geometry(b"hello, world"), Err(Refusal::UnsupportedType));
        assert!(matches!(page_geometry(b"%PDF-1.7\n garbage garbage"), Err(Refusal::Corrupt(_))));
    }

    #[test]
    fn truncations_never_panic() {
        let pdf = tiny_pdf(2);
        for cut in 0..pdf.len() {
            let _ = inspect(&pdf[..cut]);
            let _ = page_geometry(&pdf[..cut]);
        }
    }
}
