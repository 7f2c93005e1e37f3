//! The table's schema: created (with its indexes and TTL) by `store migrate`, and its version
//! recorded in an item, which `serve` checks before it starts.
//!
//! Versions: 1 is the table of this module's header. A later version that needs a new index
//! adds it here with `UpdateTable`, and bumps [`VERSION`].

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::item::{item, n, with};
use super::{DynamoStore, Expr, build_error, sdk_error};
use crate::store::StoreError;

/// The key of the item holding the schema version (`pk` and `sk`).
pub(super) const PK: &str = "schema";

/// The schema version this binary needs.
pub(super) const VERSION: usize = 1;

/// The table's TTL attribute (epoch seconds).
pub(super) const TTL_ATTRIBUTE: &str = "ttl_at";

/// How long `migrate` waits for a new table to become active.
const CREATION_WAIT: Duration = Duration::from_secs(300);

/// How long `migrate` waits for an index added to an existing table to be built.
const INDEX_WAIT: Duration = Duration::from_secs(60 * 60);

/// How often `migrate` looks whether an index being built is ready.
const INDEX_POLL: Duration = Duration::from_secs(5);

/// The global secondary indexes: name, hash key, range key (all strings, all attributes).
const INDEXES: [(&str, &str, &str); 2] = [
    ("by_kind", "kind", "kind_sk"),
    ("by_group", "grp", "grp_sk"),
];

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(build_error)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_error)
}

fn all_attributes() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::All)
        .build()
}

fn index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(all_attributes())
        .build()
        .map_err(build_error)
}

impl DynamoStore {
    /// The schema version recorded in the table; `None` when there is no table.
    async fn schema_version(&self) -> Result<Option<usize>, StoreError> {
        let found = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(item(PK, PK)))
            .consistent_read(true)
            .send()
            .await;
        match found {
            Ok(out) => {
                let version = match out.item {
                    Some(item) => super::item::int(&item, "version")?,
                    None => 0,
                };
                usize::try_from(version)
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt(format!("schema version {version}")))
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error("GetItem", &err)),
        }
    }

    /// Refuses a missing table or another schema version than this binary's.
    pub(super) async fn check_schema(&self) -> Result<(), StoreError> {
        match self.schema_version().await? {
            None => Err(StoreError::Schema(format!(
                "there is no DynamoDB table {} (schema version 0 of {VERSION})",
                self.table
            ))),
            Some(found) if found != VERSION => Err(StoreError::Schema(format!(
                "the DynamoDB table {} has schema version {found}, and this release needs \
                 {VERSION}",
                self.table
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Creates the table if it is missing, enables its TTL, records the version; returns the
    /// version before and after. Idempotent, and safe to run from several processes at once.
    pub(super) async fn apply_schema(&self) -> Result<(usize, usize), StoreError> {
        let before = match self.schema_version().await? {
            Some(version) => version,
            None => {
                self.create_table().await?;
                0
            }
        };
        // A table created by something else (a CloudFormation template) may lack an index.
        self.ensure_indexes().await?;
        if before > VERSION {
            // Written by a newer binary: running on it could misread its items.
            return Err(StoreError::Corrupt(format!(
                "schema version {before} is newer than this binary's {VERSION}"
            )));
        }
        self.enable_ttl().await?;
        if before < VERSION {
            let version = with(item(PK, PK), &[("version", Some(n(VERSION)))]);
            // Never lowers a version another (newer) process wrote meanwhile.
            self.put(
                version,
                Some("attribute_not_exists(#version) OR #version < :version"),
                Expr::names(&["version"]).value(":version", n(VERSION)),
            )
            .await?;
        }
        Ok((before, VERSION))
    }

    async fn create_table(&self) -> Result<(), StoreError> {
        let created = self
            .client
            .create_table()
            .table_name(&*self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(string_attribute("pk")?)
            .attribute_definitions(string_attribute("sk")?)
            .attribute_definitions(string_attribute("kind")?)
            .attribute_definitions(string_attribute("kind_sk")?)
            .attribute_definitions(string_attribute("grp")?)
            .attribute_definitions(string_attribute("grp_sk")?)
            .global_secondary_indexes(index("by_kind", "kind", "kind_sk")?)
            .global_secondary_indexes(index("by_group", "grp", "grp_sk")?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Another process is creating it: wait for it like for ours.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(err) => return Err(sdk_error("CreateTable", &err)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&*self.table)
            .wait(CREATION_WAIT)
            .await
            .map_err(|err| {
                StoreError::Unavailable(format!(
                    "DynamoDB table {} did not become active: {err}",
                    self.table
                ))
            })?;
        Ok(())
    }

    async fn enable_ttl(&self) -> Result<(), StoreError> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(&*self.table)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTimeToLive", &e))?;
        let status = described
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status());
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        if let Some(other) = described
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            .filter(|name| {
                *name != TTL_ATTRIBUTE && status.is_some_and(|s| *s != TimeToLiveStatus::Disabled)
            })
        {
            // Only one TTL attribute per table, and switching takes DynamoDB up to an hour:
            // the purge deletes what expired meanwhile, so the store works without it.
            tracing::warn!(
                table = %self.table,
                "the table's TTL is on {other:?}, not {TTL_ATTRIBUTE:?}: expired items are left to the purge"
            );
            return Ok(());
        }
        let specification = TimeToLiveSpecification::builder()
            .attribute_name(TTL_ATTRIBUTE)
            .enabled(true)
            .build()
            .map_err(build_error)?;
        self.client
            .update_time_to_live()
            .table_name(&*self.table)
            .time_to_live_specification(specification)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateTimeToLive", &e))?;
        Ok(())
    }
}

impl DynamoStore {
    /// Adds the indexes the table lacks, one at a time (DynamoDB builds one per update), and
    /// waits until each is built.
    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        for (name, hash, range) in INDEXES {
            if self.index_status(name).await?.is_some() {
                self.wait_for_index(name).await?;
                continue;
            }
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .key_schema(key(range, KeyType::Range)?)
                .projection(all_attributes())
                .build()
                .map_err(build_error)?;
            self.client
                .update_table()
                .table_name(&*self.table)
                .attribute_definitions(string_attribute(hash)?)
                .attribute_definitions(string_attribute(range)?)
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(create).build(),
                )
                .send()
                .await
                .map_err(|e| sdk_error("UpdateTable", &e))?;
            self.wait_for_index(name).await?;
        }
        Ok(())
    }

    /// The status of the index `name`; `None` when the table has no such index.
    async fn index_status(&self, name: &str) -> Result<Option<IndexStatus>, StoreError> {
        let described = self
            .client
            .describe_table()
            .table_name(&*self.table)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTable", &e))?;
        let table = described.table();
        Ok(table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .find(|index| index.index_name() == Some(name))
            .map(|index| index.index_status().cloned().unwrap_or(IndexStatus::Active)))
    }

    /// Waits until the index `name` is active (DynamoDB has no waiter for indexes).
    async fn wait_for_index(&self, name: &str) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        loop {
            match self.index_status(name).await? {
                Some(IndexStatus::Active) => return Ok(()),
                Some(_) if started.elapsed() < INDEX_WAIT => {
                    tokio::time::sleep(INDEX_POLL).await;
                }
                status => {
                    return Err(StoreError::Unavailable(format!(
                        "index {name} of DynamoDB table {} is not active ({status:?})",
                        self.table
                    )));
                }
            }
        }
    }
}
