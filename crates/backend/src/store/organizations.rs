//! The durable facts of organizations (organizations.md): each organization's settings and
//! admins, membership requests and decisions, members' capacity requests, local accounts and
//! their sign-in throttle.
//!
//! Names are lowercase. Settings change by compare-and-swap on a revision, like cluster records;
//! a capacity request, a decision and a throttle step are each one atomic operation, so replicas
//! sharing the store cannot lose one.

use std::time::Duration;

use async_trait::async_trait;
use sliderule_protocol::organizations::MembershipState;
use time::OffsetDateTime;

use super::StoreError;

/// An organization as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRow {
    pub name: String,
    pub min_nodes: u32,
    pub max_nodes: u32,
    pub version: String,
    pub is_public: bool,
    /// Logins or local accounts, sorted.
    pub admins: Vec<String>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    /// Bumped by every write; [`OrganizationStore::update_organization`] compares it.
    pub revision: i64,
}

/// Someone's membership of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    pub organization: String,
    pub user: String,
    pub state: MembershipState,
    pub requested_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
}

/// A member's capacity request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityRow {
    pub id: i64,
    pub organization: String,
    pub user: String,
    pub nodes: u32,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A capacity request to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCapacity {
    pub organization: String,
    pub user: String,
    pub nodes: u32,
    pub expires_at: OffsetDateTime,
    /// v5's `/deploy`: the user's other live requests on the organization are withdrawn in the
    /// same step. v2's requests add to them.
    pub replace: bool,
}

/// The outcome of [`OrganizationStore::add_capacity_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// Recorded.
    Queued(CapacityRow),
    /// The user has a live request for as many nodes lasting at least as long: nothing changed
    /// (v2's `REDUNDANT`).
    Redundant(CapacityRow),
}

/// A local account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Assigned by the store (the v2 `user_id`).
    pub id: i64,
    pub username: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    pub email: Option<String>,
    pub active: bool,
    pub created_at: OffsetDateTime,
    /// An owner's login, or the username itself for a self sign-up.
    pub created_by: String,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// When failed sign-ins lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// This many failures…
    pub failures: u32,
    /// …within this window…
    pub window: Duration,
    /// …lock the username this long.
    pub lock_for: Duration,
}

impl Lockout {
    /// organizations.md: 10 failures in 15 minutes lock for 15 minutes.
    pub const SPEC: Lockout = Lockout {
        failures: 10,
        window: Duration::from_secs(15 * 60),
        lock_for: Duration::from_secs(15 * 60),
    };
}

#[async_trait]
pub trait OrganizationStore: Send + Sync + 'static {
    // Organizations.

    /// Records a new organization (revision 1) with its admins. False if the name is taken.
    async fn create_organization(&self, org: &OrganizationRow) -> Result<bool, StoreError>;

    async fn organization(&self, name: &str) -> Result<Option<OrganizationRow>, StoreError>;

    /// Every organization, by name.
    async fn organizations(&self) -> Result<Vec<OrganizationRow>, StoreError>;

    /// Replaces settings and admins if the revision is still `org.revision`; returns the stored
    /// row (revision + 1), or `None` if someone else wrote first or it does not exist.
    async fn update_organization(
        &self,
        org: &OrganizationRow,
    ) -> Result<Option<OrganizationRow>, StoreError>;

    // Memberships.

    /// Asks to join: a new request is pending; a denied or deactivated one becomes pending
    /// again (asked anew at `now`); a pending or active one is returned unchanged.
    async fn request_membership(
        &self,
        organization: &str,
        user: &str,
        now: OffsetDateTime,
    ) -> Result<MembershipRow, StoreError>;

    async fn membership(
        &self,
        organization: &str,
        user: &str,
    ) -> Result<Option<MembershipRow>, StoreError>;

    /// An organization's memberships, newest request first.
    async fn memberships(&self, organization: &str) -> Result<Vec<MembershipRow>, StoreError>;

    /// A person's memberships, by organization.
    async fn memberships_of(&self, user: &str) -> Result<Vec<MembershipRow>, StoreError>;

    /// Moves the membership to `to` if it is in one of `from` now; `None` (nothing changed)
    /// when there is none or it is in another state.
    async fn decide_membership(
        &self,
        organization: &str,
        user: &str,
        from: &[MembershipState],
        to: MembershipState,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Option<MembershipRow>, StoreError>;

    // Capacity requests.

    /// Records a request at `now`, atomically with the withdrawal of the user's others when
    /// `replace`, or finds it redundant.
    async fn add_capacity_request(
        &self,
        request: &NewCapacity,
        now: OffsetDateTime,
    ) -> Result<Requested, StoreError>;

    /// The organization's live requests at `now` (expiring after it), soonest expiry first.
    async fn capacity_requests(
        &self,
        organization: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<CapacityRow>, StoreError>;

    /// Moves the expiry of the user's live requests to `expires_at`; how many moved.
    async fn extend_capacity_requests(
        &self,
        organization: &str,
        user: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// Withdraws the live requests of `user`, or everyone's when `None`; how many went.
    async fn withdraw_capacity_requests(
        &self,
        organization: &str,
        user: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    // Local accounts.

    /// Records a new account (its id assigned). `None` if the username is taken.
    async fn create_account(&self, account: &AccountRow) -> Result<Option<AccountRow>, StoreError>;

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError>;

    /// Every account, by username.
    async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError>;

    /// Enables or disables; false if there is no such account.
    async fn set_account_active(&self, username: &str, active: bool) -> Result<bool, StoreError>;

    /// Replaces the password hash; false if there is no such account.
    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<bool, StoreError>;

    /// Until when the username is locked at `now`, if it is.
    async fn sign_in_locked_until(
        &self,
        username: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError>;

    /// Counts a failed sign-in at `now`; returns until when the username is locked if this
    /// failure (or an earlier one) locked it.
    async fn record_sign_in_failure(
        &self,
        username: &str,
        now: OffsetDateTime,
        rules: Lockout,
    ) -> Result<Option<OffsetDateTime>, StoreError>;

    /// A successful sign-in forgets the failures.
    async fn clear_sign_in_failures(&self, username: &str) -> Result<(), StoreError>;
}
