//! Device-flow poll bookkeeping (RFC 8628 §3.5): we relay polls to GitHub, so we enforce the
//! interval ourselves rather than let a fast client earn us GitHub's `slow_down`s.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use time::OffsetDateTime;

use super::{duration_ms, duration_of, millis};
use crate::store::{DevicePoll, StoreError, TokenHash};

/// What RFC 8628 §3.5 adds to the interval on each `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Records a device code we relayed. If a poll got here first, the poll time is kept.
pub(super) fn insert(
    tx: &Transaction<'_>,
    device_code: &TokenHash,
    interval: Duration,
    expires_at: OffsetDateTime,
    scope: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO device_codes (device_code_hash, interval_ms, expires_at, scope)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_code_hash) DO UPDATE
           SET interval_ms = excluded.interval_ms, expires_at = excluded.expires_at,
               scope = excluded.scope",
        params![
            device_code.as_str(),
            duration_ms(interval),
            millis(expires_at),
            scope
        ],
    )?;
    Ok(())
}

/// The scope recorded with the code, if it was recorded by [`insert`].
pub(super) fn scope(
    conn: &Connection,
    device_code: &TokenHash,
) -> Result<Option<String>, StoreError> {
    let scope: Option<Option<String>> = conn
        .query_row(
            "SELECT scope FROM device_codes WHERE device_code_hash = ?1",
            params![device_code.as_str()],
            |row| row.get(0),
        )
        .optional()?;
    Ok(scope.flatten())
}

/// Decides a poll at `now`.
///
/// The interval is measured from the previous poll of any outcome, not only from the previous
/// one that proceeded: RFC 8628 asks the client to wait the interval between all its requests,
/// so a compliant client that waits the increased interval after a `slow_down` proceeds, while
/// one that keeps hammering keeps being slowed down and never reaches GitHub.
pub(super) fn poll(
    tx: &Transaction<'_>,
    device_code: &TokenHash,
    now: OffsetDateTime,
    default_interval: Duration,
) -> Result<DevicePoll, StoreError> {
    let now = millis(now);
    let known: Option<(i64, Option<i64>)> = tx
        .query_row(
            "SELECT interval_ms, last_poll_at FROM device_codes WHERE device_code_hash = ?1",
            params![device_code.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((interval_ms, last_poll_at)) = known else {
        // A code we did not relay (another instance before an upgrade, or a purge): start
        // counting now. Its expiry is unknown; purge ages it out by its last poll.
        tx.execute(
            "INSERT INTO device_codes (device_code_hash, interval_ms, last_poll_at)
             VALUES (?1, ?2, ?3)",
            params![device_code.as_str(), duration_ms(default_interval), now],
        )?;
        return Ok(DevicePoll::Proceed {
            interval: default_interval,
        });
    };
    let too_soon = last_poll_at.is_some_and(|last| now.saturating_sub(last) < interval_ms);
    let interval_ms = if too_soon {
        interval_ms.saturating_add(duration_ms(SLOW_DOWN_STEP))
    } else {
        interval_ms
    };
    tx.execute(
        "UPDATE device_codes SET interval_ms = ?2, last_poll_at = ?3 WHERE device_code_hash = ?1",
        params![device_code.as_str(), interval_ms, now],
    )?;
    let interval = duration_of(interval_ms)?;
    Ok(if too_soon {
        DevicePoll::SlowDown { interval }
    } else {
        DevicePoll::Proceed { interval }
    })
}

/// Sets the interval in force (GitHub's, after it said `slow_down`). Unknown codes are ignored:
/// the next poll records them.
pub(super) fn set_interval(
    tx: &Transaction<'_>,
    device_code: &TokenHash,
    interval: Duration,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE device_codes SET interval_ms = ?2 WHERE device_code_hash = ?1",
        params![device_code.as_str(), duration_ms(interval)],
    )?;
    Ok(())
}

pub(super) fn finish(tx: &Transaction<'_>, device_code: &TokenHash) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM device_codes WHERE device_code_hash = ?1",
        params![device_code.as_str()],
    )?;
    Ok(())
}
