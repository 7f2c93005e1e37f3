//! Unguessable identifiers: refresh tokens, one-time codes, nonces, client ids, token ids.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The system's random number generator failed; nothing secret can be made safely.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// `bytes` random bytes as unpadded base64url (32 bytes: 256 bits, 43 characters).
pub fn token(bytes: usize) -> Result<String, RandomError> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buffer)
        .map_err(|_| RandomError)?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// A secret handed to a client (refresh token, code, nonce): 256 bits.
pub fn secret() -> Result<String, RandomError> {
    token(32)
}

/// An identifier that must be unique but is not a secret (`jti`, family id): 128 bits.
pub fn id() -> Result<String, RandomError> {
    token(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_43_url_safe_characters_and_differ() {
        let a = secret().unwrap();
        let b = secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
