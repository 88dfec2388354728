//! How well each category's hand-written concept (`risk::features`) covers the CUAD corpus:
//! per category, the share of documents with the category where a sentence overlapping an
//! annotated excerpt holds the concept (the recall a gated decision can reach), and the share of
//! documents without it where some sentence holds it anyway. A study aid for writing concepts;
//! nothing is trained or tuned by it.
//!
//! `cargo run -p attesta-core --release --example risk_concepts [-- CATEGORY]` (with a category,
//! also prints the excerpts whose sentences hold no concept of it).

use attesta_core::risk::{CATEGORIES, concept_of, corpus, features, segment};

fn main() -> Result<(), String> {
    let dir = corpus::default_dir();
    let Some((_, docs)) = corpus::load(&dir)? else {
        return Err(format!("the CUAD corpus is not at {} (set ATTESTA_CUAD_DIR)", dir.display()));
    };
    let shown = std::env::args().nth(1);
    println!("{:<36} {:>5} {:>8} {:>8}", "category", "docs", "covered", "elsewhere");
    for category in CATEGORIES {
        let Some(concept) = concept_of(category) else { continue };
        let (mut with, mut covered, mut without, mut elsewhere) = (0, 0, 0, 0);
        for doc in &docs {
            let mut scratch = features::Scratch::default();
            let spans = doc.spans.get(category);
            let mut on_excerpt = false;
            let mut anywhere = false;
            let mut missed = Vec::new();
            for seg in segment::segments(&doc.text) {
                let heading = seg.heading.map(|(a, b)| &doc.text[a..b]);
                let mut holds = false;
                features::for_each(&doc.text[seg.start..seg.end], heading, &mut scratch, |kind, text| {
                    holds |= kind == features::CONCEPT && text == concept;
                });
                let in_excerpt = spans.is_some_and(|s| s.iter().any(|&(a, b)| a < seg.end && seg.start < b));
                anywhere |= holds;
                on_excerpt |= holds && in_excerpt;
                if in_excerpt && !holds {
                    missed.push(&doc.text[seg.start..seg.end]);
                }
            }
            if doc.present.contains(category) {
                with += 1;
                covered += usize::from(on_excerpt);
                if !on_excerpt && shown.as_deref() == Some(category) {
                    for m in missed.iter().take(3) {
                        println!("MISSED {} | {}", doc.id, m.chars().take(220).collect::<String>().replace('\n', " "));
                    }
                }
            } else {
                without += 1;
                elsewhere += usize::from(anywhere);
            }
        }
        println!(
            "{category:<36} {with:>5} {:>7.1}% {:>7.1}%",
            100.0 * covered as f64 / f64::from(with.max(1) as u32),
            100.0 * elsewhere as f64 / f64::from(without.max(1) as u32)
        );
    }
    Ok(())
}
