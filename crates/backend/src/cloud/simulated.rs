//! The simulated cloud driver, for the demo and the browser tests: stacks that go through the
//! statuses, events and node counts a real CloudFormation stack of the bundled template goes
//! through, without AWS.
//!
//! Stacks are durable in the store (the `simulated_stacks` rows, one JSON document per stack), and
//! what is stored is only what was asked and when (see `model`). Progress is derived from the
//! clock at each call (see `timeline`), one step of the configured delay at a time, so nothing
//! runs in the background, a restart loses nothing, and tests move stacks along with a
//! [`ManualClock`](crate::clock::ManualClock) instead of sleeping.

mod model;
mod resources;
mod scripts;
mod test_runs;
#[cfg(test)]
mod tests;
mod timeline;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::{ClusterState, StackEvent, StackInfo, StackStatus};
use time::OffsetDateTime;

use self::model::{Operation, OperationKind, Parameters, StoredStack, node_group_key};
use self::timeline::Timeline;
use super::{
    Cloud, CloudError, ManagedStack, NodeGroupSpec, Stack, StackSpec, TestRun, TestRunSpec,
};
use crate::clock::Clock;
use crate::store::{ClusterStore, SimulatedStackRow, StoreError};
use sliderule_protocol::Version;
use sliderule_protocol::provisioner::node_groups;
use sliderule_protocol::provisioner::{Branch, test_runner};

/// The longest step delay honoured: a longer one is surely a mistake, and would leave stacks
/// creating for days.
const MAX_STEP: Duration = Duration::from_secs(3600);

/// The region and account simulated stack ids name.
const ARN_PREFIX: &str = "arn:aws:cloudformation:us-west-2:000000000000:stack";

/// The simulated [`Cloud`].
pub struct SimulatedCloud {
    store: Arc<dyn ClusterStore>,
    clock: Arc<dyn Clock>,
    step: Duration,
    deployment: String,
    /// Clusters' host names are `<cluster>.<domain>`; the deployment's name stands in for the
    /// domain unless one is given.
    domain: Option<String>,
    /// Serializes this driver's read-modify-writes of a stack (the store has no compare-and-swap
    /// for simulated stacks; one process drives the simulated cloud).
    writing: tokio::sync::Mutex<()>,
    /// Clusters whose next create fails (see [`SimulatedCloud::fail_next_create`]).
    failing: Mutex<HashSet<ClusterName>>,
}

impl SimulatedCloud {
    /// A simulated cloud keeping its stacks in `store`, reading the time from `clock`, taking
    /// `step` (at most an hour) per step of a stack operation, and tagging its stacks with
    /// `deployment`.
    pub fn new(
        store: Arc<dyn ClusterStore>,
        clock: Arc<dyn Clock>,
        step: Duration,
        deployment: impl Into<String>,
    ) -> Self {
        Self {
            store,
            clock,
            step: step.min(MAX_STEP),
            deployment: deployment.into(),
            domain: None,
            writing: tokio::sync::Mutex::new(()),
            failing: Mutex::new(HashSet::new()),
        }
    }

    /// Names the DNS records of new stacks `<cluster>.<domain>`.
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Makes the next create of `cluster` fail: its node group ends `CREATE_FAILED` and the
    /// stack rolls back to `ROLLBACK_COMPLETE` (state `FAILED`), as when AWS has no capacity.
    /// For tests of the provisioner's handling of failed stacks; not kept across restarts (the
    /// stack it affects is).
    pub fn fail_next_create(&self, cluster: &ClusterName) {
        self.failing_clusters().insert(cluster.clone());
    }

    /// The node count a simulated cluster's `/discovery/status` reports: its nodes up now.
    pub async fn discovery_nodes(&self, cluster: &ClusterName) -> Result<u32, CloudError> {
        self.current_nodes(cluster).await
    }

    fn failing_clusters(&self) -> std::sync::MutexGuard<'_, HashSet<ClusterName>> {
        // The set stays consistent whatever panicked while holding it.
        self.failing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_failure(&self, cluster: &ClusterName) -> bool {
        self.failing_clusters().remove(cluster)
    }

    fn operation(&self, started_at: OffsetDateTime, kind: OperationKind) -> Operation {
        Operation {
            started_at,
            step_ms: u64::try_from(self.step.as_millis()).unwrap_or(u64::MAX),
            kind,
        }
    }

    /// A node group's new stack: its cluster's host, its own name and resources.
    fn new_node_group(&self, spec: &NodeGroupSpec, now: OffsetDateTime) -> StoredStack {
        let stack_name = node_groups::stack_name(&spec.cluster, &spec.user);
        let domain = self.domain.as_deref().unwrap_or(&self.deployment);
        let create = OperationKind::Create {
            parameters: node_group_parameters(spec),
            fails: false,
        };
        StoredStack {
            stack_id: format!("{ARN_PREFIX}/{stack_name}/{}", uuid::Uuid::new_v4()),
            stack_name,
            cluster: spec.cluster.clone(),
            user: Some(spec.user.clone()),
            test_branch: None,
            deployment: self.deployment.clone(),
            owner: spec.user.clone(),
            host: spec.cluster.host(domain),
            operations: vec![self.operation(now, create)],
        }
    }

    fn new_stack(&self, spec: &StackSpec, now: OffsetDateTime) -> StoredStack {
        let stack_name = spec.cluster.stack_name();
        let domain = self.domain.as_deref().unwrap_or(&self.deployment);
        let create = OperationKind::Create {
            parameters: Parameters::from(spec),
            fails: self.take_failure(&spec.cluster),
        };
        StoredStack {
            stack_id: format!("{ARN_PREFIX}/{stack_name}/{}", uuid::Uuid::new_v4()),
            stack_name,
            cluster: spec.cluster.clone(),
            user: None,
            test_branch: None,
            deployment: self.deployment.clone(),
            owner: spec.owner.clone(),
            host: spec.cluster.host(domain),
            operations: vec![self.operation(now, create)],
        }
    }

    /// The cluster's current stack (possibly deleted), with its timeline.
    async fn current(
        &self,
        cluster: &ClusterName,
    ) -> Result<Option<(StoredStack, Timeline)>, CloudError> {
        self.current_by_key(cluster.as_str()).await
    }

    /// The current stack stored under `key` (see [`StoredStack::key`]).
    async fn current_by_key(
        &self,
        key: &str,
    ) -> Result<Option<(StoredStack, Timeline)>, CloudError> {
        let row = self
            .store
            .current_simulated_stack(key)
            .await
            .map_err(unavailable)?;
        row.map(|row| parse(&row)).transpose()
    }

    /// A node group's current stack (possibly deleted), with its timeline.
    async fn current_node_group(
        &self,
        cluster: &ClusterName,
        user: &str,
    ) -> Result<Option<(StoredStack, Timeline)>, CloudError> {
        self.current_by_key(&node_group_key(cluster, user)).await
    }

    /// Stores `stack` as its cluster's current stack.
    async fn save(&self, stack: &StoredStack) -> Result<(), CloudError> {
        let state = serde_json::to_string(stack)
            .map_err(|err| CloudError::Unavailable(format!("simulated cloud: {err}")))?;
        let row = SimulatedStackRow {
            stack_id: stack.stack_id.clone(),
            cluster: stack.key(),
            current: true,
            state,
        };
        self.store
            .put_simulated_stack(&row)
            .await
            .map_err(unavailable)
    }
}

/// A node group runs its cluster's release; only its size is its own.
fn node_group_parameters(spec: &NodeGroupSpec) -> Parameters {
    Parameters {
        node_capacity: spec.node_capacity,
        version: Version::latest(),
        is_public: false,
    }
}

/// CloudFormation's answer to a stack that is not there.
fn missing(stack_name: &str) -> CloudError {
    CloudError::Conflict(format!("Stack [{stack_name}] does not exist"))
}

fn unavailable(err: StoreError) -> CloudError {
    CloudError::Unavailable(format!("simulated cloud: {err}"))
}

/// Reads a stored stack and derives its timeline.
fn parse(row: &SimulatedStackRow) -> Result<(StoredStack, Timeline), CloudError> {
    let stack: StoredStack = serde_json::from_str(&row.state).map_err(|err| {
        CloudError::Unavailable(format!(
            "simulated cloud: stack {} is unreadable: {err}",
            row.stack_id
        ))
    })?;
    let timeline = Timeline::of(&stack);
    Ok((stack, timeline))
}

/// CloudFormation's refusal of `action` on a stack in `status`.
fn refused(stack: &StoredStack, status: &StackStatus, action: &str) -> CloudError {
    CloudError::Conflict(format!(
        "Stack:{} is in {status} state and can not be {action}.",
        stack.stack_id
    ))
}

/// The stack as `describe_stack` shows it at `now`; `None` once deleted.
fn describe(stack: &StoredStack, timeline: &Timeline, now: OffsetDateTime) -> Option<Stack> {
    let (status, reason) = timeline.status_at(now);
    if status == StackStatus::DeleteComplete {
        return None;
    }
    let parameters = stack.parameters();
    Some(Stack {
        stack_id: stack.stack_id.clone(),
        info: StackInfo {
            stack_name: stack.stack_name.clone(),
            stack_status: status,
            stack_status_reason: reason,
            creation_time: stack.created_at().unwrap_or(now),
            last_updated_time: stack.last_updated_at(now),
        },
        node_capacity: parameters.map(|p| p.node_capacity),
        version: parameters.map(|p| p.version.clone()),
        is_public: parameters.map(|p| p.is_public),
        owner: Some(stack.owner.clone()),
        // A simulated cluster answers on the demo's own address (its routes), which only the
        // demo knows.
        address: None,
    })
}

#[async_trait]
impl Cloud for SimulatedCloud {
    async fn create_stack(&self, spec: &StackSpec) -> Result<String, CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        if let Some((_, timeline)) = self.current(&spec.cluster).await?
            && timeline.status_at(now).0 != StackStatus::DeleteComplete
        {
            return Err(CloudError::Conflict(format!(
                "Stack [{}] already exists",
                spec.cluster.stack_name()
            )));
        }
        let stack = self.new_stack(spec, now);
        self.save(&stack).await?;
        Ok(stack.stack_id)
    }

    async fn update_stack(&self, spec: &StackSpec) -> Result<(), CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        let missing = || {
            let name = spec.cluster.stack_name();
            CloudError::Conflict(format!("Stack [{name}] does not exist"))
        };
        let (mut stack, timeline) = self.current(&spec.cluster).await?.ok_or_else(missing)?;
        let (status, _) = timeline.status_at(now);
        match status.state() {
            ClusterState::Running => {}
            ClusterState::NotFound => return Err(missing()),
            _ => return Err(refused(&stack, &status, "updated")),
        }
        let parameters = Parameters::from(spec);
        if stack.parameters() == Some(&parameters) {
            return Ok(());
        }
        let update = self.operation(now, OperationKind::Update { parameters });
        stack.operations.push(update);
        self.save(&stack).await
    }

    async fn delete_stack(&self, cluster: &ClusterName) -> Result<(), CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        let Some((mut stack, timeline)) = self.current(cluster).await? else {
            return Ok(());
        };
        let (status, _) = timeline.status_at(now);
        match status.state() {
            ClusterState::NotFound | ClusterState::Destroying => return Ok(()),
            // CloudFormation lets a delete cut a create short, but not an update.
            ClusterState::Updating => return Err(refused(&stack, &status, "deleted")),
            ClusterState::Deploying | ClusterState::Running | ClusterState::Failed => {}
        }
        stack
            .operations
            .push(self.operation(now, OperationKind::Delete));
        self.save(&stack).await
    }

    async fn describe_stack(&self, cluster: &ClusterName) -> Result<Option<Stack>, CloudError> {
        let now = self.clock.now();
        let current = self.current(cluster).await?;
        Ok(current.and_then(|(stack, timeline)| describe(&stack, &timeline, now)))
    }

    async fn stack_events(&self, stack_id: &str) -> Result<Vec<StackEvent>, CloudError> {
        let now = self.clock.now();
        let row = self
            .store
            .simulated_stack(stack_id)
            .await
            .map_err(unavailable)?;
        let Some(row) = row else {
            return Ok(Vec::new());
        };
        let (_, timeline) = parse(&row)?;
        Ok(timeline.events_at(now))
    }

    async fn current_nodes(&self, cluster: &ClusterName) -> Result<u32, CloudError> {
        let now = self.clock.now();
        let current = self.current(cluster).await?;
        Ok(current.map_or(0, |(_, timeline)| timeline.nodes_at(now)))
    }

    async fn create_node_group(&self, spec: &NodeGroupSpec) -> Result<String, CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        // Its nodes launch from the cluster's template: the cluster must be there and settled.
        let parent = self.current(&spec.cluster).await?;
        let parent_status = parent
            .as_ref()
            .map(|(_, timeline)| timeline.status_at(now).0);
        if parent_status.as_ref().map(StackStatus::state) != Some(ClusterState::Running) {
            return Err(missing(&spec.cluster.stack_name()));
        }
        if let Some((_, timeline)) = self.current_node_group(&spec.cluster, &spec.user).await?
            && timeline.status_at(now).0 != StackStatus::DeleteComplete
        {
            return Err(CloudError::Conflict(format!(
                "Stack [{}] already exists",
                node_groups::stack_name(&spec.cluster, &spec.user)
            )));
        }
        let stack = self.new_node_group(spec, now);
        self.save(&stack).await?;
        Ok(stack.stack_id)
    }

    async fn update_node_group(&self, spec: &NodeGroupSpec) -> Result<(), CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        let name = node_groups::stack_name(&spec.cluster, &spec.user);
        let (mut stack, timeline) = self
            .current_node_group(&spec.cluster, &spec.user)
            .await?
            .ok_or_else(|| missing(&name))?;
        let (status, _) = timeline.status_at(now);
        match status.state() {
            ClusterState::Running => {}
            ClusterState::NotFound => return Err(missing(&name)),
            _ => return Err(refused(&stack, &status, "updated")),
        }
        let parameters = node_group_parameters(spec);
        if stack.parameters() == Some(&parameters) {
            return Ok(());
        }
        let update = self.operation(now, OperationKind::Update { parameters });
        stack.operations.push(update);
        self.save(&stack).await
    }

    async fn delete_node_group(&self, cluster: &ClusterName, user: &str) -> Result<(), CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        let Some((mut stack, timeline)) = self.current_node_group(cluster, user).await? else {
            return Ok(());
        };
        let (status, _) = timeline.status_at(now);
        match status.state() {
            ClusterState::NotFound | ClusterState::Destroying => return Ok(()),
            ClusterState::Updating => return Err(refused(&stack, &status, "deleted")),
            ClusterState::Deploying | ClusterState::Running | ClusterState::Failed => {}
        }
        stack
            .operations
            .push(self.operation(now, OperationKind::Delete));
        self.save(&stack).await
    }

    async fn describe_node_group(
        &self,
        cluster: &ClusterName,
        user: &str,
    ) -> Result<Option<Stack>, CloudError> {
        let now = self.clock.now();
        let current = self.current_node_group(cluster, user).await?;
        Ok(current.and_then(|(stack, timeline)| describe(&stack, &timeline, now)))
    }

    async fn node_group_nodes(&self, cluster: &ClusterName, user: &str) -> Result<u32, CloudError> {
        let now = self.clock.now();
        let current = self.current_node_group(cluster, user).await?;
        Ok(current.map_or(0, |(_, timeline)| timeline.nodes_at(now)))
    }

    async fn create_test_runner(&self, spec: &TestRunSpec) -> Result<String, CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        if self.live_test_run(now).await?.is_some() {
            return Err(CloudError::Conflict(format!(
                "Stack [{}] already exists",
                test_runner::STACK_NAME
            )));
        }
        let stack = self.new_test_run(spec, now)?;
        self.save(&stack).await?;
        Ok(stack.stack_id)
    }

    async fn describe_test_runner(&self) -> Result<Option<TestRun>, CloudError> {
        let now = self.clock.now();
        let Some((stack, timeline)) = self.live_test_run(now).await? else {
            return Ok(None);
        };
        let branch = stack
            .test_branch
            .as_deref()
            .and_then(|b| Branch::parse(b).ok());
        Ok(describe(&stack, &timeline, now).map(|stack| TestRun { branch, stack }))
    }

    async fn delete_test_runner(&self) -> Result<(), CloudError> {
        let _writing = self.writing.lock().await;
        let now = self.clock.now();
        let Some((mut stack, _)) = self.live_test_run(now).await? else {
            return Ok(());
        };
        stack
            .operations
            .push(self.operation(now, OperationKind::Delete));
        self.save(&stack).await
    }

    async fn describe_many(
        &self,
        clusters: &[ClusterName],
    ) -> Result<Vec<(Option<Stack>, u32)>, CloudError> {
        // One query for every current stack instead of two per cluster: a report of a thousand
        // clusters is then one store round trip and in-memory replays.
        let now = self.clock.now();
        let rows = self
            .store
            .current_simulated_stacks()
            .await
            .map_err(unavailable)?;
        let mut by_cluster = std::collections::HashMap::new();
        for row in rows {
            by_cluster.insert(row.cluster.clone(), row);
        }
        clusters
            .iter()
            .map(|cluster| match by_cluster.get(cluster.as_str()) {
                None => Ok((None, 0)),
                Some(row) => {
                    let (stack, timeline) = parse(row)?;
                    let described = describe(&stack, &timeline, now);
                    let nodes = if described.is_some() {
                        timeline.nodes_at(now)
                    } else {
                        0
                    };
                    Ok((described, nodes))
                }
            })
            .collect()
    }

    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError> {
        let now = self.clock.now();
        let rows = self
            .store
            .current_simulated_stacks()
            .await
            .map_err(unavailable)?;
        let mut managed = Vec::new();
        for row in rows {
            let (stack, timeline) = parse(&row)?;
            let (status, _) = timeline.status_at(now);
            // Node groups are found through their records, not adopted as clusters.
            if stack.deployment != self.deployment
                || stack.user.is_some()
                || stack.test_branch.is_some()
                || status == StackStatus::DeleteComplete
            {
                continue;
            }
            managed.push(ManagedStack {
                cluster: stack.cluster,
                stack_id: stack.stack_id,
                status,
                owner: Some(stack.owner),
            });
        }
        Ok(managed)
    }
}
