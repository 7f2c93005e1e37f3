//! [`NodeGroupStore`] on SQLite: the `node_groups` table of `0008_node_groups.sql`.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, millis, time_at};
use crate::store::{NodeGroupPhase, NodeGroupRecord, NodeGroupStore, StoreError};

const COLUMNS: &str =
    "cluster, user, node_capacity, deadline, stack_id, phase, created_at, updated_at, revision";

type RawRow = (
    String,
    String,
    u32,
    Option<i64>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
);

fn raw(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
    ))
}

fn record(
    (cluster, user, node_capacity, deadline, stack_id, phase, created, updated, revision): RawRow,
) -> Result<NodeGroupRecord, StoreError> {
    let phase = NodeGroupPhase::parse(&phase).ok_or_else(|| {
        StoreError::Corrupt(format!("node group {cluster}/{user}: phase {phase:?}"))
    })?;
    Ok(NodeGroupRecord {
        deadline: deadline.map(time_at).transpose()?,
        created_at: time_at(created)?,
        updated_at: time_at(updated)?,
        cluster,
        user,
        node_capacity,
        stack_id,
        phase,
        revision,
    })
}

#[async_trait]
impl NodeGroupStore for SqliteStore {
    async fn node_group(
        &self,
        cluster: &str,
        user: &str,
    ) -> Result<Option<NodeGroupRecord>, StoreError> {
        let (cluster, user) = (cluster.to_owned(), user.to_owned());
        self.with_conn(move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM node_groups WHERE cluster = ?1 AND user = ?2"),
                params![cluster, user],
                raw,
            )
            .optional()?
            .map(record)
            .transpose()
        })
        .await
    }

    async fn open_node_groups(&self) -> Result<Vec<NodeGroupRecord>, StoreError> {
        self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM node_groups WHERE phase <> 'closed' ORDER BY cluster, user"
            ))?;
            let rows = statement.query_map([], raw)?;
            rows.map(|row| record(row?)).collect()
        })
        .await
    }

    async fn put_node_group(
        &self,
        record: &NodeGroupRecord,
    ) -> Result<Option<NodeGroupRecord>, StoreError> {
        let mut next = record.clone();
        next.revision = record.revision + 1;
        let stored = next.clone();
        let written = self
            .write(move |tx| {
                let values = params![
                    next.cluster,
                    next.user,
                    next.node_capacity,
                    next.deadline.map(millis),
                    next.stack_id,
                    next.phase.as_str(),
                    millis(next.created_at),
                    millis(next.updated_at),
                    next.revision,
                ];
                let changed = if next.revision == 1 {
                    tx.execute(
                        &format!(
                            "INSERT INTO node_groups ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                             ON CONFLICT (cluster, user) DO NOTHING"
                        ),
                        values,
                    )?
                } else {
                    tx.execute(
                        "UPDATE node_groups SET node_capacity = ?3, deadline = ?4, stack_id = ?5, \
                         phase = ?6, created_at = ?7, updated_at = ?8, revision = ?9 \
                         WHERE cluster = ?1 AND user = ?2 AND revision = ?9 - 1",
                        values,
                    )?
                };
                Ok(changed == 1)
            })
            .await?;
        Ok(written.then_some(stored))
    }
}
