//! One-time authorization codes. A redeemed code stays (spent) so that presenting it again is
//! recognised as reuse, which revokes what its first use issued (RFC 9700 §4.5).

use rusqlite::{OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::{millis, time_at};
use crate::store::{CodeGrant, CodeRedemption, StoreError, TokenHash};

pub(super) fn insert(
    tx: &Transaction<'_>,
    code: &TokenHash,
    grant: &CodeGrant,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO auth_codes
           (code_hash, client_id, redirect_uri, code_challenge, grant_json, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            code.as_str(),
            grant.client_id,
            grant.redirect_uri,
            grant.code_challenge,
            grant.grant,
            millis(grant.expires_at)
        ],
    )?;
    Ok(())
}

/// A code row as stored.
struct CodeRow {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    grant: String,
    expires_at: i64,
    spent: bool,
    family_id: Option<String>,
}

impl CodeRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            client_id: row.get(0)?,
            redirect_uri: row.get(1)?,
            code_challenge: row.get(2)?,
            grant: row.get(3)?,
            expires_at: row.get(4)?,
            spent: row.get::<_, Option<i64>>(5)?.is_some(),
            family_id: row.get(6)?,
        })
    }

    fn into_grant(self) -> Result<CodeGrant, StoreError> {
        Ok(CodeGrant {
            client_id: self.client_id,
            redirect_uri: self.redirect_uri,
            code_challenge: self.code_challenge,
            grant: self.grant,
            expires_at: time_at(self.expires_at)?,
        })
    }
}

/// Spends the code. The check and the update share the caller's `BEGIN IMMEDIATE` transaction,
/// so of any number of racing redemptions exactly one sees the code unspent.
pub(super) fn redeem(
    tx: &Transaction<'_>,
    code: &TokenHash,
    now: OffsetDateTime,
) -> Result<CodeRedemption, StoreError> {
    let row = tx
        .query_row(
            "SELECT client_id, redirect_uri, code_challenge, grant_json, expires_at, spent_at,
                    family_id
             FROM auth_codes WHERE code_hash = ?1",
            params![code.as_str()],
            CodeRow::read,
        )
        .optional()?;
    let Some(row) = row else {
        return Ok(CodeRedemption::Unknown);
    };
    // Spent is checked before expiry: a code replayed after it expired is still a reuse.
    if row.spent {
        tx.execute(
            "UPDATE auth_codes SET reused = 1 WHERE code_hash = ?1",
            params![code.as_str()],
        )?;
        return Ok(CodeRedemption::Reused {
            family: row.family_id,
        });
    }
    if millis(now) > row.expires_at {
        return Ok(CodeRedemption::Unknown);
    }
    tx.execute(
        "UPDATE auth_codes SET spent_at = ?2 WHERE code_hash = ?1",
        params![code.as_str(), millis(now)],
    )?;
    Ok(CodeRedemption::Redeemed(row.into_grant()?))
}

/// Records the family the code's redemption issued; true if the code was reused meanwhile (that
/// reuse could not name the family, so the caller must revoke it now). An unknown code (purged)
/// reports no reuse.
pub(super) fn attach_family(
    tx: &Transaction<'_>,
    code: &TokenHash,
    family: &str,
) -> Result<bool, StoreError> {
    let reused: Option<i64> = tx
        .query_row(
            "UPDATE auth_codes SET family_id = ?2 WHERE code_hash = ?1 RETURNING reused",
            params![code.as_str(), family],
            |row| row.get(0),
        )
        .optional()?;
    Ok(reused.is_some_and(|reused| reused != 0))
}
