//! A corpus of damaged and unusual PDFs, made by code: what readers open although the file is
//! broken (cut short, wrong offsets, junk in front, wrong stream lengths, odd page trees), what
//! is valid but uncommon (cross-reference and object streams, incremental updates, inherited
//! page attributes), and what must be refused (encrypted, no pages, pages cut off).
#![allow(dead_code)]

/// What the server must do with a file of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Accepted as uploaded: the stored file is the upload.
    AsIs,
    /// Accepted as a clean copy: the stored file differs, the evidence names the upload.
    Repaired,
    /// Refused at upload with this error code.
    Refused(&'static str),
}

pub struct Case {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub expect: Expect,
    /// Pages the accepted document has.
    pub pages: u32,
}

/// Text drawn on page `n`.
fn content(n: usize) -> String {
    format!("BT /F1 24 Tf 72 700 Td (Page {n} of the agreement) Tj ET")
}

fn stream(body: &str) -> String {
    format!("<< /Length {} >>\nstream\n{body}\nendstream", body.len())
}

/// Objects 1 (catalog), 2 (page tree), 3 (font), then per page a content stream and the page,
/// then an /Info dictionary last.
fn objects(pages: usize) -> Vec<String> {
    let mut objects =
        vec![String::new(), String::new(), "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into()];
    let mut kids = Vec::new();
    for n in 1..=pages {
        objects.push(stream(&content(n)));
        let contents = objects.len();
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {contents} 0 R >>"
        ));
        kids.push(format!("{} 0 R", objects.len()));
    }
    objects[0] = "<< /Type /Catalog /Pages 2 0 R >>".into();
    objects[1] = format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" "));
    objects.push(format!("<< /Title ({}) /Producer (hostile corpus) >>", "x".repeat(400)));
    objects
}

/// A file of `objects` (numbered from 1) with a classic cross-reference table; returns the
/// bytes, each object's offset and the table's offset.
pub fn write(objects: &[String], trailer_extra: &str) -> (Vec<u8>, Vec<usize>, usize) {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
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
    let info = objects.len();
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {info} 0 R{trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    (out, offsets, xref)
}

fn plain(pages: usize) -> Vec<u8> {
    write(&objects(pages), "").0
}

/// The same document written by lopdf with object streams and a cross-reference stream.
fn modern(pages: usize) -> Vec<u8> {
    let mut document = lopdf::Document::load_mem(&plain(pages)).expect("lopdf reads the plain file");
    let mut out = Vec::new();
    document.save_modern(&mut out).expect("lopdf writes it");
    out
}

/// `pages` pages under a chain of `depth` page-tree nodes, each the only kid of the one above;
/// the media box and resources are inherited from the top.
fn nested(pages: usize, depth: usize) -> Vec<u8> {
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    // Nodes 4 .. 4+depth-1; node i's only kid is node i+1; the last holds the pages.
    let first_node = objects.len() + 1;
    for _ in 0..depth {
        objects.push(String::new());
    }
    let mut kids = Vec::new();
    for n in 1..=pages {
        objects.push(stream(&content(n)));
        let contents = objects.len();
        let parent = first_node + depth - 1;
        objects.push(format!("<< /Type /Page /Parent {parent} 0 R /Contents {contents} 0 R >>"));
        kids.push(format!("{} 0 R", objects.len()));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{first_node} 0 R] /Count {pages} /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> >>"
    );
    for level in 0..depth {
        let id = first_node + level;
        let parent = if level == 0 { 2 } else { id - 1 };
        let kids = if level + 1 == depth { kids.join(" ") } else { format!("{} 0 R", id + 1) };
        objects[id - 1] = format!("<< /Type /Pages /Parent {parent} 0 R /Kids [{kids}] /Count {pages} >>");
    }
    objects.push("<< /Producer (hostile corpus) >>".into());
    write(&objects, "").0
}

/// An incremental update that changes page 1's content, with `/Prev` to the first section.
fn incremental(pages: usize) -> Vec<u8> {
    let objects = objects(pages);
    let (mut out, _, xref) = write(&objects, "");
    let changed = 4; // page 1's content stream
    let offset = out.len();
    out.extend_from_slice(format!("{changed} 0 obj\n{}\nendobj\n", stream(&content(100))).as_bytes());
    let second = out.len();
    let info = objects.len();
    out.extend_from_slice(
        format!(
            "xref\n{changed} 1\n{offset:010} 00000 n \ntrailer\n<< /Size {} /Root 1 0 R /Info {info} 0 R /Prev {xref} >>\nstartxref\n{second}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Every case; `cuad` adds nothing here (the CUAD files are read from the shared folder).
pub fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    let case = |name, bytes, expect, pages| Case { name, bytes, expect, pages };

    cases.push(case("plain", plain(3), Expect::AsIs, 3));

    // Cut short inside the /Info dictionary written last: every page survives.
    let (whole, offsets, _) = write(&objects(3), "");
    let info_at = *offsets.last().expect("info");
    cases.push(case("truncated_body_after_pages", whole[..info_at + 60].to_vec(), Expect::Repaired, 3));
    // Cut short inside page 3's content stream: a page would be lost, so it is refused.
    let objects3 = objects(3);
    let (whole, offsets, _) = write(&objects3, "");
    let page3_content = offsets[objects3.len() - 3];
    cases.push(case(
        "truncated_body_inside_a_page",
        whole[..page3_content + 30].to_vec(),
        Expect::Refused("unrepairable_pdf"),
        0,
    ));
    let (whole, _, xref) = write(&objects(3), "");
    cases.push(case("truncated_trailer", whole[..xref + 40].to_vec(), Expect::Repaired, 3));

    let (whole, _, xref) = write(&objects(3), "");
    let text = String::from_utf8_lossy(&whole).into_owned();
    let bad = text.replacen(&format!("startxref\n{xref}\n"), &format!("startxref\n{}\n", xref + 7), 1);
    cases.push(case("bad_startxref", bad.into_bytes(), Expect::Repaired, 3));

    // Every object's offset 3 bytes off.
    let (whole, offsets, _) = write(&objects(3), "");
    let mut text = String::from_utf8_lossy(&whole).into_owned();
    for offset in offsets.iter().rev() {
        text = text.replacen(&format!("{offset:010} 00000 n"), &format!("{:010} 00000 n", offset + 3), 1);
    }
    cases.push(case("bad_xref_offsets", text.into_bytes(), Expect::Repaired, 3));

    let mut junk = b"Content-Type: application/pdf\r\n\r\n".to_vec();
    junk.extend(std::iter::repeat_n(b'#', 200));
    junk.push(b'\n');
    junk.extend(plain(2));
    cases.push(case("junk_prefix", junk, Expect::Repaired, 2));

    cases.push(case("xref_and_object_streams", modern(3), Expect::AsIs, 3));
    cases.push(case("incremental_update_with_prev", incremental(3), Expect::AsIs, 3));
    cases.push(case("inherited_attributes", nested(2, 3), Expect::AsIs, 2));
    cases.push(case("kids_nested_150_deep", nested(2, 150), Expect::Repaired, 2));

    // A page-tree node listing the root among its kids.
    let mut cyclic = objects(2);
    cyclic[1] = "<< /Type /Pages /Kids [5 0 R 7 0 R 2 0 R] /Count 2 >>".into();
    cases.push(case("cyclic_page_tree", write(&cyclic, "").0, Expect::Repaired, 2));

    let encrypted = write(
        &objects(1),
        " /Encrypt << /Filter /Standard /V 1 /R 2 /O (0123456789abcdef0123456789abcdef) /U (0123456789abcdef0123456789abcdef) /P -4 >> /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]",
    )
    .0;
    cases.push(case("encrypted", encrypted, Expect::Refused("encrypted_pdf"), 0));

    let mut empty = objects(1);
    empty[1] = "<< /Type /Pages /Kids [] /Count 0 >>".into();
    cases.push(case("no_pages", write(&empty, "").0, Expect::Refused("no_pages"), 0));

    // The page tree's root without /Type (readers still find the pages through /Kids).
    let mut untyped = objects(4);
    untyped[1] = untyped[1].replace("/Type /Pages ", "");
    cases.push(case("page_tree_without_type", write(&untyped, "").0, Expect::Repaired, 4));

    // Streams whose /Length is wrong: too long and too short.
    let mut lengths = objects(3);
    lengths[3] = lengths[3].replacen("/Length ", "/Length 1", 1);
    let short = content(2);
    lengths[5] = format!("<< /Length {} >>\nstream\n{short}\nendstream", short.len() - 9);
    cases.push(case("broken_stream_lengths", write(&lengths, "").0, Expect::Repaired, 3));

    cases
}
