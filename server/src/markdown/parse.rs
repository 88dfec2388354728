//! Turns pulldown-cmark events into the [`Document`] tree.
//!
//! The builder keeps an explicit stack instead of recursing, and caps container nesting, so
//! adversarial input such as 100 000 nested `>` can neither overflow the stack while parsing nor
//! while the tree is laid out or dropped.

use pulldown_cmark::{Event, HeadingLevel, Options as CmarkOptions, Parser, Tag, TagEnd};

use super::document::{Align, Block, Document, Inline, SpanStyle, Table, plain_text};

/// Deepest quote/list nesting that still gets its own indentation; deeper containers are
/// flattened into their parent. Eight levels is far beyond what a real contract uses.
pub const MAX_NESTING: usize = 8;

/// Most blocks and inline runs a document may have. A real contract of 1 MiB has a few
/// thousand; a hostile one (a million one-character paragraphs or list items) would cost
/// hundreds of megabytes of tree, rows and PDF before the page limit noticed.
pub const MAX_NODES: usize = 60_000;

/// Widest table accepted, in columns: more cannot be read on a page, and each column of each
/// row costs layout work and memory.
pub const MAX_TABLE_COLUMNS: usize = 24;

/// Longest document title we keep (PDF viewers show it in a title bar).
const MAX_TITLE_CHARS: usize = 200;

/// Parses CommonMark with the GFM extensions contracts commonly use, with no caller images (the
/// tests' entry; the renderer calls [`parse_with_images`]).
#[cfg(test)]
pub fn parse(markdown: &str) -> Document {
    parse_with_images(markdown, &super::Images::new())
}

/// [`parse`], with `![alt](attesta-image:KEY)` drawn as the caller's image `KEY` when `images`
/// has it (a placeholder otherwise, as for every other image).
pub fn parse_with_images(markdown: &str, images: &super::Images) -> Document {
    let options = CmarkOptions::ENABLE_TABLES | CmarkOptions::ENABLE_STRIKETHROUGH | CmarkOptions::ENABLE_TASKLISTS;
    let mut builder = Builder::new();
    builder.images = images.iter().map(|(k, i)| (k.clone(), (i.width, i.height))).collect();
    for event in Parser::new_ext(markdown, options) {
        builder.event(event);
        if builder.too_complex.is_some() {
            // Stop here: nothing more of it is kept.
            return Document { too_complex: builder.too_complex, ..Document::default() };
        }
    }
    builder.finish()
}

enum FrameKind {
    Root,
    Quote,
    List { start: Option<u64>, items: Vec<Vec<Block>> },
    Item,
}

struct Frame {
    kind: FrameKind,
    blocks: Vec<Block>,
}

/// The paragraph or heading currently collecting inline content.
#[derive(Default)]
struct InlineLeaf {
    heading: Option<u8>,
    content: Vec<Inline>,
}

#[derive(Default)]
struct TableBuilder {
    table: Table,
    row: Vec<Vec<Inline>>,
    cell: Vec<Inline>,
}

/// Nesting counters for inline formatting; counters rather than flags because `*a *b* c*` nests.
#[derive(Default)]
struct InlineState {
    bold: usize,
    italic: usize,
    strike: usize,
    links: Vec<Option<String>>,
    image_depth: usize,
    image_alt: String,
    /// The supplied image the open image refers to, if any.
    image_key: Option<String>,
}

impl InlineState {
    fn style(&self, code: bool) -> SpanStyle {
        SpanStyle {
            bold: self.bold > 0,
            italic: self.italic > 0,
            code,
            strike: self.strike > 0,
            link: self.links.last().cloned().flatten(),
            is_link: !self.links.is_empty(),
        }
    }
}

struct Builder {
    frames: Vec<Frame>,
    /// One entry per open quote/list/item event: whether it pushed a frame (false once nesting
    /// is capped), so the matching end event knows whether to pop.
    opened: Vec<bool>,
    leaf: Option<InlineLeaf>,
    /// The open fenced/indented code block, collected verbatim.
    code: Option<String>,
    table: Option<TableBuilder>,
    inline: InlineState,
    first_h1: Option<String>,
    first_heading: Option<String>,
    has_visible_text: bool,
    /// Blocks and inline runs made so far (see [`MAX_NODES`]).
    nodes: usize,
    /// Set, with the reason, once a bound is passed.
    too_complex: Option<String>,
    /// Sizes of the images the caller supplied, by key.
    images: std::collections::BTreeMap<String, (f32, f32)>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            frames: vec![Frame { kind: FrameKind::Root, blocks: Vec::new() }],
            opened: Vec::new(),
            leaf: None,
            code: None,
            table: None,
            inline: InlineState::default(),
            first_h1: None,
            first_heading: None,
            has_visible_text: false,
            nodes: 0,
            too_complex: None,
            images: std::collections::BTreeMap::new(),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.too_complex = Some(format!("it has more than {MAX_NODES} paragraphs, list items and other parts"));
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(text) | Event::InlineMath(text) | Event::DisplayMath(text) => self.push_text(&text, true),
            Event::Html(text) | Event::InlineHtml(text) => self.push_literal(&text),
            Event::FootnoteReference(name) => self.push_text(&format!("[{name}]"), false),
            Event::SoftBreak => self.push_text(" ", false),
            Event::HardBreak => self.push_inline(Inline::LineBreak),
            Event::Rule => {
                self.flush_leaf();
                self.push_block(Block::Rule);
            }
            Event::TaskListMarker(checked) => self.push_text(if checked { "\u{2611} " } else { "\u{2610} " }, false),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => self.open_leaf(InlineLeaf::default()),
            Tag::Heading { level, .. } => {
                self.open_leaf(InlineLeaf { heading: Some(heading_level(level)), content: Vec::new() })
            }
            Tag::CodeBlock(_) => {
                self.flush_leaf();
                self.code = Some(String::new());
            }
            Tag::BlockQuote(_) => self.open_container(FrameKind::Quote),
            Tag::List(start) => self.open_container(FrameKind::List { start, items: Vec::new() }),
            Tag::Item => self.open_item(),
            Tag::Table(aligns) => self.open_table(&aligns),
            Tag::TableHead | Tag::TableRow => self.with_table(|t| t.row.clear()),
            Tag::TableCell => self.with_table(|t| t.cell.clear()),
            Tag::Emphasis => self.inline.italic += 1,
            Tag::Strong => self.inline.bold += 1,
            Tag::Strikethrough => self.inline.strike += 1,
            Tag::Link { dest_url, .. } => self.inline.links.push(safe_link(&dest_url)),
            Tag::Image { dest_url, .. } => self.start_image(&dest_url),
            // Extensions we do not enable; treat them as plain block boundaries.
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => self.flush_leaf(),
            Tag::Superscript | Tag::Subscript => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock | TagEnd::Heading(_) | TagEnd::CodeBlock => self.flush_leaf(),
            TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item => self.close_container(),
            TagEnd::Table => self.close_table(),
            TagEnd::TableHead => self.with_table(|t| t.table.header = std::mem::take(&mut t.row)),
            TagEnd::TableRow => self.with_table(|t| t.table.rows.push(std::mem::take(&mut t.row))),
            TagEnd::TableCell => self.with_table(|t| t.row.push(std::mem::take(&mut t.cell))),
            TagEnd::Emphasis => self.inline.italic = self.inline.italic.saturating_sub(1),
            TagEnd::Strong => self.inline.bold = self.inline.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.inline.strike = self.inline.strike.saturating_sub(1),
            TagEnd::Link => {
                self.inline.links.pop();
            }
            TagEnd::Image => self.end_image(),
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => self.flush_leaf(),
            TagEnd::Superscript | TagEnd::Subscript => {}
        }
    }

    fn finish(mut self) -> Document {
        self.flush_leaf();
        if self.table.is_some() {
            self.close_table();
        }
        while self.frames.len() > 1 {
            self.pop_frame();
        }
        let blocks = self.frames.pop().map(|f| f.blocks).unwrap_or_default();
        Document {
            blocks,
            first_h1: self.first_h1,
            first_heading: self.first_heading,
            has_visible_text: self.has_visible_text,
            too_complex: self.too_complex,
        }
    }

    // ----- text -----

    fn text(&mut self, text: &str) {
        if self.inline.image_depth > 0 {
            self.inline.image_alt.push_str(text);
            return;
        }
        if let Some(code) = &mut self.code {
            let clean = sanitize(text, true);
            self.has_visible_text |= clean.chars().any(|c| !c.is_whitespace());
            code.push_str(&clean);
            return;
        }
        self.push_text(text, false);
    }

    /// Raw HTML is shown verbatim (never interpreted); its own line breaks are kept.
    fn push_literal(&mut self, text: &str) {
        let mut lines = text.trim_end_matches('\n').split('\n').peekable();
        while let Some(line) = lines.next() {
            self.push_text(line, false);
            if lines.peek().is_some() {
                self.push_inline(Inline::LineBreak);
            }
        }
    }

    fn push_text(&mut self, text: &str, code: bool) {
        if self.inline.image_depth > 0 {
            self.inline.image_alt.push_str(text);
            return;
        }
        let clean = sanitize(text, false);
        if clean.is_empty() {
            return;
        }
        self.has_visible_text |= clean.chars().any(|c| !c.is_whitespace());
        let style = self.inline.style(code);
        let sink = self.inline_sink();
        if let Some(Inline::Text { text, style: last }) = sink.last_mut()
            && *last == style
        {
            text.push_str(&clean);
            return;
        }
        sink.push(Inline::Text { text: clean, style });
    }

    fn push_inline(&mut self, inline: Inline) {
        self.inline_sink().push(inline);
    }

    /// Where inline content goes: the open table cell, the open leaf block, or an implicit
    /// paragraph (tight list items contain bare text without a paragraph tag).
    fn inline_sink(&mut self) -> &mut Vec<Inline> {
        if self.table.is_none() && self.code.is_some() {
            self.flush_leaf();
        }
        match &mut self.table {
            Some(table) => &mut table.cell,
            None => &mut self.leaf.get_or_insert_with(InlineLeaf::default).content,
        }
    }

    fn start_image(&mut self, dest: &str) {
        if self.inline.image_depth == 0 {
            self.inline.image_alt.clear();
            self.inline.image_key =
                dest.strip_prefix("attesta-image:").filter(|k| self.images.contains_key(*k)).map(str::to_owned);
        }
        self.inline.image_depth += 1;
    }

    fn end_image(&mut self) {
        self.inline.image_depth = self.inline.image_depth.saturating_sub(1);
        if self.inline.image_depth == 0 {
            let alt = std::mem::take(&mut self.inline.image_alt);
            if let Some(key) = self.inline.image_key.take()
                && let Some(&(width, height)) = self.images.get(&key)
            {
                self.has_visible_text = true;
                self.push_inline(Inline::Image { key, width, height });
                return;
            }
            let alt = alt.split_whitespace().collect::<Vec<_>>().join(" ");
            let placeholder = if alt.is_empty() { "[image]".to_string() } else { format!("[image: {alt}]") };
            self.push_text(&placeholder, false);
        }
    }

    // ----- blocks -----

    fn open_leaf(&mut self, leaf: InlineLeaf) {
        self.flush_leaf();
        self.leaf = Some(leaf);
    }

    fn flush_leaf(&mut self) {
        if let Some(code) = self.code.take() {
            self.push_block(Block::Code(code));
        }
        let Some(leaf) = self.leaf.take() else { return };
        match leaf.heading {
            Some(level) => {
                if level == 1 && self.first_h1.is_none() {
                    self.first_h1 = title_from(&plain_text(&leaf.content));
                }
                if self.first_heading.is_none() {
                    self.first_heading = title_from(&plain_text(&leaf.content));
                }
                self.push_block(Block::Heading { level, content: leaf.content });
            }
            None if leaf.content.is_empty() => {}
            None => self.push_block(Block::Paragraph(leaf.content)),
        }
    }

    fn push_block(&mut self, block: Block) {
        let Some(frame) = self.frames.last_mut() else { return };
        match &mut frame.kind {
            // Blocks never arrive directly in a list, but if they did, keep them in the last item.
            FrameKind::List { items, .. } => match items.last_mut() {
                Some(item) => item.push(block),
                None => items.push(vec![block]),
            },
            _ => frame.blocks.push(block),
        }
    }

    fn nesting(&self) -> usize {
        self.frames.iter().filter(|f| matches!(f.kind, FrameKind::Quote | FrameKind::List { .. })).count()
    }

    fn open_container(&mut self, kind: FrameKind) {
        self.flush_leaf();
        let push = self.nesting() < MAX_NESTING;
        if push {
            self.frames.push(Frame { kind, blocks: Vec::new() });
        }
        self.opened.push(push);
    }

    fn open_item(&mut self) {
        self.flush_leaf();
        let in_list = matches!(self.frames.last().map(|f| &f.kind), Some(FrameKind::List { .. }));
        if in_list {
            self.frames.push(Frame { kind: FrameKind::Item, blocks: Vec::new() });
        }
        self.opened.push(in_list);
    }

    fn close_container(&mut self) {
        self.flush_leaf();
        if self.opened.pop() == Some(true) && self.frames.len() > 1 {
            self.pop_frame();
        }
    }

    /// Pops the innermost frame and attaches its content to the parent.
    fn pop_frame(&mut self) {
        let Some(frame) = self.frames.pop() else { return };
        match frame.kind {
            FrameKind::Root => self.frames.push(frame),
            FrameKind::Quote => self.push_block(Block::Quote(frame.blocks)),
            FrameKind::List { start, items } => self.push_block(Block::List { start, items }),
            FrameKind::Item => match self.frames.last_mut().map(|f| &mut f.kind) {
                Some(FrameKind::List { items, .. }) => items.push(frame.blocks),
                _ => frame.blocks.into_iter().for_each(|b| self.push_block(b)),
            },
        }
    }

    fn open_table(&mut self, aligns: &[pulldown_cmark::Alignment]) {
        self.flush_leaf();
        if aligns.len() > MAX_TABLE_COLUMNS {
            self.too_complex =
                Some(format!("a table has {} columns; at most {MAX_TABLE_COLUMNS} fit on a page", aligns.len()));
            return;
        }
        let aligns = aligns
            .iter()
            .map(|a| match a {
                pulldown_cmark::Alignment::Center => Align::Center,
                pulldown_cmark::Alignment::Right => Align::Right,
                pulldown_cmark::Alignment::Left | pulldown_cmark::Alignment::None => Align::Left,
            })
            .collect();
        self.table = Some(TableBuilder { table: Table { aligns, ..Table::default() }, ..TableBuilder::default() });
    }

    fn with_table(&mut self, f: impl FnOnce(&mut TableBuilder)) {
        if let Some(table) = &mut self.table {
            f(table);
        }
    }

    fn close_table(&mut self) {
        if let Some(builder) = self.table.take() {
            self.push_block(Block::Table(builder.table));
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Only web and mail links become clickable; `javascript:`, `file:` and relative targets are
/// rendered as text only, because the PDF is a legal document people open in many viewers.
fn safe_link(dest: &str) -> Option<String> {
    let dest = dest.trim();
    let lower = dest.to_ascii_lowercase();
    let safe = ["http://", "https://", "mailto:"].iter().any(|p| lower.starts_with(p));
    (safe && dest.len() <= 2048 && !dest.chars().any(char::is_control)).then(|| dest.to_string())
}

/// Collapses whitespace and limits length so the title fits PDF metadata and title bars.
fn title_from(text: &str) -> Option<String> {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let title: String = collapsed.chars().take(MAX_TITLE_CHARS).collect();
    (!title.is_empty()).then_some(title)
}

/// Characters that draw nothing and would only confuse text extraction: bidi overrides,
/// zero-width characters, soft hyphens, byte-order marks, variation selectors.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Removes control and invisible format characters. Tabs become spaces in running text; code
/// blocks keep them (and newlines) so the layout can expand tab stops.
pub fn sanitize(text: &str, preformatted: bool) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' if !preformatted => Some(' '),
            '\n' if !preformatted => Some(' '),
            '\t' | '\n' => Some(c),
            c if c.is_control() || is_invisible_format(c) => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_nested_structure() {
        let doc = parse("# Title\n\n> quote\n\n- a\n  - b\n\n|x|y|\n|-|-|\n|1|2|\n");
        assert_eq!(doc.first_h1.as_deref(), Some("Title"));
        assert_eq!(doc.first_heading.as_deref(), Some("Title"));
        assert!(doc.has_visible_text);
        assert!(matches!(doc.blocks.get(1), Some(Block::Quote(_))));
        assert!(matches!(doc.blocks.get(2), Some(Block::List { .. })));
        assert!(matches!(doc.blocks.get(3), Some(Block::Table(_))));
    }

    #[test]
    fn caps_nesting_depth() {
        let input = ">".repeat(10_000) + " deep";
        let doc = parse(&input);
        let mut depth = 0;
        let mut blocks = &doc.blocks;
        while let Some(Block::Quote(inner)) = blocks.first() {
            depth += 1;
            blocks = inner;
        }
        assert_eq!(depth, MAX_NESTING);
    }

    #[test]
    fn the_first_heading_of_any_level_is_kept_when_there_is_no_level_one() {
        let doc = parse("Preamble.\n\n## Master  *services* agreement\n\n# Later\n");
        assert_eq!(doc.first_h1.as_deref(), Some("Later"));
        assert_eq!(doc.first_heading.as_deref(), Some("Master services agreement"));
    }

    #[test]
    fn a_document_of_too_many_parts_or_too_wide_a_table_stops_parsing() {
        let many = parse(&"a\n\n".repeat(MAX_NODES));
        assert!(many.too_complex.as_deref().is_some_and(|why| why.contains("more than")), "{:?}", many.too_complex);
        assert!(many.blocks.is_empty(), "nothing of it is kept");
        let wide = format!("{}|\n{}|\n", "|x".repeat(MAX_TABLE_COLUMNS + 1), "|-".repeat(MAX_TABLE_COLUMNS + 1));
        assert!(parse(&wide).too_complex.as_deref().is_some_and(|why| why.contains("columns")));
        let fits = format!("{}|\n{}|\n", "|x".repeat(MAX_TABLE_COLUMNS), "|-".repeat(MAX_TABLE_COLUMNS));
        assert_eq!(parse(&fits).too_complex, None);
    }

    #[test]
    fn unsafe_links_are_not_clickable() {
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("https://example.com").as_deref(), Some("https://example.com"));
    }

    #[test]
    fn html_is_kept_as_text() {
        let doc = parse("<script>alert(1)</script>\n");
        let Some(Block::Paragraph(inlines)) = doc.blocks.first() else { panic!("expected paragraph") };
        assert!(plain_text(inlines).contains("<script>"));
    }
}
