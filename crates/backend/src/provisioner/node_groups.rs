//! Per-user node groups (provisioner.md, "Per-user node groups"): a person's own nodes attached
//! to a running cluster, at `/<action>/<user>`, where `<user>` is the caller. Each is the stack
//! `<cluster>-cluster-<user>-asg`, with its own size, deadline, events and charges (to its
//! user's own budget), recorded before its stack is asked for and changed by compare-and-swap.
//!
//! The reaper's [`Provisioner::sweep_node_groups`] destroys each at its deadline and closes the
//! record once its stack is gone; destroying a cluster destroys its node groups first.

use std::collections::BTreeMap;

use serde_json::json;
use sliderule_protocol::provisioner::node_groups::stack_name;
use sliderule_protocol::provisioner::{
    BudgetKind, ClusterState, HostCluster, NodeGroupDeploy, NodeGroupExtend, NodeGroupStatus,
    StackEvent, UserNodes,
};
use sliderule_protocol::{ClusterName, NodeCapacity, Ttl, codes};
use time::OffsetDateTime;

use super::Provisioner;
use super::caller::Caller;
use super::error::ProvisionerError;
use super::status::seconds_until;
use crate::cloud::{NodeGroupSpec, Stack};
use crate::store::{NodeGroupPhase, NodeGroupRecord, StoreError};

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

    /// `/deploy/<user>`: creates the caller's node group on a running cluster, or resizes it,
    /// and moves its deadline.
    pub async fn deploy_node_group(
        &self,
        caller: &Caller,
        user: &str,
        request: &NodeGroupDeploy,
    ) -> Result<NodeGroupView, ProvisionerError> {
        let (cluster, user) = self.host_of(caller, user, &request.cluster).await?;
        caller.limits.check_capacity(request.node_capacity)?;
        caller.limits.check_ttl(request.ttl)?;
        let parent = self.cloud.describe_stack(&cluster).await?;
        if parent.as_ref().map(|s| s.status().state()) != Some(ClusterState::Running) {
            return Err(ProvisionerError::DoesNotExist(format!(
                "cluster {cluster} is not running: a node group attaches to a running cluster"
            )));
        }
        let nodes = request.node_capacity.get();
        self.afford_node_group(&user, nodes, request.ttl).await?;
        let spec = NodeGroupSpec {
            cluster: cluster.clone(),
            user: user.clone(),
            node_capacity: request.node_capacity,
        };
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let deadline = now + request.ttl.duration();
            let record = self.store.node_group(cluster.as_str(), &user).await?;
            let done = match record {
                None => self.create_node_group(&spec, None, now, deadline).await?,
                Some(record) if record.phase == NodeGroupPhase::Closed => {
                    self.create_node_group(&spec, Some(record), now, deadline)
                        .await?
                }
                Some(record) if record.phase == NodeGroupPhase::Destroying => {
                    return Err(ProvisionerError::in_progress(format!(
                        "{user}'s node group on {cluster} is being destroyed; deploy it again once it is gone"
                    )));
                }
                Some(record) => self.resize_node_group(&spec, record, deadline).await?,
            };
            if done {
                return self.node_group_view(&cluster, &user).await;
            }
            tokio::task::yield_now().await;
        }
        Err(ProvisionerError::in_progress(format!(
            "{user}'s node group on {cluster} kept changing while we deployed it; try again"
        )))
    }

    /// No open record: record the deploy (over `closed`, the group's last one), then create
    /// the stack. `false` when another request recorded it first.
    async fn create_node_group(
        &self,
        spec: &NodeGroupSpec,
        closed: Option<NodeGroupRecord>,
        now: OffsetDateTime,
        deadline: OffsetDateTime,
    ) -> Result<bool, ProvisionerError> {
        let (cluster, user) = (&spec.cluster, spec.user.as_str());
        if let Some(stack) = self.cloud.describe_node_group(cluster, user).await? {
            // A stack without an open record: the last one still being deleted.
            return Err(ProvisionerError::in_progress(format!(
                "the stack {} is still there ({}); try again once it is gone",
                stack.info.stack_name,
                stack.status().as_str()
            )));
        }
        let record = NodeGroupRecord {
            cluster: cluster.as_str().to_owned(),
            user: user.to_owned(),
            node_capacity: spec.node_capacity.get(),
            deadline: Some(deadline),
            stack_id: None,
            phase: NodeGroupPhase::Pending,
            created_at: now,
            updated_at: now,
            revision: closed.map_or(0, |c| c.revision),
        };
        if self.store.put_node_group(&record).await?.is_none() {
            return Ok(false);
        }
        let parameters = json!({
            "user": user, "node_capacity": spec.node_capacity.get(),
            "deadline": super::audit::time(deadline),
        });
        match self.cloud.create_node_group(spec).await {
            Ok(stack_id) => {
                let live = self
                    .modify_node_group(cluster, user, |r| {
                        r.phase = NodeGroupPhase::Live;
                        r.stack_id = Some(stack_id.clone());
                    })
                    .await?;
                if let Some(live) = &live {
                    self.meter_node_group(live).await;
                }
                self.audit(user, "deploy_nodes", cluster, parameters, Ok(()))
                    .await;
                Ok(true)
            }
            Err(error) => {
                self.modify_node_group(cluster, user, close).await?;
                self.audit(
                    user,
                    "deploy_nodes",
                    cluster,
                    parameters,
                    Err(&error.to_string()),
                )
                .await;
                Err(error.into())
            }
        }
    }

    /// An open record: resize the stack when it can take it, and move the deadline. `false`
    /// when the record changed meanwhile (the caller looks again).
    async fn resize_node_group(
        &self,
        spec: &NodeGroupSpec,
        record: NodeGroupRecord,
        deadline: OffsetDateTime,
    ) -> Result<bool, ProvisionerError> {
        let (cluster, user) = (&spec.cluster, spec.user.as_str());
        let nodes = spec.node_capacity.get();
        let stack = self.cloud.describe_node_group(cluster, user).await?;
        let state = stack.as_ref().map(|s| s.status().state());
        let changed = nodes != record.node_capacity;
        match state {
            None if record.phase == NodeGroupPhase::Live => {
                // Its stack vanished: close the record and start again.
                self.modify_node_group(cluster, user, close).await?;
                return Ok(false);
            }
            None | Some(ClusterState::Deploying | ClusterState::Updating) if changed => {
                return Err(ProvisionerError::in_progress(format!(
                    "{user}'s node group on {cluster} is being deployed with {} nodes; wait until it is running to change it",
                    record.node_capacity
                )));
            }
            Some(ClusterState::Failed) => {
                return Err(ProvisionerError::Conflict {
                    code: codes::CLUSTER_FAILED,
                    description: format!(
                        "{user}'s node group on {cluster} failed; destroy it with /destroy/{user} before deploying again"
                    ),
                });
            }
            Some(ClusterState::Destroying | ClusterState::NotFound) => {
                return Err(ProvisionerError::in_progress(format!(
                    "{user}'s node group on {cluster} is being destroyed; deploy it again once it is gone"
                )));
            }
            Some(ClusterState::Running) if changed => {
                self.cloud.update_node_group(spec).await?;
            }
            _ => {}
        }
        let updated = self
            .store
            .put_node_group(&NodeGroupRecord {
                node_capacity: nodes,
                deadline: Some(deadline),
                updated_at: self.clock.now(),
                ..record
            })
            .await?;
        let Some(updated) = updated else {
            return Ok(false);
        };
        self.meter_node_group(&updated).await;
        let action = if changed {
            "update_nodes"
        } else {
            "deploy_nodes"
        };
        let parameters = json!({
            "user": user, "node_capacity": nodes, "deadline": super::audit::time(deadline),
        });
        self.audit(user, action, cluster, parameters, Ok(())).await;
        Ok(true)
    }

    /// `/extend/<user>`: moves the caller's running node group's deadline.
    pub async fn extend_node_group(
        &self,
        caller: &Caller,
        user: &str,
        request: &NodeGroupExtend,
    ) -> Result<NodeGroupView, ProvisionerError> {
        let (cluster, user) = self.host_of(caller, user, &request.cluster).await?;
        caller.limits.check_ttl(request.ttl)?;
        let record = self
            .store
            .node_group(cluster.as_str(), &user)
            .await?
            .filter(|r| matches!(r.phase, NodeGroupPhase::Pending | NodeGroupPhase::Live))
            .ok_or_else(|| no_node_group(&cluster, &user))?;
        self.afford_node_group(&user, record.node_capacity, request.ttl)
            .await?;
        let deadline = self.clock.now() + request.ttl.duration();
        let extended = self
            .modify_node_group(&cluster, &user, |r| {
                if matches!(r.phase, NodeGroupPhase::Pending | NodeGroupPhase::Live) {
                    r.deadline = Some(deadline);
                }
            })
            .await?;
        if extended.is_none_or(|r| r.deadline != Some(deadline)) {
            return Err(no_node_group(&cluster, &user));
        }
        self.audit(
            &user,
            "extend_nodes",
            &cluster,
            json!({ "user": user, "ttl": request.ttl.minutes(), "deadline": super::audit::time(deadline) }),
            Ok(()),
        )
        .await;
        self.node_group_view(&cluster, &user).await
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

    /// `/destroy/<user>`: destroys the caller's node group.
    pub async fn destroy_node_group_for(
        &self,
        caller: &Caller,
        user: &str,
        cluster: &HostCluster,
    ) -> Result<NodeGroupView, ProvisionerError> {
        let (cluster, user) = self.host_of(caller, user, cluster).await?;
        if !self.destroy_node_group(&user, &cluster, &user).await? {
            return Err(no_node_group(&cluster, &user));
        }
        self.node_group_view(&cluster, &user).await
    }

    /// Records the node group as being destroyed and asks the cloud to delete its stack (a
    /// refusal is retried by the reaper's sweep). `false` when it has no open record.
    pub(super) async fn destroy_node_group(
        &self,
        actor: &str,
        cluster: &ClusterName,
        user: &str,
    ) -> Result<bool, ProvisionerError> {
        let marked = self
            .modify_node_group(cluster, user, |r| {
                if r.phase != NodeGroupPhase::Closed {
                    r.phase = NodeGroupPhase::Destroying;
                    r.deadline = None;
                }
            })
            .await?;
        let Some(marked) = marked.filter(|r| r.phase == NodeGroupPhase::Destroying) else {
            return Ok(false);
        };
        self.meter_node_group(&marked).await;
        let outcome = self.cloud.delete_node_group(cluster, user).await;
        if let Err(error) = &outcome {
            tracing::warn!(%cluster, user, %error, "cannot delete a node group's stack yet; the reaper tries again");
        }
        let error = outcome.as_ref().err().map(ToString::to_string);
        self.audit(
            actor,
            "destroy_nodes",
            cluster,
            json!({ "user": user }),
            error.as_deref().map_or(Ok(()), Err),
        )
        .await;
        Ok(true)
    }

    /// Destroys every open node group of `cluster` (before the cluster itself goes).
    pub(super) async fn destroy_node_groups_of(&self, actor: &str, cluster: &ClusterName) {
        let groups = match self.store.open_node_groups().await {
            Ok(groups) => groups,
            Err(error) => {
                tracing::warn!(%cluster, %error, "cannot read the cluster's node groups; the reaper destroys them");
                return;
            }
        };
        for group in groups.iter().filter(|g| g.cluster == cluster.as_str()) {
            if let Err(error) = self.destroy_node_group(actor, cluster, &group.user).await {
                tracing::warn!(%cluster, user = %group.user, %error, "cannot destroy a node group with its cluster; the reaper does");
            }
        }
    }

    /// The reaper's part for node groups: destroys those whose deadline passed or whose cluster
    /// is gone, asks again for deletes the cloud refused, and closes the records of stacks that
    /// are gone.
    pub async fn sweep_node_groups(&self) -> Result<NodeGroupSweep, StoreError> {
        let now = self.clock.now();
        let mut sweep = NodeGroupSweep::default();
        for group in self.store.open_node_groups().await? {
            let Ok(cluster) = ClusterName::parse(&group.cluster) else {
                continue;
            };
            let name = key(&group.cluster, &group.user);
            let step = async {
                match group.phase {
                    NodeGroupPhase::Destroying => {
                        match self
                            .cloud
                            .describe_node_group(&cluster, &group.user)
                            .await?
                        {
                            None => {
                                self.modify_node_group(&cluster, &group.user, close).await?;
                                sweep.gone.push(name.clone());
                            }
                            Some(stack) if stack.status().state() != ClusterState::Destroying => {
                                // Refused before (the stack was busy): ask again.
                                self.cloud.delete_node_group(&cluster, &group.user).await?;
                                sweep.pending += 1;
                            }
                            Some(_) => sweep.pending += 1,
                        }
                    }
                    _ if group.deadline.is_some_and(|d| d <= now) => {
                        if self
                            .destroy_node_group(super::reaper::ACTOR, &cluster, &group.user)
                            .await?
                        {
                            tracing::info!(%cluster, user = %group.user, "reaper: a node group's deadline passed; destroying it");
                            sweep.destroyed.push(name.clone());
                            sweep.pending += 1;
                        }
                    }
                    _ => {
                        let parent = self.cloud.describe_stack(&cluster).await?;
                        if parent.is_none_or(|s| !s.status().state().is_live()) {
                            self.destroy_node_group(super::reaper::ACTOR, &cluster, &group.user)
                                .await?;
                            sweep.destroyed.push(name.clone());
                            sweep.pending += 1;
                        } else if let Some(deadline) = group.deadline {
                            sweep.next_deadline =
                                Some(sweep.next_deadline.map_or(deadline, |d| d.min(deadline)));
                        }
                    }
                }
                Ok::<(), ProvisionerError>(())
            };
            if let Err(error) = step.await {
                tracing::warn!(node_group = %name, %error, "reaper: a node group's step failed; trying again next sweep");
                sweep.pending += 1;
            }
        }
        Ok(sweep)
    }

    /// Every open node group, as reports show them under their cluster.
    pub async fn node_groups_by_cluster(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<String, UserNodes>>, ProvisionerError> {
        let mut by_cluster: BTreeMap<String, BTreeMap<String, UserNodes>> = BTreeMap::new();
        for group in self.store.open_node_groups().await? {
            let Ok(cluster) = ClusterName::parse(&group.cluster) else {
                continue;
            };
            let current_nodes = self.cloud.node_group_nodes(&cluster, &group.user).await?;
            by_cluster.entry(group.cluster.clone()).or_default().insert(
                group.user.clone(),
                UserNodes {
                    auto_shutdown: group.deadline,
                    current_nodes,
                    node_capacity: NodeCapacity::new(group.node_capacity),
                },
            );
        }
        Ok(by_cluster)
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
    pub(super) async fn meter_node_group(&self, group: &NodeGroupRecord) {
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
