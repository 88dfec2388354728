//! The wording-suggestion library: for each flagged category, one balanced alternative clause
//! and why it is fairer. Written for Attesta, offline; placeholders in square brackets are for
//! the drafter to fill in.

use serde::{Deserialize, Serialize};

/// A balanced alternative to a flagged clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub wording: String,
    pub why: String,
}

/// (category, wording, why).
const LIBRARY: &[(&str, &str, &str)] = &[
    (
        "Governing Law",
        "This Agreement is governed by the laws of [jurisdiction], without regard to its conflict-of-laws rules.",
        "A neutral or shared home law, named once, avoids a dispute about which law applies.",
    ),
    (
        "Termination For Convenience",
        "Either party may terminate this Agreement for convenience on [90] days' written notice; the Customer pays for work performed and committed costs up to the termination date.",
        "Makes the right mutual and pays for work already done, so neither side is stranded.",
    ),
    (
        "Cap On Liability",
        "Each party's total liability under this Agreement is limited to the fees paid or payable in the [12] months before the claim, except for fraud, wilful misconduct, death or personal injury, and breach of confidentiality.",
        "A cap tied to the contract's value, mutual, with the usual carve-outs that no cap should cover.",
    ),
    (
        "Uncapped Liability",
        "Liability for [the excluded matters] is limited to [a fixed multiple, e.g. 3×] the fees paid in the [12] months before the claim, and is otherwise subject to the general cap.",
        "Keeps a higher limit for the serious matters instead of none at all, so exposure stays insurable.",
    ),
    (
        "Liquidated Damages",
        "If [the event] occurs, the Supplier pays [amount] per [week] as liquidated damages, capped at [10]% of the affected fees; these are the Customer's sole remedy for that delay and a genuine pre-estimate of loss.",
        "A capped, proportionate pre-estimate that is enforceable and does not become a penalty.",
    ),
    (
        "Non-Compete",
        "During the term and for [6] months after it, [Party] will not provide [specifically described competing services] to [named competitors] in [territory].",
        "Narrow in scope, time and place, which makes it reasonable and more likely to be enforceable.",
    ),
    (
        "Exclusivity",
        "Exclusivity applies in [territory] for [products] so long as [Party] meets the minimum targets in Schedule [X]; otherwise either party may end exclusivity on [30] days' notice.",
        "Ties exclusivity to performance, so neither side is locked in to a partner who does not deliver.",
    ),
    (
        "Anti-Assignment",
        "Neither party may assign this Agreement without the other's consent, not to be unreasonably withheld, except to an affiliate or a successor to substantially all of its business on written notice.",
        "Protects against an unknown counterparty while still allowing ordinary reorganisations and sales.",
    ),
    (
        "Change Of Control",
        "On a change of control of a party, the other party may terminate on [60] days' notice given within [90] days of being told of it, only if the acquirer is a direct competitor.",
        "Limits the right to the case that matters (a competitor taking over) and to a fixed window.",
    ),
    (
        "Ip Ownership Assignment",
        "Each party keeps its pre-existing intellectual property. Deliverables created specifically for the Customer are assigned to it on payment; the Supplier keeps its tools and know-how and licenses them as needed to use the deliverables.",
        "Separates background from foreground IP, so the supplier can keep working and the customer gets what it paid for.",
    ),
    (
        "Insurance",
        "Each party maintains, with reputable insurers, the insurance a prudent business of its kind carries for its obligations here, and gives evidence of cover on reasonable request.",
        "A proportionate, mutual requirement instead of fixed amounts that may not fit one side's business.",
    ),
    (
        "Audit Rights",
        "Once a year, on [30] days' notice, during business hours, an independent auditor bound by confidentiality may inspect the records needed to verify the fees; the auditing party pays unless an underpayment over [5]% is found.",
        "Keeps the check while limiting frequency, disruption, disclosure and cost.",
    ),
    (
        "Most Favored Nation",
        "If the Supplier offers materially similar services in similar volumes on better prices to another customer, it will offer the same prices to the Customer for the remaining term.",
        "Limits the comparison to like-for-like deals, so the clause is workable for the supplier.",
    ),
    (
        "Minimum Commitment",
        "The Customer will purchase at least [amount] per [year]; a shortfall is carried into the next period once, and the commitment is reduced in proportion to any supply failure or force majeure.",
        "Keeps the supplier's planning certainty without making the customer pay for what could not be supplied.",
    ),
    (
        "Covenant Not To Sue",
        "Neither party will bring a claim against the other for [specific matter] while this Agreement is in force, provided the other party complies with [its obligations]; claims for breach of this Agreement are not affected.",
        "A narrow, conditional covenant rather than a broad waiver of rights, and it keeps contract claims.",
    ),
    (
        "Warranty Duration",
        "The Supplier warrants the [deliverables] for [12] months from acceptance and will repair or replace any non-conforming item reported within that period.",
        "A period long enough to surface latent defects, starting from acceptance rather than delivery.",
    ),
    (
        "Renewal Term",
        "This Agreement renews for successive [one]-year terms unless either party gives notice of non-renewal at least [60] days before the end of the current term; the Supplier will remind the Customer [30] days before that deadline.",
        "Keeps continuity while making the deadline to stop renewal hard to miss.",
    ),
    (
        "Notice Period To Terminate Renewal",
        "Either party may prevent renewal by written notice given at least [30] days before the end of the then-current term.",
        "A short, mutual notice period that a party can realistically meet.",
    ),
    (
        "One-Sided Indemnity",
        "Each party indemnifies the other against third-party claims to the extent caused by its own breach, negligence or infringement, subject to prompt notice, control of the defence and the limitation of liability.",
        "Mutual, fault-based and bounded, so each side answers for what it controls.",
    ),
    (
        "Unusual Penalty",
        "Late amounts bear interest at [the statutory rate or base rate + 4]% a year from the due date until paid; no other late charge applies.",
        "Compensates for the delay without a punitive charge that a court may refuse to enforce.",
    ),
];

/// The library's suggestion for `category`, if it has one.
pub fn for_category(category: &str) -> Option<Suggestion> {
    LIBRARY
        .iter()
        .find(|(c, _, _)| *c == category)
        .map(|(_, wording, why)| Suggestion { wording: (*wording).into(), why: (*why).into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flagged_category_has_a_suggestion() {
        for category in super::super::CATEGORIES
            .iter()
            .chain(&[super::super::rules::ONE_SIDED_INDEMNITY, super::super::rules::UNUSUAL_PENALTY])
        {
            assert!(for_category(category).is_some(), "no suggestion for {category}");
        }
    }
}
