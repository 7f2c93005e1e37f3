//! The provisioner's durable facts: a record per cluster (who deployed it, with what, until
//! when), leases that make replicas issue one destroy per cluster, the audit log, and the state of
//! the simulated cloud's stacks.
//!
//! A deploy is recorded *before* its stack is created ([`ClusterPhase::Pending`]), so a crash
//! between the two leaves a record that reconciliation finishes or closes, never an untracked
//! stack.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;

/// Where a cluster's record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterPhase {
    /// Recorded; its stack may not have been created yet.
    Pending,
    /// Its stack was created (it may since have failed or be deleting).
    Live,
    /// Destroyed or vanished; kept for history until the name is deployed again.
    Closed,
}

impl ClusterPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterPhase::Pending => "pending",
            ClusterPhase::Live => "live",
            ClusterPhase::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(ClusterPhase::Pending),
            "live" => Some(ClusterPhase::Live),
            "closed" => Some(ClusterPhase::Closed),
            _ => None,
        }
    }
}

/// A cluster as the provisioner recorded it. Names are the validated, lowercase cluster names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRecord {
    pub cluster: String,
    pub owner: String,
    pub node_capacity: u32,
    pub version: String,
    pub is_public: bool,
    /// When the reaper destroys it; `None` once destroyed.
    pub deadline: Option<OffsetDateTime>,
    /// The id of its (last) stack, once created: events are read by it after a destroy.
    pub stack_id: Option<String>,
    pub phase: ClusterPhase,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Bumped by every write; [`ClusterStore::update_cluster`] compares it.
    pub revision: i64,
    /// A destroy that was asked for and is not finished: the stack goes as soon as
    /// CloudFormation allows. Cleared when the record is closed.
    pub destroy: Option<DestroyIntent>,
}

/// "This cluster must go", recorded before anything is asked of the cloud so it survives a
/// crash; the reaper carries it out (see `provisioner::destroying`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyIntent {
    pub requested_at: OffsetDateTime,
    /// A login, or `reaper` for a deadline.
    pub requested_by: String,
    /// When the latest delete was issued; `None` until one is, and again after it failed (the
    /// next one is due at `next_at`).
    pub issued_at: Option<OffsetDateTime>,
    /// Failed deletes so far: the back-off grows with them.
    pub failures: u32,
    /// Why the latest delete failed, as the user may read it.
    pub last_error: Option<String>,
    /// When the reaper looks at it next: at once (a time in the past) while the cloud is
    /// watched, later while a failed delete backs off.
    pub next_at: OffsetDateTime,
}

/// The outcome of [`ClusterStore::begin_deploy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginDeploy {
    /// There was no open record: this one is now recorded (phase `Pending`; revision 1, or one
    /// more than the closed record it replaces, so a writer still holding that old record cannot
    /// overwrite the new one); the caller creates the stack.
    Started(ClusterRecord),
    /// A record is open already (another deploy got there first, or the cluster is live).
    Exists(ClusterRecord),
}

/// One entry of the audit log: who did what to which cluster, with which parameters, and how it
/// ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Assigned by the store, increasing.
    pub id: i64,
    pub at: OffsetDateTime,
    /// A login, or `reaper` / `reconciler` for the service itself.
    pub actor: String,
    /// `deploy`, `update`, `extend`, `destroy`, `reap`, `adopt`, `close`, …
    pub action: String,
    pub cluster: String,
    /// JSON of the parameters.
    pub parameters: String,
    /// `ok`, or what went wrong.
    pub outcome: String,
}

/// A simulated stack, stored whole as JSON by the simulated driver (the store does not interpret
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedStackRow {
    pub stack_id: String,
    pub cluster: String,
    /// Whether this is the cluster's current stack (false once deleted and replaced).
    pub current: bool,
    pub state: String,
}

#[async_trait]
pub trait ClusterStore: Send + Sync + 'static {
    /// The cluster's open (pending or live) record, or its last closed one.
    async fn cluster(&self, cluster: &str) -> Result<Option<ClusterRecord>, StoreError>;

    /// Every open record, by name.
    async fn open_clusters(&self) -> Result<Vec<ClusterRecord>, StoreError>;

    /// Records `record` as a new deploy unless an open record exists, atomically (two deploys
    /// of one cluster at once: exactly one is `Started`).
    async fn begin_deploy(&self, record: &ClusterRecord) -> Result<BeginDeploy, StoreError>;

    /// Replaces the record if its revision is still `record.revision`; the stored revision is
    /// then `record.revision + 1`. Returns the stored record, or `None` if someone else wrote
    /// first (the caller re-reads and decides again).
    async fn update_cluster(
        &self,
        record: &ClusterRecord,
    ) -> Result<Option<ClusterRecord>, StoreError>;

    /// Open records whose deadline, or whose destroy's next look (`destroy.next_at`), is at or
    /// before `now`, soonest first.
    async fn due_clusters(&self, now: OffsetDateTime) -> Result<Vec<ClusterRecord>, StoreError>;

    /// Takes the lease `name` for `holder` until `until`, if it is free, expired at `now`, or
    /// held by `holder` already. True if `holder` holds it now.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Gives the lease up if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Appends to the audit log; returns the entry's id.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;

    /// Audit entries newest first, `limit` at most, older than `before` (an id) when given.
    async fn audit_page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Records a request signature's first use; false if it was used before (a replay). It
    /// is remembered until `until`.
    async fn first_use_of_signature(
        &self,
        signature: &super::TokenHash,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// The newest `limit` entries about `cluster`, newest first.
    async fn audit_of(&self, cluster: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    // The simulated cloud's stacks (JSON the simulated driver owns).

    /// Inserts or replaces a simulated stack by `stack_id`. Marking one `current` unmarks the
    /// cluster's other stacks.
    async fn put_simulated_stack(&self, stack: &SimulatedStackRow) -> Result<(), StoreError>;

    /// The cluster's current simulated stack.
    async fn current_simulated_stack(
        &self,
        cluster: &str,
    ) -> Result<Option<SimulatedStackRow>, StoreError>;

    async fn simulated_stack(
        &self,
        stack_id: &str,
    ) -> Result<Option<SimulatedStackRow>, StoreError>;

    /// Every current simulated stack.
    async fn current_simulated_stacks(&self) -> Result<Vec<SimulatedStackRow>, StoreError>;
}
