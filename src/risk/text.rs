//! The text the engine reads: one string with the character offset where each page starts, so a
//! flag found at a character span can say its page.
//!
//! Offsets are in characters (Unicode scalar values), not bytes: they are what the scan prints
//! and what a viewer in another language counts, independent of UTF-8.

use serde::{Deserialize, Serialize};

/// A document's extracted text, page by page, joined into one string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagedText {
    /// The whole text; pages are separated by a form feed (`\u{c}`).
    pub text: String,
    /// The character offset in `text` where each page starts (first is 0); empty for plain text.
    pub page_starts: Vec<u32>,
}

impl PagedText {
    /// Plain text with no pages (a `.txt` or Markdown source).
    pub fn plain(text: impl Into<String>) -> Self {
        Self { text: text.into(), page_starts: Vec::new() }
    }

    /// Joins pages with a form feed, remembering where each starts.
    pub fn from_pages<S: AsRef<str>>(pages: &[S]) -> Self {
        let mut text = String::new();
        let mut page_starts = Vec::with_capacity(pages.len());
        let mut chars = 0u32;
        for (i, page) in pages.iter().enumerate() {
            if i > 0 {
                text.push('\u{c}');
                chars += 1;
            }
            page_starts.push(chars);
            let page = page.as_ref();
            text.push_str(page);
            chars += u32::try_from(page.chars().count()).unwrap_or(u32::MAX);
        }
        Self { text, page_starts }
    }

    /// The 1-based page holding character `offset`, or `None` for text without pages.
    pub fn page_of(&self, offset: u32) -> Option<u32> {
        if self.page_starts.is_empty() {
            return None;
        }
        let index = self.page_starts.partition_point(|&start| start <= offset);
        u32::try_from(index.max(1)).ok()
    }

    /// Whether there is anything to analyse: a scanned PDF without a text layer has pages but
    /// (almost) no letters.
    pub fn has_text(&self) -> bool {
        self.text.chars().filter(|c| c.is_alphabetic()).take(MIN_LETTERS).count() >= MIN_LETTERS
    }
}

/// Fewer letters than this in a whole document means no text layer worth analysing (a scan with a
/// stray page number or stamp).
const MIN_LETTERS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_found_by_character_offset_not_byte_offset() {
        let text = PagedText::from_pages(&["é€x", "second"]);
        assert_eq!(text.page_starts, vec![0, 4]);
        assert_eq!(text.page_of(0), Some(1));
        assert_eq!(text.page_of(2), Some(1));
        assert_eq!(text.page_of(3), Some(1), "the separator belongs to the page before");
        assert_eq!(text.page_of(4), Some(2));
        assert_eq!(text.page_of(400), Some(2));
        assert_eq!(PagedText::plain("abc").page_of(1), None);
    }

    #[test]
    fn a_page_of_digits_is_no_text_to_analyse() {
        assert!(!PagedText::from_pages(&["1", "2", " - 3 -"]).has_text());
        assert!(PagedText::plain("The Supplier shall indemnify the Customer. ".repeat(10)).has_text());
    }
}
