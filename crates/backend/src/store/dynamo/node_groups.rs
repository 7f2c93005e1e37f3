//! [`NodeGroupStore`] on DynamoDB: one partition, an item per cluster and user, written by
//! compare-and-swap on its revision.

use async_trait::async_trait;

use super::item::{Item, int, item, millis, n, s, text, text_opt, time, time_opt, uint, with};
use super::{DynamoStore, Expr, Query};
use crate::store::{NodeGroupPhase, NodeGroupRecord, NodeGroupStore, StoreError};

const NODE_GROUPS: &str = "nodegroup";

fn sort_key(cluster: &str, user: &str) -> String {
    format!("{cluster}#{user}")
}

fn record(item: &Item) -> Result<NodeGroupRecord, StoreError> {
    let (cluster, user) = (text(item, "cluster")?, text(item, "user")?);
    let phase = text(item, "phase")?;
    let phase = NodeGroupPhase::parse(&phase).ok_or_else(|| {
        StoreError::Corrupt(format!("node group {cluster}/{user}: phase {phase:?}"))
    })?;
    Ok(NodeGroupRecord {
        node_capacity: uint(item, "node_capacity")?,
        deadline: time_opt(item, "deadline")?,
        stack_id: text_opt(item, "stack_id")?,
        phase,
        created_at: time(item, "created_at")?,
        updated_at: time(item, "updated_at")?,
        revision: int(item, "revision")?,
        cluster,
        user,
    })
}

#[async_trait]
impl NodeGroupStore for DynamoStore {
    async fn node_group(
        &self,
        cluster: &str,
        user: &str,
    ) -> Result<Option<NodeGroupRecord>, StoreError> {
        self.get(NODE_GROUPS, &sort_key(cluster, user))
            .await?
            .map(|found| record(&found))
            .transpose()
    }

    async fn open_node_groups(&self) -> Result<Vec<NodeGroupRecord>, StoreError> {
        let items = self.query(Query::partition(NODE_GROUPS)).await?;
        let mut open = items.iter().map(record).collect::<Result<Vec<_>, _>>()?;
        open.retain(|group| group.phase != NodeGroupPhase::Closed);
        open.sort_by(|a, b| (&a.cluster, &a.user).cmp(&(&b.cluster, &b.user)));
        Ok(open)
    }

    async fn put_node_group(
        &self,
        record: &NodeGroupRecord,
    ) -> Result<Option<NodeGroupRecord>, StoreError> {
        let next = NodeGroupRecord {
            revision: record.revision + 1,
            ..record.clone()
        };
        let row = with(
            item(NODE_GROUPS, sort_key(&next.cluster, &next.user)),
            &[
                ("cluster", Some(s(next.cluster.as_str()))),
                ("user", Some(s(next.user.as_str()))),
                ("node_capacity", Some(n(next.node_capacity))),
                ("deadline", next.deadline.map(|d| n(millis(d)))),
                ("stack_id", next.stack_id.as_deref().map(s)),
                ("phase", Some(s(next.phase.as_str()))),
                ("created_at", Some(n(millis(next.created_at)))),
                ("updated_at", Some(n(millis(next.updated_at)))),
                ("revision", Some(n(next.revision))),
            ],
        );
        let written = if record.revision == 0 {
            self.put(row, Some("attribute_not_exists(#pk)"), Expr::names(&["pk"]))
                .await?
        } else {
            self.put(
                row,
                Some("#revision = :read"),
                Expr::names(&["revision"]).value(":read", n(record.revision)),
            )
            .await?
        };
        Ok(written.then_some(next))
    }
}
