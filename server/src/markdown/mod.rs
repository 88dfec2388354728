//! Server-side rendering of Markdown documents into paginated, typeset PDFs.
//!
//! Senders may submit a contract as Markdown instead of a PDF. This module turns it into a PDF
//! that looks like a typeset contract (serif body, heading hierarchy, "Page N of M" footers) with
//! every font subset and embedded, so the document renders identically in every viewer and can
//! then go through the normal signing flow.
//!
//! Pipeline: [`parse`] (pulldown-cmark events → small document tree) → [`blocks`] (tree → rows of
//! drawing operations, with our own line breaking in [`layout`]) → [`layout::paginate`] (rows →
//! pages) → [`pdf`] (pages → PDF bytes via krilla).
//!
//! Rendering is deterministic: the same input and options always produce the same bytes.

mod blocks;
mod document;
pub(crate) mod fonts;
mod layout;
mod parse;
pub(crate) mod pdf;
pub(crate) mod theme;

use std::panic::{AssertUnwindSafe, catch_unwind};

use blocks::Layouter;
use layout::{Geometry, paginate};

/// Largest accepted Markdown input, in bytes.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Largest accepted output, in pages. Bounds the CPU and memory a single request can use.
pub const MAX_PAGES: usize = 2000;

/// Upper bound on layout rows (lines, spacers) per page allowed, before pagination; well above
/// what a page can hold, so it only trips for inputs that would exceed the page limit anyway.
const ROWS_PER_PAGE: usize = 80;

/// Paper size of the generated PDF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PageSize {
    /// 210 × 297 mm.
    #[default]
    A4,
    /// 8.5 × 11 in.
    Letter,
}

impl PageSize {
    /// Width and height in PDF points.
    pub fn dimensions(self) -> (f32, f32) {
        match self {
            PageSize::A4 => (595.276, 841.89),
            PageSize::Letter => (612.0, 792.0),
        }
    }

    fn geometry(self) -> Geometry {
        let (width, height) = self.dimensions();
        Geometry {
            width,
            height,
            top: theme::MARGIN_TOP,
            bottom: height - theme::MARGIN_BOTTOM,
            left: theme::MARGIN_LEFT,
            right: width - theme::MARGIN_RIGHT,
        }
    }
}

/// Most pages an uploaded Markdown document may become: a contract of 1 MiB fills about 300
/// A4 pages. Typesetting keeps every page until the PDF is written, so this is what bounds the
/// memory of a long upload (the certificate of completion keeps [`MAX_PAGES`]).
pub const MAX_UPLOAD_PAGES: usize = 500;

/// An image the caller puts into the document (user Markdown never can): referenced as
/// `![alt](attesta-image:KEY)`, drawn at `width` × `height` points (smaller when a column is
/// narrower), inline like a word. The certificate of completion shows signatures this way.
#[derive(Debug, Clone)]
pub struct InlineImage {
    pub png: Vec<u8>,
    pub width: f32,
    pub height: f32,
}

/// Supplied images by key.
pub type Images = std::collections::BTreeMap<String, InlineImage>;

/// Rendering options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub page_size: PageSize,
    /// Most pages the output may have (at most [`MAX_PAGES`]).
    pub max_pages: usize,
    /// Title stored in the PDF document info; defaults to the text of the first `# Heading`
    /// (else of the first heading of any level).
    pub title: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self { page_size: PageSize::default(), max_pages: MAX_PAGES, title: None }
    }
}

/// Why a Markdown document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum MarkdownError {
    #[error("the Markdown document is too large: at most {limit} bytes are accepted")]
    TooLarge { limit: usize },
    #[error("the Markdown document contains no visible text")]
    Empty,
    #[error("the Markdown document is not valid UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("the Markdown document is too long: it would exceed {limit} pages")]
    TooManyPages { limit: usize },
    #[error("the Markdown document is too complex to typeset: {0}")]
    TooComplex(String),
    #[error("the Markdown document could not be rendered to PDF: {0}")]
    Render(String),
}

/// A rendered PDF.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub page_count: u32,
    /// The title written into the PDF metadata, if any.
    pub title: Option<String>,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("pdf", &format_args!("<{} bytes>", self.pdf.len()))
            .field("page_count", &self.page_count)
            .field("title", &self.title)
            .finish()
    }
}

/// Renders Markdown (CommonMark plus GFM tables, strikethrough and task lists) to a PDF.
///
/// Raw HTML is printed literally, images become an "[image: alt]" placeholder, and only
/// `http(s)`/`mailto` links become clickable.
pub fn render(markdown: &str, options: &Options) -> Result<Rendered, MarkdownError> {
    render_with_images(markdown, options, &Images::new())
}

/// [`render`] with images the caller supplies ([`InlineImage`]).
pub fn render_with_images(markdown: &str, options: &Options, images: &Images) -> Result<Rendered, MarkdownError> {
    // Defence in depth: the renderer is written and fuzzed not to panic, but a bug in a
    // dependency must surface as an error for this request, not take the worker down.
    catch_unwind(AssertUnwindSafe(|| render_unguarded_with(markdown, options, images)))
        .unwrap_or_else(|_| Err(MarkdownError::Render("internal error while rendering".to_string())))
}

/// Like [`render`], for request bodies that have not been decoded yet.
pub fn render_bytes(markdown: &[u8], options: &Options) -> Result<Rendered, MarkdownError> {
    if markdown.len() > MAX_INPUT_BYTES {
        return Err(MarkdownError::TooLarge { limit: MAX_INPUT_BYTES });
    }
    let text = std::str::from_utf8(markdown).map_err(|e| MarkdownError::NotUtf8 { offset: e.valid_up_to() })?;
    render(text, options)
}

/// The actual pipeline, without the panic guard (tests call this so panics are not masked).
#[cfg(test)]
fn render_unguarded(markdown: &str, options: &Options) -> Result<Rendered, MarkdownError> {
    render_unguarded_with(markdown, options, &Images::new())
}

fn render_unguarded_with(markdown: &str, options: &Options, images: &Images) -> Result<Rendered, MarkdownError> {
    if markdown.len() > MAX_INPUT_BYTES {
        return Err(MarkdownError::TooLarge { limit: MAX_INPUT_BYTES });
    }
    // Uploaded Markdown has no images to draw; only the certificate hands some in.
    let document = parse::parse_with_images(markdown, images);
    if let Some(why) = document.too_complex {
        return Err(MarkdownError::TooComplex(why));
    }
    if !document.has_visible_text {
        return Err(MarkdownError::Empty);
    }
    let fonts = fonts::FontSet::get().map_err(MarkdownError::Render)?;
    let geometry = options.page_size.geometry();
    let max_pages = options.max_pages.min(MAX_PAGES);
    let too_long = || MarkdownError::TooManyPages { limit: max_pages };
    let rows = Layouter::new(fonts, max_pages * ROWS_PER_PAGE)
        .layout(&document.blocks, geometry.left, geometry.content_width())
        .map_err(|_| too_long())?;
    let pages = paginate(&rows, &geometry);
    drop(rows);
    if pages.len() > max_pages {
        return Err(too_long());
    }
    let title = options
        .title
        .as_deref()
        .map(|t| parse::sanitize(t, false).trim().to_string())
        .filter(|t| !t.is_empty())
        .or(document.first_h1)
        .or(document.first_heading);
    let pdf = pdf::write(&pages, &geometry, fonts, title.as_deref(), images).map_err(MarkdownError::Render)?;
    let page_count = u32::try_from(pages.len()).map_err(|_| too_long())?;
    Ok(Rendered { pdf, page_count, title })
}

#[cfg(test)]
mod tests;
