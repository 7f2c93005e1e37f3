//! The provisioner: deploy, update, extend, destroy and report clusters, each a stack in the
//! configured [`Cloud`], with per-level limits, an audit log, a reaper that destroys every
//! cluster at its deadline and a reconciler that keeps records and stacks in agreement.
//!
//! Served at the root of `provisioner.<domain>` and under `/provisioner/` on the single origin.
//! Handlers ([`handlers`]) are thin; the rules live in [`lifecycle`], [`reaper`] and
//! [`reconcile`], plain async functions over the [`Provisioner`].

pub mod audit;
pub mod budget_sweep;
mod budgets;
pub mod caller;
pub mod capacity;
pub mod destroying;
pub mod error;
mod handlers;
pub mod lifecycle;
pub mod node_groups;
mod organization_handlers;
pub mod organizations;
pub mod reaper;
pub mod reconcile;
mod report;
mod routes;
pub mod signing;
pub mod status;
pub mod test_runner;

use std::sync::Arc;
use std::time::Duration;

pub use routes::{ProvisionerApi, routes};

use crate::budgets::Budgets;
use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::config::Config;
use crate::store::Store;

/// Everything the provisioner's rules need, built once.
pub struct Provisioner {
    pub cloud: Arc<dyn Cloud>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Deadline given to adopted orphan stacks.
    pub adopt_ttl: Duration,
    /// How often the reaper sweeps.
    pub reaper_period: Duration,
    /// How often the reaper sweeps while a destroy is pending (the cloud is busy with its
    /// stack, or a failed delete backs off).
    pub destroy_poll: Duration,
    /// Wakes this process's reaper when a destroy is recorded, so it starts watching at once
    /// instead of at the end of its period.
    pub destroy_recorded: Arc<tokio::sync::Notify>,
    /// How often records and stacks are reconciled.
    pub reconcile_period: Duration,
    /// Names this process as a lease holder.
    pub instance: String,
    /// The public cluster's name (shown in `/info`'s known clusters).
    pub public_cluster: Option<String>,
    /// The cluster `sliderule` names in node-group requests (`provisioner.public_cluster`).
    pub node_group_public_cluster: Option<sliderule_protocol::ClusterName>,
    /// Budgets, when they are on: deploys and extends are paid for, records are metered.
    pub budgets: Option<Arc<Budgets>>,
    /// The largest `max_nodes` an organization may have: the owner limit.
    pub max_org_nodes: u32,
    /// Owners' request signing: whether it is required, and their keys.
    pub signing: Arc<Signing>,
    /// Notifications of what the audit log records, when they are on.
    pub notifier: Option<Arc<crate::notifications::Notifier>>,
    /// Where `/report/tests` reads summaries; `None` when there are none to read.
    pub summaries: Option<Arc<dyn crate::cloud::TestSummaries>>,
    /// How long the test runner's stack lives.
    pub test_runner_ttl: Duration,
}

/// Owners' request signing (see [`signing`]).
pub struct Signing {
    pub required: bool,
    pub keys: signing::OwnerKeys,
}

impl Provisioner {
    pub fn new(
        config: &Config,
        cloud: Arc<dyn Cloud>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        budgets: Option<Arc<Budgets>>,
        notifier: Option<Arc<crate::notifications::Notifier>>,
    ) -> Self {
        let settings = &config.provisioner;
        Self {
            cloud,
            store,
            clock,
            adopt_ttl: Duration::from_secs(u64::from(settings.adopt_ttl_mins) * 60),
            reaper_period: Duration::from_secs(settings.reaper_period_secs),
            destroy_poll: Duration::from_secs(settings.destroy_poll_secs),
            destroy_recorded: Arc::new(tokio::sync::Notify::new()),
            reconcile_period: Duration::from_secs(settings.reconcile_period_secs),
            // Unique per process, so leases tell replicas apart.
            instance: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            public_cluster: config.web.public_cluster.clone(),
            // Checked by the configuration's validation.
            node_group_public_cluster: settings
                .public_cluster
                .as_deref()
                .and_then(|name| sliderule_protocol::ClusterName::parse(name).ok()),
            budgets,
            max_org_nodes: config.authenticator.owner_max_nodes,
            signing: Arc::new(Signing {
                required: settings.require_owner_signatures,
                keys: signing::OwnerKeys::new(settings.owner_keys_file.clone()),
            }),
            notifier,
            summaries: None,
            test_runner_ttl: Duration::from_secs(u64::from(settings.test_runner_ttl_mins) * 60),
        }
    }
}
