//! Cutting a contract's text into the pieces clauses are judged on: sentences, each knowing the
//! heading it sits under.
//!
//! A paragraph is a line (extractors and CUAD's text put one paragraph on a line); a line that
//! does not end a sentence and is followed by one starting in lower case is joined to it, for
//! hard-wrapped text. Paragraphs are cut into sentences at `.`, `!` or `?` followed by space and
//! a capital, an opening bracket or a numbered clause (`… to terminate. 4.2 Client may …`), except after numbering (`1.`, `a.`) and common abbreviations
//! (`Inc.`, `Co.`, `No.`, `Sec.`…). A short line (or a paragraph's short first sentence, such as
//! `11. Insurance.`) is a heading: its words are features of what follows it.

/// One sentence: its span in bytes of the text, and the span of the heading above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
    /// The heading this sentence sits under (byte span), if any.
    pub heading: Option<(usize, usize)>,
}

/// Longest sentence kept whole; longer runs (tables, run-on lists) are cut at this many bytes on
/// a space, so one piece of text never dominates a document's score.
const MAX_SENTENCE: usize = 2000;

/// A line of at most this many words is a heading when it does not read as a sentence.
const HEADING_WORDS: usize = 8;

const ABBREVIATIONS: &[&str] = &[
    "inc", "co", "corp", "ltd", "no", "nos", "sec", "secs", "art", "para", "mr", "mrs", "ms", "dr", "st", "u.s", "e.g",
    "i.e", "etc", "vs", "v", "jr", "sr", "llc", "l.l.c", "n.a", "s.a", "b.v", "n.v", "p.c", "l.p",
];

/// The text's sentences, in order.
pub fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut heading: Option<(usize, usize)> = None;
    for (start, end) in paragraphs(text) {
        let paragraph = &text[start..end];
        let words = paragraph.split_whitespace().count();
        let sentences = sentences(paragraph, start);
        if words <= HEADING_WORDS && sentences.len() <= 1 && !ends_sentence_with_verb(paragraph) {
            heading = Some((start, end));
            out.push(Segment { start, end, heading: None });
            continue;
        }
        let mut local = heading;
        for (i, &(s, e)) in sentences.iter().enumerate() {
            // "11. Insurance. The Licensee shall…": the first short sentence heads the rest.
            if i == 0
                && sentences.len() > 1
                && text[s..e].split_whitespace().count() <= HEADING_WORDS / 2 + 1
                && !ends_sentence_with_verb(&text[s..e])
            {
                local = Some((s, e));
            }
            out.push(Segment { start: s, end: e, heading: local });
        }
    }
    out
}

/// Whether a short line reads as a sentence rather than a title (it has a verb such as "shall").
/// Crude on purpose: it only decides whether its words also head what follows.
fn ends_sentence_with_verb(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    [" shall ", " will ", " is ", " are ", " may ", " must "].iter().any(|w| lower.contains(w))
}

/// Byte spans of paragraphs: trimmed non-blank lines, hard wraps joined.
fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut offset = 0;
    let mut joinable = false;
    for line in text.split_inclusive(['\n', '\u{c}']) {
        let line_start = offset;
        offset += line.len();
        let trimmed_start = line_start + (line.len() - line.trim_start().len());
        let trimmed_end = line_start + line.trim_end().len();
        if trimmed_end <= trimmed_start {
            joinable = false;
            continue;
        }
        let content = &text[trimmed_start..trimmed_end];
        let starts_lower = content.chars().next().is_some_and(char::is_lowercase);
        match out.last_mut() {
            Some(last) if joinable && starts_lower => last.1 = trimmed_end,
            _ => out.push((trimmed_start, trimmed_end)),
        }
        joinable = !content.ends_with(['.', ':', ';', '!', '?']) && !line.ends_with('\u{c}');
    }
    out
}

/// Byte spans (absolute, from `base`) of the sentences of one paragraph.
fn sentences(paragraph: &str, base: usize) -> Vec<(usize, usize)> {
    let bytes = paragraph.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let cut_here = matches!(b, b'.' | b'!' | b'?')
            && bytes.get(i + 1).is_some_and(|c| c.is_ascii_whitespace())
            && (next_starts_sentence(&paragraph[i + 1..]) || next_is_numbered(&paragraph[i + 1..]))
            && !(b == b'.' && is_abbreviation_or_number(&paragraph[start..i]));
        let too_long = i - start >= MAX_SENTENCE && b == b' ';
        if cut_here || too_long {
            let end = if cut_here { i + 1 } else { i };
            push_trimmed(&mut out, paragraph, base, start, end);
            start = end;
        }
        i += 1;
    }
    push_trimmed(&mut out, paragraph, base, start, bytes.len());
    out
}

fn push_trimmed(out: &mut Vec<(usize, usize)>, paragraph: &str, base: usize, start: usize, end: usize) {
    let piece = &paragraph[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let len = piece.trim().len();
    if len > 0 {
        out.push((base + start + lead, base + start + lead + len));
    }
}

fn next_starts_sentence(rest: &str) -> bool {
    rest.trim_start().chars().next().is_some_and(|c| c.is_uppercase() || c == '(' || c == '"' || c == '“')
}

/// Whether what follows a full stop is a numbered clause ("… to terminate. 4.2 Client may …"):
/// a number such as `14`, `4.2` or `4.2.` and then a capital. Without this cut, a clause runs
/// into the one before it and takes its meaning (a termination for breach, then one without cause).
fn next_is_numbered(rest: &str) -> bool {
    let rest = rest.trim_start();
    let number = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').len();
    if number == 0 || number > 9 || !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let after = &rest[number..];
    after.starts_with(char::is_whitespace) && after.trim_start().chars().next().is_some_and(char::is_uppercase)
}

/// Whether the word before a period is numbering (`1`, `a`, `iv`, `2.1`) or an abbreviation.
fn is_abbreviation_or_number(before: &str) -> bool {
    let word = before.rsplit(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("");
    let word = word.trim_start_matches(['(', '"']);
    if word.is_empty() || word.len() <= 1 {
        return true;
    }
    if word.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return true;
    }
    let lower = word.to_ascii_lowercase();
    if ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"].contains(&lower.as_str()) {
        return true;
    }
    ABBREVIATIONS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        segments(text).iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn sentences_are_cut_at_full_stops_but_not_after_numbering_or_abbreviations() {
        let text = "1. Acme Inc. shall pay. The fee is due in 30 days. See Sec. 4 below.";
        assert_eq!(pieces(text), vec!["1. Acme Inc. shall pay.", "The fee is due in 30 days.", "See Sec. 4 below."]);
    }

    #[test]
    fn a_numbered_clause_starts_a_sentence_of_its_own() {
        // From CUAD d207: the second clause was read as part of the first, a termination for breach.
        let text = "Either party may terminate this Agreement if the other materially breaches this Agreement. \
                    4.2. Client may terminate this Agreement on thirty (30) days written notice without cause. \
                    14.3 Either party may terminate. See Section 4. 2 copies.";
        assert_eq!(
            pieces(text),
            vec![
                "Either party may terminate this Agreement if the other materially breaches this Agreement.",
                "4.2. Client may terminate this Agreement on thirty (30) days written notice without cause.",
                "14.3 Either party may terminate.",
                "See Section 4. 2 copies."
            ]
        );
    }

    #[test]
    fn a_short_line_heads_the_sentences_below_it() {
        let text = "12. INSURANCE\n\nThe Supplier shall maintain insurance. It shall name the Customer.\n";
        // "The Supplier shall maintain insurance." is short but a sentence, not a heading.
        let segments = segments(text);
        assert_eq!(segments.len(), 3);
        let heading = segments[2].heading.expect("under a heading");
        assert_eq!(&text[heading.0..heading.1], "12. INSURANCE");
    }

    #[test]
    fn a_short_first_sentence_heads_its_paragraph() {
        let text = "(b) Governing Law. This Agreement is governed by the laws of Delaware.";
        let segments = segments(text);
        let heading = segments[1].heading.expect("under a heading");
        assert_eq!(&text[heading.0..heading.1], "(b) Governing Law.");
    }

    #[test]
    fn hard_wrapped_lines_are_joined_into_one_paragraph() {
        let text = "The Supplier shall not assign this\nagreement without consent.\nNext one.";
        assert_eq!(pieces(text), vec!["The Supplier shall not assign this\nagreement without consent.", "Next one."]);
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let text = "Les parties — «Acme» — conviennent. Ça marche… Fin.";
        assert_eq!(
            pieces(text).concat().chars().filter(|c| !c.is_whitespace()).count(),
            text.chars().filter(|c| !c.is_whitespace()).count()
        );
    }
}
