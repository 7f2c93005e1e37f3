//! The keys a running process signs and verifies with, kept current without a restart.
//!
//! Replicas share the data directory; `keys rotate` and `keys retire` change the manifest there,
//! and each process notices by itself: a background task re-reads the manifest every
//! [`RELOAD_INTERVAL`], and a token naming a key we do not know triggers one early re-read (at
//! most one per [`UNKNOWN_KID_RELOAD_INTERVAL`], so a flood of forged kids cannot turn into a
//! flood of disk reads). Which key signs depends on the time, so [`Keyring::current`] works the
//! key set out for the current time: a pending key starts signing at its `signs_from` on every
//! replica, reload or not.
//!
//! Reads are lock-free (`arc-swap`): every request takes an `Arc<KeySet>` snapshot and keeps it
//! for as long as it needs, whatever reloads happen meanwhile.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use sliderule_protocol::Claims;
use time::OffsetDateTime;

use super::storage::{self, KeyDir, KeyLoadError, Snapshot};
use super::{Expected, KeyBits, KeySet, SigningKey, TokenError};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;

/// How often running processes re-read the keyring manifest.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(30);

/// At most one re-read per this interval is triggered by tokens naming unknown keys.
pub const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// What the keys come from: a fixed key (the configured file, or a test's), or the data
/// directory's keyring, which changes under us.
#[derive(Debug)]
enum Source {
    Fixed,
    Dir(KeyDir),
}

/// The keys at one reading of the source, and the key set worked out for a span of time.
struct View {
    snapshot: Arc<Snapshot>,
    set: Arc<KeySet>,
    /// The set holds from this time (when it was worked out) ...
    from: OffsetDateTime,
    /// ... until a pending key starts signing, if one does.
    until: Option<OffsetDateTime>,
}

impl View {
    fn at(snapshot: Arc<Snapshot>, now: OffsetDateTime) -> Result<Self, KeyLoadError> {
        let set = snapshot
            .manifest
            .key_set_at(now, &snapshot.keys)
            .map_err(KeyLoadError::Unusable)?;
        Ok(Self {
            until: snapshot.manifest.next_change_after(now),
            set: Arc::new(set),
            snapshot,
            from: now,
        })
    }

    fn covers(&self, now: OffsetDateTime) -> bool {
        self.from <= now && self.until.is_none_or(|until| now < until)
    }
}

pub struct Keyring {
    source: Source,
    clock: Arc<dyn Clock>,
    view: ArcSwap<View>,
    /// Reloads run one at a time, so an older reading never replaces a newer one.
    reloading: Mutex<()>,
    unknown_kid_reload_interval: Duration,
    last_unknown_kid_reload: Mutex<Option<Instant>>,
    last_reload_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("source", &self.source)
            .field("signing", &self.current().signing().kid())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// The keys of this configuration: the configured key file (fixed for the life of the
    /// process: rotate it by replacing the file and restarting), or the data directory's
    /// keyring, created with a first key if the directory has none.
    pub fn open(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, KeyLoadError> {
        match &config.authenticator.signing_key_file {
            Some(file) => Self::new(Source::Fixed, storage::read_configured(file)?, clock),
            None => {
                let dir = KeyDir::in_data_dir(&config.data_dir);
                let (snapshot, _) = dir.read_or_create(KeyBits::default(), clock.now())?;
                Self::new(Source::Dir(dir), snapshot, clock)
            }
        }
    }

    /// One key that always signs (tests, and callers that manage their own key).
    pub fn fixed(key: SigningKey) -> Self {
        Self::fixed_set(KeySet::single(key))
    }

    /// A key set that never changes (KMS keys: rotation is a new configuration).
    pub fn fixed_set(set: KeySet) -> Self {
        let entries = set
            .published()
            .map(|key| super::manifest::KeyEntry {
                kid: key.kid().to_owned(),
                created_at: OffsetDateTime::UNIX_EPOCH,
                signs_from: OffsetDateTime::UNIX_EPOCH,
                retired_at: None,
            })
            .collect();
        let snapshot = Snapshot {
            manifest: super::manifest::Manifest::new(entries),
            keys: set
                .published_arcs()
                .map(|key| (key.kid().to_owned(), key))
                .collect(),
            layout: storage::Layout::ConfiguredFile,
        };
        let view = View {
            snapshot: Arc::new(snapshot),
            set: Arc::new(set),
            from: OffsetDateTime::UNIX_EPOCH,
            until: None,
        };
        Self::with_view(Source::Fixed, view, Arc::new(SystemClock))
    }

    fn new(
        source: Source,
        snapshot: Snapshot,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyLoadError> {
        let view = View::at(Arc::new(snapshot), clock.now())?;
        Ok(Self::with_view(source, view, clock))
    }

    fn with_view(source: Source, view: View, clock: Arc<dyn Clock>) -> Self {
        Self {
            source,
            clock,
            view: ArcSwap::from_pointee(view),
            reloading: Mutex::new(()),
            unknown_kid_reload_interval: UNKNOWN_KID_RELOAD_INTERVAL,
            last_unknown_kid_reload: Mutex::new(None),
            last_reload_error: Mutex::new(None),
        }
    }

    /// The key directory this keyring reloads from; `None` for a fixed key.
    pub fn directory(&self) -> Option<&Path> {
        match &self.source {
            Source::Dir(dir) => Some(dir.path()),
            Source::Fixed => None,
        }
    }

    /// The key set in force now: who signs, who is published. Lock-free; the set is worked out
    /// again only when the time passes a pending key's start (or goes backwards).
    pub fn current(&self) -> Arc<KeySet> {
        let now = self.clock.now();
        let view = self.view.load();
        if view.covers(now) {
            return view.set.clone();
        }
        match View::at(view.snapshot.clone(), now) {
            Ok(fresh) => {
                if fresh.set.signing().kid() != view.set.signing().kid() {
                    tracing::info!(
                        kid = fresh.set.signing().kid(),
                        "a new key signs from now on"
                    );
                }
                let set = fresh.set.clone();
                // Only if no reload replaced the view meanwhile: a newer reading wins.
                self.view.compare_and_swap(&*view, Arc::new(fresh));
                set
            }
            // Cannot happen for a snapshot that was checked when read; keep what we had.
            Err(_) => view.set.clone(),
        }
    }

    /// Verifies one of our tokens (see [`super::verify`]). A token naming a key we do not
    /// publish triggers one re-read of the keyring first (rate-limited), so a key rotated in
    /// by another process is accepted before our next scheduled reload.
    ///
    /// The re-read is a small blocking file read on the calling thread; the rate limit keeps it
    /// rare enough not to matter to the async runtime.
    pub fn verify(&self, token: &str, expected: Expected<'_>) -> Result<Claims, TokenError> {
        match super::verify(token, &self.current(), expected) {
            Err(TokenError::UnknownKey) if self.reload_for_unknown_kid() => {
                super::verify(token, &self.current(), expected)
            }
            other => other,
        }
    }

    /// Whether a reload was done (not rate-limited, and it succeeded).
    fn reload_for_unknown_kid(&self) -> bool {
        if matches!(self.source, Source::Fixed) {
            return false;
        }
        {
            let mut last = self
                .last_unknown_kid_reload
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < self.unknown_kid_reload_interval) {
                return false;
            }
            *last = Some(Instant::now());
        }
        match self.reload() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload the keyring for a token naming an unknown key");
                false
            }
        }
    }

    /// Re-reads the keyring now. On failure the keys loaded before stay in force (a damaged
    /// manifest must not stop a running service) and the error is kept for `/ready`.
    pub fn reload(&self) -> Result<(), KeyLoadError> {
        let Source::Dir(dir) = &self.source else {
            return Ok(());
        };
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let previous = self.view.load_full();
        let result = dir
            .read(Some(&previous.snapshot))
            .and_then(|read| read.ok_or_else(|| KeyLoadError::NoKeyring(dir.path().to_owned())))
            .and_then(|snapshot| View::at(Arc::new(snapshot), self.clock.now()));
        let mut last_error = self
            .last_reload_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(view) => {
                if view.snapshot.manifest != previous.snapshot.manifest {
                    let published: Vec<&str> = view.set.published().map(SigningKey::kid).collect();
                    tracing::info!(
                        signing = view.set.signing().kid(),
                        ?published,
                        "keyring changed"
                    );
                }
                self.view.store(Arc::new(view));
                *last_error = None;
                Ok(())
            }
            Err(e) => {
                *last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Why the last reload failed, if it did (the keys loaded before are still in force).
    pub fn last_reload_error(&self) -> Option<String> {
        self.last_reload_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Starts re-reading the keyring every `every` on the tokio runtime; stops when the
    /// returned handle is dropped (or the keyring is). `None` for a fixed key: nothing changes.
    pub fn spawn_reloader(self: &Arc<Self>, every: Duration) -> Option<ReloadTask> {
        if matches!(self.source, Source::Fixed) {
            return None;
        }
        let keyring = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate, and the keys were just read.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(keyring) = keyring.upgrade() else {
                    break;
                };
                // File reads block: keep them off the async workers.
                match tokio::task::spawn_blocking(move || keyring.reload()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(
                        error = %e,
                        "cannot reload the keyring; the keys loaded before stay in force"
                    ),
                    Err(e) => tracing::warn!(error = %e, "the keyring reload failed"),
                }
            }
        });
        Some(ReloadTask(task))
    }

    #[cfg(test)]
    fn set_unknown_kid_reload_interval(&mut self, interval: Duration) {
        self.unknown_kid_reload_interval = interval;
    }
}

/// The background reload; dropping it stops it.
#[derive(Debug)]
pub struct ReloadTask(tokio::task::JoinHandle<()>);

impl Drop for ReloadTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::manifest::{KeyEntry, Manifest};
    use crate::keys::signing_key::tests::{second_test_key, test_key};
    use serde_json::json;
    use std::sync::atomic::{AtomicI64, Ordering};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);
    const ISSUER: &str = "https://login.sliderule.test";

    /// A clock the test moves by hand, starting at T0.
    fn manual_clock() -> (Arc<dyn Clock>, Arc<AtomicI64>) {
        let offset = Arc::new(AtomicI64::new(0));
        let read = offset.clone();
        let clock = Arc::new(move || T0 + time::Duration::seconds(read.load(Ordering::SeqCst)));
        (clock, offset)
    }

    fn token(key: &SigningKey) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        key.sign(&json!({
            "iss": ISSUER, "sub": "bob", "aud": ["provisioner"], "org": "SlideRuleEarth",
            "org_roles": ["member"], "iat": now, "exp": now + 600,
        }))
        .unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISSUER,
            audience: Some("provisioner"),
        }
    }

    /// A data directory whose keyring holds `test_key`, signing since T0.
    fn keyring_dir() -> (tempfile::TempDir, KeyDir) {
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        let manifest = Manifest::new(vec![KeyEntry {
            kid: test_key().kid().to_owned(),
            created_at: T0,
            signs_from: T0,
            retired_at: None,
        }]);
        let lock = dir.lock().unwrap();
        dir.commit(&lock, None, &manifest, &[&test_key()]).unwrap();
        (data, dir)
    }

    /// Adds `second_test_key` to the keyring on disk, signing from `signs_from`.
    fn rotate_on_disk(dir: &KeyDir, signs_from: OffsetDateTime) {
        let lock = dir.lock().unwrap();
        let before = dir.read(None).unwrap().unwrap();
        let mut manifest = before.manifest.clone();
        manifest.add(KeyEntry {
            kid: second_test_key().kid().to_owned(),
            created_at: T0 + time::Duration::minutes(1),
            signs_from,
            retired_at: None,
        });
        dir.commit(&lock, Some(&before), &manifest, &[&second_test_key()])
            .unwrap();
    }

    fn open(dir: &KeyDir, clock: Arc<dyn Clock>) -> Keyring {
        let snapshot = dir.read(None).unwrap().unwrap();
        Keyring::new(Source::Dir(dir.clone()), snapshot, clock).unwrap()
    }

    fn kids(set: &KeySet) -> Vec<String> {
        set.jwks().keys.into_iter().map(|k| k.kid).collect()
    }

    #[test]
    fn a_reload_publishes_a_rotated_key_that_signs_only_from_its_time() {
        let (_data, dir) = keyring_dir();
        let (clock, offset) = manual_clock();
        let keyring = open(&dir, clock);
        rotate_on_disk(&dir, T0 + time::Duration::minutes(6));

        assert_eq!(
            kids(&keyring.current()),
            [test_key().kid()],
            "not reloaded yet"
        );
        keyring.reload().unwrap();
        let set = keyring.current();
        assert_eq!(kids(&set), [second_test_key().kid(), test_key().kid()]);
        assert_eq!(set.signing().kid(), test_key().kid());

        offset.store(6 * 60 - 1, Ordering::SeqCst);
        assert_eq!(keyring.current().signing().kid(), test_key().kid());
        offset.store(6 * 60, Ordering::SeqCst);
        assert_eq!(
            keyring.current().signing().kid(),
            second_test_key().kid(),
            "the pending key signs at its time without another reload"
        );
    }

    #[test]
    fn the_key_set_follows_a_clock_that_goes_backwards() {
        let (_data, dir) = keyring_dir();
        rotate_on_disk(&dir, T0 + time::Duration::minutes(6));
        let (clock, offset) = manual_clock();
        offset.store(3600, Ordering::SeqCst);
        let keyring = open(&dir, clock);
        assert_eq!(keyring.current().signing().kid(), second_test_key().kid());
        offset.store(0, Ordering::SeqCst);
        assert_eq!(keyring.current().signing().kid(), test_key().kid());
    }

    #[test]
    fn a_token_naming_a_key_not_loaded_yet_verifies_after_one_reload() {
        let (_data, dir) = keyring_dir();
        let keyring = open(&dir, manual_clock().0);
        rotate_on_disk(&dir, T0 + time::Duration::minutes(6));
        let claims = keyring
            .verify(&token(&second_test_key()), expected())
            .unwrap();
        assert_eq!(claims.sub, "bob");
    }

    #[test]
    fn unknown_kids_reload_the_keyring_at_most_once_per_interval() {
        let (_data, dir) = keyring_dir();
        let keyring = open(&dir, manual_clock().0);
        // A key nobody has: the reload it triggers finds nothing new.
        let stranger = SigningKey::generate(KeyBits::Rsa2048).unwrap();
        assert_eq!(
            keyring.verify(&token(&stranger), expected()),
            Err(TokenError::UnknownKey)
        );
        rotate_on_disk(&dir, T0 + time::Duration::minutes(6));
        assert_eq!(
            keyring.verify(&token(&second_test_key()), expected()),
            Err(TokenError::UnknownKey),
            "within the interval no second reload happens"
        );
    }

    #[test]
    fn without_a_rate_limit_every_unknown_kid_reloads() {
        let (_data, dir) = keyring_dir();
        let mut keyring = open(&dir, manual_clock().0);
        keyring.set_unknown_kid_reload_interval(Duration::ZERO);
        let stranger = SigningKey::generate(KeyBits::Rsa2048).unwrap();
        assert_eq!(
            keyring.verify(&token(&stranger), expected()),
            Err(TokenError::UnknownKey)
        );
        rotate_on_disk(&dir, T0 + time::Duration::minutes(6));
        assert!(
            keyring
                .verify(&token(&second_test_key()), expected())
                .is_ok()
        );
    }

    #[test]
    fn a_retired_keys_tokens_are_unknown_after_a_reload() {
        let (_data, dir) = keyring_dir();
        rotate_on_disk(&dir, T0 + time::Duration::minutes(6));
        let (clock, offset) = manual_clock();
        let keyring = open(&dir, clock);
        let old = token(&test_key());
        assert!(keyring.verify(&old, expected()).is_ok());

        offset.store(13 * 3600, Ordering::SeqCst);
        let lock = dir.lock().unwrap();
        let before = dir.read(None).unwrap().unwrap();
        let mut manifest = before.manifest.clone();
        manifest
            .retire(
                test_key().kid(),
                T0 + time::Duration::hours(13),
                Duration::from_secs(12 * 3600),
                false,
            )
            .unwrap();
        dir.commit(&lock, Some(&before), &manifest, &[]).unwrap();
        drop(lock);

        keyring.reload().unwrap();
        assert_eq!(
            keyring.verify(&old, expected()),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(kids(&keyring.current()), [second_test_key().kid()]);
    }

    #[test]
    fn a_failed_reload_keeps_the_keys_in_force_and_says_why() {
        let (_data, dir) = keyring_dir();
        let keyring = open(&dir, manual_clock().0);
        std::fs::write(
            dir.path().join(storage::MANIFEST_FILE),
            "this is not a manifest",
        )
        .unwrap();
        assert!(keyring.reload().is_err());
        assert_eq!(keyring.current().signing().kid(), test_key().kid());
        let why = keyring.last_reload_error().unwrap();
        assert!(why.contains("keyring.toml"), "{why}");
    }

    #[test]
    fn a_fixed_key_never_reloads() {
        let keyring = Keyring::fixed(SigningKey::from_pem(test_key().private_pem()).unwrap());
        assert!(keyring.reload().is_ok());
        assert!(keyring.directory().is_none());
        assert_eq!(keyring.current().signing().kid(), test_key().kid());
        assert!(keyring.verify(&token(&test_key()), expected()).is_ok());
    }

    #[tokio::test]
    async fn the_background_reloader_picks_up_a_rotation() {
        let (_data, dir) = keyring_dir();
        let keyring = Arc::new(open(&dir, manual_clock().0));
        let _task = keyring
            .spawn_reloader(Duration::from_millis(20))
            .expect("a data-directory keyring reloads");
        rotate_on_disk(&dir, T0 + time::Duration::minutes(6));
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while keyring.current().find(second_test_key().kid()).is_none() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "the rotated key is published within the timeout"
        );
    }

    #[tokio::test]
    async fn dropping_the_reloader_stops_it() {
        let (_data, dir) = keyring_dir();
        let keyring = Arc::new(open(&dir, manual_clock().0));
        let task = keyring.spawn_reloader(Duration::from_millis(10)).unwrap();
        let handle = task.0.abort_handle();
        drop(task);
        tokio::time::timeout(Duration::from_secs(5), async {
            while !handle.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the task ends");
    }
}
