//! Every real contract in the CUAD corpus (`../shared/corpus/cuad/pdf`) is accepted by PDF
//! inspection. Skipped, with a message, when the corpus is not next to the repository.

use attesta_core::documents::pdf::inspect;
use std::path::PathBuf;

#[test]
fn every_cuad_pdf_is_accepted() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cuad/pdf");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: the CUAD corpus is not at {}", dir.display());
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")))
        .collect();
    paths.sort();
    let mut refused = Vec::new();
    let mut pages = 0u64;
    for path in &paths {
        let bytes = std::fs::read(path).expect("readable corpus file");
        match inspect(&bytes) {
            Ok(info) => pages += u64::from(info.pages),
            Err(e) => refused.push(format!("{}: {e}", path.display())),
        }
    }
    eprintln!("{} CUAD PDFs inspected, {pages} pages, {} refused", paths.len(), refused.len());
    assert!(!paths.is_empty(), "the corpus folder holds no PDFs");
    assert!(refused.is_empty(), "refused real contracts:\n{}", refused.join("\n"));
}
