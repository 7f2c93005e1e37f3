//! File operations the key directory needs: private files written atomically, a private
//! directory, and an exclusive lock for the commands that change the keyring.
//!
//! Running servers read the key directory without locking while `keys` commands change it, so
//! every file appears whole or not at all: it is written to a temporary file in the same
//! directory, synced, and renamed over its name.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `dir` (and its parents) if missing; a new key directory is readable by its owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Replaces `dir/name` with `contents`, readable by its owner only (0600 on Unix). Readers see
/// the old file or the new one, never a part; a failure leaves no temporary file behind.
pub fn write_private(dir: &Path, name: &str, contents: &str) -> std::io::Result<()> {
    let temporary = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
    let written =
        write_new(&temporary, contents).and_then(|()| std::fs::rename(&temporary, dir.join(name)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    sync_dir(dir);
    Ok(())
}

fn write_new(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Makes a rename durable across a power loss (best effort: not every platform can sync a
/// directory, and the rename itself has already happened).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Removes `path`; a file that is already gone is fine.
pub fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// An exclusive advisory lock on a file in the key directory, held until dropped. The operating
/// system releases it when the process dies, so a crashed command never blocks the next one.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Waits for the lock; the lock file is created if missing and never removed (removing it
    /// would let two processes hold locks on two different files).
    pub fn acquire(path: &Path) -> std::io::Result<Self> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        file.lock()?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::TempDir::new().unwrap();
        write_private(dir.path(), "a.txt", "one").unwrap();
        write_private(dir.path(), "a.txt", "two").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "two"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }

    #[test]
    fn a_failed_private_write_leaves_no_temporary_file() {
        let dir = tempfile::TempDir::new().unwrap();
        // Renaming a file over a non-empty directory fails after the temporary file is written.
        std::fs::create_dir(dir.path().join("taken")).unwrap();
        std::fs::write(dir.path().join("taken").join("x"), "x").unwrap();
        assert!(write_private(dir.path(), "taken", "data").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["taken"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_private_write_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        write_private(dir.path(), "secret", "x").unwrap();
        let mode = std::fs::metadata(dir.path().join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join(".lock");
        let first = DirLock::acquire(&path).unwrap();
        let other = File::open(&path).unwrap();
        assert!(other.try_lock().is_err(), "held by the first");
        drop(first);
        assert!(other.try_lock().is_ok(), "released on drop");
    }
}
