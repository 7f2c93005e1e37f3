//! The reaper's part for node groups, destroying them with their cluster, and listing them for
//! reports.

use std::collections::BTreeMap;

use sliderule_protocol::provisioner::{ClusterState, UserNodes};
use sliderule_protocol::{ClusterName, NodeCapacity};

use super::{NodeGroupSweep, close, key};
use crate::provisioner::Provisioner;
use crate::provisioner::error::ProvisionerError;
use crate::store::{NodeGroupPhase, StoreError};

impl Provisioner {
    /// Destroys every open node group of `cluster` (before the cluster itself goes).
    pub(in crate::provisioner) async fn destroy_node_groups_of(
        &self,
        actor: &str,
        cluster: &ClusterName,
    ) {
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
                            .destroy_node_group(
                                crate::provisioner::reaper::ACTOR,
                                &cluster,
                                &group.user,
                            )
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
                            self.destroy_node_group(
                                crate::provisioner::reaper::ACTOR,
                                &cluster,
                                &group.user,
                            )
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
}
