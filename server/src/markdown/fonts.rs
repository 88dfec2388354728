//! Embedded fonts, glyph lookup and text measurement.
//!
//! The layout engine measures text with exactly the same glyph choice and advance widths that the
//! PDF writer later draws, so line breaks computed here always match what ends up on the page.
//! We deliberately do no OpenType shaping (no kerning or ligatures): for Latin contract text the
//! difference is invisible, and it keeps measurement cheap and predictable.

use std::ops::Range;
use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

/// Raw bytes of every face, compiled into the binary so rendering never touches the filesystem.
/// Paths are relative to the crate root, so moving `fonts/` next to another `Cargo.toml` works.
const SERIF_REGULAR: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/LiberationSerif-Regular.ttf"));
const SERIF_BOLD: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/LiberationSerif-Bold.ttf"));
const SERIF_ITALIC: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/LiberationSerif-Italic.ttf"));
const SERIF_BOLD_ITALIC: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/LiberationSerif-BoldItalic.ttf"));
const MONO_REGULAR: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/LiberationMono-Regular.ttf"));
const FALLBACK: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/DejaVuSans.ttf"));

/// One of the embedded font faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    Regular,
    Bold,
    Italic,
    BoldItalic,
    Mono,
    /// DejaVu Sans: covers Greek, Cyrillic, arrows, box drawing, check boxes and many symbols that
    /// Liberation lacks. Used per character, only when the requested face has no glyph.
    Fallback,
}

impl Face {
    const ALL: [Face; 6] = [Face::Regular, Face::Bold, Face::Italic, Face::BoldItalic, Face::Mono, Face::Fallback];

    fn index(self) -> usize {
        match self {
            Face::Regular => 0,
            Face::Bold => 1,
            Face::Italic => 2,
            Face::BoldItalic => 3,
            Face::Mono => 4,
            Face::Fallback => 5,
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Regular => SERIF_REGULAR,
            Face::Bold => SERIF_BOLD,
            Face::Italic => SERIF_ITALIC,
            Face::BoldItalic => SERIF_BOLD_ITALIC,
            Face::Mono => MONO_REGULAR,
            Face::Fallback => FALLBACK,
        }
    }

    /// The serif face for a bold/italic combination.
    pub fn serif(bold: bool, italic: bool) -> Face {
        match (bold, italic) {
            (false, false) => Face::Regular,
            (true, false) => Face::Bold,
            (false, true) => Face::Italic,
            (true, true) => Face::BoldItalic,
        }
    }
}

/// A parsed face: the krilla handle used for drawing plus skrifa tables used for measuring.
struct LoadedFace {
    font: Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
    ascent: f32,
    descent: f32,
}

impl LoadedFace {
    fn load(face: Face) -> Result<Self, String> {
        let bytes = face.bytes();
        let font_ref = FontRef::new(bytes).map_err(|e| format!("cannot parse embedded font {face:?}: {e}"))?;
        let font = Font::new(bytes.into(), 0).ok_or_else(|| format!("krilla rejected embedded font {face:?}"))?;
        let metrics = font_ref.metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(metrics.units_per_em.max(1));
        Ok(Self {
            font,
            charmap: font_ref.charmap(),
            metrics: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em,
            ascent: metrics.ascent / units_per_em,
            descent: -metrics.descent / units_per_em,
        })
    }

    /// Glyph for `c`, treating "maps to .notdef" the same as "not mapped".
    fn glyph(&self, c: char) -> Option<u32> {
        self.charmap.map(c).map(|g| g.to_u32()).filter(|&g| g != 0)
    }

    /// Advance width in em units (multiply by the font size to get points).
    fn advance(&self, glyph: u32) -> f32 {
        self.metrics.advance_width(skrifa::GlyphId::new(glyph)).unwrap_or(0.0) / self.units_per_em
    }
}

/// A run of consecutive characters drawn with the same face.
pub struct GlyphRun {
    pub face: Face,
    /// Byte range of the run inside the measured string.
    pub text: Range<usize>,
    /// Glyphs with text ranges relative to `text.start`, ready for `Surface::draw_glyphs`.
    pub glyphs: Vec<KrillaGlyph>,
    /// Advance of the run in em units.
    pub width: f32,
}

/// All embedded faces. Parsed once per process: parsing is cheap but not free, and the tables are
/// immutable views into `'static` bytes, so sharing them between threads is safe.
pub struct FontSet {
    faces: Vec<LoadedFace>,
    /// Glyph for U+FFFD in the fallback font, drawn for characters no embedded font covers (CJK…).
    replacement: u32,
}

impl FontSet {
    /// The process-wide font set, loaded on first use.
    pub fn get() -> Result<&'static FontSet, String> {
        static FONTS: OnceLock<Result<FontSet, String>> = OnceLock::new();
        FONTS.get_or_init(FontSet::load).as_ref().map_err(Clone::clone)
    }

    fn load() -> Result<FontSet, String> {
        let faces = Face::ALL.iter().map(|&f| LoadedFace::load(f)).collect::<Result<Vec<_>, _>>()?;
        let mut set = FontSet { faces, replacement: 0 };
        set.replacement = set.face(Face::Fallback).and_then(|f| f.glyph('\u{FFFD}')).unwrap_or(0);
        Ok(set)
    }

    fn face(&self, face: Face) -> Option<&LoadedFace> {
        self.faces.get(face.index())
    }

    /// The krilla font handle for drawing `face`.
    pub fn krilla_font(&self, face: Face) -> Option<Font> {
        self.face(face).map(|f| f.font.clone())
    }

    /// Ascent and descent (both positive, em units) of a face, used for baseline placement.
    pub fn vertical_metrics(&self, face: Face) -> (f32, f32) {
        self.face(face).map_or((0.9, 0.25), |f| (f.ascent, f.descent))
    }

    /// Which face and glyph draw `c` when `face` is requested: the face itself, else the
    /// fallback font, else the fallback's replacement character.
    fn resolve(&self, c: char, face: Face) -> (Face, u32) {
        if let Some(g) = self.face(face).and_then(|f| f.glyph(c)) {
            return (face, g);
        }
        if let Some(g) = self.face(Face::Fallback).and_then(|f| f.glyph(c)) {
            return (Face::Fallback, g);
        }
        (Face::Fallback, self.replacement)
    }

    fn advance(&self, face: Face, glyph: u32) -> f32 {
        self.face(face).map_or(0.0, |f| f.advance(glyph))
    }

    /// Width of `text` in em units when set in `face` (multiply by the font size for points).
    pub fn measure(&self, text: &str, face: Face) -> f32 {
        text.chars()
            .map(|c| {
                let (f, g) = self.resolve(c, face);
                self.advance(f, g)
            })
            .sum()
    }

    /// Width of one character in em units.
    pub fn char_width(&self, c: char, face: Face) -> f32 {
        let (f, g) = self.resolve(c, face);
        self.advance(f, g)
    }

    /// Splits `text` into runs of one face each, with glyph ids and advances for drawing.
    pub fn runs(&self, text: &str, face: Face) -> Vec<GlyphRun> {
        let mut runs: Vec<GlyphRun> = Vec::new();
        for (start, c) in text.char_indices() {
            let end = start + c.len_utf8();
            let (f, g) = self.resolve(c, face);
            let advance = self.advance(f, g);
            if runs.last().is_none_or(|run| run.face != f) {
                runs.push(GlyphRun { face: f, text: start..start, glyphs: Vec::new(), width: 0.0 });
            }
            let Some(run) = runs.last_mut() else { continue };
            let base = run.text.start;
            run.glyphs.push(KrillaGlyph::new(GlyphId::new(g), advance, 0.0, 0.0, 0.0, start - base..end - base, None));
            run.text.end = end;
            run.width += advance;
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_all_faces_and_measures() {
        let fonts = FontSet::get().expect("fonts load");
        let w = fonts.measure("Agreement", Face::Regular);
        assert!(w > 3.0 && w < 6.0, "unexpected width {w}");
        assert!(fonts.measure("Agreement", Face::Bold) > w);
    }

    #[test]
    fn unknown_characters_fall_back_without_panicking() {
        let fonts = FontSet::get().expect("fonts load");
        let runs = fonts.runs("a\u{4E2D}Ω", Face::Regular);
        assert!(runs.iter().any(|r| r.face == Face::Fallback));
        let total: usize = runs.iter().map(|r| r.glyphs.len()).sum();
        assert_eq!(total, 3);
    }
}
