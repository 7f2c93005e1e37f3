//! Refresh-token families and their rotation (semantics: `store/sqlite/refresh.rs`).
//!
//! A rotation is one transaction: the presented token is spent (on condition that it is not
//! spent yet), its successor is written (on condition that it is new) and the family marked
//! used (on condition that it is neither revoked nor used since it was read). Of racing
//! presentations of one token exactly one transaction goes through; the others read again,
//! find the token spent and get its sealed successor.

use time::OffsetDateTime;

use super::item::{
    Item, b, bytes_opt, duration_ms, int, int_opt, item, millis, n, ordered, s, text, time_at, with,
};
use super::{DynamoStore, Expr, MAX_ATTEMPTS, Query, contended};
use crate::store::{Family, RefreshRules, Rotation, StoreError, TokenHash};

pub(super) fn family_pk(family_id: &str) -> String {
    format!("family#{family_id}")
}

pub(super) fn token_pk(token: &TokenHash) -> String {
    format!("refresh#{}", token.as_str())
}

/// A family as stored, times in milliseconds.
pub(super) struct FamilyItem {
    pub(super) id: String,
    login: String,
    grant: String,
    pub(super) created_at: i64,
    pub(super) last_used_at: i64,
    pub(super) revoked_at: Option<i64>,
}

impl FamilyItem {
    pub(super) fn read(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            id: text(item, "family_id")?,
            login: text(item, "login")?,
            grant: text(item, "grant")?,
            created_at: int(item, "created_at")?,
            last_used_at: int(item, "last_used_at")?,
            revoked_at: int_opt(item, "revoked_at")?,
        })
    }

    /// Revoked, or past its idle or absolute lifetime at `now`.
    pub(super) fn dead(&self, now: i64, rules: &RefreshRules) -> bool {
        self.revoked_at.is_some()
            || now.saturating_sub(self.created_at) > duration_ms(rules.absolute)
            || now.saturating_sub(self.last_used_at) > duration_ms(rules.idle)
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

/// A new, live token of `family_id` issued at `issued_at`.
fn token_item(token: &TokenHash, family_id: &str, issued_at: i64) -> Item {
    with(
        item(token_pk(token), "refresh"),
        &[
            ("grp", Some(s(family_pk(family_id)))),
            ("grp_sk", Some(s(token.as_str()))),
            ("family_id", Some(s(family_id))),
            ("issued_at", Some(n(issued_at))),
        ],
    )
}

pub(super) async fn create_family(
    store: &DynamoStore,
    family: &Family,
    first: &TokenHash,
) -> Result<(), StoreError> {
    let created_at = millis(family.created_at);
    let family_item = with(
        item(family_pk(&family.id), "family"),
        &[
            ("kind", Some(s("family"))),
            ("kind_sk", Some(s(family.id.as_str()))),
            ("family_id", Some(s(family.id.as_str()))),
            ("login", Some(s(family.login.as_str()))),
            ("grant", Some(s(family.grant.as_str()))),
            ("created_at", Some(n(created_at))),
            ("last_used_at", Some(n(millis(family.last_used_at)))),
            ("revoked_at", family.revoked.then(|| n(created_at))),
        ],
    );
    let new = "attribute_not_exists(#pk)";
    let writes = vec![
        store.tx_put(family_item, Some(new), Expr::names(&["pk"]))?,
        store.tx_put(
            token_item(first, &family.id, created_at),
            Some(new),
            Expr::names(&["pk"]),
        )?,
    ];
    if store.transact(writes).await? {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "family {} or its first token exists already",
            family.id
        )))
    }
}

async fn load_family(
    store: &DynamoStore,
    family_id: &str,
) -> Result<Option<FamilyItem>, StoreError> {
    store
        .get(&family_pk(family_id), "family")
        .await?
        .map(|found| FamilyItem::read(&found))
        .transpose()
}

pub(super) async fn family_of(
    store: &DynamoStore,
    token: &TokenHash,
) -> Result<Option<Family>, StoreError> {
    let Some(found) = store.get(&token_pk(token), "refresh").await? else {
        return Ok(None);
    };
    // A token whose family is gone (purged a moment ago) has no family either.
    match load_family(store, &text(&found, "family_id")?).await? {
        Some(family) => family.into_family().map(Some),
        None => Ok(None),
    }
}

pub(super) async fn rotate(
    store: &DynamoStore,
    presented: &TokenHash,
    successor: &TokenHash,
    sealed_successor: &[u8],
    now: OffsetDateTime,
    rules: RefreshRules,
) -> Result<Rotation, StoreError> {
    let now = millis(now);
    let presented_pk = token_pk(presented);
    for _ in 0..MAX_ATTEMPTS {
        let Some(token) = store.get(&presented_pk, "refresh").await? else {
            return Ok(Rotation::Invalid);
        };
        let family_id = text(&token, "family_id")?;
        let Some(mut family) = load_family(store, &family_id).await? else {
            return Ok(Rotation::Invalid);
        };
        if family.dead(now, &rules) {
            return Ok(Rotation::Invalid);
        }
        if let Some(spent_at) = int_opt(&token, "spent_at")? {
            let in_grace = now.saturating_sub(spent_at) <= duration_ms(rules.grace);
            if in_grace && let Some(sealed_successor) = bytes_opt(&token, "sealed_successor")? {
                return Ok(Rotation::Replayed {
                    family: family.into_family()?,
                    sealed_successor,
                });
            }
            revoke(store, &family_id, now).await?;
            return Ok(Rotation::Reused { family_id });
        }
        let read_last_used = family.last_used_at;
        // Another process with a slightly older clock never moves the mark backwards.
        family.last_used_at = read_last_used.max(now);
        let writes = vec![
            store.tx_update(
                (&presented_pk, "refresh"),
                "SET #spent_at = :now, #successor_hash = :successor, \
                 #sealed_successor = :sealed, #kind = :sealed_kind, #kind_sk = :spent_key",
                Some("attribute_exists(#pk) AND attribute_not_exists(#spent_at)"),
                Expr::names(&[
                    "spent_at",
                    "successor_hash",
                    "sealed_successor",
                    "kind",
                    "kind_sk",
                    "pk",
                ])
                .value(":now", n(now))
                .value(":successor", s(successor.as_str()))
                .value(":sealed", b(sealed_successor))
                .value(":sealed_kind", s("sealed"))
                .value(":spent_key", s(ordered(now))),
            )?,
            store.tx_put(
                token_item(successor, &family_id, now),
                Some("attribute_not_exists(#pk)"),
                Expr::names(&["pk"]),
            )?,
            store.tx_update(
                (&family_pk(&family_id), "family"),
                "SET #last_used_at = :last_used",
                Some("#last_used_at = :read AND attribute_not_exists(#revoked_at)"),
                Expr::names(&["last_used_at", "revoked_at"])
                    .value(":last_used", n(family.last_used_at))
                    .value(":read", n(read_last_used)),
            )?,
        ];
        if store.transact(writes).await? {
            // Sealed successors are only for retries inside the grace window; drop the
            // family's older ones now rather than wait for the purge.
            let cut = now.saturating_sub(duration_ms(rules.grace));
            clear_sealed(store, &family_id, Some(cut)).await?;
            return Ok(Rotation::Rotated {
                family: family.into_family()?,
            });
        }
    }
    Err(contended("rotating a refresh token"))
}

/// Removes the sealed successor of `token` if it was spent before `before` (any, when `None`).
pub(super) async fn clear_sealed_of(
    store: &DynamoStore,
    token_pk: &str,
    before: Option<i64>,
) -> Result<bool, StoreError> {
    let update = "REMOVE #sealed_successor, #kind, #kind_sk";
    let names = ["sealed_successor", "kind", "kind_sk", "spent_at"];
    let cleared = match before {
        Some(cut) => {
            store
                .update(
                    (token_pk, "refresh"),
                    update,
                    Some("attribute_exists(#sealed_successor) AND #spent_at < :cut"),
                    Expr::names(&names).value(":cut", n(cut)),
                )
                .await?
        }
        None => {
            store
                .update(
                    (token_pk, "refresh"),
                    update,
                    Some("attribute_exists(#sealed_successor)"),
                    Expr::names(&names[..3]),
                )
                .await?
        }
    };
    Ok(cleared.is_some())
}

/// Removes the family's sealed successors spent before `before` (all, when `None`).
async fn clear_sealed(
    store: &DynamoStore,
    family_id: &str,
    before: Option<i64>,
) -> Result<(), StoreError> {
    let tokens = store
        .query(Query::index("by_group", &family_pk(family_id)))
        .await?;
    for token in tokens {
        let sealed = token.contains_key("sealed_successor");
        let old_enough = match before {
            Some(cut) => int_opt(&token, "spent_at")?.is_some_and(|spent| spent < cut),
            None => true,
        };
        if sealed && old_enough {
            clear_sealed_of(store, &text(&token, "pk")?, before).await?;
        }
    }
    Ok(())
}

/// Revokes the family at `now` (keeping an earlier revocation time) and drops its sealed
/// successors, which can no longer be used. Returns whether the family exists.
async fn revoke(store: &DynamoStore, family_id: &str, now: i64) -> Result<bool, StoreError> {
    let revoked = store
        .update(
            (&family_pk(family_id), "family"),
            "SET #revoked_at = if_not_exists(#revoked_at, :now)",
            Some("attribute_exists(#pk)"),
            Expr::names(&["revoked_at", "pk"]).value(":now", n(now)),
        )
        .await?;
    if revoked.is_none() {
        return Ok(false);
    }
    clear_sealed(store, family_id, None).await?;
    Ok(true)
}

pub(super) async fn revoke_family_of(
    store: &DynamoStore,
    token: &TokenHash,
) -> Result<bool, StoreError> {
    let Some(found) = store.get(&token_pk(token), "refresh").await? else {
        return Ok(false);
    };
    revoke(store, &text(&found, "family_id")?, wall_clock()).await
}

pub(super) async fn revoke_family(
    store: &DynamoStore,
    family_id: &str,
) -> Result<bool, StoreError> {
    revoke(store, family_id, wall_clock()).await
}

/// The trait's revocations carry no time; the revocation time is informational.
fn wall_clock() -> i64 {
    millis(OffsetDateTime::now_utc())
}
