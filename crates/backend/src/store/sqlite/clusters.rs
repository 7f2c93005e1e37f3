//! Cluster records: one row per cluster name, opened by a deploy, replaced by compare-and-swap on
//! its revision, closed (and kept for history) when the cluster is gone.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::{millis, time_at};
use crate::store::{BeginDeploy, ClusterPhase, ClusterRecord, DestroyIntent, StoreError};

const COLUMNS: &str = "cluster, owner, node_capacity, version, is_public, deadline, stack_id, \
                       phase, created_at, updated_at, revision, destroy_requested_at, \
                       destroy_requested_by, destroy_issued_at, destroy_failures, destroy_error, \
                       destroy_next_at";

/// A row as stored, before its times and phase are checked.
struct ClusterRow {
    cluster: String,
    owner: String,
    node_capacity: u32,
    version: String,
    is_public: bool,
    deadline: Option<i64>,
    stack_id: Option<String>,
    phase: String,
    created_at: i64,
    updated_at: i64,
    revision: i64,
    destroy_requested_at: Option<i64>,
    destroy_requested_by: Option<String>,
    destroy_issued_at: Option<i64>,
    destroy_failures: u32,
    destroy_error: Option<String>,
    destroy_next_at: Option<i64>,
}

impl ClusterRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            cluster: row.get(0)?,
            owner: row.get(1)?,
            node_capacity: row.get(2)?,
            version: row.get(3)?,
            is_public: row.get::<_, i64>(4)? != 0,
            deadline: row.get(5)?,
            stack_id: row.get(6)?,
            phase: row.get(7)?,
            created_at: row.get(8)?,
            updated_at: row.get(9)?,
            revision: row.get(10)?,
            destroy_requested_at: row.get(11)?,
            destroy_requested_by: row.get(12)?,
            destroy_issued_at: row.get(13)?,
            destroy_failures: row.get(14)?,
            destroy_error: row.get(15)?,
            destroy_next_at: row.get(16)?,
        })
    }

    /// The destroy intent, whole or not at all: a row with only some of its columns set was
    /// written by something else than this store.
    fn destroy(&self) -> Result<Option<DestroyIntent>, StoreError> {
        match (
            self.destroy_requested_at,
            &self.destroy_requested_by,
            self.destroy_next_at,
        ) {
            (None, None, None) => Ok(None),
            (Some(requested_at), Some(requested_by), Some(next_at)) => Ok(Some(DestroyIntent {
                requested_at: time_at(requested_at)?,
                requested_by: requested_by.clone(),
                issued_at: self.destroy_issued_at.map(time_at).transpose()?,
                failures: self.destroy_failures,
                last_error: self.destroy_error.clone(),
                next_at: time_at(next_at)?,
            })),
            _ => Err(StoreError::Corrupt(format!(
                "cluster {}: a partial destroy intent",
                self.cluster
            ))),
        }
    }

    fn into_record(self) -> Result<ClusterRecord, StoreError> {
        let phase = ClusterPhase::parse(&self.phase).ok_or_else(|| {
            StoreError::Corrupt(format!("cluster {}: phase {:?}", self.cluster, self.phase))
        })?;
        Ok(ClusterRecord {
            destroy: self.destroy()?,
            deadline: self.deadline.map(time_at).transpose()?,
            created_at: time_at(self.created_at)?,
            updated_at: time_at(self.updated_at)?,
            cluster: self.cluster,
            owner: self.owner,
            node_capacity: self.node_capacity,
            version: self.version,
            is_public: self.is_public,
            stack_id: self.stack_id,
            phase,
            revision: self.revision,
        })
    }
}

/// Reads every record `sql` selects (it must select [`COLUMNS`]).
fn select_all(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<ClusterRecord>, StoreError> {
    let mut statement = conn.prepare(sql)?;
    let rows = statement.query_map(params, ClusterRow::read)?;
    rows.map(|row| row?.into_record()).collect()
}

pub(super) fn get(conn: &Connection, cluster: &str) -> Result<Option<ClusterRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clusters WHERE cluster = ?1");
    let row = conn
        .query_row(&sql, params![cluster], ClusterRow::read)
        .optional()?;
    row.map(ClusterRow::into_record).transpose()
}

pub(super) fn open(conn: &Connection) -> Result<Vec<ClusterRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clusters WHERE phase <> 'closed' ORDER BY cluster");
    select_all(conn, &sql, [])
}

pub(super) fn due(
    conn: &Connection,
    now: OffsetDateTime,
) -> Result<Vec<ClusterRecord>, StoreError> {
    // The cluster name breaks ties so the order is the same on every call.
    let sql = format!(
        "SELECT {COLUMNS} FROM clusters
         WHERE phase <> 'closed'
           AND ((deadline IS NOT NULL AND deadline <= ?1)
                OR (destroy_next_at IS NOT NULL AND destroy_next_at <= ?1))
         ORDER BY MIN(COALESCE(deadline, destroy_next_at), COALESCE(destroy_next_at, deadline)),
                  cluster"
    );
    select_all(conn, &sql, params![millis(now)])
}

/// Records a new deploy unless the cluster has an open record. Runs in the caller's
/// `BEGIN IMMEDIATE` transaction, so of racing deploys exactly one sees no open record.
pub(super) fn begin_deploy(
    tx: &Transaction<'_>,
    record: &ClusterRecord,
) -> Result<BeginDeploy, StoreError> {
    let existing = get(tx, &record.cluster)?;
    if let Some(existing) = existing
        .as_ref()
        .filter(|r| r.phase != ClusterPhase::Closed)
    {
        return Ok(BeginDeploy::Exists(existing.clone()));
    }
    // Revisions go on from the closed record's: a writer still holding the old record (at the
    // same revision number a fresh count would give) must not overwrite the new one.
    let revision = existing.map_or(1, |closed| closed.revision + 1);
    let started = ClusterRecord {
        phase: ClusterPhase::Pending,
        revision,
        ..record.clone()
    };
    tx.execute(
        &format!("INSERT OR REPLACE INTO clusters ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"),
        params![
            started.cluster,
            started.owner,
            started.node_capacity,
            started.version,
            started.is_public,
            started.deadline.map(millis),
            started.stack_id,
            started.phase.as_str(),
            millis(started.created_at),
            millis(started.updated_at),
            started.revision,
            started.destroy.as_ref().map(|d| millis(d.requested_at)),
            started.destroy.as_ref().map(|d| d.requested_by.as_str()),
            started.destroy.as_ref().and_then(|d| d.issued_at).map(millis),
            started.destroy.as_ref().map_or(0, |d| d.failures),
            started.destroy.as_ref().and_then(|d| d.last_error.as_deref()),
            started.destroy.as_ref().map(|d| millis(d.next_at)),
        ],
    )?;
    Ok(BeginDeploy::Started(started))
}

/// Replaces the record if its stored revision is still `record.revision`, bumping it; `None` if
/// someone else wrote first (or the row is gone).
pub(super) fn update(
    tx: &Transaction<'_>,
    record: &ClusterRecord,
) -> Result<Option<ClusterRecord>, StoreError> {
    let sql = format!(
        "UPDATE clusters
         SET owner = ?3, node_capacity = ?4, version = ?5, is_public = ?6, deadline = ?7,
             stack_id = ?8, phase = ?9, created_at = ?10, updated_at = ?11,
             destroy_requested_at = ?12, destroy_requested_by = ?13, destroy_issued_at = ?14,
             destroy_failures = ?15, destroy_error = ?16, destroy_next_at = ?17,
             revision = revision + 1
         WHERE cluster = ?1 AND revision = ?2
         RETURNING {COLUMNS}"
    );
    let row = tx
        .query_row(
            &sql,
            params![
                record.cluster,
                record.revision,
                record.owner,
                record.node_capacity,
                record.version,
                record.is_public,
                record.deadline.map(millis),
                record.stack_id,
                record.phase.as_str(),
                millis(record.created_at),
                millis(record.updated_at),
                record.destroy.as_ref().map(|d| millis(d.requested_at)),
                record.destroy.as_ref().map(|d| d.requested_by.as_str()),
                record
                    .destroy
                    .as_ref()
                    .and_then(|d| d.issued_at)
                    .map(millis),
                record.destroy.as_ref().map_or(0, |d| d.failures),
                record
                    .destroy
                    .as_ref()
                    .and_then(|d| d.last_error.as_deref()),
                record.destroy.as_ref().map(|d| millis(d.next_at)),
            ],
            ClusterRow::read,
        )
        .optional()?;
    row.map(ClusterRow::into_record).transpose()
}
