//! Destroying a cluster: a person pressing Destroy, or the reaper at a deadline, means "this
//! cluster must go". The intent is recorded with the cluster (so it survives a crash) before
//! anything is asked of the cloud, and then carried out as soon as CloudFormation allows:
//!
//! - deploying, running or failed: the delete is issued at once (CloudFormation lets a delete
//!   cut a create short);
//! - updating: we wait for the update to finish and then delete. We do not call
//!   `CancelUpdateStack`: it only works in `UPDATE_IN_PROGRESS` (not in the cleanup or rollback
//!   statuses), its rollback takes about as long as the update it undoes (CloudFormation reverts
//!   every changed resource) and it can end in `UPDATE_ROLLBACK_FAILED`, which needs a repair of
//!   its own; waiting costs at most the rest of the update and always ends in a stack that can
//!   be deleted;
//! - deleting: we watch until the stack is gone and then close the record;
//! - a delete that fails (AWS refuses, or the stack ends `DELETE_FAILED`) is tried again with a
//!   growing back-off, and the reason stays visible in `/status` until the stack is gone.
//!
//! The reaper (see [`super::reaper`]) looks at every pending destroy in each sweep (every
//! `destroy_poll` while any is pending), except one backing off after a failure, which waits
//! for its `next_at`; it works under the cluster's lease, so replicas issue one delete at a
//! time.

use std::time::Duration;

use serde_json::json;
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::{ClusterState, StackStatus};
use time::OffsetDateTime;

use super::Provisioner;
use super::error::ProvisionerError;
use super::lifecycle::{adopted_record, close};
use crate::cloud::{CloudError, redact};
use crate::store::{BeginDeploy, ClusterPhase, ClusterRecord, DestroyIntent};

/// The first wait after a failed delete; each further failure doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);

/// How often tries are made to record an intent when other writers keep changing the record.
const ATTEMPTS: usize = 50;

/// Where a destroy stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The stack is gone and the record closed; `took` is the time since the intent.
    Gone { took: Duration },
    /// CloudFormation is deleting the stack.
    Deleting,
    /// The delete is not issued yet: the stack is busy with an update, or a failed delete waits
    /// for its back-off. `failed` is true when this step's delete failed.
    Waiting { failed: bool },
}

impl Progress {
    /// The state a caller is told: `NOT_FOUND` once gone, else `DESTROYING`.
    pub fn state(self) -> ClusterState {
        match self {
            Progress::Gone { .. } => ClusterState::NotFound,
            Progress::Deleting | Progress::Waiting { .. } => ClusterState::Destroying,
        }
    }

    /// Whether the delete waits to be issued (the wire's `destroy_pending`).
    pub fn pending(self) -> bool {
        matches!(self, Progress::Waiting { .. })
    }
}

/// The wait before the next try after `failures` failed deletes.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

impl Provisioner {
    /// Records that `cluster` must go (by `actor`), then takes the first step at once.
    pub async fn destroy(
        &self,
        actor: &str,
        cluster: &ClusterName,
    ) -> Result<Progress, ProvisionerError> {
        let Some(stack) = self.cloud.describe_stack(cluster).await? else {
            // Nothing to delete: close what is recorded (idempotent).
            self.modify(cluster, close).await?;
            return Ok(Progress::Gone {
                took: Duration::ZERO,
            });
        };
        let now = self.clock.now();
        self.record_intent(actor, cluster, &stack, now).await?;
        // Its node groups' nodes launch from its template: they go first (their deletes are
        // asked now; the reaper finishes them).
        self.destroy_node_groups_of(actor, cluster).await;
        self.destroy_recorded.notify_one();
        let action = if actor == super::reaper::ACTOR {
            "reap"
        } else {
            "destroy"
        };
        let progress = self.advance_destroy(cluster).await?;
        let outcome = match progress {
            Progress::Waiting { failed: true } => "pending: the delete failed and is retried",
            Progress::Waiting { failed: false } => "pending: waiting for the stack's update",
            Progress::Deleting | Progress::Gone { .. } => "ok",
        };
        self.audit(
            actor,
            action,
            cluster,
            json!({ "stack_id": stack.stack_id, "status": stack.status().as_str() }),
            if outcome == "ok" {
                Ok(())
            } else {
                Err(outcome)
            },
        )
        .await;
        Ok(progress)
    }

    /// Writes the intent into the cluster's record (adopting a stack we had no record of). An
    /// intent that exists already is kept, but looked at now: pressing Destroy again retries a
    /// failed delete without waiting out its back-off.
    async fn record_intent(
        &self,
        actor: &str,
        cluster: &ClusterName,
        stack: &crate::cloud::Stack,
        now: OffsetDateTime,
    ) -> Result<(), ProvisionerError> {
        let fresh = DestroyIntent {
            requested_at: now,
            requested_by: actor.to_owned(),
            issued_at: None,
            failures: 0,
            last_error: None,
            next_at: now,
        };
        for _ in 0..ATTEMPTS {
            match self.store.cluster(cluster.as_str()).await? {
                Some(mut record) if record.phase != ClusterPhase::Closed => {
                    record.deadline = None;
                    match &mut record.destroy {
                        Some(intent) => intent.next_at = intent.next_at.min(now),
                        None => record.destroy = Some(fresh.clone()),
                    }
                    record.updated_at = now;
                    if self.store.update_cluster(&record).await?.is_some() {
                        return Ok(());
                    }
                }
                _ => {
                    let record = ClusterRecord {
                        destroy: Some(fresh.clone()),
                        ..adopted_record(cluster, stack, actor, None, now)
                    };
                    if let BeginDeploy::Started(_) = self.store.begin_deploy(&record).await? {
                        return Ok(());
                    }
                }
            }
            tokio::task::yield_now().await;
        }
        Err(ProvisionerError::in_progress(format!(
            "cluster {cluster} kept changing; try again"
        )))
    }

    /// One step of the cluster's recorded destroy (see the module's header). A cluster with no
    /// intent is left alone and reported as it stands.
    pub async fn advance_destroy(
        &self,
        cluster: &ClusterName,
    ) -> Result<Progress, ProvisionerError> {
        let now = self.clock.now();
        let intent = self
            .store
            .cluster(cluster.as_str())
            .await?
            .filter(|r| r.phase != ClusterPhase::Closed)
            .and_then(|r| r.destroy);
        let stack = self.cloud.describe_stack(cluster).await?;
        let Some(intent) = intent else {
            return Ok(match stack {
                None => Progress::Gone {
                    took: Duration::ZERO,
                },
                Some(_) => Progress::Deleting,
            });
        };
        let Some(stack) = stack else {
            self.modify(cluster, close).await?;
            let took: Duration = (now - intent.requested_at).try_into().unwrap_or_default();
            tracing::info!(%cluster, took_secs = took.as_secs_f64(), "destroyed");
            return Ok(Progress::Gone { took });
        };
        let status = stack.status().clone();
        match status.state() {
            ClusterState::NotFound | ClusterState::Destroying => {
                self.update_intent(cluster, |i| {
                    i.issued_at = i.issued_at.or(Some(now));
                    i.next_at = now;
                })
                .await?;
                Ok(Progress::Deleting)
            }
            ClusterState::Updating => {
                self.update_intent(cluster, |i| i.next_at = now).await?;
                Ok(Progress::Waiting { failed: false })
            }
            // A delete of ours that ended DELETE_FAILED: wait out the back-off before the next.
            ClusterState::Failed
                if status == StackStatus::DeleteFailed && intent.issued_at.is_some() =>
            {
                let reason = stack.info.stack_status_reason.as_deref().map_or_else(
                    || "CloudFormation could not delete the stack".to_owned(),
                    redact,
                );
                tracing::warn!(%cluster, %reason, "the stack's delete failed; retrying after a back-off");
                self.failed_delete(cluster, reason, now).await?;
                Ok(Progress::Waiting { failed: true })
            }
            ClusterState::Deploying | ClusterState::Running | ClusterState::Failed => {
                match self.cloud.delete_stack(cluster).await {
                    Ok(()) => {
                        self.update_intent(cluster, |i| {
                            i.issued_at = Some(now);
                            i.last_error = None;
                            i.next_at = now;
                        })
                        .await?;
                        Ok(Progress::Deleting)
                    }
                    // The stack changed status under us (an update began): look again soon.
                    Err(CloudError::Conflict(detail)) => {
                        tracing::info!(%cluster, %detail, "the delete must wait for the stack");
                        self.update_intent(cluster, |i| i.next_at = now).await?;
                        Ok(Progress::Waiting { failed: false })
                    }
                    Err(CloudError::Unavailable(detail)) => {
                        tracing::warn!(%cluster, %detail, "the delete failed; retrying after a back-off");
                        self.failed_delete(
                            cluster,
                            format!("AWS failed: {}", redact(&detail)),
                            now,
                        )
                        .await?;
                        Ok(Progress::Waiting { failed: true })
                    }
                }
            }
        }
    }

    async fn failed_delete(
        &self,
        cluster: &ClusterName,
        reason: String,
        now: OffsetDateTime,
    ) -> Result<(), ProvisionerError> {
        self.update_intent(cluster, |i| {
            i.failures = i.failures.saturating_add(1);
            i.issued_at = None;
            i.last_error = Some(reason.clone());
            i.next_at = now + backoff(i.failures);
        })
        .await
    }

    /// Changes the cluster's destroy intent, if it still has one (a record closed or deployed
    /// again meanwhile is not given one back).
    async fn update_intent(
        &self,
        cluster: &ClusterName,
        change: impl Fn(&mut DestroyIntent),
    ) -> Result<(), ProvisionerError> {
        self.modify(cluster, |r| {
            if r.phase != ClusterPhase::Closed
                && let Some(intent) = r.destroy.as_mut()
            {
                change(intent);
            }
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_thirty_seconds_up_to_half_an_hour() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
