//! Markdown documents become PDFs on upload: the PDF is the document people sign.

use crate::markdown::{Options, PageSize, render as typeset};

/// Typesets `source` as an A4 PDF titled `title` (else after its first heading).
pub fn render(source: &str, title: Option<&str>) -> Result<Vec<u8>, crate::markdown::MarkdownError> {
    let options = Options { page_size: PageSize::A4, title: title.map(str::to_owned) };
    Ok(typeset(source, &options)?.pdf)
}
