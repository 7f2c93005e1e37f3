//! Where the signing key comes from at start: the configured PEM file, or a key generated into
//! `<data_dir>/keys/` on first start and reused after (demo and single-server deployments).
//!
//! A generated key is written with mode 0600 through a temporary file and a rename, so a crash
//! cannot leave half a key, and two processes starting at once agree on one key.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{KeyBits, KeyError, KeySet, SigningKey};
use crate::config::{Config, ConfigError};

const GENERATED_KEY: &str = "signing.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// The operator's configuration points at something unusable: reported like any bad key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot use the key directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the generated key {path} is unusable ({source}); move it away to generate a new one")]
    Generated { path: PathBuf, source: KeyError },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Loads the key set this process signs with.
pub fn load(config: &Config) -> Result<KeySet, KeyLoadError> {
    match &config.authenticator.signing_key_file {
        Some(file) => load_configured(file),
        None => load_or_generate(&config.data_dir.join("keys")),
    }
}

fn load_configured(file: &Path) -> Result<KeySet, KeyLoadError> {
    let key_name = "authenticator.signing_key_file";
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::new(key_name, format!("cannot read {}: {e}", file.display())))?;
    let key = SigningKey::from_pem(&text)
        .map_err(|e| ConfigError::new(key_name, format!("{}: {e}", file.display())))?;
    Ok(KeySet::single(key))
}

fn load_or_generate(dir: &Path) -> Result<KeySet, KeyLoadError> {
    let path = dir.join(GENERATED_KEY);
    let directory_error = |source| KeyLoadError::Directory {
        path: dir.to_owned(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = SigningKey::from_pem(&text)
                .map_err(|source| KeyLoadError::Generated { path, source })?;
            return Ok(KeySet::single(key));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(directory_error(e)),
    }
    std::fs::create_dir_all(dir).map_err(directory_error)?;
    let key = SigningKey::generate(KeyBits::default())?;
    write_private(dir, &path, key.private_pem()).map_err(directory_error)?;
    tracing::info!(kid = key.kid(), path = %path.display(), "generated a signing key");
    // Another process may have won the race between our read and our rename; both renames
    // succeed, so read back whichever key is now in place and use that one.
    let text = std::fs::read_to_string(&path).map_err(directory_error)?;
    let key =
        SigningKey::from_pem(&text).map_err(|source| KeyLoadError::Generated { path, source })?;
    Ok(KeySet::single(key))
}

fn write_private(dir: &Path, path: &Path, pem: &str) -> std::io::Result<()> {
    let mut temporary = tempfile_in(dir)?;
    temporary.1.write_all(pem.as_bytes())?;
    temporary.1.sync_all()?;
    std::fs::rename(&temporary.0, path)
}

/// A new file readable by its owner only (0600 on Unix).
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let path = dir.join(format!(".signing-{}.tmp", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSources, Mode};

    fn config_in(data: &Path, key_file: Option<&Path>) -> Config {
        let mut flags = vec![("data_dir", toml::Value::String(data.display().to_string()))];
        if let Some(file) = key_file {
            flags.push((
                "authenticator.signing_key_file",
                toml::Value::String(file.display().to_string()),
            ));
        }
        crate::config::load(
            Mode::Demo,
            ConfigSources {
                flags,
                ..Default::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn a_generated_key_is_kept_for_the_next_start() {
        let data = tempfile::TempDir::new().unwrap();
        let first = load(&config_in(data.path(), None)).unwrap();
        let second = load(&config_in(data.path(), None)).unwrap();
        assert_eq!(first.signing().kid(), second.signing().kid());
    }

    #[cfg(unix)]
    #[test]
    fn a_generated_key_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let data = tempfile::TempDir::new().unwrap();
        load(&config_in(data.path(), None)).unwrap();
        let mode = std::fs::metadata(data.path().join("keys").join(GENERATED_KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_configured_key_file_is_used() {
        let data = tempfile::TempDir::new().unwrap();
        let key = crate::keys::signing_key::tests::test_key();
        let file = data.path().join("operator.pem");
        std::fs::write(&file, key.private_pem()).unwrap();
        let keys = load(&config_in(data.path(), Some(&file))).unwrap();
        assert_eq!(keys.signing().kid(), key.kid());
        assert!(!data.path().join("keys").exists(), "nothing generated");
    }

    #[test]
    fn an_unreadable_key_file_is_a_configuration_error_naming_the_key() {
        let data = tempfile::TempDir::new().unwrap();
        let missing = data.path().join("nope.pem");
        let err = load(&config_in(data.path(), Some(&missing))).unwrap_err();
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
        let err = load(&config_in(data.path(), Some(&file))).unwrap_err();
        assert!(
            matches!(err, KeyLoadError::Config(e) if e.key == "authenticator.signing_key_file")
        );
    }
}
