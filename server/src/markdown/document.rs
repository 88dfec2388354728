//! A small document tree between the Markdown parser and the layout engine.
//!
//! pulldown-cmark produces a flat event stream; laying that out directly would mix parsing state
//! with page geometry. This tree holds only what the renderer supports, already sanitised
//! (no control characters, raw HTML kept as literal text).

/// Inline formatting that affects font choice and decoration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanStyle {
    pub bold: bool,
    pub italic: bool,
    pub code: bool,
    pub strike: bool,
    /// Link target, kept only for schemes that are safe to make clickable.
    pub link: Option<String>,
    /// Link text without a safe target is still coloured so readers see it was a link.
    pub is_link: bool,
}

/// A piece of inline content.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text {
        text: String,
        style: SpanStyle,
    },
    /// A Markdown hard break (two trailing spaces or a backslash): forces a new line.
    LineBreak,
    /// An image the caller supplied (see `super::InlineImage`), by key, at this size in points.
    Image {
        key: String,
        width: f32,
        height: f32,
    },
}

/// Column alignment of a table, from the delimiter row (`:--`, `:-:`, `--:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// A GFM table. Rows may be ragged; the layout pads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub aligns: Vec<Align>,
    pub header: Vec<Vec<Inline>>,
    pub rows: Vec<Vec<Vec<Inline>>>,
}

/// Block-level content.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    Paragraph(Vec<Inline>),
    /// Preformatted text, drawn monospaced with whitespace preserved.
    Code(String),
    Quote(Vec<Block>),
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Rule,
    Table(Table),
}

/// The parsed document plus facts the caller needs before layout.
#[derive(Debug, Default)]
pub struct Document {
    pub blocks: Vec<Block>,
    /// Plain text of the first level-1 heading, the default PDF title.
    pub first_h1: Option<String>,
    /// Plain text of the first heading of any level (when no level-1 heading comes first).
    pub first_heading: Option<String>,
    /// Whether anything printable was found; an all-whitespace document is rejected.
    pub has_visible_text: bool,
    /// Set when the input passed a bound (`parse::MAX_NODES`, `parse::MAX_TABLE_COLUMNS`):
    /// parsing stopped there and the document is refused with this reason.
    pub too_complex: Option<String>,
}

/// Concatenated plain text of inline content (for titles and tests).
pub fn plain_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    for inline in inlines {
        match inline {
            Inline::Text { text, .. } => out.push_str(text),
            Inline::LineBreak => out.push(' '),
            Inline::Image { .. } => {}
        }
    }
    out
}
