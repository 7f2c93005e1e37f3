//! Cluster status: CloudFormation's stack status, the normalized state derived from it, and the
//! `/status` and `/destroy` bodies.

use std::fmt;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};
use time::OffsetDateTime;

use crate::marker::True;
use crate::{ClusterName, NodeCapacity, Version, flexible};

/// A CloudFormation `StackStatus`: every value AWS documents, and [`StackStatus::Other`] for any it
/// adds later, so a new AWS status never breaks a status call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
// Each variant is the AWS status of the same name (see `as_str`); documenting them one by one
// would repeat the name.
#[allow(missing_docs)]
pub enum StackStatus {
    CreateInProgress,
    CreateFailed,
    CreateComplete,
    RollbackInProgress,
    RollbackFailed,
    RollbackComplete,
    DeleteInProgress,
    DeleteFailed,
    DeleteComplete,
    UpdateInProgress,
    UpdateCompleteCleanupInProgress,
    UpdateComplete,
    UpdateFailed,
    UpdateRollbackInProgress,
    UpdateRollbackFailed,
    UpdateRollbackCompleteCleanupInProgress,
    UpdateRollbackComplete,
    ReviewInProgress,
    ImportInProgress,
    ImportComplete,
    ImportRollbackInProgress,
    ImportRollbackFailed,
    ImportRollbackComplete,
    /// A status this crate does not know. Never holds one of the names above: build values with
    /// [`StackStatus::parse`].
    Other(String),
}

impl StackStatus {
    /// Every status AWS documents, in AWS's order.
    pub const KNOWN: [StackStatus; 23] = [
        StackStatus::CreateInProgress,
        StackStatus::CreateFailed,
        StackStatus::CreateComplete,
        StackStatus::RollbackInProgress,
        StackStatus::RollbackFailed,
        StackStatus::RollbackComplete,
        StackStatus::DeleteInProgress,
        StackStatus::DeleteFailed,
        StackStatus::DeleteComplete,
        StackStatus::UpdateInProgress,
        StackStatus::UpdateCompleteCleanupInProgress,
        StackStatus::UpdateComplete,
        StackStatus::UpdateFailed,
        StackStatus::UpdateRollbackInProgress,
        StackStatus::UpdateRollbackFailed,
        StackStatus::UpdateRollbackCompleteCleanupInProgress,
        StackStatus::UpdateRollbackComplete,
        StackStatus::ReviewInProgress,
        StackStatus::ImportInProgress,
        StackStatus::ImportComplete,
        StackStatus::ImportRollbackInProgress,
        StackStatus::ImportRollbackFailed,
        StackStatus::ImportRollbackComplete,
    ];

    /// The AWS name, e.g. `CREATE_COMPLETE`.
    pub fn as_str(&self) -> &str {
        match self {
            StackStatus::CreateInProgress => "CREATE_IN_PROGRESS",
            StackStatus::CreateFailed => "CREATE_FAILED",
            StackStatus::CreateComplete => "CREATE_COMPLETE",
            StackStatus::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            StackStatus::RollbackFailed => "ROLLBACK_FAILED",
            StackStatus::RollbackComplete => "ROLLBACK_COMPLETE",
            StackStatus::DeleteInProgress => "DELETE_IN_PROGRESS",
            StackStatus::DeleteFailed => "DELETE_FAILED",
            StackStatus::DeleteComplete => "DELETE_COMPLETE",
            StackStatus::UpdateInProgress => "UPDATE_IN_PROGRESS",
            StackStatus::UpdateCompleteCleanupInProgress => "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            StackStatus::UpdateComplete => "UPDATE_COMPLETE",
            StackStatus::UpdateFailed => "UPDATE_FAILED",
            StackStatus::UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
            StackStatus::UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
            StackStatus::UpdateRollbackCompleteCleanupInProgress => {
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
            }
            StackStatus::UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
            StackStatus::ReviewInProgress => "REVIEW_IN_PROGRESS",
            StackStatus::ImportInProgress => "IMPORT_IN_PROGRESS",
            StackStatus::ImportComplete => "IMPORT_COMPLETE",
            StackStatus::ImportRollbackInProgress => "IMPORT_ROLLBACK_IN_PROGRESS",
            StackStatus::ImportRollbackFailed => "IMPORT_ROLLBACK_FAILED",
            StackStatus::ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
            StackStatus::Other(name) => name,
        }
    }

    /// The status named `name`; unknown names become [`StackStatus::Other`].
    pub fn parse(name: &str) -> StackStatus {
        StackStatus::KNOWN
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or_else(|| StackStatus::Other(name.to_owned()))
    }

    /// The normalized state, as the spec's table maps it.
    ///
    /// Where the table is silent: `REVIEW_IN_PROGRESS` (a stack created by a change set that has
    /// not run yet) is `DEPLOYING`; the import statuses follow their update counterparts
    /// (`IMPORT_COMPLETE` and `IMPORT_ROLLBACK_COMPLETE` are `RUNNING`, the in-progress ones
    /// `UPDATING`, `IMPORT_ROLLBACK_FAILED` is `FAILED`).
    ///
    /// Statuses AWS may add: one holding `FAILED` is `FAILED`, one ending `_IN_PROGRESS` is
    /// `UPDATING`, one ending `_COMPLETE` is `RUNNING`. Anything else is `UPDATING`: it is
    /// neither known good nor known bad, and `UPDATING` keeps clients polling rather than
    /// declaring the cluster ready or broken.
    pub fn state(&self) -> ClusterState {
        use ClusterState as S;
        use StackStatus::*;
        match self {
            DeleteComplete => S::NotFound,
            CreateInProgress | ReviewInProgress => S::Deploying,
            CreateComplete
            | UpdateComplete
            | UpdateRollbackComplete
            | ImportComplete
            | ImportRollbackComplete => S::Running,
            UpdateInProgress
            | UpdateCompleteCleanupInProgress
            | UpdateRollbackInProgress
            | UpdateRollbackCompleteCleanupInProgress
            | ImportInProgress
            | ImportRollbackInProgress => S::Updating,
            DeleteInProgress => S::Destroying,
            CreateFailed | RollbackInProgress | RollbackFailed | RollbackComplete
            | DeleteFailed | UpdateFailed | UpdateRollbackFailed | ImportRollbackFailed => {
                S::Failed
            }
            Other(name) if name.contains("FAILED") => S::Failed,
            Other(name) if name.ends_with("_IN_PROGRESS") => S::Updating,
            Other(name) if name.ends_with("_COMPLETE") => S::Running,
            Other(_) => S::Updating,
        }
    }
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for StackStatus {
    fn from(name: &str) -> Self {
        StackStatus::parse(name)
    }
}

impl Serialize for StackStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StackStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(StackStatus::parse(&name))
    }
}

/// The normalized state of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterState {
    /// No stack (or only a deleted one).
    NotFound,
    /// Being created.
    Deploying,
    /// Up and serving.
    Running,
    /// Being changed (capacity, version) or rolling back an update.
    Updating,
    /// Being deleted.
    Destroying,
    /// Broken; destroy it before deploying again.
    Failed,
}

impl ClusterState {
    /// The wire name, e.g. `NOT_FOUND`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClusterState::NotFound => "NOT_FOUND",
            ClusterState::Deploying => "DEPLOYING",
            ClusterState::Running => "RUNNING",
            ClusterState::Updating => "UPDATING",
            ClusterState::Destroying => "DESTROYING",
            ClusterState::Failed => "FAILED",
        }
    }

    /// Whether an operation is under way, so clients should poll often.
    pub const fn is_busy(self) -> bool {
        matches!(
            self,
            ClusterState::Deploying | ClusterState::Updating | ClusterState::Destroying
        )
    }

    /// Whether a stack exists that is not being deleted.
    pub const fn is_live(self) -> bool {
        matches!(
            self,
            ClusterState::Deploying
                | ClusterState::Running
                | ClusterState::Updating
                | ClusterState::Failed
        )
    }
}

impl fmt::Display for ClusterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `response` of a status body: the part of CloudFormation's `DescribeStacks` that clients read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct StackInfo {
    /// `<cluster>-cluster`.
    pub stack_name: String,
    /// CloudFormation's status.
    pub stack_status: StackStatus,
    /// Why the stack is in that status, when AWS says.
    #[serde(default)]
    pub stack_status_reason: Option<String>,
    /// When the stack was created.
    #[serde(with = "crate::timestamp")]
    pub creation_time: OffsetDateTime,
    /// When it last changed, if ever.
    #[serde(default, with = "crate::timestamp::option")]
    pub last_updated_time: Option<OffsetDateTime>,
}

/// 200 of `/status`, `/deploy` and `/extend`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterStatus {
    /// Always `true`.
    pub status: True,
    /// The cluster.
    pub cluster: ClusterName,
    /// Its stack.
    pub stack_name: String,
    /// The normalized state.
    pub state: ClusterState,
    /// The stack as CloudFormation describes it.
    pub response: StackInfo,
    /// When the cluster will be destroyed, or `null` when no deadline is set.
    #[serde(with = "crate::timestamp::option")]
    pub auto_shutdown: Option<OffsetDateTime>,
    /// Seconds until `auto_shutdown`, or `null`.
    pub seconds_remaining: Option<u64>,
    /// Nodes running now.
    pub current_nodes: u32,
    /// Nodes asked for.
    pub node_capacity: NodeCapacity,
    /// The release it runs.
    pub version: Version,
    /// Whether it accepts requests without a token.
    #[serde(deserialize_with = "is_public")]
    pub is_public: bool,
    /// The login of whoever deployed it.
    pub owner: String,
    /// A destroy was asked for and waits to be carried out: the stack is busy with an update
    /// (it is deleted when that finishes), or a failed delete is retried after a back-off. Ours;
    /// absent when false, so the upstream shape is unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy_pending: bool,
    /// Why the latest delete of the stack failed, while it is being retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy_error: Option<String>,
    /// On an organization's cluster: every live capacity request (organizations.md). Absent for
    /// personal clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<crate::organizations::CapacityRequest>>,
    /// On an organization's cluster: its floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_nodes: Option<u32>,
    /// On an organization's cluster: its ceiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
}

pub(crate) fn is_public<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    flexible::boolean(deserializer, "is_public")
}

/// 200 of `/destroy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DestroyResponse {
    /// Always `true`.
    pub status: True,
    /// The cluster.
    pub cluster: ClusterName,
    /// `DESTROYING`, or `NOT_FOUND` when there was nothing to destroy.
    pub state: ClusterState,
    /// The destroy is recorded but not started yet: the stack is busy with an update, or the
    /// delete failed and is retried. It is carried out without another request; `/status` shows
    /// its progress. Ours; absent when false, so the upstream shape is unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy_pending: bool,
}

impl DestroyResponse {
    /// The reply for `cluster`, now in `state`, with its delete `pending` or under way.
    pub fn new(cluster: ClusterName, state: ClusterState, pending: bool) -> Self {
        Self {
            status: True,
            cluster,
            state,
            destroy_pending: pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stack_status_maps_to_the_state_the_spec_gives() {
        use ClusterState::*;
        let table = [
            ("CREATE_IN_PROGRESS", Deploying),
            ("CREATE_FAILED", Failed),
            ("CREATE_COMPLETE", Running),
            ("ROLLBACK_IN_PROGRESS", Failed),
            ("ROLLBACK_FAILED", Failed),
            ("ROLLBACK_COMPLETE", Failed),
            ("DELETE_IN_PROGRESS", Destroying),
            ("DELETE_FAILED", Failed),
            ("DELETE_COMPLETE", NotFound),
            ("UPDATE_IN_PROGRESS", Updating),
            ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Updating),
            ("UPDATE_COMPLETE", Running),
            ("UPDATE_FAILED", Failed),
            ("UPDATE_ROLLBACK_IN_PROGRESS", Updating),
            ("UPDATE_ROLLBACK_FAILED", Failed),
            ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", Updating),
            ("UPDATE_ROLLBACK_COMPLETE", Running),
            ("REVIEW_IN_PROGRESS", Deploying),
            ("IMPORT_IN_PROGRESS", Updating),
            ("IMPORT_COMPLETE", Running),
            ("IMPORT_ROLLBACK_IN_PROGRESS", Updating),
            ("IMPORT_ROLLBACK_FAILED", Failed),
            ("IMPORT_ROLLBACK_COMPLETE", Running),
        ];
        assert_eq!(table.len(), StackStatus::KNOWN.len());
        for (name, state) in table {
            let status = StackStatus::parse(name);
            assert!(!matches!(status, StackStatus::Other(_)), "{name} is known");
            assert_eq!(status.state(), state, "{name}");
        }
    }

    #[test]
    fn every_known_stack_status_round_trips_through_its_name() {
        for status in StackStatus::KNOWN {
            assert_eq!(StackStatus::parse(status.as_str()), status);
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(serde_json::from_str::<StackStatus>(&json).unwrap(), status);
        }
    }

    #[test]
    fn unknown_stack_statuses_are_kept_and_classified_by_shape() {
        let cases = [
            ("FUTURE_FAILED", ClusterState::Failed),
            ("FUTURE_FAILED_IN_PROGRESS", ClusterState::Failed),
            ("FUTURE_IN_PROGRESS", ClusterState::Updating),
            ("FUTURE_COMPLETE", ClusterState::Running),
            ("SOMETHING_ELSE", ClusterState::Updating),
        ];
        for (name, state) in cases {
            let status = StackStatus::parse(name);
            assert_eq!(status, StackStatus::Other(name.into()));
            assert_eq!(status.state(), state, "{name}");
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{name}\"")
            );
        }
    }

    #[test]
    fn cluster_states_serialize_in_screaming_snake_case() {
        assert_eq!(
            serde_json::to_string(&ClusterState::NotFound).unwrap(),
            r#""NOT_FOUND""#
        );
        assert_eq!(ClusterState::Destroying.to_string(), "DESTROYING");
    }

    #[test]
    fn a_pending_destroy_is_said_and_an_ordinary_one_keeps_upstreams_shape() {
        let cluster = ClusterName::parse("bob").unwrap();
        let under_way = DestroyResponse::new(cluster.clone(), ClusterState::Destroying, false);
        assert_eq!(
            serde_json::to_value(&under_way).unwrap(),
            serde_json::json!({ "status": true, "cluster": "bob", "state": "DESTROYING" })
        );
        let pending = DestroyResponse::new(cluster, ClusterState::Destroying, true);
        let json = serde_json::to_value(&pending).unwrap();
        assert_eq!(json["destroy_pending"], true);
        assert_eq!(
            serde_json::from_value::<DestroyResponse>(json).unwrap(),
            pending
        );
    }

    #[test]
    fn busy_states_are_the_ones_with_an_operation_under_way() {
        assert!(ClusterState::Deploying.is_busy());
        assert!(ClusterState::Updating.is_busy());
        assert!(ClusterState::Destroying.is_busy());
        assert!(!ClusterState::Running.is_busy());
        assert!(!ClusterState::Failed.is_busy());
        assert!(!ClusterState::NotFound.is_busy());
    }
}
