//! Schema migrations: the SQL files under `crates/backend/migrations/`, compiled in and applied
//! in order at open. `PRAGMA user_version` records how many have been applied; it is read and
//! bumped inside the same `BEGIN IMMEDIATE` transaction as the migrations, so processes opening
//! one database at once apply each migration exactly once.

use rusqlite::{Connection, TransactionBehavior};

use crate::store::StoreError;

/// Every migration, in order. Append only: a released migration never changes, since databases
/// that already applied it will not run it again.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_authenticator.sql"),
    include_str!("../../../migrations/0002_provisioner.sql"),
    include_str!("../../../migrations/0003_sealed_successors.sql"),
    include_str!("../../../migrations/0004_destroy_intent.sql"),
    include_str!("../../../migrations/0005_device_code_scopes.sql"),
    include_str!("../../../migrations/0006_budgets.sql"),
    include_str!("../../../migrations/0007_organizations.sql"),
    include_str!("../../../migrations/0008_node_groups.sql"),
];

/// Brings the schema up to date. Idempotent.
pub(super) fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(applied)
        .map_err(|_| StoreError::Corrupt(format!("negative schema version {applied}")))?;
    if applied > MIGRATIONS.len() {
        // Written by a newer binary: running on it could misread its rows.
        return Err(StoreError::Corrupt(format!(
            "schema version {applied} is newer than this binary's {}",
            MIGRATIONS.len()
        )));
    }
    for migration in &MIGRATIONS[applied..] {
        tx.execute_batch(migration)?;
    }
    // A handful of migrations: the count always fits.
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

/// The schema version this binary needs: every migration applied.
pub(super) fn wanted() -> usize {
    MIGRATIONS.len()
}

/// The schema version of `conn` (migrations applied).
pub(super) fn version(conn: &Connection) -> Result<usize, StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    usize::try_from(applied)
        .map_err(|_| StoreError::Corrupt(format!("negative schema version {applied}")))
}
