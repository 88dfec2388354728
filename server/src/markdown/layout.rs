//! Line breaking and pagination.
//!
//! Block layout (see `blocks.rs`) turns the document into a flat list of [`Row`]s: one per text
//! line, table line or spacer, each carrying its own drawing operations relative to the row's
//! top edge. Pagination then only has to stack rows, which makes page breaks inside quotes,
//! lists and tables work the same way as in plain paragraphs.

use super::document::{Inline, SpanStyle};
use super::fonts::{Face, FontSet};
use super::theme::{self, Rgb};

/// A drawing operation. Coordinates are points, origin top-left, y growing downwards.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Text starting at `x` with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        face: Face,
        size: f32,
        color: Rgb,
        text: String,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Rgb,
    },
    /// The caller's image `key` (see `super::InlineImage`) in this box (`y` is its top).
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        key: String,
    },
    /// A clickable area opening `url`.
    Link {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        url: String,
    },
}

impl Op {
    /// The same operation moved by `dx`, `dy`.
    pub fn translated(&self, dx: f32, dy: f32) -> Op {
        let mut op = self.clone();
        match &mut op {
            Op::Text { x, y, .. } | Op::Fill { x, y, .. } | Op::Link { x, y, .. } | Op::Image { x, y, .. } => {
                *x += dx;
                *y += dy;
            }
            Op::Line { x1, y1, x2, y2, .. } => {
                *x1 += dx;
                *x2 += dx;
                *y1 += dy;
                *y2 += dy;
            }
        }
        op
    }
}

/// Whether a row is content or discardable vertical space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Content,
    /// Spacing between blocks: dropped when it would start a page.
    Gap,
}

/// One horizontal slice of the document that is never split across pages.
#[derive(Debug, Clone)]
pub struct Row {
    pub height: f32,
    pub kind: RowKind,
    /// Operations with y relative to the row's top and absolute x.
    pub ops: Vec<Op>,
    /// Extra operations drawn only if the row starts a page (e.g. a table's top border).
    pub top_ops: Vec<Op>,
    /// Move this row to the next page together with the following one (headings, orphans).
    pub keep_with_next: bool,
    /// Baseline of the row's first text line, for aligning list markers.
    pub baseline: Option<f32>,
}

impl Row {
    pub fn gap(height: f32) -> Row {
        Row { height, kind: RowKind::Gap, ops: Vec::new(), top_ops: Vec::new(), keep_with_next: false, baseline: None }
    }

    pub fn content(height: f32, ops: Vec<Op>) -> Row {
        Row { height, kind: RowKind::Content, ops, top_ops: Vec::new(), keep_with_next: false, baseline: None }
    }
}

/// Resolved appearance of a run of text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStyle {
    pub face: Face,
    pub size: f32,
    pub color: Rgb,
    pub strike: bool,
    pub code: bool,
    pub link: Option<String>,
}

/// The style a block imposes on its inline content (headings are bold, quotes grey, ...).
#[derive(Debug, Clone, Copy)]
pub struct BaseStyle {
    pub size: f32,
    pub bold: bool,
    pub italic: bool,
    pub color: Rgb,
}

impl BaseStyle {
    pub fn body(color: Rgb) -> Self {
        BaseStyle { size: theme::BODY_SIZE, bold: false, italic: false, color }
    }

    /// Combines the block's base style with a span's own formatting.
    pub fn resolve(&self, span: &SpanStyle) -> TextStyle {
        let (face, size) = if span.code {
            (Face::Mono, self.size * theme::INLINE_CODE_SCALE)
        } else {
            (Face::serif(self.bold || span.bold, self.italic != span.italic), self.size)
        };
        let color = if span.is_link { theme::LINK } else { self.color };
        TextStyle { face, size, color, strike: span.strike, code: span.code, link: span.link.clone() }
    }
}

/// A run of same-styled text placed on a line.
#[derive(Debug, Clone)]
pub struct Frag {
    pub x: f32,
    pub width: f32,
    pub text: String,
    pub style: TextStyle,
    /// An image instead of text: its key and height (`width` is its width).
    pub image: Option<(String, f32)>,
}

/// A laid-out line of text; fragment x positions start at 0.
#[derive(Debug, Clone)]
pub struct Line {
    pub frags: Vec<Frag>,
    pub width: f32,
    pub height: f32,
    pub baseline: f32,
}

impl Line {
    /// Drawing operations for this line with its left edge at `x` and top at `y`.
    pub fn ops(&self, fonts: &FontSet, x: f32, y: f32) -> Vec<Op> {
        let mut background = Vec::new();
        let mut text = Vec::new();
        let mut decoration = Vec::new();
        let baseline = y + self.baseline;
        for frag in &self.frags {
            let fx = x + frag.x;
            if let Some((key, h)) = &frag.image {
                // Centred in the line, which is at least as high as the image (`finish`).
                let top = y + (self.height - h) / 2.0;
                text.push(Op::Image { x: fx, y: top, w: frag.width, h: *h, key: key.clone() });
                continue;
            }
            let (ascent, descent) = fonts.vertical_metrics(frag.style.face);
            let size = frag.style.size;
            if frag.style.code {
                let top = baseline - ascent * size;
                let h = (ascent + descent) * size;
                background.push(Op::Fill {
                    x: fx - 1.5,
                    y: top,
                    w: frag.width + 3.0,
                    h,
                    color: theme::CODE_BACKGROUND,
                });
            }
            text.push(Op::Text {
                x: fx,
                y: baseline,
                face: frag.style.face,
                size,
                color: frag.style.color,
                text: frag.text.clone(),
            });
            if frag.style.strike {
                let sy = baseline - 0.28 * size;
                let width = (size / 18.0).max(0.5);
                decoration.push(Op::Line {
                    x1: fx,
                    y1: sy,
                    x2: fx + frag.width,
                    y2: sy,
                    width,
                    color: frag.style.color,
                });
            }
            if let Some(url) = &frag.style.link {
                let top = baseline - ascent * size;
                let h = (ascent + descent) * size;
                decoration.push(Op::Link { x: fx, y: top, w: frag.width, h, url: url.clone() });
            }
        }
        background.extend(text);
        background.extend(decoration);
        background
    }
}

/// A break-free unit of text: a word, possibly mixing styles ("**bold**,").
type Word = Vec<(String, TextStyle)>;

enum Token {
    Word(Word),
    /// A supplied image: unbreakable, like a word of its width.
    Image {
        key: String,
        width: f32,
        height: f32,
        style: TextStyle,
    },
    Space(TextStyle),
    Break,
}

/// Characters that separate words. No-break spaces (U+00A0, U+2007, U+202F) are not breaks.
fn is_break_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{00A0}' | '\u{2007}' | '\u{202F}')
}

fn tokenize(inlines: &[Inline], base: &BaseStyle) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word: Word = Vec::new();
    let flush = |word: &mut Word, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    for inline in inlines {
        let (text, span) = match inline {
            Inline::Text { text, style } => (text, style),
            Inline::LineBreak => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Break);
                continue;
            }
            Inline::Image { key, width, height } => {
                flush(&mut word, &mut tokens);
                let style = base.resolve(&SpanStyle::default());
                tokens.push(Token::Image { key: key.clone(), width: *width, height: *height, style });
                continue;
            }
        };
        let style = base.resolve(span);
        for c in text.chars() {
            if is_break_space(c) {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Space(style.clone()));
                continue;
            }
            match word.last_mut() {
                Some((s, st)) if *st == style => s.push(c),
                _ => word.push((c.to_string(), style.clone())),
            }
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

/// Accumulates fragments for the line currently being filled.
struct LineBuilder {
    frags: Vec<Frag>,
    x: f32,
    min_size: f32,
}

impl LineBuilder {
    fn new(min_size: f32) -> Self {
        LineBuilder { frags: Vec::new(), x: 0.0, min_size }
    }

    fn is_empty(&self) -> bool {
        self.frags.is_empty()
    }

    fn push(&mut self, text: &str, style: &TextStyle, width: f32) {
        match self.frags.last_mut() {
            Some(last) if last.style == *style && last.image.is_none() => {
                last.text.push_str(text);
                last.width += width;
            }
            _ => self.frags.push(Frag { x: self.x, width, text: text.to_string(), style: style.clone(), image: None }),
        }
        self.x += width;
    }

    fn push_image(&mut self, key: &str, width: f32, height: f32, style: &TextStyle) {
        let image = Some((key.to_owned(), height));
        self.frags.push(Frag { x: self.x, width, text: String::new(), style: style.clone(), image });
        self.x += width;
    }

    fn finish(&mut self, fonts: &FontSet, leading: f32) -> Line {
        let frags = std::mem::take(&mut self.frags);
        let size = frags.iter().map(|f| f.style.size).fold(self.min_size, f32::max);
        let (ascent, descent) = fonts.vertical_metrics(Face::Regular);
        let text_height = size * leading;
        let text_baseline = (text_height - (ascent + descent) * size) / 2.0 + ascent * size;
        // A line holding an image is as high as the image plus a little air; its text sits on
        // the same baseline distance from the bottom as in a plain line.
        let image_height = frags.iter().filter_map(|f| f.image.as_ref().map(|(_, h)| h + 4.0)).fold(0.0, f32::max);
        let height = text_height.max(image_height);
        let baseline = height - (text_height - text_baseline);
        let width = self.x;
        self.x = 0.0;
        Line { frags, width, height, baseline }
    }
}

/// Breaks styled inline content into lines no wider than `max_width` (greedy, like most word
/// processors). Words longer than a line are split between characters, so any input fits.
pub fn break_lines(fonts: &FontSet, inlines: &[Inline], base: &BaseStyle, max_width: f32, leading: f32) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut line = LineBuilder::new(base.size);
    let mut pending_space: Option<TextStyle> = None;
    for token in tokenize(inlines, base) {
        match token {
            Token::Break => {
                lines.push(line.finish(fonts, leading));
                pending_space = None;
            }
            Token::Space(style) => {
                if !line.is_empty() {
                    pending_space = Some(style);
                }
            }
            Token::Image { key, width, height, style } => {
                let space = pending_space.take().map(|s| (fonts.char_width(' ', s.face) * s.size, s));
                if !line.is_empty() && line.x + space.as_ref().map_or(0.0, |(w, _)| *w) + width > max_width {
                    lines.push(line.finish(fonts, leading));
                } else if let Some((w, style)) = &space {
                    line.push(" ", style, *w);
                }
                // Wider than the column: shrink to fit, keeping its proportions.
                let scale = if width > max_width && width > 0.0 { max_width.max(1.0) / width } else { 1.0 };
                line.push_image(&key, width * scale, height * scale, &style);
            }
            Token::Word(word) => {
                let width: f32 = word.iter().map(|(t, s)| fonts.measure(t, s.face) * s.size).sum();
                let space = pending_space.take().map(|s| (fonts.char_width(' ', s.face) * s.size, s));
                let space_width = space.as_ref().map_or(0.0, |(w, _)| *w);
                if !line.is_empty() && line.x + space_width + width > max_width {
                    lines.push(line.finish(fonts, leading));
                } else if let Some((w, style)) = &space {
                    line.push(" ", style, *w);
                }
                if line.x + width <= max_width {
                    word.iter().for_each(|(t, s)| line.push(t, s, fonts.measure(t, s.face) * s.size));
                } else {
                    push_split_word(fonts, &mut line, &mut lines, &word, max_width, leading);
                }
            }
        }
    }
    if !line.is_empty() {
        lines.push(line.finish(fonts, leading));
    }
    lines
}

/// Places an over-long word character by character, starting new lines as needed. At least one
/// character goes on every line, so even a zero-width column terminates.
fn push_split_word(fonts: &FontSet, line: &mut LineBuilder, lines: &mut Vec<Line>, word: &Word, max: f32, lead: f32) {
    for (text, style) in word {
        for c in text.chars() {
            let w = fonts.char_width(c, style.face) * style.size;
            if !line.is_empty() && line.x + w > max {
                lines.push(line.finish(fonts, lead));
            }
            let mut buf = [0u8; 4];
            line.push(c.encode_utf8(&mut buf), style, w);
        }
    }
}

/// Width of the longest word and of the widest unbroken line: the minimum and preferred widths
/// of a table column holding this content.
pub fn intrinsic_widths(fonts: &FontSet, inlines: &[Inline], base: &BaseStyle) -> (f32, f32) {
    let mut longest_word: f32 = 0.0;
    let mut line: f32 = 0.0;
    let mut widest_line: f32 = 0.0;
    for token in tokenize(inlines, base) {
        match token {
            Token::Word(word) => {
                let w: f32 = word.iter().map(|(t, s)| fonts.measure(t, s.face) * s.size).sum();
                longest_word = longest_word.max(w);
                line += w;
            }
            Token::Image { width, .. } => {
                longest_word = longest_word.max(width);
                line += width;
            }
            Token::Space(s) => line += fonts.char_width(' ', s.face) * s.size,
            Token::Break => {
                widest_line = widest_line.max(line);
                line = 0.0;
            }
        }
    }
    (longest_word, widest_line.max(line))
}

/// Page content area, in points.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub width: f32,
    pub height: f32,
    pub top: f32,
    pub bottom: f32,
    pub left: f32,
    pub right: f32,
}

impl Geometry {
    pub fn content_width(&self) -> f32 {
        (self.right - self.left).max(1.0)
    }

    fn content_height(&self) -> f32 {
        (self.bottom - self.top).max(1.0)
    }
}

/// The operations of one finished page, in absolute page coordinates.
#[derive(Debug, Default)]
pub struct Page {
    pub ops: Vec<Op>,
}

struct PageBuilder {
    pages: Vec<Page>,
    current: Vec<Op>,
    y: f32,
    empty: bool,
}

impl PageBuilder {
    fn new_page(&mut self, geometry: &Geometry) {
        self.pages.push(Page { ops: std::mem::take(&mut self.current) });
        self.y = geometry.top;
        self.empty = true;
    }

    fn place(&mut self, row: &Row) {
        if self.empty {
            self.current.extend(row.top_ops.iter().map(|op| op.translated(0.0, self.y)));
        }
        self.current.extend(row.ops.iter().map(|op| op.translated(0.0, self.y)));
        self.y += row.height;
        self.empty = false;
    }
}

/// Height of `rows[index]` plus every following row it must stay with. Chains longer than half a
/// page are not honoured (a long table row may split) so one rule can never empty a page.
fn keep_height(rows: &[Row], index: usize, limit: f32) -> f32 {
    let mut total = 0.0;
    for row in rows.iter().skip(index) {
        total += row.height;
        if !row.keep_with_next {
            break;
        }
        if total > limit {
            return rows.get(index).map_or(0.0, |r| r.height);
        }
    }
    total
}

/// Stacks rows onto pages: gaps vanish at page tops, and keep-with-next chains (headings with
/// their first lines, paragraph orphans and widows, table header with the first row) move
/// together to the next page when they do not fit.
pub fn paginate(rows: &[Row], geometry: &Geometry) -> Vec<Page> {
    let mut builder = PageBuilder { pages: Vec::new(), current: Vec::new(), y: geometry.top, empty: true };
    let keep_limit = geometry.content_height() / 2.0;
    for (index, row) in rows.iter().enumerate() {
        if row.kind == RowKind::Gap {
            if !builder.empty && builder.y + row.height <= geometry.bottom {
                builder.place(row);
            }
            continue;
        }
        let needed = keep_height(rows, index, keep_limit);
        if !builder.empty && builder.y + needed > geometry.bottom {
            builder.new_page(geometry);
        }
        builder.place(row);
    }
    if !builder.empty || builder.pages.is_empty() {
        builder.new_page(geometry);
    }
    builder.pages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Vec<Inline> {
        vec![Inline::Text { text: s.to_string(), style: SpanStyle::default() }]
    }

    #[test]
    fn wraps_within_width() {
        let fonts = FontSet::get().expect("fonts");
        let base = BaseStyle::body(theme::TEXT);
        let lines = break_lines(fonts, &text(&"word ".repeat(100)), &base, 200.0, 1.4);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| l.width <= 200.0));
    }

    #[test]
    fn splits_words_longer_than_a_line() {
        let fonts = FontSet::get().expect("fonts");
        let base = BaseStyle::body(theme::TEXT);
        let lines = break_lines(fonts, &text(&"x".repeat(500)), &base, 100.0, 1.4);
        assert!(lines.len() > 5);
        let zero = break_lines(fonts, &text("abc"), &base, 0.0, 1.4);
        assert_eq!(zero.len(), 3);
    }

    #[test]
    fn gaps_are_dropped_at_page_top() {
        let geometry = Geometry { width: 100.0, height: 100.0, top: 10.0, bottom: 90.0, left: 0.0, right: 100.0 };
        let rows = vec![Row::content(75.0, vec![]), Row::gap(20.0), Row::content(10.0, vec![])];
        let pages = paginate(&rows, &geometry);
        assert_eq!(pages.len(), 2);
    }
}
