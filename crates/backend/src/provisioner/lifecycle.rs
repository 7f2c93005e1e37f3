//! The lifecycle rules of provisioner.md: deploy (create, update, or just move the deadline),
//! extend, destroy, and reading a cluster's state.
//!
//! A deploy is recorded before its stack is created, and every change of a record is a
//! compare-and-swap on its revision, so two requests (or two replicas) racing on one cluster
//! create exactly one stack and never lose a deadline.

use serde_json::json;
use sliderule_protocol::provisioner::{ClusterState, DeployRequest, ExtendRequest};
use sliderule_protocol::{ClusterName, NodeCapacity, Ttl, Version, codes};
use time::OffsetDateTime;

use super::Provisioner;
use super::caller::Caller;
use super::error::ProvisionerError;
use super::status::View;
use crate::cloud::{Stack, StackSpec};
use crate::store::{BeginDeploy, ClusterPhase, ClusterRecord};

/// How often a request re-reads and retries when another request changed the cluster under it
/// (twenty identical deploys at once all move the deadline; each round one of them wins).
const ATTEMPTS: usize = 50;

fn in_progress(description: String) -> ProvisionerError {
    ProvisionerError::in_progress(description)
}

/// Marks a record closed: the cluster is gone, its deadline and any destroy intent with it.
pub(super) fn close(record: &mut ClusterRecord) {
    record.phase = ClusterPhase::Closed;
    record.deadline = None;
    record.destroy = None;
}

/// What a deploy asks for, with absent fields filled from the record (or the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    node_capacity: u32,
    version: String,
    is_public: bool,
}

impl Wanted {
    fn of(request: &DeployRequest, record: Option<&ClusterRecord>) -> Self {
        Self {
            node_capacity: request.node_capacity.get(),
            version: request
                .version
                .as_ref()
                .map(|v| v.as_str().to_owned())
                .or_else(|| record.map(|r| r.version.clone()))
                .unwrap_or_else(|| Version::latest().as_str().to_owned()),
            is_public: request
                .is_public
                .or_else(|| record.map(|r| r.is_public))
                .unwrap_or(false),
        }
    }

    fn matches(&self, record: &ClusterRecord) -> bool {
        self.node_capacity == record.node_capacity
            && self.version == record.version
            && self.is_public == record.is_public
    }
}

impl Provisioner {
    /// The cluster's record and stack now.
    pub async fn view(&self, cluster: &ClusterName) -> Result<View, ProvisionerError> {
        let record = self.store.cluster(cluster.as_str()).await?;
        // One question for stack and nodes: the simulated driver answers it from one read.
        let (stack, current_nodes) = self
            .cloud
            .describe_many(std::slice::from_ref(cluster))
            .await?
            .pop()
            .unwrap_or((None, 0));
        let mut view = View {
            cluster: cluster.clone(),
            record,
            stack,
            current_nodes,
            organization: None,
        };
        // A live record whose stack is gone (deleted behind our back) is closed. One with a
        // destroy intent is left to the reaper, which closes it within a watch period and
        // counts how long the destroy took.
        if view.stack.is_none()
            && let Some(record) = view.record.clone()
            && record.phase == ClusterPhase::Live
            && record.destroy.is_none()
        {
            view.record = self.modify(cluster, close).await?.or(Some(record));
        }
        Ok(view)
    }

    pub async fn deploy(
        &self,
        caller: &Caller,
        request: &DeployRequest,
    ) -> Result<View, ProvisionerError> {
        let cluster = &request.cluster;
        if let Some(access) = self.may_act_on(caller, cluster).await? {
            return self.deploy_on_organization(caller, &access, request).await;
        }
        caller.limits.check_capacity(request.node_capacity)?;
        caller.limits.check_ttl(request.ttl)?;
        if request.is_public == Some(true) && !caller.is_owner() {
            return Err(ProvisionerError::Forbidden(
                "only owners may deploy public clusters; leave is_public out or false".into(),
            ));
        }
        let payer = self
            .store
            .cluster(cluster.as_str())
            .await?
            .filter(|r| r.phase != ClusterPhase::Closed)
            .map_or_else(|| caller.login().to_owned(), |r| r.owner);
        self.afford(cluster, &payer, request.node_capacity.get(), request.ttl)
            .await?;
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let deadline = now + request.ttl.duration();
            let record = self
                .store
                .cluster(cluster.as_str())
                .await?
                .filter(|r| r.phase != ClusterPhase::Closed);
            let stack = self.cloud.describe_stack(cluster).await?;
            let wanted = Wanted::of(request, record.as_ref());
            let done = match (record, stack) {
                (None, None) => {
                    self.create(caller.login(), cluster, &wanted, now, deadline)
                        .await?
                }
                (None, Some(stack)) => {
                    refuse_busy_or_failed(cluster, &stack)?;
                    self.adopt(cluster, &stack, caller.login(), deadline, now, "deploy")
                        .await?;
                    None
                }
                (Some(record), None) => match record.phase {
                    // Another request recorded this deploy and is creating the stack.
                    ClusterPhase::Pending => {
                        self.same_or_conflict(cluster, &record, &wanted, deadline)
                            .await?
                    }
                    // Its stack vanished: close the record and start again.
                    _ => {
                        self.modify(cluster, close).await?;
                        None
                    }
                },
                (Some(record), Some(stack)) => {
                    self.deploy_onto(caller, cluster, record, &stack, &wanted, deadline)
                        .await?
                }
            };
            if done.is_some() {
                return self.view(cluster).await;
            }
        }
        Err(in_progress(format!(
            "cluster {cluster} kept changing while we deployed it; try again"
        )))
    }

    /// No record, no stack: record the deploy, then create the stack. `None` when another
    /// request recorded it first (the caller looks again).
    async fn create(
        &self,
        login: &str,
        cluster: &ClusterName,
        wanted: &Wanted,
        now: OffsetDateTime,
        deadline: OffsetDateTime,
    ) -> Result<Option<()>, ProvisionerError> {
        let record = ClusterRecord {
            cluster: cluster.as_str().to_owned(),
            owner: login.to_owned(),
            node_capacity: wanted.node_capacity,
            version: wanted.version.clone(),
            is_public: wanted.is_public,
            deadline: Some(deadline),
            stack_id: None,
            phase: ClusterPhase::Pending,
            created_at: now,
            updated_at: now,
            revision: 0,
            destroy: None,
        };
        let BeginDeploy::Started(record) = self.store.begin_deploy(&record).await? else {
            return Ok(None);
        };
        let parameters = json!({
            "node_capacity": wanted.node_capacity, "version": wanted.version,
            "is_public": wanted.is_public, "deadline": crate::provisioner::audit::time(deadline),
        });
        match self.cloud.create_stack(&spec_of(&record)?).await {
            Ok(stack_id) => {
                self.modify(cluster, |r| {
                    r.phase = ClusterPhase::Live;
                    r.stack_id = Some(stack_id.clone());
                })
                .await?;
                self.audit(login, "deploy", cluster, parameters, Ok(()))
                    .await;
                Ok(Some(()))
            }
            Err(error) => {
                // Nothing was created: close the record so the name is free again.
                self.modify(cluster, close).await?;
                self.audit(
                    login,
                    "deploy",
                    cluster,
                    parameters,
                    Err(&error.to_string()),
                )
                .await;
                Err(error.into())
            }
        }
    }

    /// Deploys `cluster` for the service itself (the demo's public cluster, `login` its owner)
    /// unless it is open already: public, `nodes` nodes, `ttl` from now.
    pub async fn ensure_cluster(
        &self,
        login: &str,
        cluster: &ClusterName,
        nodes: u32,
        ttl: Ttl,
    ) -> Result<(), ProvisionerError> {
        let open = self
            .store
            .cluster(cluster.as_str())
            .await?
            .is_some_and(|r| r.phase != ClusterPhase::Closed);
        if open || self.cloud.describe_stack(cluster).await?.is_some() {
            return Ok(());
        }
        let wanted = Wanted {
            node_capacity: nodes,
            version: Version::latest().as_str().to_owned(),
            is_public: true,
        };
        let now = self.clock.now();
        self.create(login, cluster, &wanted, now, now + ttl.duration())
            .await?;
        Ok(())
    }

    /// A deploy of a cluster whose stack exists and is recorded.
    async fn deploy_onto(
        &self,
        caller: &Caller,
        cluster: &ClusterName,
        record: ClusterRecord,
        stack: &Stack,
        wanted: &Wanted,
        deadline: OffsetDateTime,
    ) -> Result<Option<()>, ProvisionerError> {
        if record.destroy.is_some() {
            return Err(being_destroyed(cluster));
        }
        match stack.status().state() {
            ClusterState::Deploying | ClusterState::Updating => {
                self.same_or_conflict(cluster, &record, wanted, deadline)
                    .await
            }
            ClusterState::Running => {
                if wanted.is_public != record.is_public {
                    return Err(ProvisionerError::Conflict {
                        code: codes::IMMUTABLE,
                        description: format!(
                            "is_public of a running cluster cannot change (cluster {cluster} is {}); destroy it and deploy again",
                            if record.is_public {
                                "public"
                            } else {
                                "private"
                            }
                        ),
                    });
                }
                let changed = wanted.node_capacity != record.node_capacity
                    || wanted.version != record.version;
                if changed {
                    let mut next = record.clone();
                    next.node_capacity = wanted.node_capacity;
                    next.version = wanted.version.clone();
                    self.cloud.update_stack(&spec_of(&next)?).await?;
                }
                let updated = self
                    .modify(cluster, |r| {
                        r.node_capacity = wanted.node_capacity;
                        r.version = wanted.version.clone();
                        r.deadline = Some(deadline);
                    })
                    .await?;
                let action = if changed { "update" } else { "deploy" };
                let parameters = json!({
                    "node_capacity": wanted.node_capacity, "version": wanted.version,
                    "deadline": crate::provisioner::audit::time(deadline),
                });
                self.audit(caller.login(), action, cluster, parameters, Ok(()))
                    .await;
                Ok(updated.map(|_| ()))
            }
            ClusterState::Destroying => Err(being_destroyed(cluster)),
            ClusterState::Failed => Err(ProvisionerError::Conflict {
                code: codes::CLUSTER_FAILED,
                description: format!(
                    "cluster {cluster} failed ({}); destroy it before deploying again",
                    stack.status().as_str()
                ),
            }),
            ClusterState::NotFound => Ok(None),
        }
    }

    /// A deploy while another is under way: the same parameters only move the deadline.
    async fn same_or_conflict(
        &self,
        cluster: &ClusterName,
        record: &ClusterRecord,
        wanted: &Wanted,
        deadline: OffsetDateTime,
    ) -> Result<Option<()>, ProvisionerError> {
        if !wanted.matches(record) {
            return Err(in_progress(format!(
                "cluster {cluster} is being deployed with node_capacity {}, version {}; wait until it is running to change it",
                record.node_capacity, record.version
            )));
        }
        Ok(self
            .modify(cluster, |r| r.deadline = Some(deadline))
            .await?
            .map(|_| ()))
    }

    /// Records a stack we have no record of (an orphan): live, with the given deadline.
    pub(super) async fn adopt(
        &self,
        cluster: &ClusterName,
        stack: &Stack,
        fallback_owner: &str,
        deadline: OffsetDateTime,
        now: OffsetDateTime,
        actor: &str,
    ) -> Result<bool, ProvisionerError> {
        let record = adopted_record(cluster, stack, fallback_owner, Some(deadline), now);
        let adopted = matches!(
            self.store.begin_deploy(&record).await?,
            BeginDeploy::Started(_)
        );
        if adopted {
            tracing::warn!(%cluster, stack_id = %stack.stack_id, %actor, "adopted a stack that had no record");
            self.audit(
                actor,
                "adopt",
                cluster,
                json!({ "stack_id": stack.stack_id, "deadline": crate::provisioner::audit::time(deadline) }),
                Ok(()),
            )
            .await;
        }
        Ok(adopted)
    }

    pub async fn extend(
        &self,
        caller: &Caller,
        request: &ExtendRequest,
    ) -> Result<View, ProvisionerError> {
        let cluster = &request.cluster;
        if let Some(access) = self.may_act_on(caller, cluster).await? {
            return self.extend_on_organization(caller, &access, request).await;
        }
        caller.limits.check_ttl(request.ttl)?;
        let now = self.clock.now();
        let deadline = now + request.ttl.duration();
        let stack = self
            .cloud
            .describe_stack(cluster)
            .await?
            .filter(|s| s.status().state().is_live())
            .ok_or_else(|| no_live_cluster(cluster))?;
        let record = self
            .store
            .cluster(cluster.as_str())
            .await?
            .filter(|r| r.phase != ClusterPhase::Closed);
        if record.as_ref().is_some_and(|r| r.destroy.is_some()) {
            return Err(being_destroyed(cluster));
        }
        let (payer, nodes) = match &record {
            Some(r) => (r.owner.clone(), r.node_capacity),
            None => (
                stack
                    .owner
                    .clone()
                    .unwrap_or_else(|| caller.login().to_owned()),
                stack.node_capacity.map_or(1, NodeCapacity::get),
            ),
        };
        self.afford(cluster, &payer, nodes, request.ttl).await?;
        // A destroy recorded between the read above and this write wins: the deadline of a
        // cluster that must go is not moved.
        let extended = self
            .modify(cluster, |r| {
                if r.destroy.is_none() {
                    r.deadline = Some(deadline);
                }
            })
            .await?;
        if extended.is_none() {
            self.adopt(
                cluster,
                &stack,
                caller.login(),
                deadline,
                now,
                caller.login(),
            )
            .await?;
        }
        self.audit(
            caller.login(),
            "extend",
            cluster,
            json!({ "ttl": request.ttl.minutes(), "deadline": crate::provisioner::audit::time(deadline) }),
            Ok(()),
        )
        .await;
        self.view(cluster).await
    }

    /// Events of the cluster's current or last stack, newest first.
    pub async fn events(
        &self,
        cluster: &ClusterName,
    ) -> Result<Vec<sliderule_protocol::provisioner::StackEvent>, ProvisionerError> {
        let stack_id = match self.cloud.describe_stack(cluster).await? {
            Some(stack) => Some(stack.stack_id),
            None => self
                .store
                .cluster(cluster.as_str())
                .await?
                .and_then(|r| r.stack_id),
        };
        let stack_id = stack_id.ok_or_else(|| does_not_exist(cluster))?;
        Ok(self.cloud.stack_events(&stack_id).await?)
    }

    /// Applies `change` to the cluster's record with compare-and-swap, re-reading on conflict.
    /// `None` when there is no record.
    pub(super) async fn modify(
        &self,
        cluster: &ClusterName,
        change: impl Fn(&mut ClusterRecord),
    ) -> Result<Option<ClusterRecord>, ProvisionerError> {
        for _ in 0..ATTEMPTS {
            let Some(mut record) = self.store.cluster(cluster.as_str()).await? else {
                return Ok(None);
            };
            change(&mut record);
            record.updated_at = self.clock.now();
            if let Some(stored) = self.store.update_cluster(&record).await? {
                self.metered(&stored).await;
                return Ok(Some(stored));
            }
            tokio::task::yield_now().await;
        }
        Err(in_progress(format!(
            "cluster {cluster} kept changing; try again"
        )))
    }
}

fn refuse_busy_or_failed(cluster: &ClusterName, stack: &Stack) -> Result<(), ProvisionerError> {
    match stack.status().state() {
        ClusterState::Destroying => Err(being_destroyed(cluster)),
        ClusterState::Failed => Err(ProvisionerError::Conflict {
            code: codes::CLUSTER_FAILED,
            description: format!("cluster {cluster} failed; destroy it before deploying again"),
        }),
        _ => Ok(()),
    }
}

pub fn does_not_exist(cluster: &ClusterName) -> ProvisionerError {
    ProvisionerError::does_not_exist(cluster)
}

fn being_destroyed(cluster: &ClusterName) -> ProvisionerError {
    in_progress(format!(
        "cluster {cluster} is being destroyed; deploy it again once it is gone"
    ))
}

fn no_live_cluster(cluster: &ClusterName) -> ProvisionerError {
    ProvisionerError::DoesNotExist(format!("cluster {cluster} is not running; deploy it first"))
}

/// The record of a stack we had no record of: live, owned by its `sliderule:owner` tag.
pub(super) fn adopted_record(
    cluster: &ClusterName,
    stack: &Stack,
    fallback_owner: &str,
    deadline: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> ClusterRecord {
    ClusterRecord {
        cluster: cluster.as_str().to_owned(),
        owner: stack
            .owner
            .clone()
            .unwrap_or_else(|| fallback_owner.to_owned()),
        node_capacity: stack.node_capacity.map_or(1, NodeCapacity::get),
        version: stack
            .version
            .as_ref()
            .map_or_else(|| "latest".to_owned(), |v| v.as_str().to_owned()),
        is_public: stack.is_public.unwrap_or(false),
        deadline,
        stack_id: Some(stack.stack_id.clone()),
        phase: ClusterPhase::Live,
        created_at: now,
        updated_at: now,
        revision: 0,
        destroy: None,
    }
}

/// The stack a record asks for.
pub(super) fn spec_of(record: &ClusterRecord) -> Result<StackSpec, ProvisionerError> {
    Ok(StackSpec {
        cluster: ClusterName::parse(&record.cluster).map_err(anyhow::Error::from)?,
        node_capacity: NodeCapacity::new(record.node_capacity),
        version: Version::parse(&record.version).map_err(anyhow::Error::from)?,
        is_public: record.is_public,
        owner: record.owner.clone(),
    })
}
