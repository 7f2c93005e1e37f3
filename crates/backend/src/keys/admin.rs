//! The `keys generate|rotate|list|retire` operations, as library functions the CLI prints and
//! tests call.
//!
//! Each takes the time as an argument and changes the keyring under its lock, so operators can
//! run them against the data directory of running servers: they pick the change up at their
//! next reload. The rule they keep: a new key is published for at least one JWKS cache lifetime
//! (plus one reload interval, the time a replica may take to notice it) before it signs, and an
//! old key stays published until every token it signed has expired.

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use super::keyring::RELOAD_INTERVAL;
use super::manifest::{KeyEntry, KeyState, RetireOutcome, RetireRefusal, whole_seconds};
use super::storage::{self, KeyDir, KeyLoadError, Layout, Snapshot};
use super::{KeyBits, SigningKey};
use crate::authenticator::published::JWKS_MAX_AGE_SECS;
use crate::config::Config;

/// How long a rotated key is published before it signs: one JWKS cache lifetime, so every
/// cache that fetched JWKS before the rotation has expired, plus one reload interval, so every
/// replica serves the new key for that whole lifetime.
pub const DEFAULT_PUBLISH_LEAD: Duration =
    Duration::from_secs(JWKS_MAX_AGE_SECS + RELOAD_INTERVAL.as_secs());

/// The longest access-token lifetime (PAT and device-flow tokens): how long an old key must
/// stay published after it stopped signing.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "the signing key comes from authenticator.signing_key_file ({0}): rotate by replacing that file and restarting (tokens signed by the old key then stop verifying), or remove signing_key_file to use the rotatable keyring in the data directory"
    )]
    ConfiguredFile(PathBuf),
    #[error("no keyring in {0}: run `sliderule-backend keys generate` first")]
    NoKeyring(PathBuf),
    #[error(transparent)]
    Refused(#[from] RetireRefusal),
    #[error(transparent)]
    Load(#[from] KeyLoadError),
}

impl AdminError {
    /// Whether the operator asked for something that cannot be done (exit code 2), rather than
    /// the machine failing to do it (exit code 1).
    pub fn is_usage(&self) -> bool {
        match self {
            AdminError::ConfiguredFile(_) | AdminError::NoKeyring(_) | AdminError::Refused(_) => {
                true
            }
            AdminError::Load(e) => matches!(e, KeyLoadError::Config(_)),
        }
    }
}

/// What `generate` found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// A new keyring with this key, which signs from now.
    Created { kid: String },
    /// A keyring was already there; this key signs.
    Exists { kid: String },
    /// A `signing.pem` from before the keyring was converted; this key keeps signing.
    Converted { kid: String },
    /// The key comes from `authenticator.signing_key_file`; nothing to generate.
    ConfiguredFile { path: PathBuf, kid: String },
}

/// A key added by `rotate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub kid: String,
    pub signs_from: OffsetDateTime,
    /// The key that signs until then.
    pub replaces: String,
}

/// One line of `keys list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub kid: String,
    pub created_at: OffsetDateTime,
    pub signs_from: OffsetDateTime,
    pub state: KeyState,
    pub retired_at: Option<OffsetDateTime>,
    /// For a key that no longer signs: when its last token has expired and it may be retired.
    pub retire_after: Option<OffsetDateTime>,
}

/// Which keys `retire` retires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetireTarget {
    Kid(String),
    /// Every key that no longer signs and whose tokens have all expired.
    Expired,
}

/// The keys of a configuration, for the `keys` commands.
#[derive(Debug, Clone)]
pub struct KeyAdmin {
    configured_file: Option<PathBuf>,
    dir: KeyDir,
}

impl KeyAdmin {
    pub fn new(config: &Config) -> Self {
        Self {
            configured_file: config.authenticator.signing_key_file.clone(),
            dir: KeyDir::in_data_dir(&config.data_dir),
        }
    }

    /// The data directory's keyring; refused when the configuration names a key file, which
    /// the operator manages.
    fn keyring(&self) -> Result<&KeyDir, AdminError> {
        match &self.configured_file {
            Some(file) => Err(AdminError::ConfiguredFile(file.clone())),
            None => Ok(&self.dir),
        }
    }

    /// What the keys are now: the configured file, or the keyring (`None`: there is none yet).
    fn read(&self) -> Result<Option<Snapshot>, AdminError> {
        match &self.configured_file {
            Some(file) => Ok(Some(storage::read_configured(file)?)),
            None => Ok(self.dir.read(None)?),
        }
    }

    /// Creates the keyring with a first key, which signs at once, unless there is one. A
    /// `signing.pem` from before the keyring is converted (its key keeps signing).
    pub fn generate(&self, bits: KeyBits, now: OffsetDateTime) -> Result<Generated, AdminError> {
        if let Some(file) = &self.configured_file {
            let snapshot = storage::read_configured(file)?;
            return Ok(Generated::ConfiguredFile {
                path: file.clone(),
                kid: signing_kid(&snapshot, now),
            });
        }
        let (snapshot, created) = self.dir.read_or_create(bits, now)?;
        let kid = signing_kid(&snapshot, now);
        if created {
            return Ok(Generated::Created { kid });
        }
        if snapshot.layout != Layout::Legacy {
            return Ok(Generated::Exists { kid });
        }
        let lock = self.dir.lock()?;
        match self.dir.read(None)? {
            Some(before) if before.layout == Layout::Legacy => {
                self.dir
                    .commit(&lock, Some(&before), &before.manifest, &[])?;
                Ok(Generated::Converted { kid })
            }
            // Another command converted it meanwhile.
            _ => Ok(Generated::Exists { kid }),
        }
    }

    /// Adds a new key that is published at once and signs from `now + publish_lead`.
    ///
    /// A `publish_lead` shorter than [`DEFAULT_PUBLISH_LEAD`] risks rejected tokens: clients
    /// holding a JWKS fetched before the rotation do not know the new key until their cache
    /// expires, and refuse tokens it signs meanwhile.
    pub fn rotate(
        &self,
        bits: KeyBits,
        publish_lead: Duration,
        now: OffsetDateTime,
    ) -> Result<Rotated, AdminError> {
        let dir = self.keyring()?;
        if dir.read(None)?.is_none() {
            return Err(AdminError::NoKeyring(dir.path().to_owned()));
        }
        let lock = dir.lock()?;
        let before = dir
            .read(None)?
            .ok_or_else(|| AdminError::NoKeyring(dir.path().to_owned()))?;
        let key = SigningKey::generate(bits).map_err(KeyLoadError::from)?;
        let created_at = whole_seconds(now);
        let entry = KeyEntry {
            kid: key.kid().to_owned(),
            created_at,
            // Rounded up: "at least the lead" must hold to the second.
            signs_from: created_at
                + publish_lead
                + Duration::from_secs(u64::from(now.nanosecond() > 0)),
            retired_at: None,
        };
        let rotated = Rotated {
            kid: entry.kid.clone(),
            signs_from: entry.signs_from,
            replaces: signing_kid(&before, now),
        };
        let mut manifest = before.manifest.clone();
        manifest.add(entry);
        dir.commit(&lock, Some(&before), &manifest, &[&key])?;
        Ok(rotated)
    }

    /// Every key with its state at `now`, oldest first.
    pub fn list(
        &self,
        max_token_lifetime: Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<KeyStatus>, AdminError> {
        let snapshot = self
            .read()?
            .ok_or_else(|| AdminError::NoKeyring(self.dir.path().to_owned()))?;
        let manifest = &snapshot.manifest;
        Ok(manifest
            .keys
            .iter()
            .map(|entry| {
                let state = manifest.state_at(entry, now);
                KeyStatus {
                    kid: entry.kid.clone(),
                    created_at: entry.created_at,
                    signs_from: entry.signs_from,
                    state,
                    retired_at: entry.retired_at,
                    retire_after: match state {
                        KeyState::VerifyingOnly => {
                            manifest.tokens_expire_at(entry, now, max_token_lifetime)
                        }
                        _ => None,
                    },
                }
            })
            .collect())
    }

    /// Stops publishing keys. A key is refused while it signs, and (unless `force`) while
    /// tokens it signed may be alive; `Expired` retires exactly the keys that may be retired.
    /// Returns what happened to each key named.
    pub fn retire(
        &self,
        target: &RetireTarget,
        max_token_lifetime: Duration,
        force: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, RetireOutcome)>, AdminError> {
        let dir = self.keyring()?;
        if dir.read(None)?.is_none() {
            return Err(AdminError::NoKeyring(dir.path().to_owned()));
        }
        let lock = dir.lock()?;
        let before = dir
            .read(None)?
            .ok_or_else(|| AdminError::NoKeyring(dir.path().to_owned()))?;
        let mut manifest = before.manifest.clone();
        let kids = match target {
            RetireTarget::Kid(kid) => vec![kid.clone()],
            RetireTarget::Expired => manifest.expired(now, max_token_lifetime),
        };
        let mut outcomes = Vec::new();
        for kid in kids {
            let outcome = manifest.retire(&kid, now, max_token_lifetime, force)?;
            outcomes.push((kid, outcome));
        }
        if manifest != before.manifest {
            dir.commit(&lock, Some(&before), &manifest, &[])?;
        }
        Ok(outcomes)
    }
}

fn signing_kid(snapshot: &Snapshot, now: OffsetDateTime) -> String {
    snapshot
        .manifest
        .signing_at(now)
        .map(|k| k.kid.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSources, Mode};
    use crate::keys::signing_key::tests::test_key;
    use std::path::Path;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);
    const LIFETIME: Duration = DEFAULT_MAX_TOKEN_LIFETIME;

    fn admin_of(data: &Path, key_file: Option<&Path>) -> KeyAdmin {
        let mut flags = vec![("data_dir", toml::Value::String(data.display().to_string()))];
        if let Some(file) = key_file {
            flags.push((
                "authenticator.signing_key_file",
                toml::Value::String(file.display().to_string()),
            ));
        }
        let config = crate::config::load(
            Mode::Demo,
            ConfigSources {
                flags,
                ..Default::default()
            },
        )
        .unwrap();
        KeyAdmin::new(&config)
    }

    fn generated(data: &Path) -> (KeyAdmin, String) {
        let admin = admin_of(data, None);
        let Generated::Created { kid } = admin.generate(KeyBits::Rsa2048, T0).unwrap() else {
            panic!("a new keyring")
        };
        (admin, kid)
    }

    fn states(admin: &KeyAdmin, at: OffsetDateTime) -> Vec<(String, KeyState)> {
        admin
            .list(LIFETIME, at)
            .unwrap()
            .into_iter()
            .map(|s| (s.kid, s.state))
            .collect()
    }

    #[test]
    fn the_default_publish_lead_covers_a_jwks_cache_lifetime_and_a_reload() {
        assert_eq!(DEFAULT_PUBLISH_LEAD, Duration::from_secs(330));
    }

    #[test]
    fn generate_is_idempotent() {
        let data = tempfile::TempDir::new().unwrap();
        let (admin, kid) = generated(data.path());
        assert_eq!(
            admin.generate(KeyBits::Rsa2048, T0).unwrap(),
            Generated::Exists { kid }
        );
    }

    #[test]
    fn generate_converts_a_legacy_signing_pem() {
        let data = tempfile::TempDir::new().unwrap();
        let keys = data.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(keys.join("signing.pem"), test_key().private_pem()).unwrap();
        let admin = admin_of(data.path(), None);
        let kid = test_key().kid().to_owned();
        assert_eq!(
            admin.generate(KeyBits::Rsa2048, T0).unwrap(),
            Generated::Converted { kid: kid.clone() }
        );
        assert!(keys.join(storage::MANIFEST_FILE).is_file());
        assert!(!keys.join("signing.pem").exists());
        assert_eq!(states(&admin, T0), [(kid.clone(), KeyState::Signing)]);
        assert_eq!(
            admin.generate(KeyBits::Rsa2048, T0).unwrap(),
            Generated::Exists { kid }
        );
    }

    #[test]
    fn rotate_adds_a_pending_key_that_signs_after_the_publish_lead() {
        let data = tempfile::TempDir::new().unwrap();
        let (admin, old) = generated(data.path());
        let at = T0 + Duration::from_secs(3600);
        let rotated = admin
            .rotate(KeyBits::Rsa2048, DEFAULT_PUBLISH_LEAD, at)
            .unwrap();
        assert_eq!(rotated.signs_from, at + DEFAULT_PUBLISH_LEAD);
        assert_eq!(rotated.replaces, old);
        assert_eq!(
            states(&admin, at),
            [
                (old.clone(), KeyState::Signing),
                (rotated.kid.clone(), KeyState::Pending)
            ]
        );
        assert_eq!(
            states(&admin, rotated.signs_from),
            [
                (old, KeyState::VerifyingOnly),
                (rotated.kid, KeyState::Signing)
            ]
        );
    }

    #[test]
    fn rotate_rounds_the_start_up_to_a_whole_second() {
        let data = tempfile::TempDir::new().unwrap();
        let (admin, _) = generated(data.path());
        let at = T0 + time::Duration::milliseconds(1500);
        let rotated = admin
            .rotate(KeyBits::Rsa2048, Duration::from_secs(10), at)
            .unwrap();
        assert_eq!(rotated.signs_from, T0 + Duration::from_secs(12));
    }

    #[test]
    fn list_says_when_a_replaced_key_may_be_retired() {
        let data = tempfile::TempDir::new().unwrap();
        let (admin, old) = generated(data.path());
        let rotated = admin
            .rotate(KeyBits::Rsa2048, DEFAULT_PUBLISH_LEAD, T0)
            .unwrap();
        let listed = admin.list(LIFETIME, rotated.signs_from).unwrap();
        let old_status = listed.iter().find(|s| s.kid == old).unwrap();
        assert_eq!(
            old_status.retire_after,
            Some(rotated.signs_from + LIFETIME + Duration::from_secs(60) + RELOAD_INTERVAL)
        );
        assert!(
            listed
                .iter()
                .find(|s| s.kid == rotated.kid)
                .unwrap()
                .retire_after
                .is_none()
        );
    }

    #[test]
    fn retire_refuses_the_signing_key() {
        let data = tempfile::TempDir::new().unwrap();
        let (admin, kid) = generated(data.path());
        let err = admin
            .retire(&RetireTarget::Kid(kid.clone()), LIFETIME, true, T0)
            .unwrap_err();
        assert!(matches!(&err, AdminError::Refused(RetireRefusal::SigningKey(k)) if *k == kid));
        assert!(err.is_usage());
    }

    #[test]
    fn retire_expired_retires_only_keys_whose_tokens_have_expired() {
        let data = tempfile::TempDir::new().unwrap();
        let (admin, old) = generated(data.path());
        let rotated = admin
            .rotate(KeyBits::Rsa2048, DEFAULT_PUBLISH_LEAD, T0)
            .unwrap();
        let safe = rotated.signs_from + LIFETIME + Duration::from_secs(90);
        let early = safe - Duration::from_secs(1);
        assert!(
            admin
                .retire(&RetireTarget::Expired, LIFETIME, false, early)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            admin.retire(&RetireTarget::Kid(old.clone()), LIFETIME, false, early),
            Err(AdminError::Refused(RetireRefusal::TokensAlive { until, .. })) if until == safe
        ));
        assert_eq!(
            admin
                .retire(&RetireTarget::Expired, LIFETIME, false, safe)
                .unwrap(),
            [(old.clone(), RetireOutcome::Retired)]
        );
        assert_eq!(
            states(&admin, safe),
            [(old, KeyState::Retired), (rotated.kid, KeyState::Signing)]
        );
    }

    #[test]
    fn rotate_and_retire_refuse_a_configured_key_file() {
        let data = tempfile::TempDir::new().unwrap();
        let file = data.path().join("operator.pem");
        std::fs::write(&file, test_key().private_pem()).unwrap();
        let admin = admin_of(data.path(), Some(&file));
        let err = admin
            .rotate(KeyBits::Rsa2048, DEFAULT_PUBLISH_LEAD, T0)
            .unwrap_err();
        assert!(matches!(&err, AdminError::ConfiguredFile(f) if *f == file));
        assert!(err.to_string().contains("replacing that file"), "{err}");
        assert!(matches!(
            admin.retire(&RetireTarget::Expired, LIFETIME, false, T0),
            Err(AdminError::ConfiguredFile(_))
        ));
        assert_eq!(
            states(&admin, T0),
            [(test_key().kid().to_owned(), KeyState::Signing)],
            "list shows the configured key"
        );
        assert!(matches!(
            admin.generate(KeyBits::Rsa2048, T0).unwrap(),
            Generated::ConfiguredFile { path, .. } if path == file
        ));
        assert!(!data.path().join("keys").exists(), "nothing written");
    }

    #[test]
    fn rotate_without_a_keyring_says_to_generate_one() {
        let data = tempfile::TempDir::new().unwrap();
        let admin = admin_of(data.path(), None);
        let err = admin
            .rotate(KeyBits::Rsa2048, DEFAULT_PUBLISH_LEAD, T0)
            .unwrap_err();
        assert!(matches!(err, AdminError::NoKeyring(_)), "{err}");
        assert!(!data.path().join("keys").exists(), "nothing written");
    }

    #[test]
    fn the_keys_commands_leave_no_temporary_files() {
        let data = tempfile::TempDir::new().unwrap();
        let (admin, old) = generated(data.path());
        let rotated = admin
            .rotate(KeyBits::Rsa2048, DEFAULT_PUBLISH_LEAD, T0)
            .unwrap();
        admin
            .retire(&RetireTarget::Kid(old), LIFETIME, true, rotated.signs_from)
            .unwrap();
        let mut names: Vec<String> = std::fs::read_dir(data.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected = vec![
            ".keyring.lock".to_owned(),
            format!("{}.pem", rotated.kid),
            storage::MANIFEST_FILE.to_owned(),
        ];
        expected.sort();
        assert_eq!(names, expected);
    }
}
