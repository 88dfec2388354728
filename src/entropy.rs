//! Randomness as a port: where every id, token, salt, key and one-time code comes from.
//!
//! The domain never reads a random source of its own. It asks an [`Entropy`] for bytes: the
//! server's adapter reads the operating system's generator, tests use [`SeededEntropy`], which
//! gives the same bytes for the same seed (so a test can name the id it will get, and a failure
//! can be replayed). The helpers in [`EntropyExt`] turn bytes into the shapes the services use
//! (ids in lowercase base32, 64-bit numbers, a fraction for jitter) without bias, and
//! [`EntropyRng`] hands the port to cryptographic code that wants a `rand_core` generator.

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// A source of random bytes. The server's is the operating system's cryptographic generator;
/// whatever draws keys, salts or tokens from it relies on that.
pub trait Entropy: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The lowercase RFC 4648 base32 alphabet: ids and tokens in URLs and file names.
pub const BASE32_LOWER: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The shapes services draw from an [`Entropy`]. Implemented for every one of them.
pub trait EntropyExt: Entropy {
    /// `N` random bytes.
    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    fn u32(&self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    fn u64(&self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }

    fn u128(&self) -> u128 {
        u128::from_le_bytes(self.bytes())
    }

    /// `len` characters of [`BASE32_LOWER`], 5 random bits each (32 divides 256, so taking the
    /// low five bits of a byte is unbiased).
    fn base32(&self, len: usize) -> String {
        let mut raw = vec![0u8; len];
        self.fill(&mut raw);
        raw.iter().map(|b| char::from(BASE32_LOWER[usize::from(b & 31)])).collect()
    }

    /// A fraction in `[0, 1)` with 53 random bits (every one an exact `f64`), for jitter.
    fn unit_f64(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "53 bits fit an f64 exactly")]
        let numerator = (self.u64() >> 11) as f64;
        numerator / (1u64 << 53) as f64
    }

    /// This source as a `rand_core` generator, for code that takes one (key and salt generation).
    fn rng(&self) -> EntropyRng<'_, Self>
    where
        Self: Sized,
    {
        EntropyRng(self)
    }
}

impl<T: Entropy + ?Sized> EntropyExt for T {}

/// An [`Entropy`] seen as a `rand_core` generator. Marked cryptographic because the server's
/// source is; a test's [`SeededEntropy`] is SHA-256 in counter mode over its seed, unpredictable
/// to whoever does not know the seed, which is all a test needs.
pub struct EntropyRng<'a, E: Entropy + ?Sized>(pub &'a E);

impl<E: Entropy + ?Sized> RngCore for EntropyRng<'_, E> {
    fn next_u32(&mut self) -> u32 {
        self.0.u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl<E: Entropy + ?Sized> CryptoRng for EntropyRng<'_, E> {}

/// A generator for `dyn Entropy`, which [`EntropyExt::rng`] cannot name (it needs `Sized`).
pub fn rng(entropy: &dyn Entropy) -> EntropyRng<'_, dyn Entropy + '_> {
    EntropyRng(entropy)
}

/// Deterministic bytes for tests: block `i` is `SHA-256("attesta/test-entropy" || 0x00 || seed
/// || i as 8 bytes big-endian)`, read in order. The same seed gives the same ids, tokens and
/// codes in every run.
pub struct SeededEntropy {
    seed: u64,
    state: Mutex<(u64, Vec<u8>)>,
}

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        Self { seed, state: Mutex::new((0, Vec::new())) }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) {
        // A poisoned lock only means another test thread panicked mid-draw; the bytes stay fine.
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (counter, pending) = &mut *state;
        for byte in buf.iter_mut() {
            if pending.is_empty() {
                let block = Sha256::new()
                    .chain_update(b"attesta/test-entropy\0")
                    .chain_update(self.seed.to_be_bytes())
                    .chain_update(counter.to_be_bytes())
                    .finalize();
                *counter += 1;
                pending.extend(block.iter().rev());
            }
            *byte = pending.pop().unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
        let (a, b, c) = (SeededEntropy::new(7), SeededEntropy::new(7), SeededEntropy::new(8));
        let first: [u8; 48] = a.bytes();
        assert_eq!(first, b.bytes::<48>());
        assert_ne!(first, c.bytes::<48>());
        // Reads continue the stream: the next draw is not the first again.
        assert_ne!(first, a.bytes::<48>());
    }

    #[test]
    fn the_stream_is_the_documented_sha256_counter_blocks_whatever_the_draw_sizes() {
        let e = SeededEntropy::new(1);
        let mut drawn = Vec::new();
        for n in [1usize, 5, 26, 32, 0, 7] {
            let mut buf = vec![0; n];
            e.fill(&mut buf);
            drawn.extend(buf);
        }
        let block = |i: u64| {
            Sha256::new()
                .chain_update(b"attesta/test-entropy\0")
                .chain_update(1u64.to_be_bytes())
                .chain_update(i.to_be_bytes())
                .finalize()
                .to_vec()
        };
        let expected: Vec<u8> = [block(0), block(1), block(2)].concat();
        assert_eq!(drawn, expected[..drawn.len()]);
    }

    #[test]
    fn base32_uses_only_the_alphabet_and_every_letter_of_it() {
        let id = SeededEntropy::new(3).base32(4096);
        assert_eq!(id.len(), 4096);
        assert!(id.bytes().all(|b| BASE32_LOWER.contains(&b)));
        assert!(BASE32_LOWER.iter().all(|b| id.as_bytes().contains(b)));
    }

    #[test]
    fn fractions_stay_in_the_unit_interval() {
        let e = SeededEntropy::new(4);
        assert!((0..10_000).map(|_| e.unit_f64()).all(|f| (0.0..1.0).contains(&f)));
    }

    #[test]
    fn the_rng_view_draws_from_the_port() {
        let (a, b) = (SeededEntropy::new(9), SeededEntropy::new(9));
        let mut from_rng = [0u8; 20];
        rng(&a).fill_bytes(&mut from_rng);
        assert_eq!(from_rng, b.bytes::<20>());
    }
}
