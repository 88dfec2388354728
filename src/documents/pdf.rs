//! Reading just enough of a PDF to decide whether to accept it: is it one, is it encrypted, can
//! its structure be parsed, and how many pages does it have.
//!
//! The file is parsed in two passes. The first reads only the cross-reference table, trailer and
//! page tree (cheap, and it sees `/Encrypt`). The second parses every object, which is what finds
//! damage deeper in the file, with the content of ordinary streams dropped as each object is read.
//! Object and cross-reference streams keep their content, since other objects live inside them.
//! Decompression is bounded, so a small "zip bomb" cannot exhaust memory.
//!
//! The full pass copies each stream while parsing it, so its peak memory grows with the largest
//! stream. Files above [`FULL_PARSE_LIMIT`] (scans, mostly: contracts are far smaller) get the
//! first pass only, which keeps the memory an upload costs flat however large it is.
//!
//! Nothing here catches panics: the fuzz target (`fuzz/`) exists to find them, and the server
//! runs inspection on a blocking thread whose panic becomes a refusal.

use super::Refusal;
use lopdf::{Document, LoadOptions, Object};

/// Largest size any one stream may decompress to while the structure is parsed.
const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// Files up to this size get the full structural parse.
pub const FULL_PARSE_LIMIT: usize = 16 * 1024 * 1024;

/// What inspection learnt about an acceptable PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfInfo {
    pub pages: u32,
    /// The header's version, e.g. `1.7`.
    pub version: String,
}

/// Inspects `bytes` as a PDF. Any problem is a [`Refusal`]: `UnsupportedType` when it is not a
/// PDF at all, `Encrypted`, `Corrupt` or `NoPages` otherwise.
pub fn inspect(bytes: &[u8]) -> Result<PdfInfo, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if !super::has_pdf_header(bytes) {
        return Err(Refusal::UnsupportedType);
    }
    let metadata = Document::load_metadata_mem(bytes).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    if metadata.encrypted {
        return Err(Refusal::Encrypted);
    }
    if bytes.len() > FULL_PARSE_LIMIT {
        if metadata.page_count == 0 {
            return Err(Refusal::NoPages);
        }
        return Ok(PdfInfo { pages: metadata.page_count, version: metadata.version });
    }
    let document = parse(bytes, true).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    if document.is_encrypted() || document.trailer.get(b"Encrypt").is_ok() {
        return Err(Refusal::Encrypted);
    }
    let mut pages = document.get_pages().len();
    if pages == 0 {
        // A filtered parse skips lopdf's repair of a damaged page tree; try once more in full.
        pages = parse(bytes, false).map(|d| d.get_pages().len()).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    }
    if pages == 0 {
        return Err(Refusal::NoPages);
    }
    Ok(PdfInfo { pages: u32::try_from(pages).unwrap_or(u32::MAX), version: document.version.clone() })
}

fn parse(bytes: &[u8], drop_contents: bool) -> lopdf::Result<Document> {
    let options = LoadOptions {
        max_decompressed_size: Some(MAX_DECOMPRESSED),
        filter: drop_contents.then_some(drop_stream_content as lopdf::FilterFunc),
        ..LoadOptions::default()
    };
    Document::load_mem_with_options(bytes, options)
}

/// Keeps every object, but empties ordinary streams (page contents, images, fonts): their bytes
/// are not needed to judge the file's structure.
fn drop_stream_content(id: (u32, u16), object: &mut Object) -> Option<((u32, u16), Object)> {
    if let Object::Stream(stream) = object
        && !stream.dict.has_type(b"ObjStm")
        && !stream.dict.has_type(b"XRef")
    {
        stream.content = Vec::new();
    }
    Some((id, std::mem::replace(object, Object::Null)))
}

/// lopdf's error, shortened to something a person can act on.
fn describe(error: &lopdf::Error) -> String {
    let text = error.to_string();
    let first_line = text.lines().next().unwrap_or("unreadable structure");
    first_line.chars().take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid PDF with `pages` empty pages, built by hand.
    pub(crate) fn tiny_pdf(pages: usize) -> Vec<u8> {
        let mut objects = vec!["<< /Type /Catalog /Pages 2 0 R >>".to_owned()];
        let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")));
        for _ in 0..pages {
            objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_owned());
        }
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
        );
        out
    }

    #[test]
    fn a_valid_pdf_is_accepted_with_its_page_count() {
        assert_eq!(inspect(&tiny_pdf(3)), Ok(PdfInfo { pages: 3, version: "1.7".into() }));
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(inspect(b""), Err(Refusal::Empty));
        assert_eq!(inspect(b"hello, world"), Err(Refusal::UnsupportedType));
        assert!(matches!(inspect(b"%PDF-1.7\n garbage garbage"), Err(Refusal::Corrupt(_))));
        assert!(matches!(inspect(&tiny_pdf(0)), Err(Refusal::NoPages) | Err(Refusal::Corrupt(_))));
    }

    #[test]
    fn an_encrypt_entry_is_refused() {
        let pdf = String::from_utf8(tiny_pdf(1)).expect("ascii");
        let pdf = pdf.replace(
            "/Root 1 0 R >>",
            "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O (x) /U (y) /P -4 >> /ID [<00> <00>] >>",
        );
        assert_eq!(inspect(pdf.as_bytes()), Err(Refusal::Encrypted));
    }

    #[test]
    fn truncations_never_panic() {
        let pdf = tiny_pdf(2);
        for cut in 0..pdf.len() {
            let _ = inspect(&pdf[..cut]);
        }
    }
}
