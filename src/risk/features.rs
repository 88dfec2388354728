//! What the clause model sees of a sentence: its words, pairs and triples of adjacent words, the
//! words of the heading above it, and a few shapes (money, percentages, periods of time, a
//! sentence in capitals, a definition such as `"Affiliate" means …`).
//!
//! Words are lower-cased runs of letters and digits; every run of digits reads as `0`, so "30
//! days" and "90 days" are the same feature. A feature is named `kind:text` in the model file
//! (`w:governed`, `p:governed by`, `t:most favored nation`, `h:insurance`, `s:money`) and looked
//! up by a 64-bit FNV-1a hash of that name, computed without building the string.
//!
//! Concept features (`c:…`) are written by hand: word patterns with gaps ("not", then within 12
//! words a word starting "compet"), which plain n-grams cannot express. They name ideas a reviewer
//! looks for (a change of control, a covenant not to sue); the trained weights decide how much
//! each counts for which category.

/// The kinds of feature, as the one-letter prefix of their names.
pub const WORD: u8 = b'w';
pub const PAIR: u8 = b'p';
pub const TRIPLE: u8 = b't';
pub const HEADING: u8 = b'h';
pub const SHAPE: u8 = b's';
pub const CONCEPT: u8 = b'c';
/// Two adjacent words of the heading ("favored customer", "for convenience").
pub const HEADING_PAIR: u8 = b'g';
/// A concept the heading holds ("Most Favored Customer" holds `mfn`): kept apart from the
/// sentence's own concepts, since a heading names a subject its sentences need not all hold.
pub const HEADING_CONCEPT: u8 = b'k';

/// Concept patterns: `name`, then words separated by spaces; `a|b` is either word (one word
/// each: `a b|c d` is four steps, not two phrases), `x*` any word starting with `x`, and `~N`
/// allows up to N words before the next one.
const CONCEPTS: &[(&str, &str)] = &[
    ("mfn", "most favo*"),
    ("mfn", "best|lowest|lower price*|prices|pricing|rates ~12 other|third|any"),
    ("mfn", "less|more|as favo* ~20 other|third|any|customer*|licensee*|distributor*|reseller*|client*"),
    ("mfn", "other|third|any ~6 customer*|licensee*|distributor*|reseller*|client*|party|parties ~20 less|more favo*"),
    ("mfn", "equivalent|comparable|similar ~8 terms|price*|pricing ~8 other|third|any"),
    ("mfn", "similarly|equivalently situated"),
    (
        "mfn",
        "lower|lowest|better|best ~4 price*|prices|pricing|rates|terms|fee*|royalt* ~15 other|third|any ~5 customer*|licensee*|distributor*|party|parties|reseller*|client*",
    ),
    (
        "mfn",
        "no|not ~4 higher|greater ~4 than ~15 other|third|any ~5 customer*|licensee*|distributor*|party|parties|reseller*|client*",
    ),
    ("liquidated", "liquidated damages"),
    ("liquidated", "as|a penalty"),
    ("liquidated", "termination|cancellation|break|kill fee*|payment|charge"),
    ("liquidated", "early termination ~10 fee*|charge*|payment*"),
    ("liquidated", "per day|week ~10 delay*|late"),
    ("warranty-period", "warrant* ~25 0 days|months|years"),
    ("warranty-period", "warranty period"),
    ("warranty-period", "0 days|months|years ~12 warrant*"),
    ("warranty-period", "warranty term|period|periods"),
    ("warranty-period", "shelf life"),
    ("warranty-period", "latent defect*"),
    ("warranty-period", "month|months|day|days|year|years ~2 warranty|guarantee"),
    ("control", "change in|of control"),
    ("control", "change of ownership"),
    ("control", "controlling interest"),
    ("control", "merger|merge|consolidation|acquisition|acquired ~15 terminat*"),
    ("control", "all|substantially ~5 assets|stock|shares ~15 terminat*|assign*"),
    ("compete", "not ~10 compet*"),
    ("compete", "noncompet*"),
    ("compete", "competitive|competing products|business|services"),
    ("compete", "directly or indirectly ~15 engage|own|manage|operate|participate"),
    ("compete", "shall|will not ~15 engage ~10 business"),
    ("exclusive", "exclusiv* ~10 territory|distribut*|right*|supplier|basis|provider|licen*|agent|reseller"),
    ("exclusive", "sole and exclusive ~3 distribut*|supplier|provider|licen*|agent|reseller|right|rights"),
    ("exclusive", "exclusively ~8 purchase*|buy|obtain|source|sell|supply|distribut*|market*|from|through"),
    ("exclusive", "purchase*|buy|obtain|source|sell|supply|distribut*|market* ~8 exclusively"),
    ("exclusive", "only ~4 from|through|with ~4 supplier|distributor|licensor|company"),
    ("exclusive", "shall|will not ~15 any other|third ~10 supplier*|distribut*|provider*|vendor*"),
    // A filing's redaction legend ("would likely cause competitive harm") restricts no one.
    ("!compete", "competitive harm"),
    // Exclusive courts, remedies or ownership are not an exclusive dealing.
    ("!exclusive", "exclusive|exclusively ~4 jurisdiction|venue|courts|court|remedy|remedies|owner|ownership|property"),
    ("sue", "not to sue"),
    ("sue", "covenant* not"),
    (
        "sue",
        "not|never|no|neither|nor ~25 contest*|challeng*|dispute*|attack*|oppos*|impugn*|impair* ~30 validity|ownership|title|rights|marks|trademark*|patent*|intellectual|registration*",
    ),
    ("sue", "not ~10 register|file ~15 trademark*|mark|marks|application*|names"),
    ("sue", "inconsistent with ~10 ownership|rights|title"),
    (
        "sue",
        "not|never ~10 assert|bring|institute|commence|initiate|file ~10 claim*|action*|suit*|proceeding*|lawsuit*",
    ),
    ("sue", "waive* ~10 suits|claims|actions"),
    ("sue", "challeng*|contest*|oppos*|dispute* ~10 validity|patentability|enforceability"),
    ("sue", "acknowledg* ~10 validity|ownership|exclusive"),
    ("sue", "release*|discharge* ~12 claims|demands|suits|causes"),
    ("convenience", "terminat*|cancel* ~20 for|its|their convenience"),
    ("convenience", "convenience ~2 terminat*"),
    ("convenience", "terminat* ~15 upon|on|by|with|giving ~6 0 days|months"),
    ("convenience", "without cause"),
    ("convenience", "terminat* ~15 at any time"),
    ("convenience", "at any time ~15 upon|on|by ~5 0 days"),
    ("convenience", "terminat* ~20 sole discretion"),
    // Not a category's own concept: termination for a breach, default or insolvency, which the
    // weights learn to hold against termination for convenience.
    ("cause", "terminat* ~25 breach*|default*|fails|failure|insolven*|bankrupt*"),
    // Termination on an event (a breach, a default, an insolvency) is termination for cause, not
    // for convenience, however the notice period reads.
    ("!convenience", "in the event|case ~12 breach*|default*|fails|failure|insolven*|bankrupt*|violat*"),
    ("!convenience", "if ~8 breach*|default*|fails|failure|insolven*|bankrupt*|violat*"),
    ("!convenience", "any of the following ~3 events|grounds|contingencies|occur*|occurs"),
    ("!convenience", "occurrence of"),
    ("minimum", "minimum purchase*|order*|quantit*|annual|volume|royalt*|commitment|payment*|fee*|amount*"),
    ("minimum", "shortfall"),
    ("minimum", "minimum"),
    ("minimum", "quota|quotas"),
    ("minimum", "take or pay"),
    ("minimum", "sales|purchase|annual target|targets"),
    ("minimum", "guaranteed ~3 fee*|payment*|minimum|amount*|royalt*"),
    ("minimum", "order*|purchase*|buy|pay ~8 least|less than"),
    ("minimum", "commit* ~5 purchase*|order*|buy|spend"),
    ("assign-ip", "hereby assign*|transfer*"),
    ("assign-ip", "work* made for hire"),
    ("assign-ip", "exclusive|sole property"),
    ("assign-ip", "shall|will own|vest|belong"),
    ("assign-ip", "right title and interest"),
    ("assign-ip", "assign* ~10 all right|rights|title"),
    ("assign-ip", "property of"),
    // Not a category's own concept (that one is broad, to gate): an explicit transfer of
    // ownership, which the weights can trust more than "right, title and interest" alone.
    (
        "ip-transfer",
        "hereby|shall|will|agrees|agree|undertakes ~3 assign*|transfer*|convey* ~15 right|rights|title|interest|ownership|copyright*|intellectual|invention*|patent*",
    ),
    ("ip-transfer", "work* made for hire"),
    ("ip-transfer", "become|becomes|be ~3 the ~3 sole|exclusive|absolute ~3 property"),
    ("uncapped", "shall not apply ~10 breach|indemn*|gross|willful|wilful|fraud|section*|obligations"),
    ("uncapped", "limitation* ~15 shall not apply"),
    ("uncapped", "except ~10 indemn*|breach|gross|willful|wilful"),
    (
        "uncapped",
        "except|excluding ~15 section*|article*|clause*|indemn*|breach*|confidential*|infring*|gross|willful|wilful|fraud*|misappropriat*|death|personal ~40 liable|liability|exceed|damages",
    ),
    ("uncapped", "nothing ~20 limit|limits|exclude|excludes|restrict ~10 liability|damages|indemn*|remedies"),
    ("uncapped", "not ~3 limit|exclude|restrict ~15 liability|indemn*|damages"),
    ("uncapped", "exclude* or limit* ~5 liability"),
    ("uncapped", "inapplicable|unlimited|uncapped"),
    ("uncapped", "waive* ~10 limitation*|cap|caps"),
    ("uncapped", "limited ~2 except"),
    ("uncapped", "limitation*|limits|cap ~5 not ~3 apply"),
    ("uncapped", "full|unlimited responsibility|liability"),
    ("uncapped", "without limit"),
    ("cap", "in no event ~25 liab*|exceed"),
    ("cap", "aggregate|total|maximum liability"),
    ("cap", "not ~1 exceed"),
    ("cap", "consequential|incidental|indirect|special|punitive damages"),
    ("cap", "liability ~10 limited to"),
    ("renewal", "automatic* ~5 renew*|extend*"),
    ("renewal", "renew*|extend*|continue* ~3 automatic*"),
    ("renewal", "renew*|extend* ~6 for ~3 another|additional|successive|further|subsequent"),
    ("renewal", "renewable"),
    ("renewal", "month|year to month|year"),
    ("renewal", "option|right to ~3 renew*|extend*"),
    ("renewal", "renew* ~5 successive|additional|further ~5 period*|term*|year*"),
    ("renewal", "unless ~20 notice ~10 nonrenewal|renew*|terminat*"),
    ("renewal-notice", "0 days ~10 prior|before ~10 end|expiration|expiry|anniversary"),
    ("renewal-notice", "notice of nonrenewal"),
    ("renewal-notice", "renew* ~25 unless ~20 notice|notifies|notify"),
    ("renewal-notice", "notice ~8 0 days|months ~10 before|prior ~5 expir*|end|anniversary|renewal"),
    ("renewal-notice", "prior to ~10 expiration|end ~10 term"),
    ("audit", "audit*"),
    ("audit", "inspect*|examine|examination ~10 books|records|facilities|premises"),
    ("audit", "books and records"),
    ("insurance", "insurance|insured|insurer*|coverage"),
    ("law", "governed by"),
    ("law", "laws of ~5 state|england|province|commonwealth"),
    ("law", "construed ~10 laws"),
    ("no-assign", "not ~10 assign*|transfer*"),
    ("no-assign", "without ~8 consent ~20 assign*|transfer*"),
    ("no-assign", "assign*|transfer* ~20 without ~8 consent"),
];

/// One word of a concept pattern: alternatives, each whole or a prefix, and the gap allowed
/// before it.
struct Step {
    alternatives: Vec<(String, bool)>,
    gap: usize,
    /// The [`key`]s a word matching this step can have: a sentence whose words have none of them
    /// cannot hold the pattern, which rules most patterns out with one AND.
    keys: u64,
}

/// A word's bit in a 64-bit summary of a sentence: from its first three bytes.
fn key(word: &str) -> u64 {
    let bytes = &word.as_bytes()[..word.len().min(3)];
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    1 << (h % 64)
}

fn concepts() -> &'static [(&'static str, Vec<Step>)] {
    static COMPILED: std::sync::OnceLock<Vec<(&'static str, Vec<Step>)>> = std::sync::OnceLock::new();
    COMPILED.get_or_init(|| {
        CONCEPTS
            .iter()
            .map(|&(name, pattern)| {
                let mut steps = Vec::new();
                let mut gap = 0;
                for part in pattern.split_whitespace() {
                    if let Some(n) = part.strip_prefix('~') {
                        gap = n.parse().unwrap_or(0);
                        continue;
                    }
                    let alternatives: Vec<(String, bool)> = part
                        .split('|')
                        .map(|a| match a.strip_suffix('*') {
                            Some(prefix) => (prefix.to_string(), true),
                            None => (a.to_string(), false),
                        })
                        .collect();
                    // A prefix shorter than three bytes does not fix a word's key.
                    let keys = alternatives
                        .iter()
                        .map(|(a, prefix)| if *prefix && a.len() < 3 { u64::MAX } else { key(a) })
                        .fold(0, |k, a| k | a);
                    steps.push(Step { alternatives, gap, keys });
                    gap = 0;
                }
                (name, steps)
            })
            .collect()
    })
}

impl Step {
    fn matches(&self, word: &str) -> bool {
        self.alternatives.iter().any(|(a, prefix)| if *prefix { word.starts_with(a.as_str()) } else { word == a })
    }
}

/// Whether the words (in order) hold the pattern's steps, each within its gap of the one before.
fn holds(words: &[&str], steps: &[Step]) -> bool {
    let Some((first, rest)) = steps.split_first() else { return false };
    'start: for (i, word) in words.iter().enumerate() {
        if !first.matches(word) {
            continue;
        }
        let mut at = i;
        for step in rest {
            let window = words.iter().enumerate().skip(at + 1).take(step.gap + 1);
            match window.into_iter().find(|(_, w)| step.matches(w)) {
                Some((j, _)) => at = j,
                None => continue 'start,
            }
        }
        return true;
    }
    false
}

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
        for (i, &(a, b)) in scratch.bounds.iter().enumerate() {
            emit(HEADING, &scratch.words[a..b]);
            if let Some(&(_, b2)) = scratch.bounds.get(i + 1) {
                emit(HEADING_PAIR, &scratch.words[a..b2]);
            }
        }
        let list: Vec<&str> = scratch.bounds.iter().map(|&(a, b)| &scratch.words[a..b]).collect();
        for_each_concept(&list, |name| emit(HEADING_CONCEPT, name));
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
    let list: Vec<&str> = bounds.iter().map(|&(a, b)| &words[a..b]).collect();
    for_each_concept(&list, |name| emit(CONCEPT, name));
    let letters = sentence.chars().filter(|c| c.is_alphabetic()).count();
    let capitals = sentence.chars().filter(|c| c.is_uppercase()).count();
    if letters >= 40 && capitals * 10 >= letters * 8 {
        emit(SHAPE, "caps");
    }
    if is_definition(sentence) {
        emit(SHAPE, "definition");
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

/// Whether a sentence defines a term (`"Change of Control" means …`, `1.4 "Affiliate" shall
/// mean …`): a definition names an idea without agreeing to it, so a clause model should not
/// read it as the clause.
fn is_definition(sentence: &str) -> bool {
    let head: String = sentence.chars().take(160).collect();
    let Some((open, quote)) = head.char_indices().find(|&(_, c)| c == '"' || c == '“') else { return false };
    let rest = &head[open + quote.len_utf8()..];
    let Some(close) = rest.find(['"', '”']) else { return false };
    let after = rest[close..].trim_start_matches(['"', '”']).trim_start();
    let after = after.strip_prefix("shall ").or_else(|| after.strip_prefix("will ")).unwrap_or(after);
    open < 24
        && close < 80
        && ["means", "mean", "has the meaning", "shall have the meaning", "refers to", "includes"]
            .iter()
            .any(|w| after.starts_with(w))
}

/// Calls `emit(name)` once for every concept the words hold.
fn for_each_concept(list: &[&str], mut emit: impl FnMut(&str)) {
    let summary = list.iter().fold(0u64, |k, w| k | key(w));
    let quick = |steps: &[Step]| steps.iter().all(|s| s.keys & summary != 0) && holds(list, steps);
    // A `!name` pattern that holds vetoes the concept `name` for this sentence.
    let mut vetoed: Vec<&str> = Vec::new();
    for (name, steps) in concepts() {
        if let Some(target) = name.strip_prefix('!')
            && !vetoed.contains(&target)
            && quick(steps)
        {
            vetoed.push(target);
        }
    }
    let mut last = "";
    for (name, steps) in concepts() {
        // Patterns of one concept are adjacent: once it holds, its other patterns add nothing.
        if *name != last && !name.starts_with('!') && !vetoed.contains(name) && quick(steps) {
            emit(name);
            last = name;
        }
    }
}

/// Lower-cased words of `text`, separated by single spaces in `scratch.words`, with their spans.
fn tokenize(text: &str, scratch: &mut Scratch) {
    scratch.words.clear();
    scratch.bounds.clear();
    let mut start: Option<usize> = None;
    let mut in_digits = false;
    let mut joining = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            joining = false;
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
        } else if c == '\'' || c == '’' || (joining && c.is_whitespace()) {
            // "party's" is one word: the apostrophe neither ends nor joins it.
        } else if c == '-' && start.is_some_and(|s| &scratch.words[s..] == "non") {
            // "non-exclusive" is one word ("nonexclusive"), the opposite of "exclusive", not an
            // instance of it; so is "non- exclusive" wrapped across a line.
            joining = true;
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
    fn concepts_match_words_within_their_gaps() {
        assert!(
            features("Licensee shall not, directly or indirectly, compete with Licensor", None)
                .contains(&"c:compete".to_string())
        );
        let f = features("Distributor shall not engage any other person as distributor", None);
        assert!(f.contains(&"c:exclusive".to_string()), "{f:?}");
        assert!(!features("The parties met in a change room", None).contains(&"c:control".to_string()));
        assert!(features("upon a Change of Control of either party", None).contains(&"c:control".to_string()));
    }

    fn holds(sentence: &str, concept: &str) -> bool {
        features(sentence, None).contains(&format!("c:{concept}"))
    }

    #[test]
    fn a_covenant_not_to_sue_is_a_promise_not_to_contest_the_other_sides_rights() {
        for clause in [
            "Licensee will not, during the term or at any time thereafter, contest or assist any third party in contesting the validity of Licensor's trademarks.",
            "Neither party shall directly or indirectly oppose, challenge or petition to cancel any registration of the other party's marks.",
            "The Distributor shall not file any application to register the Supplier's trademarks in any country.",
            "Each party hereby covenants not to sue the other for infringement of the Licensed Patents.",
            "Reseller agrees not to bring any claim or action against the Company arising out of the Company's use of the Marks.",
            "Licensee shall not do anything inconsistent with Licensor's ownership of the Licensed Mark.",
        ] {
            assert!(holds(clause, "sue"), "{clause}");
        }
        // Paying and discharging one's own debts releases no claim.
        assert!(!holds("The Buyer shall pay, discharge and be responsible for all wages of its employees.", "sue"));
    }

    #[test]
    fn uncapped_liability_is_read_from_what_a_cap_excludes() {
        for clause in [
            "EXCEPT FOR A BREACH OF SECTION 9 (CONFIDENTIALITY), IN NO EVENT SHALL EITHER PARTY BE LIABLE FOR INDIRECT OR CONSEQUENTIAL DAMAGES.",
            "Except for its indemnification obligations, neither party's aggregate liability shall exceed the fees paid in the preceding twelve months.",
            "Excluding liability for infringement claims under Section 7, the Vendor's total liability shall not exceed the amounts paid.",
            "Nothing in this Agreement shall limit or exclude either party's liability for fraud or for death or personal injury caused by negligence.",
            "The limitations in this Section do not apply to claims arising from gross negligence or wilful misconduct.",
            "The Customer waives any limitation of liability with respect to its payment obligations.",
        ] {
            assert!(holds(clause, "uncapped"), "{clause}");
        }
        assert!(!holds("The Supplier shall maintain product liability insurance of at least $1,000,000.", "uncapped"));
    }

    #[test]
    fn a_warranty_duration_is_a_warranty_with_its_period() {
        for clause in [
            "The Manufacturer warrants that the Products will be free from defects in materials and workmanship for twelve (12) months from delivery.",
            "Each unit shall have a remaining shelf life of at least eighteen months on delivery.",
            "The Vendor offers a six-month limited warranty to end users.",
            "Latent defects may be notified at any time before the expiry date of the batch.",
        ] {
            assert!(holds(clause, "warranty-period"), "{clause}");
        }
        assert!(!holds("Invoices are payable within thirty (30) days of receipt.", "warranty-period"));
    }

    #[test]
    fn termination_for_convenience_is_termination_without_a_breach() {
        for clause in [
            "Either party may terminate this Agreement for convenience on ninety (90) days' written notice.",
            "The Customer may terminate this Agreement at any time, for any reason, upon thirty (30) days' notice.",
            "This Agreement may be terminated by either party upon sixty (60) days written notice to the other.",
        ] {
            assert!(holds(clause, "convenience"), "{clause}");
        }
        for clause in [
            "Either party may terminate this Agreement upon thirty (30) days' notice in the event the other party breaches any material obligation.",
            "The Licensor may terminate this Agreement on ten days' notice if the Licensee fails to pay any royalty when due.",
            "Section headings are for convenience only and do not affect interpretation.",
            "Either party may terminate this Agreement upon thirty (30) days' notice on the occurrence of any of the following events:",
        ] {
            assert!(!holds(clause, "convenience"), "{clause}");
        }
    }

    #[test]
    fn most_favoured_terms_compare_with_what_other_customers_get() {
        for clause in [
            "The prices charged to Distributor shall be no less favorable than those offered to any other distributor of the Products.",
            "Supplier shall charge Customer the lowest price it charges any similarly situated customer.",
            "Client will not be charged a higher fee than that charged to any other client for similar services.",
            "Licensee shall be entitled to most favored customer pricing.",
        ] {
            assert!(holds(clause, "mfn"), "{clause}");
        }
        // A comparison with a document, not with another customer.
        assert!(!holds(
            "The franchisee will not be asked to accept terms less favorable than those in this disclosure document.",
            "mfn"
        ));
    }

    #[test]
    fn minimum_commitments_include_quotas_targets_and_guaranteed_fees() {
        for clause in [
            "Distributor shall meet the quarterly sales quotas set out in Schedule B.",
            "Company shall pay a guaranteed fee of $50,000 in each contract year.",
            "The Buyer undertakes to order not less than 10,000 units in each calendar year.",
        ] {
            assert!(holds(clause, "minimum"), "{clause}");
        }
    }

    #[test]
    fn non_prefix_makes_one_word_so_a_non_exclusive_licence_is_not_exclusivity() {
        let f = features("Licensor grants Licensee a non-exclusive, non- transferable licence in the Territory.", None);
        assert!(f.contains(&"w:nonexclusive".to_string()), "{f:?}");
        assert!(f.contains(&"w:nontransferable".to_string()), "{f:?}");
        assert!(!f.contains(&"c:exclusive".to_string()), "{f:?}");
        assert!(holds(
            "Licensor grants Distributor the exclusive right to distribute the Products in the Territory.",
            "exclusive"
        ));
        assert!(!holds(
            "This Agreement is Customer's sole and exclusive remedy for any failure of the Services.",
            "exclusive"
        ));
    }

    #[test]
    fn the_notice_that_stops_a_renewal_is_read_with_its_period() {
        for clause in [
            "This Agreement renews automatically for successive one-year terms unless either party gives sixty (60) days' written notice of termination.",
            "Either party may give notice at least ninety (90) days before the expiration of the then-current term that it will not renew.",
        ] {
            assert!(holds(clause, "renewal-notice"), "{clause}");
        }
        assert!(!holds("The Supplier shall give notice of any price change.", "renewal-notice"));
    }

    #[test]
    fn renewals_are_read_in_either_word_order_and_as_options() {
        for clause in [
            "This Agreement shall be renewed automatically for further periods of one year.",
            "The Licensee shall have the option to renew this Agreement for another five (5) years.",
            "This Agreement is renewable on an annual basis.",
            "Thereafter the arrangement continues from month to month until either party ends it.",
        ] {
            assert!(holds(clause, "renewal"), "{clause}");
        }
        assert!(!holds("The Supplier shall renew its insurance policies when they lapse.", "renewal"));
    }

    #[test]
    fn a_redaction_legend_is_not_a_non_compete() {
        assert!(!holds(
            "Certain information has been excluded because it is not material and would likely cause competitive harm if publicly disclosed.",
            "compete"
        ));
        assert!(holds(
            "During the Term, Consultant shall not, directly or indirectly, compete with the Company.",
            "compete"
        ));
    }

    #[test]
    fn exclusive_courts_remedies_or_ownership_are_not_exclusive_dealing() {
        for clause in [
            "The courts of Delaware shall have exclusive jurisdiction over any dispute arising under this Agreement.",
            "Licensor is the exclusive owner of the Licensed Marks and all rights in them.",
        ] {
            assert!(!holds(clause, "exclusive"), "{clause}");
        }
        assert!(holds("Supplier appoints Distributor as its exclusive distributor in the Territory.", "exclusive"));
    }

    #[test]
    fn an_explicit_transfer_of_ownership_is_its_own_concept() {
        for clause in [
            "Developer hereby assigns to Client all right, title and interest in the Deliverables.",
            "All work product shall be deemed work made for hire and shall become the sole property of the Company.",
            "Consultant agrees to assign to the Company all inventions conceived during the engagement.",
        ] {
            assert!(holds(clause, "ip-transfer"), "{clause}");
        }
        assert!(!holds(
            "Each party retains all right, title and interest in its own pre-existing materials.",
            "ip-transfer"
        ));
    }

    #[test]
    fn an_alternative_is_one_word_so_two_word_phrases_are_written_as_steps() {
        // "shall not exceed" and "not to exceed" both hold the cap concept.
        assert!(holds("The Supplier's liability shall not exceed the fees paid.", "cap"));
        assert!(holds("damages not to exceed one hundred dollars", "cap"));
    }

    #[test]
    fn a_heading_gives_its_word_pairs_and_the_concepts_it_names() {
        let f =
            features("During the Term, the Consultant shall not work for another firm.", Some("9. Non-Competition"));
        assert!(f.contains(&"g:noncompetition".to_string()) || f.contains(&"h:noncompetition".to_string()), "{f:?}");
        assert!(f.contains(&"k:compete".to_string()), "{f:?}");
        let f = features("Customer's prices will be reviewed yearly.", Some("Most Favored Customer"));
        assert!(f.contains(&"g:most favored".to_string()) && f.contains(&"k:mfn".to_string()), "{f:?}");
    }

    #[test]
    fn a_definition_is_a_shape_of_its_own() {
        // From CUAD: definitions name an idea (ownership, control) without agreeing to it.
        for sentence in [
            "\"Intellectual Property Rights\" means any and all past, present, and future rights which exist.",
            "1.26 \"Commercially Reasonable Efforts\" means: (a) with respect to the efforts to be expended.",
            "“Change of Control” shall mean the acquisition of more than fifty percent of the voting stock.",
        ] {
            assert!(features(sentence, None).contains(&"s:definition".to_string()), "{sentence}");
        }
        for sentence in [
            "Developer hereby assigns to Client all right, title and interest in the Deliverables.",
            "Licensee shall use the mark \"ACME\" only as Licensor directs, which means in the approved form.",
        ] {
            assert!(!features(sentence, None).contains(&"s:definition".to_string()), "{sentence}");
        }
    }

    #[test]
    fn a_name_hashes_like_its_parts() {
        assert_eq!(hash_name("p:governed by"), Some(hash(PAIR, "governed by")));
        assert_eq!(hash_name("nonsense"), None);
    }
}
