//! The operating system's random generator: the one place the server draws randomness for ids,
//! tokens, salts, keys and one-time codes. Everything else receives it as the
//! [`Entropy`](attesta_core::ports::Entropy) port, built once at start-up.

use attesta_core::ports::Entropy;

/// The operating system's cryptographic generator (`getrandom`).
pub struct OsEntropy;

impl Entropy for OsEntropy {
    #[expect(clippy::disallowed_types, reason = "this is the Entropy port's implementation")]
    fn fill(&self, buf: &mut [u8]) {
        let mut os: rand::rngs::OsRng = rand::rngs::OsRng;
        rand::RngCore::fill_bytes(&mut os, buf);
    }
}
