//! Where clusters run: one trait, [`Cloud`], with two drivers chosen by configuration —
//! [`cloudformation`] (AWS CloudFormation, production; tested against moto) and [`simulated`]
//! (durable in the store, for the demo and the browser tests). The provisioner only speaks to the
//! trait, and one driver test suite runs against both.
//!
//! A cluster `c` is the stack `c-cluster`. Stacks are tagged `sliderule:cluster`,
//! `sliderule:owner` and `sliderule:deployment`, so a deployment can find the stacks it manages
//! (and adopt ones it has no record of).

pub mod cloudformation;
pub mod driver;
pub mod simulated;

use async_trait::async_trait;
use sliderule_protocol::provisioner::{StackEvent, StackInfo, StackStatus};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};

/// Tag naming the cluster a stack is.
pub const TAG_CLUSTER: &str = "sliderule:cluster";
/// Tag naming the login that deployed it.
pub const TAG_OWNER: &str = "sliderule:owner";
/// Tag naming the deployment (one backend installation) that manages it.
pub const TAG_DEPLOYMENT: &str = "sliderule:deployment";

/// The name of the stack of `cluster`: `<cluster>-cluster`, as upstream named them.
pub fn stack_name(cluster: &ClusterName) -> String {
    format!("{cluster}-cluster")
}

/// What a stack is asked to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    pub cluster: ClusterName,
    pub node_capacity: NodeCapacity,
    pub version: Version,
    pub is_public: bool,
    /// The login that deployed it (tag `sliderule:owner`).
    pub owner: String,
}

/// A stack as the cloud describes it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The stack's id (an ARN on AWS): events are read by id, so they survive the stack.
    pub stack_id: String,
    /// Name, status, reason and times, as the wire's `response` carries them.
    pub info: StackInfo,
    /// The parameters it runs with now.
    pub node_capacity: Option<NodeCapacity>,
    pub version: Option<Version>,
    pub is_public: Option<bool>,
    /// Its `sliderule:owner` tag.
    pub owner: Option<String>,
}

impl Stack {
    pub fn status(&self) -> &StackStatus {
        &self.info.stack_status
    }
}

/// A stack this deployment manages (tagged with its deployment id), as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedStack {
    pub cluster: ClusterName,
    pub stack_id: String,
    pub status: StackStatus,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The cloud refused because of the stack's state (it exists already, an operation is in
    /// progress, it is being deleted).
    #[error("{0}")]
    Conflict(String),
    /// The cloud failed or could not be reached; the message is what it said.
    #[error("{0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Cloud: Send + Sync + 'static {
    /// Starts creating the stack of `spec.cluster`; returns its id. A stack that exists already
    /// (not deleted) is [`CloudError::Conflict`].
    async fn create_stack(&self, spec: &StackSpec) -> Result<String, CloudError>;

    /// Starts updating the stack to `spec` (capacity, version). Nothing to change is `Ok`. A
    /// stack that is busy is [`CloudError::Conflict`].
    async fn update_stack(&self, spec: &StackSpec) -> Result<(), CloudError>;

    /// Starts deleting the cluster's stack. No stack (or one already being deleted) is `Ok`.
    async fn delete_stack(&self, cluster: &ClusterName) -> Result<(), CloudError>;

    /// The cluster's stack, or `None` when there is none (or only a deleted one).
    async fn describe_stack(&self, cluster: &ClusterName) -> Result<Option<Stack>, CloudError>;

    /// Events of a stack by id (also after it was deleted), newest first.
    async fn stack_events(&self, stack_id: &str) -> Result<Vec<StackEvent>, CloudError>;

    /// Nodes of the cluster that are up now (0 when there is no stack).
    async fn current_nodes(&self, cluster: &ClusterName) -> Result<u32, CloudError>;

    /// Every live stack tagged with this deployment's id.
    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError>;

    /// The stacks of many clusters with their node counts (for reports): `None` for a cluster
    /// without a stack. Drivers that can answer in one call override this; the default asks
    /// cluster by cluster.
    async fn describe_many(
        &self,
        clusters: &[ClusterName],
    ) -> Result<Vec<(Option<Stack>, u32)>, CloudError> {
        let mut described = Vec::with_capacity(clusters.len());
        for cluster in clusters {
            let stack = self.describe_stack(cluster).await?;
            let nodes = match &stack {
                Some(stack) if stack.status().state().is_live() => {
                    self.current_nodes(cluster).await?
                }
                _ => 0,
            };
            described.push((stack, nodes));
        }
        Ok(described)
    }
}
