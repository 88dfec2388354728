//! What the clause model sees of a sentence: its words, pairs and triples of adjacent words, the
//! words of the heading above it, and a few shapes (money, percentages, periods of time, a
//! sentence in capitals).
//!
//! Words are lower-cased runs of letters and digits; every run of digits reads as `0`, so "30
//! days" and "90 days" are the same feature. A feature is named `kind:text` in the model file
//! (`w:governed`, `p:governed by`, `t:most favored nation`, `h:insurance`, `s:money`) and looked
//! up by a 64-bit FNV-1a hash of that name, computed without building the string.

/// The kinds of feature, as the one-letter prefix of their names.
pub const WORD: u8 = b'w';
pub const PAIR: u8 = b'p';
pub const TRIPLE: u8 = b't';
pub const HEADING: u8 = b'h';
pub const SHAPE: u8 = b's';

/// Reusable buffers, so scoring a document allocates nothing per sentence.
#[derive(Debug, Default)]
pub struct Scratch {
    words: String,
    bounds: Vec<(usize, usize)>,
}

/// Calls `emit(kind, text)` for every feature of `sentence` under `heading` (repeats included;
/// callers de-duplicate).
pub fn for_each(sentence: &str, heading: Option<&str>, scratch: &mut Scratch, mut emit: impl FnMut(u8, &str)) {
    if let Some(heading) = heading {
        tokenize(heading, scratch);
        for &(a, b) in &scratch.bounds {
            emit(HEADING, &scratch.words[a..b]);
        }
    }
    tokenize(sentence, scratch);
    let words = &scratch.words;
    let bounds = &scratch.bounds;
    for (i, &(a, b)) in bounds.iter().enumerate() {
        emit(WORD, &words[a..b]);
        if let Some(&(_, b2)) = bounds.get(i + 1) {
            emit(PAIR, &words[a..b2]);
        }
        if let Some(&(_, b3)) = bounds.get(i + 2) {
            emit(TRIPLE, &words[a..b3]);
        }
    }
    let letters = sentence.chars().filter(|c| c.is_alphabetic()).count();
    let capitals = sentence.chars().filter(|c| c.is_uppercase()).count();
    if letters >= 40 && capitals * 10 >= letters * 8 {
        emit(SHAPE, "caps");
    }
    if sentence.contains('$') {
        emit(SHAPE, "money");
    }
    if sentence.contains('%') {
        emit(SHAPE, "percent");
    }
    if bounds.len() <= 3 {
        emit(SHAPE, "short");
    } else if bounds.len() >= 120 {
        emit(SHAPE, "long");
    }
}

/// Lower-cased words of `text`, separated by single spaces in `scratch.words`, with their spans.
fn tokenize(text: &str, scratch: &mut Scratch) {
    scratch.words.clear();
    scratch.bounds.clear();
    let mut start: Option<usize> = None;
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            let digit = c.is_ascii_digit();
            if start.is_none() {
                if !scratch.words.is_empty() {
                    scratch.words.push(' ');
                }
                start = Some(scratch.words.len());
            } else if digit && in_digits {
                continue;
            }
            in_digits = digit;
            if digit {
                scratch.words.push('0');
            } else if c.is_ascii() {
                scratch.words.push(c.to_ascii_lowercase());
            } else {
                scratch.words.extend(c.to_lowercase());
            }
        } else if c == '\'' || c == '’' {
            // "party's" is one word: the apostrophe neither ends nor joins it.
        } else if let Some(s) = start.take() {
            scratch.bounds.push((s, scratch.words.len()));
            in_digits = false;
        }
    }
    if let Some(s) = start {
        scratch.bounds.push((s, scratch.words.len()));
    }
}

/// The hash a feature is looked up by: FNV-1a over `kind`, `:` and `text`.
pub fn hash(kind: u8, text: &str) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in [kind, b':'].iter().chain(text.as_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// The name a feature has in the model file.
pub fn name(kind: u8, text: &str) -> String {
    let mut name = String::with_capacity(text.len() + 2);
    name.push(char::from(kind));
    name.push(':');
    name.push_str(text);
    name
}

/// The hash of a feature given by its name (`w:governed`), as stored in the model file.
pub fn hash_name(name: &str) -> Option<u64> {
    let (kind, text) = name.split_once(':')?;
    let &[kind] = kind.as_bytes() else { return None };
    Some(hash(kind, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(sentence: &str, heading: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for_each(sentence, heading, &mut Scratch::default(), |k, t| out.push(name(k, t)));
        out
    }

    #[test]
    fn words_are_lower_cased_and_numbers_read_as_zero() {
        let f = features("Terminate on 30 days' notice", Some("12. Term"));
        for expected in ["h:0", "h:term", "w:terminate", "p:0 days", "t:on 0 days", "w:notice"] {
            assert!(f.contains(&expected.to_string()), "{expected} missing from {f:?}");
        }
    }

    #[test]
    fn shapes_see_capitals_money_and_percentages() {
        let f = features("IN NO EVENT SHALL EITHER PARTY BE LIABLE FOR MORE THAN $100 OR 5% OF FEES", None);
        for expected in ["s:caps", "s:money", "s:percent"] {
            assert!(f.contains(&expected.to_string()), "{expected} missing");
        }
    }

    #[test]
    fn a_name_hashes_like_its_parts() {
        assert_eq!(hash_name("p:governed by"), Some(hash(PAIR, "governed by")));
        assert_eq!(hash_name("nonsense"), None);
    }
}
