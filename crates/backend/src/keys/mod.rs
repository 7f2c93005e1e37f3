//! Signing keys: the key that signs new tokens and every key whose tokens may still be alive.
//!
//! Clusters and API gateways cache JWKS, so a new key is published before it signs and an old
//! key stays published until its last token has expired (authenticator.md, "Keys"). Rotation,
//! persistence in the data directory and the `keys` subcommands build on [`KeySet`].

mod signing_key;
mod storage;
mod verify;

use std::sync::Arc;

use sliderule_protocol::authenticator::keys::Jwks;

pub use signing_key::{KeyBits, KeyError, SigningKey};
pub use storage::{KeyLoadError, load};
pub use verify::{Expected, TokenError, verify};

#[derive(Debug, Clone)]
pub struct KeySet {
    signing: Arc<SigningKey>,
    /// Every key that verifies, the signing key included, newest first.
    published: Vec<Arc<SigningKey>>,
}

impl KeySet {
    /// A set of one key, which signs and is published.
    pub fn single(key: SigningKey) -> Self {
        let key = Arc::new(key);
        Self {
            published: vec![key.clone()],
            signing: key,
        }
    }

    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.published
            .iter()
            .find(|key| key.kid() == kid)
            .map(AsRef::as_ref)
    }

    /// `GET /.well-known/jwks.json`: every published key.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.published.iter().map(|k| k.jwk().clone()).collect(),
        }
    }
}
