use super::*;
use crate::documents::completion::stamps::{self, Mark, Stamp};
use attesta_core::signing::geometry::{PageGeometry, PdfRect};
use lopdf::dictionary;

/// A PDF of blank pages, one per `(width, height, rotate)`, with a classic xref table or an
/// xref stream.
fn blank_pdf(pages: &[(f64, f64, i64)], xref_stream: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for &(w, h, rotate) in pages {
        let content = doc.add_object(Stream::new(Dictionary::new(), b"0.9 g 0 0 5 5 re f\n".to_vec()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(w as f32), Object::Real(h as f32)],
            "Rotate" => rotate,
            "Contents" => content,
            "Resources" => Dictionary::new(),
        });
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    if xref_stream {
        doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceStream;
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saved");
    out
}

fn text_stamp(text: &str, w: f64, h: f64) -> Vec<u8> {
    stamps::render(&[Stamp { width: w as f32, height: h as f32, mark: Mark::Text(text) }]).expect("stamp")
}

#[test]
fn an_update_keeps_the_original_bytes_as_its_prefix() {
    for xref_stream in [false, true] {
        let original = blank_pdf(&[(612.0, 792.0, 0), (612.0, 792.0, 0)], xref_stream);
        let stamp = text_stamp("Ada Lovelace", 120.0, 20.0);
        let update = Update {
            stamps: Some(&stamp),
            placements: vec![Placement { stamp: 0, page: 1, matrix: [1.0, 0.0, 0.0, 1.0, 100.0, 100.0] }],
            ..Default::default()
        };
        let updated = apply(&original, &update).expect("updated");
        assert!(updated.starts_with(&original), "xref stream {xref_stream}");
        let doc = Document::load_mem(&updated).expect("reads back");
        let pages = doc.get_pages();
        let page = doc.get_dictionary(pages[&2]).expect("page 2");
        let contents = page.get(b"Contents").and_then(Object::as_array).expect("an array");
        assert_eq!(contents.len(), 3, "q, the page, the stamps");
        let content = doc.get_page_content(pages[&2]);
        let text = String::from_utf8_lossy(&content);
        assert!(text.starts_with("q\n"), "{text}");
        assert!(text.contains("/AttestaStamp0 Do"), "{text}");
        // Page 1 untouched: still its one stream.
        assert!(doc.get_dictionary(pages[&1]).expect("page 1").get(b"Contents").expect("c").as_reference().is_ok());
    }
}

#[test]
fn appended_pages_come_last_and_upright_and_the_attachment_reads_back() {
    let original = blank_pdf(&[(612.0, 792.0, 90)], false);
    let appended = blank_pdf(&[(595.0, 842.0, 0), (595.0, 842.0, 0)], false);
    let json = br#"{"format":"attesta/evidence@v1"}"#;
    let update = Update {
        append: Some(&appended),
        attachment: Some(Attachment {
            name: "attesta-evidence-d1.json",
            description: "Evidence ✓",
            mime: "application/json",
            bytes: json,
            modified: "D:20261122000000Z".to_owned(),
        }),
        ..Default::default()
    };
    let updated = apply(&original, &update).expect("updated");
    let doc = Document::load_mem(&updated).expect("reads back");
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 3);
    let last = doc.get_dictionary(pages[&3]).expect("page");
    assert_eq!(last.get(b"Rotate").and_then(Object::as_i64).expect("rotate"), 0);
    let names = doc.catalog().and_then(|c| c.get(b"Names")).and_then(Object::as_dict).expect("names");
    let files = names.get(b"EmbeddedFiles").and_then(Object::as_dict).expect("tree");
    let pairs = files.get(b"Names").and_then(Object::as_array).expect("pairs");
    assert_eq!(pairs[0].as_str().expect("name"), b"attesta-evidence-d1.json");
    let spec = doc.get_dictionary(pairs[1].as_reference().expect("ref")).expect("spec");
    let file = spec.get(b"EF").and_then(Object::as_dict).and_then(|ef| ef.get(b"F")).expect("EF/F");
    let stream = doc.get_object(file.as_reference().expect("ref")).and_then(Object::as_stream).expect("stream");
    assert_eq!(stream.decompressed_content().unwrap_or_else(|_| stream.content.clone()), json);
}

#[test]
fn a_second_attachment_keeps_the_first() {
    let original = blank_pdf(&[(612.0, 792.0, 0)], true);
    let attach = |name: &'static str| Update {
        attachment: Some(Attachment {
            name,
            description: "x",
            mime: "text/plain",
            bytes: b"x",
            modified: "D:20261122000000Z".to_owned(),
        }),
        ..Default::default()
    };
    let once = apply(&original, &attach("b.txt")).expect("once");
    let twice = apply(&once, &attach("a.txt")).expect("twice");
    let doc = Document::load_mem(&twice).expect("reads back");
    let names = doc.catalog().and_then(|c| c.get(b"Names")).and_then(Object::as_dict).expect("names");
    let pairs = names.get(b"EmbeddedFiles").and_then(Object::as_dict).and_then(|t| t.get(b"Names")).expect("pairs");
    let keys: Vec<_> =
        pairs.as_array().expect("array").iter().step_by(2).map(|k| k.as_str().expect("key").to_vec()).collect();
    assert_eq!(keys, vec![b"a.txt".to_vec(), b"b.txt".to_vec()]);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(matches!(apply(b"not a pdf", &Update::default()), Err(UpdateError::Read(_))));
    let original = blank_pdf(&[(612.0, 792.0, 0)], false);
    let stamp = text_stamp("x", 10.0, 10.0);
    let beyond = Update {
        stamps: Some(&stamp),
        placements: vec![Placement { stamp: 0, page: 5, matrix: [1.0, 0.0, 0.0, 1.0, 0.0, 0.0] }],
        ..Default::default()
    };
    assert!(matches!(apply(&original, &beyond), Err(UpdateError::Structure(_))));
    let nan = Update {
        stamps: Some(&stamp),
        placements: vec![Placement { stamp: 0, page: 0, matrix: [f64::NAN, 0.0, 0.0, 1.0, 0.0, 0.0] }],
        ..Default::default()
    };
    assert!(matches!(apply(&original, &nan), Err(UpdateError::Structure(_))));
}

/// Renders page `page` (from 1) at 72 dpi in grey with poppler; `None` when pdftoppm is absent.
fn render_gray(pdf: &[u8], page: usize) -> Option<(usize, usize, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, pdf).expect("write");
    let out = dir.path().join("out");
    let status = std::process::Command::new("pdftoppm")
        .args(["-gray", "-r", "72", "-f", &page.to_string(), "-l", &page.to_string()])
        .arg(&input)
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("pdftoppm failed: {s}"),
        Err(_) => return None,
    }
    let file = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".pgm"))
        .expect("a PGM");
    let bytes = std::fs::read(file.path()).expect("pgm");
    // P5\n<w> <h>\n255\n<pixels>
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    let (w, h): (usize, usize) = (fields[1].parse().expect("w"), fields[2].parse().expect("h"));
    Some((w, h, bytes[at + 1..].to_vec()))
}

/// The bounding box of dark pixels, as fractions of the rendered page (left, top, right, bottom).
fn ink_box(w: usize, h: usize, pixels: &[u8]) -> Option<(f64, f64, f64, f64)> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if pixels[y * w + x] < 128 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    (x0 != usize::MAX).then(|| (x0 as f64 / w as f64, y0 as f64 / h as f64, x1 as f64 / w as f64, y1 as f64 / h as f64))
}

/// The whole point of the matrix: on every rotation, the mark shows inside the field as the
/// signer saw it on screen. poppler renders the page; the ink must lie within the field's box.
#[test]
fn a_stamp_lands_inside_its_field_on_every_rotation_as_poppler_renders_it() {
    for rotate in [0, 90, 180, 270] {
        let original = blank_pdf(&[(612.0, 792.0, rotate)], false);
        let geometry = PageGeometry::new([0.0, 0.0, 612.0, 792.0], rotate).expect("geometry");
        let field = PdfRect { x: 100.0, y: 500.0, width: 150.0, height: 40.0 };
        let (dw, dh) = geometry.display_size_of(field);
        // A check mark fills its box edge to edge in its shorter side: ink is easy to find.
        let stamp = stamps::render(&[Stamp { width: dw as f32, height: dh as f32, mark: Mark::Text("WWWWWWWW") }])
            .expect("stamp");
        let update = Update {
            stamps: Some(&stamp),
            placements: vec![Placement { stamp: 0, page: 0, matrix: geometry.form_matrix(field) }],
            ..Default::default()
        };
        let updated = apply(&original, &update).expect("updated");
        let Some((w, h, pixels)) = render_gray(&updated, 1) else {
            assert_ne!(
                std::env::var("ATTESTA_TEST_REQUIRE_VALIDATORS").as_deref(),
                Ok("1"),
                "pdftoppm is required (apt install poppler-utils)"
            );
            eprintln!("pdftoppm not installed (apt install poppler-utils): rendering check skipped");
            return;
        };
        let (l, t, r, b) = ink_box(w, h, &pixels).expect("ink on the page");
        let view = geometry.to_view(field);
        let slack = 2.0 / w.min(h) as f64;
        assert!(
            l >= view.left - slack
                && t >= view.top - slack
                && r <= view.left + view.width + slack
                && b <= view.top + view.height + slack,
            "rotate {rotate}: ink {:?} outside the field {view:?}",
            (l, t, r, b)
        );
        // Upright: a line of text is wider than tall on screen.
        assert!((r - l) * w as f64 > (b - t) * h as f64, "rotate {rotate}: the text is not upright");
    }
}
