//! Every real contract in the CUAD corpus (`../shared/corpus/cuad/pdf`, or the folder named by
//! `ATTESTA_CUAD_DIR`) is accepted by PDF inspection and has readable page geometry. Skipped,
//! with a message, when the corpus is not there.

use attesta_core::documents::pdf::{inspect, page_geometry};
use std::path::PathBuf;

/// The corpus's PDFs, sorted, or `None` (after saying so) when there is no corpus.
fn corpus() -> Option<Vec<PathBuf>> {
    let dir = std::env::var_os("ATTESTA_CUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cuad/pdf"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: the CUAD corpus is not at {}", dir.display());
        return None;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "the corpus folder {} holds no PDFs", dir.display());
    Some(paths)
}

#[test]
fn every_cuad_pdf_is_accepted() {
    let Some(paths) = corpus() else { return };
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
    assert!(refused.is_empty(), "refused real contracts:\n{}", refused.join("\n"));
}

#[test]
fn every_cuad_page_has_a_geometry_with_area() {
    let Some(paths) = corpus() else { return };
    let (mut pages, mut rotated, mut off_origin) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).expect("readable corpus file");
        let geometries = match page_geometry(&bytes) {
            Ok(geometries) => geometries,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        for (index, page) in geometries.iter().enumerate() {
            let (width, height) = page.display_size();
            if !(width > 0.0 && height > 0.0) {
                failures.push(format!("{} page {}: {page:?} has no area", path.display(), index + 1));
            }
            pages += 1;
            rotated += u64::from(page.rotate != 0);
            off_origin += u64::from(page.x0 != 0.0 || page.y0 != 0.0);
        }
    }
    eprintln!(
        "{} CUAD PDFs, {pages} pages: {rotated} rotated, {off_origin} with the visible area away from the origin",
        paths.len()
    );
    assert!(failures.is_empty(), "pages without a usable geometry:\n{}", failures.join("\n"));
}
