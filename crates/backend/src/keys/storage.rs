//! Where signing keys live: the configured PEM file, or the keyring in `<data_dir>/keys/`.
//!
//! The keyring is one private key per file (`<kid>.pem`, mode 0600) and a manifest
//! (`keyring.toml`, see [`super::manifest`]) saying when each key signs and whether it is
//! retired. Servers read it without locks, so writers keep it consistent for every reader at
//! every instant: a key file is written before the manifest names it, the manifest is replaced
//! atomically, and a file is removed only after the manifest stopped naming it. Writers (the
//! `keys` commands, and a server generating the first key) serialize on a lock file.
//!
//! Data directories from before the keyring hold one key, `signing.pem`. It is read as a keyring
//! of that key, signing since forever; the first command that changes the keyring converts it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use super::files::{self, DirLock};
use super::manifest::{KeyEntry, Manifest, ManifestError};
use super::{KeyBits, KeyError, SigningKey};
use crate::config::ConfigError;

pub const MANIFEST_FILE: &str = "keyring.toml";
/// The single generated key of data directories from before the keyring.
pub const LEGACY_KEY_FILE: &str = "signing.pem";
const LOCK_FILE: &str = ".keyring.lock";

#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// The operator's configuration points at something unusable: reported like any bad key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the stored key {path} is unusable ({source}); move it away to generate a new one")]
    Stored { path: PathBuf, source: KeyError },
    #[error("{path} does not hold key {kid}")]
    KidMismatch { path: PathBuf, kid: String },
    #[error("the keyring manifest {path} is unusable: {source}")]
    Manifest {
        path: PathBuf,
        source: ManifestError,
    },
    #[error("{path} is missing: the key directory changed while it was read, or was damaged")]
    Vanished { path: PathBuf },
    #[error("no keyring in {0}")]
    NoKeyring(PathBuf),
    #[error("the keys read cannot sign: {0}")]
    Unusable(ManifestError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// How the keys were stored, for messages and for converting old data directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `authenticator.signing_key_file`: one key the operator manages.
    ConfiguredFile,
    /// `keyring.toml` and `<kid>.pem` files.
    Keyring,
    /// A lone `signing.pem` from before the keyring.
    Legacy,
}

/// A consistent reading of the keys: the manifest and the private key of every live key.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub manifest: Manifest,
    pub keys: HashMap<String, Arc<SigningKey>>,
    pub layout: Layout,
}

impl Snapshot {
    /// One key that has always signed: a configured file or a legacy `signing.pem`.
    fn single(key: SigningKey, created_at: OffsetDateTime, layout: Layout) -> Self {
        let entry = KeyEntry {
            kid: key.kid().to_owned(),
            created_at,
            signs_from: OffsetDateTime::UNIX_EPOCH,
            retired_at: None,
        };
        Self {
            manifest: Manifest::new(vec![entry]),
            keys: HashMap::from([(key.kid().to_owned(), Arc::new(key))]),
            layout,
        }
    }
}

/// Reads the operator's key file (`authenticator.signing_key_file`).
pub fn read_configured(file: &Path) -> Result<Snapshot, KeyLoadError> {
    let key_name = "authenticator.signing_key_file";
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::new(key_name, format!("cannot read {}: {e}", file.display())))?;
    let key = SigningKey::from_pem(&text)
        .map_err(|e| ConfigError::new(key_name, format!("{}: {e}", file.display())))?;
    Ok(Snapshot::single(
        key,
        modified(file),
        Layout::ConfiguredFile,
    ))
}

/// The keyring of a data directory: `<data_dir>/keys/`.
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("keys"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn io_error(&self, path: &Path) -> impl FnOnce(std::io::Error) -> KeyLoadError {
        let path = path.to_owned();
        move |source| KeyLoadError::Io { path, source }
    }

    /// Reads the keyring; `None` when the directory holds no keys yet. Keys already in
    /// `previous` are reused rather than parsed again (a kid names one key forever).
    pub fn read(&self, previous: Option<&Snapshot>) -> Result<Option<Snapshot>, KeyLoadError> {
        match self.read_once(previous) {
            // A writer replaced the manifest and removed a file between two of our reads; the
            // second reading sees the new manifest.
            Err(KeyLoadError::Vanished { .. }) => self.read_once(previous),
            other => other,
        }
    }

    fn read_once(&self, previous: Option<&Snapshot>) -> Result<Option<Snapshot>, KeyLoadError> {
        let manifest_path = self.dir.join(MANIFEST_FILE);
        match std::fs::read_to_string(&manifest_path) {
            Ok(text) => {
                let manifest = Manifest::parse(&text).map_err(|source| KeyLoadError::Manifest {
                    path: manifest_path.clone(),
                    source,
                })?;
                self.read_keys(manifest, previous).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.read_legacy(),
            Err(e) => Err(self.io_error(&manifest_path)(e)),
        }
    }

    fn read_keys(
        &self,
        manifest: Manifest,
        previous: Option<&Snapshot>,
    ) -> Result<Snapshot, KeyLoadError> {
        if manifest.published().next().is_none() {
            return Err(KeyLoadError::Manifest {
                path: self.dir.join(MANIFEST_FILE),
                source: ManifestError::NoLiveKey,
            });
        }
        let mut keys = HashMap::new();
        for entry in manifest.published() {
            let cached = previous.and_then(|p| p.keys.get(&entry.kid));
            let key = match cached {
                Some(key) => key.clone(),
                None => Arc::new(self.read_key(&entry.kid)?),
            };
            keys.insert(entry.kid.clone(), key);
        }
        Ok(Snapshot {
            manifest,
            keys,
            layout: Layout::Keyring,
        })
    }

    fn read_key(&self, kid: &str) -> Result<SigningKey, KeyLoadError> {
        let path = self.dir.join(format!("{kid}.pem"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyLoadError::Vanished { path });
            }
            Err(e) => return Err(self.io_error(&path)(e)),
        };
        let key = SigningKey::from_pem(&text).map_err(|source| KeyLoadError::Stored {
            path: path.clone(),
            source,
        })?;
        if key.kid() != kid {
            return Err(KeyLoadError::KidMismatch {
                path,
                kid: kid.to_owned(),
            });
        }
        Ok(key)
    }

    fn read_legacy(&self) -> Result<Option<Snapshot>, KeyLoadError> {
        let path = self.dir.join(LEGACY_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = SigningKey::from_pem(&text).map_err(|source| KeyLoadError::Stored {
                    path: path.clone(),
                    source,
                })?;
                Ok(Some(Snapshot::single(key, modified(&path), Layout::Legacy)))
            }
            // A conversion may have written the manifest and removed signing.pem since we
            // looked for the manifest: then it is there now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.dir.join(MANIFEST_FILE).exists() {
                    Err(KeyLoadError::Vanished { path })
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(self.io_error(&path)(e)),
        }
    }

    /// Takes the writers' lock, creating the directory if needed.
    pub fn lock(&self) -> Result<DirLock, KeyLoadError> {
        files::create_private_dir(&self.dir).map_err(self.io_error(&self.dir))?;
        let path = self.dir.join(LOCK_FILE);
        DirLock::acquire(&path).map_err(self.io_error(&path))
    }

    /// Reads the keyring, or creates it with one key that signs from `now` if there is none.
    /// Returns whether it was created. Processes starting at once agree on one key: creation
    /// happens under the lock, after looking again.
    pub fn read_or_create(
        &self,
        bits: KeyBits,
        now: OffsetDateTime,
    ) -> Result<(Snapshot, bool), KeyLoadError> {
        if let Some(snapshot) = self.read(None)? {
            return Ok((snapshot, false));
        }
        let lock = self.lock()?;
        if let Some(snapshot) = self.read(None)? {
            return Ok((snapshot, false));
        }
        let key = SigningKey::generate(bits)?;
        let now = super::manifest::whole_seconds(now);
        let manifest = Manifest::new(vec![KeyEntry {
            kid: key.kid().to_owned(),
            created_at: now,
            signs_from: now,
            retired_at: None,
        }]);
        self.commit(&lock, None, &manifest, &[&key])?;
        tracing::info!(kid = key.kid(), dir = %self.dir.display(), "generated a signing key");
        let snapshot = Snapshot {
            manifest,
            keys: HashMap::from([(key.kid().to_owned(), Arc::new(key))]),
            layout: Layout::Keyring,
        };
        Ok((snapshot, true))
    }

    /// Writes `manifest` as the keyring's new state, under `_lock`. `before` is what the caller
    /// read under the same lock; `new_keys` are keys the manifest names for the first time.
    /// A legacy `signing.pem` is converted, and the private keys of retired keys are removed
    /// (they never sign or verify again, so keeping them is only a risk).
    pub fn commit(
        &self,
        _lock: &DirLock,
        before: Option<&Snapshot>,
        manifest: &Manifest,
        new_keys: &[&SigningKey],
    ) -> Result<(), KeyLoadError> {
        files::create_private_dir(&self.dir).map_err(self.io_error(&self.dir))?;
        let legacy = before.filter(|b| b.layout == Layout::Legacy);
        let carried = legacy
            .into_iter()
            .flat_map(|b| b.keys.values().map(AsRef::as_ref));
        // Key files first: a reader that sees the new manifest finds every key it names.
        for key in new_keys.iter().copied().chain(carried) {
            let name = format!("{}.pem", key.kid());
            files::write_private(&self.dir, &name, key.private_pem())
                .map_err(self.io_error(&self.dir.join(&name)))?;
        }
        files::write_private(&self.dir, MANIFEST_FILE, &manifest.to_toml())
            .map_err(self.io_error(&self.dir.join(MANIFEST_FILE)))?;
        if legacy.is_some() {
            let path = self.dir.join(LEGACY_KEY_FILE);
            files::remove_if_present(&path).map_err(self.io_error(&path))?;
            tracing::info!(dir = %self.dir.display(), "converted signing.pem into a keyring");
        }
        for retired in manifest.keys.iter().filter(|k| k.is_retired()) {
            let path = self.dir.join(format!("{}.pem", retired.kid));
            files::remove_if_present(&path).map_err(self.io_error(&path))?;
        }
        Ok(())
    }
}

/// When a key file was last written: the creation time we report for keys from before the
/// keyring, which recorded none.
fn modified(path: &Path) -> OffsetDateTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| super::manifest::whole_seconds(OffsetDateTime::from(t)))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::signing_key::tests::{second_test_key, test_key};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn legacy_dir() -> (tempfile::TempDir, KeyDir) {
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        std::fs::create_dir_all(dir.path()).unwrap();
        std::fs::write(dir.path().join(LEGACY_KEY_FILE), test_key().private_pem()).unwrap();
        (data, dir)
    }

    #[test]
    fn an_empty_data_directory_has_no_keyring() {
        let data = tempfile::TempDir::new().unwrap();
        assert!(
            KeyDir::in_data_dir(data.path())
                .read(None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_first_key_is_generated_once_and_kept_for_the_next_start() {
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        let (first, created) = dir.read_or_create(KeyBits::Rsa2048, T0).unwrap();
        assert!(created);
        let (second, created) = dir.read_or_create(KeyBits::Rsa2048, T0).unwrap();
        assert!(!created);
        assert_eq!(first.manifest, second.manifest);
        let entry = &second.manifest.keys[0];
        assert_eq!((entry.created_at, entry.signs_from), (T0, T0));
        let mut expected = vec![
            ".keyring.lock".to_owned(),
            format!("{}.pem", entry.kid),
            MANIFEST_FILE.to_owned(),
        ];
        expected.sort();
        assert_eq!(names(dir.path()), expected, "no temporary files");
    }

    #[cfg(unix)]
    #[test]
    fn key_files_and_the_manifest_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        let (snapshot, _) = dir.read_or_create(KeyBits::Rsa2048, T0).unwrap();
        let kid = &snapshot.manifest.keys[0].kid;
        for name in [format!("{kid}.pem"), MANIFEST_FILE.to_owned()] {
            let mode = std::fs::metadata(dir.path().join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the key directory");
    }

    #[test]
    fn a_legacy_signing_pem_reads_as_a_key_that_has_always_signed() {
        let (_data, dir) = legacy_dir();
        let snapshot = dir.read(None).unwrap().unwrap();
        assert_eq!(snapshot.layout, Layout::Legacy);
        let entry = &snapshot.manifest.keys[0];
        assert_eq!(entry.kid, test_key().kid());
        assert_eq!(entry.signs_from, OffsetDateTime::UNIX_EPOCH);
        let set = snapshot.manifest.key_set_at(T0, &snapshot.keys).unwrap();
        assert_eq!(set.signing().kid(), test_key().kid());
        assert_eq!(
            names(dir.path()),
            [LEGACY_KEY_FILE],
            "reading writes nothing"
        );
    }

    #[test]
    fn a_commit_converts_a_legacy_signing_pem_into_a_keyring() {
        let (_data, dir) = legacy_dir();
        let before = dir.read(None).unwrap().unwrap();
        let mut manifest = before.manifest.clone();
        let new = second_test_key();
        manifest.add(KeyEntry {
            kid: new.kid().to_owned(),
            created_at: T0,
            signs_from: T0,
            retired_at: None,
        });
        let lock = dir.lock().unwrap();
        dir.commit(&lock, Some(&before), &manifest, &[&new])
            .unwrap();
        drop(lock);

        let after = dir.read(None).unwrap().unwrap();
        assert_eq!(after.layout, Layout::Keyring);
        assert_eq!(after.manifest, manifest);
        let legacy = after.manifest.find(test_key().kid()).unwrap();
        assert_eq!(legacy.signs_from, OffsetDateTime::UNIX_EPOCH);
        let mut expected = vec![
            ".keyring.lock".to_owned(),
            format!("{}.pem", test_key().kid()),
            format!("{}.pem", new.kid()),
            MANIFEST_FILE.to_owned(),
        ];
        expected.sort();
        assert_eq!(
            names(dir.path()),
            expected,
            "signing.pem is gone, no temporary files"
        );
    }

    #[test]
    fn a_retired_keys_private_key_is_removed() {
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        let (before, _) = dir.read_or_create(KeyBits::Rsa2048, T0).unwrap();
        let old = before.manifest.keys[0].kid.clone();
        let new = test_key();
        let mut manifest = before.manifest.clone();
        manifest.add(KeyEntry {
            kid: new.kid().to_owned(),
            created_at: T0 + time::Duration::hours(1),
            signs_from: T0 + time::Duration::hours(1),
            retired_at: None,
        });
        manifest.keys[0].retired_at = Some(T0 + time::Duration::hours(20));
        let lock = dir.lock().unwrap();
        dir.commit(&lock, Some(&before), &manifest, &[&new])
            .unwrap();
        assert!(!dir.path().join(format!("{old}.pem")).exists());
        let after = dir.read(None).unwrap().unwrap();
        assert_eq!(after.keys.keys().collect::<Vec<_>>(), [new.kid()]);
    }

    #[test]
    fn a_key_file_holding_another_key_is_refused() {
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        let (snapshot, _) = dir.read_or_create(KeyBits::Rsa2048, T0).unwrap();
        let kid = &snapshot.manifest.keys[0].kid;
        std::fs::write(
            dir.path().join(format!("{kid}.pem")),
            test_key().private_pem(),
        )
        .unwrap();
        assert!(matches!(
            dir.read(None),
            Err(KeyLoadError::KidMismatch { kid: k, .. }) if &k == kid
        ));
    }

    #[test]
    fn a_missing_key_file_is_reported_with_its_path() {
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        let (snapshot, _) = dir.read_or_create(KeyBits::Rsa2048, T0).unwrap();
        let kid = &snapshot.manifest.keys[0].kid;
        std::fs::remove_file(dir.path().join(format!("{kid}.pem"))).unwrap();
        let err = dir.read(None).unwrap_err();
        assert!(err.to_string().contains(&format!("{kid}.pem")), "{err}");
    }

    #[test]
    fn cached_keys_are_reused_without_reading_their_files() {
        let data = tempfile::TempDir::new().unwrap();
        let dir = KeyDir::in_data_dir(data.path());
        let (snapshot, _) = dir.read_or_create(KeyBits::Rsa2048, T0).unwrap();
        let kid = snapshot.manifest.keys[0].kid.clone();
        std::fs::remove_file(dir.path().join(format!("{kid}.pem"))).unwrap();
        let again = dir.read(Some(&snapshot)).unwrap().unwrap();
        assert!(Arc::ptr_eq(&again.keys[&kid], &snapshot.keys[&kid]));
    }

    #[test]
    fn a_configured_key_file_is_a_single_key_that_has_always_signed() {
        let data = tempfile::TempDir::new().unwrap();
        let file = data.path().join("operator.pem");
        std::fs::write(&file, test_key().private_pem()).unwrap();
        let snapshot = read_configured(&file).unwrap();
        assert_eq!(snapshot.layout, Layout::ConfiguredFile);
        let set = snapshot.manifest.key_set_at(T0, &snapshot.keys).unwrap();
        assert_eq!(set.signing().kid(), test_key().kid());
    }

    #[test]
    fn an_unreadable_key_file_is_a_configuration_error_naming_the_key() {
        let data = tempfile::TempDir::new().unwrap();
        let missing = data.path().join("nope.pem");
        let err = read_configured(&missing).unwrap_err();
        let KeyLoadError::Config(err) = err else {
            panic!("expected a configuration error, got {err:?}")
        };
        assert_eq!(err.key, "authenticator.signing_key_file");
        assert!(err.problem.contains("nope.pem"));
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_a_configuration_error() {
        let data = tempfile::TempDir::new().unwrap();
        let file = data.path().join("not-a-key.pem");
        std::fs::write(&file, "hello").unwrap();
        let err = read_configured(&file).unwrap_err();
        assert!(
            matches!(err, KeyLoadError::Config(e) if e.key == "authenticator.signing_key_file")
        );
    }
}
