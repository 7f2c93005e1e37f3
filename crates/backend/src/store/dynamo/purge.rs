//! Deleting what can no longer matter, with SQLite's retention rules (see
//! `store/sqlite/purge.rs`): each kind of item is listed through the `by_kind` index (by expiry
//! where it has one) and deleted on condition that it is still what was judged, so an item
//! changed meanwhile (a client used, a device code polled) stays. DynamoDB's TTL deletes most of
//! the expiring ones anyway; the purge counts what it deleted itself.

use std::time::Duration;

use super::auth::UNEXPIRING_DEVICE_CODE_RETENTION;
use super::item::{Item, duration_ms, int, int_opt, n, ordered, s, text};
use super::refresh::{FamilyItem, clear_sealed_of};
use super::{DynamoStore, Expr, Query};
use crate::store::{Lockout, RefreshRules, StoreError};

/// The items of `kind` whose `kind_sk` sorts before `before` (all of them when `None`).
async fn of_kind(
    store: &DynamoStore,
    kind: &str,
    before: Option<String>,
) -> Result<Vec<Item>, StoreError> {
    let query = match before {
        None => Query::index("by_kind", kind),
        Some(before) => Query {
            index: Some("by_kind"),
            key_condition: "#kind = :pk AND #kind_sk < :before",
            expr: Expr::names(&["kind", "kind_sk"])
                .value(":pk", s(kind))
                .value(":before", s(before)),
            newest_first: false,
            limit: None,
        },
    };
    store.query(query).await
}

/// Deletes `item` on `condition`; 1 if it went, 0 if it changed or was gone.
async fn delete(
    store: &DynamoStore,
    item: &Item,
    condition: &str,
    expr: Expr,
) -> Result<u64, StoreError> {
    let (pk, sk) = (text(item, "pk")?, text(item, "sk")?);
    let deleted = store.delete((&pk, &sk), Some(condition), expr).await?;
    Ok(u64::from(deleted.is_some()))
}

/// Purges everything at `now` (unix milliseconds); returns the number of items deleted.
pub(super) async fn purge(
    store: &DynamoStore,
    now: i64,
    rules: RefreshRules,
    client_unused_for: Duration,
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    let expired = Expr::names(&["expires_at"]).value(":now", n(now));

    for login in of_kind(store, "login", Some(ordered(now))).await? {
        deleted += delete(store, &login, "#expires_at < :now", expired.clone()).await?;
    }

    // A redeemed code stays until no family it issued can live.
    let spent_cut = now.saturating_sub(duration_ms(rules.absolute));
    for code in of_kind(store, "code", Some(ordered(now))).await? {
        let spent = int_opt(&code, "spent_at")?.is_some();
        if !spent || int(&code, "expires_at")? < spent_cut {
            deleted += delete(
                store,
                &code,
                "#expires_at < :now AND (attribute_not_exists(#spent_at) OR #expires_at < :cut)",
                Expr::names(&["expires_at", "spent_at"])
                    .value(":now", n(now))
                    .value(":cut", n(spent_cut)),
            )
            .await?;
        }
    }

    let retention = duration_ms(UNEXPIRING_DEVICE_CODE_RETENTION);
    for device in of_kind(store, "device", None).await? {
        let gone = match int_opt(&device, "expires_at")? {
            Some(expires_at) => expires_at < now,
            None => {
                let last = int_opt(&device, "last_poll_at")?.unwrap_or(0);
                now.saturating_sub(last) > retention
            }
        };
        if gone {
            deleted += delete(
                store,
                &device,
                "#rev = :rev",
                Expr::names(&["rev"]).value(":rev", n(int(&device, "rev")?)),
            )
            .await?;
        }
    }

    for family in of_kind(store, "family", None).await? {
        let read = FamilyItem::read(&family)?;
        if !read.dead(now, &rules) {
            continue;
        }
        // Tokens first, so a family is never gone while a token of it remains.
        let tokens = store
            .query(Query::index("by_group", &text(&family, "pk")?))
            .await?;
        for token in tokens {
            deleted += delete(store, &token, "attribute_exists(#pk)", Expr::names(&["pk"])).await?;
        }
        deleted += delete(
            store,
            &family,
            "attribute_exists(#pk)",
            Expr::names(&["pk"]),
        )
        .await?;
    }

    let stale = now.saturating_sub(duration_ms(client_unused_for));
    for client in of_kind(store, "client", None).await? {
        if int(&client, "last_used_at")? < stale {
            deleted += delete(
                store,
                &client,
                "#last_used_at < :stale",
                Expr::names(&["last_used_at"]).value(":stale", n(stale)),
            )
            .await?;
        }
    }

    for signature in of_kind(store, "signature", Some(ordered(now))).await? {
        deleted += delete(store, &signature, "#expires_at < :now", expired.clone()).await?;
    }

    // Capacity requests are gone at their expiry itself.
    for request in of_kind(store, "capacity", Some(ordered(now.saturating_add(1)))).await? {
        deleted += delete(store, &request, "#expires_at <= :now", expired.clone()).await?;
    }

    // A throttle matters while it locks or while its window may still count.
    let window = duration_ms(Lockout::SPEC.window);
    for throttle in of_kind(store, "throttle", None).await? {
        let locked_until = int_opt(&throttle, "locked_until")?.unwrap_or(0);
        let start = int(&throttle, "window_start")?;
        if locked_until <= now && now.saturating_sub(start) > window {
            deleted += delete(
                store,
                &throttle,
                "#rev = :rev",
                Expr::names(&["rev"]).value(":rev", n(int(&throttle, "rev")?)),
            )
            .await?;
        }
    }

    // Sealed successors past their grace window are cleared, not counted.
    let sealed_cut = now.saturating_sub(duration_ms(rules.grace));
    for token in of_kind(store, "sealed", Some(ordered(sealed_cut))).await? {
        clear_sealed_of(store, &text(&token, "pk")?, Some(sealed_cut)).await?;
    }
    Ok(deleted)
}
