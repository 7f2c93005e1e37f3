//! The [`Store`] on one SQLite database file: what a single host (or a few processes on one
//! machine sharing a volume) runs with.
//!
//! Concurrency has two layers. Inside a process, a store holds one connection behind a mutex and
//! every call runs on tokio's blocking pool, so the async runtime never waits on the disk.
//! Between processes, SQLite's own locking decides: the database is in WAL mode (readers do not
//! block the writer), waits up to [`BUSY_TIMEOUT`] for a lock, and every read-modify-write runs in
//! a `BEGIN IMMEDIATE` transaction, which takes the write lock before reading. That is what makes
//! a code or a refresh token spendable exactly once even when two processes race for it.
//!
//! Times are stored as unix milliseconds, durations as milliseconds.

mod audit;
mod budgets;
mod clients;
mod clusters;
mod codes;
mod device;
mod leases;
mod migrations;
mod node_groups;
mod organizations;
mod provisioner;
mod purge;
mod refresh;
mod simulated;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use time::OffsetDateTime;

use super::{
    CodeGrant, CodeRedemption, DevicePoll, Family, RefreshRules, Rotation, Store, StoreError,
    StoredClient, TokenHash,
};

/// How long a call waits for another connection's lock before reporting the store unavailable.
/// Transactions here are a handful of indexed statements, so a wait this long means trouble.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A SQLite-backed [`Store`]. Cloning shares the connection.
#[derive(Clone)]
pub struct SqliteStore {
    // One connection is enough: each call is a few indexed statements, and a second connection
    // in the same process would only contend for the same write lock.
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if needed) the database at `path` and
    /// brings its schema up to date. Blocks: call it at start-up, not from a request.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|err| {
                StoreError::Unavailable(format!("cannot create {}: {err}", parent.display()))
            })?;
        }
        Self::with_connection(Connection::open(path)?)
    }

    /// The database at `path` as it is, without migrating it: refused unless it exists with
    /// this binary's schema ([`StoreError::Schema`], naming `store migrate`).
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        let wanted = migrations::wanted();
        if !path.is_file() {
            return Err(StoreError::Schema(format!(
                "there is no store at {} (schema version 0 of {wanted})",
                path.display()
            )));
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let found = migrations::version(&conn)?;
        if found != wanted {
            return Err(StoreError::Schema(format!(
                "the store at {} has schema version {found}, and this release needs {wanted}",
                path.display()
            )));
        }
        Self::with_connection(conn)
    }

    /// Creates or upgrades the database at `path`; returns its schema version before and
    /// after. Idempotent.
    pub fn migrate(path: &Path) -> Result<(usize, usize), StoreError> {
        let before = if path.is_file() {
            migrations::version(&Connection::open(path)?)?
        } else {
            0
        };
        Self::open(path)?;
        Ok((before, migrations::wanted()))
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut conn: Connection) -> Result<Self, StoreError> {
        // The timeout first: switching to WAL and migrating may wait for another process.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Switching a new file to WAL takes an exclusive lock that SQLite does not wait for
        // (no busy handler), so processes opening one new database at once retry it.
        let started = std::time::Instant::now();
        loop {
            match Self::prepare(&mut conn) {
                Err(StoreError::Unavailable(message))
                    if message.contains("locked") && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => break other?,
            }
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// WAL, durability, foreign keys, and the schema brought up to date.
    fn prepare(conn: &mut Connection) -> Result<(), StoreError> {
        // WAL persists in the file; an in-memory database answers "memory", which is fine.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        // NORMAL is durable across process crashes in WAL mode; only a power loss may undo the
        // last commits, which for tokens means a sign-in again.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrations::apply(conn)
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no transaction open (Transaction rolls back
            // on drop), so the connection is still good.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut conn)
        })
        .await
        .map_err(|err| StoreError::Unavailable(format!("store task failed: {err}")))?
    }

    /// Runs `work` in a `BEGIN IMMEDIATE` transaction: the write lock is taken before anything
    /// is read, so no other connection can change what `work` decides on. Commits if `work`
    /// succeeds, rolls back otherwise.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        match err {
            E::FromSqlConversionFailure(..)
            | E::IntegralValueOutOfRange(..)
            | E::InvalidColumnType(..)
            | E::Utf8Error(..) => StoreError::Corrupt(err.to_string()),
            // Only hashes and caller JSON are bound, so the message carries no secret.
            _ => StoreError::Unavailable(err.to_string()),
        }
    }
}

/// Unix milliseconds of `time`.
fn millis(time: OffsetDateTime) -> i64 {
    // Always fits: OffsetDateTime spans ±9999 years.
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The time at `ms` unix milliseconds.
fn time_at(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|err| StoreError::Corrupt(format!("timestamp {ms}: {err}")))
}

/// `duration` in milliseconds, saturating (a limit beyond i64 is no limit).
fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The duration of `ms` milliseconds.
fn duration_of(ms: i64) -> Result<Duration, StoreError> {
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| StoreError::Corrupt(format!("negative duration {ms} ms")))
}

/// Whether more than `limit` has passed from `since` to `now` (all in milliseconds).
fn elapsed_beyond(now: i64, since: i64, limit: i64) -> bool {
    now.saturating_sub(since) > limit
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn insert_client(&self, client: &StoredClient) -> Result<(), StoreError> {
        let client = client.clone();
        self.write(move |tx| clients::insert_client(tx, &client))
            .await
    }

    async fn use_client(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        unused_for: Duration,
    ) -> Result<Option<StoredClient>, StoreError> {
        let client_id = client_id.to_owned();
        self.write(move |tx| clients::use_client(tx, &client_id, now, unused_for))
            .await
    }

    async fn insert_pending_login(
        &self,
        nonce: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let nonce = nonce.clone();
        self.write(move |tx| clients::insert_pending_login(tx, &nonce, expires_at))
            .await
    }

    async fn take_pending_login(
        &self,
        nonce: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let nonce = nonce.clone();
        self.write(move |tx| clients::take_pending_login(tx, &nonce, now))
            .await
    }

    async fn insert_code(&self, code: &TokenHash, grant: &CodeGrant) -> Result<(), StoreError> {
        let (code, grant) = (code.clone(), grant.clone());
        self.write(move |tx| codes::insert(tx, &code, &grant)).await
    }

    async fn redeem_code(
        &self,
        code: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<CodeRedemption, StoreError> {
        let code = code.clone();
        self.write(move |tx| codes::redeem(tx, &code, now)).await
    }

    async fn attach_code_family(&self, code: &TokenHash, family: &str) -> Result<bool, StoreError> {
        let (code, family) = (code.clone(), family.to_owned());
        self.write(move |tx| codes::attach_family(tx, &code, &family))
            .await
    }

    async fn insert_device_code(
        &self,
        device_code: &TokenHash,
        interval: Duration,
        expires_at: OffsetDateTime,
        scope: &str,
    ) -> Result<(), StoreError> {
        let (device_code, scope) = (device_code.clone(), scope.to_owned());
        self.write(move |tx| device::insert(tx, &device_code, interval, expires_at, &scope))
            .await
    }

    async fn device_code_scope(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<String>, StoreError> {
        let device_code = device_code.clone();
        // A single SELECT: no transaction needed to read a consistent row.
        self.with_conn(move |conn| device::scope(conn, &device_code))
            .await
    }

    async fn device_poll(
        &self,
        device_code: &TokenHash,
        now: OffsetDateTime,
        default_interval: Duration,
    ) -> Result<DevicePoll, StoreError> {
        let device_code = device_code.clone();
        self.write(move |tx| device::poll(tx, &device_code, now, default_interval))
            .await
    }

    async fn set_device_interval(
        &self,
        device_code: &TokenHash,
        interval: Duration,
    ) -> Result<(), StoreError> {
        let device_code = device_code.clone();
        self.write(move |tx| device::set_interval(tx, &device_code, interval))
            .await
    }

    async fn finish_device_code(&self, device_code: &TokenHash) -> Result<(), StoreError> {
        let device_code = device_code.clone();
        self.write(move |tx| device::finish(tx, &device_code)).await
    }

    async fn create_family(&self, family: &Family, first: &TokenHash) -> Result<(), StoreError> {
        let (family, first) = (family.clone(), first.clone());
        self.write(move |tx| refresh::create_family(tx, &family, &first))
            .await
    }

    async fn family_of(&self, token: &TokenHash) -> Result<Option<Family>, StoreError> {
        let token = token.clone();
        // A single SELECT: no transaction needed to read a consistent row.
        self.with_conn(move |conn| refresh::family_of(conn, &token))
            .await
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        sealed_successor: &[u8],
        now: OffsetDateTime,
        rules: RefreshRules,
    ) -> Result<Rotation, StoreError> {
        let rotation = refresh::RotationRequest {
            presented: presented.clone(),
            successor: successor.clone(),
            sealed_successor: sealed_successor.to_vec(),
            now: millis(now),
            rules,
        };
        self.write(move |tx| refresh::rotate(tx, &rotation)).await
    }

    async fn revoke_family_of(&self, token: &TokenHash) -> Result<bool, StoreError> {
        let token = token.clone();
        self.write(move |tx| refresh::revoke_family_of(tx, &token))
            .await
    }

    async fn revoke_family(&self, family_id: &str) -> Result<bool, StoreError> {
        let family_id = family_id.to_owned();
        self.write(move |tx| refresh::revoke_family(tx, &family_id))
            .await
    }

    async fn purge_expired(
        &self,
        now: OffsetDateTime,
        rules: RefreshRules,
        client_unused_for: Duration,
    ) -> Result<u64, StoreError> {
        self.write(move |tx| purge::purge(tx, millis(now), rules, client_unused_for))
            .await
    }
}
