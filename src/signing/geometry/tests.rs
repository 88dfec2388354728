//! Geometry tests: hand-worked cases per rotation, golden values computed by pdf.js, a
//! transcription of pdf.js's `PageViewport` to test against at random, and round trips.

use proptest::prelude::*;

use super::*;

const LETTER: [f64; 4] = [0.0, 0.0, 612.0, 792.0];
const LANDSCAPE_A4: [f64; 4] = [0.0, 0.0, 842.0, 595.0];
/// A crop box away from the origin, inside a Letter media box.
const CROPPED: [f64; 4] = [50.0, 60.0, 400.0, 700.0];

fn page(view: [f64; 4], rotate: i64) -> PageGeometry {
    PageGeometry::new(view, rotate).expect("a valid page")
}

fn view(left: f64, top: f64, width: f64, height: f64) -> ViewRect {
    ViewRect { left, top, width, height }
}

fn pdf(x: f64, y: f64, width: f64, height: f64) -> PdfRect {
    PdfRect { x, y, width, height }
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[track_caller]
fn assert_pdf_close(actual: PdfRect, expected: PdfRect, tolerance: f64) {
    let ok = close(actual.x, expected.x, tolerance)
        && close(actual.y, expected.y, tolerance)
        && close(actual.width, expected.width, tolerance)
        && close(actual.height, expected.height, tolerance);
    assert!(ok, "expected {expected:?}, got {actual:?}");
}

#[track_caller]
fn assert_view_close(actual: ViewRect, expected: ViewRect, tolerance: f64) {
    let ok = close(actual.left, expected.left, tolerance)
        && close(actual.top, expected.top, tolerance)
        && close(actual.width, expected.width, tolerance)
        && close(actual.height, expected.height, tolerance);
    assert!(ok, "expected {expected:?}, got {actual:?}");
}

#[test]
fn each_rotation_of_a_portrait_page_puts_the_displayed_top_left_where_pdfjs_shows_it() {
    // Half the displayed width, a quarter of its height, in the top-left corner as shown.
    let field = view(0.0, 0.0, 0.5, 0.25);
    // Upright: the top left is (0, 792); the box hangs down from it.
    assert_pdf_close(page(LETTER, 0).to_pdf(field), pdf(0.0, 594.0, 306.0, 198.0), 1e-9);
    // Turned clockwise a quarter: the origin is at the top left, y runs right and x down, so the
    // box is a quarter of 612 wide and half of 792 high in user space.
    assert_pdf_close(page(LETTER, 90).to_pdf(field), pdf(0.0, 0.0, 153.0, 396.0), 1e-9);
    // Upside down: the top left is (612, 0).
    assert_pdf_close(page(LETTER, 180).to_pdf(field), pdf(306.0, 0.0, 306.0, 198.0), 1e-9);
    // Turned anticlockwise a quarter: the top left is (612, 792), y runs left and x up.
    assert_pdf_close(page(LETTER, 270).to_pdf(field), pdf(459.0, 396.0, 153.0, 396.0), 1e-9);
}

#[test]
fn rotated_pages_show_their_sides_swapped() {
    assert_eq!(page(LETTER, 0).display_size(), (612.0, 792.0));
    assert_eq!(page(LETTER, 90).display_size(), (792.0, 612.0));
    assert_eq!(page(LETTER, 180).display_size(), (612.0, 792.0));
    assert_eq!(page(LETTER, 270).display_size(), (792.0, 612.0));
    assert_eq!(page(LANDSCAPE_A4, 0).display_size(), (842.0, 595.0));
    assert_eq!(page(CROPPED, 90).display_size(), (640.0, 350.0));
}

/// Golden values from pdf.js 6.5.438 (`end2end/node_modules/pdfjs-dist`, legacy build), run in
/// Node: `page.getViewport({ scale: 1 })` for one-page PDFs with these boxes, or
/// `new PageViewport({ viewBox, userUnit: 1, scale: 1, rotation, offsetX: 0, offsetY: 0 })`, and
/// the field `left 0.1, top 0.2, width 0.3, height 0.05` of `viewport.width`/`height` taken back
/// through `convertToPdfPoint` at two opposite corners. Each row: view box, rotation, expected
/// user-space rectangle `[x, y, width, height]` as pdf.js printed it.
const PDFJS_GOLDEN: [([f64; 4], i64, [f64; 4]); 12] = [
    (LETTER, 0, [61.2, 594.0, 183.60000000000002, 39.60000000000002]),
    (LETTER, 90, [122.4, 79.2, 30.599999999999994, 237.60000000000002]),
    (LETTER, 180, [367.2, 158.4, 183.59999999999997, 39.599999999999994]),
    (LETTER, 270, [459.0, 475.2, 30.600000000000023, 237.59999999999997]),
    (LANDSCAPE_A4, 0, [84.2, 446.25, 252.60000000000002, 29.75]),
    (LANDSCAPE_A4, 90, [168.4, 59.5, 42.099999999999994, 178.5]),
    (LANDSCAPE_A4, 180, [505.2, 119.0, 252.59999999999997, 29.75]),
    (LANDSCAPE_A4, 270, [631.5, 357.0, 42.10000000000002, 178.5]),
    (CROPPED, 0, [85.0, 540.0, 105.0, 32.0]),
    (CROPPED, 90, [120.0, 124.0, 17.5, 192.0]),
    (CROPPED, 180, [260.0, 188.0, 105.0, 32.0]),
    (CROPPED, 270, [312.5, 444.0, 17.5, 192.0]),
];

#[test]
fn fields_land_where_pdfjs_puts_them() {
    let field = view(0.1, 0.2, 0.3, 0.05);
    for (view_box, rotation, [x, y, width, height]) in PDFJS_GOLDEN {
        let geometry = page(view_box, rotation);
        let expected = pdf(x, y, width, height);
        assert_pdf_close(geometry.to_pdf(field), expected, 1e-9);
        assert_view_close(geometry.to_view(expected), field, 1e-9);
    }
}

/// pdf.js's `PageViewport` constructor (`src/display/display_utils.js`; in the legacy build
/// `pdf.mjs`, `class PageViewport`) with `scale = userUnit = 1`, no offsets and `dontFlip` false,
/// transcribed line for line: its `[a, b, c, d, e, f]` maps user space (x, y) to viewport pixels
/// (a·x + c·y + e, b·x + d·y + f), and the viewport is `width` × `height`.
fn pdfjs_viewport(view_box: [f64; 4], rotation: i64) -> ([f64; 6], f64, f64) {
    let center_x = (view_box[2] + view_box[0]) / 2.0;
    let center_y = (view_box[3] + view_box[1]) / 2.0;
    let (rotate_a, rotate_b, rotate_c, rotate_d) = match rotation.rem_euclid(360) {
        180 => (-1.0, 0.0, 0.0, 1.0),
        90 => (0.0, 1.0, 1.0, 0.0),
        270 => (0.0, -1.0, -1.0, 0.0),
        0 => (1.0, 0.0, 0.0, -1.0),
        _ => panic!("PageViewport: Invalid rotation, must be a multiple of 90 degrees."),
    };
    let (offset_canvas_x, offset_canvas_y, width, height) = if rotate_a == 0.0 {
        (
            (center_y - view_box[1]).abs(),
            (center_x - view_box[0]).abs(),
            view_box[3] - view_box[1],
            view_box[2] - view_box[0],
        )
    } else {
        (
            (center_x - view_box[0]).abs(),
            (center_y - view_box[1]).abs(),
            view_box[2] - view_box[0],
            view_box[3] - view_box[1],
        )
    };
    let transform = [
        rotate_a,
        rotate_b,
        rotate_c,
        rotate_d,
        offset_canvas_x - rotate_a * center_x - rotate_c * center_y,
        offset_canvas_y - rotate_b * center_x - rotate_d * center_y,
    ];
    (transform, width, height)
}

/// A user-space rectangle in viewport pixels through pdf.js's transform: `[left, top, right, bottom]`.
fn through_pdfjs(transform: [f64; 6], r: PdfRect) -> [f64; 4] {
    let [a, b, c, d, e, f] = transform;
    let corners = [(r.x, r.y), (r.x + r.width, r.y + r.height)];
    let points = corners.map(|(x, y)| (a * x + c * y + e, b * x + d * y + f));
    let (p, q) = (points[0], points[1]);
    [p.0.min(q.0), p.1.min(q.1), p.0.max(q.0), p.1.max(q.1)]
}

#[test]
fn the_transcribed_viewport_agrees_with_pdfjs_output() {
    // What pdf.js printed for `viewport.transform` on the cropped page at each rotation.
    let printed: [(i64, [f64; 6]); 4] = [
        (0, [1.0, 0.0, 0.0, -1.0, -50.0, 700.0]),
        (90, [0.0, 1.0, 1.0, 0.0, -60.0, -50.0]),
        (180, [-1.0, 0.0, 0.0, 1.0, 400.0, -60.0]),
        (270, [0.0, -1.0, -1.0, 0.0, 700.0, 400.0]),
    ];
    for (rotation, transform) in printed {
        assert_eq!(pdfjs_viewport(CROPPED, rotation).0, transform, "rotation {rotation}");
    }
}

#[test]
fn rotations_are_reduced_the_way_pdfjs_reduces_them() {
    assert_eq!(page(LETTER, -90).rotate, 270);
    assert_eq!(page(LETTER, 450).rotate, 90);
    assert_eq!(page(LETTER, -450).rotate, 270);
    assert_eq!(page(LETTER, 720).rotate, 0);
    assert_eq!(page(LETTER, -180).rotate, 180);
    assert_eq!(page(LETTER, i64::MIN + 8).rotate, 0, "i64::MIN + 8 is a multiple of 360");
}

#[test]
fn corners_in_either_order_are_normalised() {
    assert_eq!(page([400.0, 700.0, 50.0, 60.0], 0), page(CROPPED, 0));
    assert_eq!(page([612.0, 0.0, 0.0, 792.0], 90), page(LETTER, 90));
    assert_eq!(
        page([612.0, 792.0, 0.0, 0.0], -90),
        PageGeometry { x0: 0.0, y0: 0.0, x1: 612.0, y1: 792.0, rotate: 270 }
    );
}

#[test]
fn impossible_pages_are_refused() {
    assert_eq!(PageGeometry::new(LETTER, 45), Err(GeometryError::Rotation(45)));
    assert_eq!(PageGeometry::new(LETTER, -30), Err(GeometryError::Rotation(-30)));
    assert_eq!(PageGeometry::new([0.0, 0.0, f64::NAN, 792.0], 0), Err(GeometryError::NotFinite));
    assert_eq!(PageGeometry::new([0.0, f64::NEG_INFINITY, 612.0, 792.0], 0), Err(GeometryError::NotFinite));
    assert_eq!(PageGeometry::new([0.0, 0.0, 0.0, 792.0], 0), Err(GeometryError::Empty));
    assert_eq!(PageGeometry::new([10.0, 5.0, 600.0, 5.0], 0), Err(GeometryError::Empty));
    assert_eq!(PageGeometry::new([0.0, 0.0, 14_400.5, 792.0], 0), Err(GeometryError::TooLarge));
    assert_eq!(PageGeometry::new([-f64::MAX, 0.0, f64::MAX, 792.0], 0), Err(GeometryError::TooLarge));
    assert!(PageGeometry::new([-7200.0, -7200.0, 7200.0, 7200.0], 0).is_ok(), "14400 a side is allowed");
    assert_eq!(
        GeometryError::Rotation(45).to_string(),
        "a page can only be turned by a multiple of 90 degrees, not by 45"
    );
    assert_eq!(
        GeometryError::TooLarge.to_string(),
        "the page is larger than PDF allows: at most 14400 points (200 inches) a side"
    );
}

#[test]
fn deserialising_checks_the_geometry_like_new() {
    let ok: PageGeometry =
        serde_json::from_str(r#"{"x0":612,"y0":792,"x1":0,"y1":0,"rotate":-90}"#).expect("a valid geometry");
    assert_eq!(ok, page(LETTER, 270));
    let round_trip: PageGeometry =
        serde_json::from_str(&serde_json::to_string(&ok).expect("serialises")).expect("reads back");
    assert_eq!(round_trip, ok);
    for bad in [
        r#"{"x0":0,"y0":0,"x1":612,"y1":792,"rotate":45}"#,
        r#"{"x0":0,"y0":0,"x1":0,"y1":792,"rotate":0}"#,
        r#"{"x0":0,"y0":0,"x1":20000,"y1":792,"rotate":0}"#,
    ] {
        assert!(serde_json::from_str::<PageGeometry>(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn a_rectangle_on_the_edge_is_contained_but_one_past_it_is_not() {
    let cropped = page(CROPPED, 0);
    assert!(cropped.contains(&pdf(50.0, 60.0, 350.0, 640.0)), "the whole view");
    assert!(cropped.contains(&pdf(49.995, 60.0, 10.0, 10.0)), "within the epsilon");
    assert!(!cropped.contains(&pdf(49.9, 60.0, 10.0, 10.0)), "left of the crop box");
    assert!(!cropped.contains(&pdf(10.0, 10.0, 10.0, 10.0)), "in the media box, outside the crop");
    assert!(!cropped.contains(&pdf(395.0, 100.0, 10.0, 10.0)), "over the right edge");
    assert!(!cropped.contains(&pdf(100.0, 100.0, 0.0, 10.0)), "no width");
    assert!(!cropped.contains(&pdf(100.0, f64::NAN, 10.0, 10.0)), "not a number");
}

#[test]
fn only_finite_rectangles_with_area_are_valid() {
    assert!(pdf(-5.0, -5.0, 1.0, 1.0).is_valid());
    assert!(!pdf(0.0, 0.0, -1.0, 1.0).is_valid());
    assert!(!pdf(0.0, 0.0, 1.0, 0.0).is_valid());
    assert!(!pdf(f64::INFINITY, 0.0, 1.0, 1.0).is_valid());
    assert!(!pdf(0.0, 0.0, 1.0, f64::NAN).is_valid());
}

#[test]
fn clamping_moves_a_field_back_onto_the_page_keeping_its_size() {
    assert_eq!(view(0.9, -0.1, 0.2, 0.3).clamp_into_page(), view(0.8, 0.0, 0.2, 0.3));
    assert_eq!(view(-0.5, 0.95, 0.25, 0.1).clamp_into_page(), view(0.0, 0.9, 0.25, 0.1));
    let inside = view(0.1, 0.2, 0.3, 0.4);
    assert_eq!(inside.clamp_into_page(), inside);
}

#[test]
fn clamping_shrinks_only_what_is_larger_than_the_page() {
    assert_eq!(view(-0.2, 0.5, 1.5, 0.1).clamp_into_page(), view(0.0, 0.5, 1.0, 0.1));
    assert_eq!(view(0.5, 0.5, -0.1, 0.1).clamp_into_page(), view(0.5, 0.5, 0.0, 0.1));
    assert_eq!(view(f64::NAN, f64::INFINITY, f64::NAN, f64::INFINITY).clamp_into_page(), view(0.0, 0.0, 0.0, 1.0));
}

fn any_geometry() -> impl Strategy<Value = PageGeometry> {
    (-20_000.0..20_000.0f64, -20_000.0..20_000.0f64, 1.0..=MAX_PAGE_SIDE, 1.0..=MAX_PAGE_SIDE, -8i64..8)
        .prop_map(|(x0, y0, w, h, quarters)| page([x0, y0, x0 + w, y0 + h], quarters * 90))
}

fn any_view_rect() -> impl Strategy<Value = ViewRect> {
    (-0.5..1.5f64, -0.5..1.5f64, 1e-4..1.0f64, 1e-4..1.0f64).prop_map(|(l, t, w, h)| view(l, t, w, h))
}

fn any_pdf_rect() -> impl Strategy<Value = PdfRect> {
    (-40_000.0..40_000.0f64, -40_000.0..40_000.0f64, 1e-2..15_000.0f64, 1e-2..15_000.0f64)
        .prop_map(|(x, y, w, h)| pdf(x, y, w, h))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn view_to_pdf_and_back_is_the_identity(geometry in any_geometry(), r in any_view_rect()) {
        assert_view_close(geometry.to_view(geometry.to_pdf(r)), r, 1e-9);
    }

    #[test]
    fn pdf_to_view_and_back_is_the_identity(geometry in any_geometry(), r in any_pdf_rect()) {
        assert_pdf_close(geometry.to_pdf(geometry.to_view(r)), r, 1e-9);
    }

    #[test]
    fn a_field_on_the_displayed_page_lies_on_the_pdf_page(geometry in any_geometry(), r in any_view_rect()) {
        let on_page = r.clamp_into_page();
        let placed = geometry.to_pdf(on_page);
        prop_assert!(geometry.contains(&placed), "{on_page:?} became {placed:?} on {geometry:?}");
    }

    #[test]
    fn to_pdf_agrees_with_pdfjs_viewport(geometry in any_geometry(), r in any_view_rect()) {
        let rotation = i64::from(geometry.rotate);
        let view_box = [geometry.x0, geometry.y0, geometry.x1, geometry.y1];
        let (transform, width, height) = pdfjs_viewport(view_box, rotation);
        prop_assert_eq!(geometry.display_size(), (width, height));
        let [left, top, right, bottom] = through_pdfjs(transform, geometry.to_pdf(r));
        let expected = [r.left * width, r.top * height, (r.left + r.width) * width, (r.top + r.height) * height];
        for (got, want) in [left, top, right, bottom].into_iter().zip(expected) {
            prop_assert!(close(got, want, 1e-7), "pdf.js shows {:?}, expected {:?}", [left, top, right, bottom], expected);
        }
    }
}

/// Applies a `cm` matrix to a point of form space.
fn apply(m: [f64; 6], x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

#[test]
fn a_form_drawn_into_a_field_is_upright_on_every_rotation() {
    let field = pdf(100.0, 200.0, 60.0, 30.0);
    // Rotate 0: identity scaled, origin at the field's lower left.
    let m = page([0.0, 0.0, 612.0, 792.0], 0).form_matrix(field);
    for (a, b) in m.iter().zip([1.0, 0.0, 0.0, 1.0, 100.0, 200.0]) {
        assert!(close(*a, b, 1e-9), "{m:?}");
    }
    // Rotate 90: shown right is user +y, shown up is user -x, so the form's lower left (as
    // shown) is the field's corner with the largest x and smallest y.
    let g = page([0.0, 0.0, 612.0, 792.0], 90);
    assert_eq!(g.display_size_of(field), (30.0, 60.0));
    let m = g.form_matrix(field);
    for (a, b) in m.iter().zip([0.0, 1.0, -1.0, 0.0, 160.0, 200.0]) {
        assert!(close(*a, b, 1e-9), "{m:?}");
    }
    // Every rotation: the form's corners land on the field's corners, and its top-left corner
    // lands where the page shows the field's top left.
    for rotate in [0, 90, 180, 270] {
        let g = page([10.0, -20.0, 622.0, 772.0], rotate);
        let m = g.form_matrix(field);
        let (dw, dh) = g.display_size_of(field);
        let corners: Vec<(f64, f64)> =
            [(0.0, 0.0), (dw, 0.0), (0.0, dh), (dw, dh)].iter().map(|&(x, y)| apply(m, x, y)).collect();
        for (x, y) in &corners {
            assert!(*x >= field.x - 1e-9 && *x <= field.x + field.width + 1e-9, "rotate {rotate}: {corners:?}");
            assert!(*y >= field.y - 1e-9 && *y <= field.y + field.height + 1e-9, "rotate {rotate}: {corners:?}");
        }
        let shown = g.to_view(field);
        let top_left = apply(m, 0.0, dh);
        let back = g.to_view(pdf(top_left.0, top_left.1, 1e-6, 1e-6));
        assert!(close(back.left, shown.left, 1e-6), "rotate {rotate}: {back:?} vs {shown:?}");
        assert!(close(back.top + back.height, shown.top, 1e-6), "rotate {rotate}: {back:?} vs {shown:?}");
    }
}

#[test]
fn overlap_is_the_shared_area_and_touching_is_not_overlapping() {
    let a = pdf(0.0, 0.0, 100.0, 50.0);
    assert_eq!(a.overlap_area(&pdf(50.0, 25.0, 100.0, 50.0)), 50.0 * 25.0);
    assert!(a.overlaps(&pdf(50.0, 25.0, 100.0, 50.0)));
    assert!(!a.overlaps(&pdf(100.0, 0.0, 10.0, 10.0)), "edges touching");
    assert!(!a.overlaps(&pdf(200.0, 200.0, 10.0, 10.0)));
    assert!(!a.overlaps(&pdf(99.5, 0.0, 10.0, 1.0)), "half a square point in common");
}

#[test]
fn new_fields_placed_one_after_another_never_land_on_each_other() {
    let g = page(LETTER, 0);
    let (w, h) = g.display_size();
    let mut taken: Vec<ViewRect> = Vec::new();
    // What pressing the palette twenty times adds, on the part of the page in view.
    let band = (0.25, 0.75);
    for kind in [160.0, 110.0, 180.0, 64.0, 18.0].iter().cycle().take(20) {
        let r = free_spot(kind / w, 24.0 / h, &taken, band);
        assert!(r.left >= 0.0 && r.left + r.width <= 1.0 + 1e-9 && r.top >= 0.0 && r.top + r.height <= 1.0 + 1e-9);
        for t in &taken {
            assert!(!g.to_pdf(r).overlaps(&g.to_pdf(*t)), "{r:?} lands on {t:?}");
        }
        taken.push(r);
    }
    // The first ones are in the part of the page on screen.
    for r in &taken[..5] {
        assert!(r.top >= band.0 && r.top + r.height <= band.1, "{r:?} is outside the visible band");
    }
    // And they line up in rows, reading order: the second sits right of the first.
    assert!((taken[1].top - taken[0].top).abs() < 1e-9 && taken[1].left > taken[0].left + taken[0].width);
}

#[test]
fn a_full_band_spills_to_the_rest_of_the_page_and_a_full_page_still_gives_a_spot() {
    let everything = vec![view(0.0, 0.4, 1.0, 0.2)];
    let r = free_spot(0.2, 0.05, &everything, (0.4, 0.6));
    assert!(r.top + r.height <= 0.4 || r.top >= 0.6, "{r:?}");
    let page_full = vec![view(0.0, 0.0, 1.0, 1.0)];
    let r = free_spot(0.2, 0.05, &page_full, (0.4, 0.6));
    assert!(r.top >= 0.4 && r.top + r.height <= 1.0, "{r:?}");
}

proptest! {
    #[test]
    fn a_free_spot_is_on_the_page_and_clear_when_any_is(
        boxes in proptest::collection::vec((0.0..0.9f64, 0.0..0.9f64, 0.01..0.3f64, 0.01..0.1f64), 0..12),
        top in 0.0..1.0f64,
        span in 0.0..1.0f64,
    ) {
        let taken: Vec<ViewRect> = boxes.into_iter().map(|(l, t, w, h)| view(l, t, w.min(1.0 - l), h.min(1.0 - t))).collect();
        let r = free_spot(0.25, 0.05, &taken, (top, (top + span).min(1.0)));
        prop_assert!(r.left >= 0.0 && r.top >= 0.0 && r.left + r.width <= 1.0 + 1e-9 && r.top + r.height <= 1.0 + 1e-9);
        prop_assert!((r.width - 0.25).abs() < 1e-12 && (r.height - 0.05).abs() < 1e-12);
    }
}
