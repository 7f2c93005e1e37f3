//! `/report/clusters` and v5's `/report`: one summary per cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::marker::True;
use crate::provisioner::ClusterState;
use crate::{ClusterName, NodeCapacity, Version};

/// One cluster in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterSummary {
    /// The normalized state.
    pub state: ClusterState,
    /// When it will be destroyed, or `null`.
    #[serde(with = "crate::timestamp::option")]
    pub auto_shutdown: Option<OffsetDateTime>,
    /// Nodes running now.
    pub current_nodes: u32,
    /// Nodes asked for.
    pub node_capacity: NodeCapacity,
    /// The release it runs.
    pub version: Version,
    /// Whether it accepts requests without a token.
    #[serde(deserialize_with = "crate::provisioner::status::is_public")]
    pub is_public: bool,
    /// Who deployed it.
    pub owner: String,
    /// When its stack was created; absent without a stack. Ours (upstream's report has no such
    /// field), so clients that do not know it ignore it and upstream reports parse without it.
    #[serde(
        default,
        with = "crate::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<OffsetDateTime>,
    /// A destroy was asked for and waits for the stack (see `ClusterStatus::destroy_pending`).
    /// Ours; absent when false, so upstream's report shape is unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy_pending: bool,
    /// Its per-user node groups, by login (upstream's `"users"`); absent when it has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, crate::provisioner::UserNodes>,
}

/// The body of `/report/clusters`: cluster name → summary, in name order.
pub type ClusterReport = BTreeMap<ClusterName, ClusterSummary>;

/// The body of v5's `/report` (owners): `{"status": true, "report": {…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportResponse {
    /// Always `true`.
    pub status: True,
    /// Every cluster.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, ClusterSummary>))]
    pub report: ClusterReport,
}

impl ReportResponse {
    /// Wraps a report in v5's envelope.
    pub fn new(report: ClusterReport) -> Self {
        Self {
            status: True,
            report,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_creation_time_is_written_when_known_and_left_out_otherwise() {
        let mut summary = ClusterSummary {
            state: ClusterState::Running,
            auto_shutdown: None,
            current_nodes: 1,
            node_capacity: NodeCapacity::new(1),
            version: Version::latest(),
            is_public: false,
            owner: "bob".into(),
            created: None,
            destroy_pending: false,
            users: Default::default(),
        };
        let json = serde_json::to_value(&summary).unwrap();
        assert!(json.get("created").is_none());
        assert!(
            json.get("destroy_pending").is_none(),
            "upstream's report shape, unless a destroy is pending"
        );
        summary.destroy_pending = true;
        assert_eq!(
            serde_json::to_value(&summary).unwrap()["destroy_pending"],
            true
        );
        summary.created = Some(datetime!(2026-11-23 19:00 UTC));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["created"], "2026-11-23T19:00:00Z");
        assert_eq!(
            serde_json::from_value::<ClusterSummary>(json).unwrap(),
            summary
        );
    }
}
