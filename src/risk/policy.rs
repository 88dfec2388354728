//! How serious each kind of flag is: a table an admin can change in configuration.
//!
//! Every category has a severity; wording rules raise (or lower) it for a clause whose text holds
//! a phrase (an uncapped liability that says "unlimited" is critical). Serde-able with defaults,
//! so the server loads an override from its config and keeps the rest.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How much a flag deserves attention, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// A severity for clauses of `category` whose text contains `contains` (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordingRule {
    pub category: String,
    pub contains: String,
    pub severity: Severity,
}

/// The policy: severities by category, for missing clauses, and wording rules (first match wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskPolicy {
    pub categories: BTreeMap<String, Severity>,
    /// Severity of a missing clause, by clause name.
    pub missing: BTreeMap<String, Severity>,
    pub wording: Vec<WordingRule>,
    /// Severity of a category the tables do not name.
    pub otherwise: Severity,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        use Severity::*;
        let categories = [
            ("Uncapped Liability", High),
            ("One-Sided Indemnity", High),
            ("Unusual Penalty", High),
            ("Covenant Not To Sue", High),
            ("Non-Compete", High),
            ("Ip Ownership Assignment", High),
            ("Liquidated Damages", Medium),
            ("Exclusivity", Medium),
            ("Change Of Control", Medium),
            ("Termination For Convenience", Medium),
            ("Most Favored Nation", Medium),
            ("Minimum Commitment", Medium),
            ("Renewal Term", Medium),
            ("Notice Period To Terminate Renewal", Medium),
            ("Cap On Liability", Medium),
            ("Anti-Assignment", Low),
            ("Governing Law", Low),
            ("Insurance", Low),
            ("Audit Rights", Low),
            ("Warranty Duration", Low),
        ];
        let missing = [
            ("Limitation Of Liability", High),
            ("Termination", High),
            ("Governing Law", Medium),
            ("Dispute Resolution", Medium),
            ("Confidentiality", Medium),
            ("Indemnification", Medium),
            ("Force Majeure", Low),
        ];
        let wording = [
            ("Uncapped Liability", "unlimited", Critical),
            ("Non-Compete", "worldwide", Critical),
            ("Renewal Term", "automatically", Medium),
            ("Liquidated Damages", "per day", High),
        ];
        Self {
            categories: categories.into_iter().map(|(c, s)| (c.to_string(), s)).collect(),
            missing: missing.into_iter().map(|(c, s)| (c.to_string(), s)).collect(),
            wording: wording
                .into_iter()
                .map(|(category, contains, severity)| WordingRule {
                    category: category.into(),
                    contains: contains.into(),
                    severity,
                })
                .collect(),
            otherwise: Medium,
        }
    }
}

impl RiskPolicy {
    /// The severity of a clause of `category` reading `text`.
    pub fn severity(&self, category: &str, text: &str) -> Severity {
        let lower = text.to_lowercase();
        self.wording
            .iter()
            .find(|rule| rule.category == category && lower.contains(&rule.contains.to_lowercase()))
            .map(|rule| rule.severity)
            .or_else(|| self.categories.get(category).copied())
            .unwrap_or(self.otherwise)
    }

    /// The severity of a missing clause named `clause`.
    pub fn missing_severity(&self, clause: &str) -> Severity {
        self.missing.get(clause).copied().unwrap_or(self.otherwise)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_raises_a_category_s_severity() {
        let policy = RiskPolicy::default();
        assert_eq!(policy.severity("Uncapped Liability", "liability for breach of Section 7"), Severity::High);
        assert_eq!(policy.severity("Uncapped Liability", "shall be UNLIMITED"), Severity::Critical);
        assert_eq!(policy.severity("Something New", "x"), Severity::Medium);
    }

    #[test]
    fn an_admin_override_keeps_the_defaults_it_does_not_name() {
        let policy: RiskPolicy =
            serde_json::from_str(r#"{"categories": {"Governing Law": "high"}, "otherwise": "low"}"#).expect("valid");
        assert_eq!(policy.severity("Governing Law", "laws of Delaware"), Severity::High);
        assert_eq!(policy.severity("Other", "x"), Severity::Low);
        assert_eq!(policy.missing_severity("Termination"), Severity::High, "missing table kept from the defaults");
    }
}
