//! The keyring manifest (`<data_dir>/keys/keyring.toml`) and the rules that read it.
//!
//! The manifest lists every key the data directory has held: its `kid`, when it was created,
//! from when it signs, and when it was retired. Everything else follows from it and the time,
//! and the functions here take the time as an argument so tests can pick any instant:
//!
//! - the signing key at `now` is the newest non-retired key whose `signs_from <= now`;
//! - every non-retired key is published, pending ones included, newest first;
//! - a key that stopped signing may be retired once every token it signed has expired.
//!
//! "Newest" means most recently created; the manifest is kept sorted by `created_at`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{KeySet, SigningKey};

/// The format written by this version; a manifest of another version is refused, not guessed at.
pub const MANIFEST_VERSION: u32 = 1;

/// Tokens are accepted this long after `exp` (clock skew); see `verify.rs`.
const VERIFY_LEEWAY: Duration = Duration::from_secs(super::verify::LEEWAY_SECS);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The key's RFC 7638 thumbprint; its private key is `<kid>.pem` beside the manifest.
    pub kid: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// From this time on the key signs (unless a newer key already does).
    #[serde(with = "time::serde::rfc3339")]
    pub signs_from: OffsetDateTime,
    /// Set when the key stops being published; it never signs or verifies again.
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub retired_at: Option<OffsetDateTime>,
}

impl KeyEntry {
    pub fn is_retired(&self) -> bool {
        self.retired_at.is_some()
    }
}

/// Where a key is in its life at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet: JWKS caches are learning it.
    Pending,
    /// Signs new tokens (and verifies).
    Signing,
    /// Replaced by a newer key; verifies the tokens it signed until they expire.
    VerifyingOnly,
    /// Not published: its tokens no longer verify.
    Retired,
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyState::Pending => "pending",
            KeyState::Signing => "signing",
            KeyState::VerifyingOnly => "verifying-only",
            KeyState::Retired => "retired",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not a keyring manifest: {0}")]
    Syntax(String),
    #[error("keyring format version {0} is not supported (this program writes {MANIFEST_VERSION})")]
    Version(u32),
    #[error("{0:?} is not a key id (base64url, as RFC 7638 thumbprints are)")]
    BadKid(String),
    #[error("key {0} is listed twice")]
    DuplicateKid(String),
    #[error("every key is retired: nothing can sign")]
    NoLiveKey,
    #[error("key {0} is listed but its private key was not loaded")]
    NotLoaded(String),
}

/// Why a key may not be retired now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetireRefusal {
    #[error("no key {0} in the keyring")]
    UnknownKid(String),
    #[error(
        "key {0} is the current signing key: rotate first, and retire it once its tokens have expired"
    )]
    SigningKey(String),
    #[error(
        "key {kid} may have signed tokens that are valid until {}; retire it then, or pass --force (those tokens stop verifying)",
        format_time(*until)
    )]
    TokensAlive { kid: String, until: OffsetDateTime },
}

/// What retiring one key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetireOutcome {
    Retired,
    /// It already was; the manifest is unchanged.
    AlreadyRetired(OffsetDateTime),
}

impl Manifest {
    pub fn new(keys: Vec<KeyEntry>) -> Self {
        let mut manifest = Self {
            version: MANIFEST_VERSION,
            keys,
        };
        manifest.sort();
        manifest
    }

    /// Parses and checks a manifest; the result is sorted oldest first.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let mut manifest: Self =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.message().to_owned()))?;
        if manifest.version != MANIFEST_VERSION {
            return Err(ManifestError::Version(manifest.version));
        }
        let mut seen = std::collections::HashSet::new();
        for entry in &manifest.keys {
            if !is_kid(&entry.kid) {
                return Err(ManifestError::BadKid(entry.kid.clone()));
            }
            if !seen.insert(entry.kid.as_str()) {
                return Err(ManifestError::DuplicateKid(entry.kid.clone()));
            }
        }
        manifest.sort();
        Ok(manifest)
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# The signing keys of this data directory, written by `sliderule-backend keys`.\n\
             # Each key's private key is <kid>.pem beside this file. Use the `keys` subcommands\n\
             # rather than editing: running servers re-read this file every {} seconds.\n\n{body}",
            super::keyring::RELOAD_INTERVAL.as_secs()
        )
    }

    /// Appends a key (as the newest).
    pub fn add(&mut self, entry: KeyEntry) {
        self.keys.push(entry);
        self.sort();
    }

    pub fn find(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    fn live(&self) -> impl DoubleEndedIterator<Item = &KeyEntry> + Clone {
        self.keys.iter().filter(|k| !k.is_retired())
    }

    /// The key that signs at `now`: the newest live key whose time has come. If none has (only
    /// when this machine's clock is behind the one that wrote the first key), the live key that
    /// starts first, so a skewed clock delays nothing.
    pub fn signing_at(&self, now: OffsetDateTime) -> Option<&KeyEntry> {
        self.live()
            .rfind(|k| k.signs_from <= now)
            .or_else(|| self.live().min_by_key(|k| k.signs_from))
    }

    /// Every live key, newest first: what JWKS serves.
    pub fn published(&self) -> impl Iterator<Item = &KeyEntry> {
        self.live().rev()
    }

    pub fn state_at(&self, entry: &KeyEntry, now: OffsetDateTime) -> KeyState {
        if entry.is_retired() {
            KeyState::Retired
        } else if self.signing_at(now).is_some_and(|k| k.kid == entry.kid) {
            KeyState::Signing
        } else if entry.signs_from > now {
            KeyState::Pending
        } else {
            KeyState::VerifyingOnly
        }
    }

    /// The next time after `now` at which the signing key may change (a pending key's start).
    pub fn next_change_after(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.live().map(|k| k.signs_from).filter(|t| *t > now).min()
    }

    /// When no token `entry` signed can still verify, for a key that no longer signs at `now`;
    /// `None` while it signs (its last token is not signed yet) or once it is retired.
    ///
    /// It stopped signing when the earliest newer live key whose time has come started. To that
    /// come the longest token lifetime, the skew verification allows after `exp`, and one
    /// reload interval (a replica learns of a newer key at its next reload; only relevant when
    /// the publish lead was shortened below it). Newer keys retired since are ignored, which
    /// can only make the answer later, never too early.
    pub fn tokens_expire_at(
        &self,
        entry: &KeyEntry,
        now: OffsetDateTime,
        max_token_lifetime: Duration,
    ) -> Option<OffsetDateTime> {
        match self.state_at(entry, now) {
            KeyState::Signing | KeyState::Retired => None,
            // A pending key has signed nothing yet.
            KeyState::Pending => Some(now),
            KeyState::VerifyingOnly => {
                let newer = self
                    .keys
                    .iter()
                    .skip_while(|k| k.kid != entry.kid)
                    .skip(1)
                    .filter(|k| !k.is_retired() && k.signs_from <= now);
                let stopped = newer.map(|k| k.signs_from).min()?.max(entry.signs_from);
                Some(stopped + max_token_lifetime + VERIFY_LEEWAY + super::keyring::RELOAD_INTERVAL)
            }
        }
    }

    /// Retires `kid` at `now`, unless it signs, or (without `force`) its tokens may be alive.
    pub fn retire(
        &mut self,
        kid: &str,
        now: OffsetDateTime,
        max_token_lifetime: Duration,
        force: bool,
    ) -> Result<RetireOutcome, RetireRefusal> {
        let entry = self
            .find(kid)
            .ok_or_else(|| RetireRefusal::UnknownKid(kid.to_owned()))?;
        if let Some(at) = entry.retired_at {
            return Ok(RetireOutcome::AlreadyRetired(at));
        }
        if self.state_at(entry, now) == KeyState::Signing {
            // Never, not even forced: nothing else may be ready to sign.
            return Err(RetireRefusal::SigningKey(kid.to_owned()));
        }
        if let Some(until) = self.tokens_expire_at(entry, now, max_token_lifetime)
            && until > now
            && !force
        {
            return Err(RetireRefusal::TokensAlive {
                kid: kid.to_owned(),
                until,
            });
        }
        if let Some(entry) = self.keys.iter_mut().find(|k| k.kid == kid) {
            entry.retired_at = Some(whole_seconds(now));
        }
        Ok(RetireOutcome::Retired)
    }

    /// The keys that no longer sign and whose every token has expired at `now`.
    pub fn expired(&self, now: OffsetDateTime, max_token_lifetime: Duration) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| self.state_at(k, now) == KeyState::VerifyingOnly)
            .filter(|k| {
                self.tokens_expire_at(k, now, max_token_lifetime)
                    .is_some_and(|until| until <= now)
            })
            .map(|k| k.kid.clone())
            .collect()
    }

    /// The key set in force at `now`, from the loaded private keys.
    pub fn key_set_at(
        &self,
        now: OffsetDateTime,
        loaded: &HashMap<String, Arc<SigningKey>>,
    ) -> Result<KeySet, ManifestError> {
        let get = |kid: &str| {
            loaded
                .get(kid)
                .cloned()
                .ok_or_else(|| ManifestError::NotLoaded(kid.to_owned()))
        };
        let signing = get(&self.signing_at(now).ok_or(ManifestError::NoLiveKey)?.kid)?;
        let published = self
            .published()
            .map(|k| get(&k.kid))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeySet::new(signing, published))
    }

    fn sort(&mut self) {
        // Stable: keys created in the same second keep the order they were added in.
        self.keys.sort_by_key(|k| k.created_at);
    }
}

/// Key ids name files, so only base64url characters (what thumbprints are) are accepted.
pub fn is_kid(kid: &str) -> bool {
    (1..=128).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Times are kept to the second: they are shown to people and compared with JWT times.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `2025-01-02T03:04:05Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    whole_seconds(t.to_offset(time::UtcOffset::UTC))
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const HOUR: Duration = Duration::from_secs(3600);
    const T0: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

    fn entry(kid: &str, created_at: OffsetDateTime, signs_from: OffsetDateTime) -> KeyEntry {
        KeyEntry {
            kid: kid.into(),
            created_at,
            signs_from,
            retired_at: None,
        }
    }

    /// `old` signs since T0; `new` was added an hour later and signs five minutes after that.
    fn rotated() -> Manifest {
        Manifest::new(vec![
            entry("old", T0, T0),
            entry("new", T0 + HOUR, T0 + HOUR + time::Duration::minutes(5)),
        ])
    }

    fn signer(manifest: &Manifest, at: OffsetDateTime) -> &str {
        &manifest.signing_at(at).unwrap().kid
    }

    fn published(manifest: &Manifest) -> Vec<&str> {
        manifest.published().map(|k| k.kid.as_str()).collect()
    }

    #[test]
    fn a_new_key_does_not_sign_before_its_signs_from() {
        let m = rotated();
        assert_eq!(signer(&m, T0 + HOUR), "old");
        assert_eq!(signer(&m, T0 + HOUR + time::Duration::seconds(299)), "old");
        assert_eq!(
            m.state_at(m.find("new").unwrap(), T0 + HOUR),
            KeyState::Pending
        );
    }

    #[test]
    fn a_new_key_signs_from_its_signs_from_on() {
        let m = rotated();
        let start = T0 + HOUR + time::Duration::minutes(5);
        assert_eq!(signer(&m, start), "new");
        assert_eq!(signer(&m, start + HOUR * 100), "new");
        assert_eq!(
            m.state_at(m.find("old").unwrap(), start),
            KeyState::VerifyingOnly
        );
        assert_eq!(m.state_at(m.find("new").unwrap(), start), KeyState::Signing);
    }

    #[test]
    fn a_pending_key_is_published_newest_first() {
        assert_eq!(published(&rotated()), ["new", "old"]);
    }

    #[test]
    fn retired_keys_are_not_published_and_never_sign() {
        let mut m = rotated();
        m.keys[1].retired_at = Some(T0 + HOUR * 2);
        assert_eq!(published(&m), ["old"]);
        assert_eq!(signer(&m, T0 + HOUR * 3), "old", "the newer key is retired");
        assert_eq!(m.state_at(&m.keys[1].clone(), T0), KeyState::Retired);
    }

    #[test]
    fn a_clock_behind_every_signs_from_uses_the_first_key_to_start() {
        let m = rotated();
        assert_eq!(signer(&m, T0 - HOUR), "old");
    }

    #[test]
    fn the_next_change_is_the_pending_keys_start() {
        let m = rotated();
        let start = T0 + HOUR + time::Duration::minutes(5);
        assert_eq!(m.next_change_after(T0 + HOUR), Some(start));
        assert_eq!(m.next_change_after(start), None);
    }

    #[test]
    fn a_manifest_survives_its_own_toml() {
        let mut m = rotated();
        m.keys[0].retired_at = Some(T0 + HOUR * 20);
        let text = m.to_toml();
        assert!(text.starts_with("# "), "explains itself: {text}");
        assert_eq!(Manifest::parse(&text).unwrap(), m);
    }

    #[test]
    fn a_manifest_is_ordered_by_creation_whatever_the_file_order() {
        let m = rotated();
        let reversed = Manifest {
            version: MANIFEST_VERSION,
            keys: m.keys.iter().rev().cloned().collect(),
        };
        assert_eq!(Manifest::parse(&reversed.to_toml()).unwrap(), m);
    }

    #[test]
    fn a_manifest_with_a_kid_that_could_name_another_file_is_refused() {
        let m = Manifest::new(vec![entry("../../etc/passwd", T0, T0)]);
        assert_eq!(
            Manifest::parse(&m.to_toml()),
            Err(ManifestError::BadKid("../../etc/passwd".into()))
        );
    }

    #[test]
    fn a_manifest_of_another_version_or_with_a_duplicate_is_refused() {
        let mut m = rotated();
        m.version = 2;
        assert_eq!(
            Manifest::parse(&m.to_toml()),
            Err(ManifestError::Version(2))
        );
        let twice = Manifest::new(vec![entry("a", T0, T0), entry("a", T0 + HOUR, T0 + HOUR)]);
        assert_eq!(
            Manifest::parse(&twice.to_toml()),
            Err(ManifestError::DuplicateKid("a".into()))
        );
        assert!(matches!(
            Manifest::parse("keys = 3"),
            Err(ManifestError::Syntax(_))
        ));
    }

    #[test]
    fn retire_refuses_the_signing_key_even_forced() {
        let mut m = rotated();
        for force in [false, true] {
            assert_eq!(
                m.retire("old", T0 + HOUR, 12 * HOUR, force),
                Err(RetireRefusal::SigningKey("old".into()))
            );
        }
        assert!(m.keys.iter().all(|k| !k.is_retired()));
    }

    #[test]
    fn retire_refuses_a_key_whose_tokens_may_be_alive_and_says_until_when() {
        let mut m = rotated();
        let switched = T0 + HOUR + time::Duration::minutes(5);
        let safe = switched + 12 * HOUR + Duration::from_secs(60 + 30);
        let refusal = m
            .retire("old", safe - time::Duration::seconds(1), 12 * HOUR, false)
            .unwrap_err();
        assert_eq!(
            refusal,
            RetireRefusal::TokensAlive {
                kid: "old".into(),
                until: safe
            }
        );
        assert!(
            refusal.to_string().contains("2025-06-02T01:06:30Z"),
            "{refusal}"
        );
        assert!(!m.keys[0].is_retired());
    }

    #[test]
    fn retire_with_force_retires_a_key_whose_tokens_may_be_alive() {
        let mut m = rotated();
        let at = T0 + HOUR * 2;
        assert_eq!(
            m.retire("old", at, 12 * HOUR, true),
            Ok(RetireOutcome::Retired)
        );
        assert_eq!(m.keys[0].retired_at, Some(at));
        assert_eq!(published(&m), ["new"]);
    }

    #[test]
    fn retire_accepts_a_key_once_its_tokens_have_expired() {
        let mut m = rotated();
        let safe = T0 + HOUR + time::Duration::minutes(5) + 12 * HOUR + Duration::from_secs(90);
        assert_eq!(
            m.expired(safe - time::Duration::seconds(1), 12 * HOUR),
            Vec::<String>::new()
        );
        assert_eq!(m.expired(safe, 12 * HOUR), ["old"]);
        assert_eq!(
            m.retire("old", safe, 12 * HOUR, false),
            Ok(RetireOutcome::Retired)
        );
        assert_eq!(
            m.retire("old", safe + HOUR, 12 * HOUR, false),
            Ok(RetireOutcome::AlreadyRetired(safe))
        );
    }

    #[test]
    fn retire_accepts_a_pending_key_which_signed_nothing() {
        let mut m = rotated();
        assert_eq!(
            m.retire("new", T0 + HOUR, 12 * HOUR, false),
            Ok(RetireOutcome::Retired)
        );
        assert_eq!(signer(&m, T0 + HOUR * 5), "old");
    }

    #[test]
    fn retire_of_an_unknown_kid_is_refused() {
        assert_eq!(
            rotated().retire("nope", T0, HOUR, true),
            Err(RetireRefusal::UnknownKid("nope".into()))
        );
    }

    #[test]
    fn the_key_set_signs_with_the_key_in_force() {
        let a = crate::keys::signing_key::tests::test_key();
        let b = crate::keys::signing_key::tests::second_test_key();
        let m = Manifest::new(vec![
            entry(a.kid(), T0, T0),
            entry(b.kid(), T0 + HOUR, T0 + HOUR * 2),
        ]);
        let loaded = HashMap::from([
            (a.kid().to_owned(), a.clone()),
            (b.kid().to_owned(), b.clone()),
        ]);
        let before = m.key_set_at(T0 + HOUR, &loaded).unwrap();
        assert_eq!(before.signing().kid(), a.kid());
        assert!(before.find(b.kid()).is_some(), "the pending key verifies");
        let after = m.key_set_at(T0 + HOUR * 2, &loaded).unwrap();
        assert_eq!(after.signing().kid(), b.kid());
        assert_eq!(
            after
                .jwks()
                .keys
                .iter()
                .map(|k| k.kid.as_str())
                .collect::<Vec<_>>(),
            [b.kid(), a.kid()]
        );
        let missing = HashMap::from([(a.kid().to_owned(), a)]);
        assert_eq!(
            m.key_set_at(T0, &missing).unwrap_err(),
            ManifestError::NotLoaded(b.kid().to_owned())
        );
    }
}
