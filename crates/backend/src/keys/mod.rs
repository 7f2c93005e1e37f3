//! Signing keys: the key that signs new tokens and every key whose tokens may still be alive.
//!
//! Clusters and API gateways cache JWKS, so a new key is published before it signs and an old
//! key stays published until its last token has expired (authenticator.md, "Keys"). The pieces:
//!
//! - [`SigningKey`]: one RSA key; [`KeySet`]: the signing key and the published keys at one
//!   instant; [`verify()`]: checks one of our tokens against a key set;
//! - [`manifest`]: the keyring manifest and the pure rules (who signs when, who is published,
//!   when a key may be retired);
//! - [`storage`]: the key files on disk (configured file, or `<data_dir>/keys/`);
//! - [`Keyring`]: what a running process holds, reloaded without a restart;
//! - [`admin`]: the `keys generate|rotate|list|retire` operations.

pub mod admin;
mod files;
mod keyring;
pub mod kms;
pub mod manifest;
mod signing_key;
pub mod storage;
mod verify;

use std::sync::Arc;

use sliderule_protocol::authenticator::keys::Jwks;

pub use keyring::{Keyring, RELOAD_INTERVAL, ReloadTask, UNKNOWN_KID_RELOAD_INTERVAL};
pub use signing_key::{KeyBits, KeyError, SigningKey};
pub use storage::KeyLoadError;
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

    /// `published` must hold `signing`; the manifest rules guarantee it.
    pub(crate) fn new(signing: Arc<SigningKey>, published: Vec<Arc<SigningKey>>) -> Self {
        Self { signing, published }
    }

    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// Every published key, newest first.
    pub fn published(&self) -> impl Iterator<Item = &SigningKey> {
        self.published.iter().map(AsRef::as_ref)
    }

    pub(crate) fn published_arcs(&self) -> impl Iterator<Item = Arc<SigningKey>> + '_ {
        self.published.iter().cloned()
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.published().find(|key| key.kid() == kid)
    }

    /// `GET /.well-known/jwks.json`: every published key.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.published().map(|k| k.jwk().clone()).collect(),
        }
    }
}
