//! [`ClusterStore`] on DynamoDB: cluster records (one partition, by name) replaced by
//! compare-and-swap on their revision, leases by conditional put, the audit log (one partition
//! by id, and by cluster through `by_group`), request signatures, and the simulated cloud's
//! stacks.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::item::{
    Item, boolean, int, item, millis, n, ordered, s, text, text_opt, time, time_opt, ttl, uint,
    with,
};
use super::{DynamoStore, Expr, MAX_ATTEMPTS, Query, contended};
use crate::store::{
    AuditEntry, BeginDeploy, ClusterPhase, ClusterRecord, ClusterStore, DestroyIntent,
    SimulatedStackRow, StoreError, TokenHash,
};

const CLUSTERS: &str = "cluster";
const AUDIT: &str = "audit";
const STACKS: &str = "simstack";

fn cluster_item(record: &ClusterRecord) -> Item {
    let destroy = record.destroy.as_ref();
    with(
        item(CLUSTERS, record.cluster.as_str()),
        &[
            ("cluster", Some(s(record.cluster.as_str()))),
            ("owner", Some(s(record.owner.as_str()))),
            ("node_capacity", Some(n(record.node_capacity))),
            ("version", Some(s(record.version.as_str()))),
            ("is_public", Some(super::item::flag(record.is_public))),
            ("deadline", record.deadline.map(|d| n(millis(d)))),
            ("stack_id", record.stack_id.as_deref().map(s)),
            ("phase", Some(s(record.phase.as_str()))),
            ("created_at", Some(n(millis(record.created_at)))),
            ("updated_at", Some(n(millis(record.updated_at)))),
            ("revision", Some(n(record.revision))),
            (
                "destroy_requested_at",
                destroy.map(|d| n(millis(d.requested_at))),
            ),
            (
                "destroy_requested_by",
                destroy.map(|d| s(d.requested_by.as_str())),
            ),
            (
                "destroy_issued_at",
                destroy.and_then(|d| d.issued_at).map(|t| n(millis(t))),
            ),
            ("destroy_failures", destroy.map(|d| n(d.failures))),
            (
                "destroy_error",
                destroy.and_then(|d| d.last_error.as_deref()).map(s),
            ),
            ("destroy_next_at", destroy.map(|d| n(millis(d.next_at)))),
        ],
    )
}

fn cluster_record(item: &Item) -> Result<ClusterRecord, StoreError> {
    let cluster = text(item, "cluster")?;
    let phase_text = text(item, "phase")?;
    let phase = ClusterPhase::parse(&phase_text)
        .ok_or_else(|| StoreError::Corrupt(format!("cluster {cluster}: phase {phase_text:?}")))?;
    let destroy = match (
        time_opt(item, "destroy_requested_at")?,
        text_opt(item, "destroy_requested_by")?,
        time_opt(item, "destroy_next_at")?,
    ) {
        (None, None, None) => None,
        (Some(requested_at), Some(requested_by), Some(next_at)) => Some(DestroyIntent {
            requested_at,
            requested_by,
            issued_at: time_opt(item, "destroy_issued_at")?,
            failures: uint(item, "destroy_failures")?,
            last_error: text_opt(item, "destroy_error")?,
            next_at,
        }),
        _ => {
            return Err(StoreError::Corrupt(format!(
                "cluster {cluster}: a partial destroy intent"
            )));
        }
    };
    Ok(ClusterRecord {
        owner: text(item, "owner")?,
        node_capacity: uint(item, "node_capacity")?,
        version: text(item, "version")?,
        is_public: boolean(item, "is_public")?,
        deadline: time_opt(item, "deadline")?,
        stack_id: text_opt(item, "stack_id")?,
        phase,
        created_at: time(item, "created_at")?,
        updated_at: time(item, "updated_at")?,
        revision: int(item, "revision")?,
        destroy,
        cluster,
    })
}

fn audit_entry(item: &Item) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: int(item, "id")?,
        at: time(item, "at")?,
        actor: text(item, "actor")?,
        action: text(item, "action")?,
        cluster: text(item, "cluster")?,
        parameters: text(item, "parameters")?,
        outcome: text(item, "outcome")?,
    })
}

fn stack_row(item: &Item) -> Result<SimulatedStackRow, StoreError> {
    Ok(SimulatedStackRow {
        stack_id: text(item, "stack_id")?,
        cluster: text(item, "cluster")?,
        current: boolean(item, "current")?,
        state: text(item, "state")?,
    })
}

impl DynamoStore {
    async fn all_clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        let items = self.query(Query::partition(CLUSTERS)).await?;
        items.iter().map(cluster_record).collect()
    }

    async fn all_stacks(&self) -> Result<Vec<SimulatedStackRow>, StoreError> {
        let items = self.query(Query::partition(STACKS)).await?;
        items.iter().map(stack_row).collect()
    }

    /// Audit entries (of the log, or of one cluster through `by_group`) newest first, below
    /// `before` (an ordered id).
    async fn audit_query(
        &self,
        index: Option<&str>,
        partition: &str,
        before: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (hash, range) = match index {
            None => ("pk", "sk"),
            Some(_) => ("grp", "grp_sk"),
        };
        let condition = format!("#{hash} = :pk AND #{range} < :before");
        let items = self
            .query(Query {
                index,
                key_condition: &condition,
                expr: Expr::names(&[hash, range])
                    .value(":pk", s(partition))
                    .value(":before", s(ordered(before))),
                newest_first: true,
                limit: Some(limit),
            })
            .await?;
        items.iter().map(audit_entry).collect()
    }
}

#[async_trait]
impl ClusterStore for DynamoStore {
    async fn cluster(&self, cluster: &str) -> Result<Option<ClusterRecord>, StoreError> {
        self.get(CLUSTERS, cluster)
            .await?
            .map(|found| cluster_record(&found))
            .transpose()
    }

    async fn open_clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        let mut open = self.all_clusters().await?;
        open.retain(|record| record.phase != ClusterPhase::Closed);
        Ok(open)
    }

    async fn begin_deploy(&self, record: &ClusterRecord) -> Result<BeginDeploy, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let existing = self.cluster(&record.cluster).await?;
            if let Some(open) = existing
                .as_ref()
                .filter(|r| r.phase != ClusterPhase::Closed)
            {
                return Ok(BeginDeploy::Exists(open.clone()));
            }
            // Revisions go on from the closed record's, so a writer still holding it cannot
            // overwrite the new one.
            let revision = existing.as_ref().map_or(1, |closed| closed.revision + 1);
            let started = ClusterRecord {
                phase: ClusterPhase::Pending,
                revision,
                ..record.clone()
            };
            let written = match &existing {
                None => {
                    self.put(
                        cluster_item(&started),
                        Some("attribute_not_exists(#pk)"),
                        Expr::names(&["pk"]),
                    )
                    .await?
                }
                Some(closed) => {
                    self.put(
                        cluster_item(&started),
                        Some("#revision = :read"),
                        Expr::names(&["revision"]).value(":read", n(closed.revision)),
                    )
                    .await?
                }
            };
            if written {
                return Ok(BeginDeploy::Started(started));
            }
        }
        Err(contended("beginning a deploy"))
    }

    async fn update_cluster(
        &self,
        record: &ClusterRecord,
    ) -> Result<Option<ClusterRecord>, StoreError> {
        let next = ClusterRecord {
            revision: record.revision + 1,
            ..record.clone()
        };
        let written = self
            .put(
                cluster_item(&next),
                Some("#revision = :read"),
                Expr::names(&["revision"]).value(":read", n(record.revision)),
            )
            .await?;
        Ok(written.then_some(next))
    }

    async fn due_clusters(&self, now: OffsetDateTime) -> Result<Vec<ClusterRecord>, StoreError> {
        let due_at = |record: &ClusterRecord| {
            let next = record.destroy.as_ref().map(|d| d.next_at);
            match (record.deadline, next) {
                (Some(deadline), Some(next)) => Some(deadline.min(next)),
                (one, other) => one.or(other),
            }
        };
        let mut due: Vec<(OffsetDateTime, ClusterRecord)> = self
            .open_clusters()
            .await?
            .into_iter()
            .filter_map(|record| {
                due_at(&record)
                    .filter(|at| *at <= now)
                    .map(|at| (at, record))
            })
            .collect();
        // The cluster name breaks ties so the order is the same on every call.
        due.sort_by(|(a, ra), (b, rb)| a.cmp(b).then_with(|| ra.cluster.cmp(&rb.cluster)));
        Ok(due.into_iter().map(|(_, record)| record).collect())
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let until = millis(until);
        let lease = with(
            item(format!("lease#{name}"), "lease"),
            &[
                ("holder", Some(s(holder))),
                ("until", Some(n(until))),
                ("ttl_at", Some(ttl(until))),
            ],
        );
        self.put(
            lease,
            Some("attribute_not_exists(#pk) OR #holder = :holder OR #until <= :now"),
            Expr::names(&["pk", "holder", "until"])
                .value(":holder", s(holder))
                .value(":now", n(millis(now))),
        )
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.delete(
            (&format!("lease#{name}"), "lease"),
            Some("#holder = :holder"),
            Expr::names(&["holder"]).value(":holder", s(holder)),
        )
        .await?;
        Ok(())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let id = self.next_id(AUDIT).await?;
        let written = with(
            item(AUDIT, ordered(id)),
            &[
                ("grp", Some(s(format!("audit#{}", entry.cluster)))),
                ("grp_sk", Some(s(ordered(id)))),
                ("id", Some(n(id))),
                ("at", Some(n(millis(entry.at)))),
                ("actor", Some(s(entry.actor.as_str()))),
                ("action", Some(s(entry.action.as_str()))),
                ("cluster", Some(s(entry.cluster.as_str()))),
                ("parameters", Some(s(entry.parameters.as_str()))),
                ("outcome", Some(s(entry.outcome.as_str()))),
            ],
        );
        self.put(written, None, Expr::default()).await?;
        Ok(id)
    }

    async fn audit_page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_query(None, AUDIT, before.unwrap_or(i64::MAX), limit)
            .await
    }

    async fn first_use_of_signature(
        &self,
        signature: &TokenHash,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let until = millis(until);
        let used = with(
            item(format!("signature#{}", signature.as_str()), "signature"),
            &[
                ("kind", Some(s("signature"))),
                ("kind_sk", Some(s(ordered(until)))),
                ("expires_at", Some(n(until))),
                ("ttl_at", Some(ttl(until))),
            ],
        );
        self.put(
            used,
            Some("attribute_not_exists(#pk)"),
            Expr::names(&["pk"]),
        )
        .await
    }

    async fn audit_of(&self, cluster: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_query(
            Some("by_group"),
            &format!("audit#{cluster}"),
            i64::MAX,
            limit,
        )
        .await
    }

    async fn put_simulated_stack(&self, stack: &SimulatedStackRow) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        if stack.current {
            for other in self.all_stacks().await? {
                if other.cluster == stack.cluster
                    && other.current
                    && other.stack_id != stack.stack_id
                {
                    writes.push(self.tx_update(
                        (STACKS, &other.stack_id),
                        "SET #current = :no",
                        None,
                        Expr::names(&["current"]).value(":no", super::item::flag(false)),
                    )?);
                }
            }
        }
        let row = with(
            item(STACKS, stack.stack_id.as_str()),
            &[
                ("stack_id", Some(s(stack.stack_id.as_str()))),
                ("cluster", Some(s(stack.cluster.as_str()))),
                ("current", Some(super::item::flag(stack.current))),
                ("state", Some(s(stack.state.as_str()))),
            ],
        );
        writes.push(self.tx_put(row, None, Expr::default())?);
        if self.transact(writes).await? {
            Ok(())
        } else {
            Err(contended("writing a simulated stack"))
        }
    }

    async fn current_simulated_stack(
        &self,
        cluster: &str,
    ) -> Result<Option<SimulatedStackRow>, StoreError> {
        Ok(self
            .all_stacks()
            .await?
            .into_iter()
            .find(|stack| stack.current && stack.cluster == cluster))
    }

    async fn simulated_stack(
        &self,
        stack_id: &str,
    ) -> Result<Option<SimulatedStackRow>, StoreError> {
        self.get(STACKS, stack_id)
            .await?
            .map(|found| stack_row(&found))
            .transpose()
    }

    async fn current_simulated_stacks(&self) -> Result<Vec<SimulatedStackRow>, StoreError> {
        let mut current: Vec<_> = self
            .all_stacks()
            .await?
            .into_iter()
            .filter(|stack| stack.current)
            .collect();
        current.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        Ok(current)
    }
}
