//! The mails of the signing ceremony, as pure functions from facts to a [`Mail`].
//!
//! Each mail has a plain-text part and an HTML part with the same content. The HTML is one
//! centred column (at most 560 px, full width on a phone), styled inline with tables for layout
//! because Gmail drops `<style>` in some views and Outlook renders with Word: no CSS classes,
//! no images, no scripts. Every link is also written out as text, so it can be copied when the
//! button does not work, and appears in the plain-text part.
//!
//! Invariants:
//! - Everything that comes from people (names, titles, messages, reasons, codes) is HTML-escaped
//!   by [`escape_html`] before it is placed in the HTML; nothing is placed unescaped.
//! - Subjects and header names go through [`one_line`]: line breaks and other control
//!   characters become spaces, so a title cannot inject a header (the [`Mailer`](super::Mailer)
//!   would refuse it anyway).

use super::Mail;

/// A request to sign a document, sent to one recipient.
#[derive(Debug, Clone)]
pub struct SigningRequest {
    pub recipient_name: String,
    pub recipient_email: String,
    pub sender_name: String,
    pub sender_email: String,
    pub document_title: String,
    /// The recipient's personal signing link.
    pub link: String,
    /// The sender's note to the recipient, shown as written.
    pub message: Option<String>,
    /// Whether a one-time code will be mailed when the link is opened.
    pub otp_required: bool,
    /// What they are asked to do: sign (`signing_request`), approve (`approval_request`, a link
    /// to `/approvals/…`) or acknowledge (`acknowledgement_request`, `/documents/acknowledge/…`).
    pub role: attesta_core::ceremony::ParticipantRole,
}

impl SigningRequest {
    /// What the recipient is asked to do, as a verb.
    fn verb(&self) -> &'static str {
        use attesta_core::ceremony::ParticipantRole as R;
        match self.role {
            R::Approver => "approve",
            R::Acknowledger => "acknowledge",
            R::Signer | R::Cc => "sign",
        }
    }

    /// "a signer", "an approver", …: what the footer says they were named as.
    fn named_as(&self) -> &'static str {
        use attesta_core::ceremony::ParticipantRole as R;
        match self.role {
            R::Approver => "an approver",
            R::Acknowledger => "someone asked to acknowledge reading it",
            R::Signer | R::Cc => "a signer",
        }
    }

    fn template(&self) -> &'static str {
        use attesta_core::ceremony::ParticipantRole as R;
        match self.role {
            R::Approver => "approval_request",
            R::Acknowledger => "acknowledgement_request",
            R::Signer | R::Cc => "signing_request",
        }
    }
}

/// To the sender: a document out for signature has not moved for some days.
#[derive(Debug, Clone)]
pub struct StalledNotice {
    pub sender_name: String,
    pub sender_email: String,
    pub document_title: String,
    pub days: u32,
    /// "Name <email>" of each recipient still to act, in order.
    pub waiting_for: Vec<String>,
    /// The document's page in the app.
    pub link: String,
}

/// A one-time code that proves the recipient reads this mailbox.
#[derive(Debug, Clone)]
pub struct OtpCode {
    pub recipient_name: String,
    pub recipient_email: String,
    pub document_title: String,
    pub code: String,
    pub valid_minutes: u32,
}

/// Tells the sender that a recipient declined to sign.
#[derive(Debug, Clone)]
pub struct DeclinedNotice {
    pub sender_name: String,
    pub sender_email: String,
    pub recipient_name: String,
    pub recipient_email: String,
    pub document_title: String,
    pub reason: Option<String>,
    /// The document's page in Attesta.
    pub link: String,
}

/// Tells a recipient that the sender withdrew the document: their link no longer works.
#[derive(Debug, Clone)]
pub struct ExpiredNotice {
    pub recipient_name: String,
    pub recipient_email: String,
    pub sender_name: String,
    pub document_title: String,
}

pub struct VoidedNotice {
    pub recipient_name: String,
    pub recipient_email: String,
    pub sender_name: String,
    pub document_title: String,
    pub reason: Option<String>,
}

/// Tells a party that everyone has signed.
#[derive(Debug, Clone)]
pub struct CompletedNotice {
    pub to_name: String,
    pub to_email: String,
    pub document_title: String,
    /// Where the signed document and its evidence can be downloaded, when the party may.
    pub link: Option<String>,
    /// This instance's `/verify` page.
    pub verify_url: String,
    /// The signed checkpoint of the transparency log that covers the attached evidence.
    pub checkpoint: String,
    /// The sealed PDF and the evidence package.
    pub attachments: Vec<super::Attachment>,
}

/// Longest title quoted in a subject; longer ones are cut with "…" (the body has it whole).
const SUBJECT_TITLE_CHARS: usize = 80;

pub fn signing_request(r: SigningRequest) -> Mail {
    let sender = display_name(&r.sender_name, &r.sender_email);
    let title = one_line(&r.document_title);
    let verb = r.verb();
    let subject = format!("{sender} asks you to {verb} “{}”", shorten(&title, SUBJECT_TITLE_CHARS));

    let mut doc = Doc::new(&format!("{sender} sent you “{title}” to {verb}."));
    doc.greeting(&r.recipient_name);
    doc.para(&[
        B(&sender),
        T(&format!(
            " ({}) asks you to {} ",
            r.sender_email.trim(),
            if verb == "acknowledge" { "read and acknowledge".to_owned() } else { format!("review and {verb}") }
        )),
        Q(&title),
        T("."),
    ]);
    message_and_link(&mut doc, &r, &sender);
    doc.note(&[
        B("This link is personal."),
        T(&format!(
            " Anyone who has it can {verb} in your name, so do not forward this email. \
             If someone else should {verb}, ask the sender to change the recipient."
        )),
    ]);
    doc.para(&[T(&format!("Questions about the document? Reply to this email to reach {sender}."))]);
    doc.footer(&format!(
        "Sent by Attesta on behalf of {sender} ({}). You received it because you were named as {}.",
        r.sender_email.trim(),
        r.named_as()
    ));
    doc.into_mail(
        r.template(),
        &r.recipient_name,
        &r.recipient_email,
        subject,
        Some((one_line(&r.sender_name), r.sender_email.trim().to_owned())),
    )
}

/// The sender's note, the link's button and what opening it will ask: the same in a request
/// and in its reminders.
fn message_and_link(doc: &mut Doc, r: &SigningRequest, sender: &str) {
    if let Some(message) = r.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        doc.quote(&format!("Message from {sender}:"), message);
    }
    doc.button(
        match r.verb() {
            "approve" => "Review and approve",
            "acknowledge" => "Read and acknowledge",
            _ => "Review and sign",
        },
        &r.link,
    );
    if r.otp_required {
        doc.para(&[T("When you open the link, we will email you a one-time code to confirm it is you.")]);
    }
}

/// A reminder to a recipient who has not acted yet: the same request with a fresh link (the one
/// in earlier mails stops working, which the mail says, so nobody wonders why an old link fails).
pub fn signing_reminder(r: SigningRequest, number: u32, sent_on: &str) -> Mail {
    let sender = display_name(&r.sender_name, &r.sender_email);
    let title = one_line(&r.document_title);
    let verb = r.verb();
    let awaited = match verb {
        "approve" => "approval",
        "acknowledge" => "acknowledgement",
        _ => "signature",
    };
    let subject =
        format!("Reminder: {sender} is waiting for your {awaited} on “{}”", shorten(&title, SUBJECT_TITLE_CHARS));

    let mut doc = Doc::new(&format!("“{title}” is still waiting for your {awaited}."));
    doc.greeting(&r.recipient_name);
    doc.para(&[
        B(&sender),
        T(&format!(" ({}) sent you ", r.sender_email.trim())),
        Q(&title),
        T(&format!(" to review and {verb} on {sent_on}, and it is still waiting for you.")),
    ]);
    message_and_link(&mut doc, &r, &sender);
    doc.note(&[
        B("Use this link from now on."),
        T(" The link in earlier emails about this document no longer works. This one is personal: \
           do not forward this email."),
    ]);
    doc.para(&[T(&format!("Questions about the document? Reply to this email to reach {sender}."))]);
    doc.footer(&format!(
        "Reminder {number}, sent by Attesta on behalf of {sender} ({}). You received it because you were named as {} \
         and have not done so yet.",
        r.sender_email.trim(),
        r.named_as()
    ));
    doc.into_mail(
        "signing_reminder",
        &r.recipient_name,
        &r.recipient_email,
        subject,
        Some((one_line(&r.sender_name), r.sender_email.trim().to_owned())),
    )
}

pub fn stalled_notice(n: StalledNotice) -> Mail {
    let title = one_line(&n.document_title);
    let days = if n.days == 1 { "a day".to_owned() } else { format!("{} days", n.days) };
    let subject = format!("No progress on “{}” for {days}", shorten(&title, SUBJECT_TITLE_CHARS));
    let mut doc = Doc::new(&format!("Nothing has moved on “{title}” for {days}."));
    doc.greeting(&n.sender_name);
    doc.para(&[
        Q(&title),
        T(&format!(" has been waiting for {days} without anyone opening, agreeing to or signing it.")),
    ]);
    if !n.waiting_for.is_empty() {
        doc.para(&[T(&format!("Still to act: {}.", n.waiting_for.join(", ")))]);
    }
    doc.para(&[T(
        "A call or a message from you often helps; you can also send someone a new link from the document's page.",
    )]);
    doc.button("Open the document", &n.link);
    doc.footer("Sent by Attesta because a document you sent for signature stalled. It is also on your \"Needs attention\" list.");
    doc.into_mail("stalled_notice", &n.sender_name, &n.sender_email, subject, None)
}

/// The code is kept out of the subject on purpose. Subjects are shown where the message is not
/// opened: on a locked phone's notifications, in watch and car read-outs, in the list views of
/// shared or delegated mailboxes and in mail-server logs. The code is a credential; in the body
/// it is seen only by someone who opens the mail. (The subject names the document, so the person
/// still finds the right mail at a glance, and the preview line does not contain the code.)
pub fn otp_code(o: OtpCode) -> Mail {
    let title = one_line(&o.document_title);
    let subject = format!("Your signing code for “{}”", shorten(&title, SUBJECT_TITLE_CHARS));
    let code = group_code(&o.code);
    let minutes = if o.valid_minutes == 1 { "1 minute".to_owned() } else { format!("{} minutes", o.valid_minutes) };

    let mut doc = Doc::new("Use this code to confirm it is you and continue to the document.");
    doc.greeting(&o.recipient_name);
    doc.para(&[T("Enter this code on the signing page of "), Q(&title), T(" to confirm it is you:")]);
    doc.code(&code);
    doc.para(&[T("The code works for "), B(&minutes), T(" and only once.")]);
    doc.note(&[T("If you did not ask for a code, ignore this email: nothing happens without it. \
         Never give this code to anyone, including someone who says they are from Attesta.")]);
    doc.footer("Sent by Attesta because someone opened your signing link and asked for a code.");
    doc.into_mail("otp_code", &o.recipient_name, &o.recipient_email, subject, None)
}

pub fn declined_notice(d: DeclinedNotice) -> Mail {
    let recipient = display_name(&d.recipient_name, &d.recipient_email);
    let title = one_line(&d.document_title);
    let subject = format!("{recipient} declined to sign “{}”", shorten(&title, SUBJECT_TITLE_CHARS));

    let mut doc = Doc::new(&format!("{recipient} will not sign “{title}”."));
    doc.greeting(&d.sender_name);
    doc.para(&[B(&recipient), T(&format!(" ({}) declined to sign ", d.recipient_email.trim())), Q(&title), T(".")]);
    match d.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => doc.quote("Their reason:", reason),
        None => doc.para(&[T("They gave no reason.")]),
    }
    doc.para(&[T("The signing has stopped for everyone. Reply to this email to reach them, and send a \
         corrected document when you are ready.")]);
    doc.button("Open the document", &d.link);
    doc.footer("Sent by Attesta because you sent this document for signing.");
    doc.into_mail(
        "declined_notice",
        &d.sender_name,
        &d.sender_email,
        subject,
        Some((one_line(&d.recipient_name), d.recipient_email.trim().to_owned())),
    )
}

pub fn voided_notice(v: VoidedNotice) -> Mail {
    let sender = one_line(&v.sender_name);
    let sender = if sender.is_empty() { "The sender".to_owned() } else { sender };
    let title = one_line(&v.document_title);
    let subject = format!("{sender} withdrew “{}”", shorten(&title, SUBJECT_TITLE_CHARS));

    let mut doc = Doc::new(&format!("“{title}” no longer needs your signature."));
    doc.greeting(&v.recipient_name);
    doc.para(&[B(&sender), T(" withdrew "), Q(&title), T(". It no longer needs your signature.")]);
    if let Some(reason) = v.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        doc.quote("Their reason:", reason);
    }
    doc.para(&[T("The signing link you received no longer works. There is nothing more for you to do.")]);
    doc.footer("Sent by Attesta because you were named as a signer of this document.");
    doc.into_mail("voided_notice", &v.recipient_name, &v.recipient_email, subject, None)
}

pub fn expired_notice(e: ExpiredNotice) -> Mail {
    let sender = one_line(&e.sender_name);
    let sender = if sender.is_empty() { "The sender".to_owned() } else { sender };
    let title = one_line(&e.document_title);
    let subject = format!("“{}” expired before everyone signed", shorten(&title, SUBJECT_TITLE_CHARS));

    let mut doc = Doc::new(&format!("“{title}” expired before everyone signed."));
    doc.greeting(&e.recipient_name);
    doc.para(&[
        T("The deadline to sign "),
        Q(&title),
        T(" has passed before everyone signed, so it will not be completed."),
    ]);
    doc.para(&[
        T("The signing link you received no longer works. If it still needs your signature, "),
        B(&sender),
        T(" can send it again."),
    ]);
    doc.footer("Sent by Attesta because you were named as a signer of this document.");
    doc.into_mail("expired_notice", &e.recipient_name, &e.recipient_email, subject, None)
}

pub fn completed_notice(c: CompletedNotice) -> Mail {
    let title = one_line(&c.document_title);
    let subject = format!("“{}” is signed by everyone", shorten(&title, SUBJECT_TITLE_CHARS));

    let mut doc = Doc::new(&format!("Everyone has signed “{title}”. Your signed copy and its evidence are attached."));
    doc.greeting(&c.to_name);
    doc.para(&[T("Everyone has signed "), Q(&title), T(". The signing is complete.")]);
    if !c.attachments.is_empty() {
        doc.para(&[T(
            "Attached are the signed document, sealed, with a certificate of completion listing every step, \
             and its evidence record. Keep both: they prove what was signed, by whom and when, without \
             relying on us.",
        )]);
    }
    doc.para(&[T("The evidence is anchored in this signed checkpoint of the transparency log. Once you hold it, \
         no one, including whoever runs this service, can quietly rewrite that history:")]);
    doc.preformatted(&c.checkpoint);
    doc.para(&[
        T("Anyone can check the document at "),
        B(c.verify_url.trim()),
        T(": the check runs in the browser \
         and the file never leaves the device."),
    ]);
    if let Some(link) = &c.link {
        doc.button("Open the document", link);
    }
    doc.footer("Sent by Attesta because you took part in signing this document.");
    let mut mail = doc.into_mail("completed_notice", &c.to_name, &c.to_email, subject, None);
    mail.attachments = c.attachments;
    mail
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` on one line: control characters (CR, LF, tab, ...) become spaces, runs of white space
/// one space, and the ends are trimmed. For subjects, header names and titles.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control() || c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// `name`, or the address when there is no name.
fn display_name(name: &str, email: &str) -> String {
    let name = one_line(name);
    if name.is_empty() { one_line(email) } else { name }
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars - 1).collect();
    format!("{}…", cut.trim_end())
}

/// `123456` as `123 456`, `12345678` as `1234 5678`: easier to read and type. Other shapes as given.
fn group_code(code: &str) -> String {
    let code = code.trim();
    let digits = code.chars().all(|c| c.is_ascii_digit());
    if digits && code.len() >= 6 && code.len().is_multiple_of(2) {
        let (a, b) = code.split_at(code.len() / 2);
        format!("{a} {b}")
    } else {
        code.to_owned()
    }
}

/// A piece of a paragraph: plain text, bold text, or a quoted title.
enum Piece<'a> {
    T(&'a str),
    B(&'a str),
    Q(&'a str),
}
use Piece::{B, Q, T};

const FONT: &str = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const ACCENT: &str = "#1d4ed8";

/// The two parts of a mail, built side by side so they always say the same thing.
struct Doc {
    preheader: String,
    html: String,
    text: String,
    footer: String,
}

impl Doc {
    /// `preheader`: the line mail apps show next to the subject in the list.
    fn new(preheader: &str) -> Self {
        Self { preheader: preheader.to_owned(), html: String::new(), text: String::new(), footer: String::new() }
    }

    fn greeting(&mut self, name: &str) {
        let name = one_line(name);
        let hello = if name.is_empty() { "Hello,".to_owned() } else { format!("Hello {name},") };
        self.para(&[T(&hello)]);
    }

    fn para(&mut self, pieces: &[Piece<'_>]) {
        self.styled_para(pieces, "margin:0 0 16px 0;");
    }

    /// A paragraph set apart: a warning or a caution.
    fn note(&mut self, pieces: &[Piece<'_>]) {
        self.styled_para(
            pieces,
            "margin:0 0 16px 0;padding:12px 14px;background:#fef9c3;border-left:4px solid #ca8a04;font-size:15px;",
        );
    }

    fn styled_para(&mut self, pieces: &[Piece<'_>], style: &str) {
        self.html.push_str(&format!("<p style=\"{style}\">"));
        for piece in pieces {
            match piece {
                T(t) => {
                    self.html.push_str(&escape_html(t));
                    self.text.push_str(t);
                }
                B(t) => {
                    self.html.push_str(&format!("<strong>{}</strong>", escape_html(t)));
                    self.text.push_str(t);
                }
                Q(t) => {
                    self.html.push_str(&format!("<strong>“{}”</strong>", escape_html(t)));
                    self.text.push_str(&format!("“{t}”"));
                }
            }
        }
        self.html.push_str("</p>\n");
        self.text.push_str("\n\n");
    }

    /// Someone's own words (a message, a reason), kept with their line breaks.
    fn quote(&mut self, label: &str, words: &str) {
        let lines: Vec<&str> = words.lines().map(str::trim_end).collect();
        let html_lines: Vec<String> = lines.iter().map(|l| escape_html(l)).collect();
        self.html.push_str(&format!(
            "<p style=\"margin:0 0 6px 0;color:#52525b;font-size:14px;\">{}</p>\n\
             <div style=\"margin:0 0 16px 0;padding:12px 14px;background:#f4f4f5;border-left:4px solid #a1a1aa;\
             white-space:pre-wrap;\">{}</div>\n",
            escape_html(label),
            html_lines.join("<br>")
        ));
        self.text.push_str(label);
        self.text.push('\n');
        for line in lines {
            self.text.push_str(if line.is_empty() { "  >" } else { "  > " });
            self.text.push_str(line);
            self.text.push('\n');
        }
        self.text.push('\n');
    }

    /// A big button to `link`, and the link written out below it.
    fn button(&mut self, label: &str, link: &str) {
        let href = escape_html(link.trim());
        self.html.push_str(&format!(
            "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"margin:8px 0 24px 0;\">\
             <tr><td align=\"center\" bgcolor=\"{ACCENT}\" style=\"border-radius:6px;background:{ACCENT};\">\
             <a href=\"{href}\" target=\"_blank\" style=\"display:inline-block;padding:14px 28px;{FONT};font-size:17px;\
             font-weight:bold;line-height:1.2;color:#ffffff;text-decoration:none;border-radius:6px;\">{}</a>\
             </td></tr></table>\n\
             <p style=\"margin:0 0 16px 0;font-size:14px;color:#52525b;\">If the button does not work, copy this link \
             into your browser:<br><a href=\"{href}\" target=\"_blank\" style=\"color:{ACCENT};word-break:break-all;\">\
             {href}</a></p>\n",
            escape_html(label)
        ));
        self.text.push_str(&format!("{label}:\n{}\n\n", link.trim()));
    }

    /// Text kept exactly as it is, line by line, in a fixed-width face (a signed checkpoint).
    fn preformatted(&mut self, text: &str) {
        self.html.push_str(&format!(
            "<pre style=\"margin:0 0 16px 0;padding:12px 14px;background:#f4f4f5;border-radius:6px;\
             font-family:'SFMono-Regular',Consolas,'Liberation Mono',Menlo,monospace;font-size:12px;\
             white-space:pre-wrap;word-break:break-all;\">{}</pre>\n",
            escape_html(text)
        ));
        for line in text.lines() {
            self.text.push_str("    ");
            self.text.push_str(line);
            self.text.push('\n');
        }
        self.text.push('\n');
    }

    /// A one-time code, large and spaced for reading aloud or typing.
    fn code(&mut self, code: &str) {
        self.html.push_str(&format!(
            "<p style=\"margin:8px 0 24px 0;padding:16px;background:#f4f4f5;border-radius:6px;text-align:center;\
             font-family:'SFMono-Regular',Consolas,'Liberation Mono',Menlo,monospace;font-size:34px;font-weight:bold;\
             letter-spacing:6px;color:#18181b;\">{}</p>\n",
            escape_html(code)
        ));
        self.text.push_str(&format!("    {code}\n\n"));
    }

    fn footer(&mut self, text: &str) {
        self.footer = text.to_owned();
    }

    fn into_mail(
        self,
        template: &'static str,
        to_name: &str,
        to_email: &str,
        subject: String,
        reply_to: Option<(String, String)>,
    ) -> Mail {
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"color-scheme\" content=\"light\">\n<title>{subject}</title>\n</head>\n\
             <body style=\"margin:0;padding:0;background:#f4f4f5;\">\n\
             <div style=\"display:none;max-height:0;overflow:hidden;mso-hide:all;\">{preheader}</div>\n\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" \
             style=\"background:#f4f4f5;\"><tr><td align=\"center\" style=\"padding:24px 12px;\">\n\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" \
             style=\"max-width:560px;background:#ffffff;border:1px solid #e4e4e7;border-radius:8px;\">\
             <tr><td style=\"padding:28px 24px;{FONT};font-size:16px;line-height:1.5;color:#18181b;\">\n\
             {body}</td></tr></table>\n\
             <p style=\"max-width:560px;margin:16px auto 0 auto;{FONT};font-size:12px;line-height:1.5;color:#71717a;\">\
             {footer}</p>\n</td></tr></table>\n</body>\n</html>\n",
            subject = escape_html(&subject),
            preheader = escape_html(&self.preheader),
            body = self.html,
            footer = escape_html(&self.footer),
        );
        let mut text = self.text;
        text.push_str("-- \n");
        text.push_str(&self.footer);
        text.push('\n');
        Mail {
            template,
            to_name: one_line(to_name),
            to_email: to_email.trim().to_owned(),
            subject: one_line(&subject),
            text,
            html,
            reply_to,
            attachments: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "Q3 <script>alert(1)</script> & \"Partners\" 'Ltd'";

    fn request(title: &str) -> SigningRequest {
        SigningRequest {
            recipient_name: "Zoë Müller".to_owned(),
            recipient_email: "zoe@example.com".to_owned(),
            sender_name: "Grace Hopper".to_owned(),
            sender_email: "grace@example.com".to_owned(),
            document_title: title.to_owned(),
            link: "https://sign.example.com/s/abc123?t=x&u=y".to_owned(),
            message: Some("Please sign by Friday.\nThanks <b>!</b>".to_owned()),
            otp_required: true,
            role: attesta_core::ceremony::ParticipantRole::Signer,
        }
    }

    /// Every mail the module makes, all with the same hostile title and names.
    fn all_mails(title: &str, name: &str) -> Vec<Mail> {
        vec![
            signing_request(SigningRequest {
                sender_name: name.to_owned(),
                recipient_name: name.to_owned(),
                ..request(title)
            }),
            otp_code(OtpCode {
                recipient_name: name.to_owned(),
                recipient_email: "zoe@example.com".to_owned(),
                document_title: title.to_owned(),
                code: "123456".to_owned(),
                valid_minutes: 10,
            }),
            declined_notice(DeclinedNotice {
                sender_name: name.to_owned(),
                sender_email: "grace@example.com".to_owned(),
                recipient_name: name.to_owned(),
                recipient_email: "zoe@example.com".to_owned(),
                document_title: title.to_owned(),
                reason: Some(title.to_owned()),
                link: "https://sign.example.com/documents/1".to_owned(),
            }),
            voided_notice(VoidedNotice {
                recipient_name: name.to_owned(),
                recipient_email: "zoe@example.com".to_owned(),
                sender_name: name.to_owned(),
                document_title: title.to_owned(),
                reason: Some(title.to_owned()),
            }),
            completed_notice(CompletedNotice {
                to_name: name.to_owned(),
                to_email: "zoe@example.com".to_owned(),
                document_title: title.to_owned(),
                link: Some("https://sign.example.com/documents/1/signed".to_owned()),
                verify_url: "https://sign.example.com/verify".to_owned(),
                checkpoint: "sign.example.com/log\n4\nAAAA\n\n— sign.example.com/log abc\n".to_owned(),
                attachments: Vec::new(),
            }),
            signing_reminder(
                SigningRequest { sender_name: name.to_owned(), recipient_name: name.to_owned(), ..request(title) },
                2,
                "2027-01-04",
            ),
            stalled_notice(StalledNotice {
                sender_name: name.to_owned(),
                sender_email: "grace@example.com".to_owned(),
                document_title: title.to_owned(),
                days: 3,
                waiting_for: vec![format!("{name} <zoe@example.com>")],
                link: "https://sign.example.com/documents/1".to_owned(),
            }),
        ]
    }

    #[test]
    fn escape_html_escapes_the_five_special_characters() {
        assert_eq!(escape_html(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(escape_html("Zoë “plain”"), "Zoë “plain”");
    }

    #[test]
    fn titles_names_and_messages_are_escaped_in_html() {
        for mail in all_mails(HOSTILE, "Eve <img src=x onerror=alert(1)>") {
            assert!(!mail.html.contains("<script>"), "{}: {}", mail.subject, mail.html);
            assert!(!mail.html.contains("<img"), "{}", mail.subject);
            assert!(
                mail.html.contains("Q3 &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Partners&quot; &#39;Ltd&#39;")
            );
            // The plain-text part shows the title as written.
            assert!(mail.text.contains(HOSTILE), "{}", mail.text);
        }
        let mail = signing_request(request("t"));
        assert!(mail.html.contains("Thanks &lt;b&gt;!&lt;/b&gt;"), "{}", mail.html);
        assert!(mail.html.contains("Please sign by Friday.<br>Thanks"), "{}", mail.html);
    }

    #[test]
    fn the_link_is_in_both_parts_as_button_and_as_text() {
        let mail = signing_request(request("Lease"));
        let link = "https://sign.example.com/s/abc123?t=x&u=y";
        assert!(mail.text.contains(link), "{}", mail.text);
        // In HTML the & of the query is escaped, as an attribute value must be.
        let escaped = "https://sign.example.com/s/abc123?t=x&amp;u=y";
        assert_eq!(mail.html.matches(&format!("href=\"{escaped}\"")).count(), 2, "button and written-out link");
        assert!(mail.html.contains(&format!(">{escaped}</a>")));
        assert!(!mail.html.contains(link), "an unescaped & in HTML");

        for mail in all_mails("Lease", "Ada") {
            for url in ["https://sign.example.com/s/abc123", "https://sign.example.com/documents/1"] {
                if mail.text.contains(url) {
                    assert!(mail.html.contains(url), "{}: {url} only in text", mail.subject);
                }
            }
        }
    }

    #[test]
    fn no_line_break_reaches_a_header() {
        let title = "Lease\r\nBcc: everyone@example.com\r\n\r\n<html>";
        let name = "Eve\r\nReply-To: evil@example.com";
        for mail in all_mails(title, name) {
            for header in [&mail.subject, &mail.to_name, &mail.to_email] {
                assert!(!header.contains(['\r', '\n']), "{header:?}");
                assert!(!header.chars().any(char::is_control), "{header:?}");
            }
            if let Some((name, email)) = &mail.reply_to {
                assert!(!name.contains(['\r', '\n']) && !email.contains(['\r', '\n']), "{name:?} {email:?}");
            }
        }
        let mail = signing_request(SigningRequest { sender_name: name.to_owned(), ..request(title) });
        assert_eq!(
            mail.subject,
            "Eve Reply-To: evil@example.com asks you to sign “Lease Bcc: everyone@example.com <html>”"
        );
    }

    #[test]
    fn signing_request_names_the_sender_warns_and_replies_to_the_sender() {
        let mail = signing_request(request("Lease 2026"));
        assert_eq!(mail.subject, "Grace Hopper asks you to sign “Lease 2026”");
        assert_eq!((mail.to_name.as_str(), mail.to_email.as_str()), ("Zoë Müller", "zoe@example.com"));
        assert_eq!(mail.reply_to, Some(("Grace Hopper".to_owned(), "grace@example.com".to_owned())));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("Hello Zoë Müller,"));
            assert!(part.contains("This link is personal."));
            assert!(part.contains("do not forward this email"));
            assert!(part.contains("one-time code"));
            assert!(part.contains("Please sign by Friday."));
        }
        let without_otp = signing_request(SigningRequest { otp_required: false, message: None, ..request("x") });
        assert!(!without_otp.text.contains("one-time code"));
        assert!(!without_otp.text.contains("Message from"));
    }

    #[test]
    fn a_nameless_sender_is_named_by_address() {
        let mail = signing_request(SigningRequest { sender_name: "  ".to_owned(), ..request("Lease") });
        assert_eq!(mail.subject, "grace@example.com asks you to sign “Lease”");
    }

    #[test]
    fn long_titles_are_shortened_in_the_subject_only() {
        let title = "A".repeat(200);
        let mail = signing_request(request(&title));
        assert!(mail.subject.ends_with("A…”"), "{}", mail.subject);
        assert!(mail.subject.chars().count() < 140);
        assert!(mail.text.contains(&title));
    }

    #[test]
    fn otp_code_is_large_grouped_and_not_in_the_subject() {
        let mail = otp_code(OtpCode {
            recipient_name: "Zoë".to_owned(),
            recipient_email: "zoe@example.com".to_owned(),
            document_title: "Lease".to_owned(),
            code: "123456".to_owned(),
            valid_minutes: 10,
        });
        assert_eq!(mail.subject, "Your signing code for “Lease”");
        assert!(!mail.subject.contains("123"));
        assert!(mail.text.contains("    123 456\n"), "{}", mail.text);
        assert!(mail.html.contains("font-size:34px"));
        assert!(mail.html.contains(">123 456</p>"));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("10 minutes"));
            assert!(part.contains("If you did not ask for a code, ignore this email"));
        }
        // The preview line mail apps show must not give the code away either.
        assert!(!mail.html.split("</div>").next().unwrap_or_default().contains("123"));
        assert_eq!(group_code("12345678"), "1234 5678");
        assert_eq!(group_code("ABC-12"), "ABC-12");
    }

    #[test]
    fn a_reminder_says_the_old_link_died_and_keeps_the_sender_reachable() {
        let mail = signing_reminder(request("Lease"), 2, "2027-01-04");
        assert_eq!(mail.template, "signing_reminder");
        assert_eq!(mail.subject, "Reminder: Grace Hopper is waiting for your signature on “Lease”");
        assert_eq!(mail.reply_to, Some(("Grace Hopper".to_owned(), "grace@example.com".to_owned())));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("2027-01-04"), "when it was sent");
            assert!(part.contains("no longer works"), "the old link died");
            assert!(part.contains("Reminder 2"));
            assert!(part.contains("https://sign.example.com/s/abc123"));
        }
    }

    #[test]
    fn notices_go_to_the_right_person() {
        let mails = all_mails("Lease", "Ada");
        let (declined, voided, completed) = (&mails[2], &mails[3], &mails[4]);
        assert_eq!(declined.subject, "Ada declined to sign “Lease”");
        assert_eq!(declined.to_email, "grace@example.com");
        assert_eq!(declined.reply_to, Some(("Ada".to_owned(), "zoe@example.com".to_owned())));
        assert!(declined.text.contains("Their reason:\n  > Lease\n"), "{}", declined.text);
        assert_eq!(voided.subject, "Ada withdrew “Lease”");
        assert!(voided.text.contains("no longer works"));
        assert_eq!(completed.subject, "“Lease” is signed by everyone");
        assert!(completed.text.contains("https://sign.example.com/documents/1/signed"));
        let no_link = completed_notice(CompletedNotice {
            to_name: String::new(),
            to_email: "a@example.com".to_owned(),
            document_title: "Lease".to_owned(),
            link: None,
            verify_url: "https://sign.example.com/verify".to_owned(),
            checkpoint: "sign.example.com/log\n4\nAAAA\n".to_owned(),
            attachments: Vec::new(),
        });
        assert!(no_link.text.starts_with("Hello,\n"));
        assert!(no_link.text.contains("    sign.example.com/log\n    4\n"), "{}", no_link.text);
        assert!(!no_link.html.contains("<a "));
    }
}
