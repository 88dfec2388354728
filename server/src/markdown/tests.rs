//! End-to-end tests: render real documents and inspect the PDFs with lopdf and poppler/qpdf.
//!
//! External tools are optional: when one is missing the check is skipped with a message, so the
//! suite still runs on minimal CI images.

use std::path::PathBuf;
use std::process::Command;

use proptest::prelude::*;

use super::*;

const SAMPLE: &str = include_str!("testdata/sample_contract.md");

fn render_ok(markdown: &str) -> Rendered {
    render_unguarded(markdown, &Options::default()).expect("render")
}

/// Writes the PDF to a unique temporary file for the command-line tools.
fn temp_pdf(name: &str, pdf: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mdpdf-{}-{name}.pdf", std::process::id()));
    std::fs::write(&path, pdf).expect("write temp pdf");
    path
}

/// Runs an external tool; `None` (with a message) when it is not installed.
fn run_tool(tool: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(tool).args(args).output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: `{tool}` is not installed (install poppler-utils / qpdf to enable this check)");
            None
        }
        Err(e) => panic!("could not run {tool}: {e}"),
    }
}

fn pdftotext(path: &std::path::Path) -> Option<String> {
    let path = path.to_str().expect("utf-8 temp path");
    let output = run_tool("pdftotext", &["-layout", path, "-"])?;
    assert!(output.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn lopdf_pages(pdf: &[u8]) -> usize {
    let document = lopdf::Document::load_mem(pdf).expect("lopdf parses the output");
    document.get_pages().len()
}

fn position(haystack: &str, needle: &str) -> usize {
    haystack.find(needle).unwrap_or_else(|| panic!("{needle:?} not found in extracted text:\n{haystack}"))
}

#[test]
fn sample_contract_renders_to_a_few_pages() {
    let rendered = render_ok(SAMPLE);
    assert!((2..=5).contains(&rendered.page_count), "page count {}", rendered.page_count);
    assert_eq!(lopdf_pages(&rendered.pdf), rendered.page_count as usize);
    assert_eq!(rendered.title.as_deref(), Some("Master Services Agreement"));
    assert!(rendered.pdf.starts_with(b"%PDF-"));
}

#[test]
fn all_fonts_are_embedded() {
    let rendered = render_ok(SAMPLE);
    let path = temp_pdf("fonts", &rendered.pdf);
    let Some(output) = run_tool("pdffonts", &[path.to_str().expect("path")]) else {
        return;
    };
    assert!(output.status.success());
    let listing = String::from_utf8_lossy(&output.stdout);
    let fonts: Vec<&str> = listing.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(fonts.len() >= 3, "expected regular, bold and italic fonts:\n{listing}");
    for line in fonts {
        let columns: Vec<&str> = line.split_whitespace().collect();
        // Columns from the right: emb sub uni object-number generation.
        let emb = columns.len().checked_sub(5).and_then(|i| columns.get(i)).copied();
        assert_eq!(emb, Some("yes"), "font not embedded: {line}");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn text_comes_back_in_reading_order() {
    let rendered = render_ok(SAMPLE);
    let path = temp_pdf("text", &rendered.pdf);
    let Some(text) = pdftotext(&path) else { return };
    let anchors = [
        "Master Services Agreement",
        "1. Definitions and Interpretation",
        "2. Services",
        "2.3 Any change to the scope of the Services must be agreed in writing",
        "3. Fees and Payment",
        "Platform licence",
        "4. Confidentiality",
        "8. General",
        "Signatures",
    ];
    let positions: Vec<usize> = anchors.iter().map(|a| position(&text, a)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "headings out of order: {positions:?}");
    assert!(text.contains("Königstraße"), "non-ASCII text must survive extraction");
    assert!(text.contains(&format!("Page 1 of {}", rendered.page_count)));
    let _ = std::fs::remove_file(path);
}

#[test]
fn qpdf_check_passes() {
    let rendered = render_ok(SAMPLE);
    let path = temp_pdf("qpdf", &rendered.pdf);
    let Some(output) = run_tool("qpdf", &["--check", path.to_str().expect("path")]) else {
        return;
    };
    assert!(
        output.status.success(),
        "qpdf --check failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn output_is_deterministic() {
    let a = render_ok(SAMPLE);
    let b = render_ok(SAMPLE);
    assert!(a.pdf == b.pdf, "two renders of the same input differ");
    let c = render_ok(&SAMPLE.replace("Northwind", "Southwind"));
    assert!(a.pdf != c.pdf);
}

#[test]
fn long_documents_paginate_with_page_n_of_m() {
    let mut markdown = String::from("# Long Agreement\n\n");
    for i in 1..=200 {
        markdown.push_str(&format!(
            "Paragraph {i}. The Parties agree that this paragraph exists to test pagination across many pages, \
             and that its text is long enough to wrap onto a second line at eleven points.\n\n"
        ));
    }
    let rendered = render_ok(&markdown);
    let pages = rendered.page_count as usize;
    assert!(pages >= 8, "expected many pages, got {pages}");
    assert_eq!(lopdf_pages(&rendered.pdf), pages);
    let path = temp_pdf("long", &rendered.pdf);
    let Some(text) = pdftotext(&path) else { return };
    let page_texts: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(page_texts.len(), pages);
    for (index, page) in page_texts.iter().enumerate() {
        let footer = format!("Page {} of {pages}", index + 1);
        assert!(page.contains(&footer), "page {} lacks {footer:?}", index + 1);
    }
    let first = position(&text, "Paragraph 1.");
    let last = position(&text, "Paragraph 200.");
    assert!(first < last);
    let _ = std::fs::remove_file(path);
}

#[test]
fn headings_never_end_a_page() {
    let mut markdown = String::new();
    for i in 0..80 {
        markdown.push_str(&format!("## Heading {i}\n\n"));
        let sentences = "The Supplier shall perform this obligation diligently and in good faith. ".repeat(i % 7 + 1);
        markdown.push_str(&format!("{sentences}\n\n"));
    }
    let rendered = render_ok(&markdown);
    assert!(rendered.page_count > 5);
    let path = temp_pdf("orphans", &rendered.pdf);
    let Some(text) = pdftotext(&path) else { return };
    for page in text.split('\u{c}').filter(|p| !p.trim().is_empty()) {
        let lines: Vec<&str> = page.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let before_footer = lines.iter().rev().nth(1).copied().unwrap_or_default();
        assert!(!before_footer.starts_with("Heading"), "page ends with a heading: {before_footer:?}");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn letter_paper_and_explicit_title() {
    let options =
        Options { page_size: PageSize::Letter, title: Some("Custom Title".to_string()), ..Options::default() };
    let rendered = render_unguarded("# Heading\n\nBody.", &options).expect("render");
    assert_eq!(rendered.title.as_deref(), Some("Custom Title"));
    let document = lopdf::Document::load_mem(&rendered.pdf).expect("parse");
    let page_id = *document.get_pages().values().next().expect("one page");
    let page = document.get_dictionary(page_id).expect("page dict");
    let media_box = page.get(b"MediaBox").and_then(|o| o.as_array()).expect("media box");
    let numbers: Vec<f32> = media_box.iter().map(|o| o.as_float().expect("number")).collect();
    assert_eq!(numbers, vec![0.0, 0.0, 612.0, 792.0]);
}

#[test]
fn rejects_oversized_input() {
    let big = "a".repeat(MAX_INPUT_BYTES + 1);
    assert!(matches!(render(&big, &Options::default()), Err(MarkdownError::TooLarge { limit: MAX_INPUT_BYTES })));
    assert!(matches!(render_bytes(big.as_bytes(), &Options::default()), Err(MarkdownError::TooLarge { .. })));
}

#[test]
fn rejects_documents_beyond_the_page_limit() {
    let long = "The parties agree to the terms set out below, clause by clause.\n\n".repeat(2_000);
    let options = Options { max_pages: 20, ..Options::default() };
    let result = render_unguarded(&long, &options);
    assert!(matches!(result, Err(MarkdownError::TooManyPages { limit: 20 })), "{result:?}");
    // An upload's limit is lower than the certificate's: a megabyte of one-line rows of code
    // would fill thousands of pages, and layout stops long before that.
    let lines = format!("```\n{}```\n", "x\n".repeat(MAX_INPUT_BYTES / 2 - 8));
    let result = crate::documents::markdown_pdf_for_tests(&lines);
    assert!(matches!(result, Err(MarkdownError::TooManyPages { limit: MAX_UPLOAD_PAGES })), "{result:?}");
}

#[test]
fn a_hostile_megabyte_is_refused_before_it_is_laid_out() {
    // Without a bound on the parts of a document, half a million one-letter paragraphs were
    // parsed, laid out and paginated (well over 100 MB) before the page limit refused them.
    let tiny = "a\n\n".repeat(MAX_INPUT_BYTES / 3);
    assert!(matches!(render_unguarded(&tiny, &Options::default()), Err(MarkdownError::TooComplex(_))));
    let wide = format!("{}|\n{}|\n{}|\n", "|h".repeat(5_000), "|-".repeat(5_000), "|x".repeat(5_000));
    let result = render_unguarded(&wide, &Options::default());
    assert!(matches!(&result, Err(MarkdownError::TooComplex(why)) if why.contains("columns")), "{result:?}");
}

#[test]
fn rejects_documents_without_visible_text() {
    for input in ["", "   \n\n\t\n", "---\n\n***\n", "\u{200B}\u{FEFF}", "> \n>\n", "-\n-\n"] {
        let result = render(input, &Options::default());
        assert!(matches!(result, Err(MarkdownError::Empty)), "{input:?} gave {result:?}");
    }
    let message = MarkdownError::Empty.to_string();
    assert!(message.contains("no visible text"));
}

#[test]
fn rejects_invalid_utf8() {
    let result = render_bytes(b"# Title\n\xff\xfe", &Options::default());
    assert!(matches!(result, Err(MarkdownError::NotUtf8 { offset: 8 })), "{result:?}");
}

#[test]
fn unusual_content_renders_without_panicking() {
    let inputs = [
        "中文合同条款。😀 Ελληνικά Русский עברית العربية".to_string(),
        "![logo](https://example.com/logo.png) and <b>raw html</b>\n\n<div onclick=\"x\">block</div>".to_string(),
        format!("{}\n\nend", "x".repeat(50_000)),
        format!("|{}\n|{}\n|{}", "a|".repeat(300), "-|".repeat(300), "1|".repeat(300)),
        format!("| a | b |\n|---|---|\n| {} | short |", "long cell text ".repeat(3_000)),
        ">".repeat(50_000) + " deep quote",
        "- ".repeat(20_000) + "deep list",
        (0..2000).map(|i| format!("{}- item {i}\n", "  ".repeat(i % 40))).collect(),
        "[".repeat(30_000) + "link" + &"](x)".repeat(30_000),
        "*".repeat(60_000) + "text",
        "```\n\ttab\u{0}\u{7}\r\n\u{202E}reversed\n```".to_string(),
        format!("{}. huge number", u64::MAX),
        "# \n## \n###### h6 only".to_string(),
        "[click](javascript:alert(1)) [ok](https://example.com)".to_string(),
    ];
    for input in &inputs {
        let result = render_unguarded(input, &Options::default());
        match result {
            Ok(rendered) => assert_eq!(lopdf_pages(&rendered.pdf), rendered.page_count as usize),
            Err(MarkdownError::TooManyPages { .. } | MarkdownError::TooComplex(_)) => {}
            Err(e) => {
                panic!("unexpected error {e} for input starting {:?}", input.chars().take(40).collect::<String>())
            }
        }
    }
}

#[test]
fn link_annotations_only_for_safe_schemes() {
    let rendered = render_ok("[safe](https://example.com/x) and [unsafe](javascript:alert(1))");
    let document = lopdf::Document::load_mem(&rendered.pdf).expect("parse");
    let uris: Vec<String> = document
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"Subtype").and_then(|s| s.as_name()).ok() == Some(b"Link".as_slice()))
        .filter_map(|d| d.get(b"A").and_then(|a| a.as_dict()).ok())
        .filter_map(|a| a.get(b"URI").and_then(|u| u.as_str()).ok())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    assert_eq!(uris, vec!["https://example.com/x".to_string()]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        match render_unguarded(&input, &Options::default()) {
            Ok(rendered) => prop_assert!(rendered.page_count >= 1),
            Err(MarkdownError::Empty) => {}
            Err(e) => prop_assert!(false, "unexpected error: {e}"),
        }
    }

    #[test]
    fn markdown_like_text_never_panics(input in "([-#*_`>|~!\\[\\]()\\\\: \n\t]|[a-z0-9]{1,8}|\\|---|```|1\\. |    ){0,120}") {
        match render_unguarded(&input, &Options::default()) {
            Ok(rendered) => prop_assert!(rendered.page_count >= 1),
            Err(MarkdownError::Empty) => {}
            Err(e) => prop_assert!(false, "unexpected error: {e}"),
        }
    }
}
