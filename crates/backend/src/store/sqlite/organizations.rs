//! [`OrganizationStore`] on SQLite: the tables of `0007_organizations.sql`. Every
//! read-modify-write is one `BEGIN IMMEDIATE` transaction.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use sliderule_protocol::organizations::MembershipState;
use time::OffsetDateTime;

use super::{SqliteStore, duration_ms, millis, time_at};
use crate::store::{
    AccountRow, CapacityRow, Lockout, MembershipRow, NewCapacity, OrganizationRow,
    OrganizationStore, Requested, StoreError,
};

const ORG_COLUMNS: &str =
    "name, min_nodes, max_nodes, version, is_public, created_at, created_by, revision";

fn read_org(row: &Row<'_>) -> rusqlite::Result<(OrganizationRow, i64)> {
    Ok((
        OrganizationRow {
            name: row.get(0)?,
            min_nodes: row.get(1)?,
            max_nodes: row.get(2)?,
            version: row.get(3)?,
            is_public: row.get::<_, i64>(4)? != 0,
            admins: Vec::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            created_by: row.get(6)?,
            revision: row.get(7)?,
        },
        row.get(5)?,
    ))
}

fn admins(conn: &Connection, name: &str) -> Result<Vec<String>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT user FROM organization_admins WHERE organization = ?1 ORDER BY user",
    )?;
    let rows = statement.query_map([name], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn finish_org(
    conn: &Connection,
    (mut org, created): (OrganizationRow, i64),
) -> Result<OrganizationRow, StoreError> {
    org.created_at = time_at(created)?;
    org.admins = admins(conn, &org.name)?;
    Ok(org)
}

fn get_org(conn: &Connection, name: &str) -> Result<Option<OrganizationRow>, StoreError> {
    conn.query_row(
        &format!("SELECT {ORG_COLUMNS} FROM organizations WHERE name = ?1"),
        [name],
        read_org,
    )
    .optional()?
    .map(|row| finish_org(conn, row))
    .transpose()
}

fn put_admins(tx: &Transaction<'_>, name: &str, admins: &[String]) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM organization_admins WHERE organization = ?1",
        [name],
    )?;
    for admin in admins {
        tx.execute(
            "INSERT OR IGNORE INTO organization_admins (organization, user) VALUES (?1, ?2)",
            params![name, admin],
        )?;
    }
    Ok(())
}

const MEMBERSHIP_COLUMNS: &str = "organization, user, state, requested_at, decided_at, decided_by";

fn read_membership(row: &Row<'_>) -> rusqlite::Result<(MembershipRow, String, i64, Option<i64>)> {
    Ok((
        MembershipRow {
            organization: row.get(0)?,
            user: row.get(1)?,
            state: MembershipState::None,
            requested_at: OffsetDateTime::UNIX_EPOCH,
            decided_at: None,
            decided_by: row.get(5)?,
        },
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn finish_membership(
    (mut membership, state, requested, decided): (MembershipRow, String, i64, Option<i64>),
) -> Result<MembershipRow, StoreError> {
    membership.state = MembershipState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("membership state {state:?}")))?;
    membership.requested_at = time_at(requested)?;
    membership.decided_at = decided.map(time_at).transpose()?;
    Ok(membership)
}

fn get_membership(
    conn: &Connection,
    organization: &str,
    user: &str,
) -> Result<Option<MembershipRow>, StoreError> {
    conn.query_row(
        &format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE organization = ?1 AND user = ?2"
        ),
        params![organization, user],
        read_membership,
    )
    .optional()?
    .map(finish_membership)
    .transpose()
}

fn memberships_where(
    conn: &Connection,
    condition: &str,
    value: &str,
    order: &str,
) -> Result<Vec<MembershipRow>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE {condition} = ?1 ORDER BY {order}"
    ))?;
    let rows = statement.query_map([value], read_membership)?;
    rows.map(|row| finish_membership(row?)).collect()
}

const CAPACITY_COLUMNS: &str = "id, organization, user, nodes, created_at, expires_at";

fn read_capacity(row: &Row<'_>) -> rusqlite::Result<(CapacityRow, i64, i64)> {
    Ok((
        CapacityRow {
            id: row.get(0)?,
            organization: row.get(1)?,
            user: row.get(2)?,
            nodes: row.get(3)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
        },
        row.get(4)?,
        row.get(5)?,
    ))
}

fn finish_capacity(
    (mut row, created, expires): (CapacityRow, i64, i64),
) -> Result<CapacityRow, StoreError> {
    row.created_at = time_at(created)?;
    row.expires_at = time_at(expires)?;
    Ok(row)
}

fn live_requests(
    conn: &Connection,
    organization: &str,
    user: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<CapacityRow>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {CAPACITY_COLUMNS} FROM capacity_requests
         WHERE organization = ?1 AND expires_at > ?2 AND (?3 IS NULL OR user = ?3)
         ORDER BY expires_at, id"
    ))?;
    let rows = statement.query_map(params![organization, millis(now), user], read_capacity)?;
    rows.map(|row| finish_capacity(row?)).collect()
}

fn add_request(
    tx: &Transaction<'_>,
    request: &NewCapacity,
    now: OffsetDateTime,
) -> Result<Requested, StoreError> {
    let mine = live_requests(tx, &request.organization, Some(&request.user), now)?;
    if !request.replace
        && let Some(same) = mine.iter().find(|r| {
            r.nodes == request.nodes && millis(r.expires_at) >= millis(request.expires_at)
        })
    {
        return Ok(Requested::Redundant(same.clone()));
    }
    if request.replace {
        tx.execute(
            "DELETE FROM capacity_requests WHERE organization = ?1 AND user = ?2",
            params![request.organization, request.user],
        )?;
    }
    tx.execute(
        "INSERT INTO capacity_requests (organization, user, nodes, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            request.organization,
            request.user,
            request.nodes,
            millis(now),
            millis(request.expires_at)
        ],
    )?;
    Ok(Requested::Queued(CapacityRow {
        id: tx.last_insert_rowid(),
        organization: request.organization.clone(),
        user: request.user.clone(),
        nodes: request.nodes,
        created_at: time_at(millis(now))?,
        expires_at: time_at(millis(request.expires_at))?,
    }))
}

const ACCOUNT_COLUMNS: &str = "id, username, password_hash, email, active, created_at, created_by";

fn read_account(row: &Row<'_>) -> rusqlite::Result<(AccountRow, i64)> {
    Ok((
        AccountRow {
            id: row.get(0)?,
            username: row.get(1)?,
            password_hash: row.get(2)?,
            email: row.get(3)?,
            active: row.get::<_, i64>(4)? != 0,
            created_at: OffsetDateTime::UNIX_EPOCH,
            created_by: row.get(6)?,
        },
        row.get(5)?,
    ))
}

fn finish_account((mut account, created): (AccountRow, i64)) -> Result<AccountRow, StoreError> {
    account.created_at = time_at(created)?;
    Ok(account)
}

fn get_account(conn: &Connection, username: &str) -> Result<Option<AccountRow>, StoreError> {
    conn.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM local_accounts WHERE username = ?1"),
        [username],
        read_account,
    )
    .optional()?
    .map(finish_account)
    .transpose()
}

fn locked_until(
    conn: &Connection,
    username: &str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, StoreError> {
    let until: Option<Option<i64>> = conn
        .query_row(
            "SELECT locked_until FROM sign_in_throttle WHERE username = ?1",
            [username],
            |row| row.get(0),
        )
        .optional()?;
    until
        .flatten()
        .filter(|until| *until > millis(now))
        .map(time_at)
        .transpose()
}

fn record_failure(
    tx: &Transaction<'_>,
    username: &str,
    now: OffsetDateTime,
    rules: Lockout,
) -> Result<Option<OffsetDateTime>, StoreError> {
    if let Some(until) = locked_until(tx, username, now)? {
        return Ok(Some(until));
    }
    let now_ms = millis(now);
    let row: Option<(i64, u32)> = tx
        .query_row(
            "SELECT window_start, failures FROM sign_in_throttle WHERE username = ?1",
            [username],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (start, failures) = match row {
        Some((start, failures)) if now_ms - start < duration_ms(rules.window) => {
            (start, failures + 1)
        }
        _ => (now_ms, 1),
    };
    let locked =
        (failures >= rules.failures).then(|| now_ms.saturating_add(duration_ms(rules.lock_for)));
    // A lock starts a fresh window: its failures are spent on it.
    let (start, failures) = if locked.is_some() {
        (now_ms, 0)
    } else {
        (start, failures)
    };
    tx.execute(
        "INSERT INTO sign_in_throttle (username, window_start, failures, locked_until)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (username) DO UPDATE SET window_start = excluded.window_start,
             failures = excluded.failures, locked_until = excluded.locked_until",
        params![username, start, failures, locked],
    )?;
    locked.map(time_at).transpose()
}

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn create_organization(&self, org: &OrganizationRow) -> Result<bool, StoreError> {
        let org = org.clone();
        self.write(move |tx| {
            let inserted = tx.execute(
                &format!(
                    "INSERT OR IGNORE INTO organizations ({ORG_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)"
                ),
                params![
                    org.name,
                    org.min_nodes,
                    org.max_nodes,
                    org.version,
                    i64::from(org.is_public),
                    millis(org.created_at),
                    org.created_by
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            put_admins(tx, &org.name, &org.admins)?;
            Ok(true)
        })
        .await
    }

    async fn organization(&self, name: &str) -> Result<Option<OrganizationRow>, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn| get_org(conn, &name)).await
    }

    async fn organizations(&self) -> Result<Vec<OrganizationRow>, StoreError> {
        self.with_conn(|conn| {
            let rows = {
                let mut statement = conn.prepare_cached(&format!(
                    "SELECT {ORG_COLUMNS} FROM organizations ORDER BY name"
                ))?;
                statement
                    .query_map([], read_org)?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            };
            rows.into_iter().map(|row| finish_org(conn, row)).collect()
        })
        .await
    }

    async fn update_organization(
        &self,
        org: &OrganizationRow,
    ) -> Result<Option<OrganizationRow>, StoreError> {
        let org = org.clone();
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE organizations SET min_nodes = ?2, max_nodes = ?3, version = ?4,
                     is_public = ?5, revision = revision + 1
                 WHERE name = ?1 AND revision = ?6",
                params![
                    org.name,
                    org.min_nodes,
                    org.max_nodes,
                    org.version,
                    i64::from(org.is_public),
                    org.revision
                ],
            )?;
            if changed == 0 {
                return Ok(None);
            }
            put_admins(tx, &org.name, &org.admins)?;
            get_org(tx, &org.name)
        })
        .await
    }

    async fn request_membership(
        &self,
        organization: &str,
        user: &str,
        now: OffsetDateTime,
    ) -> Result<MembershipRow, StoreError> {
        let (organization, user) = (organization.to_owned(), user.to_owned());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO memberships (organization, user, state, requested_at)
                 VALUES (?1, ?2, 'pending', ?3)
                 ON CONFLICT (organization, user) DO UPDATE SET state = 'pending',
                     requested_at = excluded.requested_at
                 WHERE memberships.state IN ('denied', 'deactivated')",
                params![organization, user, millis(now)],
            )?;
            get_membership(tx, &organization, &user)?
                .ok_or_else(|| StoreError::Corrupt("a membership just written is missing".into()))
        })
        .await
    }

    async fn membership(
        &self,
        organization: &str,
        user: &str,
    ) -> Result<Option<MembershipRow>, StoreError> {
        let (organization, user) = (organization.to_owned(), user.to_owned());
        self.with_conn(move |conn| get_membership(conn, &organization, &user))
            .await
    }

    async fn memberships(&self, organization: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let organization = organization.to_owned();
        self.with_conn(move |conn| {
            memberships_where(
                conn,
                "organization",
                &organization,
                "requested_at DESC, user",
            )
        })
        .await
    }

    async fn memberships_of(&self, user: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let user = user.to_owned();
        self.with_conn(move |conn| memberships_where(conn, "user", &user, "organization"))
            .await
    }

    async fn decide_membership(
        &self,
        organization: &str,
        user: &str,
        from: &[MembershipState],
        to: MembershipState,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Option<MembershipRow>, StoreError> {
        let (organization, user, by) = (organization.to_owned(), user.to_owned(), by.to_owned());
        let from = from.to_vec();
        self.write(move |tx| {
            let Some(current) = get_membership(tx, &organization, &user)? else {
                return Ok(None);
            };
            if !from.contains(&current.state) {
                return Ok(None);
            }
            tx.execute(
                "UPDATE memberships SET state = ?3, decided_at = ?4, decided_by = ?5
                 WHERE organization = ?1 AND user = ?2",
                params![organization, user, to.as_str(), millis(now), by],
            )?;
            get_membership(tx, &organization, &user)
        })
        .await
    }

    async fn add_capacity_request(
        &self,
        request: &NewCapacity,
        now: OffsetDateTime,
    ) -> Result<Requested, StoreError> {
        let request = request.clone();
        self.write(move |tx| add_request(tx, &request, now)).await
    }

    async fn capacity_requests(
        &self,
        organization: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<CapacityRow>, StoreError> {
        let organization = organization.to_owned();
        self.with_conn(move |conn| live_requests(conn, &organization, None, now))
            .await
    }

    async fn extend_capacity_requests(
        &self,
        organization: &str,
        user: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (organization, user) = (organization.to_owned(), user.to_owned());
        self.write(move |tx| {
            let moved = tx.execute(
                "UPDATE capacity_requests SET expires_at = ?3
                 WHERE organization = ?1 AND user = ?2 AND expires_at > ?4",
                params![organization, user, millis(expires_at), millis(now)],
            )?;
            Ok(moved as u64)
        })
        .await
    }

    async fn withdraw_capacity_requests(
        &self,
        organization: &str,
        user: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (organization, user) = (organization.to_owned(), user.map(str::to_owned));
        self.write(move |tx| {
            let gone = tx.execute(
                "DELETE FROM capacity_requests
                 WHERE organization = ?1 AND (?2 IS NULL OR user = ?2) AND expires_at > ?3",
                params![organization, user, millis(now)],
            )?;
            Ok(gone as u64)
        })
        .await
    }

    async fn create_account(&self, account: &AccountRow) -> Result<Option<AccountRow>, StoreError> {
        let account = account.clone();
        self.write(move |tx| {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO local_accounts
                     (username, password_hash, email, active, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    account.username,
                    account.password_hash,
                    account.email,
                    i64::from(account.active),
                    millis(account.created_at),
                    account.created_by
                ],
            )?;
            if inserted == 0 {
                return Ok(None);
            }
            get_account(tx, &account.username)
        })
        .await
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        let username = username.to_owned();
        self.with_conn(move |conn| get_account(conn, &username))
            .await
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM local_accounts ORDER BY username"
            ))?;
            let rows = statement.query_map([], read_account)?;
            rows.map(|row| finish_account(row?)).collect()
        })
        .await
    }

    async fn set_account_active(&self, username: &str, active: bool) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE local_accounts SET active = ?2 WHERE username = ?1",
                params![username, i64::from(active)],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        let (username, hash) = (username.to_owned(), hash.to_owned());
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE local_accounts SET password_hash = ?2 WHERE username = ?1",
                params![username, hash],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn sign_in_locked_until(
        &self,
        username: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let username = username.to_owned();
        self.with_conn(move |conn| locked_until(conn, &username, now))
            .await
    }

    async fn record_sign_in_failure(
        &self,
        username: &str,
        now: OffsetDateTime,
        rules: Lockout,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let username = username.to_owned();
        self.write(move |tx| record_failure(tx, &username, now, rules))
            .await
    }

    async fn clear_sign_in_failures(&self, username: &str) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM sign_in_throttle WHERE username = ?1",
                [username],
            )?;
            Ok(())
        })
        .await
    }
}
