//! The signature pad's arithmetic, kept apart from the browser so it is tested natively: strokes
//! and how they are smoothed, the ink's extent, and trimming an exported image to its ink.
//!
//! Invariant: points are stored in CSS pixels of the pad *as it was when the first stroke began*
//! (its frame). When the pad is resized or the phone rotated, everything is redrawn scaled by
//! [`Ink::scale_for`], so strokes keep their shape and place instead of being cut off.

/// One sampled position of the pointer, with the line width there (wider under a pen pressed
/// harder).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub width: f64,
}

/// A quadratic Bézier piece of a stroke, stroked with round caps at `width`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub from: (f64, f64),
    pub ctrl: (f64, f64),
    pub to: (f64, f64),
    pub width: f64,
}

/// Line width in frame pixels for a finger or mouse, and for a pen at medium pressure.
pub const BASE_WIDTH: f64 = 2.6;

/// Samples closer than this (frame pixels) to the previous one add jitter, not shape.
pub const MIN_STEP: f64 = 0.6;

fn mid(a: Point, b: Point) -> (f64, f64) {
    ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0)
}

fn straight(from: (f64, f64), to: (f64, f64), width: f64) -> Segment {
    Segment { from, ctrl: ((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0), to, width }
}

/// The segment that became drawable when the last of `points` arrived, for painting while the
/// stroke is still being drawn.
///
/// The curve runs through the midpoints of successive samples with each sample as the control
/// point, so consecutive pieces meet with the same tangent and the line has no corners.
pub fn latest_segment(points: &[Point]) -> Option<Segment> {
    match points {
        [] | [_] => None,
        [first, second] => Some(straight((first.x, first.y), mid(*first, *second), first.width)),
        [.., a, b, c] => Some(Segment { from: mid(*a, *b), ctrl: (b.x, b.y), to: mid(*b, *c), width: b.width }),
    }
}

/// The last piece of a finished stroke: from the last midpoint to the last sample.
pub fn closing_segment(points: &[Point]) -> Option<Segment> {
    match points {
        [.., a, b] => Some(straight(mid(*a, *b), (b.x, b.y), b.width)),
        _ => None,
    }
}

/// The pieces of a stroke in progress: exactly what [`latest_segment`] produced sample by sample.
pub fn open_segments(points: &[Point]) -> Vec<Segment> {
    (2..=points.len()).filter_map(|n| latest_segment(&points[..n])).collect()
}

/// The pieces of a finished stroke, from its first sample to its last. A stroke of one sample
/// has none: it is painted as a dot.
pub fn segments(points: &[Point]) -> Vec<Segment> {
    let mut all = open_segments(points);
    all.extend(closing_segment(points));
    all
}

/// Line width for a sample. Pens report pressure; mice report 0.5 while pressed and touch
/// screens report whatever they like, so only a pen's pressure is used.
pub fn pen_width(base: f64, pressure: Option<f32>) -> f64 {
    match pressure {
        Some(p) if p > 0.0 => base * (0.35 + 1.3 * f64::from(p.min(1.0))),
        _ => base,
    }
}

/// Whether `next` is far enough from `last` to be worth keeping.
pub fn far_enough(last: Point, next: Point) -> bool {
    (next.x - last.x).hypot(next.y - last.y) >= MIN_STEP
}

/// The rectangle holding all ink, line widths included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
}

impl Extent {
    pub fn width(&self) -> f64 {
        self.max_x - self.min_x
    }

    pub fn height(&self) -> f64 {
        self.max_y - self.min_y
    }
}

/// The finished strokes of a drawing and the frame their coordinates refer to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ink {
    strokes: Vec<Vec<Point>>,
    /// The pad's CSS size when the first stroke began.
    frame: Option<(f64, f64)>,
}

impl Ink {
    pub fn is_empty(&self) -> bool {
        self.strokes.is_empty()
    }

    pub fn strokes(&self) -> &[Vec<Point>] {
        &self.strokes
    }

    /// Called as a stroke begins on an empty pad: coordinates from now on refer to this size.
    pub fn set_frame(&mut self, width: f64, height: f64) {
        if self.strokes.is_empty() {
            self.frame = Some((width, height));
        }
    }

    /// How much bigger than its frame the pad is drawn at `width` × `height` CSS pixels. Uniform,
    /// and fitted to the tighter side, so a stroke never stretches or falls outside.
    pub fn scale_for(&self, width: f64, height: f64) -> f64 {
        match self.frame {
            Some((fw, fh)) if fw > 0.0 && fh > 0.0 && width > 0.0 && height > 0.0 => (width / fw).min(height / fh),
            _ => 1.0,
        }
    }

    pub fn push(&mut self, stroke: Vec<Point>) {
        if !stroke.is_empty() {
            self.strokes.push(stroke);
        }
    }

    pub fn undo(&mut self) {
        self.strokes.pop();
    }

    pub fn clear(&mut self) {
        self.strokes.clear();
        self.frame = None;
    }

    /// Where the ink is; `None` when there is none. Bézier pieces stay inside the hull of their
    /// points, so the samples bound the curve.
    pub fn extent(&self) -> Option<Extent> {
        self.strokes.iter().flatten().fold(None, |acc: Option<Extent>, p| {
            let r = p.width / 2.0;
            let e = Extent { min_x: p.x - r, min_y: p.y - r, max_x: p.x + r, max_y: p.y + r };
            Some(match acc {
                None => e,
                Some(a) => Extent {
                    min_x: a.min_x.min(e.min_x),
                    min_y: a.min_y.min(e.min_y),
                    max_x: a.max_x.max(e.max_x),
                    max_y: a.max_y.max(e.max_y),
                },
            })
        })
    }
}

/// Pixels per frame pixel when drawing the ink offscreen for export: sharp (up to 3×, like a
/// phone screen) but no wider than `max_width` when it can be helped.
pub fn export_scale(ink_width: f64, max_width: f64) -> f64 {
    if ink_width <= 0.0 { 3.0 } else { (max_width / ink_width).clamp(1.0, 3.0) }
}

/// A rectangle of whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The smallest rectangle holding every pixel that is not fully transparent, in RGBA bytes
/// (as `getImageData` returns them) of a `width` × `height` image; `None` when all are.
pub fn alpha_bounds(rgba: &[u8], width: u32, height: u32) -> Option<PixelRect> {
    let w = width as usize;
    if w == 0 {
        return None;
    }
    let mut found: Option<(usize, usize, usize, usize)> = None;
    for (y, row) in rgba.chunks_exact(w * 4).take(height as usize).enumerate() {
        let Some(first) = row.chunks_exact(4).position(|px| px[3] != 0) else { continue };
        let last = row.chunks_exact(4).rposition(|px| px[3] != 0).unwrap_or(first);
        found = Some(match found {
            None => (first, y, last, y),
            Some((x0, y0, x1, _)) => (x0.min(first), y0, x1.max(last), y),
        });
    }
    let (x0, y0, x1, y1) = found?;
    let px = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    Some(PixelRect { x: px(x0), y: px(y0), width: px(x1 - x0 + 1), height: px(y1 - y0 + 1) })
}

/// How to copy the ink into the exported image: the source rectangle, the output size, and
/// where the ink lands in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropPlan {
    pub src: PixelRect,
    pub out_width: u32,
    pub out_height: u32,
    pub dest_x: f64,
    pub dest_y: f64,
    pub dest_width: f64,
    pub dest_height: f64,
}

/// Trims to `ink` plus `margin` transparent pixels on every side, scaled down (never up) to at
/// most `max_width` pixels wide.
pub fn crop_plan(ink: PixelRect, margin: u32, max_width: u32) -> CropPlan {
    let full_w = f64::from(ink.width) + 2.0 * f64::from(margin);
    let full_h = f64::from(ink.height) + 2.0 * f64::from(margin);
    let k = (f64::from(max_width.max(1)) / full_w).min(1.0);
    let whole = |v: f64| (v.round() as u32).max(1);
    CropPlan {
        src: ink,
        out_width: whole(full_w * k),
        out_height: whole(full_h * k),
        dest_x: f64::from(margin) * k,
        dest_y: f64::from(margin) * k,
        dest_width: f64::from(ink.width) * k,
        dest_height: f64::from(ink.height) * k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Point {
        Point { x, y, width: BASE_WIDTH }
    }

    fn xy(p: Point) -> (f64, f64) {
        (p.x, p.y)
    }

    #[test]
    fn a_finished_stroke_runs_from_its_first_sample_to_its_last_without_gaps() {
        let points = [p(0.0, 0.0), p(10.0, 4.0), p(20.0, 0.0), p(30.0, 8.0), p(31.0, 20.0)];
        let segs = segments(&points);
        assert_eq!(segs.len(), points.len());
        assert_eq!(segs[0].from, xy(points[0]));
        assert_eq!(segs[segs.len() - 1].to, xy(points[points.len() - 1]));
        for pair in segs.windows(2) {
            assert_eq!(pair[0].to, pair[1].from);
        }
    }

    #[test]
    fn inner_pieces_join_midpoints_with_the_sample_as_control_point() {
        let points = [p(0.0, 0.0), p(10.0, 10.0), p(20.0, 0.0)];
        let seg = latest_segment(&points).expect("three samples make a curve");
        assert_eq!(seg, Segment { from: (5.0, 5.0), ctrl: (10.0, 10.0), to: (15.0, 5.0), width: BASE_WIDTH });
    }

    #[test]
    fn consecutive_pieces_share_a_tangent_where_they_meet() {
        let points = [p(0.0, 0.0), p(10.0, 10.0), p(20.0, 0.0), p(35.0, 5.0)];
        let segs = segments(&points);
        for pair in segs.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let out = (a.to.0 - a.ctrl.0, a.to.1 - a.ctrl.1);
            let into = (b.ctrl.0 - b.from.0, b.ctrl.1 - b.from.1);
            // Parallel and pointing the same way: cross product zero, dot product positive.
            assert!((out.0 * into.1 - out.1 * into.0).abs() < 1e-9, "{a:?} then {b:?}");
            assert!(out.0 * into.0 + out.1 * into.1 > 0.0);
        }
    }

    #[test]
    fn painting_sample_by_sample_gives_the_same_pieces_as_the_finished_stroke() {
        let points = [p(1.0, 1.0), p(4.0, 9.0), p(9.0, 3.0), p(12.0, 12.0), p(20.0, 2.0)];
        let mut live: Vec<Segment> = (2..=points.len()).filter_map(|n| latest_segment(&points[..n])).collect();
        live.extend(closing_segment(&points));
        assert_eq!(live, segments(&points));
    }

    #[test]
    fn a_single_tap_has_no_segments_and_two_samples_make_a_straight_line() {
        assert!(segments(&[p(3.0, 3.0)]).is_empty());
        let segs = segments(&[p(0.0, 0.0), p(10.0, 0.0)]);
        assert_eq!(segs.len(), 2);
        assert!(segs.iter().all(|s| s.from.1 == 0.0 && s.ctrl.1 == 0.0 && s.to.1 == 0.0));
    }

    #[test]
    fn only_a_pens_pressure_changes_the_width() {
        assert_eq!(pen_width(2.0, None), 2.0);
        assert_eq!(pen_width(2.0, Some(0.0)), 2.0);
        assert!((pen_width(2.0, Some(0.5)) - 2.0).abs() < 1e-9);
        assert!(pen_width(2.0, Some(1.0)) > pen_width(2.0, Some(0.5)));
        assert!(pen_width(2.0, Some(0.1)) < 2.0);
        assert_eq!(pen_width(2.0, Some(7.0)), pen_width(2.0, Some(1.0)));
    }

    #[test]
    fn jitter_below_the_minimum_step_is_dropped() {
        assert!(!far_enough(p(0.0, 0.0), p(0.3, 0.3)));
        assert!(far_enough(p(0.0, 0.0), p(1.0, 0.0)));
    }

    #[test]
    fn strokes_are_redrawn_scaled_to_the_new_size_of_the_pad() {
        let mut ink = Ink::default();
        assert_eq!(ink.scale_for(500.0, 100.0), 1.0);
        ink.set_frame(300.0, 100.0);
        ink.push(vec![p(10.0, 10.0)]);
        assert_eq!(ink.scale_for(600.0, 200.0), 2.0);
        // Rotated to a wider but lower pad: fits the height, so nothing falls off the bottom.
        assert_eq!(ink.scale_for(900.0, 150.0), 1.5);
        // The frame stays put while there is ink.
        ink.set_frame(900.0, 150.0);
        assert_eq!(ink.scale_for(300.0, 100.0), 1.0);
    }

    #[test]
    fn undo_removes_the_last_stroke_and_clear_forgets_the_frame() {
        let mut ink = Ink::default();
        ink.set_frame(300.0, 100.0);
        ink.push(vec![p(1.0, 1.0)]);
        ink.push(vec![p(2.0, 2.0), p(3.0, 3.0)]);
        ink.push(Vec::new());
        assert_eq!(ink.strokes().len(), 2);
        ink.undo();
        assert_eq!(ink.strokes(), &[vec![p(1.0, 1.0)]]);
        ink.clear();
        assert!(ink.is_empty());
        assert_eq!(ink.scale_for(600.0, 200.0), 1.0);
    }

    #[test]
    fn the_extent_covers_every_sample_and_half_its_line_width() {
        let mut ink = Ink::default();
        assert_eq!(ink.extent(), None);
        ink.push(vec![Point { x: 10.0, y: 20.0, width: 2.0 }, Point { x: 50.0, y: 5.0, width: 4.0 }]);
        ink.push(vec![Point { x: 30.0, y: 40.0, width: 2.0 }]);
        let e = ink.extent().expect("ink");
        assert_eq!(e, Extent { min_x: 9.0, min_y: 3.0, max_x: 52.0, max_y: 41.0 });
        assert_eq!((e.width(), e.height()), (43.0, 38.0));
    }

    #[test]
    fn export_scale_is_sharp_but_bounded() {
        assert_eq!(export_scale(100.0, 1200.0), 3.0);
        assert_eq!(export_scale(600.0, 1200.0), 2.0);
        assert_eq!(export_scale(2400.0, 1200.0), 1.0);
        assert_eq!(export_scale(0.0, 1200.0), 3.0);
    }

    fn image(width: u32, height: u32, inked: &[(u32, u32)]) -> Vec<u8> {
        let mut rgba = vec![0u8; (width * height * 4) as usize];
        for &(x, y) in inked {
            let i = ((y * width + x) * 4) as usize;
            rgba[i..i + 4].copy_from_slice(&[0x1a, 0x2b, 0x6d, 255]);
        }
        rgba
    }

    #[test]
    fn alpha_bounds_is_the_tightest_rectangle_around_visible_pixels() {
        let rgba = image(10, 8, &[(3, 2), (7, 5), (5, 6)]);
        assert_eq!(alpha_bounds(&rgba, 10, 8), Some(PixelRect { x: 3, y: 2, width: 5, height: 5 }));
    }

    #[test]
    fn alpha_bounds_counts_faint_antialiasing_and_single_pixels() {
        let mut rgba = image(4, 4, &[]);
        rgba[(4 + 2) * 4 + 3] = 1;
        assert_eq!(alpha_bounds(&rgba, 4, 4), Some(PixelRect { x: 2, y: 1, width: 1, height: 1 }));
        let corners = image(4, 4, &[(0, 0), (3, 3)]);
        assert_eq!(alpha_bounds(&corners, 4, 4), Some(PixelRect { x: 0, y: 0, width: 4, height: 4 }));
    }

    #[test]
    fn a_blank_or_degenerate_image_has_no_bounds() {
        assert_eq!(alpha_bounds(&image(6, 3, &[]), 6, 3), None);
        assert_eq!(alpha_bounds(&[], 0, 0), None);
        // Colour without alpha is still transparent.
        assert_eq!(alpha_bounds(&[255, 255, 255, 0], 1, 1), None);
        // A short buffer is read as far as it goes.
        assert_eq!(alpha_bounds(&image(2, 1, &[(1, 0)]), 2, 5), Some(PixelRect { x: 1, y: 0, width: 1, height: 1 }));
    }

    #[test]
    fn a_crop_keeps_the_margin_around_small_ink_at_full_size() {
        let plan = crop_plan(PixelRect { x: 40, y: 10, width: 300, height: 80 }, 12, 1200);
        assert_eq!((plan.out_width, plan.out_height), (324, 104));
        assert_eq!((plan.dest_x, plan.dest_y, plan.dest_width, plan.dest_height), (12.0, 12.0, 300.0, 80.0));
    }

    #[test]
    fn a_crop_of_wide_ink_is_scaled_down_to_the_maximum_width() {
        let plan = crop_plan(PixelRect { x: 0, y: 0, width: 2380, height: 580 }, 10, 1200);
        assert_eq!((plan.out_width, plan.out_height), (1200, 300));
        assert_eq!((plan.dest_x, plan.dest_width), (5.0, 1190.0));
    }
}
