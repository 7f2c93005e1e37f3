//! The audit log: append-only, read newest first in pages.

use rusqlite::{Connection, Row, Transaction, params};

use super::{millis, time_at};
use crate::store::{AuditEntry, StoreError};

/// Appends `entry` (its `id` is ignored); returns the id the log gave it.
pub(super) fn append(tx: &Transaction<'_>, entry: &AuditEntry) -> Result<i64, StoreError> {
    Ok(tx.query_row(
        "INSERT INTO audit_log (at, actor, action, cluster, parameters, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        params![
            millis(entry.at),
            entry.actor,
            entry.action,
            entry.cluster,
            entry.parameters,
            entry.outcome
        ],
        |row| row.get(0),
    )?)
}

/// Entries older than `before` (all when `None`), newest first, `limit` at most.
pub(super) fn page(
    conn: &Connection,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    // A plain `id < ?` (no `IS NULL OR`) lets SQLite seek straight to the page in the rowid
    // b-tree instead of walking down from the newest entry.
    let before = before.unwrap_or(i64::MAX);
    let mut statement = conn.prepare(
        "SELECT id, at, actor, action, cluster, parameters, outcome FROM audit_log
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![before, limit], AuditRow::read)?;
    rows.map(|row| row?.into_entry()).collect()
}

/// The newest `limit` entries about `cluster`, newest first.
pub(super) fn of_cluster(
    conn: &Connection,
    cluster: &str,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, at, actor, action, cluster, parameters, outcome FROM audit_log
         WHERE cluster = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![cluster, limit], AuditRow::read)?;
    rows.map(|row| row?.into_entry()).collect()
}

/// A row as stored, before its time is checked.
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    cluster: String,
    parameters: String,
    outcome: String,
}

impl AuditRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            at: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            cluster: row.get(4)?,
            parameters: row.get(5)?,
            outcome: row.get(6)?,
        })
    }

    fn into_entry(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            id: self.id,
            at: time_at(self.at)?,
            actor: self.actor,
            action: self.action,
            cluster: self.cluster,
            parameters: self.parameters,
            outcome: self.outcome,
        })
    }
}
