//! Text from a PDF, page by page, for the risk engine (feature `pdf`).
//!
//! `pdf-extract` lays out each page's text operators into lines and words; the engine then only
//! ever sees [`PagedText`]. It was chosen over lopdf's own `extract_text` by measuring both on the
//! CUAD PDFs against CUAD's text (`examples/pdf_text.rs`, docs/PERFORMANCE.md): lopdf decodes no
//! text at all from most of them (fonts whose encoding it does not map), pdf-extract recovers
//! the reference's words.
//!
//! pdf-extract can panic on malformed content; that is caught here and becomes an error, so a bad
//! file costs its own scan and nothing else.

use super::text::PagedText;

/// Why no text came out of a PDF at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the PDF's text could not be read: {0}")]
    Unreadable(String),
}

/// The text of every page of `bytes`, in page order, pages joined by a form feed.
pub fn page_texts(bytes: &[u8]) -> Result<PagedText, ExtractError> {
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .map_err(|_| ExtractError::Unreadable("the text extractor failed on this file".into()))?
        .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    let pages: Vec<String> = pages.iter().map(|p| tidy(p)).collect();
    Ok(PagedText::from_pages(&pages))
}

/// Drops control characters other than line breaks and tabs (some fonts map glyphs to them),
/// keeping the text's shape; form feeds are reserved for page breaks.
fn tidy(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_comes_out_page_by_page() {
        let pdf = crate::documents::pdf::tests::tiny_pdf(2);
        let text = page_texts(&pdf).expect("a valid PDF");
        assert_eq!(text.page_starts.len(), 2);
        assert!(!text.has_text(), "a PDF without text operators has nothing to analyse");
    }

    #[test]
    fn a_pdf_without_a_text_layer_is_no_text_to_analyse() {
        // Like a scan: pages, but no text operators. The scan says so rather than finding nothing.
        let text = page_texts(&crate::documents::pdf::tests::tiny_pdf(3)).expect("a valid PDF");
        let scan = super::super::Engine::builtin().scan(&text);
        assert_eq!(scan.state, super::super::ScanState::NoText);
        assert!(scan.flags.is_empty() && scan.missing.is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(page_texts(b"%PDF-1.4 not really").is_err());
    }
}
