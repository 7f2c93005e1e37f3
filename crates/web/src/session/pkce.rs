//! PKCE (RFC 7636, S256) and the sign-in this tab has started.
//!
//! The verifier and the state never leave this tab's `sessionStorage`; the authenticator only sees
//! the challenge, and the callback is accepted only with the state this tab generated.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::storage;

/// A sign-in in progress, kept until the callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub verifier: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// The page to show once signed in.
    pub return_to: String,
}

impl PendingLogin {
    /// Remembers this sign-in for the callback.
    pub fn save(&self) {
        if let Ok(json) = serde_json::to_string(self) {
            storage::tab_set(storage::PENDING_LOGIN, &json);
        }
    }

    /// The sign-in this tab started, removed so that a callback URL works once.
    pub fn take() -> Option<PendingLogin> {
        serde_json::from_str(&storage::tab_take(storage::PENDING_LOGIN)?).ok()
    }
}

/// 32 random bytes, base64url: 43 characters, the verifier length RFC 7636 recommends. `None`
/// when the browser has no `crypto.getRandomValues`: signing in then refuses rather than fall
/// back to guessable values.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    let crypto = web_sys::window()?.crypto().ok()?;
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// The S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
