//! The OAuth `state` we hand GitHub: everything the callback needs (which flow, which client,
//! redirect URI, PKCE challenge, the client's own state, requested scopes), signed with HMAC-SHA256
//! and expiring after [`STATE_LIFETIME`]. Its nonce is also recorded in the store and taken at the
//! callback, so a state works once.
//!
//! Format: `base64url(JSON) "." base64url(HMAC)`. The payload is not secret (it travels through
//! the browser anyway); the signature makes it tamper-proof.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sliderule_protocol::Scopes;
use time::OffsetDateTime;

use super::random;
use crate::config::{Config, ConfigError};

/// How long a person may take at GitHub's authorize page.
pub const STATE_LIFETIME: Duration = Duration::from_secs(600);

const GENERATED_KEY: &str = "state.key";
const MIN_KEY_BYTES: usize = 32;

/// What a login started, to be finished at the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum PendingLogin {
    /// OAuth 2.1 with PKCE: the callback issues a one-time code to the client.
    Pkce {
        client_id: String,
        redirect_uri: String,
        code_challenge: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_state: Option<String>,
        scope: Scopes,
    },
    /// v5's login: the token goes to the redirect URI in the query or a cookie.
    Legacy {
        redirect_uri: String,
        use_cookie: bool,
    },
    /// Cluster monitoring pages: a guest token in a cookie for the domain.
    Basic { redirect_uri: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    /// Random; recorded in the store so the state is used once.
    pub nonce: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
    pub login: PendingLogin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the sign-in state is malformed; start the sign-in again")]
    Malformed,
    #[error("the sign-in state has been tampered with; start the sign-in again")]
    BadSignature,
    #[error("the sign-in took too long (more than 10 minutes); start it again")]
    Expired,
}

/// The HMAC key. Replicas must share it, so it lives in a file.
pub struct StateKey(hmac::Key);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(***)")
    }
}

impl StateKey {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// `authenticator.state_key`, `authenticator.state_key_file`, or a key generated once into
    /// `<data_dir>/keys/`.
    pub fn load(config: &Config) -> Result<Self, ConfigError> {
        if let Some(inline) = &config.authenticator.state_key {
            let bytes = inline.expose().as_bytes();
            if bytes.len() < MIN_KEY_BYTES {
                return Err(ConfigError::new(
                    "authenticator.state_key",
                    format!(
                        "it has {} characters, and at least {MIN_KEY_BYTES} are needed",
                        bytes.len()
                    ),
                ));
            }
            return Ok(Self::from_bytes(bytes));
        }
        let key_name = "authenticator.state_key_file";
        let (path, generate) = match &config.authenticator.state_key_file {
            Some(path) => (path.clone(), false),
            None => (config.data_dir.join("keys").join(GENERATED_KEY), true),
        };
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= MIN_KEY_BYTES => Ok(Self::from_bytes(&bytes)),
            Ok(_) => Err(ConfigError::new(
                key_name,
                format!("{} holds fewer than {MIN_KEY_BYTES} bytes", path.display()),
            )),
            Err(e) if generate && e.kind() == std::io::ErrorKind::NotFound => generate_into(&path)
                .map_err(|e| {
                    ConfigError::new(key_name, format!("cannot create {}: {e}", path.display()))
                }),
            Err(e) => Err(ConfigError::new(
                key_name,
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    }

    pub fn seal(&self, state: &LoginState) -> Result<String, serde_json::Error> {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(state)?);
        let tag = hmac::sign(&self.0, payload.as_bytes());
        Ok(format!(
            "{payload}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        ))
    }

    pub fn open(&self, sealed: &str, now: OffsetDateTime) -> Result<LoginState, StateError> {
        let (payload, tag) = sealed.split_once('.').ok_or(StateError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Malformed)?;
        hmac::verify(&self.0, payload.as_bytes(), &tag).map_err(|_| StateError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| StateError::Malformed)?;
        let state: LoginState = serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
        if now.unix_timestamp() > state.expires_at {
            return Err(StateError::Expired);
        }
        Ok(state)
    }
}

/// Writes a new random key with mode 0600 through a temporary file and a rename, then reads back
/// whatever is in place (another process starting at the same moment may have won).
fn generate_into(path: &Path) -> std::io::Result<StateKey> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&dir)?;
    let key = random::token(48).map_err(std::io::Error::other)?;
    let temporary: PathBuf = dir.join(format!(
        ".{GENERATED_KEY}.{}.tmp",
        random::id().map_err(std::io::Error::other)?
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(key.as_bytes())?;
    file.sync_all()?;
    if path.exists() {
        std::fs::remove_file(&temporary)?;
    } else {
        std::fs::rename(&temporary, path)?;
    }
    Ok(StateKey::from_bytes(&std::fs::read(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StateKey {
        StateKey::from_bytes(&[7u8; 32])
    }

    fn state(expires_at: i64) -> LoginState {
        LoginState {
            nonce: "n".into(),
            expires_at,
            login: PendingLogin::Pkce {
                client_id: "c".into(),
                redirect_uri: "http://localhost/cb".into(),
                code_challenge: "ch".into(),
                client_state: Some("xyz".into()),
                scope: Scopes::MEMBER,
            },
        }
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    /// Demo mode's configuration with the key given as the environment gives it.
    fn config_with_inline_key(key: &str) -> Config {
        let sources = crate::config::ConfigSources {
            file: None,
            env: vec![
                ("SLIDERULE_AUTHENTICATOR__STATE_KEY".into(), key.into()),
                (
                    "SLIDERULE_DATA_DIR".into(),
                    "/nonexistent/sliderule-state-key-test".into(),
                ),
            ],
            flags: vec![],
        };
        crate::config::load(crate::config::Mode::Demo, sources).unwrap()
    }

    #[test]
    fn an_inline_key_seals_what_another_process_with_it_opens() {
        let key = "k".repeat(MIN_KEY_BYTES);
        let sealed = StateKey::load(&config_with_inline_key(&key))
            .unwrap()
            .seal(&state(1000))
            .unwrap();
        let other = StateKey::load(&config_with_inline_key(&key)).unwrap();
        assert_eq!(other.open(&sealed, at(999)).unwrap(), state(1000));
        assert!(!config_with_inline_key(&key).data_dir.exists());
    }

    #[test]
    fn a_short_inline_key_is_refused_with_the_minimum() {
        let error = StateKey::load(&config_with_inline_key("short")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "authenticator.state_key: it has 5 characters, and at least 32 are needed"
        );
    }

    #[test]
    fn a_sealed_state_opens_to_itself() {
        let sealed = key().seal(&state(1000)).unwrap();
        assert_eq!(key().open(&sealed, at(999)).unwrap(), state(1000));
    }

    #[test]
    fn a_tampered_state_is_refused() {
        let sealed = key().seal(&state(1000)).unwrap();
        let (payload, tag) = sealed.split_once('.').unwrap();
        let mut json = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let text = String::from_utf8(json.clone())
            .unwrap()
            .replace("xyz", "abc");
        json = text.into_bytes();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(json));
        assert_eq!(key().open(&forged, at(0)), Err(StateError::BadSignature));
    }

    #[test]
    fn a_state_signed_with_another_key_is_refused() {
        let sealed = StateKey::from_bytes(&[8u8; 32]).seal(&state(1000)).unwrap();
        assert_eq!(key().open(&sealed, at(0)), Err(StateError::BadSignature));
    }

    #[test]
    fn an_expired_state_is_refused() {
        let sealed = key().seal(&state(1000)).unwrap();
        assert_eq!(key().open(&sealed, at(1001)), Err(StateError::Expired));
    }

    #[test]
    fn garbage_is_malformed() {
        for garbage in ["", "abc", "a.b", "!!.!!"] {
            assert_eq!(
                key().open(garbage, at(0)),
                Err(StateError::Malformed),
                "{garbage}"
            );
        }
    }

    #[test]
    fn a_generated_key_is_reused_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join(GENERATED_KEY);
        let first = generate_into(&path).unwrap();
        let sealed = first.seal(&state(1000)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() >= MIN_KEY_BYTES);
        assert!(StateKey::from_bytes(&bytes).open(&sealed, at(0)).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
