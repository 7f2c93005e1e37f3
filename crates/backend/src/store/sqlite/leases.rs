//! Named leases: a replica holds one for a while to do a job the others must not repeat (issue a
//! cluster's destroy, run a sweep). A lease that was not renewed expires on its own, so a replica
//! that dies mid-job holds nothing for long.

use rusqlite::{Transaction, params};
use time::OffsetDateTime;

use super::millis;
use crate::store::StoreError;

/// Takes the lease for `holder` until `until` if it is free, expired at `now`, or `holder`'s
/// already (then renewed). One upsert: whatever the interleaving, one holder at a time.
pub(super) fn acquire(
    tx: &Transaction<'_>,
    name: &str,
    holder: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?4)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE leases.holder = excluded.holder OR leases.until <= ?3",
        params![name, holder, millis(now), millis(until)],
    )?;
    Ok(changed > 0)
}

pub(super) fn release(tx: &Transaction<'_>, name: &str, holder: &str) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
        params![name, holder],
    )?;
    Ok(())
}
