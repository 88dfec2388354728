//! Markdown documents become PDFs on upload: the PDF is the document people sign.

use crate::markdown::{Options, PageSize, Rendered, render as typeset};

/// Typesets `source` as an A4 PDF titled `title` (else after its first heading); the rendering
/// says which title it took, so the document can carry the same one.
pub fn render(source: &str, title: Option<&str>) -> Result<Rendered, crate::markdown::MarkdownError> {
    let options = Options {
        page_size: PageSize::A4,
        max_pages: crate::markdown::MAX_UPLOAD_PAGES,
        title: title.map(str::to_owned),
    };
    typeset(source, &options)
}
