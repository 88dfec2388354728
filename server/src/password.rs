//! Password hashing with argon2id (PHC strings, a fresh random salt per hash).

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use attesta_core::ports::{Entropy, PasswordHasher, StoreError};
use std::sync::Arc;
use std::sync::OnceLock;

pub struct Argon2Hasher {
    params: Params,
    /// Where salts come from.
    entropy: Arc<dyn Entropy>,
}

impl Argon2Hasher {
    /// OWASP's recommended argon2id settings: 19 MiB, 2 passes, 1 lane.
    pub fn new(entropy: Arc<dyn Entropy>) -> Self {
        Self { params: Params::new(19 * 1024, 2, 1, None).unwrap_or_default(), entropy }
    }

    fn salt(&self) -> SaltString {
        SaltString::generate(&mut attesta_core::entropy::rng(&*self.entropy))
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A hash of a random password, verified against when the account does not exist so an
    /// unknown email takes as long as a wrong password.
    fn decoy(&self) -> &'static str {
        static DECOY: OnceLock<String> = OnceLock::new();
        DECOY.get_or_init(|| {
            let salt = self.salt();
            self.argon2()
                .hash_password(b"decoy password that matches nothing", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String, StoreError> {
        let salt = self.salt();
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError(format!("hashing a password: {e}")))
    }

    fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let (hash, real) = match hash {
            Some(h) => (h, true),
            None => (self.decoy(), false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else { return false };
        // Verify with the parameters stored in the hash, so older hashes keep working when the
        // defaults change.
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        ok && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = Argon2Hasher::new(Arc::new(attesta_core::entropy::SeededEntropy::new(1)));
        let hash = h.hash("correct horse battery staple").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(h.verify("correct horse battery staple", Some(&hash)));
        assert!(!h.verify("wrong horse battery staple", Some(&hash)));
        assert!(!h.verify("correct horse battery staple", None));
        assert!(!h.verify("anything", Some("not a hash")));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let h = Argon2Hasher::new(Arc::new(attesta_core::entropy::SeededEntropy::new(1)));
        assert_ne!(h.hash("same password here").expect("hash"), h.hash("same password here").expect("hash"));
    }
}
