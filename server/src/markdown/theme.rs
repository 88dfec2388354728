//! Typographic constants: one place to tune how a rendered contract looks.
//!
//! Values follow common contract typesetting: 1 inch margins, 11 pt serif body with ~1.4 line
//! spacing, a clear size step between heading levels, and quiet grey for rules and page numbers.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

pub const TEXT: Rgb = Rgb(0x1A, 0x1A, 0x1A);
pub const QUOTE_TEXT: Rgb = Rgb(0x44, 0x44, 0x44);
pub const LINK: Rgb = Rgb(0x1F, 0x4E, 0x9A);
pub const MUTED: Rgb = Rgb(0x60, 0x60, 0x60);
pub const RULE: Rgb = Rgb(0xB4, 0xB4, 0xB4);
pub const TABLE_BORDER: Rgb = Rgb(0x9A, 0x9A, 0x9A);
pub const QUOTE_BAR: Rgb = Rgb(0xC8, 0xC8, 0xC8);
pub const CODE_BACKGROUND: Rgb = Rgb(0xF3, 0xF3, 0xF3);
pub const TABLE_HEADER_BACKGROUND: Rgb = Rgb(0xEC, 0xEC, 0xEC);

/// Page margins in points (1 inch) on every side; the footer sits inside the bottom margin.
pub const MARGIN_LEFT: f32 = 72.0;
pub const MARGIN_RIGHT: f32 = 72.0;
pub const MARGIN_TOP: f32 = 72.0;
pub const MARGIN_BOTTOM: f32 = 72.0;
/// Distance from the bottom page edge to the footer baseline.
pub const FOOTER_BASELINE_FROM_BOTTOM: f32 = 40.0;
pub const FOOTER_SIZE: f32 = 9.0;

pub const BODY_SIZE: f32 = 11.0;
/// Line height as a multiple of the font size.
pub const LEADING: f32 = 1.4;
pub const CODE_LEADING: f32 = 1.3;
/// Vertical space between consecutive paragraphs and other blocks.
pub const BLOCK_GAP: f32 = 8.0;
/// Vertical space between list items.
pub const ITEM_GAP: f32 = 3.0;

/// Inline code is set slightly smaller: monospace looks large next to a serif at the same size.
pub const INLINE_CODE_SCALE: f32 = 0.9;
pub const CODE_SIZE: f32 = 9.0;
pub const CODE_PADDING: f32 = 6.0;
pub const TAB_WIDTH: usize = 4;

pub const TABLE_SIZE: f32 = 10.0;
pub const CELL_PADDING_X: f32 = 5.0;
pub const CELL_PADDING_Y: f32 = 3.5;
pub const BORDER_WIDTH: f32 = 0.6;

pub const QUOTE_INDENT: f32 = 16.0;
pub const QUOTE_BAR_WIDTH: f32 = 2.5;
/// Minimum indentation of list content; wider markers (e.g. "100.") push it further.
pub const LIST_INDENT: f32 = 20.0;
pub const MARKER_GAP: f32 = 6.0;

pub const RULE_HEIGHT: f32 = 16.0;

/// How a heading level is set.
#[derive(Debug, Clone, Copy)]
pub struct HeadingStyle {
    pub size: f32,
    pub bold: bool,
    pub italic: bool,
    pub centered: bool,
    pub space_before: f32,
    pub space_after: f32,
    /// A hairline under the heading separates top-level sections.
    pub underline: bool,
}

pub fn heading(level: u8) -> HeadingStyle {
    let base = HeadingStyle {
        size: BODY_SIZE,
        bold: true,
        italic: false,
        centered: false,
        space_before: 12.0,
        space_after: 4.0,
        underline: false,
    };
    match level {
        1 => HeadingStyle { size: 20.0, centered: true, space_before: 20.0, space_after: 12.0, ..base },
        2 => HeadingStyle { size: 14.5, space_before: 18.0, space_after: 6.0, underline: true, ..base },
        3 => HeadingStyle { size: 12.5, space_before: 14.0, space_after: 4.0, ..base },
        4 => base,
        5 => HeadingStyle { italic: true, ..base },
        _ => HeadingStyle { size: 10.5, bold: false, italic: true, ..base },
    }
}
