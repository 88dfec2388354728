//! Hand-written rules for what CUAD does not annotate: one-sided indemnities and unusual
//! penalties.
//!
//! - **One-sided indemnity**: the sentences where a party undertakes to indemnify ("X shall
//!   indemnify", "X agrees to defend, indemnify and hold harmless") are found and their subject
//!   read. When every such undertaking has the same subject and none is mutual ("each party",
//!   "either party", "the parties"), the indemnity runs one way only and those sentences are
//!   flagged.
//! - **Unusual penalty**: a sentence that calls a charge a penalty and puts a sum, a percentage
//!   or a daily rate on it, or late-payment interest of at least 1.5 % a month or 18 % a year.

use super::segment::Segment;

/// A rule's finding: a category and a byte span of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub category: &'static str,
    pub start: usize,
    pub end: usize,
}

pub const ONE_SIDED_INDEMNITY: &str = "One-Sided Indemnity";
pub const UNUSUAL_PENALTY: &str = "Unusual Penalty";

/// Late interest at or above these rates is unusual (many jurisdictions cap or scrutinise it).
const MONTHLY_RATE: f64 = 1.5;
const YEARLY_RATE: f64 = 18.0;

/// Flags at most this many sentences of a one-sided indemnity.
const INDEMNITY_FLAGS: usize = 3;

/// Every rule's findings in `text`, cut into `segments`.
pub fn find(text: &str, segments: &[Segment]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut undertakings: Vec<(usize, String)> = Vec::new();
    let mut mutual = false;
    for (i, segment) in segments.iter().enumerate() {
        let sentence = &text[segment.start..segment.end];
        let lower = sentence.to_lowercase();
        if lower.contains("indemnif") {
            if lower.contains("mutual") || lower.contains("each party") || lower.contains("each of the parties") {
                mutual = true;
            }
            // Every "indemnif…" in the sentence: "A shall indemnify B, and B shall indemnify A".
            for (at, _) in lower.match_indices("indemnif") {
                match indemnitor(&lower[..at]) {
                    Some(subject) if is_mutual(&subject) => mutual = true,
                    Some(subject) => undertakings.push((i, subject)),
                    None => {}
                }
            }
        }
        if is_unusual_penalty(&lower) {
            hits.push(Hit { category: UNUSUAL_PENALTY, start: segment.start, end: segment.end });
        }
    }
    let one_subject = undertakings.first().is_some_and(|(_, first)| undertakings.iter().all(|(_, s)| s == first));
    if !mutual && one_subject {
        let mut sentences: Vec<usize> = undertakings.into_iter().map(|(i, _)| i).collect();
        sentences.dedup();
        for i in sentences.into_iter().take(INDEMNITY_FLAGS) {
            let segment = segments[i];
            hits.push(Hit { category: ONE_SIDED_INDEMNITY, start: segment.start, end: segment.end });
        }
    }
    hits
}

/// Who undertakes to indemnify, from the lower-cased text `before` an "indemnif…": the (at most
/// three) words before the "shall"/"will"/"agrees to" that governs it, without articles.
fn indemnitor(before: &str) -> Option<String> {
    let at = before.len();
    let verb = [" shall ", " will ", " agrees to ", " agree to ", " hereby ", " undertakes to "]
        .iter()
        .filter_map(|v| before.rfind(v))
        .max()?;
    // The verb must govern the indemnity, not a clause further back.
    if at - verb > 60 {
        return None;
    }
    let words: Vec<&str> =
        before[..verb].split(|c: char| !c.is_alphanumeric() && c != '-').filter(|w| !w.is_empty()).collect();
    let subject: Vec<&str> =
        words.iter().rev().take(3).rev().copied().filter(|w| !["the", "a", "an", "and", "that"].contains(w)).collect();
    (!subject.is_empty()).then(|| subject.join(" "))
}

fn is_mutual(subject: &str) -> bool {
    ["each party", "either party", "parties", "each of", "mutual", "both"].iter().any(|m| subject.contains(m))
        || subject.ends_with("each")
}

fn is_unusual_penalty(lower: &str) -> bool {
    let penalty = lower.contains("penalt")
        && ![
            "without penalty",
            "no penalty",
            "without any penalty",
            "not a penalty",
            "not as a penalty",
            "penalty-free",
        ]
        .iter()
        .any(|p| lower.contains(p))
        && (lower.contains('$') || lower.contains('%') || lower.contains("per day") || lower.contains("each day"));
    penalty || late_interest_is_high(lower)
}

/// Late-payment interest at or above [`MONTHLY_RATE`] a month or [`YEARLY_RATE`] a year.
fn late_interest_is_high(lower: &str) -> bool {
    if !lower.contains("interest")
        || !["late", "overdue", "past due", "delinquen", "not paid"].iter().any(|w| lower.contains(w))
    {
        return false;
    }
    let monthly = lower.contains("per month") || lower.contains("monthly") || lower.contains("a month");
    let yearly = lower.contains("per annum") || lower.contains("per year") || lower.contains("annual");
    percentages(lower).any(|rate| (monthly && rate >= MONTHLY_RATE) || (yearly && !monthly && rate >= YEARLY_RATE))
}

/// The numbers written just before a `%` or "percent".
fn percentages(lower: &str) -> impl Iterator<Item = f64> + '_ {
    lower.match_indices(['%', 'p']).filter_map(move |(i, m)| {
        if m == "p" && !lower[i..].starts_with("percent") {
            return None;
        }
        let before = lower[..i].trim_end();
        let number: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        number.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::super::segment::segments;
    use super::*;

    fn categories(text: &str) -> Vec<&'static str> {
        find(text, &segments(text)).into_iter().map(|h| h.category).collect()
    }

    #[test]
    fn an_indemnity_given_by_one_party_only_is_one_sided() {
        let text = "Distributor shall indemnify and hold harmless Company from all claims. Company may audit.";
        assert_eq!(categories(text), vec![ONE_SIDED_INDEMNITY]);
    }

    #[test]
    fn indemnities_given_by_both_parties_are_not_one_sided() {
        let reciprocal =
            "Distributor shall indemnify Company from claims. Company shall indemnify Distributor from claims.";
        assert!(categories(reciprocal).is_empty());
        let mutual = "Each party shall indemnify, defend and hold harmless the other party from claims.";
        assert!(categories(mutual).is_empty());
    }

    #[test]
    fn penalties_with_an_amount_and_high_late_interest_are_unusual() {
        assert_eq!(categories("Supplier shall pay a penalty of $5,000 per day of delay."), vec![UNUSUAL_PENALTY]);
        assert_eq!(categories("Late payments bear interest at 2% per month until paid."), vec![UNUSUAL_PENALTY]);
        assert!(categories("Late payments bear interest at 1% per month until paid.").is_empty());
        assert!(categories("Overdue amounts bear interest at 8% per annum.").is_empty());
        assert!(categories("Either party may terminate without penalty on 30 days' notice, saving 5%.").is_empty());
    }
}
