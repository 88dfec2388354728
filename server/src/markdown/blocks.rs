//! Block layout: turns the document tree into [`Row`]s for the paginator.
//!
//! Containers (quotes, lists) only change the horizontal frame their children are laid out in and
//! add decorations to every row they produce, so nesting never needs special page-break logic.

use super::document::{Align, Block, Inline, Table};
use super::fonts::{Face, FontSet};
use super::layout::{BaseStyle, Line, Op, Row, RowKind, break_lines, intrinsic_widths};
use super::theme::{self, Rgb};

/// Layout stops once this many rows exist; together with the page limit it bounds the memory and
/// time a hostile 1 MiB input can cost.
#[derive(Debug)]
pub struct TooManyRows;

/// Horizontal space and decorations for the blocks being laid out.
#[derive(Debug, Clone)]
struct Frame {
    x: f32,
    width: f32,
    color: Rgb,
    /// Left edges of the quote bars enclosing this frame.
    bars: Vec<f32>,
    list_depth: usize,
}

impl Frame {
    /// Narrower frame for nested content; never narrower than a few characters.
    fn indented(&self, indent: f32) -> Frame {
        let indent = indent.min((self.width - 72.0).max(0.0));
        Frame { x: self.x + indent, width: self.width - indent, ..self.clone() }
    }
}

pub struct Layouter<'a> {
    fonts: &'a FontSet,
    rows: Vec<Row>,
    max_rows: usize,
}

impl<'a> Layouter<'a> {
    pub fn new(fonts: &'a FontSet, max_rows: usize) -> Self {
        Layouter { fonts, rows: Vec::new(), max_rows }
    }

    /// Lays out the whole document in a column starting at `x` that is `width` points wide.
    pub fn layout(mut self, blocks: &[Block], x: f32, width: f32) -> Result<Vec<Row>, TooManyRows> {
        let frame = Frame { x, width, color: theme::TEXT, bars: Vec::new(), list_depth: 0 };
        self.blocks(blocks, &frame)?;
        Ok(self.rows)
    }

    fn push(&mut self, mut row: Row, frame: &Frame) -> Result<(), TooManyRows> {
        if self.rows.len() >= self.max_rows {
            return Err(TooManyRows);
        }
        for &bar in &frame.bars {
            row.ops.insert(
                0,
                Op::Fill { x: bar, y: 0.0, w: theme::QUOTE_BAR_WIDTH, h: row.height, color: theme::QUOTE_BAR },
            );
        }
        self.rows.push(row);
        Ok(())
    }

    fn gap(&mut self, height: f32, keep_with_next: bool, frame: &Frame) -> Result<(), TooManyRows> {
        let mut row = Row::gap(height);
        row.keep_with_next = keep_with_next;
        self.push(row, frame)
    }

    fn blocks(&mut self, blocks: &[Block], frame: &Frame) -> Result<(), TooManyRows> {
        let mut previous: Option<&Block> = None;
        for block in blocks {
            if let Some(prev) = previous {
                let after_heading = matches!(prev, Block::Heading { .. });
                let in_list_item = frame.list_depth > 0;
                self.gap(spacing(prev, block, in_list_item), after_heading, frame)?;
            }
            self.block(block, frame)?;
            previous = Some(block);
        }
        Ok(())
    }

    fn block(&mut self, block: &Block, frame: &Frame) -> Result<(), TooManyRows> {
        match block {
            Block::Heading { level, content } => self.heading(*level, content, frame),
            Block::Paragraph(content) => self.paragraph(content, frame),
            Block::Code(code) => self.code(code, frame),
            Block::Quote(children) => self.quote(children, frame),
            Block::List { start, items } => self.list(*start, items, frame),
            Block::Rule => self.rule(frame),
            Block::Table(table) => self.table(table, frame),
        }
    }

    /// Pushes text lines as rows, shifted for alignment (0 = left, 0.5 = centre, 1 = right).
    fn lines(&mut self, lines: &[Line], frame: &Frame, align: f32) -> Result<usize, TooManyRows> {
        let first = self.rows.len();
        for line in lines {
            let x = frame.x + (frame.width - line.width).max(0.0) * align;
            let mut row = Row::content(line.height, line.ops(self.fonts, x, 0.0));
            row.baseline = Some(line.baseline);
            self.push(row, frame)?;
        }
        Ok(first)
    }

    /// Keeps the first two and last two lines of a block together so no page starts or ends
    /// with a single stranded line.
    fn avoid_orphans(&mut self, first: usize) {
        let count = self.rows.len().saturating_sub(first);
        if count < 2 {
            return;
        }
        if let Some(row) = self.rows.get_mut(first) {
            row.keep_with_next = true;
        }
        if let Some(row) = self.rows.get_mut(first + count - 2) {
            row.keep_with_next = true;
        }
    }

    fn heading(&mut self, level: u8, content: &[Inline], frame: &Frame) -> Result<(), TooManyRows> {
        let style = theme::heading(level);
        let base = BaseStyle { size: style.size, bold: style.bold, italic: style.italic, color: frame.color };
        let lines = break_lines(self.fonts, content, &base, frame.width, 1.25);
        let first = self.lines(&lines, frame, if style.centered { 0.5 } else { 0.0 })?;
        if style.underline && self.rows.len() > first {
            let mut row = Row::content(3.0, vec![hline(frame.x, frame.x + frame.width, 2.5, 0.5, theme::RULE)]);
            row.keep_with_next = true;
            self.push(row, frame)?;
        }
        // A heading must never end a page: chain every heading row to what follows.
        self.rows.iter_mut().skip(first).for_each(|r| r.keep_with_next = true);
        Ok(())
    }

    fn paragraph(&mut self, content: &[Inline], frame: &Frame) -> Result<(), TooManyRows> {
        let base = BaseStyle::body(frame.color);
        let lines = break_lines(self.fonts, content, &base, frame.width, theme::LEADING);
        let first = self.lines(&lines, frame, 0.0)?;
        self.avoid_orphans(first);
        Ok(())
    }

    fn quote(&mut self, children: &[Block], frame: &Frame) -> Result<(), TooManyRows> {
        let mut inner = frame.indented(theme::QUOTE_INDENT);
        inner.bars.push(frame.x + 1.0);
        inner.color = theme::QUOTE_TEXT;
        self.blocks(children, &inner)
    }

    fn rule(&mut self, frame: &Frame) -> Result<(), TooManyRows> {
        let y = theme::RULE_HEIGHT / 2.0;
        let row = Row::content(theme::RULE_HEIGHT, vec![hline(frame.x, frame.x + frame.width, y, 0.75, theme::RULE)]);
        self.push(row, frame)
    }

    fn code(&mut self, code: &str, frame: &Frame) -> Result<(), TooManyRows> {
        let size = theme::CODE_SIZE;
        let line_height = size * theme::CODE_LEADING;
        let (ascent, descent) = self.fonts.vertical_metrics(Face::Mono);
        let baseline = (line_height - (ascent + descent) * size) / 2.0 + ascent * size;
        let text_width = (frame.width - 2.0 * theme::CODE_PADDING).max(1.0);
        let background = |h: f32| Op::Fill { x: frame.x, y: 0.0, w: frame.width, h, color: theme::CODE_BACKGROUND };

        let mut pad = Row::gap(theme::CODE_PADDING);
        pad.kind = RowKind::Content;
        pad.ops.push(background(theme::CODE_PADDING));
        pad.keep_with_next = true;
        self.push(pad.clone(), frame)?;
        let first = self.rows.len();
        for line in wrap_code(self.fonts, code, size, text_width) {
            let text = Op::Text {
                x: frame.x + theme::CODE_PADDING,
                y: baseline,
                face: Face::Mono,
                size,
                color: frame.color,
                text: line,
            };
            let mut row = Row::content(line_height, vec![background(line_height), text]);
            row.baseline = Some(baseline);
            self.push(row, frame)?;
        }
        self.avoid_orphans(first);
        if let Some(last) = self.rows.last_mut() {
            last.keep_with_next = true;
        }
        pad.keep_with_next = false;
        self.push(pad, frame)
    }

    fn list(&mut self, start: Option<u64>, items: &[Vec<Block>], frame: &Frame) -> Result<(), TooManyRows> {
        let markers: Vec<String> = (0..items.len()).map(|i| list_marker(start, i, frame.list_depth)).collect();
        let widest =
            markers.iter().map(|m| self.fonts.measure(m, Face::Regular) * theme::BODY_SIZE).fold(0.0, f32::max);
        let indent = (widest + theme::MARKER_GAP).max(theme::LIST_INDENT);
        let mut inner = frame.indented(indent);
        inner.list_depth += 1;
        let marker_right = inner.x - theme::MARKER_GAP;
        for (index, (item, marker)) in items.iter().zip(&markers).enumerate() {
            if index > 0 {
                self.gap(theme::ITEM_GAP, false, frame)?;
            }
            let first = self.rows.len();
            self.blocks(item, &inner)?;
            self.attach_marker(first, marker, marker_right, frame)?;
        }
        Ok(())
    }

    /// Draws a list marker right-aligned before the item's first text line.
    fn attach_marker(&mut self, first: usize, marker: &str, right: f32, frame: &Frame) -> Result<(), TooManyRows> {
        let width = self.fonts.measure(marker, Face::Regular) * theme::BODY_SIZE;
        let op = |baseline: f32| Op::Text {
            x: right - width,
            y: baseline,
            face: Face::Regular,
            size: theme::BODY_SIZE,
            color: frame.color,
            text: marker.to_string(),
        };
        let target = self.rows.iter_mut().skip(first).find(|r| r.kind == RowKind::Content && r.baseline.is_some());
        if let Some(row) = target {
            let baseline = row.baseline.unwrap_or(0.0);
            row.ops.push(op(baseline));
            return Ok(());
        }
        // Empty item: give the marker a line of its own.
        let height = theme::BODY_SIZE * theme::LEADING;
        let mut row = Row::content(height, vec![op(height * 0.72)]);
        row.baseline = Some(height * 0.72);
        self.push(row, frame)
    }

    fn table(&mut self, table: &Table, frame: &Frame) -> Result<(), TooManyRows> {
        let columns = column_count(table);
        if columns == 0 {
            return Ok(());
        }
        let header_style = BaseStyle { size: theme::TABLE_SIZE, bold: true, italic: false, color: frame.color };
        let body_style = BaseStyle { size: theme::TABLE_SIZE, ..header_style };
        let body_style = BaseStyle { bold: false, ..body_style };
        let pad_x = theme::CELL_PADDING_X.min(frame.width / (columns as f32 * 4.0));
        let widths = column_widths(self.fonts, table, columns, frame.width - 2.0 * pad_x * columns as f32, &body_style);
        let grid = Grid { x: frame.x, widths, pad_x, aligns: table.aligns.clone() };
        let has_header = !table.header.is_empty();
        if has_header {
            self.table_row(&grid, &table.header, &header_style, true, table.rows.is_empty(), frame)?;
        }
        let count = table.rows.len();
        for (index, cells) in table.rows.iter().enumerate() {
            self.table_row(&grid, cells, &body_style, false, index + 1 == count, frame)?;
        }
        Ok(())
    }

    /// One table row, emitted as one [`Row`] per text line so tall rows can break across pages.
    fn table_row(
        &mut self,
        grid: &Grid,
        cells: &[Vec<Inline>],
        style: &BaseStyle,
        header: bool,
        last: bool,
        frame: &Frame,
    ) -> Result<(), TooManyRows> {
        let cell_lines: Vec<Vec<Line>> = grid
            .widths
            .iter()
            .enumerate()
            .map(|(i, &w)| cells.get(i).map_or_else(Vec::new, |c| break_lines(self.fonts, c, style, w, 1.3)))
            .collect();
        let slices = cell_lines.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let empty_height = style.size * 1.3;
        for k in 0..slices {
            let line_height = cell_lines.iter().filter_map(|l| l.get(k)).map(|l| l.height).fold(0.0, f32::max);
            let line_height = if line_height > 0.0 { line_height } else { empty_height };
            let top_pad = if k == 0 { theme::CELL_PADDING_Y } else { 0.0 };
            let bottom_pad = if k + 1 == slices { theme::CELL_PADDING_Y } else { 0.0 };
            let height = top_pad + line_height + bottom_pad;
            let mut ops = Vec::new();
            if header {
                ops.push(Op::Fill {
                    x: grid.x,
                    y: 0.0,
                    w: grid.total_width(),
                    h: height,
                    color: theme::TABLE_HEADER_BACKGROUND,
                });
            }
            for (column, lines) in cell_lines.iter().enumerate() {
                if let Some(line) = lines.get(k) {
                    let x = grid.text_x(column, line.width);
                    ops.extend(line.ops(self.fonts, x, top_pad));
                }
            }
            ops.extend(grid.borders(height, k == 0, last && k + 1 == slices));
            let mut row = Row::content(height, ops);
            row.baseline = cell_lines.iter().find_map(|l| l.get(k)).map(|l| top_pad + l.baseline);
            row.top_ops =
                vec![hline(grid.x, grid.x + grid.total_width(), 0.0, theme::BORDER_WIDTH, theme::TABLE_BORDER)];
            row.keep_with_next = k + 1 < slices || header;
            self.push(row, frame)?;
        }
        Ok(())
    }
}

/// Column geometry of a table.
struct Grid {
    x: f32,
    /// Text widths of the columns (without padding).
    widths: Vec<f32>,
    pad_x: f32,
    aligns: Vec<Align>,
}

impl Grid {
    fn total_width(&self) -> f32 {
        self.widths.iter().map(|w| w + 2.0 * self.pad_x).sum()
    }

    fn column_x(&self, column: usize) -> f32 {
        self.x + self.widths.iter().take(column).map(|w| w + 2.0 * self.pad_x).sum::<f32>()
    }

    fn text_x(&self, column: usize, line_width: f32) -> f32 {
        let width = self.widths.get(column).copied().unwrap_or(0.0);
        let shift = match self.aligns.get(column).copied().unwrap_or_default() {
            Align::Left => 0.0,
            Align::Center => (width - line_width).max(0.0) / 2.0,
            Align::Right => (width - line_width).max(0.0),
        };
        self.column_x(column) + self.pad_x + shift
    }

    /// Vertical borders for a row slice, plus horizontal ones on its top and/or bottom edge.
    fn borders(&self, height: f32, top: bool, bottom: bool) -> Vec<Op> {
        let (left, right) = (self.x, self.x + self.total_width());
        let mut ops: Vec<Op> = (0..=self.widths.len())
            .map(|c| {
                let x = self.column_x(c);
                Op::Line { x1: x, y1: 0.0, x2: x, y2: height, width: theme::BORDER_WIDTH, color: theme::TABLE_BORDER }
            })
            .collect();
        if top {
            ops.push(hline(left, right, 0.0, theme::BORDER_WIDTH, theme::TABLE_BORDER));
        }
        if bottom {
            ops.push(hline(left, right, height, theme::BORDER_WIDTH, theme::TABLE_BORDER));
        }
        ops
    }
}

fn hline(x1: f32, x2: f32, y: f32, width: f32, color: Rgb) -> Op {
    Op::Line { x1, y1: y, x2, y2: y, width, color }
}

fn column_count(table: &Table) -> usize {
    let body = table.rows.iter().map(Vec::len).max().unwrap_or(0);
    table.aligns.len().max(table.header.len()).max(body)
}

/// Column text widths summing to `available`: proportional to each column's preferred width,
/// but never below its longest word when that is possible.
fn column_widths(fonts: &FontSet, table: &Table, columns: usize, available: f32, style: &BaseStyle) -> Vec<f32> {
    let available = available.max(columns as f32);
    let mut min = vec![0.0f32; columns];
    let mut preferred = vec![0.0f32; columns];
    let header_style = BaseStyle { bold: true, ..*style };
    let header = std::iter::once((&table.header, &header_style));
    for (cells, style) in header.chain(table.rows.iter().map(|r| (r, style))) {
        for ((cell, min), preferred) in cells.iter().zip(min.iter_mut()).zip(preferred.iter_mut()) {
            let (word, line) = intrinsic_widths(fonts, cell, style);
            *min = min.max(word.min(available / columns as f32));
            *preferred = preferred.max(line).max(*min);
        }
    }
    distribute(&min, &preferred, available)
}

fn distribute(min: &[f32], preferred: &[f32], available: f32) -> Vec<f32> {
    let count = min.len().max(1) as f32;
    let sum_pref: f32 = preferred.iter().sum();
    let sum_min: f32 = min.iter().sum();
    if sum_pref <= 0.0 {
        return vec![available / count; min.len()];
    }
    if sum_pref <= available {
        // Everything fits on one line: widen columns proportionally to fill the text block.
        return preferred.iter().map(|p| p + (available - sum_pref) * p / sum_pref).collect();
    }
    if sum_min >= available || sum_pref - sum_min <= 0.0 {
        return min.iter().map(|m| if sum_min > 0.0 { available * m / sum_min } else { available / count }).collect();
    }
    let extra = available - sum_min;
    min.iter().zip(preferred).map(|(m, p)| m + extra * (p - m) / (sum_pref - sum_min)).collect()
}

/// "1." style numbers for ordered lists, alternating bullets by depth for unordered ones.
fn list_marker(start: Option<u64>, index: usize, depth: usize) -> String {
    match start {
        Some(start) => format!("{}.", start.saturating_add(index as u64)),
        None => ["\u{2022}", "\u{2013}", "\u{25E6}"].get(depth % 3).copied().unwrap_or("\u{2022}").to_string(),
    }
}

/// Vertical space between two sibling blocks. A sub-list directly under an item's text sits as
/// close as the items themselves, so nested lists read as one unit.
fn spacing(previous: &Block, next: &Block, in_list_item: bool) -> f32 {
    match (previous, next) {
        (Block::Heading { level, .. }, _) => theme::heading(*level).space_after,
        (_, Block::Heading { level, .. }) => theme::heading(*level).space_before,
        (Block::Paragraph(_), Block::List { .. }) if in_list_item => theme::ITEM_GAP,
        _ => theme::BLOCK_GAP,
    }
}

/// Splits code into display lines: tabs expanded to stops, long lines wrapped by character
/// width (the font is monospaced, but fallback glyphs may not be).
fn wrap_code(fonts: &FontSet, code: &str, size: f32, width: f32) -> Vec<String> {
    let mut out = Vec::new();
    for source in code.trim_end_matches('\n').split('\n') {
        let mut line = String::new();
        let mut line_width = 0.0;
        let mut column = 0;
        for c in source.chars() {
            let (text, advance) = if c == '\t' {
                let spaces = theme::TAB_WIDTH - column % theme::TAB_WIDTH;
                (" ".repeat(spaces), fonts.char_width(' ', Face::Mono) * size * spaces as f32)
            } else {
                (c.to_string(), fonts.char_width(c, Face::Mono) * size)
            };
            if !line.is_empty() && line_width + advance > width {
                out.push(std::mem::take(&mut line));
                line_width = 0.0;
                column = 0;
            }
            line.push_str(&text);
            line_width += advance;
            column += text.chars().count();
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_fill_available_space() {
        let widths = distribute(&[10.0, 20.0], &[50.0, 100.0], 300.0);
        assert!((widths.iter().sum::<f32>() - 300.0).abs() < 0.01);
        let squeezed = distribute(&[10.0, 20.0], &[500.0, 1000.0], 300.0);
        assert!((squeezed.iter().sum::<f32>() - 300.0).abs() < 0.01);
        assert!(squeezed.iter().zip([10.0, 20.0]).all(|(w, m)| *w >= m));
    }

    #[test]
    fn code_lines_wrap_and_expand_tabs() {
        let fonts = FontSet::get().expect("fonts");
        let lines = wrap_code(fonts, "a\tb\n", 9.0, 1000.0);
        assert_eq!(lines, vec!["a   b".to_string()]);
        let wrapped = wrap_code(fonts, &"x".repeat(300), 9.0, 100.0);
        assert!(wrapped.len() > 10);
    }
}
