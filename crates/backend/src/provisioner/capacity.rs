//! Organizations' shared clusters (organizations.md, "Capacity requests"): members' requests
//! pooled into one target size (the sum over users of each user's highest live request,
//! clamped to the organization's bounds), applied to the cluster at once whenever a request
//! starts, ends or the bounds change.
//!
//! [`Provisioner::reevaluate`] is the one place that moves an organization's cluster. It works
//! under a lease per organization, so replicas (or concurrent requests) never apply two targets
//! at once, and re-reads the requests after applying one, so a request recorded while another
//! evaluation ran is never missed. What it decides, from the target and the cluster as it
//! stands:
//!
//! - target 0 (no live request, `min_nodes` 0): the cluster **sleeps**, destroyed like any
//!   cluster (the reaper carries the destroy out);
//! - target > 0 and no cluster: it **wakes** (recorded, then created at the target size);
//! - target > 0 on a running cluster of another size: updated in place;
//! - a cluster that is being created, updated or put to sleep: the new target is recorded and
//!   applied by a later evaluation (the reaper's sweep runs one for every organization).
//!
//! The cluster's record keeps the target (`node_capacity`) and, as its deadline, the next moment
//! a request expires: the reaper re-evaluates at that second instead of destroying.

use std::time::Duration;

use serde_json::json;
use sliderule_protocol::organizations::{Bounds, CapacityRequest, pooled_target};
use sliderule_protocol::provisioner::ClusterState;
use sliderule_protocol::{ClusterName, Ttl, Version};
use time::OffsetDateTime;

use super::Provisioner;
use super::error::ProvisionerError;
use super::lifecycle::{close, spec_of};
use crate::store::{
    BeginDeploy, CapacityRow, ClusterPhase, ClusterRecord, NewCapacity, OrganizationRow, Requested,
};

/// The audit log's actor when an organization's cluster sleeps or wakes on its own.
pub const ACTOR: &str = "capacity";

/// How long one evaluation may hold an organization: a few cloud calls.
const LEASE: Duration = Duration::from_secs(30);
/// How long a request waits for another evaluation of the same organization to finish before
/// leaving its own to the reaper's sweep.
const WAIT_FOR_LEASE: Duration = Duration::from_secs(5);
const LEASE_POLL: Duration = Duration::from_millis(20);
/// Evaluations in a row while requests keep changing under one.
const ROUNDS: usize = 20;

/// What an evaluation did to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Already as the target says (asleep with no request, or running at the target size).
    Unchanged,
    /// Created at `nodes`.
    Woke { nodes: u32 },
    /// Updated in place.
    Resized { from: u32, to: u32 },
    /// Put to sleep (its destroy recorded).
    Slept,
    /// The cluster is busy (being created, updated or put to sleep): the target is recorded and
    /// applied once it can be.
    Waiting,
    /// The account cannot pay for the target: nothing started (said why).
    Refused(String),
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub target: u32,
    pub change: Change,
}

/// The organization's bounds as stored (checked when they were set).
fn bounds(org: &OrganizationRow) -> Bounds {
    Bounds {
        min_nodes: org.min_nodes,
        max_nodes: org.max_nodes,
    }
}

/// The target of `requests` (live ones) under the organization's bounds.
pub fn target_of(org: &OrganizationRow, requests: &[CapacityRow]) -> u32 {
    pooled_target(
        requests.iter().map(|r| (r.user.as_str(), r.nodes)),
        bounds(org),
    )
}

/// The wire's view of live requests.
pub fn wire_requests(requests: &[CapacityRow]) -> Vec<CapacityRequest> {
    requests
        .iter()
        .map(|r| CapacityRequest {
            user: r.user.clone(),
            nodes: r.nodes,
            expires: r.expires_at,
        })
        .collect()
}

impl Provisioner {
    /// The organization of that name, if the cluster is one.
    pub async fn organization_of(
        &self,
        cluster: &ClusterName,
    ) -> Result<Option<OrganizationRow>, ProvisionerError> {
        Ok(self.store.organization(cluster.as_str()).await?)
    }

    /// Records `user`'s request for `nodes` during `ttl` (replacing their others when
    /// `replace`), then re-evaluates. Refused (422) when the organization cannot pay for what
    /// the target would become.
    pub async fn request_capacity(
        &self,
        org: &OrganizationRow,
        user: &str,
        nodes: u32,
        ttl: Ttl,
        replace: bool,
    ) -> Result<(Requested, Evaluation), ProvisionerError> {
        let expires_at = self.clock.now() + ttl.duration();
        self.request_capacity_until(org, user, nodes, expires_at, replace)
            .await
    }

    /// [`Provisioner::request_capacity`] with the request's end given (v2's requests that live
    /// as long as the access token).
    pub async fn request_capacity_until(
        &self,
        org: &OrganizationRow,
        user: &str,
        nodes: u32,
        expires_at: OffsetDateTime,
        replace: bool,
    ) -> Result<(Requested, Evaluation), ProvisionerError> {
        let name = org_name(org)?;
        let now = self.clock.now();
        let ttl = paid_until(Some(expires_at), now);
        let user = user.to_ascii_lowercase();
        // What the target would be with this request, paid to its end.
        let mut requests: Vec<CapacityRow> = self
            .store
            .capacity_requests(&org.name, now)
            .await?
            .into_iter()
            .filter(|r| !(replace && r.user == user))
            .collect();
        requests.push(CapacityRow {
            id: 0,
            organization: org.name.clone(),
            user: user.clone(),
            nodes,
            created_at: now,
            expires_at,
        });
        self.afford(&name, &user, target_of(org, &requests), ttl)
            .await?;
        let request = NewCapacity {
            organization: org.name.clone(),
            user: user.clone(),
            nodes,
            expires_at,
            replace,
        };
        let requested = self.store.add_capacity_request(&request, now).await?;
        let outcome = match &requested {
            Requested::Queued(_) => Ok(()),
            Requested::Redundant(_) => Err("redundant: a live request covers it"),
        };
        self.audit(
            &user,
            "capacity_request",
            &name,
            json!({ "nodes": nodes, "expires": super::audit::time(expires_at), "replace": replace }),
            outcome,
        )
        .await;
        let evaluation = self.reevaluate(&name, &user).await?;
        Ok((requested, evaluation))
    }

    /// Moves `user`'s live requests to end `ttl` from now, then re-evaluates. 404 when they
    /// have none.
    pub async fn extend_capacity(
        &self,
        org: &OrganizationRow,
        user: &str,
        ttl: Ttl,
    ) -> Result<Evaluation, ProvisionerError> {
        let name = org_name(org)?;
        let now = self.clock.now();
        let expires_at = now + ttl.duration();
        let user = user.to_ascii_lowercase();
        let moved = self
            .store
            .extend_capacity_requests(&org.name, &user, expires_at, now)
            .await?;
        if moved == 0 {
            return Err(no_request(&name, &user));
        }
        self.audit(
            &user,
            "capacity_extend",
            &name,
            json!({ "ttl": ttl.minutes(), "expires": super::audit::time(expires_at) }),
            Ok(()),
        )
        .await;
        self.reevaluate(&name, &user).await
    }

    /// Withdraws `user`'s live requests, or everyone's (`None`, admins), then re-evaluates.
    /// 404 when `user` has none.
    pub async fn withdraw_capacity(
        &self,
        org: &OrganizationRow,
        actor: &str,
        user: Option<&str>,
    ) -> Result<(u64, Evaluation), ProvisionerError> {
        let name = org_name(org)?;
        let user = user.map(str::to_ascii_lowercase);
        let gone = self
            .store
            .withdraw_capacity_requests(&org.name, user.as_deref(), self.clock.now())
            .await?;
        if let Some(user) = &user
            && gone == 0
        {
            return Err(no_request(&name, user));
        }
        self.audit(
            actor,
            "capacity_withdraw",
            &name,
            json!({ "user": user, "withdrawn": gone }),
            Ok(()),
        )
        .await;
        Ok((gone, self.reevaluate(&name, actor).await?))
    }

    /// Applies the organization's target to its cluster now (see the module's header).
    /// `actor` is who caused it (a member, `reaper`, [`ACTOR`]); a cluster woken is recorded as
    /// theirs.
    pub async fn reevaluate(
        &self,
        org: &ClusterName,
        actor: &str,
    ) -> Result<Evaluation, ProvisionerError> {
        let lease = format!("capacity:{org}");
        // A holder of its own per evaluation: two requests of this process must not both
        // think they hold it.
        let holder = format!("{}-{}", self.instance, uuid::Uuid::new_v4());
        let started = std::time::Instant::now();
        loop {
            let now = self.clock.now();
            if self
                .store
                .acquire_lease(&lease, &holder, now, now + LEASE)
                .await?
            {
                break;
            }
            if started.elapsed() >= WAIT_FOR_LEASE {
                // The holder re-reads the requests after it applies a target, and the reaper's
                // sweep evaluates every organization: this request is not lost.
                return Ok(Evaluation {
                    target: self.current_target(org).await?,
                    change: Change::Waiting,
                });
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
        let result = self.converge_until_settled(org, actor).await;
        if let Err(error) = self.store.release_lease(&lease, &holder).await {
            tracing::warn!(%error, %org, "cannot release the capacity lease; it runs out on its own");
        }
        result
    }

    /// The target the live requests make now.
    pub async fn current_target(&self, org: &ClusterName) -> Result<u32, ProvisionerError> {
        let Some(row) = self.store.organization(org.as_str()).await? else {
            return Err(no_organization(org));
        };
        let requests = self
            .store
            .capacity_requests(org.as_str(), self.clock.now())
            .await?;
        Ok(target_of(&row, &requests))
    }

    async fn converge_until_settled(
        &self,
        org: &ClusterName,
        actor: &str,
    ) -> Result<Evaluation, ProvisionerError> {
        let mut evaluation = self.converge(org, actor).await?;
        for _ in 0..ROUNDS {
            if self.current_target(org).await? == evaluation.target {
                return Ok(evaluation);
            }
            evaluation = self.converge(org, actor).await?;
        }
        Ok(evaluation)
    }

    /// One evaluation: reads the organization, its live requests, the record and the stack,
    /// and takes the one step they call for.
    async fn converge(
        &self,
        name: &ClusterName,
        actor: &str,
    ) -> Result<Evaluation, ProvisionerError> {
        let now = self.clock.now();
        let Some(org) = self.store.organization(name.as_str()).await? else {
            return Err(no_organization(name));
        };
        let requests = self.store.capacity_requests(&org.name, now).await?;
        let target = target_of(&org, &requests);
        let next_expiry = requests.iter().map(|r| r.expires_at).min();
        let last_expiry = requests.iter().map(|r| r.expires_at).max();
        let mut record = self
            .store
            .cluster(name.as_str())
            .await?
            .filter(|r| r.phase != ClusterPhase::Closed);
        let stack = self.cloud.describe_stack(name).await?;
        if stack.is_none() && record.as_ref().is_some_and(|r| r.destroy.is_some()) {
            // Asleep, but the reaper has not closed the record yet: close it now, so a request
            // wakes the cluster at once.
            self.advance_destroy(name).await?;
            record = None;
        }
        let evaluation = |change| Ok(Evaluation { target, change });

        if target == 0 {
            return match (&record, &stack) {
                (None, None) => evaluation(Change::Unchanged),
                (Some(r), _) if r.destroy.is_some() => evaluation(Change::Waiting),
                _ => {
                    self.audit(
                        actor,
                        "sleep",
                        name,
                        json!({ "reason": "no live request and min_nodes 0" }),
                        Ok(()),
                    )
                    .await;
                    self.destroy(ACTOR, name).await?;
                    evaluation(Change::Slept)
                }
            };
        }
        match (record, stack) {
            (None, None) => {
                let ttl = paid_until(last_expiry, now);
                if let Err(refused) = self.afford(name, actor, target, ttl).await {
                    tracing::info!(%name, %refused, "an organization's cluster cannot wake: its budget");
                    self.audit(
                        actor,
                        "wake",
                        name,
                        json!({ "nodes": target }),
                        Err(&refused.to_string()),
                    )
                    .await;
                    return evaluation(Change::Refused(refused.to_string()));
                }
                // The cluster is recorded as the newest requester's (the reaper's sweep may be
                // what wakes it); an admin's floor with no request, as the admin's.
                let owner = requests
                    .iter()
                    .max_by_key(|r| (r.created_at, r.id))
                    .map_or(actor, |r| r.user.as_str());
                match self.wake(&org, owner, target, next_expiry, now).await? {
                    true => evaluation(Change::Woke { nodes: target }),
                    false => evaluation(Change::Waiting),
                }
            }
            (Some(record), _) if record.destroy.is_some() => {
                // Going to sleep: woken again once the stack is gone (the reaper's sweep
                // evaluates every organization).
                evaluation(Change::Waiting)
            }
            (None, Some(stack)) => {
                self.adopt(name, &stack, actor, next_expiry.unwrap_or(now), now, ACTOR)
                    .await?;
                evaluation(Change::Waiting)
            }
            (Some(record), None) => {
                if record.phase == ClusterPhase::Live {
                    // Deleted behind our back: close it; the next evaluation wakes it.
                    self.modify(name, close).await?;
                }
                evaluation(Change::Waiting)
            }
            (Some(record), Some(stack)) => {
                let state = stack.status().state();
                let running_size = stack.node_capacity.map(|n| n.get());
                let resize = state == ClusterState::Running && running_size != Some(target);
                if resize {
                    let from = running_size.unwrap_or(record.node_capacity);
                    if target > from {
                        let ttl = paid_until(last_expiry, now);
                        if let Err(refused) = self.afford(name, &record.owner, target, ttl).await {
                            self.audit(
                                actor,
                                "resize",
                                name,
                                json!({ "from": from, "to": target }),
                                Err(&refused.to_string()),
                            )
                            .await;
                            return evaluation(Change::Refused(refused.to_string()));
                        }
                    }
                    let mut next = record.clone();
                    next.node_capacity = target;
                    self.cloud.update_stack(&spec_of(&next)?).await?;
                    self.audit(
                        actor,
                        "resize",
                        name,
                        json!({ "from": from, "to": target }),
                        Ok(()),
                    )
                    .await;
                }
                self.modify(name, |r| {
                    if r.destroy.is_none() {
                        r.node_capacity = target;
                        r.deadline = next_expiry;
                    }
                })
                .await?;
                let change = if resize {
                    Change::Resized {
                        from: running_size.unwrap_or(record.node_capacity),
                        to: target,
                    }
                } else if state == ClusterState::Running {
                    Change::Unchanged
                } else {
                    Change::Waiting
                };
                evaluation(change)
            }
        }
    }

    /// Records and creates the organization's cluster at `nodes`. False when another writer
    /// recorded it first.
    async fn wake(
        &self,
        org: &OrganizationRow,
        actor: &str,
        nodes: u32,
        deadline: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, ProvisionerError> {
        let name = org_name(org)?;
        let record = ClusterRecord {
            cluster: org.name.clone(),
            owner: actor.to_owned(),
            node_capacity: nodes,
            version: Version::parse(&org.version).map_or_else(
                |_| Version::latest().as_str().to_owned(),
                |v| v.as_str().to_owned(),
            ),
            is_public: org.is_public,
            deadline,
            stack_id: None,
            phase: ClusterPhase::Pending,
            created_at: now,
            updated_at: now,
            revision: 0,
            destroy: None,
        };
        let BeginDeploy::Started(record) = self.store.begin_deploy(&record).await? else {
            return Ok(false);
        };
        let parameters =
            json!({ "nodes": nodes, "version": record.version, "is_public": record.is_public });
        match self.cloud.create_stack(&spec_of(&record)?).await {
            Ok(stack_id) => {
                self.modify(&name, |r| {
                    r.phase = ClusterPhase::Live;
                    r.stack_id = Some(stack_id.clone());
                })
                .await?;
                self.audit(actor, "wake", &name, parameters, Ok(())).await;
                Ok(true)
            }
            Err(error) => {
                self.modify(&name, close).await?;
                self.audit(actor, "wake", &name, parameters, Err(&error.to_string()))
                    .await;
                Err(error.into())
            }
        }
    }

    /// Re-evaluates every organization (the reaper's sweep): applies targets that had to wait
    /// for a busy cluster, wakes what slept while requests came in. Returns how many are still
    /// waiting for their cluster.
    pub async fn sweep_organizations(&self) -> Result<usize, ProvisionerError> {
        let mut waiting = 0;
        for org in self.store.organizations().await? {
            let Ok(name) = ClusterName::parse(&org.name) else {
                continue;
            };
            match self.reevaluate(&name, super::reaper::ACTOR).await {
                Ok(evaluation) if evaluation.change == Change::Waiting => waiting += 1,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%name, %error, "cannot re-evaluate the organization; trying again next sweep");
                    waiting += 1;
                }
            }
        }
        Ok(waiting)
    }
}

/// A TTL covering from `now` to `until` (at least the shortest TTL), for the budget's check.
fn paid_until(until: Option<OffsetDateTime>, now: OffsetDateTime) -> Ttl {
    let minutes = until.map_or(0, |until| ((until - now).whole_seconds().max(0) + 59) / 60);
    Ttl::from_minutes(u32::try_from(minutes).unwrap_or(u32::MAX).max(1))
}

fn org_name(org: &OrganizationRow) -> Result<ClusterName, ProvisionerError> {
    ClusterName::parse(&org.name).map_err(|e| ProvisionerError::Internal(e.into()))
}

fn no_organization(name: &ClusterName) -> ProvisionerError {
    ProvisionerError::DoesNotExist(format!("there is no organization {name}"))
}

fn no_request(org: &ClusterName, user: &str) -> ProvisionerError {
    ProvisionerError::DoesNotExist(format!(
        "{user} has no live capacity request on organization {org}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_budget_is_asked_about_the_time_until_the_last_request_ends_rounded_up() {
        let now = datetime!(2026-12-04 10:00 UTC);
        assert_eq!(
            paid_until(Some(now + time::Duration::seconds(61)), now).minutes(),
            2
        );
        assert_eq!(
            paid_until(Some(now + time::Duration::minutes(30)), now).minutes(),
            30
        );
        assert_eq!(paid_until(None, now).minutes(), 1);
    }
}
