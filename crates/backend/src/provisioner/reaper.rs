//! The reaper: destroys every cluster whose deadline has passed, and carries out every
//! recorded destroy (see [`super::destroying`]) as soon as the cloud allows.
//!
//! Every process runs it (every `reaper_period`, 30 s by default; every `destroy_poll`, 5 s,
//! while a destroy is pending; see [`crate::jobs`]), and `sliderule-backend reap` runs one sweep
//! for cron or an EventBridge schedule. Replicas sharing a store take a lease per cluster before touching it,
//! so one delete is issued at a time; a failed delete is tried again after the back-off kept in
//! the cluster's record.

use std::time::Duration;

use sliderule_protocol::ClusterName;

use super::Provisioner;
use super::destroying::Progress;
use crate::store::ClusterPhase;

/// The audit log's actor for the reaper.
pub const ACTOR: &str = "reaper";

/// How long a reaper may hold a cluster: enough for one step of its destroy. Released after
/// the step; a reaper that dies holding it blocks others this long at most.
const LEASE: Duration = Duration::from_secs(60);

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sweep {
    /// Clusters whose deadline passed and whose destroy this sweep recorded.
    pub destroyed: Vec<String>,
    /// Clusters whose step failed (a delete AWS refused, a store error): tried again later.
    pub failed: Vec<String>,
    /// Clusters another reaper holds, or that were extended or destroyed meanwhile.
    pub skipped: Vec<String>,
    /// Clusters whose stack this sweep found gone, with the time since their destroy was asked.
    pub gone: Vec<(String, Duration)>,
    /// Deletes that failed this sweep (each is retried after its back-off).
    pub retries: usize,
    /// Organizations whose next capacity request expired: their target was re-evaluated.
    pub reevaluated: Vec<String>,
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
            let current = match self.store.cluster(cluster.as_str()).await {
                Ok(current) => current.filter(|r| r.phase != ClusterPhase::Closed),
                Err(error) => {
                    tracing::warn!(%cluster, %error, "reaper: cannot read the cluster again");
                    self.release(&lease).await;
                    sweep.failed.push(record.cluster);
                    continue;
                }
            };
            let step = match current {
                Some(r) if r.destroy.as_ref().is_some_and(|d| d.next_at <= now) => {
                    self.advance_destroy(&cluster).await
                }
                // An organization's deadline is its next request's expiry: the pooled target
                // is re-evaluated (it may shrink, or sleep), not destroyed.
                Some(r)
                    if r.destroy.is_none()
                        && r.deadline.is_some_and(|d| d <= now)
                        && self.is_organization(&cluster).await =>
                {
                    self.release(&lease).await;
                    let expired = r.deadline.map(super::audit::time);
                    self.audit(
                        ACTOR,
                        "capacity_expired",
                        &cluster,
                        serde_json::json!({ "at": expired }),
                        Ok(()),
                    )
                    .await;
                    match self.reevaluate(&cluster, ACTOR).await {
                        Ok(evaluation) => {
                            tracing::info!(%cluster, target = evaluation.target, change = ?evaluation.change, "reaper: a capacity request expired");
                            sweep.reevaluated.push(record.cluster);
                        }
                        Err(error) => {
                            tracing::warn!(%cluster, %error, "reaper: cannot re-evaluate the organization; trying again next sweep");
                            sweep.failed.push(record.cluster);
                        }
                    }
                    continue;
                }
                Some(r) if r.destroy.is_none() && r.deadline.is_some_and(|d| d <= now) => {
                    let step = self.destroy(ACTOR, &cluster).await;
                    if step.is_ok() {
                        tracing::info!(%cluster, "reaper: its deadline passed; destroying it");
                        sweep.destroyed.push(record.cluster.clone());
                    }
                    step
                }
                _ => {
                    self.release(&lease).await;
                    sweep.skipped.push(record.cluster);
                    continue;
                }
            };
            self.release(&lease).await;
            match step {
                Ok(Progress::Gone { took }) => sweep.gone.push((record.cluster, took)),
                Ok(Progress::Waiting { failed: true }) => {
                    sweep.retries += 1;
                    sweep.failed.push(record.cluster);
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%cluster, %error, "reaper: the destroy's step failed; trying again next sweep");
                    sweep.failed.push(record.cluster);
                }
            }
        }
        Ok(sweep)
    }
}

impl Provisioner {
    /// Whether the cluster is an organization's (a store failure reads as "no": the cluster
    /// is then treated as any cluster would be, and the next sweep looks again).
    async fn is_organization(&self, cluster: &ClusterName) -> bool {
        matches!(self.store.organization(cluster.as_str()).await, Ok(Some(_)))
    }

    async fn release(&self, lease: &str) {
        if let Err(error) = self.store.release_lease(lease, &self.instance).await {
            // It runs out on its own.
            tracing::warn!(%error, lease, "reaper: cannot release the lease");
        }
    }
}
