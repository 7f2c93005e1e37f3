//! Deleting what can no longer matter, so the database stays the size of the live state.
//!
//! Retention, and why:
//! - pending logins and device codes go once expired (a device code first seen in a poll has no
//!   known expiry: it goes [`UNEXPIRING_DEVICE_CODE_RETENTION`] after its last poll, far beyond
//!   GitHub's 15-minute device codes);
//! - a code never redeemed goes once expired (it is [`CodeRedemption::Unknown`] either way), but
//!   a redeemed code is kept until the `absolute` lifetime after its expiry: presenting it again
//!   must still be seen as reuse for as long as the family it issued could be alive, and no
//!   longer;
//! - a family goes with its tokens once revoked or past its idle or absolute lifetime (its tokens
//!   are then invalid whether or not the rows exist);
//! - a client goes once unused longer than `client_unused_for`;
//! - capacity requests go once expired, sign-in throttles once neither locked nor within their
//!   window;
//! - sealed successors are cleared (not counted) once their grace window is over.
//!
//! [`CodeRedemption::Unknown`]: crate::store::CodeRedemption::Unknown

use std::time::Duration;

use rusqlite::{Transaction, params};

use super::duration_ms;
use crate::store::{RefreshRules, StoreError};

/// How long a device code with no known expiry is kept after its last poll.
const UNEXPIRING_DEVICE_CODE_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// A family that no token of can ever rotate again (`?1` now, `?2` idle, `?3` absolute).
const DEAD_FAMILY: &str =
    "revoked_at IS NOT NULL OR ?1 - last_used_at > ?2 OR ?1 - created_at > ?3";

/// Purges everything at `now` (unix milliseconds); returns the number of rows deleted.
pub(super) fn purge(
    tx: &Transaction<'_>,
    now: i64,
    rules: RefreshRules,
    client_unused_for: Duration,
) -> Result<u64, StoreError> {
    let (idle, absolute) = (duration_ms(rules.idle), duration_ms(rules.absolute));
    let mut deleted = 0;
    deleted += tx.execute(
        "DELETE FROM pending_logins WHERE expires_at < ?1",
        params![now],
    )?;
    deleted += tx.execute(
        "DELETE FROM auth_codes
         WHERE expires_at < ?1 AND (spent_at IS NULL OR ?1 - expires_at > ?2)",
        params![now, absolute],
    )?;
    deleted += tx.execute(
        "DELETE FROM device_codes
         WHERE expires_at < ?1
            OR (expires_at IS NULL AND ?1 - COALESCE(last_poll_at, 0) > ?2)",
        params![now, duration_ms(UNEXPIRING_DEVICE_CODE_RETENTION)],
    )?;
    // Tokens first, explicitly rather than by cascade, so they are counted.
    deleted += tx.execute(
        &format!(
            "DELETE FROM refresh_tokens WHERE family_id IN
               (SELECT id FROM refresh_families WHERE {DEAD_FAMILY})"
        ),
        params![now, idle, absolute],
    )?;
    deleted += tx.execute(
        &format!("DELETE FROM refresh_families WHERE {DEAD_FAMILY}"),
        params![now, idle, absolute],
    )?;
    deleted += tx.execute(
        "DELETE FROM oauth_clients WHERE ?1 - last_used_at > ?2",
        params![now, duration_ms(client_unused_for)],
    )?;
    deleted += tx.execute(
        "DELETE FROM used_signatures WHERE expires_at < ?1",
        params![now],
    )?;
    deleted += tx.execute(
        "DELETE FROM capacity_requests WHERE expires_at <= ?1",
        params![now],
    )?;
    // A throttle row matters while it locks or while its window may still count.
    deleted += tx.execute(
        "DELETE FROM sign_in_throttle
         WHERE COALESCE(locked_until, 0) <= ?1 AND ?1 - window_start > ?2",
        params![now, duration_ms(crate::store::Lockout::SPEC.window)],
    )?;
    tx.execute(
        "UPDATE refresh_tokens SET sealed_successor = NULL
         WHERE sealed_successor IS NOT NULL AND ?1 - spent_at > ?2",
        params![now, duration_ms(rules.grace)],
    )?;
    // usize to u64 never loses anything on the platforms we build for.
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}
