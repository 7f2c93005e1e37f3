//! Every durable fact, behind one trait so tests and deployments choose the implementation: for
//! the authenticator, registered OAuth clients, pending browser logins, one-time codes,
//! device-poll bookkeeping and refresh-token families; for the provisioner ([`ClusterStore`]),
//! cluster records, leases, the audit log and the simulated cloud's stacks; for budgets
//! ([`BudgetStore`]), balances, the ledger and the meters of running clusters; for organizations
//! ([`OrganizationStore`]), their settings, memberships, capacity requests and local accounts;
//! per-user node groups ([`NodeGroupStore`]).
//!
//! Secrets never reach the store in the clear: codes, refresh tokens and device codes are kept as
//! [`TokenHash`]es, and the one thing that must be recoverable (the successor of a refresh token,
//! for a retry inside the grace window) is sealed by the caller with a key only the holder of the
//! old token can derive.
//!
//! Every read-modify-write is one atomic operation of the trait, so a code or a refresh token is
//! spent exactly once even when requests race, in one process or in several sharing the database.
//! Time is always passed in, so tests control the clock.

mod budgets;
mod clusters;
mod dynamo;
mod node_groups;
mod organizations;
mod sqlite;
#[cfg(test)]
mod suite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use budgets::{BudgetRow, BudgetStore, Capacity, Meter, NewBudget, Posting};
pub use clusters::{
    AuditEntry, BeginDeploy, ClusterPhase, ClusterRecord, ClusterStore, DestroyIntent,
    SimulatedStackRow,
};
pub use dynamo::DynamoStore;
pub use node_groups::{NodeGroupPhase, NodeGroupRecord, NodeGroupStore};
pub use organizations::{
    AccountRow, CapacityRow, Lockout, MembershipRow, NewCapacity, OrganizationRow,
    OrganizationStore, Requested,
};
pub use sqlite::SqliteStore;

/// SHA-256 of a secret, lowercase hex: what the store keeps instead of the secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(secret: &str) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest.as_ref() {
            hex.push_str(&format!("{byte:02x}"));
        }
        Self(hex)
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_hex(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A hash is not a secret, but a short prefix is all a log ever needs.
        write!(f, "TokenHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or is unreachable.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A row could not be read back (a bug, or a database written by something else).
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    /// The store is missing or has an older schema than this binary needs.
    #[error("{0}: run `sliderule-backend store migrate --config FILE` first")]
    Schema(String),
}

/// A registered OAuth client, as stored. `record` is the JSON of the protocol's `ClientRecord`,
/// which the store does not interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClient {
    pub client_id: String,
    pub record: String,
    pub registered_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
}

/// What a one-time authorization code stands for. `grant` is JSON the authenticator writes (the
/// resolved identity and requested scopes); the store does not interpret it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub grant: String,
    pub expires_at: OffsetDateTime,
}

/// The outcome of [`Store::redeem_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use within its lifetime: the code is now spent.
    Redeemed(CodeGrant),
    /// The code was spent before. `family` is what its first use issued (if already attached),
    /// which the caller revokes (RFC 9700: reuse of a code revokes what it issued).
    Reused { family: Option<String> },
    /// Never issued, or expired.
    Unknown,
}

/// The outcome of [`Store::device_poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePoll {
    /// The poll may go to GitHub; `interval` is the interval in force.
    Proceed { interval: Duration },
    /// Too soon after the previous poll: answer `slow_down` with this (already increased)
    /// interval without asking GitHub.
    SlowDown { interval: Duration },
}

/// A refresh-token family: every token descending from one sign-in. `grant` is JSON the
/// authenticator writes (who, which scopes, which flow); the store does not interpret it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub id: String,
    pub login: String,
    pub grant: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub revoked: bool,
}

/// Lifetimes that decide whether a refresh token still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshRules {
    /// A spent token presented again within this window gets its successor, however often.
    pub grace: Duration,
    /// A family unused for this long is dead.
    pub idle: Duration,
    /// A family older than this is dead, however much it is used.
    pub absolute: Duration,
}

/// The outcome of [`Store::rotate_refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was live: it is now spent and the caller's successor is the live
    /// token of the family, whose last use is now.
    Rotated { family: Family },
    /// The presented token was spent at most `grace` ago: here is the sealed successor its
    /// spending stored (the caller's freshly minted one is discarded). Every presentation inside
    /// the window gets the same one, so concurrent refreshes of one token all end up with the
    /// family's one live token.
    Replayed {
        family: Family,
        sealed_successor: Vec<u8>,
    },
    /// A spent token came back after the grace window: the whole family is now revoked.
    Reused { family_id: String },
    /// Unknown token, revoked family, or a family past its idle or absolute lifetime.
    Invalid,
}

/// The durable state of the authenticator. Implementations: [`SqliteStore`], [`DynamoStore`].
#[async_trait]
pub trait Store:
    ClusterStore + BudgetStore + OrganizationStore + NodeGroupStore + Send + Sync + 'static
{
    /// Whether the store answers (for `/ready`).
    async fn ping(&self) -> Result<(), StoreError>;

    // Registered clients (RFC 7591). They live `unused_for` after their last use.

    async fn insert_client(&self, client: &StoredClient) -> Result<(), StoreError>;

    /// The client, if registered and used within `unused_for` of `now`; marks it used at `now`.
    async fn use_client(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        unused_for: Duration,
    ) -> Result<Option<StoredClient>, StoreError>;

    // Pending browser logins: the nonce inside a signed `state`, so each state is used once.

    async fn insert_pending_login(
        &self,
        nonce: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// True exactly once per nonce, if it has not expired at `now`.
    async fn take_pending_login(
        &self,
        nonce: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    // One-time authorization codes.

    async fn insert_code(&self, code: &TokenHash, grant: &CodeGrant) -> Result<(), StoreError>;

    /// Spends the code atomically. A second redemption (at any time) is [`CodeRedemption::Reused`].
    async fn redeem_code(
        &self,
        code: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<CodeRedemption, StoreError>;

    /// Records which family the code's first use issued. Returns true if the code was reused in
    /// the meantime, in which case the caller revokes the family at once.
    async fn attach_code_family(&self, code: &TokenHash, family: &str) -> Result<bool, StoreError>;

    // Device flow bookkeeping (RFC 8628 §3.5), per device code.

    /// Records a device code we relayed, with GitHub's interval and expiry, and the scopes the
    /// flow was started with (text the authenticator writes; the store does not interpret it).
    /// Recording a code again replaces all three.
    async fn insert_device_code(
        &self,
        device_code: &TokenHash,
        interval: Duration,
        expires_at: OffsetDateTime,
        scope: &str,
    ) -> Result<(), StoreError>;

    /// The scopes recorded with the device code; `None` for a code never recorded by
    /// [`Store::insert_device_code`] (first seen in a poll, or finished). Reads only, so a poll
    /// refused for its scope leaves the code as it was.
    async fn device_code_scope(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<String>, StoreError>;

    /// Decides whether a poll at `now` may go to GitHub. A code we never saw is recorded with
    /// `default_interval` and proceeds. A poll sooner than the interval after the previous poll
    /// increases the interval by 5 s (RFC 8628) and is told to slow down; the interval counts
    /// from every poll, slowed down or not, so a client that keeps polling too fast never gets
    /// through, while one that waits the new interval does.
    async fn device_poll(
        &self,
        device_code: &TokenHash,
        now: OffsetDateTime,
        default_interval: Duration,
    ) -> Result<DevicePoll, StoreError>;

    /// GitHub said `slow_down`: its interval is the one in force from now on.
    async fn set_device_interval(
        &self,
        device_code: &TokenHash,
        interval: Duration,
    ) -> Result<(), StoreError>;

    /// The flow is over (success, denial, expiry): forget the code.
    async fn finish_device_code(&self, device_code: &TokenHash) -> Result<(), StoreError>;

    // Refresh-token families.

    /// Starts a family with its first live token.
    async fn create_family(&self, family: &Family, first: &TokenHash) -> Result<(), StoreError>;

    /// The family of a token, whatever the token's state (to rebuild the grant before rotating).
    async fn family_of(&self, token: &TokenHash) -> Result<Option<Family>, StoreError>;

    /// Spends `presented` and makes `successor` the family's live token, in one transaction,
    /// following [`RefreshRules`]; see [`Rotation`] for the outcomes. `sealed_successor` is kept
    /// only for the grace window.
    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        sealed_successor: &[u8],
        now: OffsetDateTime,
        rules: RefreshRules,
    ) -> Result<Rotation, StoreError>;

    /// Revokes the family of `token` (RFC 7009). Returns whether a family was found.
    async fn revoke_family_of(&self, token: &TokenHash) -> Result<bool, StoreError>;

    /// Revokes a family by id. Returns whether it existed.
    async fn revoke_family(&self, family_id: &str) -> Result<bool, StoreError>;

    /// Deletes what has expired everywhere (codes, logins, device codes, dead families, stale
    /// clients); returns how many rows went.
    async fn purge_expired(
        &self,
        now: OffsetDateTime,
        rules: RefreshRules,
        client_unused_for: Duration,
    ) -> Result<u64, StoreError>;
}

/// Where the configured store is: `store.url`, or `state.db` in the data directory. An invalid
/// URL (which configuration validation refuses) is an error.
pub fn location(config: &crate::config::Config) -> Result<crate::config::StoreUrl, StoreError> {
    match &config.store.url {
        Some(url) => crate::config::StoreUrl::parse(url).map_err(StoreError::Unavailable),
        None => Ok(crate::config::StoreUrl::Sqlite(
            config.data_dir.join("state.db"),
        )),
    }
}

/// Where the configured SQLite store is (`store.url`, or `state.db` in the data directory).
pub fn path(config: &crate::config::Config) -> std::path::PathBuf {
    match location(config) {
        Ok(crate::config::StoreUrl::Sqlite(path)) => path,
        _ => config.data_dir.join("state.db"),
    }
}

/// The AWS configuration of the DynamoDB store: `aws` when given (tests: moto with test
/// credentials), else the standard chain with the region and endpoint of `[aws]`.
async fn sdk_config(
    config: &crate::config::Config,
    aws: Option<&aws_config::SdkConfig>,
) -> aws_config::SdkConfig {
    match aws {
        Some(sdk) => sdk.clone(),
        None => {
            crate::cloud::cloudformation::config_loader(&config.aws)
                .load()
                .await
        }
    }
}

/// The configured store. With `store.migrate_on_start` (demo mode's default) its schema is
/// created or upgraded; otherwise (serve mode's) a missing or older schema is refused with a
/// [`StoreError::Schema`] naming `store migrate`. `aws` replaces the AWS configuration of a
/// DynamoDB store.
pub async fn open(
    config: &crate::config::Config,
    aws: Option<&aws_config::SdkConfig>,
) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context;
    let migrate = config.migrate_store_on_start();
    match location(config)? {
        crate::config::StoreUrl::Sqlite(path) => {
            let store = if migrate {
                SqliteStore::open(&path)
                    .with_context(|| format!("cannot open the store at {}", path.display()))?
            } else {
                SqliteStore::open_existing(&path)?
            };
            Ok(Arc::new(store))
        }
        crate::config::StoreUrl::DynamoDb { table } => {
            let sdk = sdk_config(config, aws).await;
            let store = if migrate {
                DynamoStore::open(&sdk, &table)
                    .await
                    .with_context(|| format!("cannot open the store dynamodb://{table}"))?
            } else {
                DynamoStore::open_existing(&sdk, &table).await?
            };
            Ok(Arc::new(store))
        }
    }
}

/// `sliderule-backend store migrate`: creates or upgrades the configured store's schema;
/// returns its version before and after.
pub async fn migrate(
    config: &crate::config::Config,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<(usize, usize), StoreError> {
    match location(config)? {
        crate::config::StoreUrl::Sqlite(path) => {
            tokio::task::spawn_blocking(move || SqliteStore::migrate(&path))
                .await
                .map_err(|err| StoreError::Unavailable(format!("migration stopped: {err}")))?
        }
        crate::config::StoreUrl::DynamoDb { table } => {
            DynamoStore::migrate(&sdk_config(config, aws).await, &table).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            TokenHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn token_hash_debug_shows_a_prefix_only() {
        let debug = format!("{:?}", TokenHash::of("abc"));
        assert_eq!(debug, "TokenHash(ba7816bf…)");
    }
}
