//! Owners' request signing (provisioner.md, "Request signing"): an Ed25519 signature over
//! `base64url(host + path) + ":" + timestamp + ":" + base64url(body)` (padded base64url, the
//! `Host` header, the path as the client sent it, the raw body), in `x-sliderule-timestamp` and
//! `x-sliderule-signature` (standard base64), exactly as the official 5.x client builds it.
//!
//! A signature that is present is always verified, whoever sends it; with
//! `provisioner.require_owner_signatures` an owner's request without one is refused. Keys are the
//! owners' OpenSSH `ssh-ed25519` lines in `provisioner.owner_keys_file`, read again when the
//! file changes. A signature is accepted once (replicas share the record through the store).
//! The rules are here; `http/signatures.rs` applies them to requests.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::SystemTime;

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
pub use sliderule_protocol::provisioner::signing::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, WINDOW_SECS, canonical,
};
use time::OffsetDateTime;

use crate::store::{StoreError, TokenHash};

/// Why a request's signature was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// An owner's request without one, where one is required: 401 `signature_required`.
    #[error(
        "owner requests must be signed here: with the Python client, make a key at ~/.sliderule_key \
         (ssh-keygen -t ed25519); in the web client, create one on the Account page; then ask an \
         operator to register its public key for {0}"
    )]
    Required(String),
    /// Present but not good: 401 `bad_signature`, saying why.
    #[error("the request's signature is not valid: {0}")]
    Bad(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn bad(why: impl Into<String>) -> SignatureError {
    SignatureError::Bad(why.into())
}

/// The 32-byte Ed25519 key of an OpenSSH public key line (`ssh-ed25519 <base64> [comment]`).
pub fn parse_key_line(line: &str) -> Result<[u8; 32], String> {
    let mut parts = line.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return Err("expected \"ssh-ed25519 <key> [comment]\"".into());
    };
    if kind != "ssh-ed25519" {
        return Err(format!("{kind} keys are not accepted; use ssh-ed25519"));
    }
    let blob = STANDARD
        .decode(blob)
        .map_err(|_| "the key is not base64".to_owned())?;
    // The SSH wire format: string "ssh-ed25519", then string <32 bytes>, each length-prefixed.
    let (name, rest) = ssh_string(&blob).ok_or("the key is truncated")?;
    if name != b"ssh-ed25519" {
        return Err("the key's type inside does not say ssh-ed25519".into());
    }
    let (key, rest) = ssh_string(rest).ok_or("the key is truncated")?;
    if !rest.is_empty() {
        return Err("the key has trailing bytes".into());
    }
    key.try_into()
        .map_err(|_| format!("an Ed25519 key has 32 bytes, this one {}", key.len()))
}

fn ssh_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let length = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let end = 4usize.checked_add(length)?;
    Some((bytes.get(4..end)?, &bytes[end..]))
}

/// What a signed request carries.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub timestamp: &'a str,
    pub signature: &'a str,
}

/// The owners' keys, from `provisioner.owner_keys_file`, re-read when the file changes.
pub struct OwnerKeys {
    file: Option<PathBuf>,
    loaded: RwLock<Loaded>,
}

#[derive(Default)]
struct Loaded {
    modified: Option<SystemTime>,
    keys: HashMap<String, [u8; 32]>,
}

impl OwnerKeys {
    pub fn new(file: Option<PathBuf>) -> Self {
        Self {
            file,
            loaded: RwLock::new(Loaded::default()),
        }
    }

    /// The key registered for `login` (case-insensitive), reading the file again if it changed.
    /// A file that cannot be read or parsed keeps the keys loaded before (logged).
    pub fn key_of(&self, login: &str) -> Option<[u8; 32]> {
        self.refresh();
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        loaded.keys.get(&login.to_ascii_lowercase()).copied()
    }

    fn refresh(&self) {
        let Some(file) = &self.file else {
            return;
        };
        let modified = std::fs::metadata(file).and_then(|m| m.modified()).ok();
        {
            let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            if modified.is_some() && loaded.modified == modified {
                return;
            }
        }
        match read_keys(file) {
            Ok(keys) => {
                let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
                *loaded = Loaded { modified, keys };
            }
            Err(error) => {
                tracing::warn!(file = %file.display(), %error, "cannot read the owners' keys; the keys loaded before stay in force");
            }
        }
    }

    /// Verifies a presented signature of `login` over the request at `now`, and records its
    /// use (a replay is refused).
    pub async fn verify(
        &self,
        store: &dyn crate::store::Store,
        login: &str,
        presented: Presented<'_>,
        message: &str,
        now: OffsetDateTime,
    ) -> Result<(), SignatureError> {
        let at: i64 = presented
            .timestamp
            .trim()
            .parse()
            .map_err(|_| bad(format!("{TIMESTAMP_HEADER} must be unix seconds")))?;
        let drift = (now.unix_timestamp() - at).abs();
        if drift > WINDOW_SECS {
            return Err(bad(format!(
                "it was made {drift} s from now, and at most {WINDOW_SECS} s are allowed; check your clock and sign again"
            )));
        }
        let signature = STANDARD
            .decode(presented.signature.trim())
            .map_err(|_| bad(format!("{SIGNATURE_HEADER} is not base64")))?;
        let key = self.key_of(login).ok_or_else(|| {
            bad(format!(
                "no public key is registered for {login}; ask an operator to add yours"
            ))
        })?;
        UnparsedPublicKey::new(&ED25519, key)
            .verify(message.as_bytes(), &signature)
            .map_err(|_| {
                bad("it does not match this request (host, path, time and body) and your registered key")
            })?;
        let until = now + time::Duration::seconds(2 * WINDOW_SECS);
        if !store
            .first_use_of_signature(&TokenHash::of(presented.signature.trim()), until)
            .await?
        {
            return Err(bad("it was used before; sign each request anew"));
        }
        Ok(())
    }
}

fn read_keys(file: &std::path::Path) -> anyhow::Result<HashMap<String, [u8; 32]>> {
    let text = std::fs::read_to_string(file)?;
    let lines: HashMap<String, String> = serde_json::from_str(&text)?;
    lines
        .into_iter()
        .map(|(login, line)| {
            parse_key_line(&line)
                .map(|key| (login.to_ascii_lowercase(), key))
                .map_err(|why| anyhow::anyhow!("the key of {login}: {why}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OpenSSH line for a raw Ed25519 public key.
    pub fn key_line(public: &[u8]) -> String {
        let mut blob = Vec::new();
        for part in [b"ssh-ed25519".as_slice(), public] {
            blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
            blob.extend_from_slice(part);
        }
        format!("ssh-ed25519 {} alice@laptop", STANDARD.encode(blob))
    }

    #[test]
    fn openssh_ed25519_lines_parse_and_others_are_refused_with_a_reason() {
        let key = [7u8; 32];
        assert_eq!(parse_key_line(&key_line(&key)).unwrap(), key);
        assert!(
            parse_key_line("ssh-rsa AAAAB3NzaC1yc2E alice")
                .unwrap_err()
                .contains("use ssh-ed25519")
        );
        assert!(
            parse_key_line("ssh-ed25519 !!!")
                .unwrap_err()
                .contains("base64")
        );
        assert!(parse_key_line("ssh-ed25519").is_err());
        let short = {
            let mut blob = Vec::new();
            for part in [b"ssh-ed25519".as_slice(), &[1u8; 16]] {
                blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
                blob.extend_from_slice(part);
            }
            format!("ssh-ed25519 {}", STANDARD.encode(blob))
        };
        assert!(parse_key_line(&short).unwrap_err().contains("32 bytes"));
    }
}
