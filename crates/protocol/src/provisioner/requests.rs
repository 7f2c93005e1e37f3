//! Request bodies of the provisioner.
//!
//! Unknown fields are ignored (upstream clients send `region`, `branch`, …), numbers may be JSON
//! numbers or numeric strings, and `is_public` may be `true` or `"true"`. Every rule lives in the
//! field types, so a body that parses is a body that is well-formed; limits are checked after.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{ClusterName, NodeCapacity, Ttl, Version, flexible};

/// Body of `/deploy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployRequest {
    /// The cluster to deploy or update.
    pub cluster: ClusterName,
    /// How many nodes.
    pub node_capacity: NodeCapacity,
    /// Minutes from now until the cluster is destroyed.
    pub ttl: Ttl,
    /// Whether the cluster accepts requests without a token (owners only). Absent means "as it
    /// is" for a live cluster and `false` for a new one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "is_public"
    )]
    pub is_public: Option<bool>,
    /// The release to run. Absent means "as it is" for a live cluster and `latest` for a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
}

fn is_public<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    flexible::optional_boolean(deserializer, "is_public")
}

impl DeployRequest {
    /// A request with neither `is_public` nor `version` given.
    pub fn new(cluster: ClusterName, node_capacity: NodeCapacity, ttl: Ttl) -> Self {
        Self {
            cluster,
            node_capacity,
            ttl,
            is_public: None,
            version: None,
        }
    }

    /// The version a new cluster gets: the one asked for, else `latest`.
    pub fn version_or_latest(&self) -> Version {
        self.version.clone().unwrap_or_default()
    }
}

/// Body of `/extend`: the new deadline is now + `ttl` (it replaces the old one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtendRequest {
    /// The cluster.
    pub cluster: ClusterName,
    /// Minutes from now.
    pub ttl: Ttl,
}

/// Body of `/destroy`, `/status` and `/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterRequest {
    /// The cluster.
    pub cluster: ClusterName,
}

impl ClusterRequest {
    /// A request about `cluster`.
    pub fn new(cluster: ClusterName) -> Self {
        Self { cluster }
    }
}

/// Body of `/test` and `/report/tests`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BranchRequest {
    /// The branch to test (default `main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<crate::provisioner::test_runner::Branch>,
}

impl BranchRequest {
    /// The branch asked for, or `main`.
    pub fn branch(&self) -> crate::provisioner::test_runner::Branch {
        self.branch.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_reads_numeric_strings_and_ignores_unknown_fields() {
        let body: DeployRequest = serde_json::from_str(
            r#"{"cluster":"Alice","node_capacity":"3","ttl":"60","is_public":"false",
                "region":"us-west-2"}"#,
        )
        .unwrap();
        assert_eq!(body.cluster, "alice");
        assert_eq!(body.node_capacity.get(), 3);
        assert_eq!(body.ttl.minutes(), 60);
        assert_eq!(body.is_public, Some(false));
        assert_eq!(body.version_or_latest().as_str(), "latest");
    }

    #[test]
    fn deploy_requires_capacity_and_ttl() {
        assert!(serde_json::from_str::<DeployRequest>(r#"{"cluster":"a","ttl":60}"#).is_err());
        assert!(
            serde_json::from_str::<DeployRequest>(r#"{"cluster":"a","node_capacity":1}"#).is_err()
        );
    }

    #[test]
    fn deploy_serializes_numbers_as_numbers_and_leaves_out_absent_options() {
        let body = DeployRequest::new(
            ClusterName::parse("a").unwrap(),
            NodeCapacity::new(2),
            Ttl::from_minutes(30),
        );
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"cluster":"a","node_capacity":2,"ttl":30})
        );
    }
}
