//! Wording rules for what people read. Errors in this crate follow the Rust convention (lower
//! case, no final full stop) so they compose into longer messages (`"cannot seal: the PDF has no
//! pages"`); where a message reaches a person on its own (the app's error banner, the REST API's
//! `message`), the edge turns it into a sentence with [`sentence`].

/// The message with its first letter in upper case: `"the PDF has no pages"` → `"The PDF has no
/// pages"`. A message that starts with a word that is not plain prose is left alone, because
/// upper-casing it would change what it names: an email address (`ada@example.com is taken`), a
/// code or identifier (`sha256`, `x_field`, `` `file` ``, `atk_…`), a path or a number.
pub fn sentence(message: &str) -> String {
    let lead = message.len() - message.trim_start().len();
    let (space, rest) = message.split_at(lead);
    let word = rest.split(char::is_whitespace).next().unwrap_or("");
    // Punctuation may end the word ("field:"), not sit inside it ("example.com").
    let core = word.trim_end_matches([',', ':', ';', '.', '!', '?']);
    let prose = core.chars().all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-'))
        // An upper-case letter inside the word makes it a name: "iPhone", "eIDAS".
        && !core.chars().skip(1).any(char::is_uppercase);
    let mut chars = rest.chars();
    match chars.next() {
        Some(first) if prose && first.is_lowercase() => {
            let mut out = String::with_capacity(message.len());
            out.push_str(space);
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
            out
        }
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn a_lower_case_message_becomes_a_sentence() {
        assert_eq!(sentence("the PDF has no pages"), "The PDF has no pages");
        assert_eq!(sentence("wrong email or password"), "Wrong email or password");
        assert_eq!(sentence("élodie's link expired"), "Élodie's link expired");
        assert_eq!(sentence("you declined to sign"), "You declined to sign");
        assert_eq!(sentence("field: missing"), "Field: missing");
    }

    #[test]
    fn a_message_that_already_reads_well_is_unchanged() {
        for m in ["The PDF has no pages.", "", "   ", "404: not found", "«quoted» text"] {
            assert_eq!(sentence(m), m);
        }
    }

    #[test]
    fn names_codes_and_addresses_keep_their_case() {
        for m in [
            "ada@example.com is already invited",
            "sha256 does not match",
            "x_field is not a field",
            "`file` is missing",
            "atk_123 is revoked",
            "example.com/x is not allowed",
            "example.com is not allowed",
            "iPhone users: tap Share",
        ] {
            assert_eq!(sentence(m), m, "{m}");
        }
    }
}
