//! Reconciliation of records and stacks, at start and every `reconcile_period`:
//! - a stack tagged with this deployment that has no record is adopted with a deadline of
//!   `adopt_ttl` from now (and a warning), so nothing is immortal;
//! - a record whose stack has vanished is closed;
//! - a deploy that was recorded but whose stack was never created (the process died in between)
//!   is finished, or closed if its deadline has passed.

use std::time::Duration;

use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::ClusterState;

use super::Provisioner;
use super::error::ProvisionerError;
use crate::store::ClusterPhase;

/// The audit log's actor for reconciliation.
pub const ACTOR: &str = "reconciler";

/// A pending record younger than this may still be in the hands of the request that made it.
const IN_FLIGHT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub adopted: Vec<String>,
    pub closed: Vec<String>,
    pub resumed: Vec<String>,
    /// The state of every stack of this deployment, as listed (for the clusters-by-state
    /// gauge: no call beyond the listing reconciliation makes anyway).
    pub states: Vec<ClusterState>,
}

impl Provisioner {
    pub async fn reconcile(&self) -> Result<Reconciled, ProvisionerError> {
        let mut done = Reconciled::default();
        let now = self.clock.now();
        let stacks = self.cloud.managed_stacks().await?;
        done.states = stacks.iter().map(|s| s.status.state()).collect();
        let records = self.store.open_clusters().await?;
        for stack in &stacks {
            if records.iter().any(|r| r.cluster == stack.cluster.as_str()) {
                continue;
            }
            if let Some(described) = self.cloud.describe_stack(&stack.cluster).await?
                && self
                    .adopt(
                        &stack.cluster,
                        &described,
                        "unknown",
                        now + self.adopt_ttl,
                        now,
                        ACTOR,
                    )
                    .await?
            {
                done.adopted.push(stack.cluster.as_str().to_owned());
            }
        }
        for record in records {
            if stacks.iter().any(|s| s.cluster.as_str() == record.cluster) {
                continue;
            }
            let Ok(cluster) = ClusterName::parse(&record.cluster) else {
                continue;
            };
            // The list may lag; ask for this stack itself before deciding it is gone.
            if self.cloud.describe_stack(&cluster).await?.is_some() {
                continue;
            }
            let pending = record.phase == ClusterPhase::Pending;
            if pending && now - record.created_at < IN_FLIGHT {
                continue;
            }
            let alive = record.deadline.is_some_and(|d| d > now);
            if pending && alive {
                self.resume(&cluster).await?;
                done.resumed.push(record.cluster);
            } else {
                self.modify(&cluster, super::lifecycle::close).await?;
                self.audit(
                    ACTOR,
                    "close",
                    &cluster,
                    serde_json::json!({ "reason": "its stack is gone" }),
                    Ok(()),
                )
                .await;
                done.closed.push(record.cluster);
            }
        }
        if done != Reconciled::default() {
            tracing::info!(?done, "reconciled records and stacks");
        }
        Ok(done)
    }

    /// Creates the stack of a recorded deploy whose request died before creating it.
    async fn resume(&self, cluster: &ClusterName) -> Result<(), ProvisionerError> {
        let Some(record) = self.store.cluster(cluster.as_str()).await? else {
            return Ok(());
        };
        let spec = super::lifecycle::spec_of(&record)?;
        let outcome = self.cloud.create_stack(&spec).await;
        let parameters =
            serde_json::json!({ "node_capacity": record.node_capacity, "version": record.version });
        match outcome {
            Ok(stack_id) => {
                self.modify(cluster, |r| {
                    r.phase = ClusterPhase::Live;
                    r.stack_id = Some(stack_id.clone());
                })
                .await?;
                self.audit(ACTOR, "resume", cluster, parameters, Ok(()))
                    .await;
                Ok(())
            }
            Err(error) => {
                self.audit(
                    ACTOR,
                    "resume",
                    cluster,
                    parameters,
                    Err(&error.to_string()),
                )
                .await;
                Err(error.into())
            }
        }
    }
}
