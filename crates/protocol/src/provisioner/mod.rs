//! Request and response bodies of the provisioner (`provisioner.<domain>`).
//!
//! Every endpoint is a `POST` with a JSON body. Field names follow upstream (CloudFormation's
//! `StackStatus` and friends keep AWS's capitalisation because upstream clients read them).

pub mod audit;
pub mod budget;
pub mod discovery_status;
pub mod events;
pub mod info;
pub mod node_groups;
pub mod outbox;
pub mod report;
pub mod requests;
pub mod signing;
pub mod status;
pub mod test_runner;

pub use audit::{AuditEntryView, AuditPage, AuditRequest};
pub use budget::{
    AdjustRequest, Budget, BudgetKind, BudgetRequest, BudgetsResponse, LedgerEntry, LedgerKind,
    SettingsRequest,
};
pub use discovery_status::{DiscoveryStatus, DiscoveryStatusRequest, ServerVersion, SourceVersion};
pub use events::StackEvent;
pub use info::InfoResponse;
pub use node_groups::{
    HostCluster, NodeGroupDeploy, NodeGroupExtend, NodeGroupRequest, NodeGroupStatus, UserNodes,
};
pub use outbox::{OutboxMessage, OutboxResponse};
pub use report::{ClusterReport, ClusterSummary, ReportResponse};
pub use requests::{BranchRequest, ClusterRequest, DeployRequest, ExtendRequest};
pub use status::{ClusterState, ClusterStatus, DestroyResponse, StackInfo, StackStatus};
pub use test_runner::{Branch, TestRunStarted};

/// The provisioner's paths, relative to its base URL.
pub mod paths {
    /// Who am I, what may I deploy, within which limits.
    pub const INFO: &str = "/info";
    /// Deploy or update a cluster.
    pub const DEPLOY: &str = "/deploy";
    /// Move a cluster's deadline.
    pub const EXTEND: &str = "/extend";
    /// Destroy a cluster.
    pub const DESTROY: &str = "/destroy";
    /// A cluster's status.
    pub const STATUS: &str = "/status";
    /// A cluster's stack events.
    pub const EVENTS: &str = "/events";
    /// Summaries of the clusters the caller may see.
    pub const REPORT_CLUSTERS: &str = "/report/clusters";
    /// v5's owner report.
    pub const REPORT: &str = "/report";
    /// Budgets the caller may see, or one with its ledger.
    pub const BUDGET: &str = "/budget";
    /// An owner's credit or debit.
    pub const BUDGET_ADJUST: &str = "/budget/adjust";
    /// An owner's change of an account's allowance and cap.
    pub const BUDGET_SETTINGS: &str = "/budget/settings";
    /// Start the test runner.
    pub const TEST: &str = "/test";
    /// The latest test summary.
    pub const REPORT_TESTS: &str = "/report/tests";
    /// The notifications sent (owners).
    pub const OUTBOX: &str = "/outbox";
    /// The audit log (owners).
    pub const AUDIT: &str = "/audit";
    /// One cluster's report (`{cluster}` is its name).
    pub const REPORT_CLUSTER: &str = "/report/clusters/{cluster}";
    /// A person's node group (`{user}` is their login): the 5.x client's `user_service=True`.
    pub const DEPLOY_NODES: &str = "/deploy/{user}";
    /// Extends a node group.
    pub const EXTEND_NODES: &str = "/extend/{user}";
    /// A node group's status.
    pub const STATUS_NODES: &str = "/status/{user}";
    /// A node group's stack events.
    pub const EVENTS_NODES: &str = "/events/{user}";
    /// Destroys a node group.
    pub const DESTROY_NODES: &str = "/destroy/{user}";
}
