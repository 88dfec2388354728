//! Page geometry: where a field drawn on a page as the browser shows it lies in the PDF, and back.
//!
//! A sender places fields on pages rendered by pdf.js. What is stored is a [`PdfRect`] in the
//! page's own user space (points, origin at the lower left, unrotated), so a placement does not
//! depend on the sender's screen, zoom or window, and the flattener draws into it directly. The
//! browser works in [`ViewRect`]s, fractions of the page as displayed, and converts with the
//! page's [`PageGeometry`].
//!
//! A page's geometry is what pdf.js calls its *view*: the CropBox intersected with the MediaBox,
//! turned clockwise by `/Rotate` (`PageViewport` in pdf.js; `documents::pdf::page_geometry`
//! reads it from a file). With `w = x1 - x0` and `h = y1 - y0`, each corner of the view box shows
//! up here (`→y` means user-space y grows to the right on screen):
//!
//! ```text
//!   /Rotate 0, shown w × h     /Rotate 90, shown h × w    /Rotate 180, shown w × h   /Rotate 270, shown h × w
//!   (x0,y1) ────── (x1,y1)     (x0,y0) ────── (x0,y1)     (x1,y0) ────── (x0,y0)     (x1,y1) ────── (x1,y0)
//!      │   ↑y  →x     │           │   →y  ↓x     │           │   ↓y  ←x     │           │   ←y  ↑x     │
//!   (x0,y0) ────── (x1,y0)     (x1,y0) ────── (x1,y1)     (x1,y1) ────── (x0,y1)     (x0,y1) ────── (x0,y0)
//! ```
//!
//! so a point shown at fractions `(u, v)` of the displayed width and height, from the top left, is
//!
//! | `/Rotate` | x            | y            |
//! |-----------|--------------|--------------|
//! | 0         | `x0 + u·w`   | `y1 − v·h`   |
//! | 90        | `x0 + v·w`   | `y0 + u·h`   |
//! | 180       | `x1 − u·w`   | `y0 + v·h`   |
//! | 270       | `x1 − v·w`   | `y1 − u·h`   |
//!
//! At 90 and 270 a box drawn `a` wide and `b` high on screen is `b` wide and `a` high in user
//! space. The tests hold these against numbers pdf.js itself computed.
//!
//! Invariants: a [`PageGeometry`] always has finite, normalised corners, positive sides of at
//! most [`MAX_PAGE_SIDE`], and a rotation of 0, 90, 180 or 270 (deserialising checks this too);
//! `to_view(to_pdf(r)) == r` and `to_pdf(to_view(p)) == p` up to rounding.

use serde::{Deserialize, Serialize};

/// The largest page side PDF allows, in default user-space units (200 inches).
pub const MAX_PAGE_SIDE: f64 = 14_400.0;

/// How far (in points) a rectangle may overhang the page and still count as on it: rounding on
/// the way through fractions must not make a field on the edge fall off.
pub const CONTAINS_EPSILON: f64 = 0.01;

/// Why numbers cannot be a page's geometry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error("the page box has a coordinate that is not a finite number")]
    NotFinite,
    #[error("the page has no area: its box is zero wide or zero high")]
    Empty,
    #[error("the page is larger than PDF allows: at most {MAX_PAGE_SIDE} points (200 inches) a side")]
    TooLarge,
    #[error("a page can only be turned by a multiple of 90 degrees, not by {0}")]
    Rotation(i64),
}

/// A page as a viewer shows it: the visible area in PDF user space and the clockwise rotation.
///
/// Build one with [`PageGeometry::new`]; the fields are public to read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PageGeometryWire")]
pub struct PageGeometry {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    /// Clockwise, in degrees: 0, 90, 180 or 270.
    pub rotate: u16,
}

/// The serialised form, checked by [`PageGeometry::new`] on the way in.
#[derive(Deserialize)]
struct PageGeometryWire {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    rotate: i64,
}

impl TryFrom<PageGeometryWire> for PageGeometry {
    type Error = GeometryError;
    fn try_from(wire: PageGeometryWire) -> Result<Self, Self::Error> {
        Self::new([wire.x0, wire.y0, wire.x1, wire.y1], wire.rotate)
    }
}

/// A rectangle on the page as displayed: fractions 0..=1 of the displayed width/height, origin
/// top-left, y down.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ViewRect {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// A rectangle in PDF user space (unrotated), lower-left corner and size in points: what a
/// flattener draws into.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PdfRect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl PageGeometry {
    /// The geometry of a page whose view box has corners `view` (`[x0, y0, x1, y1]`, in either
    /// order, as a PDF rectangle may give them) and whose `/Rotate` is `rotate`.
    ///
    /// The rotation may be negative or 360 and more, as PDF writers produce them; it is reduced
    /// to 0, 90, 180 or 270 the way pdf.js does (`-90` is `270`, `450` is `90`).
    pub fn new(view: [f64; 4], rotate: i64) -> Result<Self, GeometryError> {
        if view.iter().any(|c| !c.is_finite()) {
            return Err(GeometryError::NotFinite);
        }
        let [ax, ay, bx, by] = view;
        let (x0, x1) = (ax.min(bx), ax.max(bx));
        let (y0, y1) = (ay.min(by), ay.max(by));
        // The subtraction, not the corners, is what must be finite and positive: corners near
        // f64::MAX are finite but their difference is not.
        let (w, h) = (x1 - x0, y1 - y0);
        if !(w.is_finite() && h.is_finite()) || w > MAX_PAGE_SIDE || h > MAX_PAGE_SIDE {
            return Err(GeometryError::TooLarge);
        }
        if w <= 0.0 || h <= 0.0 {
            return Err(GeometryError::Empty);
        }
        let turned = rotate.rem_euclid(360);
        if turned % 90 != 0 {
            return Err(GeometryError::Rotation(rotate));
        }
        let rotate = u16::try_from(turned).map_err(|_| GeometryError::Rotation(rotate))?;
        Ok(Self { x0, y0, x1, y1, rotate })
    }

    /// The view box's width and height in user space, before rotation.
    fn box_size(&self) -> (f64, f64) {
        (self.x1 - self.x0, self.y1 - self.y0)
    }

    /// Width and height in points as shown: the view box's, swapped when the page is turned a
    /// quarter.
    pub fn display_size(&self) -> (f64, f64) {
        let (w, h) = self.box_size();
        if self.quarter_turned() { (h, w) } else { (w, h) }
    }

    fn quarter_turned(&self) -> bool {
        self.rotate == 90 || self.rotate == 270
    }

    /// Where a rectangle drawn on the displayed page lies in user space (see the module's table).
    pub fn to_pdf(&self, r: ViewRect) -> PdfRect {
        let (w, h) = self.box_size();
        let (x0, y0, x1, y1) = (self.x0, self.y0, self.x1, self.y1);
        match self.rotate {
            90 => PdfRect { x: x0 + r.top * w, y: y0 + r.left * h, width: r.height * w, height: r.width * h },
            180 => {
                PdfRect { x: x1 - (r.left + r.width) * w, y: y0 + r.top * h, width: r.width * w, height: r.height * h }
            }
            270 => PdfRect {
                x: x1 - (r.top + r.height) * w,
                y: y1 - (r.left + r.width) * h,
                width: r.height * w,
                height: r.width * h,
            },
            _ => {
                PdfRect { x: x0 + r.left * w, y: y1 - (r.top + r.height) * h, width: r.width * w, height: r.height * h }
            }
        }
    }

    /// Where a user-space rectangle shows on the displayed page: the inverse of [`Self::to_pdf`].
    pub fn to_view(&self, r: PdfRect) -> ViewRect {
        let (w, h) = self.box_size();
        let (x0, y0, x1, y1) = (self.x0, self.y0, self.x1, self.y1);
        match self.rotate {
            90 => ViewRect { left: (r.y - y0) / h, top: (r.x - x0) / w, width: r.height / h, height: r.width / w },
            180 => {
                let width = r.width / w;
                ViewRect { left: (x1 - r.x) / w - width, top: (r.y - y0) / h, width, height: r.height / h }
            }
            270 => {
                let (width, height) = (r.height / h, r.width / w);
                ViewRect { left: (y1 - r.y) / h - width, top: (x1 - r.x) / w - height, width, height }
            }
            _ => {
                let height = r.height / h;
                ViewRect { left: (r.x - x0) / w, top: (y1 - r.y) / h - height, width: r.width / w, height }
            }
        }
    }

    /// Where a point shown at fractions `(u, v)` of the displayed page, from the top left, lies
    /// in user space (the module's table).
    fn point(&self, u: f64, v: f64) -> (f64, f64) {
        let (w, h) = self.box_size();
        match self.rotate {
            90 => (self.x0 + v * w, self.y0 + u * h),
            180 => (self.x1 - u * w, self.y0 + v * h),
            270 => (self.x1 - v * w, self.y1 - u * h),
            _ => (self.x0 + u * w, self.y1 - v * h),
        }
    }

    /// The matrix (`[a b c d e f]` of a PDF `cm`) that draws a form of `r`'s displayed size,
    /// upright as a reader sees the page, into `r`: what a flattener uses so a signature on a
    /// turned page is upright on screen and paper, like the one the signer saw.
    ///
    /// The form's space runs from `(0, 0)` at its lower left to its displayed width and height
    /// ([`Self::display_size_of`]), y up.
    pub fn form_matrix(&self, r: PdfRect) -> [f64; 6] {
        let v = self.to_view(r);
        let (dw, dh) = self.display_size_of(r);
        let origin = self.point(v.left, v.top + v.height);
        let right = self.point(v.left + v.width, v.top + v.height);
        let up = self.point(v.left, v.top);
        [
            (right.0 - origin.0) / dw,
            (right.1 - origin.1) / dw,
            (up.0 - origin.0) / dh,
            (up.1 - origin.1) / dh,
            origin.0,
            origin.1,
        ]
    }

    /// A user-space rectangle's width and height as shown: swapped on a page turned a quarter.
    pub fn display_size_of(&self, r: PdfRect) -> (f64, f64) {
        if self.quarter_turned() { (r.height, r.width) } else { (r.width, r.height) }
    }

    /// Whether `r` is a valid rectangle lying on the visible page, allowing
    /// [`CONTAINS_EPSILON`] of overhang on each side.
    pub fn contains(&self, r: &PdfRect) -> bool {
        r.is_valid()
            && r.x >= self.x0 - CONTAINS_EPSILON
            && r.y >= self.y0 - CONTAINS_EPSILON
            && r.x + r.width <= self.x1 + CONTAINS_EPSILON
            && r.y + r.height <= self.y1 + CONTAINS_EPSILON
    }
}

impl ViewRect {
    /// The rectangle moved (and, only if it is larger than the page, shrunk) so it lies within
    /// the page: what a field dragged past an edge becomes. Anything not a number becomes 0.
    pub fn clamp_into_page(self) -> Self {
        let width = unit(self.width);
        let height = unit(self.height);
        let left = if self.left.is_nan() { 0.0 } else { self.left.clamp(0.0, 1.0 - width) };
        let top = if self.top.is_nan() { 0.0 } else { self.top.clamp(0.0, 1.0 - height) };
        Self { left, top, width, height }
    }
}

/// Shared area, in square points, above which two fields count as overlapping: boxes that only
/// touch, or meet within rounding, do not.
pub const OVERLAP_MIN_AREA: f64 = 1.0;

/// Room left between a placed field and its neighbours, and from the page's edges, as a share of
/// the displayed page.
pub const PLACEMENT_GAP: f64 = 0.015;

/// Where a new field of `width` × `height` (fractions of the displayed page) goes on a page that
/// already holds `taken`, when the sender adds it without pointing at a spot: inside the band of
/// the page that is on screen (`visible`, from top to bottom as fractions), clear of every other
/// field by [`PLACEMENT_GAP`].
///
/// Candidates are the band's top-left corner and the spots just right of and just below each
/// field already there; the first free one in reading order (top to bottom, then left to right)
/// wins, so fields added one after another line up in rows instead of landing on one another.
/// When the band is full, the rest of the page is tried; when the page is full, the top of the
/// band (overlapping is then unavoidable, and sending warns about it).
pub fn free_spot(width: f64, height: f64, taken: &[ViewRect], visible: (f64, f64)) -> ViewRect {
    let width = unit(width);
    let height = unit(height);
    let (band_top, band_bottom) = {
        let (a, b) = (unit(visible.0), unit(visible.1));
        if b - a < height + 2.0 * PLACEMENT_GAP { (0.0, 1.0) } else { (a, b) }
    };
    let free = |r: &ViewRect| {
        let padded = ViewRect {
            left: r.left - PLACEMENT_GAP / 2.0,
            top: r.top - PLACEMENT_GAP / 2.0,
            width: r.width + PLACEMENT_GAP,
            height: r.height + PLACEMENT_GAP,
        };
        taken.iter().all(|t| !padded.intersects(t))
    };
    let within = |r: &ViewRect, top: f64, bottom: f64| {
        r.left >= 0.0 && r.left + r.width <= 1.0 && r.top >= top && r.top + r.height <= bottom
    };
    let search = |top: f64, bottom: f64| {
        let mut lefts = vec![PLACEMENT_GAP * 4.0];
        let mut tops = vec![top + PLACEMENT_GAP];
        for t in taken {
            lefts.push(t.left);
            lefts.push(t.left + t.width + PLACEMENT_GAP);
            tops.push(t.top);
            tops.push(t.top + t.height + PLACEMENT_GAP);
        }
        let mut candidates: Vec<ViewRect> = tops
            .iter()
            .flat_map(|&t| lefts.iter().map(move |&l| ViewRect { left: l, top: t, width, height }))
            .filter(|r| r.left.is_finite() && r.top.is_finite() && within(r, top, bottom))
            .collect();
        candidates.sort_by(|a, b| a.top.total_cmp(&b.top).then(a.left.total_cmp(&b.left)));
        candidates.into_iter().find(|r| free(r))
    };
    search(band_top, band_bottom)
        .or_else(|| search(0.0, 1.0))
        .unwrap_or(ViewRect { left: PLACEMENT_GAP * 4.0, top: band_top + PLACEMENT_GAP, width, height })
        .clamp_into_page()
}

impl ViewRect {
    /// Whether the two share any area (touching edges do not count).
    fn intersects(&self, other: &ViewRect) -> bool {
        self.left < other.left + other.width
            && other.left < self.left + self.width
            && self.top < other.top + other.height
            && other.top < self.top + self.height
    }
}

/// `v` within 0..=1, NaN as 0.
fn unit(v: f64) -> f64 {
    if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) }
}

impl PdfRect {
    /// The area the two rectangles share, in square points (0 when apart or only touching).
    pub fn overlap_area(&self, other: &PdfRect) -> f64 {
        let w = (self.x + self.width).min(other.x + other.width) - self.x.max(other.x);
        let h = (self.y + self.height).min(other.y + other.height) - self.y.max(other.y);
        if w > 0.0 && h > 0.0 { w * h } else { 0.0 }
    }

    /// Whether one would cover part of the other on the page: more than [`OVERLAP_MIN_AREA`] in
    /// common.
    pub fn overlaps(&self, other: &PdfRect) -> bool {
        self.overlap_area(other) > OVERLAP_MIN_AREA
    }

    /// Finite, with a positive width and height.
    pub fn is_valid(&self) -> bool {
        [self.x, self.y, self.width, self.height].iter().all(|v| v.is_finite()) && self.width > 0.0 && self.height > 0.0
    }
}

#[cfg(test)]
mod tests;
