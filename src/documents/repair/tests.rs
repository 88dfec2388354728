//! The diagnosis and the clean copy on hand-made damaged files. (The server's tests run a larger
//! corpus all the way to a sealed PDF.)

use super::*;

/// Objects 1 catalog, 2 page tree, 3 font, then per page a content stream and the page.
fn objects(pages: usize) -> Vec<String> {
    let mut objects =
        vec![String::new(), String::new(), "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into()];
    let mut kids = Vec::new();
    for n in 1..=pages {
        let text = format!("BT /F1 24 Tf 72 700 Td (Page {n}) Tj ET");
        objects.push(format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()));
        let contents = objects.len();
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {contents} 0 R >>"
        ));
        kids.push(format!("{} 0 R", objects.len()));
    }
    objects[0] = "<< /Type /Catalog /Pages 2 0 R >>".into();
    objects[1] = format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" "));
    objects
}

/// The file, each object's offset and the cross-reference table's offset.
fn write(objects: &[String]) -> (Vec<u8>, Vec<usize>, usize) {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in &offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    (out, offsets, xref)
}

fn needs_repair(bytes: &[u8]) -> String {
    match diagnose(bytes) {
        Ok(Diagnosis::NeedsRepair(why)) => why,
        other => panic!("expected a repair, got {other:?}"),
    }
}

/// Repairs `bytes` and checks the copy reads cleanly with `pages` pages.
fn repaired(bytes: &[u8], pages: u32) -> Vec<u8> {
    let copy = repair(bytes).expect("repairable");
    assert_eq!(copy.info.pages, pages);
    assert!(copy.bytes.starts_with(b"%PDF-"));
    match diagnose(&copy.bytes) {
        Ok(Diagnosis::Clean(info)) => assert_eq!(info.pages, pages),
        other => panic!("the clean copy does not read cleanly: {other:?}"),
    }
    copy.bytes
}

#[test]
fn a_well_formed_pdf_is_used_as_written() {
    let (pdf, _, _) = write(&objects(3));
    assert_eq!(diagnose(&pdf), Ok(Diagnosis::Clean(PdfInfo { pages: 3, version: "1.7".into() })));
}

#[test]
fn a_wrong_startxref_is_repaired() {
    let (pdf, _, xref) = write(&objects(2));
    let text = String::from_utf8(pdf).expect("ascii");
    let bad = text.replace(&format!("startxref\n{xref}"), &format!("startxref\n{}", xref + 7));
    needs_repair(bad.as_bytes());
    repaired(bad.as_bytes(), 2);
}

#[test]
fn a_file_cut_after_its_pages_is_repaired_and_one_cut_inside_a_page_is_refused() {
    let (pdf, _, xref) = write(&objects(2));
    needs_repair(&pdf[..xref + 20]);
    repaired(&pdf[..xref + 20], 2);
    let objects = objects(2);
    let (pdf, offsets, _) = write(&objects);
    let last_content = offsets[objects.len() - 2];
    assert!(matches!(repair(&pdf[..last_content + 20]), Err(Refusal::Unrepairable(why)) if why.contains("cut short")));
}

#[test]
fn data_before_the_header_is_cut_off() {
    let (pdf, _, _) = write(&objects(1));
    let mut junk = b"garbage in front\n".repeat(10);
    junk.extend_from_slice(&pdf);
    assert!(needs_repair(&junk).contains("before its %PDF- header"));
    repaired(&junk, 1);
}

#[test]
fn a_wrong_stream_length_is_repaired_with_the_true_length() {
    let mut objects = objects(1);
    objects[3] = objects[3].replacen("/Length ", "/Length 9", 1);
    let (pdf, _, _) = write(&objects);
    needs_repair(&pdf);
    let copy = repaired(&pdf, 1);
    let document = Document::load_mem(&copy).expect("reads");
    let page = document.page_iter().next().expect("a page");
    assert!(String::from_utf8_lossy(&document.get_page_content(page)).contains("(Page 1) Tj"));
}

/// Pages under a chain of `depth` nodes, the media box inherited from the top.
fn nested(depth: usize) -> Vec<u8> {
    let mut objects = objects(2);
    // Pages 5 and 7 hang under the deepest of `depth` new nodes, numbered from 8.
    let first = objects.len() + 1;
    for level in 0..depth {
        let id = first + level;
        let parent = if level == 0 { 2 } else { id - 1 };
        let kids = if level + 1 == depth { "5 0 R 7 0 R".to_owned() } else { format!("{} 0 R", id + 1) };
        objects.push(format!("<< /Type /Pages /Parent {parent} 0 R /Kids [{kids}] /Count 2 >>"));
    }
    objects[1] = format!("<< /Type /Pages /Kids [{first} 0 R] /Count 2 /Rotate 90 >>");
    for page in [4, 6] {
        objects[page] = objects[page]
            .replace("/Parent 2 0 R /MediaBox [0 0 612 792] ", &format!("/Parent {} 0 R ", first + depth - 1));
    }
    write(&objects).0
}

#[test]
fn a_shallow_tree_with_inherited_attributes_is_kept_and_a_deep_one_is_flattened() {
    assert!(matches!(diagnose(&nested(3)), Ok(Diagnosis::Clean(PdfInfo { pages: 2, .. }))));
    let deep = nested(150);
    assert!(needs_repair(&deep).contains("nested too deep"));
    let copy = repaired(&deep, 2);
    let geometry = super::super::pdf::page_geometry(&copy).expect("geometry");
    assert!(geometry.iter().all(|g| g.rotate == 90), "inherited /Rotate kept: {geometry:?}");
}

#[test]
fn a_cycle_or_an_untyped_node_in_the_page_tree_is_repaired() {
    let mut cyclic = objects(2);
    cyclic[1] = "<< /Type /Pages /Kids [5 0 R 2 0 R 7 0 R] /Count 2 >>".into();
    let (pdf, _, _) = write(&cyclic);
    assert!(needs_repair(&pdf).contains("loops back"));
    repaired(&pdf, 2);
    let mut untyped = objects(4);
    untyped[1] = untyped[1].replace("/Type /Pages ", "");
    let (pdf, _, _) = write(&untyped);
    needs_repair(&pdf);
    repaired(&pdf, 4);
}

#[test]
fn encrypted_and_pageless_files_are_refused() {
    let (pdf, _, _) = write(&objects(1));
    let text = String::from_utf8(pdf).expect("ascii");
    let encrypted = text.replace(
        "/Root 1 0 R >>",
        "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O (x) /U (y) /P -4 >> /ID [<00> <00>] >>",
    );
    assert_eq!(diagnose(encrypted.as_bytes()), Err(Refusal::Encrypted));
    let mut empty = objects(1);
    empty[1] = "<< /Type /Pages /Kids [] /Count 0 >>".into();
    let (pdf, _, _) = write(&empty);
    needs_repair(&pdf);
    assert_eq!(repair(&pdf), Err(Refusal::NoPages));
}

#[test]
fn every_truncation_is_diagnosed_and_repaired_or_refused_without_panicking() {
    let (pdf, _, _) = write(&objects(2));
    for cut in (0..pdf.len()).step_by(7) {
        if let Ok(Diagnosis::NeedsRepair(_)) = diagnose(&pdf[..cut])
            && let Ok(copy) = repair(&pdf[..cut])
        {
            assert!(matches!(diagnose(&copy.bytes), Ok(Diagnosis::Clean(_))), "cut at {cut}");
        }
    }
}
