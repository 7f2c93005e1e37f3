//! Registered clients, pending browser logins, one-time codes and device-flow bookkeeping: one
//! item each, changed by conditional writes. The semantics are SQLite's (see
//! `store/sqlite/clients.rs`, `codes.rs` and `device.rs`).

use std::time::Duration;

use time::OffsetDateTime;

use super::item::{
    Item, boolean_opt, duration_ms, int, int_opt, item, millis, n, ordered, s, text, text_opt,
    time, ttl, with,
};
use super::{DynamoStore, Expr, MAX_ATTEMPTS, contended};
use crate::store::{CodeGrant, CodeRedemption, DevicePoll, StoreError, StoredClient, TokenHash};

/// What RFC 8628 §3.5 adds to the interval on each `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// How long a device code with no known expiry is kept after its last poll.
pub(super) const UNEXPIRING_DEVICE_CODE_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

pub(super) fn client_pk(client_id: &str) -> String {
    format!("client#{client_id}")
}

pub(super) fn login_pk(nonce: &TokenHash) -> String {
    format!("login#{}", nonce.as_str())
}

pub(super) fn code_pk(code: &TokenHash) -> String {
    format!("code#{}", code.as_str())
}

pub(super) fn device_pk(device_code: &TokenHash) -> String {
    format!("device#{}", device_code.as_str())
}

fn stored_client(item: &Item) -> Result<StoredClient, StoreError> {
    Ok(StoredClient {
        client_id: text(item, "client_id")?,
        record: text(item, "record")?,
        registered_at: time(item, "registered_at")?,
        last_used_at: time(item, "last_used_at")?,
    })
}

pub(super) async fn insert_client(
    store: &DynamoStore,
    client: &StoredClient,
) -> Result<(), StoreError> {
    let item = with(
        item(client_pk(&client.client_id), "client"),
        &[
            ("kind", Some(s("client"))),
            ("kind_sk", Some(s(client.client_id.as_str()))),
            ("client_id", Some(s(client.client_id.as_str()))),
            ("record", Some(s(client.record.as_str()))),
            ("registered_at", Some(n(millis(client.registered_at)))),
            ("last_used_at", Some(n(millis(client.last_used_at)))),
        ],
    );
    let inserted = store
        .put(
            item,
            Some("attribute_not_exists(#pk)"),
            Expr::names(&["pk"]),
        )
        .await?;
    if inserted {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "client {} is registered already",
            client.client_id
        )))
    }
}

/// The client if used within `unused_for` of `now`, marked used at `now` (never moved
/// backwards by a request carrying an older clock).
pub(super) async fn use_client(
    store: &DynamoStore,
    client_id: &str,
    now: OffsetDateTime,
    unused_for: Duration,
) -> Result<Option<StoredClient>, StoreError> {
    let now = millis(now);
    let threshold = now.saturating_sub(duration_ms(unused_for));
    let pk = client_pk(client_id);
    let marked = store
        .update(
            (&pk, "client"),
            "SET #last_used_at = :now",
            Some("#last_used_at BETWEEN :threshold AND :now"),
            Expr::names(&["last_used_at"])
                .value(":now", n(now))
                .value(":threshold", n(threshold)),
        )
        .await?;
    if let Some(after) = marked {
        return stored_client(&after).map(Some);
    }
    // Unknown, stale, or used at a later time than `now` already (then it is live as it is).
    match store.get(&pk, "client").await? {
        Some(found) if int(&found, "last_used_at")? >= threshold => stored_client(&found).map(Some),
        _ => Ok(None),
    }
}

pub(super) async fn insert_pending_login(
    store: &DynamoStore,
    nonce: &TokenHash,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let expires = millis(expires_at);
    let item = with(
        item(login_pk(nonce), "login"),
        &[
            ("kind", Some(s("login"))),
            ("kind_sk", Some(s(ordered(expires)))),
            ("expires_at", Some(n(expires))),
            ("ttl_at", Some(ttl(expires))),
        ],
    );
    store.put(item, None, Expr::default()).await?;
    Ok(())
}

/// True once per nonce if it has not expired: the delete that returns the item is the one use.
pub(super) async fn take_pending_login(
    store: &DynamoStore,
    nonce: &TokenHash,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let taken = store
        .delete((&login_pk(nonce), "login"), None, Expr::default())
        .await?;
    match taken {
        Some(old) => Ok(millis(now) <= int(&old, "expires_at")?),
        None => Ok(false),
    }
}

pub(super) async fn insert_code(
    store: &DynamoStore,
    code: &TokenHash,
    grant: &CodeGrant,
) -> Result<(), StoreError> {
    let expires = millis(grant.expires_at);
    let item = with(
        item(code_pk(code), "code"),
        &[
            ("kind", Some(s("code"))),
            ("kind_sk", Some(s(ordered(expires)))),
            ("client_id", Some(s(grant.client_id.as_str()))),
            ("redirect_uri", Some(s(grant.redirect_uri.as_str()))),
            ("code_challenge", Some(s(grant.code_challenge.as_str()))),
            ("grant", Some(s(grant.grant.as_str()))),
            ("expires_at", Some(n(expires))),
            // Until it is spent: a spent code is kept for the purge to judge.
            ("ttl_at", Some(ttl(expires))),
        ],
    );
    store.put(item, None, Expr::default()).await?;
    Ok(())
}

fn code_grant(item: &Item) -> Result<CodeGrant, StoreError> {
    Ok(CodeGrant {
        client_id: text(item, "client_id")?,
        redirect_uri: text(item, "redirect_uri")?,
        code_challenge: text(item, "code_challenge")?,
        grant: text(item, "grant")?,
        expires_at: time(item, "expires_at")?,
    })
}

/// Spends the code: of racing redemptions, the one conditional write that finds it unspent
/// redeems; every other (and every later one) marks it reused.
pub(super) async fn redeem_code(
    store: &DynamoStore,
    code: &TokenHash,
    now: OffsetDateTime,
) -> Result<CodeRedemption, StoreError> {
    let pk = code_pk(code);
    let now = millis(now);
    for _ in 0..MAX_ATTEMPTS {
        let Some(found) = store.get(&pk, "code").await? else {
            return Ok(CodeRedemption::Unknown);
        };
        // Spent is checked before expiry: a code replayed after it expired is still a reuse.
        if int_opt(&found, "spent_at")?.is_some() {
            let marked = store
                .update(
                    (&pk, "code"),
                    "SET #reused = :yes",
                    Some("attribute_exists(#spent_at)"),
                    Expr::names(&["reused", "spent_at"]).value(":yes", super::item::flag(true)),
                )
                .await?;
            match marked {
                // The family as it is when the reuse is recorded: attach sees the mark after.
                Some(after) => {
                    return Ok(CodeRedemption::Reused {
                        family: text_opt(&after, "family_id")?,
                    });
                }
                None => continue,
            }
        }
        if now > int(&found, "expires_at")? {
            return Ok(CodeRedemption::Unknown);
        }
        let spent = store
            .update(
                (&pk, "code"),
                "SET #spent_at = :now REMOVE #ttl_at",
                Some("attribute_exists(#pk) AND attribute_not_exists(#spent_at)"),
                Expr::names(&["spent_at", "ttl_at", "pk"]).value(":now", n(now)),
            )
            .await?;
        if let Some(after) = spent {
            return Ok(CodeRedemption::Redeemed(code_grant(&after)?));
        }
    }
    Err(contended("redeeming a code"))
}

/// Records the family; true if the code was reused meanwhile. An unknown code reports no
/// reuse.
pub(super) async fn attach_code_family(
    store: &DynamoStore,
    code: &TokenHash,
    family: &str,
) -> Result<bool, StoreError> {
    let attached = store
        .update(
            (&code_pk(code), "code"),
            "SET #family_id = :family",
            Some("attribute_exists(#pk)"),
            Expr::names(&["family_id", "pk"]).value(":family", s(family)),
        )
        .await?;
    match attached {
        Some(after) => Ok(boolean_opt(&after, "reused")?.unwrap_or(false)),
        None => Ok(false),
    }
}

/// Records a device code we relayed; a poll's time, if one came first, is kept.
pub(super) async fn insert_device_code(
    store: &DynamoStore,
    device_code: &TokenHash,
    interval: Duration,
    expires_at: OffsetDateTime,
    scope: &str,
) -> Result<(), StoreError> {
    let expires = millis(expires_at);
    store
        .update(
            (&device_pk(device_code), "device"),
            "SET #kind = :kind, #kind_sk = :kind_sk, #interval_ms = :interval, \
             #expires_at = :expires, #scope = :scope, #ttl_at = :ttl ADD #rev :one",
            None,
            Expr::names(&[
                "kind",
                "kind_sk",
                "interval_ms",
                "expires_at",
                "scope",
                "ttl_at",
                "rev",
            ])
            .value(":kind", s("device"))
            .value(":kind_sk", s(device_code.as_str()))
            .value(":interval", n(duration_ms(interval)))
            .value(":expires", n(expires))
            .value(":scope", s(scope))
            .value(":ttl", ttl(expires))
            .value(":one", n(1)),
        )
        .await?;
    Ok(())
}

pub(super) async fn device_code_scope(
    store: &DynamoStore,
    device_code: &TokenHash,
) -> Result<Option<String>, StoreError> {
    match store.get(&device_pk(device_code), "device").await? {
        Some(found) => text_opt(&found, "scope"),
        None => Ok(None),
    }
}

/// Decides a poll at `now` (see `store/sqlite/device.rs`), by compare-and-swap on the item's
/// `rev`, which every write of a device code bumps.
pub(super) async fn device_poll(
    store: &DynamoStore,
    device_code: &TokenHash,
    now: OffsetDateTime,
    default_interval: Duration,
) -> Result<DevicePoll, StoreError> {
    let pk = device_pk(device_code);
    let now = millis(now);
    let retained = ttl(now.saturating_add(duration_ms(UNEXPIRING_DEVICE_CODE_RETENTION)));
    for _ in 0..MAX_ATTEMPTS {
        let Some(found) = store.get(&pk, "device").await? else {
            // A code we did not relay: start counting now.
            let first = with(
                item(pk.as_str(), "device"),
                &[
                    ("kind", Some(s("device"))),
                    ("kind_sk", Some(s(device_code.as_str()))),
                    ("interval_ms", Some(n(duration_ms(default_interval)))),
                    ("last_poll_at", Some(n(now))),
                    ("rev", Some(n(1))),
                    ("ttl_at", Some(retained.clone())),
                ],
            );
            if store
                .put(
                    first,
                    Some("attribute_not_exists(#pk)"),
                    Expr::names(&["pk"]),
                )
                .await?
            {
                return Ok(DevicePoll::Proceed {
                    interval: default_interval,
                });
            }
            continue;
        };
        let rev = int(&found, "rev")?;
        let interval_ms = int(&found, "interval_ms")?;
        let too_soon = int_opt(&found, "last_poll_at")?
            .is_some_and(|last| now.saturating_sub(last) < interval_ms);
        let interval_ms = if too_soon {
            interval_ms.saturating_add(duration_ms(SLOW_DOWN_STEP))
        } else {
            interval_ms
        };
        let (update, expr) = if int_opt(&found, "expires_at")?.is_some() {
            (
                "SET #interval_ms = :interval, #last_poll_at = :now, #rev = :next",
                Expr::names(&["interval_ms", "last_poll_at", "rev"]),
            )
        } else {
            (
                "SET #interval_ms = :interval, #last_poll_at = :now, #rev = :next, \
                 #ttl_at = :ttl",
                Expr::names(&["interval_ms", "last_poll_at", "rev", "ttl_at"])
                    .value(":ttl", retained.clone()),
            )
        };
        let written = store
            .update(
                (&pk, "device"),
                update,
                Some("#rev = :rev"),
                expr.value(":interval", n(interval_ms))
                    .value(":now", n(now))
                    .value(":rev", n(rev))
                    .value(":next", n(rev + 1)),
            )
            .await?;
        if written.is_some() {
            let interval = Duration::from_millis(u64::try_from(interval_ms).map_err(|_| {
                StoreError::Corrupt(format!("negative device interval {interval_ms} ms"))
            })?);
            return Ok(if too_soon {
                DevicePoll::SlowDown { interval }
            } else {
                DevicePoll::Proceed { interval }
            });
        }
    }
    Err(contended("a device poll"))
}

/// Sets the interval in force; unknown codes are ignored (the next poll records them).
pub(super) async fn set_device_interval(
    store: &DynamoStore,
    device_code: &TokenHash,
    interval: Duration,
) -> Result<(), StoreError> {
    store
        .update(
            (&device_pk(device_code), "device"),
            "SET #interval_ms = :interval ADD #rev :one",
            Some("attribute_exists(#pk)"),
            Expr::names(&["interval_ms", "rev", "pk"])
                .value(":interval", n(duration_ms(interval)))
                .value(":one", n(1)),
        )
        .await?;
    Ok(())
}

pub(super) async fn finish_device_code(
    store: &DynamoStore,
    device_code: &TokenHash,
) -> Result<(), StoreError> {
    store
        .delete((&device_pk(device_code), "device"), None, Expr::default())
        .await?;
    Ok(())
}
