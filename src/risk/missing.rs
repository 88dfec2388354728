//! Gap analysis: what kind of contract this is, and which clauses that kind should have but this
//! one lacks.
//!
//! The kind is read from the title: the words before the first "agreement" or "contract" are
//! searched for the words each kind is called by, and the kind named earliest wins ("Supply and
//! Distribution Agreement" is a supply agreement); failing that, the first [`TITLE_CHARS`]
//! characters are searched the same way. Each kind expects a set of clauses; a clause is present
//! when the model flagged its category or the text holds the words such a clause cannot be
//! written without (a force majeure clause names force majeure or acts of God).

use super::Flag;
use super::policy::{RiskPolicy, Severity};
use serde::{Deserialize, Serialize};

/// How far into the text the title is looked for.
const TITLE_CHARS: usize = 1500;

/// The kinds of contract the gap analysis knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContractType {
    #[serde(rename = "NDA")]
    Nda,
    #[serde(rename = "MSA")]
    Msa,
    Services,
    Licence,
    Supply,
    Distribution,
    Employment,
    Franchise,
    Collaboration,
    Marketing,
    Agency,
    Other,
}

impl ContractType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nda => "NDA",
            Self::Msa => "MSA",
            Self::Services => "Services",
            Self::Licence => "Licence",
            Self::Supply => "Supply",
            Self::Distribution => "Distribution",
            Self::Employment => "Employment",
            Self::Franchise => "Franchise",
            Self::Collaboration => "Collaboration",
            Self::Marketing => "Marketing",
            Self::Agency => "Agency",
            Self::Other => "Other",
        }
    }

    /// The clauses a contract of this kind should have.
    pub fn expected(self) -> &'static [&'static str] {
        use clauses::*;
        match self {
            Self::Nda => &[TERMINATION, GOVERNING_LAW, DISPUTES, CONFIDENTIALITY],
            Self::Msa | Self::Services => {
                &[TERMINATION, GOVERNING_LAW, DISPUTES, LIABILITY, CONFIDENTIALITY, INDEMNIFICATION, FORCE_MAJEURE]
            }
            Self::Supply | Self::Distribution => {
                &[TERMINATION, GOVERNING_LAW, DISPUTES, LIABILITY, INDEMNIFICATION, FORCE_MAJEURE, CONFIDENTIALITY]
            }
            Self::Licence | Self::Collaboration => {
                &[TERMINATION, GOVERNING_LAW, DISPUTES, LIABILITY, CONFIDENTIALITY, INDEMNIFICATION]
            }
            Self::Employment => &[TERMINATION, GOVERNING_LAW, DISPUTES, CONFIDENTIALITY],
            Self::Franchise | Self::Marketing | Self::Agency => {
                &[TERMINATION, GOVERNING_LAW, DISPUTES, CONFIDENTIALITY, INDEMNIFICATION]
            }
            Self::Other => &[TERMINATION, GOVERNING_LAW, DISPUTES],
        }
    }
}

/// Names of the clauses the gap analysis looks for.
pub mod clauses {
    pub const TERMINATION: &str = "Termination";
    pub const GOVERNING_LAW: &str = "Governing Law";
    pub const DISPUTES: &str = "Dispute Resolution";
    pub const LIABILITY: &str = "Limitation Of Liability";
    pub const CONFIDENTIALITY: &str = "Confidentiality";
    pub const INDEMNIFICATION: &str = "Indemnification";
    pub const FORCE_MAJEURE: &str = "Force Majeure";
}

/// A clause the contract should have and lacks, with why it matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingClause {
    pub clause: String,
    pub severity: Severity,
    pub why: String,
}

/// Words each kind is called by in a title, most specific first within a kind.
const KINDS: &[(ContractType, &[&str])] = &[
    (ContractType::Nda, &["non-disclosure", "nondisclosure", "confidentiality agreement", "secrecy agreement"]),
    (ContractType::Msa, &["master services", "master service", "master agreement"]),
    (ContractType::Employment, &["employment agreement", "employment contract", "executive agreement"]),
    (ContractType::Franchise, &["franchise"]),
    (ContractType::Distribution, &["distribut", "reseller", "dealer", "resale"]),
    (ContractType::Supply, &["supply", "manufactur", "purchase agreement", "purchasing agreement"]),
    (ContractType::Licence, &["licens", "licenc"]),
    (
        ContractType::Services,
        &[
            "service",
            "servicing",
            "consulting",
            "outsourcing",
            "maintenance",
            "hosting",
            "development agreement",
            "transportation",
        ],
    ),
    (ContractType::Collaboration, &["collaboration", "joint venture", "alliance", "cooperation", "partnership"]),
    (
        ContractType::Marketing,
        &["endorsement", "sponsorship", "promotion", "marketing", "co-branding", "affiliate agreement"],
    ),
    (ContractType::Agency, &["agency"]),
];

/// The kind of contract `text` is, from its title: the words just before the first "agreement"
/// or "contract" (`AGENCY AGREEMENT`, `Goosehead Insurance Agency, LLC Franchise Agreement`),
/// else the kind named earliest near the top. The title first, because a cover page names the
/// parties and the deal ("Alliance Bancorp", "Cellco Partnership") before it.
pub fn contract_type(text: &str) -> ContractType {
    let end = text.char_indices().nth(TITLE_CHARS).map_or(text.len(), |(i, _)| i);
    let head = text[..end].to_lowercase();
    let earliest = |within: &str| {
        KINDS
            .iter()
            .filter_map(|(kind, words)| words.iter().filter_map(|w| within.find(w)).min().map(|at| (at, *kind)))
            .min_by_key(|&(at, _)| at)
            .map(|(_, kind)| kind)
    };
    let title = ["agreement", "contract"].iter().filter_map(|w| head.find(w)).min().map(|at| {
        // Back to the start of the line or of the phrase ("…, LLC Franchise Agreement"), at most
        // 80 bytes, so the title's own words decide.
        let floor = head.floor_char_boundary(at.saturating_sub(80));
        let start = head[floor..at].rfind(['\n', ',', '.', ';', ':', '(']).map_or(floor, |i| floor + i + 1);
        &head[start..at]
    });
    title.and_then(earliest).or_else(|| earliest(&head)).unwrap_or(ContractType::Other)
}

/// The clauses `kind` expects that `text` (with the model's `flags`) lacks.
pub fn missing(kind: ContractType, text: &str, flags: &[Flag], policy: &RiskPolicy) -> Vec<MissingClause> {
    let lower = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let flagged = |category: &str| flags.iter().any(|f| f.category == category);
    kind.expected()
        .iter()
        .filter(|&&clause| {
            let present = match clause {
                clauses::TERMINATION => has(&["terminat"]),
                clauses::GOVERNING_LAW => {
                    flagged("Governing Law") || has(&["governed by", "governing law", "construed in accordance with"])
                }
                clauses::DISPUTES => {
                    has(&["arbitrat", "jurisdiction", "courts of", "venue", "dispute resolution", "mediat"])
                }
                clauses::LIABILITY => {
                    flagged("Cap On Liability")
                        || has(&[
                            "limitation of liability",
                            "limitation on liability",
                            "consequential damages",
                            "liable for any indirect",
                        ])
                }
                clauses::CONFIDENTIALITY => has(&["confidential"]),
                clauses::INDEMNIFICATION => has(&["indemnif", "hold harmless"]),
                clauses::FORCE_MAJEURE => has(&[
                    "force majeure",
                    "act of god",
                    "acts of god",
                    "beyond its reasonable control",
                    "beyond the reasonable control",
                ]),
                _ => true,
            };
            !present
        })
        .map(|&clause| MissingClause {
            clause: clause.into(),
            severity: policy.missing_severity(clause),
            why: why(clause).into(),
        })
        .collect()
}

/// Why a missing clause matters.
pub fn why(clause: &str) -> &'static str {
    match clause {
        clauses::TERMINATION => {
            "Without a termination clause there is no agreed way out: ending the contract needs a court or the other side's consent."
        }
        clauses::GOVERNING_LAW => {
            "Without a governing law, which law applies is itself a dispute, decided by conflict rules you do not control."
        }
        clauses::DISPUTES => {
            "Without a forum or arbitration clause a dispute can be brought wherever the other party chooses."
        }
        clauses::LIABILITY => {
            "Without a limitation of liability each party's exposure is unlimited, including indirect and consequential losses."
        }
        clauses::CONFIDENTIALITY => {
            "Without confidentiality terms, information shared under the contract may be disclosed or reused."
        }
        clauses::INDEMNIFICATION => {
            "Without indemnities, third-party claims caused by the other side's acts are yours to defend and pay."
        }
        clauses::FORCE_MAJEURE => {
            "Without force majeure, events beyond anyone's control (disasters, strikes, outages) are still breaches."
        }
        _ => "A clause this kind of contract usually has.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_named_first_in_the_title_wins() {
        assert_eq!(contract_type("EXCLUSIVE SUPPLY AND DISTRIBUTION AGREEMENT\nThis agreement…"), ContractType::Supply);
        assert_eq!(contract_type("Mutual Non-Disclosure Agreement between A and B"), ContractType::Nda);
        assert_eq!(contract_type("MASTER SERVICES AGREEMENT"), ContractType::Msa);
        assert_eq!(contract_type("Trademark License Agreement"), ContractType::Licence);
        assert_eq!(contract_type("Minutes of a meeting"), ContractType::Other);
    }

    #[test]
    fn the_title_names_the_kind_before_the_cover_page_does() {
        // CUAD d008, d105 and d290: the cover page names a party or a role of another kind first.
        let text =
            "Exhibit 1.2\n\nUp to 2,445,223 Shares\n\nAlliance Bancorp, Inc. of Pennsylvania\n\nAGENCY AGREEMENT\n";
        assert_eq!(contract_type(text), ContractType::Agency);
        let text = "Exhibit 10.6\n\nGoosehead Insurance Agency, LLC Franchise Agreement\n\nExhibit A";
        assert_eq!(contract_type(text), ContractType::Franchise);
        let text =
            "FORM OF TRANSFER AND SERVICING AGREEMENT\n\namong\n\nCELLCO PARTNERSHIP, as Servicer, Marketing Agent";
        assert_eq!(contract_type(text), ContractType::Services);
        // No kind in the title: the earliest kind named near the top, as before.
        let text = "COUNTERPARTS. This Agreement may be signed in counterparts. The Supplier shall manufacture.";
        assert_eq!(contract_type(text), ContractType::Supply);
    }

    #[test]
    fn a_services_contract_without_liability_or_force_majeure_lacks_them() {
        let text = "SERVICES AGREEMENT. Either party may terminate on notice. This Agreement is governed by the laws of \
                    England and the courts of London have jurisdiction. Confidential Information stays confidential. \
                    Supplier shall indemnify Customer.";
        let missing: Vec<String> =
            missing(ContractType::Services, text, &[], &RiskPolicy::default()).into_iter().map(|m| m.clause).collect();
        assert_eq!(missing, vec![clauses::LIABILITY, clauses::FORCE_MAJEURE]);
    }
}
