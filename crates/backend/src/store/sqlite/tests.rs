//! The shared store suite on SQLite, plus what only SQLite has: files, migrations, several
//! processes on one database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use time::macros::datetime;

use super::SqliteStore;
use super::migrations::MIGRATIONS;
use crate::store::{
    ClusterStore, CodeGrant, Family, RefreshRules, Rotation, Store, StoreError, TokenHash, suite,
};

/// Runs each suite function as its own test on a fresh in-memory store.
macro_rules! suite_on_memory {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = SqliteStore::open_in_memory().unwrap();
                suite::$name(&store).await;
            }
        )*
    };
}

suite::every_suite_function!(suite_on_memory);

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.db")
}

/// `count` stores opened on one file, each with its own connection, like separate processes.
fn stores_on_one_file(path: &Path, count: usize) -> Vec<Arc<dyn Store>> {
    (0..count)
        .map(|_| Arc::new(SqliteStore::open(path).unwrap()) as Arc<dyn Store>)
        .collect()
}

fn user_version(store: &SqliteStore) -> i64 {
    let conn = store.conn.lock().unwrap();
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

// Races

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_through_one_file_backed_store_redeem_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_redemptions_redeem_exactly_once(&stores_on_one_file(&db_path(&dir), 1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_through_two_stores_on_one_file_redeem_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_redemptions_redeem_exactly_once(&stores_on_one_file(&db_path(&dir), 2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_through_a_connection_per_racer_redeem_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), suite::RACERS);
    suite::concurrent_redemptions_redeem_exactly_once(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_through_one_file_backed_store_rotate_once_and_replay_to_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 1);
    suite::concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(&stores)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_through_two_stores_on_one_file_rotate_once_and_replay_to_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 2);
    suite::concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(&stores)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_through_a_connection_per_racer_rotate_once_and_replay_to_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), suite::RACERS);
    suite::concurrent_rotations_rotate_once_and_replay_the_successor_to_every_other_racer(&stores)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_through_one_file_backed_store_start_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_deploys_start_exactly_once(&stores_on_one_file(&db_path(&dir), 1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_through_two_stores_on_one_file_start_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_deploys_start_exactly_once(&stores_on_one_file(&db_path(&dir), 2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deploys_through_a_connection_per_racer_start_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), suite::RACERS);
    suite::concurrent_deploys_start_exactly_once(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lease_acquisitions_through_two_stores_on_one_file_grant_one_holder() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 2);
    suite::concurrent_lease_acquisitions_grant_exactly_one_holder(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_allowance_credits_through_two_stores_on_one_file_credit_a_month_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores = stores_on_one_file(&db_path(&dir), 2);
    suite::concurrent_allowance_credits_credit_a_month_once(&stores).await;
}

// Files and migrations

#[tokio::test]
async fn reopening_a_database_keeps_its_rows_and_applies_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let nonce = TokenHash::of("nonce-1");
    let expires_at = datetime!(2030-01-01 0:00 UTC);
    {
        let store = SqliteStore::open(&db_path(&dir)).unwrap();
        store
            .insert_pending_login(&nonce, expires_at)
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
    let now = datetime!(2029-01-01 0:00 UTC);
    assert!(store.take_pending_login(&nonce, now).await.unwrap());
}

#[test]
fn user_version_counts_the_migrations() {
    let store = SqliteStore::open_in_memory().unwrap();
    // Every file in migrations/ is compiled in: a new one left out of the list would never run.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| {
            let path = entry.as_ref().unwrap().path();
            path.extension().is_some_and(|ext| ext == "sql")
        })
        .count();
    assert_eq!(MIGRATIONS.len(), files);
    assert!(MIGRATIONS.len() >= 2, "authenticator and provisioner");
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn a_database_of_the_authenticator_alone_is_upgraded_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let nonce = TokenHash::of("nonce-1");
    {
        // What a binary with only the first migration left behind.
        let mut conn = rusqlite::Connection::open(db_path(&dir)).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute(
            "INSERT INTO pending_logins (nonce_hash, expires_at) VALUES (?1, ?2)",
            rusqlite::params![nonce.as_str(), i64::MAX],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
    let now = datetime!(2029-01-01 0:00 UTC);
    assert!(store.take_pending_login(&nonce, now).await.unwrap());
    assert!(store.open_clusters().await.unwrap().is_empty());
}

#[test]
fn stores_opening_a_new_file_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(&path).map(|_| ()))
        })
        .collect();
    for opener in openers {
        opener.join().unwrap().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&store), MIGRATIONS.len() as i64);
}

#[test]
fn open_creates_missing_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/store.db");
    SqliteStore::open(&path).unwrap();
    assert!(path.exists());
}

#[test]
fn a_file_database_runs_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    let conn = store.conn.lock().unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    let foreign_keys: i64 = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), foreign_keys), ("wal", 1));
}

#[test]
fn a_database_from_a_newer_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(&db_path(&dir)).unwrap();
        let conn = store.conn.lock().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let reopened = SqliteStore::open(&db_path(&dir));
    assert!(
        matches!(reopened, Err(StoreError::Corrupt(_))),
        "{reopened:?}"
    );
}

// What is stored

const RULES: RefreshRules = RefreshRules {
    grace: Duration::from_secs(5),
    idle: Duration::from_secs(3600),
    absolute: Duration::from_secs(86_400),
};

#[tokio::test]
async fn the_database_files_hold_hashes_and_never_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir)).unwrap();
    let now = datetime!(2024-05-01 12:00 UTC);
    let secrets = [
        "plaintext-code-5b1f0c2e",
        "plaintext-refresh-a9d3e771",
        "plaintext-refresh-successor-04c8b6",
        "plaintext-nonce-7e22f9d1",
        "plaintext-device-code-c3a1",
    ];
    let [code, refresh, successor, nonce, device] = secrets.map(TokenHash::of);
    let grant = CodeGrant {
        client_id: "client-1".into(),
        redirect_uri: "http://127.0.0.1/cb".into(),
        code_challenge: "challenge".into(),
        grant: "{}".into(),
        expires_at: now,
    };
    store.insert_code(&code, &grant).await.unwrap();
    store.insert_pending_login(&nonce, now).await.unwrap();
    store
        .insert_device_code(&device, Duration::from_secs(5), now, "sliderule:access")
        .await
        .unwrap();
    let family = Family {
        id: "fam-1".into(),
        login: "alice".into(),
        grant: "{}".into(),
        created_at: now,
        last_used_at: now,
        revoked: false,
    };
    store.create_family(&family, &refresh).await.unwrap();
    let rotated = store
        .rotate_refresh(&refresh, &successor, b"sealed", now, RULES)
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated { .. }));

    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    // The scan sees what was written...
    assert!(contains(successor.as_str()));
    // ...and no secret was.
    for secret in secrets {
        assert!(!contains(secret), "{secret} is in the database files");
    }
}

#[tokio::test]
async fn purge_clears_sealed_successors_once_the_grace_window_is_over() {
    let store = SqliteStore::open_in_memory().unwrap();
    let now = datetime!(2024-05-01 12:00 UTC);
    let family = Family {
        id: "fam-1".into(),
        login: "alice".into(),
        grant: "{}".into(),
        created_at: now,
        last_used_at: now,
        revoked: false,
    };
    let (first, second) = (TokenHash::of("rt-1"), TokenHash::of("rt-2"));
    store.create_family(&family, &first).await.unwrap();
    store
        .rotate_refresh(&first, &second, b"sealed", now, RULES)
        .await
        .unwrap();
    let sealed_count = || {
        let conn = store.conn.lock().unwrap();
        conn.query_row(
            "SELECT COUNT(*) FROM refresh_tokens WHERE sealed_successor IS NOT NULL",
            [],
            |row| row.get::<_, i64>(0),
        )
        .unwrap()
    };
    let window = Duration::from_secs(3600);

    store
        .purge_expired(now + RULES.grace, RULES, window)
        .await
        .unwrap();
    assert_eq!(sealed_count(), 1);
    let after = now + RULES.grace + Duration::from_millis(1);
    store.purge_expired(after, RULES, window).await.unwrap();
    assert_eq!(sealed_count(), 0);
}
