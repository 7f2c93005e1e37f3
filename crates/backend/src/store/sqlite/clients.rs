//! Registered OAuth clients and pending browser logins.

use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, params};
use time::OffsetDateTime;

use super::{duration_ms, millis, time_at};
use crate::store::{StoreError, StoredClient, TokenHash};

pub(super) fn insert_client(tx: &Transaction<'_>, client: &StoredClient) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO oauth_clients (client_id, record, registered_at, last_used_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            client.client_id,
            client.record,
            millis(client.registered_at),
            millis(client.last_used_at)
        ],
    )?;
    Ok(())
}

/// The client if it was used within `unused_for` of `now`, marked used at `now`. A stale client
/// is left for [`super::purge`] to delete.
pub(super) fn use_client(
    tx: &Transaction<'_>,
    client_id: &str,
    now: OffsetDateTime,
    unused_for: Duration,
) -> Result<Option<StoredClient>, StoreError> {
    // MAX: a request carrying an older clock (another process) never moves the mark backwards.
    let row = tx
        .query_row(
            "UPDATE oauth_clients SET last_used_at = MAX(last_used_at, ?2)
             WHERE client_id = ?1 AND ?2 - last_used_at <= ?3
             RETURNING record, registered_at, last_used_at",
            params![client_id, millis(now), duration_ms(unused_for)],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((record, registered_at, last_used_at)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredClient {
        client_id: client_id.to_owned(),
        record,
        registered_at: time_at(registered_at)?,
        last_used_at: time_at(last_used_at)?,
    }))
}

pub(super) fn insert_pending_login(
    tx: &Transaction<'_>,
    nonce: &TokenHash,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO pending_logins (nonce_hash, expires_at) VALUES (?1, ?2)",
        params![nonce.as_str(), millis(expires_at)],
    )?;
    Ok(())
}

/// True once per nonce if it has not expired. The row goes either way: an expired nonce is
/// useless.
pub(super) fn take_pending_login(
    tx: &Transaction<'_>,
    nonce: &TokenHash,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let expires_at: Option<i64> = tx
        .query_row(
            "DELETE FROM pending_logins WHERE nonce_hash = ?1 RETURNING expires_at",
            params![nonce.as_str()],
            |row| row.get(0),
        )
        .optional()?;
    Ok(expires_at.is_some_and(|expires_at| millis(now) <= expires_at))
}
