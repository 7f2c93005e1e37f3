//! Deploying, resizing, extending and destroying a person's node group.

use serde_json::json;
use sliderule_protocol::codes;
use sliderule_protocol::provisioner::{
    ClusterState, HostCluster, NodeGroupDeploy, NodeGroupExtend,
};
use time::OffsetDateTime;

use super::{ATTEMPTS, NodeGroupView, close, no_node_group};
use crate::cloud::NodeGroupSpec;
use crate::provisioner::Provisioner;
use crate::provisioner::caller::Caller;
use crate::provisioner::error::ProvisionerError;
use crate::store::{NodeGroupPhase, NodeGroupRecord};
use sliderule_protocol::ClusterName;

impl Provisioner {
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
            "deadline": crate::provisioner::audit::time(deadline),
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
            "user": user, "node_capacity": nodes, "deadline": crate::provisioner::audit::time(deadline),
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
            json!({ "user": user, "ttl": request.ttl.minutes(), "deadline": crate::provisioner::audit::time(deadline) }),
            Ok(()),
        )
        .await;
        self.node_group_view(&cluster, &user).await
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
    pub(in crate::provisioner) async fn destroy_node_group(
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
}
