//! App tokens: random, shown once, stored as SHA-256.
//!
//! SECURITY: tokens carry 256 bits of entropy, so a fast hash is the right tool (no password
//! stretching needed) and lookups by hash leak nothing useful through timing.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every app token, so leaked tokens are recognisable by secret scanners.
const TOKEN_PREFIX: &str = "hlk_";

/// A new random app token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the store keeps of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = new_token();
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a, new_token());
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), a);
    }
}
