//! Per-user node groups (provisioner.md, "Per-user node groups"): a person's own nodes attached
//! to a running cluster, managed at `/<action>/<user>` (what the 5.x client's `user_service=True`
//! calls), as the stack `<cluster>-cluster-<user>-asg`.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use time::OffsetDateTime;

use crate::marker::True;
use crate::provisioner::{ClusterState, StackInfo};
use crate::{ClusterName, NodeCapacity, Ttl};

/// The name that means "the public cluster" in a node group's `cluster`.
pub const PUBLIC_CLUSTER_ALIAS: &str = "sliderule";

/// The actions with a `/<user>` form.
pub const USER_ACTIONS: [&str; 5] = ["deploy", "extend", "destroy", "status", "events"];

/// `/<action>/<user>`, e.g. `/deploy/bob`.
pub fn user_path(action: &str, user: &str) -> String {
    format!("/{action}/{user}")
}

/// The stack of `user`'s node group on `cluster`: `<cluster>-cluster-<user>-asg`, as upstream
/// names it.
pub fn stack_name(cluster: &ClusterName, user: &str) -> String {
    format!("{cluster}-cluster-{user}-asg")
}

/// The cluster a node group attaches to: one by name, or `sliderule`, the service's public
/// cluster (which the provisioner resolves to the cluster it is now).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostCluster {
    /// `sliderule`.
    Public,
    /// Any other name.
    Named(ClusterName),
}

impl HostCluster {
    /// `sliderule`, or a valid cluster name.
    pub fn parse(text: &str) -> Result<Self, crate::InvalidClusterName> {
        if text == PUBLIC_CLUSTER_ALIAS {
            return Ok(Self::Public);
        }
        ClusterName::parse(text).map(Self::Named)
    }
}

impl fmt::Display for HostCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str(PUBLIC_CLUSTER_ALIAS),
            Self::Named(name) => name.fmt(f),
        }
    }
}

impl Serialize for HostCluster {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HostCluster {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

/// Body of `/deploy/<user>`. The 5.x client also sends `is_public` and `version`: a node group
/// runs its cluster's, so they are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeGroupDeploy {
    /// The cluster to attach to.
    pub cluster: HostCluster,
    /// How many nodes of the caller's own.
    pub node_capacity: NodeCapacity,
    /// Minutes from now until the node group is destroyed.
    pub ttl: Ttl,
}

/// Body of `/extend/<user>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeGroupExtend {
    /// The cluster it is attached to.
    pub cluster: HostCluster,
    /// Minutes from now.
    pub ttl: Ttl,
}

/// Body of `/status/<user>`, `/events/<user>` and `/destroy/<user>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeGroupRequest {
    /// The cluster it is attached to.
    pub cluster: HostCluster,
}

/// Reply of `/deploy/<user>`, `/extend/<user>`, `/status/<user>` and `/destroy/<user>`:
/// upstream's `response`, `auto_shutdown` and `current_nodes`, and ours around them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeGroupStatus {
    /// Always `true`.
    pub status: True,
    /// The cluster it is attached to (the public cluster's own name for `sliderule`).
    pub cluster: ClusterName,
    /// Whose it is.
    pub user: String,
    /// `<cluster>-cluster-<user>-asg`.
    pub stack_name: String,
    /// The normalized state.
    pub state: ClusterState,
    /// The stack as CloudFormation describes it; absent once it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<StackInfo>,
    /// When it will be destroyed, or `null`.
    #[serde(with = "crate::timestamp::option")]
    pub auto_shutdown: Option<OffsetDateTime>,
    /// Seconds until `auto_shutdown`, or `null`.
    pub seconds_remaining: Option<u64>,
    /// Its nodes running now.
    pub current_nodes: u32,
    /// Its nodes asked for.
    pub node_capacity: NodeCapacity,
}

/// One person's node group in a report (`"users"` under its cluster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserNodes {
    /// When it will be destroyed, or `null`.
    #[serde(with = "crate::timestamp::option")]
    pub auto_shutdown: Option<OffsetDateTime>,
    /// Its nodes running now.
    pub current_nodes: u32,
    /// Its nodes asked for.
    pub node_capacity: NodeCapacity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliderule_names_the_public_cluster_and_other_names_are_checked() {
        let body: NodeGroupRequest = serde_json::from_str(r#"{"cluster":"sliderule"}"#).unwrap();
        assert_eq!(body.cluster, HostCluster::Public);
        let body: NodeGroupRequest = serde_json::from_str(r#"{"cluster":"alpha"}"#).unwrap();
        assert_eq!(
            body.cluster,
            HostCluster::Named(ClusterName::parse("alpha").unwrap())
        );
        let refused = serde_json::from_str::<NodeGroupRequest>(r#"{"cluster":"login"}"#)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("cluster name"), "{refused}");
        assert_eq!(
            serde_json::to_string(&NodeGroupRequest {
                cluster: HostCluster::Public
            })
            .unwrap(),
            r#"{"cluster":"sliderule"}"#
        );
    }

    #[test]
    fn a_deploy_ignores_the_version_and_visibility_the_client_sends() {
        let body: NodeGroupDeploy = serde_json::from_str(
            r#"{"cluster":"sliderule","is_public":false,"node_capacity":2,"ttl":60,"version":"latest"}"#,
        )
        .unwrap();
        assert_eq!(body.node_capacity.get(), 2);
        assert_eq!(body.ttl.minutes(), 60);
    }

    #[test]
    fn a_node_groups_stack_is_named_as_upstream_names_it() {
        let cluster = ClusterName::parse("public").unwrap();
        assert_eq!(stack_name(&cluster, "bob"), "public-cluster-bob-asg");
        assert_eq!(user_path("deploy", "bob"), "/deploy/bob");
    }
}
