//! The consumer disclosure a signer agrees to before filling anything (ESIGN Act §101(c), UETA).
//!
//! The operator may replace the text (`signing.disclosure_file`); whichever text is shown, its
//! SHA-256 goes into the `recipient.consented` event, so the evidence says exactly what the
//! signer agreed to.

use crate::evidence::Sha256;

/// The text shown when the operator has not configured one. Paragraphs are separated by blank
/// lines; `{sender}` is replaced by the sender's name and email.
pub const DEFAULT_TEXT: &str = "\
Electronic Record and Signature Disclosure

{sender} asks you to sign this document electronically. Before you do, please read this.

Your consent. By ticking the box below you agree to receive this document, and any notices \
about it, electronically, and to sign it with an electronic signature, which has the same \
legal effect as a handwritten one. Your consent covers this document only.

Paper copies. You may ask {sender} for a paper copy of this document at any time, without \
charge, by writing to them.

Withdrawing consent. You may withdraw your consent before you sign by choosing \"Decline to \
sign\" on this page, or by writing to {sender}. Withdrawing has no fee; it ends this signing \
process, and any agreement will then have to be made on paper. Withdrawing does not undo a \
signature you have already given. Please tell {sender} if your email address changes.

What you need. A device with a current web browser (such as recent Chrome, Safari, Firefox or \
Edge), an internet connection, this email address, and a way to save or print PDF files to keep \
your copy. Because you can read this page and the document shown with it, your device meets \
these requirements.";

/// The text with the sender filled in, as shown and as hashed.
pub fn render(template: &str, sender: &str) -> String {
    template.replace("{sender}", sender)
}

/// What the `recipient.consented` event records about the text.
pub fn text_sha256(rendered: &str) -> Sha256 {
    Sha256::digest(rendered.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_named_and_the_hash_follows_the_text() {
        let a = render(DEFAULT_TEXT, "Ada Lovelace <ada@example.com>");
        assert!(a.contains("Ada Lovelace <ada@example.com> asks you to sign"));
        assert!(!a.contains("{sender}"));
        let b = render(DEFAULT_TEXT, "Bob <bob@example.com>");
        assert_ne!(text_sha256(&a), text_sha256(&b));
    }
}
