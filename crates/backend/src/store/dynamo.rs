//! The [`Store`] on one Amazon DynamoDB table (`store.url = "dynamodb://TABLE"`): what replicas
//! on several machines, or Lambda instances, share.
//!
//! # Table design
//!
//! One table, on-demand (PAY_PER_REQUEST), with a string partition key `pk` and sort key `sk`,
//! and two global secondary indexes (both string keys, all attributes projected):
//!
//! | item | `pk` | `sk` | `by_kind` (`kind`, `kind_sk`) | `by_group` (`grp`, `grp_sk`) |
//! |---|---|---|---|---|
//! | schema version | `schema` | `schema` | | |
//! | id counters (audit, capacity, account) | `counter` | name | | |
//! | OAuth client | `client#ID` | `client` | `client`, id | |
//! | pending login | `login#HASH` | `login` | `login`, expiry | |
//! | authorization code | `code#HASH` | `code` | `code`, expiry | |
//! | device code | `device#HASH` | `device` | `device`, hash | |
//! | request signature | `signature#HASH` | `signature` | `signature`, expiry | |
//! | refresh family | `family#ID` | `family` | `family`, id | |
//! | refresh token | `refresh#HASH` | `refresh` | `sealed`, spent at (only while it keeps a sealed successor) | `family#ID`, hash |
//! | cluster record | `cluster` | name | | |
//! | lease | `lease#NAME` | `lease` | | |
//! | audit entry | `audit` | id | | `audit#CLUSTER`, id |
//! | simulated stack | `simstack` | stack id | | |
//! | node group | `nodegroup` | `CLUSTER#USER` | | |
//! | budget | `budget` | account | | |
//! | ledger entry | `ledger#ACCOUNT` | id | | `charges#CLUSTER`, time (charges only) |
//! | meter | `meter` | cluster | | |
//! | reconciled day | `reconciled` | `CLUSTER#DAY` | | |
//! | organization | `organization` | name | | |
//! | membership | `membership#ORG` | user | | `member#USER`, organization |
//! | capacity request | `capacity#ORG` | `request#ID` | `capacity`, expiry | |
//! | a user's capacity guard | `capacity#ORG` | `guard#USER` | | |
//! | local account | `account` | username | | |
//! | sign-in throttle | `throttle#USERNAME` | `throttle` | `throttle`, username | |
//!
//! Numbers in sort keys are zero-padded so they sort as numbers; times are unix milliseconds;
//! money is integer micro-dollars, as in SQLite. Secrets never reach the table: codes, tokens,
//! nonces, device codes and signatures are keyed by their [`TokenHash`].
//!
//! The small collections that are listed whole (clusters, budgets, meters, organizations,
//! accounts, node groups, simulated stacks) each live in one partition, so listing them is one
//! strongly consistent, paginated Query. Items with many instances (tokens, codes, …) have a
//! partition each; `by_kind` lists them for the purge (by expiry where there is one), and
//! `by_group` answers the few lookups by another attribute. Reads through an index are
//! eventually consistent on DynamoDB: the purge, `audit_of`, `memberships_of` and
//! `charges_for` may miss a write of the last second; nothing that spends or checks a secret
//! reads through an index.
//!
//! # Atomicity
//!
//! Every read-modify-write is a conditional write (`ConditionExpression`) on what was read, or a
//! `TransactWriteItems` of conditional writes when it touches several items (a rotation spends
//! the token, records its successor and marks the family used; a posting appends the ledger
//! entry and moves the balance). When a condition fails, someone else wrote first: the call
//! reads again and decides again ([`MAX_ATTEMPTS`] times at most). So a code or a refresh token
//! is spent exactly once across processes, one holder holds a lease, records change by
//! compare-and-swap on their revision, and a ledger entry and its balance are written together.
//!
//! Expiring items (pending logins, codes, device codes, signatures, leases, capacity requests,
//! sign-in throttles) carry `ttl_at` (epoch seconds), the table's TTL attribute; DynamoDB deletes
//! them lazily, so every read checks the expiry itself and the purge deletes the rest.

mod auth;
mod budgets;
mod clusters;
mod item;
mod node_groups;
mod organizations;
mod purge;
mod refresh;
mod schema;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use time::OffsetDateTime;

use self::item::{Item, n, s};
use super::{
    CodeGrant, CodeRedemption, DevicePoll, Family, RefreshRules, Rotation, Store, StoreError,
    StoredClient, TokenHash,
};

/// How often a read-modify-write reads and decides again after another writer came first. Each
/// failed attempt means another write succeeded, so this bounds the contention, not the work.
const MAX_ATTEMPTS: usize = 100;

/// A DynamoDB-backed [`Store`]. Cloning shares the client.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
    /// At most this many items per Query request (tests use a tiny page to exercise
    /// pagination); DynamoDB's own limit (1 MB) otherwise.
    page_size: Option<u32>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// The names and values an expression refers to. Every attribute is referred to as `#name`
/// (DynamoDB reserves hundreds of words), every value as `:value`.
#[derive(Default, Clone)]
pub(super) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// Declares `#attribute` for each attribute.
    pub(super) fn names(attributes: &[&str]) -> Self {
        let mut expr = Self::default();
        for attribute in attributes {
            expr.names
                .insert(format!("#{attribute}"), (*attribute).to_owned());
        }
        expr
    }

    /// Declares `placeholder` (with its colon) as `value`.
    pub(super) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    fn names_opt(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values_opt(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A query: the key condition (and the index it runs on), in which direction, how many.
pub(super) struct Query<'a> {
    pub(super) index: Option<&'a str>,
    pub(super) key_condition: &'a str,
    pub(super) expr: Expr,
    pub(super) newest_first: bool,
    pub(super) limit: Option<u32>,
}

impl<'a> Query<'a> {
    /// Every item of the partition `pk`, in sort key order.
    pub(super) fn partition(pk: &str) -> Self {
        Query {
            index: None,
            key_condition: "#pk = :pk",
            expr: Expr::names(&["pk"]).value(":pk", s(pk)),
            newest_first: false,
            limit: None,
        }
    }

    /// Every item of `partition` in the index `index` (`by_kind` or `by_group`).
    pub(super) fn index(index: &'a str, partition: &str) -> Self {
        let (hash, condition) = match index {
            "by_kind" => ("kind", "#kind = :pk"),
            _ => ("grp", "#grp = :pk"),
        };
        Query {
            index: Some(index),
            key_condition: condition,
            expr: Expr::names(&[hash]).value(":pk", s(partition)),
            newest_first: false,
            limit: None,
        }
    }
}

/// Maps an SDK failure to [`StoreError::Unavailable`]: the operation and DynamoDB's error code
/// and message, never the request (its keys and values).
fn sdk_error<E, R>(operation: &str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    let what = match err {
        SdkError::ServiceError(_) => format!(
            "{}: {}",
            err.code().unwrap_or("error"),
            err.message().unwrap_or("no message")
        ),
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(_) => "cannot reach DynamoDB".to_owned(),
        SdkError::ResponseError(_) => "an unreadable answer".to_owned(),
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        _ => "failed".to_owned(),
    };
    StoreError::Unavailable(format!("DynamoDB {operation}: {what}"))
}

/// Whether a single-item write failed because its condition did not hold.
fn refused<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

/// Whether a single-item write met a transaction in progress on its item: it is sent again.
fn conflicted<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("TransactionConflictException")
}

fn build_error(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB request: {err}"))
}

/// Too many writers came first, [`MAX_ATTEMPTS`] times in a row.
pub(super) fn contended(what: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "{what}: other writers kept coming first ({MAX_ATTEMPTS} attempts)"
    ))
}

impl DynamoStore {
    /// The store on `table`, as it is: nothing is checked or created (see [`Self::open`] and
    /// [`Self::open_existing`]).
    pub fn new(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        Self {
            client: Client::new(sdk),
            table: Arc::from(table),
            page_size: None,
        }
    }

    /// The store on `table`, created or upgraded first ([`Self::migrate`]).
    pub async fn open(sdk: &aws_config::SdkConfig, table: &str) -> Result<Self, StoreError> {
        let store = Self::new(sdk, table);
        store.apply_schema().await?;
        Ok(store)
    }

    /// The store on `table`, refused unless the table exists with this binary's schema
    /// ([`StoreError::Schema`], naming `store migrate`).
    pub async fn open_existing(
        sdk: &aws_config::SdkConfig,
        table: &str,
    ) -> Result<Self, StoreError> {
        let store = Self::new(sdk, table);
        store.check_schema().await?;
        Ok(store)
    }

    /// Creates or upgrades the table (its indexes, TTL and schema version); returns the schema
    /// version before and after. Idempotent.
    pub async fn migrate(
        sdk: &aws_config::SdkConfig,
        table: &str,
    ) -> Result<(usize, usize), StoreError> {
        Self::new(sdk, table).apply_schema().await
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads at most `items` per Query request, so tests page through every listing.
    #[cfg(test)]
    fn with_page_size(mut self, items: u32) -> Self {
        self.page_size = Some(items);
        self
    }

    pub(super) async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(item::item(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", &e))?;
        Ok(out.item)
    }

    /// Writes `item` if `condition` holds; false if it did not.
    pub(super) async fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<bool, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let result = self
                .client
                .put_item()
                .table_name(&*self.table)
                .set_item(Some(item.clone()))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_names(expr.names_opt())
                .set_expression_attribute_values(expr.values_opt())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(true),
                Err(err) if conflicted(&err) => {}
                Err(err) if refused(&err) => return Ok(false),
                Err(err) => return Err(sdk_error("PutItem", &err)),
            }
        }
        Err(contended("PutItem"))
    }

    /// Applies `update` if `condition` holds; the item after it, or `None` if it did not hold.
    pub(super) async fn update(
        &self,
        (pk, sk): (&str, &str),
        update: &str,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<Option<Item>, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let result = self
                .client
                .update_item()
                .table_name(&*self.table)
                .set_key(Some(item::item(pk, sk)))
                .update_expression(update)
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_names(expr.names_opt())
                .set_expression_attribute_values(expr.values_opt())
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match result {
                Ok(out) => return Ok(Some(out.attributes.unwrap_or_default())),
                Err(err) if conflicted(&err) => {}
                Err(err) if refused(&err) => return Ok(None),
                Err(err) => return Err(sdk_error("UpdateItem", &err)),
            }
        }
        Err(contended("UpdateItem"))
    }

    /// Deletes the item if `condition` holds; the item deleted, or `None` if there was none or
    /// the condition did not hold.
    pub(super) async fn delete(
        &self,
        (pk, sk): (&str, &str),
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<Option<Item>, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let result = self
                .client
                .delete_item()
                .table_name(&*self.table)
                .set_key(Some(item::item(pk, sk)))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_names(expr.names_opt())
                .set_expression_attribute_values(expr.values_opt())
                .return_values(ReturnValue::AllOld)
                .send()
                .await;
            match result {
                Ok(out) => return Ok(out.attributes.filter(|old| !old.is_empty())),
                Err(err) if conflicted(&err) => {}
                Err(err) if refused(&err) => return Ok(None),
                Err(err) => return Err(sdk_error("DeleteItem", &err)),
            }
        }
        Err(contended("DeleteItem"))
    }

    /// Every item the query selects (up to its limit), following `LastEvaluatedKey` across
    /// pages. Strongly consistent on the table; eventually consistent on an index.
    pub(super) async fn query(&self, query: Query<'_>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        if query.limit == Some(0) {
            return Ok(items);
        }
        let mut start: Option<Item> = None;
        loop {
            let remaining = query.limit.map(|limit| limit as usize - items.len());
            let page = match (remaining, self.page_size) {
                (Some(left), Some(page)) => Some(left.min(page as usize)),
                (left, page) => left.or(page.map(|page| page as usize)),
            }
            .map(|page| i32::try_from(page).unwrap_or(i32::MAX));
            let out = self
                .client
                .query()
                .table_name(&*self.table)
                .set_index_name(query.index.map(str::to_owned))
                .key_condition_expression(query.key_condition)
                .set_expression_attribute_names(query.expr.names_opt())
                .set_expression_attribute_values(query.expr.values_opt())
                .scan_index_forward(!query.newest_first)
                .consistent_read(query.index.is_none())
                .set_limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", &e))?;
            items.extend(out.items.unwrap_or_default());
            let full = query
                .limit
                .is_some_and(|limit| items.len() >= limit as usize);
            match out.last_evaluated_key.filter(|key| !key.is_empty()) {
                Some(key) if !full => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Writes all of `writes` or none; false if a condition did not hold or another
    /// transaction touched one of the items (the caller reads again).
    pub(super) async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        if writes.is_empty() {
            return Ok(true);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
                    err.as_service_error()
                {
                    let retry = cancel.cancellation_reasons().iter().all(|reason| {
                        matches!(
                            reason.code(),
                            None | Some("None" | "ConditionalCheckFailed" | "TransactionConflict")
                        )
                    });
                    if retry {
                        return Ok(false);
                    }
                }
                if matches!(err.code(), Some("TransactionConflictException")) {
                    return Ok(false);
                }
                Err(sdk_error("TransactWriteItems", &err))
            }
        }
    }

    /// A put inside a transaction.
    pub(super) fn tx_put(
        &self,
        item: Item,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&*self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An update inside a transaction.
    pub(super) fn tx_update(
        &self,
        (pk, sk): (&str, &str),
        update: &str,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&*self.table)
            .set_key(Some(item::item(pk, sk)))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A delete inside a transaction.
    pub(super) fn tx_delete(
        &self,
        (pk, sk): (&str, &str),
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&*self.table)
            .set_key(Some(item::item(pk, sk)))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The next id of the counter `name` (1, 2, …): increasing across every process.
    pub(super) async fn next_id(&self, name: &str) -> Result<i64, StoreError> {
        let after = self
            .update(
                ("counter", name),
                "ADD #value :one",
                None,
                Expr::names(&["value"]).value(":one", n(1)),
            )
            .await?
            .ok_or_else(|| contended("a counter"))?;
        item::int(&after, "value")
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.get(schema::PK, schema::PK).await.map(|_| ())
    }

    async fn insert_client(&self, client: &StoredClient) -> Result<(), StoreError> {
        auth::insert_client(self, client).await
    }

    async fn use_client(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        unused_for: Duration,
    ) -> Result<Option<StoredClient>, StoreError> {
        auth::use_client(self, client_id, now, unused_for).await
    }

    async fn insert_pending_login(
        &self,
        nonce: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        auth::insert_pending_login(self, nonce, expires_at).await
    }

    async fn take_pending_login(
        &self,
        nonce: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        auth::take_pending_login(self, nonce, now).await
    }

    async fn insert_code(&self, code: &TokenHash, grant: &CodeGrant) -> Result<(), StoreError> {
        auth::insert_code(self, code, grant).await
    }

    async fn redeem_code(
        &self,
        code: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<CodeRedemption, StoreError> {
        auth::redeem_code(self, code, now).await
    }

    async fn attach_code_family(&self, code: &TokenHash, family: &str) -> Result<bool, StoreError> {
        auth::attach_code_family(self, code, family).await
    }

    async fn insert_device_code(
        &self,
        device_code: &TokenHash,
        interval: Duration,
        expires_at: OffsetDateTime,
        scope: &str,
    ) -> Result<(), StoreError> {
        auth::insert_device_code(self, device_code, interval, expires_at, scope).await
    }

    async fn device_code_scope(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<String>, StoreError> {
        auth::device_code_scope(self, device_code).await
    }

    async fn device_poll(
        &self,
        device_code: &TokenHash,
        now: OffsetDateTime,
        default_interval: Duration,
    ) -> Result<DevicePoll, StoreError> {
        auth::device_poll(self, device_code, now, default_interval).await
    }

    async fn set_device_interval(
        &self,
        device_code: &TokenHash,
        interval: Duration,
    ) -> Result<(), StoreError> {
        auth::set_device_interval(self, device_code, interval).await
    }

    async fn finish_device_code(&self, device_code: &TokenHash) -> Result<(), StoreError> {
        auth::finish_device_code(self, device_code).await
    }

    async fn create_family(&self, family: &Family, first: &TokenHash) -> Result<(), StoreError> {
        refresh::create_family(self, family, first).await
    }

    async fn family_of(&self, token: &TokenHash) -> Result<Option<Family>, StoreError> {
        refresh::family_of(self, token).await
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        sealed_successor: &[u8],
        now: OffsetDateTime,
        rules: RefreshRules,
    ) -> Result<Rotation, StoreError> {
        refresh::rotate(self, presented, successor, sealed_successor, now, rules).await
    }

    async fn revoke_family_of(&self, token: &TokenHash) -> Result<bool, StoreError> {
        refresh::revoke_family_of(self, token).await
    }

    async fn revoke_family(&self, family_id: &str) -> Result<bool, StoreError> {
        refresh::revoke_family(self, family_id).await
    }

    async fn purge_expired(
        &self,
        now: OffsetDateTime,
        rules: RefreshRules,
        client_unused_for: Duration,
    ) -> Result<u64, StoreError> {
        purge::purge(self, item::millis(now), rules, client_unused_for).await
    }
}
