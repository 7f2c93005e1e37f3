//! Refresh-token families and their rotation (RFC 9700 §4.14): each use of a refresh token spends
//! it and issues a successor; a spent token presented again means it leaked, so the whole family
//! is revoked, except inside a short grace window, where the client most likely lost the response
//! or several of its tabs refreshed at once, and every presentation gets the same successor.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::{duration_ms, elapsed_beyond, millis, time_at};
use crate::store::{Family, RefreshRules, Rotation, StoreError, TokenHash};

const FAMILY_COLUMNS: &str = "f.id, f.login, f.grant_json, f.created_at, f.last_used_at, \
                              f.revoked_at";

/// A family row as stored.
struct FamilyRow {
    id: String,
    login: String,
    grant: String,
    created_at: i64,
    last_used_at: i64,
    revoked_at: Option<i64>,
}

impl FamilyRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            login: row.get(1)?,
            grant: row.get(2)?,
            created_at: row.get(3)?,
            last_used_at: row.get(4)?,
            revoked_at: row.get(5)?,
        })
    }

    /// Neither revoked nor past its idle or absolute lifetime at `now`.
    fn usable(&self, now: i64, rules: &RefreshRules) -> bool {
        self.revoked_at.is_none()
            && !elapsed_beyond(now, self.created_at, duration_ms(rules.absolute))
            && !elapsed_beyond(now, self.last_used_at, duration_ms(rules.idle))
    }

    fn into_family(self) -> Result<Family, StoreError> {
        Ok(Family {
            id: self.id,
            login: self.login,
            grant: self.grant,
            created_at: time_at(self.created_at)?,
            last_used_at: time_at(self.last_used_at)?,
            revoked: self.revoked_at.is_some(),
        })
    }
}

/// A token row as stored. (Its `replayed` column is no longer read: a replay is not limited to
/// one.)
struct TokenRow {
    family_id: String,
    spent_at: Option<i64>,
    sealed_successor: Option<Vec<u8>>,
}

pub(super) fn create_family(
    tx: &Transaction<'_>,
    family: &Family,
    first: &TokenHash,
) -> Result<(), StoreError> {
    let created_at = millis(family.created_at);
    tx.execute(
        "INSERT INTO refresh_families (id, login, grant_json, created_at, last_used_at, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            family.id,
            family.login,
            family.grant,
            created_at,
            millis(family.last_used_at),
            family.revoked.then_some(created_at)
        ],
    )?;
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, family_id, issued_at) VALUES (?1, ?2, ?3)",
        params![first.as_str(), family.id, created_at],
    )?;
    Ok(())
}

pub(super) fn family_of(
    conn: &Connection,
    token: &TokenHash,
) -> Result<Option<Family>, StoreError> {
    let sql = format!(
        "SELECT {FAMILY_COLUMNS} FROM refresh_tokens t
         JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?1"
    );
    let row = conn
        .query_row(&sql, params![token.as_str()], FamilyRow::read)
        .optional()?;
    row.map(FamilyRow::into_family).transpose()
}

/// The arguments of [`rotate`], owned so they can move to the blocking pool.
pub(super) struct RotationRequest {
    pub(super) presented: TokenHash,
    pub(super) successor: TokenHash,
    pub(super) sealed_successor: Vec<u8>,
    /// Unix milliseconds.
    pub(super) now: i64,
    pub(super) rules: RefreshRules,
}

/// Decides and applies one rotation inside the caller's `BEGIN IMMEDIATE` transaction, so racing
/// presentations of one token are decided one after the other.
pub(super) fn rotate(
    tx: &Transaction<'_>,
    request: &RotationRequest,
) -> Result<Rotation, StoreError> {
    let Some(token) = load_token(tx, &request.presented)? else {
        return Ok(Rotation::Invalid);
    };
    let family = load_family(tx, &token.family_id)?;
    if !family.usable(request.now, &request.rules) {
        return Ok(Rotation::Invalid);
    }
    match token.spent_at {
        None => rotate_live(tx, request, family),
        Some(spent_at) => replay_or_revoke(tx, request, token, spent_at, family),
    }
}

fn load_token(tx: &Transaction<'_>, token: &TokenHash) -> Result<Option<TokenRow>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT family_id, spent_at, sealed_successor
             FROM refresh_tokens WHERE token_hash = ?1",
            params![token.as_str()],
            |row| {
                Ok(TokenRow {
                    family_id: row.get(0)?,
                    spent_at: row.get(1)?,
                    sealed_successor: row.get(2)?,
                })
            },
        )
        .optional()?)
}

fn load_family(tx: &Transaction<'_>, family_id: &str) -> Result<FamilyRow, StoreError> {
    let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_families f WHERE f.id = ?1");
    tx.query_row(&sql, params![family_id], FamilyRow::read)
        .optional()?
        // The foreign key makes this impossible unless the database was edited by hand.
        .ok_or_else(|| StoreError::Corrupt(format!("token of missing family {family_id}")))
}

/// The presented token was live: spend it, keep the sealed successor for the grace window, and
/// make the successor the family's live token.
fn rotate_live(
    tx: &Transaction<'_>,
    request: &RotationRequest,
    mut family: FamilyRow,
) -> Result<Rotation, StoreError> {
    let now = request.now;
    tx.execute(
        "UPDATE refresh_tokens SET spent_at = ?2, successor_hash = ?3, sealed_successor = ?4
         WHERE token_hash = ?1",
        params![
            request.presented.as_str(),
            now,
            request.successor.as_str(),
            request.sealed_successor
        ],
    )?;
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, family_id, issued_at) VALUES (?1, ?2, ?3)",
        params![request.successor.as_str(), family.id, now],
    )?;
    // MAX: another process with a slightly older clock never moves the mark backwards.
    family.last_used_at = family.last_used_at.max(now);
    tx.execute(
        "UPDATE refresh_families SET last_used_at = ?2 WHERE id = ?1",
        params![family.id, family.last_used_at],
    )?;
    // Sealed successors are only for retries inside the grace window; drop the family's older
    // ones now rather than wait for the purge.
    tx.execute(
        "UPDATE refresh_tokens SET sealed_successor = NULL
         WHERE family_id = ?1 AND sealed_successor IS NOT NULL AND ?2 - spent_at > ?3",
        params![family.id, now, duration_ms(request.rules.grace)],
    )?;
    Ok(Rotation::Rotated {
        family: family.into_family()?,
    })
}

/// The presented token was spent: every presentation inside the grace window gets its successor
/// (racing tabs and retries all end up with the one live token, and nothing is written, so the
/// order they are decided in does not matter); a presentation after it is reuse and revokes the
/// family.
fn replay_or_revoke(
    tx: &Transaction<'_>,
    request: &RotationRequest,
    token: TokenRow,
    spent_at: i64,
    family: FamilyRow,
) -> Result<Rotation, StoreError> {
    let in_grace = !elapsed_beyond(request.now, spent_at, duration_ms(request.rules.grace));
    if in_grace && let Some(sealed_successor) = token.sealed_successor {
        return Ok(Rotation::Replayed {
            family: family.into_family()?,
            sealed_successor,
        });
    }
    revoke(tx, &family.id, request.now)?;
    Ok(Rotation::Reused {
        family_id: family.id,
    })
}

/// Revokes the family `family_id` at `now` (keeping an earlier revocation time) and drops its
/// sealed successors, which can no longer be used. Returns whether the family exists.
fn revoke(tx: &Transaction<'_>, family_id: &str, now: i64) -> Result<bool, StoreError> {
    let found = tx.execute(
        "UPDATE refresh_families SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        params![family_id, now],
    )? > 0;
    tx.execute(
        "UPDATE refresh_tokens SET sealed_successor = NULL
         WHERE family_id = ?1 AND sealed_successor IS NOT NULL",
        params![family_id],
    )?;
    Ok(found)
}

/// Revokes the family of `token`; whether one was found.
pub(super) fn revoke_family_of(
    tx: &Transaction<'_>,
    token: &TokenHash,
) -> Result<bool, StoreError> {
    let Some(token) = load_token(tx, token)? else {
        return Ok(false);
    };
    revoke(tx, &token.family_id, wall_clock())
}

/// Revokes a family by id; whether it existed.
pub(super) fn revoke_family(tx: &Transaction<'_>, family_id: &str) -> Result<bool, StoreError> {
    revoke(tx, family_id, wall_clock())
}

/// The trait's revocations carry no time. The revocation time is informational (the purge drops
/// revoked families whenever they were revoked), so the real clock is good enough.
fn wall_clock() -> i64 {
    millis(OffsetDateTime::now_utc())
}
