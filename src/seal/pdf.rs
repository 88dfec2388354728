//! Finding the signature dictionaries of a PDF and checking what a signature's `/ByteRange`
//! claims against the file's bytes.
//!
//! A PDF signature signs two byte ranges, everything but the hole its own `/Contents` fills. The
//! checks here make sure the hole is exactly that hex string (nothing else escapes the
//! signature) and whether the ranges reach the end of the file (nothing was appended after).

use lopdf::{Document, Object, ObjectId};
use std::collections::HashMap;

/// `/SubFilter` of a PAdES signature.
pub const SUBFILTER_CADES: &[u8] = b"ETSI.CAdES.detached";

/// One signature dictionary, as the verifier needs it.
#[derive(Debug, Clone)]
pub struct SignatureDictionary {
    /// The name (`/T`) of the field whose value it is.
    pub field_name: Option<String>,
    pub sub_filter: Vec<u8>,
    /// `/ByteRange` as written; validated by [`check_byte_range`].
    pub byte_range: Vec<i64>,
    /// `/Contents`, decoded: the CMS structure followed by zero padding.
    pub contents: Vec<u8>,
    /// `/M`, the signing time the signer claims, as written.
    pub signing_time: Option<Vec<u8>>,
    /// `/Type /DocTimeStamp` rather than a signature.
    pub document_timestamp: bool,
}

impl SignatureDictionary {
    /// Where the signed ranges end; the signature with the largest is the last one applied.
    fn end(&self) -> i64 {
        match self.byte_range.as_slice() {
            [_, _, start, len] => start.saturating_add(*len),
            _ => 0,
        }
    }
}

/// Every signature dictionary in `document`, the last one applied (covering the most) last.
pub fn signature_dictionaries(document: &Document) -> Vec<SignatureDictionary> {
    let mut names: HashMap<ObjectId, String> = HashMap::new();
    let mut inline = Vec::new();
    for object in document.objects.values() {
        let Ok(dict) = object.as_dict() else { continue };
        if !dict.get(b"FT").and_then(Object::as_name).is_ok_and(|n| n == b"Sig") {
            continue;
        }
        let name = dict.get(b"T").and_then(Object::as_str).ok().map(text_string);
        match dict.get(b"V") {
            Ok(Object::Reference(id)) => {
                if let Some(name) = name {
                    names.insert(*id, name);
                }
            }
            Ok(Object::Dictionary(value)) => inline.extend(read(value, name)),
            _ => {}
        }
    }
    let mut found: Vec<SignatureDictionary> = document
        .objects
        .iter()
        .filter_map(|(id, object)| read(object.as_dict().ok()?, names.get(id).cloned()))
        .chain(inline)
        .collect();
    found.sort_by_key(SignatureDictionary::end);
    found
}

fn read(dict: &lopdf::Dictionary, field_name: Option<String>) -> Option<SignatureDictionary> {
    let kind = dict.get(b"Type").and_then(Object::as_name).ok();
    let document_timestamp = kind == Some(b"DocTimeStamp".as_slice());
    if !(kind == Some(b"Sig".as_slice()) || document_timestamp || kind.is_none() && dict.has(b"ByteRange")) {
        return None;
    }
    let byte_range = dict.get(b"ByteRange").and_then(Object::as_array).ok()?;
    let contents = dict.get(b"Contents").and_then(Object::as_str).ok()?;
    Some(SignatureDictionary {
        field_name,
        sub_filter: dict.get(b"SubFilter").and_then(Object::as_name).map(<[u8]>::to_vec).unwrap_or_default(),
        byte_range: byte_range.iter().map(|o| o.as_i64().unwrap_or(-1)).collect(),
        contents: contents.to_vec(),
        signing_time: dict.get(b"M").and_then(Object::as_str).ok().map(<[u8]>::to_vec),
        document_timestamp,
    })
}

/// A PDF text string: UTF-16BE after a byte-order mark, else (near enough) Latin-1.
fn text_string(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => {
            let units: Vec<u16> = utf16.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        None => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A `/ByteRange` that passed [`check_byte_range`]: `[0, hole start, hole end, rest length]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub ranges: [u64; 4],
}

impl ByteRange {
    /// The two signed slices of `pdf`.
    pub fn signed_parts<'a>(&self, pdf: &'a [u8]) -> Option<[&'a [u8]; 2]> {
        let [a, b, c, d] = self.ranges.map(|v| usize::try_from(v).unwrap_or(usize::MAX));
        Some([pdf.get(a..a.checked_add(b)?)?, pdf.get(c..c.checked_add(d)?)?])
    }

    /// Where the signed ranges end; the file's length when the signature covers all of it.
    pub fn end(&self) -> u64 {
        self.ranges[2].saturating_add(self.ranges[3])
    }
}

/// Checks the shape of a signature's `/ByteRange` against `pdf`: four non-negative numbers, the
/// first range starting at 0, the ranges in the file and not overlapping, and the hole between
/// them exactly the `<hex>` string that is the signature's `/Contents`.
pub fn check_byte_range(pdf: &[u8], signature: &SignatureDictionary) -> Result<ByteRange, String> {
    let ranges: [u64; 4] = match signature.byte_range.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d].map(|v| u64::try_from(v).unwrap_or(u64::MAX)),
        other => return Err(format!("/ByteRange has {} numbers, not 4", other.len())),
    };
    if ranges.contains(&u64::MAX) {
        return Err("/ByteRange holds a negative or non-integer value".to_owned());
    }
    let [start, first_len, second_start, second_len] = ranges;
    if start != 0 {
        return Err(format!("the signed ranges start at byte {start}, not at the beginning of the file"));
    }
    if second_start <= first_len {
        return Err("the two signed ranges overlap".to_owned());
    }
    let file_len = pdf.len() as u64;
    if second_start.saturating_add(second_len) > file_len {
        return Err(format!(
            "the signed ranges end at byte {}, past the end of the file ({file_len} bytes): it was truncated",
            second_start.saturating_add(second_len)
        ));
    }
    let hole_start = usize::try_from(first_len).map_err(|_| "the hole is out of range".to_owned())?;
    let hole_end = usize::try_from(second_start).map_err(|_| "the hole is out of range".to_owned())?;
    let hole = &pdf[hole_start..hole_end];
    let hex = match hole {
        [b'<', hex @ .., b'>'] if hex.iter().all(u8::is_ascii_hexdigit) && hex.len() % 2 == 0 => hex,
        _ => {
            return Err(format!(
                "the unsigned hole (bytes {hole_start} to {hole_end}) is not exactly one hex string: \
                 something besides the signature is left out"
            ));
        }
    };
    if !hex_equals(hex, &signature.contents) {
        return Err("the unsigned hole is not this signature's /Contents".to_owned());
    }
    Ok(ByteRange { ranges })
}

fn hex_equals(hex: &[u8], bytes: &[u8]) -> bool {
    let value = |d: u8| match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d.wrapping_sub(b'A').wrapping_add(10),
    };
    hex.len() == bytes.len() * 2
        && hex.chunks_exact(2).zip(bytes).all(|(pair, &b)| value(pair[0]) << 4 | value(pair[1]) == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(byte_range: Vec<i64>, contents: &[u8]) -> SignatureDictionary {
        SignatureDictionary {
            field_name: None,
            sub_filter: SUBFILTER_CADES.to_vec(),
            byte_range,
            contents: contents.to_vec(),
            signing_time: None,
            document_timestamp: false,
        }
    }

    /// `prefix<hex>suffix`, and the ByteRange that signs around the hex string.
    fn file(prefix: &str, contents: &[u8], suffix: &str) -> (Vec<u8>, Vec<i64>) {
        let hex: String = contents.iter().map(|b| format!("{b:02X}")).collect();
        let pdf = format!("{prefix}<{hex}>{suffix}").into_bytes();
        let hole_end = prefix.len() + hex.len() + 2;
        (pdf, vec![0, prefix.len() as i64, hole_end as i64, suffix.len() as i64])
    }

    #[test]
    fn a_hole_that_is_exactly_the_contents_passes() {
        let (pdf, range) = file("%PDF-1.7 /Contents", &[0x30, 0x82, 0, 0], " >> trailer");
        let checked = check_byte_range(&pdf, &signature(range, &[0x30, 0x82, 0, 0])).expect("valid");
        assert_eq!(checked.end(), pdf.len() as u64);
        let [first, second] = checked.signed_parts(&pdf).expect("in the file");
        assert_eq!(first, b"%PDF-1.7 /Contents");
        assert_eq!(second, b" >> trailer");
    }

    #[test]
    fn malformed_byte_ranges_are_refused_with_a_reason() {
        let contents = [1u8, 2];
        let (pdf, good) = file("head", &contents, "tail");
        let check = |range: Vec<i64>| check_byte_range(&pdf, &signature(range, &contents)).expect_err("refused");
        assert!(check(vec![0, 4, 10]).contains("3 numbers"));
        assert!(check(vec![1, 3, 10, 4]).contains("start at byte 1"));
        assert!(check(vec![0, 4, 4, 10]).contains("overlap"));
        assert!(check(vec![0, -4, 10, 4]).contains("negative"));
        assert!(check(vec![0, 4, 10, 5]).contains("truncated"));
        // A hole one byte wider than the hex string leaves a byte of the file unsigned.
        assert!(check(vec![0, 3, 10, 4]).contains("not exactly one hex string"));
        assert!(check(vec![0, 4, 11, 3]).contains("not exactly one hex string"));
        check_byte_range(&pdf, &signature(good, &contents)).expect("the real range passes");
    }

    #[test]
    fn a_hole_holding_other_bytes_than_the_contents_is_refused() {
        let (pdf, range) = file("head", &[1, 2], "tail");
        let err = check_byte_range(&pdf, &signature(range, &[1, 3])).expect_err("refused");
        assert!(err.contains("not this signature's /Contents"), "{err}");
    }

    #[test]
    fn utf16_field_names_are_decoded() {
        assert_eq!(text_string(b"\xFE\xFF\x00S\x00e\x00a\x00l"), "Seal");
        assert_eq!(text_string(b"Seal1"), "Seal1");
    }
}
