//! The simulated cloud's stacks, stored whole: the driver owns the JSON in `state`; the store only
//! keeps track of which stack is each cluster's current one.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::store::{SimulatedStackRow, StoreError};

const COLUMNS: &str = "stack_id, cluster, current, state";

fn read(row: &Row<'_>) -> rusqlite::Result<SimulatedStackRow> {
    Ok(SimulatedStackRow {
        stack_id: row.get(0)?,
        cluster: row.get(1)?,
        current: row.get::<_, i64>(2)? != 0,
        state: row.get(3)?,
    })
}

/// Inserts or replaces the stack; if it is current, the cluster's other stacks stop being so
/// first (the schema allows one current stack per cluster).
pub(super) fn put(tx: &Transaction<'_>, stack: &SimulatedStackRow) -> Result<(), StoreError> {
    if stack.current {
        tx.execute(
            "UPDATE simulated_stacks SET current = 0
             WHERE cluster = ?1 AND current = 1 AND stack_id <> ?2",
            params![stack.cluster, stack.stack_id],
        )?;
    }
    tx.execute(
        "INSERT INTO simulated_stacks (stack_id, cluster, current, state) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (stack_id) DO UPDATE
         SET cluster = excluded.cluster, current = excluded.current, state = excluded.state",
        params![stack.stack_id, stack.cluster, stack.current, stack.state],
    )?;
    Ok(())
}

pub(super) fn current(
    conn: &Connection,
    cluster: &str,
) -> Result<Option<SimulatedStackRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM simulated_stacks WHERE cluster = ?1 AND current = 1");
    Ok(conn.query_row(&sql, params![cluster], read).optional()?)
}

pub(super) fn by_id(
    conn: &Connection,
    stack_id: &str,
) -> Result<Option<SimulatedStackRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM simulated_stacks WHERE stack_id = ?1");
    Ok(conn.query_row(&sql, params![stack_id], read).optional()?)
}

pub(super) fn all_current(conn: &Connection) -> Result<Vec<SimulatedStackRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM simulated_stacks WHERE current = 1 ORDER BY cluster");
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map([], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
