//! [`ClusterStore`] on SQLite: each call delegates to the module that owns its table
//! (`clusters`, `leases`, `audit`, `simulated`). Reads are single statements on the connection;
//! every write runs in a `BEGIN IMMEDIATE` transaction (see [`SqliteStore::write`]).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{SqliteStore, audit, clusters, leases, simulated};
use crate::store::{
    AuditEntry, BeginDeploy, ClusterRecord, ClusterStore, SimulatedStackRow, StoreError,
};

#[async_trait]
impl ClusterStore for SqliteStore {
    async fn cluster(&self, cluster: &str) -> Result<Option<ClusterRecord>, StoreError> {
        let cluster = cluster.to_owned();
        self.with_conn(move |conn| clusters::get(conn, &cluster))
            .await
    }

    async fn open_clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        self.with_conn(|conn| clusters::open(conn)).await
    }

    async fn begin_deploy(&self, record: &ClusterRecord) -> Result<BeginDeploy, StoreError> {
        let record = record.clone();
        self.write(move |tx| clusters::begin_deploy(tx, &record))
            .await
    }

    async fn update_cluster(
        &self,
        record: &ClusterRecord,
    ) -> Result<Option<ClusterRecord>, StoreError> {
        let record = record.clone();
        self.write(move |tx| clusters::update(tx, &record)).await
    }

    async fn due_clusters(&self, now: OffsetDateTime) -> Result<Vec<ClusterRecord>, StoreError> {
        self.with_conn(move |conn| clusters::due(conn, now)).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |tx| leases::acquire(tx, &name, &holder, now, until))
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |tx| leases::release(tx, &name, &holder))
            .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let entry = entry.clone();
        self.write(move |tx| audit::append(tx, &entry)).await
    }

    async fn audit_page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.with_conn(move |conn| audit::page(conn, before, limit))
            .await
    }

    async fn first_use_of_signature(
        &self,
        signature: &crate::store::TokenHash,
        until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let signature = signature.as_str().to_owned();
        self.write(move |tx| {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO used_signatures (signature, expires_at) VALUES (?1, ?2)",
                rusqlite::params![signature, super::millis(until)],
            )?;
            Ok(inserted > 0)
        })
        .await
    }

    async fn audit_of(&self, cluster: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let cluster = cluster.to_owned();
        self.with_conn(move |conn| audit::of_cluster(conn, &cluster, limit))
            .await
    }

    async fn put_simulated_stack(&self, stack: &SimulatedStackRow) -> Result<(), StoreError> {
        let stack = stack.clone();
        self.write(move |tx| simulated::put(tx, &stack)).await
    }

    async fn current_simulated_stack(
        &self,
        cluster: &str,
    ) -> Result<Option<SimulatedStackRow>, StoreError> {
        let cluster = cluster.to_owned();
        self.with_conn(move |conn| simulated::current(conn, &cluster))
            .await
    }

    async fn simulated_stack(
        &self,
        stack_id: &str,
    ) -> Result<Option<SimulatedStackRow>, StoreError> {
        let stack_id = stack_id.to_owned();
        self.with_conn(move |conn| simulated::by_id(conn, &stack_id))
            .await
    }

    async fn current_simulated_stacks(&self) -> Result<Vec<SimulatedStackRow>, StoreError> {
        self.with_conn(|conn| simulated::all_current(conn)).await
    }
}
