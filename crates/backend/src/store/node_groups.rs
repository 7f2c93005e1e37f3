//! Per-user node groups (provisioner.md, "Per-user node groups"): what the store keeps of each.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;

/// Where a node group is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeGroupPhase {
    /// Recorded; its stack is being asked for.
    Pending,
    /// Its stack exists.
    Live,
    /// Its stack is being deleted (the reaper finishes it).
    Destroying,
    /// Gone; kept for its events until the next deploy.
    Closed,
}

impl NodeGroupPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Live => "live",
            Self::Destroying => "destroying",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "live" => Self::Live,
            "destroying" => Self::Destroying,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// One person's node group on one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupRecord {
    pub cluster: String,
    /// The login it belongs to (lowercase), who pays for it.
    pub user: String,
    pub node_capacity: u32,
    /// When the reaper destroys it; `None` once that is asked.
    pub deadline: Option<OffsetDateTime>,
    /// Its (last) stack's id, once created.
    pub stack_id: Option<String>,
    pub phase: NodeGroupPhase,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Bumped by every write; 0 for a record never written.
    pub revision: i64,
}

#[async_trait]
pub trait NodeGroupStore: Send + Sync {
    /// The node group of `user` on `cluster`, in any phase.
    async fn node_group(
        &self,
        cluster: &str,
        user: &str,
    ) -> Result<Option<NodeGroupRecord>, StoreError>;

    /// Every node group that is not closed, by cluster and user.
    async fn open_node_groups(&self) -> Result<Vec<NodeGroupRecord>, StoreError>;

    /// Writes `record` if nothing changed it since it was read: a new one (revision 0) only
    /// where there is no row, a read one only while the row still has its revision. Returns
    /// the stored record (revision bumped), or `None` when another write came first.
    async fn put_node_group(
        &self,
        record: &NodeGroupRecord,
    ) -> Result<Option<NodeGroupRecord>, StoreError>;
}
