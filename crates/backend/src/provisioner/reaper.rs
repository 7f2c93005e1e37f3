//! The reaper: destroys every cluster whose deadline has passed.
//!
//! Every process runs it (every `reaper_period`, 30 s by default), and `sliderule-backend reap`
//! runs one sweep for cron or an EventBridge schedule. Replicas sharing a store take a lease per
//! cluster before destroying it, so one destroy is issued per cluster; a destroy that fails keeps
//! the lease until it expires, which is the backoff before the next attempt.

use std::time::Duration;

use sliderule_protocol::ClusterName;

use super::Provisioner;
use crate::app::AppState;
use crate::store::ClusterPhase;

/// The audit log's actor for the reaper.
pub const ACTOR: &str = "reaper";

/// How long a reaper holds a cluster: enough to issue the destroy, and the wait before a failed
/// destroy is tried again.
const LEASE: Duration = Duration::from_secs(60);

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Clusters whose destroy this sweep issued.
    pub destroyed: Vec<String>,
    /// Clusters whose destroy failed (tried again after the lease).
    pub failed: Vec<String>,
    /// Clusters another reaper holds.
    pub skipped: Vec<String>,
}

impl Provisioner {
    pub async fn reap(&self) -> Sweep {
        let mut sweep = Sweep::default();
        let now = self.clock.now();
        let due = match self.store.due_clusters(now).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "reaper: cannot read the clusters that are due");
                return sweep;
            }
        };
        for record in due {
            let Ok(cluster) = ClusterName::parse(&record.cluster) else {
                continue;
            };
            let lease = format!("reap:{cluster}");
            let held = self
                .store
                .acquire_lease(&lease, &self.instance, now, now + LEASE)
                .await
                .unwrap_or(false);
            if !held {
                sweep.skipped.push(record.cluster);
                continue;
            }
            // Look again under the lease: another reaper may have finished it, or the owner
            // extended it, since the list was read.
            let still_due = self
                .store
                .cluster(cluster.as_str())
                .await
                .ok()
                .flatten()
                .is_some_and(|r| {
                    r.phase != ClusterPhase::Closed && r.deadline.is_some_and(|d| d <= now)
                });
            if !still_due {
                continue;
            }
            match self.destroy(ACTOR, &cluster).await {
                Ok(_) => {
                    tracing::info!(%cluster, "reaper: destroyed at its deadline");
                    sweep.destroyed.push(record.cluster);
                }
                Err(error) => {
                    tracing::warn!(%cluster, %error, "reaper: destroy failed; retrying after the lease");
                    sweep.failed.push(record.cluster);
                }
            }
        }
        sweep
    }
}

/// Sweeps every `reaper_period` until the task is dropped.
pub async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(state.provisioner.reaper_period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sweep = state.provisioner.reap().await;
        let open = state
            .provisioner
            .store
            .open_clusters()
            .await
            .ok()
            .map(|c| c.len());
        state
            .metrics
            .record_sweep(sweep.destroyed.len(), sweep.failed.len(), open);
    }
}
