//! The risk mails: serious flags on an owner's document, and a flag escalated to someone.

use super::repo::FlagRow;
use crate::mail::Mail;
use crate::mail::templates::{escape_html, one_line};
use attesta_core::User;

/// To the owner: new high or critical flags on their document.
pub fn flagged(owner: &User, title: &str, flags: &[&FlagRow], link: &str) -> Mail {
    let title = one_line(title);
    let subject = format!("Attesta: {} clause(s) to review in \u{201c}{title}\u{201d}", flags.len());
    let lines: Vec<String> = flags
        .iter()
        .map(|f| format!("{} ({}): {}", f.category, f.severity.as_str(), excerpt(&f.clause_text)))
        .collect();
    let text = format!(
        "Attesta read \u{201c}{title}\u{201d} and flagged clauses that deserve a second look:\n\n{}\n\nReview them: {link}\n",
        lines.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n"),
    );
    let html = format!(
        "<!doctype html><html><body><p>Attesta read \u{201c}{}\u{201d} and flagged clauses that deserve a second look:</p>\
         <ul>{}</ul><p><a href=\"{}\">Review them</a></p></body></html>",
        escape_html(&title),
        lines.iter().map(|l| format!("<li>{}</li>", escape_html(l))).collect::<String>(),
        escape_html(link),
    );
    Mail {
        template: "risk_flagged",
        to_name: owner.name.as_str().to_owned(),
        to_email: owner.email.as_str().to_owned(),
        subject,
        text,
        html,
        reply_to: None,
        attachments: Vec::new(),
    }
}

/// To the person a flag was escalated to.
pub fn escalated(to: &User, by: &User, title: &str, flag: &FlagRow, link: &str) -> Mail {
    let title = one_line(title);
    let by_name = one_line(by.name.as_str());
    let subject = format!("Attesta: {by_name} asks you to review a clause in \u{201c}{title}\u{201d}");
    let text = format!(
        "{by_name} escalated a flagged clause of \u{201c}{title}\u{201d} to you.\n\n{} ({}): {}\n\nOpen it: {link}\n",
        flag.category,
        flag.severity.as_str(),
        excerpt(&flag.clause_text),
    );
    let html = format!(
        "<!doctype html><html><body><p>{} escalated a flagged clause of \u{201c}{}\u{201d} to you.</p>\
         <blockquote><strong>{} ({})</strong>: {}</blockquote><p><a href=\"{}\">Open it</a></p></body></html>",
        escape_html(&by_name),
        escape_html(&title),
        escape_html(&flag.category),
        flag.severity.as_str(),
        escape_html(&excerpt(&flag.clause_text)),
        escape_html(link),
    );
    Mail {
        template: "risk_escalated",
        to_name: to.name.as_str().to_owned(),
        to_email: to.email.as_str().to_owned(),
        subject,
        text,
        html,
        reply_to: None,
        attachments: Vec::new(),
    }
}

/// The clause on one line, cut to 240 characters.
fn excerpt(text: &str) -> String {
    let line = one_line(text);
    if line.chars().count() > 240 { format!("{}\u{2026}", line.chars().take(240).collect::<String>()) } else { line }
}
