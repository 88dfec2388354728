//! Format, property and key-management tests for `envelope`. Deterministic: every RNG is a seeded ChaCha20.

use std::collections::HashSet;
use std::time::Instant;

use aes_gcm::KeyInit;
use aes_gcm::aead::Payload;
use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::*;

const C: usize = CHUNK_SIZE;
/// Ciphertext length of a full chunk at the default chunk size.
const F: usize = C + TAG_LEN;
/// Small chunk size used where many chunk boundaries per test case matter more than the production size.
const SMALL_LOG2: u8 = 10;
const SMALL: usize = 1 << SMALL_LOG2;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rng(seed).fill_bytes(&mut data);
    data
}

/// Splits `data` at the given offsets (any order, duplicates allowed, so empty pieces occur too).
fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&cut| cut.min(data.len())).collect();
    cuts.sort_unstable();
    let mut result = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        result.push(&data[start..cut]);
        start = cut;
    }
    result.push(&data[start..]);
    result
}

fn encrypt_in_pieces(key: &DataKey, chunk_log2: u8, plaintext: &[u8], cuts: &[usize], seed: u64) -> Vec<u8> {
    let mut enc = stream::Encryptor::with_chunk_size_log2(key, chunk_log2, &mut rng(seed));
    let mut blob = Vec::new();
    for piece in pieces(plaintext, cuts) {
        enc.update(piece, &mut blob).expect("test value");
    }
    enc.finish(&mut blob).expect("test value");
    blob
}

/// Decrypts piecewise. Also checks the streaming contract: every call's output is authentic, so all output is a
/// prefix of `expected` (when given), even when the blob turns out to be bad.
fn decrypt_in_pieces(
    key: &DataKey,
    blob: &[u8],
    cuts: &[usize],
    expected: Option<&[u8]>,
) -> Result<Vec<u8>, DecryptError> {
    let mut dec = Decryptor::new(key);
    let mut out = Vec::new();
    let mut result = Ok(());
    for piece in pieces(blob, cuts) {
        result = dec.update(piece, &mut out);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = dec.finish(&mut out);
    }
    if let Some(expected) = expected {
        assert!(expected.starts_with(&out), "decryptor released plaintext that is not a prefix of the original");
    }
    result.map(|()| out)
}

fn pt_special_offsets() -> Vec<usize> {
    vec![0, 1, C - 1, C, C + 1, 2 * C - 1, 2 * C, 2 * C + 1, 3 * C]
}

fn ct_special_offsets() -> Vec<usize> {
    let h = HEADER_LEN;
    vec![0, 1, 7, 8, h - 1, h, h + 1, h + F - 1, h + F, h + F + 1, h + 2 * F - 1, h + 2 * F, h + 2 * F + 1]
}

fn cut_strategy(special: Vec<usize>) -> impl Strategy<Value = (Vec<Index>, Vec<usize>)> {
    (prop::collection::vec(any::<Index>(), 0..8), prop::collection::vec(select(special), 0..4))
}

fn cuts_for(len: usize, (random, special): &(Vec<Index>, Vec<usize>)) -> Vec<usize> {
    random.iter().map(|index| index.index(len + 1)).chain(special.iter().copied()).collect()
}

fn length_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![select(vec![0, 1, 15, 16, 17, C - 1, C, C + 1, 2 * C - 1, 2 * C, 2 * C + 1, 3 * C]), 0..4 * C + 100,]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Production chunk size, lengths and split points concentrated at chunk boundaries on both sides.
    #[test]
    fn round_trip_default_chunk_size(
        len in length_strategy(),
        seed in any::<u64>(),
        enc_cuts in cut_strategy(pt_special_offsets()),
        dec_cuts in cut_strategy(ct_special_offsets()),
    ) {
        let key = DataKey::generate(&mut rng(seed));
        let plaintext = random_bytes(len, seed ^ 1);
        let blob = encrypt_in_pieces(&key, 16, &plaintext, &cuts_for(len, &enc_cuts), seed ^ 2);
        prop_assert_eq!(Some(blob.len() as u64), ciphertext_len(len as u64));
        prop_assert_eq!(plaintext_len(blob.len() as u64), Some(len as u64));
        let decrypted = decrypt_in_pieces(&key, &blob, &cuts_for(blob.len(), &dec_cuts), Some(&plaintext)).expect("test value");
        prop_assert!(decrypted == plaintext);
        prop_assert!(decrypt_all(&key, &blob).expect("test value") == plaintext);
    }

    #[test]
    fn bit_flip_detected_default_chunk_size(
        len in length_strategy(),
        seed in any::<u64>(),
        position in any::<Index>(),
        bit in 0u8..8,
        dec_cuts in cut_strategy(ct_special_offsets()),
    ) {
        let key = DataKey::generate(&mut rng(seed));
        let plaintext = random_bytes(len, seed ^ 1);
        let mut blob = encrypt_all(&key, &plaintext, &mut rng(seed ^ 2)).expect("test value");
        let position = position.index(blob.len());
        blob[position] ^= 1 << bit;
        prop_assert!(decrypt_all(&key, &blob).is_err());
        prop_assert!(decrypt_in_pieces(&key, &blob, &cuts_for(blob.len(), &dec_cuts), Some(&plaintext)).is_err());
    }

    #[test]
    fn truncation_detected_default_chunk_size(len in length_strategy(), seed in any::<u64>(), cut in any::<Index>()) {
        let key = DataKey::generate(&mut rng(seed));
        let plaintext = random_bytes(len, seed ^ 1);
        let blob = encrypt_all(&key, &plaintext, &mut rng(seed ^ 2)).expect("test value");
        let cut = cut.index(blob.len());
        prop_assert!(decrypt_all(&key, &blob[..cut]).is_err());
        prop_assert!(decrypt_in_pieces(&key, &blob[..cut], &[cut / 2], Some(&plaintext)).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary data and arbitrary split points with 1 KiB chunks, so most cases span several chunks.
    #[test]
    fn round_trip_small_chunks(
        plaintext in prop::collection::vec(any::<u8>(), 0..6 * SMALL),
        seed in any::<u64>(),
        enc_cuts in prop::collection::vec(any::<Index>(), 0..10),
        dec_cuts in prop::collection::vec(any::<Index>(), 0..10),
    ) {
        let key = DataKey::generate(&mut rng(seed));
        let enc_cuts: Vec<usize> = enc_cuts.iter().map(|i| i.index(plaintext.len() + 1)).collect();
        let blob = encrypt_in_pieces(&key, SMALL_LOG2, &plaintext, &enc_cuts, seed);
        prop_assert_eq!(Some(blob.len() as u64), stream_len_small(plaintext.len()));
        let dec_cuts: Vec<usize> = dec_cuts.iter().map(|i| i.index(blob.len() + 1)).collect();
        prop_assert!(decrypt_in_pieces(&key, &blob, &dec_cuts, Some(&plaintext)).expect("test value") == plaintext);
    }

    /// Any single flipped bit anywhere (header or body) is an error; never wrong plaintext.
    #[test]
    fn bit_flip_detected_small_chunks(
        plaintext in prop::collection::vec(any::<u8>(), 0..4 * SMALL),
        seed in any::<u64>(),
        position in any::<Index>(),
        bit in 0u8..8,
        dec_cuts in prop::collection::vec(any::<Index>(), 0..6),
    ) {
        let key = DataKey::generate(&mut rng(seed));
        let mut blob = encrypt_in_pieces(&key, SMALL_LOG2, &plaintext, &[], seed);
        let position = position.index(blob.len());
        blob[position] ^= 1 << bit;
        let dec_cuts: Vec<usize> = dec_cuts.iter().map(|i| i.index(blob.len() + 1)).collect();
        prop_assert!(decrypt_in_pieces(&key, &blob, &dec_cuts, Some(&plaintext)).is_err());
    }

    #[test]
    fn truncation_and_appending_detected_small_chunks(
        plaintext in prop::collection::vec(any::<u8>(), 0..4 * SMALL),
        seed in any::<u64>(),
        cut in any::<Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..2 * SMALL),
    ) {
        let key = DataKey::generate(&mut rng(seed));
        let blob = encrypt_in_pieces(&key, SMALL_LOG2, &plaintext, &[], seed);
        let cut = cut.index(blob.len());
        prop_assert!(decrypt_in_pieces(&key, &blob[..cut], &[], Some(&plaintext)).is_err());
        let appended = [&blob[..], &extra[..]].concat();
        prop_assert!(decrypt_in_pieces(&key, &appended, &[], Some(&plaintext)).is_err());
    }

    #[test]
    fn other_data_key_fails(plaintext in prop::collection::vec(any::<u8>(), 0..3 * SMALL), seed in any::<u64>()) {
        let mut rng = rng(seed);
        let (key_a, key_b) = (DataKey::generate(&mut rng), DataKey::generate(&mut rng));
        let blob = encrypt_in_pieces(&key_a, SMALL_LOG2, &plaintext, &[], seed);
        prop_assert_eq!(decrypt_all(&key_b, &blob), Err(DecryptError::Authentication { chunk: 0 }));
    }

    #[test]
    fn length_functions_are_inverse(len in prop_oneof![0u64..10 * C as u64, any::<u64>()]) {
        match ciphertext_len(len) {
            Some(blob_len) => prop_assert_eq!(plaintext_len(blob_len), Some(len)),
            None => prop_assert!(len >= (1u64 << 32) * C as u64),
        }
    }

    #[test]
    fn wrap_round_trip(seed in any::<u64>(), aad in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut rng = rng(seed);
        let master = MasterKey::generate(&mut rng);
        let data_key = DataKey::generate(&mut rng);
        let wrapped = master.wrap_key(&data_key, &aad, &mut rng).expect("test value");
        let text = wrapped.to_string();
        prop_assert_eq!(text.len(), 100);
        let parsed: WrappedKey = text.parse().expect("test value");
        prop_assert_eq!(&parsed, &wrapped);
        let unwrapped = master.unwrap_key(&parsed, &aad).expect("test value");
        prop_assert_eq!(unwrapped.bytes(), data_key.bytes());
    }

    /// Editing any single character of a stored wrapped key never yields a data key.
    #[test]
    fn wrapped_key_edits_never_unwrap(seed in any::<u64>(), position in any::<Index>(), replacement in any::<char>()) {
        let mut rng = rng(seed);
        let master = MasterKey::generate(&mut rng);
        let data_key = DataKey::generate(&mut rng);
        let text = master.wrap_key(&data_key, b"blob/1", &mut rng).expect("test value").to_string();
        let position = position.index(text.len());
        prop_assume!(text.as_bytes()[position] as char != replacement);
        let mut edited: String = text[..position].to_owned();
        edited.push(replacement);
        edited.push_str(&text[position + 1..]);
        if let Ok(wrapped) = edited.parse::<WrappedKey>() {
            prop_assert!(master.unwrap_key(&wrapped, b"blob/1").is_err());
        }
    }
}

/// Blob length for 1 KiB chunks (the general formula, checked independently of the production constant).
fn stream_len_small(len: usize) -> Option<u64> {
    Some((HEADER_LEN + len + (len / SMALL + 1) * TAG_LEN) as u64)
}

#[test]
fn empty_plaintext_is_one_empty_final_chunk() {
    let key = DataKey::generate(&mut rng(3));
    let blob = encrypt_all(&key, b"", &mut rng(4)).expect("test value");
    assert_eq!(blob.len(), HEADER_LEN + TAG_LEN);
    assert_eq!(ciphertext_len(0), Some(blob.len() as u64));
    assert_eq!(decrypt_all(&key, &blob).expect("test value"), b"");
    assert_eq!(decrypt_all(&key, &blob[..HEADER_LEN]), Err(DecryptError::Truncated));
    assert_eq!(decrypt_all(&key, b""), Err(DecryptError::Truncated));
}

#[test]
fn header_layout() {
    let key = DataKey::generate(&mut rng(5));
    let blob = encrypt_all(&key, b"hello", &mut rng(6)).expect("test value");
    assert_eq!(&blob[..8], b"ATTESTA\0");
    assert_eq!(blob[8], 1, "version");
    assert_eq!(blob[9], 16, "chunk_size_log2");
    assert_eq!(HEADER_LEN, 17);
    assert_eq!(ciphertext_len(C as u64), Some((HEADER_LEN + F + TAG_LEN) as u64));
    assert_eq!(ciphertext_len(u64::MAX), None);
    // Lengths whose final chunk could not even hold a tag are impossible.
    assert_eq!(plaintext_len((HEADER_LEN + F + 15) as u64), None);
    assert_eq!(plaintext_len(16), None);
}

#[test]
fn header_errors() {
    let key = DataKey::generate(&mut rng(7));
    let blob = encrypt_all(&key, b"hello", &mut rng(8)).expect("test value");
    // Not a blob at all: rejected as soon as the first byte differs, even mid-header.
    let mut dec = Decryptor::new(&key);
    assert_eq!(dec.update(b"%PDF", &mut Vec::new()), Err(DecryptError::BadMagic));
    assert_eq!(dec.update(&blob, &mut Vec::new()), Err(DecryptError::BadMagic), "errors are sticky");
    assert_eq!(decrypt_all(&key, b"%PDF-1.7 plain file stored before encryption"), Err(DecryptError::BadMagic));

    let mut newer = blob.clone();
    newer[8] = 2;
    assert_eq!(decrypt_all(&key, &newer), Err(DecryptError::UnsupportedVersion(2)));
    let mut huge_chunks = blob.clone();
    huge_chunks[9] = 40;
    assert_eq!(decrypt_all(&key, &huge_chunks), Err(DecryptError::UnsupportedChunkSize(40)));
    // A chunk size that is valid but not the one the blob was written with: the header is authenticated.
    let mut other_chunks = blob.clone();
    other_chunks[9] = 12;
    assert_eq!(decrypt_all(&key, &other_chunks), Err(DecryptError::Authentication { chunk: 0 }));
    let mut other_prefix = blob;
    other_prefix[HEADER_LEN - 1] ^= 1;
    assert_eq!(decrypt_all(&key, &other_prefix), Err(DecryptError::Authentication { chunk: 0 }));
}

/// Exhaustive over a 3-chunk blob: every truncation point and every single-bit flip fails.
#[test]
fn every_truncation_and_bit_flip_fails() {
    let key = DataKey::generate(&mut rng(9));
    let plaintext = random_bytes(2 * SMALL + 100, 10);
    let blob = encrypt_in_pieces(&key, SMALL_LOG2, &plaintext, &[], 11);
    assert_eq!(decrypt_in_pieces(&key, &blob, &[], None).expect("test value"), plaintext);
    for cut in 0..blob.len() {
        assert!(decrypt_in_pieces(&key, &blob[..cut], &[], Some(&plaintext)).is_err(), "truncated at {cut}");
    }
    let mut tampered = blob.clone();
    for position in 0..blob.len() {
        for bit in 0..8 {
            tampered[position] ^= 1 << bit;
            assert!(decrypt_in_pieces(&key, &tampered, &[], Some(&plaintext)).is_err(), "bit {bit} of byte {position}");
            tampered[position] ^= 1 << bit;
        }
    }
}

#[test]
fn chunk_reordering_dropping_duplicating_and_splicing_fail() {
    let key = DataKey::generate(&mut rng(12));
    let plaintext = random_bytes(4 * SMALL + 10, 13);
    let blob = encrypt_in_pieces(&key, SMALL_LOG2, &plaintext, &[], 14);
    let full = SMALL + TAG_LEN;
    let header = &blob[..HEADER_LEN];
    let chunks: Vec<&[u8]> = blob[HEADER_LEN..].chunks(full).collect();
    assert_eq!(chunks.len(), 5);
    let assemble = |order: &[usize]| -> Vec<u8> {
        let mut out = header.to_vec();
        for &i in order {
            out.extend_from_slice(chunks[i]);
        }
        out
    };
    assert_eq!(decrypt_in_pieces(&key, &assemble(&[0, 1, 2, 3, 4]), &[], None).expect("test value"), plaintext);
    for i in 0..4 {
        for j in 0..4 {
            if i != j {
                let mut order = vec![0, 1, 2, 3, 4];
                order.swap(i, j);
                let result = decrypt_in_pieces(&key, &assemble(&order), &[], Some(&plaintext));
                assert_eq!(result, Err(DecryptError::Authentication { chunk: i.min(j) as u32 }), "swap {i} {j}");
            }
        }
        let mut dropped: Vec<usize> = (0..5).collect();
        dropped.remove(i);
        assert!(decrypt_in_pieces(&key, &assemble(&dropped), &[], Some(&plaintext)).is_err(), "drop {i}");
        let mut duplicated: Vec<usize> = (0..5).collect();
        duplicated.insert(i, i);
        assert!(decrypt_in_pieces(&key, &assemble(&duplicated), &[], Some(&plaintext)).is_err(), "dup {i}");
    }
    // Dropping the final chunk leaves a blob ending on a chunk boundary.
    assert_eq!(decrypt_in_pieces(&key, &assemble(&[0, 1, 2, 3]), &[], Some(&plaintext)), Err(DecryptError::Truncated));

    // A chunk from another blob under the same data key (another nonce prefix) does not fit in, nor does a header.
    let other = encrypt_in_pieces(&key, SMALL_LOG2, &plaintext, &[], 15);
    let mut spliced = blob.clone();
    spliced[HEADER_LEN + full..HEADER_LEN + 2 * full].copy_from_slice(&other[HEADER_LEN + full..HEADER_LEN + 2 * full]);
    assert_eq!(decrypt_all(&key, &spliced), Err(DecryptError::Authentication { chunk: 1 }));
    let mut other_header = blob.clone();
    other_header[..HEADER_LEN].copy_from_slice(&other[..HEADER_LEN]);
    assert_eq!(decrypt_all(&key, &other_header), Err(DecryptError::Authentication { chunk: 0 }));
    // Two valid blobs back to back are not one valid blob.
    assert!(decrypt_all(&key, &[&blob[..], &other[..]].concat()).is_err());
}

/// The store sees nothing recognisable: no 32-byte window of a very repetitive plaintext survives, nor its magic.
#[test]
fn ciphertext_hides_plaintext_patterns() {
    let key = DataKey::generate(&mut rng(16));
    let pattern = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n";
    let plaintext: Vec<u8> = pattern.iter().copied().cycle().take(3 * C + 1234).collect();
    let blob = encrypt_all(&key, &plaintext, &mut rng(17)).expect("test value");
    let windows: HashSet<&[u8]> = plaintext.windows(32).collect();
    assert!(blob.windows(32).all(|window| !windows.contains(window)));
    assert!(!blob.windows(4).any(|window| window == b"%PDF"));
    assert!(!blob.windows(32).any(|window| window == data_key_bytes(&key)));
}

fn data_key_bytes(key: &DataKey) -> &[u8] {
    &key.bytes()[..]
}

/// Cross-check against RustCrypto's independent STREAM implementation (`aead::stream::StreamBE32`) with the header
/// as associated data, in both directions: this pins the nonce layout and chunking.
#[test]
fn format_matches_aead_stream_be32() {
    let key = DataKey::generate(&mut rng(18));
    let plaintext = random_bytes(2 * C + 777, 19);
    let blob = encrypt_all(&key, &plaintext, &mut rng(20)).expect("test value");
    let (header, body) = blob.split_at(HEADER_LEN);
    let cipher = aes_gcm::Aes256Gcm::new(key.bytes().into());
    let prefix = aes_gcm::aead::generic_array::GenericArray::clone_from_slice(&header[10..]);

    let mut reference = DecryptorBE32::from_aead(cipher.clone(), &prefix);
    let chunks: Vec<&[u8]> = body.chunks(F).collect();
    let mut decrypted = Vec::new();
    for chunk in &chunks[..chunks.len() - 1] {
        decrypted.extend(reference.decrypt_next(Payload { msg: chunk, aad: header }).expect("test value"));
    }
    let last = chunks[chunks.len() - 1];
    decrypted.extend(reference.decrypt_last(Payload { msg: last, aad: header }).expect("test value"));
    assert_eq!(decrypted, plaintext);

    let mut reference = EncryptorBE32::from_aead(cipher, &prefix);
    let mut reencrypted = header.to_vec();
    let plain_chunks: Vec<&[u8]> = plaintext.chunks(C).collect();
    for chunk in &plain_chunks[..plain_chunks.len() - 1] {
        reencrypted.extend(reference.encrypt_next(Payload { msg: chunk, aad: header }).expect("test value"));
    }
    let last = plain_chunks[plain_chunks.len() - 1];
    reencrypted.extend(reference.encrypt_last(Payload { msg: last, aad: header }).expect("test value"));
    assert_eq!(reencrypted, blob);
}

#[test]
fn master_key_parsing_and_id() {
    let text = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let key = MasterKey::from_base64(text).expect("test value");
    // Known answer from an independent implementation (Python hashlib).
    assert_eq!(key.id().to_string(), "50ab730036e27b64");
    assert_eq!(MasterKey::from_bytes([0; 32]).id().to_string(), "06b6425acecb63d6");
    assert_eq!(key.to_base64().as_str(), text);
    assert_eq!(format!("  {text}\n").parse::<MasterKey>().expect("test value").id(), key.id(), "whitespace trimmed");

    let debug = format!("{key:?}");
    assert_eq!(debug, "MasterKey { id: MasterKeyId(50ab730036e27b64), .. }");
    assert_eq!(format!("{:?}", DataKey::generate(&mut rng(21))), "DataKey(<redacted>)");

    assert_eq!(MasterKey::from_base64("c2hvcnQ=").expect_err("must fail"), MasterKeyError::WrongLength { len: 8 });
    assert_eq!(MasterKey::from_base64(&"A".repeat(44)).expect_err("must fail"), MasterKeyError::InvalidBase64);
    assert_eq!(MasterKey::from_base64(&"!".repeat(44)).expect_err("must fail"), MasterKeyError::InvalidBase64);
    let message = MasterKey::from_base64("c2hvcnQ=").expect_err("must fail").to_string();
    assert!(message.contains("44 characters") && !message.contains("c2hvcnQ"), "{message}");
}

#[test]
fn wrapped_key_string_form_is_strict() {
    let mut rng = rng(22);
    let master = MasterKey::generate(&mut rng);
    let wrapped = master.wrap_key(&DataKey::generate(&mut rng), b"blob", &mut rng).expect("test value");
    let text = wrapped.to_string();
    assert!(text.starts_with(&format!("v1.{}.", master.id())), "{text}");
    for bad in [
        String::new(),
        text.replacen("v1", "v2", 1),
        text.to_uppercase(),
        format!("{text}."),
        format!("{text}AAAA"),
        text[..text.len() - 4].to_owned(),
    ] {
        assert!(bad.parse::<WrappedKey>().is_err(), "{bad}");
    }
}

#[test]
fn unwrap_failures() {
    let mut rng = rng(23);
    let (a, b) = (MasterKey::generate(&mut rng), MasterKey::generate(&mut rng));
    let data_key = DataKey::generate(&mut rng);
    let wrapped = a.wrap_key(&data_key, b"tenant-1/doc-1.pdf", &mut rng).expect("test value");

    // Wrong master key: named by id in the error.
    let error = b.unwrap_key(&wrapped, b"tenant-1/doc-1.pdf").expect_err("must fail");
    assert_eq!(error, KeyError::UnknownMasterKey(a.id()));
    assert!(error.to_string().contains(&a.id().to_string()), "{error}");
    // Wrong key material under the right id (simulated by relabelling): authentication failure, no panic.
    let relabelled: WrappedKey =
        wrapped.to_string().replace(&a.id().to_string(), &b.id().to_string()).parse().expect("test value");
    assert_eq!(b.unwrap_key(&relabelled, b"tenant-1/doc-1.pdf").expect_err("must fail"), KeyError::Authentication);
    // Moved to another blob's row.
    assert_eq!(a.unwrap_key(&wrapped, b"tenant-1/doc-2.pdf").expect_err("must fail"), KeyError::Authentication);
    assert_eq!(a.unwrap_key(&wrapped, b"").expect_err("must fail"), KeyError::Authentication);
    assert_eq!(a.unwrap_key(&wrapped, b"tenant-1/doc-1.pdf").expect("test value").bytes(), data_key.bytes());
}

#[test]
fn rotation() {
    let mut rng = rng(24);
    let old_bytes = random_bytes(32, 25).try_into().expect("test value");
    let new_bytes: [u8; 32] = random_bytes(32, 26).try_into().expect("test value");
    let old = MasterKey::from_bytes(old_bytes);
    let aad = b"blob-key-42";
    let data_key = DataKey::generate(&mut rng);
    let plaintext = random_bytes(3 * C + 5, 27);
    let blob = encrypt_all(&data_key, &plaintext, &mut rng).expect("test value");
    let stored = old.wrap_key(&data_key, aad, &mut rng).expect("test value").to_string();

    let keyring = Keyring::new(MasterKey::from_bytes(new_bytes), vec![MasterKey::from_bytes(old_bytes)]);
    let wrapped: WrappedKey = stored.parse().expect("test value");
    assert_eq!(keyring.unwrap_key(&wrapped, aad).expect("test value").bytes(), data_key.bytes());
    assert!(keyring.rewrap(&wrapped, b"other-blob", &mut rng).is_err());

    let rewrapped = keyring.rewrap(&wrapped, aad, &mut rng).expect("test value").expect("test value");
    assert_eq!(rewrapped.master_key_id(), keyring.current().id());
    assert_eq!(keyring.rewrap(&rewrapped, aad, &mut rng), Ok(None), "already under the current key");

    // After dropping the old key from config, the re-wrapped key still opens the untouched blob.
    let new_only = Keyring::new(MasterKey::from_bytes(new_bytes), Vec::new());
    let recovered = new_only.unwrap_key(&rewrapped, aad).expect("test value");
    assert_eq!(recovered.bytes(), data_key.bytes());
    assert_eq!(decrypt_all(&recovered, &blob).expect("test value"), plaintext);
    // ... and a row that missed the re-wrap job gets an error naming the missing key.
    assert_eq!(new_only.unwrap_key(&wrapped, aad).expect_err("must fail"), KeyError::UnknownMasterKey(old.id()));
    assert_eq!(format!("{new_only:?}"), format!("Keyring {{ current: {:?}, previous: [] }}", new_only.current().id()));
}

/// Throughput of 100 MiB streamed in 1 MiB pieces. Run with
/// `cargo test --release -- --ignored --nocapture throughput`.
#[test]
#[ignore = "benchmark; run in release"]
fn throughput_100_mib() {
    const TOTAL: usize = 100 << 20;
    const PIECE: usize = 1 << 20;
    let key = DataKey::generate(&mut rng(28));
    let plaintext = random_bytes(TOTAL, 29);

    // Stream like an upload would: each piece's output is handed on, so the output buffer is reused.
    let mut out = Vec::with_capacity(2 * PIECE);
    let mut encrypted_len = 0;
    let start = Instant::now();
    let mut enc = Encryptor::new(&key, &mut rng(30));
    for piece in plaintext.chunks(PIECE) {
        out.clear();
        enc.update(piece, &mut out).expect("test value");
        encrypted_len += out.len();
    }
    out.clear();
    enc.finish(&mut out).expect("test value");
    encrypted_len += out.len();
    let encrypt_secs = start.elapsed().as_secs_f64();
    assert_eq!(Some(encrypted_len as u64), ciphertext_len(TOTAL as u64));

    let blob = encrypt_all(&key, &plaintext, &mut rng(30)).expect("test value");
    let mut decrypted_len = 0;
    let start = Instant::now();
    let mut dec = Decryptor::new(&key);
    for piece in blob.chunks(PIECE) {
        out.clear();
        dec.update(piece, &mut out).expect("test value");
        decrypted_len += out.len();
    }
    out.clear();
    dec.finish(&mut out).expect("test value");
    decrypted_len += out.len();
    let decrypt_secs = start.elapsed().as_secs_f64();

    assert_eq!(decrypted_len, TOTAL);
    assert!(decrypt_all(&key, &blob).expect("test value") == plaintext);
    let mb = TOTAL as f64 / 1e6;
    println!("encrypt: {:.0} MB/s ({encrypt_secs:.3} s for 100 MiB)", mb / encrypt_secs);
    println!("decrypt: {:.0} MB/s ({decrypt_secs:.3} s for 100 MiB)", mb / decrypt_secs);
}
