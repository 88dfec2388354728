//! Damaged PDFs that readers still open: deciding whether a file can be signed as written, and
//! otherwise rewriting it into a clean copy that can.
//!
//! Completion appends to the uploaded file (incremental updates: the signers' marks, the
//! certificate, the seal), which needs cross-reference data that reads as written and a page
//! tree every reader walks the same way. Readers (pdf.js, poppler, qpdf) open files that have
//! neither: a cut-short body or trailer, a wrong `startxref` or xref offsets, bytes before the
//! `%PDF-` header, streams with a wrong `/Length`, page trees nested hundreds deep or missing
//! their `/Type`. Such a file used to be accepted and then fail at completion, or never be
//! preparable at all.
//!
//! [`diagnose`] says whether a file reads cleanly: lopdf's strict reader parses every object
//! from the cross-reference data as written, and our own page-tree walk ([`walk`], which reads
//! the tree as pdf.js does: a node with `/Kids` is a node, anything else a page) finds every
//! page lopdf finds, with no cycle, missing object, missing `/Type` or excessive depth. When it
//! does not, [`repair`] reads the file leniently (lopdf rebuilds lost cross-reference data by
//! scanning for `N G obj` headers) and writes a clean full copy: one flat page tree whose pages
//! carry their inherited attributes, references to objects that no longer exist set to null,
//! streams with their true lengths, a fresh classic cross-reference table. A copy whose pages
//! lost content (the file was cut inside them) is refused rather than shown blank.

use super::Refusal;
use super::pdf::{PdfInfo, describe, load};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::{BTreeSet, HashSet};

/// Deeper page trees are flattened: lopdf gives up on resources more than 100 levels up, and
/// no producer needs more than a handful.
const MAX_TREE_DEPTH: usize = 32;

/// The attributes a page inherits from its ancestors (ISO 32000-1, table 30).
const INHERITABLE: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];

/// US Letter: what readers show for a page without a /MediaBox anywhere up its tree.
const LETTER: [i64; 4] = [0, 0, 612, 792];

/// Whether a PDF can be used as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    /// It reads cleanly: sign it as it is.
    Clean(PdfInfo),
    /// It has to be rewritten first, for this reason (in words for the uploader).
    NeedsRepair(String),
}

/// A clean copy of a damaged PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub bytes: Vec<u8>,
    pub info: PdfInfo,
}

/// Looks at how `bytes` reads; see the module's description. Refuses only what is no PDF at all
/// or is encrypted; anything else that is wrong is a reason to repair.
pub fn diagnose(bytes: &[u8]) -> Result<Diagnosis, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if !super::has_pdf_header(bytes) {
        return Err(Refusal::UnsupportedType);
    }
    if !bytes.starts_with(b"%PDF-") {
        return Ok(Diagnosis::NeedsRepair("there is data before its %PDF- header".to_owned()));
    }
    let document = match load(bytes, true, true) {
        Ok(document) => document,
        Err(e) => return Ok(Diagnosis::NeedsRepair(format!("it does not read as written ({})", describe(&e)))),
    };
    if document.is_encrypted() || document.trailer.get(b"Encrypt").is_ok() {
        return Err(Refusal::Encrypted);
    }
    if document.xref_recovery.is_some() || document.xref_start == 0 {
        return Ok(Diagnosis::NeedsRepair("its cross-reference table is damaged".to_owned()));
    }
    let walked = match walk(&document) {
        Ok(walked) => walked,
        Err(why) => return Ok(Diagnosis::NeedsRepair(why)),
    };
    if let Some(problem) = walked.problems.first() {
        return Ok(Diagnosis::NeedsRepair(problem.clone()));
    }
    if walked.pages.is_empty() {
        return Ok(Diagnosis::NeedsRepair("no page was found in its page tree".to_owned()));
    }
    let listed: Vec<ObjectId> = document.page_iter().collect();
    let walked_ids: Vec<Option<ObjectId>> = walked.pages.iter().map(|p| p.node.as_reference().ok()).collect();
    if listed.len() != walked_ids.len() || listed.iter().zip(&walked_ids).any(|(a, b)| Some(*a) != *b) {
        return Ok(Diagnosis::NeedsRepair("readers disagree on its pages".to_owned()));
    }
    let pages = u32::try_from(walked.pages.len()).unwrap_or(u32::MAX);
    Ok(Diagnosis::Clean(PdfInfo { pages, version: document.version.clone() }))
}

/// Writes a clean full copy of a damaged PDF, or says why that is impossible.
pub fn repair(bytes: &[u8]) -> Result<Repaired, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    // Offsets count from the header in a file something was put in front of.
    let start =
        bytes[..bytes.len().min(1024)].windows(5).position(|w| w == b"%PDF-").ok_or(Refusal::UnsupportedType)?;
    let bytes = &bytes[start..];
    let unrepairable = |why: String| Refusal::Unrepairable(why);
    // Nothing readable at all is simply a damaged file, as before repairs existed.
    let mut document = load(bytes, false, false).map_err(|e| Refusal::Corrupt(describe(&e)))?;
    if document.is_encrypted() || document.was_encrypted() || document.trailer.get(b"Encrypt").is_ok() {
        return Err(Refusal::Encrypted);
    }
    let walked = walk(&document).map_err(Refusal::Corrupt)?;
    if walked.missing > 0 {
        return Err(unrepairable(format!(
            "{} of its pages are missing from the file (it looks cut short)",
            walked.missing
        )));
    }
    if walked.pages.is_empty() {
        return Err(Refusal::NoPages);
    }
    let pages = u32::try_from(walked.pages.len()).unwrap_or(u32::MAX);
    rebuild(&mut document, walked.pages)?;
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    document.save_to(&mut out).map_err(|e| unrepairable(format!("writing the clean copy failed: {e}")))?;
    let version = document.version.clone();
    Ok(Repaired { bytes: out, info: PdfInfo { pages, version } })
}

/// Inheritable attributes by name, nearest ancestor's value.
type Inherited = Vec<(&'static [u8], Object)>;

/// One page found in the page tree, with what it inherits.
#[derive(Debug, Clone)]
pub(crate) struct WalkedPage {
    /// A reference to the page, or (in a damaged tree) the page dictionary itself.
    pub node: Object,
    /// The inheritable attributes of its nearest ancestors that have them.
    pub inherited: Inherited,
}

#[derive(Debug, Default)]
pub(crate) struct Walked {
    pub pages: Vec<WalkedPage>,
    /// What would make readers disagree, in words.
    pub problems: Vec<String>,
    /// Kids that name no object (the file was cut, or the object is lost).
    pub missing: usize,
}

/// Walks the page tree from the catalog as pdf.js does: a dictionary with `/Kids` is a node,
/// any other dictionary a page; cycles are cut, nothing is visited twice. `Err` when there is no
/// catalog or page tree at all.
pub(crate) fn walk(document: &Document) -> Result<Walked, String> {
    let catalog = document
        .trailer
        .get(b"Root")
        .and_then(|root| document.dereference(root))
        .and_then(|(_, root)| root.as_dict())
        .map_err(|_| "it has no readable document catalog".to_owned())?;
    let root = catalog.get(b"Pages").map_err(|_| "its catalog names no page tree".to_owned())?.clone();
    let mut walked = Walked::default();
    let note = |walked: &mut Walked, problem: &str| {
        if !walked.problems.iter().any(|p| p == problem) {
            walked.problems.push(problem.to_owned());
        }
    };
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut stack: Vec<(Object, Inherited, usize)> = vec![(root, Vec::new(), 0)];
    let mut budget = document.objects.len().saturating_mul(2).saturating_add(16);
    while let Some((node, inherited, depth)) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            note(&mut walked, "its page tree is too large to walk");
            break;
        }
        let dict = match &node {
            Object::Reference(id) => {
                if !seen.insert(*id) {
                    note(&mut walked, "its page tree loops back on itself");
                    continue;
                }
                match document.get_object(*id).and_then(Object::as_dict) {
                    Ok(dict) => dict,
                    Err(_) => {
                        walked.missing += 1;
                        note(&mut walked, "part of its page tree is missing");
                        continue;
                    }
                }
            }
            Object::Dictionary(dict) => {
                note(&mut walked, "a part of its page tree is not an object of its own");
                dict
            }
            _ => {
                note(&mut walked, "its page tree holds something that is not a page");
                continue;
            }
        };
        let kids = dict.get(b"Kids").and_then(|kids| document.dereference(kids)).and_then(|(_, k)| k.as_array());
        let is_page = dict.has_type(b"Page");
        match kids {
            Ok(kids) if !is_page => {
                if !dict.has_type(b"Pages") {
                    note(&mut walked, "a node of its page tree has no /Type /Pages");
                }
                if depth >= MAX_TREE_DEPTH {
                    note(&mut walked, "its page tree is nested too deep");
                }
                let mut passed = inherited.clone();
                for key in INHERITABLE {
                    if let Ok(value) = dict.get(key) {
                        passed.retain(|(k, _)| *k != key);
                        passed.push((key, value.clone()));
                    }
                }
                for kid in kids.iter().rev() {
                    stack.push((kid.clone(), passed.clone(), depth + 1));
                }
            }
            _ => {
                if !is_page {
                    note(&mut walked, "a page has no /Type /Page");
                }
                walked.pages.push(WalkedPage { node, inherited });
            }
        }
    }
    Ok(walked)
}

/// Makes `document` one flat page tree over `pages` (each with its inherited attributes), with
/// dangling references set to null and a trailer of its own, ready for a full save.
fn rebuild(document: &mut Document, pages: Vec<WalkedPage>) -> Result<(), Refusal> {
    let unrepairable = |why: &str| Refusal::Unrepairable(why.to_owned());
    // Pages that lost content are refused: a blank page would be signed as if it were whole.
    let mut checked = HashSet::new();
    for (number, page) in pages.iter().enumerate() {
        let dict = match &page.node {
            Object::Reference(id) => document.get_dictionary(*id).map_err(|_| unrepairable("a page is missing"))?,
            Object::Dictionary(dict) => dict,
            _ => return Err(unrepairable("a page is not a dictionary")),
        };
        let mut roots: Vec<&Object> = dict.get(b"Contents").into_iter().collect();
        roots.extend(dict.get(b"Resources"));
        roots.extend(page.inherited.iter().filter(|(k, _)| *k == b"Resources").map(|(_, v)| v));
        if let Some(lost) = first_missing(document, &roots, &mut checked) {
            return Err(Refusal::Unrepairable(format!(
                "part of page {} (object {} {}) is missing from the file (it looks cut short)",
                number + 1,
                lost.0,
                lost.1
            )));
        }
    }

    let catalog_id = match document.trailer.get(b"Root") {
        Ok(Object::Reference(id)) => *id,
        Ok(Object::Dictionary(dict)) => {
            let dict = dict.clone();
            document.add_object(Object::Dictionary(dict))
        }
        _ => return Err(unrepairable("it has no document catalog")),
    };
    let tree_id = document.new_object_id();
    let mut kids = Vec::with_capacity(pages.len());
    let mut used = BTreeSet::new();
    for page in pages {
        let (mut id, mut dict) = match page.node {
            Object::Reference(id) => {
                (id, document.get_dictionary(id).map_err(|_| unrepairable("a page is missing"))?.clone())
            }
            Object::Dictionary(dict) => (document.new_object_id(), dict),
            _ => return Err(unrepairable("a page is not a dictionary")),
        };
        // The same page listed twice becomes two pages, as readers show it.
        if !used.insert(id) {
            id = document.new_object_id();
        }
        for (key, value) in page.inherited {
            if !dict.has(key) {
                dict.set(key, value);
            }
        }
        if !dict.has(b"MediaBox") {
            dict.set("MediaBox", LETTER.iter().map(|&n| Object::Integer(n)).collect::<Vec<_>>());
        }
        if !dict.has(b"Resources") {
            dict.set("Resources", Dictionary::new());
        }
        dict.set("Type", Object::Name(b"Page".to_vec()));
        dict.set("Parent", Object::Reference(tree_id));
        document.objects.insert(id, Object::Dictionary(dict));
        kids.push(Object::Reference(id));
    }
    let mut tree = Dictionary::new();
    tree.set("Type", Object::Name(b"Pages".to_vec()));
    tree.set("Count", kids.len() as i64);
    tree.set("Kids", kids);
    document.objects.insert(tree_id, Object::Dictionary(tree));
    let catalog =
        document.get_object_mut(catalog_id).and_then(Object::as_dict_mut).map_err(|_| unrepairable("no catalog"))?;
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(tree_id));

    // A trailer of our own: the old one may describe cross-reference streams or revisions
    // that the clean copy no longer has.
    let mut trailer = Dictionary::new();
    trailer.set("Root", Object::Reference(catalog_id));
    if let Ok(Object::Reference(info)) = document.trailer.get(b"Info")
        && document.get_dictionary(*info).is_ok()
    {
        trailer.set("Info", Object::Reference(*info));
    }
    if let Ok(Object::Array(id)) = document.trailer.get(b"ID")
        && id.len() == 2
        && id.iter().all(|part| matches!(part, Object::String(..)))
    {
        trailer.set("ID", Object::Array(id.clone()));
    }
    document.trailer = trailer;
    document.objects.retain(|_, object| !matches!(object.type_name(), Ok(b"ObjStm" | b"XRef" | b"Linearized")));

    let present: HashSet<ObjectId> = document.objects.keys().copied().collect();
    for object in document.objects.values_mut() {
        null_dangling(object, &present);
    }
    document.prune_objects();
    document.max_id = document.objects.keys().map(|(n, _)| *n).max().unwrap_or(0);
    document.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    // A copy that cannot grow through its own update would fail at completion.
    if document.version.as_str() < "1.4" {
        document.version = "1.4".to_owned();
    }
    Ok(())
}

/// The first object reachable from `roots` (through references, not up `/Parent`) that the
/// file does not have. `checked` carries what earlier calls already followed.
fn first_missing(document: &Document, roots: &[&Object], checked: &mut HashSet<ObjectId>) -> Option<ObjectId> {
    let mut stack: Vec<&Object> = roots.to_vec();
    while let Some(object) = stack.pop() {
        match object {
            Object::Reference(id) => {
                if !checked.insert(*id) {
                    continue;
                }
                match document.objects.get(id) {
                    Some(target) => stack.push(target),
                    None => return Some(*id),
                }
            }
            Object::Array(items) => stack.extend(items.iter()),
            Object::Dictionary(dict) => {
                stack.extend(dict.iter().filter(|(k, _)| k.as_slice() != b"Parent").map(|(_, v)| v))
            }
            Object::Stream(stream) => {
                stack.extend(stream.dict.iter().filter(|(k, _)| k.as_slice() != b"Parent").map(|(_, v)| v))
            }
            _ => {}
        }
    }
    None
}

/// Sets every reference to an object the file does not have to null (as readers read it).
fn null_dangling(object: &mut Object, present: &HashSet<ObjectId>) {
    let mut stack: Vec<&mut Object> = vec![object];
    while let Some(object) = stack.pop() {
        match object {
            Object::Reference(id) if !present.contains(id) => *object = Object::Null,
            Object::Array(items) => stack.extend(items.iter_mut()),
            Object::Dictionary(dict) => stack.extend(dict.iter_mut().map(|(_, v)| v)),
            Object::Stream(stream) => stack.extend(stream.dict.iter_mut().map(|(_, v)| v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
