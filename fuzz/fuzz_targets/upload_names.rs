//! The cheap upload checks: `sniff` (file kind from first bytes, name and content type) and
//! `Title::from_file_name`. Neither may panic on any input, e.g. a cut inside a multi-byte char.
#![no_main]

use attesta_core::documents::{Sniffed, Title, sniff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], Option<&str>, Option<&str>)| {
    let (first_bytes, file_name, content_type) = input;
    let kind = sniff(first_bytes, file_name, content_type);
    // A PDF header in the first 1024 bytes always wins, whatever the name or type says.
    let head = &first_bytes[..first_bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        assert_eq!(kind, Sniffed::Pdf);
    }
    if let Some(name) = file_name
        && let Some(title) = Title::from_file_name(name)
    {
        // A title from a file name is always a valid title in its own right.
        assert!(Title::parse(title.as_str()).is_ok(), "{name:?} gave an unparsable title {title:?}");
    }
});
