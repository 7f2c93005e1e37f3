//! `/report/clusters` and v5's `/report`: one summary per cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::marker::True;
use crate::provisioner::ClusterState;
use crate::{ClusterName, NodeCapacity, Version};

/// One cluster in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// When its stack was created; `null` without a stack. Ours (upstream's report has no such
    /// field), so clients that do not know it ignore it and old reports parse without it.
    #[serde(default, with = "crate::timestamp::option")]
    pub created: Option<OffsetDateTime>,
}

/// The body of `/report/clusters`: cluster name → summary, in name order.
pub type ClusterReport = BTreeMap<ClusterName, ClusterSummary>;

/// The body of v5's `/report` (owners): `{"status": true, "report": {…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportResponse {
    /// Always `true`.
    pub status: True,
    /// Every cluster.
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
