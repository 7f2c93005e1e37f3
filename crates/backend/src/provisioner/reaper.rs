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
    /// Clusters another reaper holds, or that were extended or destroyed meanwhile.
    pub skipped: Vec<String>,
}

impl Provisioner {
    /// One sweep. Fails only when the clusters that are due cannot be read at all; a cluster
    /// whose destroy fails is reported in [`Sweep::failed`].
    pub async fn reap(&self) -> Result<Sweep, crate::store::StoreError> {
        let mut sweep = Sweep::default();
        let now = self.clock.now();
        let due = self.store.due_clusters(now).await?;
        for record in due {
            let Ok(cluster) = ClusterName::parse(&record.cluster) else {
                continue;
            };
            let lease = format!("reap:{cluster}");
            let held = match self
                .store
                .acquire_lease(&lease, &self.instance, now, now + LEASE)
                .await
            {
                Ok(held) => held,
                Err(error) => {
                    tracing::warn!(%cluster, %error, "reaper: cannot take the lease");
                    sweep.failed.push(record.cluster);
                    continue;
                }
            };
            if !held {
                sweep.skipped.push(record.cluster);
                continue;
            }
            // Look again under the lease: another reaper may have finished it, or the owner
            // extended it, since the list was read.
            let still_due = match self.store.cluster(cluster.as_str()).await {
                Ok(current) => current.is_some_and(|r| {
                    r.phase != ClusterPhase::Closed && r.deadline.is_some_and(|d| d <= now)
                }),
                Err(error) => {
                    tracing::warn!(%cluster, %error, "reaper: cannot read the cluster again");
                    sweep.failed.push(record.cluster);
                    continue;
                }
            };
            if !still_due {
                sweep.skipped.push(record.cluster);
                continue;
            }
            match self.destroy(ACTOR, &cluster).await {
                Ok(_) => {
                    tracing::info!(%cluster, "reaper: destroyed at its deadline");
                    sweep.destroyed.push(record.cluster);
                }
                Err(error) => {
                    tracing::warn!(%cluster, %error, "reaper: destroy failed; retrying after the lease");
                    self.back_off(&lease, now).await;
                    sweep.failed.push(record.cluster);
                }
            }
        }
        Ok(sweep)
    }
}

impl Provisioner {
    /// Hands the cluster's lease to a holder no reaper is, so every reaper (this one included)
    /// waits out the lease before trying again.
    async fn back_off(&self, lease: &str, now: time::OffsetDateTime) {
        let _ = self.store.release_lease(lease, &self.instance).await;
        let _ = self
            .store
            .acquire_lease(lease, BACKING_OFF, now, now + LEASE)
            .await;
    }
}

/// The holder of a lease a failed destroy left to run out.
const BACKING_OFF: &str = "backing-off";

/// Sweeps every `reaper_period` until the task is dropped (the first sweep is at start, before
/// the server accepts requests; see [`crate::server`]).
pub async fn run(state: AppState) {
    let period = state.provisioner.reaper_period;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        sweep(&state).await;
    }
}

/// One sweep, counted in the metrics.
pub async fn sweep(state: &AppState) {
    match state.provisioner.reap().await {
        Ok(sweep) => {
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
        Err(error) => {
            tracing::warn!(%error, "reaper: cannot read the clusters that are due");
            state.metrics.record_sweep(0, 1, None);
        }
    }
}
