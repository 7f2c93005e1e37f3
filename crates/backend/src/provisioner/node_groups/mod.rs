//! Per-user node groups (provisioner.md, "Per-user node groups"): a person's own nodes attached
//! to a running cluster, at `/<action>/<user>`, where `<user>` is the caller. Each is the stack
//! `<cluster>-cluster-<user>-asg`, with its own size, deadline, events and charges (to its
//! user's own budget), recorded before its stack is asked for and changed by compare-and-swap.
//!
//! The reaper's [`Provisioner::sweep_node_groups`] destroys each at its deadline and closes the
//! record once its stack is gone; destroying a cluster destroys its node groups first.

use sliderule_protocol::provisioner::node_groups::stack_name;
use sliderule_protocol::provisioner::{
    BudgetKind, ClusterState, HostCluster, NodeGroupStatus, StackEvent,
};
use sliderule_protocol::{ClusterName, NodeCapacity, Ttl};
use time::OffsetDateTime;

use super::Provisioner;
use super::caller::Caller;
use super::error::ProvisionerError;
use super::status::seconds_until;
use crate::cloud::Stack;
use crate::store::{NodeGroupPhase, NodeGroupRecord, StoreError};

mod lifecycle;
mod sweep;

/// How often a request re-reads and retries when another changed the record under it.
const ATTEMPTS: usize = 50;

/// A node group's record and stack now.
#[derive(Debug, Clone)]
pub struct NodeGroupView {
    pub cluster: ClusterName,
    pub user: String,
    pub record: Option<NodeGroupRecord>,
    pub stack: Option<Stack>,
    pub current_nodes: u32,
}

impl NodeGroupView {
    pub fn state(&self) -> ClusterState {
        match (&self.stack, &self.record) {
            (Some(stack), _) => stack.status().state(),
            (None, Some(r)) if r.phase == NodeGroupPhase::Pending => ClusterState::Deploying,
            _ => ClusterState::NotFound,
        }
    }

    fn deadline(&self) -> Option<OffsetDateTime> {
        self.record
            .as_ref()
            .filter(|r| r.phase != NodeGroupPhase::Closed)
            .and_then(|r| r.deadline)
    }

    fn node_capacity(&self) -> NodeCapacity {
        self.record
            .as_ref()
            .map(|r| NodeCapacity::new(r.node_capacity))
            .or_else(|| self.stack.as_ref().and_then(|s| s.node_capacity))
            .unwrap_or_else(|| NodeCapacity::new(0))
    }

    /// The body of `/status/<user>` and friends.
    pub fn status(&self, now: OffsetDateTime) -> NodeGroupStatus {
        let deadline = self.deadline();
        NodeGroupStatus {
            status: sliderule_protocol::marker::True,
            cluster: self.cluster.clone(),
            user: self.user.clone(),
            stack_name: stack_name(&self.cluster, &self.user),
            state: self.state(),
            response: self.stack.as_ref().map(|s| s.info.clone()),
            auto_shutdown: deadline,
            seconds_remaining: deadline.map(|d| seconds_until(d, now)),
            current_nodes: self.current_nodes,
            node_capacity: self.node_capacity(),
        }
    }
}

/// What the reaper's sweep of node groups did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeGroupSweep {
    /// `<cluster>/<user>` of the node groups whose destroy this sweep asked for.
    pub destroyed: Vec<String>,
    /// Those whose stack it found gone (their records closed).
    pub gone: Vec<String>,
    /// Node groups still being destroyed after the sweep.
    pub pending: usize,
    /// The soonest deadline of a node group after the sweep.
    pub next_deadline: Option<OffsetDateTime>,
}

fn key(cluster: &str, user: &str) -> String {
    format!("{cluster}/{user}")
}

fn no_node_group(cluster: &ClusterName, user: &str) -> ProvisionerError {
    ProvisionerError::DoesNotExist(format!(
        "{user} has no node group on cluster {cluster}; deploy one with /deploy/{user}"
    ))
}

impl Provisioner {
    /// The cluster a node-group request may act on: the caller's own path, a cluster they may
    /// use (or `sliderule`, the public cluster), not an organization's.
    async fn host_of(
        &self,
        caller: &Caller,
        user: &str,
        cluster: &HostCluster,
    ) -> Result<(ClusterName, String), ProvisionerError> {
        let login = caller.login().to_ascii_lowercase();
        if !user.eq_ignore_ascii_case(&login) {
            return Err(ProvisionerError::Forbidden(format!(
                "{user}'s node groups are {user}'s own: yours are at /<action>/{login}"
            )));
        }
        let cluster = match cluster {
            HostCluster::Public => self.node_group_public_cluster.clone().ok_or_else(|| {
                ProvisionerError::DoesNotExist(
                    "this service has no public cluster for node groups (provisioner.public_cluster); name a cluster"
                        .into(),
                )
            })?,
            HostCluster::Named(name) => {
                if self.node_group_public_cluster.as_ref() != Some(name) {
                    caller.may_use(name)?;
                }
                name.clone()
            }
        };
        if self.is_organization_cluster(&cluster).await? {
            return Err(ProvisionerError::Forbidden(format!(
                "{cluster} is an organization's cluster, which grows by capacity requests: use /deploy with cluster {cluster}"
            )));
        }
        Ok((cluster, login))
    }

    async fn is_organization_cluster(&self, cluster: &ClusterName) -> Result<bool, StoreError> {
        Ok(self.store.organization(cluster.as_str()).await?.is_some())
    }

    /// The node group's record and stack now.
    pub async fn node_group_view(
        &self,
        cluster: &ClusterName,
        user: &str,
    ) -> Result<NodeGroupView, ProvisionerError> {
        let record = self.store.node_group(cluster.as_str(), user).await?;
        let stack = self.cloud.describe_node_group(cluster, user).await?;
        let current_nodes = match &stack {
            Some(stack) if stack.status().state().is_live() => {
                self.cloud.node_group_nodes(cluster, user).await?
            }
            _ => 0,
        };
        Ok(NodeGroupView {
            cluster: cluster.clone(),
            user: user.to_owned(),
            record,
            stack,
            current_nodes,
        })
    }

    /// `/status/<user>`: 404 when the caller never had a node group there.
    pub async fn node_group_status(
        &self,
        caller: &Caller,
        user: &str,
        cluster: &HostCluster,
    ) -> Result<NodeGroupView, ProvisionerError> {
        let (cluster, user) = self.host_of(caller, user, cluster).await?;
        let view = self.node_group_view(&cluster, &user).await?;
        if view.record.is_none() && view.stack.is_none() {
            return Err(no_node_group(&cluster, &user));
        }
        Ok(view)
    }

    /// `/events/<user>`: the events of the node group's current or last stack, newest first.
    pub async fn node_group_events(
        &self,
        caller: &Caller,
        user: &str,
        cluster: &HostCluster,
    ) -> Result<Vec<StackEvent>, ProvisionerError> {
        let (cluster, user) = self.host_of(caller, user, cluster).await?;
        let stack_id = match self.cloud.describe_node_group(&cluster, &user).await? {
            Some(stack) => Some(stack.stack_id),
            None => self
                .store
                .node_group(cluster.as_str(), &user)
                .await?
                .and_then(|r| r.stack_id),
        };
        let stack_id = stack_id.ok_or_else(|| no_node_group(&cluster, &user))?;
        Ok(self.cloud.stack_events(&stack_id).await?)
    }

    /// Applies `change` to the node group's record with compare-and-swap, re-reading on
    /// conflict. `None` when there is no record.
    async fn modify_node_group(
        &self,
        cluster: &ClusterName,
        user: &str,
        change: impl Fn(&mut NodeGroupRecord),
    ) -> Result<Option<NodeGroupRecord>, ProvisionerError> {
        for _ in 0..ATTEMPTS {
            let Some(mut record) = self.store.node_group(cluster.as_str(), user).await? else {
                return Ok(None);
            };
            change(&mut record);
            record.updated_at = self.clock.now();
            if let Some(stored) = self.store.put_node_group(&record).await? {
                return Ok(Some(stored));
            }
            tokio::task::yield_now().await;
        }
        Err(ProvisionerError::in_progress(format!(
            "{user}'s node group on {cluster} kept changing; try again"
        )))
    }

    /// Refuses a node group its user's own budget cannot pay for `ttl`.
    async fn afford_node_group(
        &self,
        user: &str,
        nodes: u32,
        ttl: Ttl,
    ) -> Result<(), ProvisionerError> {
        if let Some(budgets) = &self.budgets {
            budgets
                .afford(
                    (user, BudgetKind::Personal),
                    nodes,
                    u64::from(ttl.minutes()),
                )
                .await?;
        }
        Ok(())
    }

    /// Charges the node group up to now to its user's budget and meters its new size (or
    /// stops, once it is being destroyed). A failure is logged: the budget sweep settles it.
    pub(in crate::provisioner) async fn meter_node_group(&self, group: &NodeGroupRecord) {
        let Some(budgets) = &self.budgets else {
            return;
        };
        let nodes = matches!(group.phase, NodeGroupPhase::Pending | NodeGroupPhase::Live)
            .then_some(group.node_capacity);
        let meter = key(&group.cluster, &group.user);
        if let Err(error) = budgets
            .meter_to(&meter, &group.user, BudgetKind::Personal, nodes)
            .await
        {
            tracing::warn!(node_group = %meter, %error, "cannot write the node group's charge; the budget sweep will");
        }
    }
}

/// Marks a record closed: its stack is gone (or was never made).
fn close(record: &mut NodeGroupRecord) {
    record.phase = NodeGroupPhase::Closed;
    record.deadline = None;
}

/// The meter key of a node group: `<cluster>/<user>`.
pub fn meter_key(cluster: &str, user: &str) -> String {
    key(cluster, user)
}
