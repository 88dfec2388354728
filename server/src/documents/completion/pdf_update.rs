//! Incremental updates to a PDF: the bytes before stay exactly as they were, and what we add is
//! appended after them (new objects, a cross-reference section, a trailer pointing back).
//!
//! Completion uses this twice: once to draw the signers' marks onto the pages (flattening), once
//! to append the certificate pages and attach the evidence package. Because every earlier
//! revision is a byte-exact prefix of the next, anyone can cut the sealed file at a recorded
//! length and find the original upload, or the flattened document, with its recorded hash.
//!
//! What we add comes from PDFs krilla wrote (stamps, certificate pages): their objects are
//! copied across with new numbers. A stamp is one page of the stamps PDF turned into a form
//! XObject; a placement draws it onto a page with a matrix (see
//! `PageGeometry::form_matrix`). A page's own drawing is wrapped in `q … Q` first, so whatever
//! graphics state it leaves behind cannot move or recolour what we draw.

use lopdf::{Dictionary, Document, IncrementalDocument, Object, ObjectId, Stream, StringFormat};
use std::collections::BTreeMap;

/// One stamp drawn onto one page.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Index of the stamp: the page of the stamps PDF, from 0.
    pub stamp: usize,
    /// The page to draw on, from 0, counting appended pages after the existing ones.
    pub page: usize,
    /// `cm` matrix from the stamp's space (its MediaBox) into the page's user space.
    pub matrix: [f64; 6],
}

/// A file to attach to the document (an embedded file in the catalog's name tree, and an
/// associated file of the document).
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub mime: &'a str,
    pub bytes: &'a [u8],
    /// PDF date string (`D:YYYYMMDDHHmmSSZ`).
    pub modified: String,
}

/// What one incremental update adds.
#[derive(Debug, Clone, Default)]
pub struct Update<'a> {
    /// A PDF with one page per stamp.
    pub stamps: Option<&'a [u8]>,
    pub placements: Vec<Placement>,
    /// A PDF whose pages are appended at the end of the document.
    pub append: Option<&'a [u8]>,
    pub attachment: Option<Attachment<'a>>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("the PDF could not be read: {0}")]
    Read(String),
    #[error("the PDF's structure does not allow this update: {0}")]
    Structure(String),
    #[error("writing the update failed: {0}")]
    Write(String),
}

fn structure(e: impl std::fmt::Display) -> UpdateError {
    UpdateError::Structure(e.to_string())
}

/// Appends `update` to `prev` as one incremental update and returns the whole new file.
pub fn apply(prev: &[u8], update: &Update<'_>) -> Result<Vec<u8>, UpdateError> {
    apply_owned(prev.to_vec(), update)
}

/// [`apply`] on a file the caller hands over, which saves a copy of it while the update is made.
pub fn apply_owned(prev: Vec<u8>, update: &Update<'_>) -> Result<Vec<u8>, UpdateError> {
    // The update copies `prev` byte for byte and only ever rewrites dictionaries and arrays, so
    // the existing streams' contents are not kept while parsing: the memory an update costs
    // does not grow with the images and pages already in the file.
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(64 * 1024 * 1024),
        filter: Some(empty_streams),
        ..lopdf::LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(&prev, options).map_err(|e| UpdateError::Read(e.to_string()))?;
    if doc.is_encrypted() {
        return Err(UpdateError::Structure("the PDF is encrypted".to_owned()));
    }
    let capacity = prev.len() + 64 * 1024;
    let mut inc = IncrementalDocument::create_from(prev, doc);
    let mut pages: Vec<ObjectId> = inc.get_prev_documents().get_pages().into_values().collect();

    if let Some(append) = update.append {
        let source = Document::load_mem(append).map_err(|e| UpdateError::Read(format!("pages to append: {e}")))?;
        pages.extend(append_pages(&mut inc, &source)?);
    }
    if let Some(stamps) = update.stamps {
        let source = Document::load_mem(stamps).map_err(|e| UpdateError::Read(format!("stamps: {e}")))?;
        place_stamps(&mut inc, &source, &pages, &update.placements)?;
    } else if !update.placements.is_empty() {
        return Err(UpdateError::Structure("placements without stamps".to_owned()));
    }
    if let Some(attachment) = &update.attachment {
        attach(&mut inc, attachment)?;
    }
    let mut out = Vec::with_capacity(capacity);
    inc.save_to(&mut out).map_err(|e| UpdateError::Write(e.to_string()))?;
    Ok(out)
}

/// Keeps every object of the previous revision but empties ordinary streams (see [`apply`]).
fn empty_streams(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    if let Object::Stream(stream) = object
        && !stream.dict.has_type(b"ObjStm")
        && !stream.dict.has_type(b"XRef")
    {
        stream.content = Vec::new();
    }
    // lopdf keeps the object as changed in place; the returned copy is what it keeps of
    // objects inside object streams.
    Some((id, object.clone()))
}

/// Brings an object of the previous revision into the update to change it. Streams were read
/// without their contents, so one is refused rather than written back empty (the page tree,
/// pages and catalog this is used for are dictionaries and arrays).
fn clone_to_update(inc: &mut IncrementalDocument, id: ObjectId) -> Result<(), UpdateError> {
    inc.opt_clone_object_to_new_document(id).map_err(structure)?;
    if matches!(inc.new_document.get_object(id), Ok(Object::Stream(_))) {
        return Err(structure(format!("object {} {} is a stream where a dictionary belongs", id.0, id.1)));
    }
    Ok(())
}

// ---- copying objects from another document --------------------------------------------------

/// Copies `object` from `source` into the new revision, following references (each source
/// object copied once, under a new number); returns the copy. `/Parent` links are not followed:
/// a copied page is re-parented by the caller.
fn import(
    inc: &mut IncrementalDocument,
    source: &Document,
    object: &Object,
    map: &mut BTreeMap<ObjectId, ObjectId>,
) -> Result<Object, UpdateError> {
    Ok(match object {
        Object::Reference(id) => Object::Reference(import_id(inc, source, *id, map)?),
        Object::Array(items) => {
            Object::Array(items.iter().map(|o| import(inc, source, o, map)).collect::<Result<_, _>>()?)
        }
        Object::Dictionary(dict) => Object::Dictionary(import_dict(inc, source, dict, map)?),
        Object::Stream(stream) => {
            let dict = import_dict(inc, source, &stream.dict, map)?;
            Object::Stream(Stream::new(dict, stream.content.clone()).with_compression(false))
        }
        other => other.clone(),
    })
}

fn import_dict(
    inc: &mut IncrementalDocument,
    source: &Document,
    dict: &Dictionary,
    map: &mut BTreeMap<ObjectId, ObjectId>,
) -> Result<Dictionary, UpdateError> {
    let mut copy = Dictionary::new();
    for (key, value) in dict.iter() {
        if key.as_slice() == b"Parent" {
            continue;
        }
        copy.set(key.clone(), import(inc, source, value, map)?);
    }
    Ok(copy)
}

fn import_id(
    inc: &mut IncrementalDocument,
    source: &Document,
    id: ObjectId,
    map: &mut BTreeMap<ObjectId, ObjectId>,
) -> Result<ObjectId, UpdateError> {
    if let Some(new) = map.get(&id) {
        return Ok(*new);
    }
    // Reserve the number first, so cycles (a font's descendant pointing back) terminate.
    let new = inc.new_document.new_object_id();
    map.insert(id, new);
    let object = source.get_object(id).map_err(|e| structure(format!("object {id:?}: {e}")))?.clone();
    let copy = import(inc, source, &object, map)?;
    inc.new_document.objects.insert(new, copy);
    Ok(new)
}

// ---- appending pages ------------------------------------------------------------------------

/// Copies every page of `source` to the end of the document; returns the new pages' numbers.
fn append_pages(inc: &mut IncrementalDocument, source: &Document) -> Result<Vec<ObjectId>, UpdateError> {
    let root_pages = inc
        .get_prev_documents()
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|e| structure(format!("no page tree: {e}")))?;
    let mut map = BTreeMap::new();
    let mut added = Vec::new();
    for (_, page_id) in source.get_pages() {
        let page = source.get_dictionary(page_id).map_err(structure)?;
        let mut copy = import_dict(inc, source, page, &mut map)?;
        copy.set("Parent", Object::Reference(root_pages));
        // Attributes a page inherits from the tree would otherwise come from the document's
        // root: a turned or cropped original must not turn or crop the appended pages.
        copy.set("Rotate", 0);
        if let Ok(media) = copy.get(b"MediaBox").cloned() {
            copy.set("CropBox", media);
        }
        if !copy.has(b"Resources") {
            copy.set("Resources", Dictionary::new());
        }
        added.push(inc.new_document.add_object(copy));
    }
    clone_to_update(inc, root_pages)?;
    let kids_ref = {
        let root = inc.new_document.get_dictionary(root_pages).map_err(structure)?;
        root.get(b"Kids").and_then(Object::as_reference).ok()
    };
    let refs = added.iter().map(|id| Object::Reference(*id));
    match kids_ref {
        Some(kids_id) => {
            clone_to_update(inc, kids_id)?;
            inc.new_document.get_object_mut(kids_id).and_then(Object::as_array_mut).map_err(structure)?.extend(refs);
        }
        None => {
            let root = inc.new_document.get_dictionary_mut(root_pages).map_err(structure)?;
            match root.get_mut(b"Kids") {
                Ok(Object::Array(kids)) => kids.extend(refs),
                _ => return Err(structure("the page tree's root has no Kids array")),
            }
        }
    }
    let root = inc.new_document.get_dictionary_mut(root_pages).map_err(structure)?;
    let count = root.get(b"Count").and_then(Object::as_i64).map_err(structure)?;
    root.set("Count", count + added.len() as i64);
    Ok(added)
}

// ---- stamps ---------------------------------------------------------------------------------

/// Turns each page of `source` into a form XObject and draws the placements.
fn place_stamps(
    inc: &mut IncrementalDocument,
    source: &Document,
    pages: &[ObjectId],
    placements: &[Placement],
) -> Result<(), UpdateError> {
    let stamp_pages: Vec<ObjectId> = source.get_pages().into_values().collect();
    let mut map = BTreeMap::new();
    let mut forms: BTreeMap<usize, ObjectId> = BTreeMap::new();
    let mut by_page: BTreeMap<usize, Vec<&Placement>> = BTreeMap::new();
    for p in placements {
        if p.page >= pages.len() {
            return Err(structure(format!("page {} does not exist", p.page + 1)));
        }
        if p.matrix.iter().any(|v| !v.is_finite()) {
            return Err(structure("a placement's matrix is not finite"));
        }
        by_page.entry(p.page).or_default().push(p);
        if let std::collections::btree_map::Entry::Vacant(slot) = forms.entry(p.stamp) {
            let page_id =
                *stamp_pages.get(p.stamp).ok_or_else(|| structure(format!("stamp {} does not exist", p.stamp)))?;
            slot.insert(form_of(inc, source, page_id, &mut map)?);
        }
    }
    for (page_index, placed) in by_page {
        let page_id = pages[page_index];
        let mut drawing = String::from("Q\n");
        for p in placed {
            let name = format!("AttestaStamp{}", p.stamp);
            inc.add_xobject(page_id, name.as_bytes(), forms[&p.stamp]).map_err(structure)?;
            let m = p.matrix;
            drawing.push_str(&format!(
                "q {} {} {} {} {} {} cm /{name} Do Q\n",
                num(m[0]),
                num(m[1]),
                num(m[2]),
                num(m[3]),
                num(m[4]),
                num(m[5])
            ));
        }
        wrap_contents(inc, page_id, drawing.into_bytes())?;
    }
    Ok(())
}

/// A number as a PDF content stream writes it: fixed point, no exponent.
fn num(v: f64) -> String {
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

/// A form XObject drawing exactly what `page_id` of `source` draws.
fn form_of(
    inc: &mut IncrementalDocument,
    source: &Document,
    page_id: ObjectId,
    map: &mut BTreeMap<ObjectId, ObjectId>,
) -> Result<ObjectId, UpdateError> {
    let page = source.get_dictionary(page_id).map_err(structure)?;
    let bbox = page.get(b"MediaBox").map_err(|_| structure("a stamp has no MediaBox"))?.clone();
    let content = source.get_page_content(page_id);
    let resources = match page.get(b"Resources") {
        Ok(r) => import(inc, source, r, map)?,
        Err(_) => Object::Dictionary(Dictionary::new()),
    };
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Form".to_vec()));
    dict.set("BBox", bbox);
    dict.set("Resources", resources);
    let mut stream = Stream::new(dict, content);
    stream.compress().map_err(structure)?;
    Ok(inc.new_document.add_object(stream))
}

/// Makes the page's contents `q`, what it drew, then `tail` (which starts with `Q`).
fn wrap_contents(inc: &mut IncrementalDocument, page_id: ObjectId, tail: Vec<u8>) -> Result<(), UpdateError> {
    clone_to_update(inc, page_id)?;
    let existing = {
        let page = inc.new_document.get_dictionary(page_id).map_err(structure)?;
        page.get(b"Contents").ok().cloned()
    };
    let mut parts: Vec<Object> = match existing {
        None => Vec::new(),
        Some(Object::Array(items)) => items,
        Some(Object::Reference(id)) => {
            // A reference to an array of streams, or to the one stream.
            let target = inc
                .new_document
                .get_object(id)
                .or_else(|_| inc.get_prev_documents().get_object(id))
                .map_err(structure)?;
            match target {
                Object::Array(items) => items.clone(),
                _ => vec![Object::Reference(id)],
            }
        }
        Some(other) => return Err(structure(format!("unexpected /Contents {other:?}"))),
    };
    let open = inc.new_document.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
    let mut tail = Stream::new(Dictionary::new(), tail);
    tail.compress().map_err(structure)?;
    let close = inc.new_document.add_object(tail);
    parts.insert(0, Object::Reference(open));
    parts.push(Object::Reference(close));
    let page = inc.new_document.get_dictionary_mut(page_id).map_err(structure)?;
    page.set("Contents", Object::Array(parts));
    Ok(())
}

// ---- attachments ----------------------------------------------------------------------------

/// Embeds the file in the catalog's `/EmbeddedFiles` name tree and lists it in `/AF`.
fn attach(inc: &mut IncrementalDocument, a: &Attachment<'_>) -> Result<(), UpdateError> {
    let mut params = Dictionary::new();
    params.set("Size", a.bytes.len() as i64);
    params.set("ModDate", Object::string_literal(a.modified.as_bytes()));
    let mut file_dict = Dictionary::new();
    file_dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
    file_dict.set("Subtype", Object::Name(a.mime.as_bytes().to_vec()));
    file_dict.set("Params", params);
    let mut stream = Stream::new(file_dict, a.bytes.to_vec());
    stream.compress().map_err(structure)?;
    let file_id = inc.new_document.add_object(stream);

    let mut ef = Dictionary::new();
    ef.set("F", Object::Reference(file_id));
    ef.set("UF", Object::Reference(file_id));
    let mut spec = Dictionary::new();
    spec.set("Type", Object::Name(b"Filespec".to_vec()));
    spec.set("F", text_string(a.name));
    spec.set("UF", text_string(a.name));
    spec.set("Desc", text_string(a.description));
    spec.set("AFRelationship", Object::Name(b"Supplement".to_vec()));
    spec.set("EF", ef);
    let spec_id = inc.new_document.add_object(spec);

    let catalog_id = inc
        .get_prev_documents()
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|e| structure(format!("no catalog: {e}")))?;
    clone_to_update(inc, catalog_id)?;

    // The existing entries, from a flat tree or one with kids, to rewrite as one sorted leaf.
    let mut entries: Vec<(Vec<u8>, Object)> = Vec::new();
    let names = {
        let catalog = inc.new_document.get_dictionary(catalog_id).map_err(structure)?;
        catalog.get(b"Names").ok().cloned()
    };
    let mut names_dict = match names {
        Some(Object::Dictionary(d)) => d,
        Some(Object::Reference(id)) => inc.get_prev_documents().get_dictionary(id).map_err(structure)?.clone(),
        _ => Dictionary::new(),
    };
    if let Ok(tree) = names_dict.get(b"EmbeddedFiles") {
        collect_name_tree(inc.get_prev_documents(), tree, &mut entries, 0)?;
    }
    entries.retain(|(key, _)| key.as_slice() != a.name.as_bytes());
    entries.push((a.name.as_bytes().to_vec(), Object::Reference(spec_id)));
    entries.sort_by(|x, y| x.0.cmp(&y.0));
    let flat: Vec<Object> =
        entries.into_iter().flat_map(|(key, value)| [Object::String(key, StringFormat::Literal), value]).collect();
    let mut tree = Dictionary::new();
    tree.set("Names", Object::Array(flat));
    names_dict.set("EmbeddedFiles", tree);

    let catalog = inc.new_document.get_dictionary_mut(catalog_id).map_err(structure)?;
    catalog.set("Names", names_dict);
    let mut af = match catalog.get(b"AF") {
        Ok(Object::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    af.push(Object::Reference(spec_id));
    catalog.set("AF", Object::Array(af));
    Ok(())
}

/// Reads every (key, value) pair of a name tree.
fn collect_name_tree(
    doc: &Document,
    node: &Object,
    out: &mut Vec<(Vec<u8>, Object)>,
    depth: usize,
) -> Result<(), UpdateError> {
    if depth > 32 {
        return Err(structure("the embedded files tree is too deep"));
    }
    let dict = match node {
        Object::Reference(id) => doc.get_dictionary(*id).map_err(structure)?,
        Object::Dictionary(d) => d,
        _ => return Ok(()),
    };
    if let Ok(Object::Array(pairs)) = dict.get(b"Names").and_then(|o| deref(doc, o)) {
        for pair in pairs.chunks(2) {
            if let [Object::String(key, _), value] = pair {
                out.push((key.clone(), value.clone()));
            }
        }
    }
    if let Ok(Object::Array(kids)) = dict.get(b"Kids").and_then(|o| deref(doc, o)) {
        for kid in kids {
            collect_name_tree(doc, kid, out, depth + 1)?;
        }
    }
    Ok(())
}

fn deref<'a>(doc: &'a Document, object: &'a Object) -> lopdf::Result<&'a Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id),
        other => Ok(other),
    }
}

/// A PDF text string: PDFDocEncoding for ASCII, else UTF-16BE with a byte order mark.
fn text_string(text: &str) -> Object {
    if text.is_ascii() {
        Object::string_literal(text)
    } else {
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

#[cfg(test)]
mod tests;
