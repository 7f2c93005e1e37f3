//! The simulated driver over an in-memory store, moved along by a manual clock: the harness
//! here, the tests by operation in `tests/`.

mod create;
mod delete;
mod lifecycle;
mod update;

use std::sync::Arc;
use std::time::Duration;

use sliderule_protocol::provisioner::{ClusterState, StackEvent, StackStatus};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};
use time::OffsetDateTime;

use super::SimulatedCloud;
use crate::clock::{Clock, ManualClock};
use crate::cloud::{Cloud, CloudError, StackSpec};
use crate::store::{ClusterStore, SqliteStore, Store};

const STEP: Duration = Duration::from_secs(2);
const DEPLOYMENT: &str = "sliderule-test";

/// Steps from the start of a create to the stack's `CREATE_COMPLETE` (its event, 7 resources of
/// two events each, its completion).
const CREATE_STEPS: u32 = 15;
/// The step at which the node group is created; node `n` is up `n` steps later.
const NODE_GROUP_CREATED: u32 = 12;

struct Sim {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    cloud: SimulatedCloud,
}

impl Sim {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let clock = Arc::new(ManualClock::new());
        let cloud = Self::cloud_on(&store, &clock, STEP, DEPLOYMENT);
        Self {
            store,
            clock,
            cloud,
        }
    }

    /// Another driver over the same store and clock (a restart, or another deployment).
    fn cloud_on(
        store: &Arc<SqliteStore>,
        clock: &Arc<ManualClock>,
        step: Duration,
        deployment: &str,
    ) -> SimulatedCloud {
        let store: Arc<dyn ClusterStore> = store.clone();
        SimulatedCloud::new(store, clock.clone(), step, deployment)
    }

    fn steps(&self, steps: u32) {
        self.clock.advance(STEP * steps);
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    async fn status(&self, cluster: &ClusterName) -> Option<StackStatus> {
        let stack = self.cloud.describe_stack(cluster).await.unwrap();
        stack.map(|stack| stack.info.stack_status)
    }

    async fn nodes(&self, cluster: &ClusterName) -> u32 {
        self.cloud.current_nodes(cluster).await.unwrap()
    }

    async fn events(&self, stack_id: &str) -> Vec<StackEvent> {
        self.cloud.stack_events(stack_id).await.unwrap()
    }

    /// Creates the stack and lets it complete.
    async fn created(&self, spec: &StackSpec) -> String {
        let stack_id = self.cloud.create_stack(spec).await.unwrap();
        self.steps(CREATE_STEPS);
        assert_eq!(
            self.status(&spec.cluster).await,
            Some(StackStatus::CreateComplete)
        );
        stack_id
    }
}

fn name(cluster: &str) -> ClusterName {
    ClusterName::parse(cluster).unwrap()
}

fn spec(cluster: &str, nodes: u32) -> StackSpec {
    StackSpec {
        cluster: name(cluster),
        node_capacity: NodeCapacity::new(nodes),
        version: Version::latest(),
        is_public: false,
        owner: "alice".into(),
    }
}

/// `(LogicalResourceId, ResourceStatus)` of events, oldest first.
fn story(events: &[StackEvent]) -> Vec<(&str, &str)> {
    events
        .iter()
        .rev()
        .map(|e| (e.logical_resource_id.as_str(), e.resource_status.as_str()))
        .collect()
}

const CREATE_STORY: [(&str, &str); 16] = [
    ("alpha-cluster", "CREATE_IN_PROGRESS"),
    ("SecurityGroup", "CREATE_IN_PROGRESS"),
    ("SecurityGroup", "CREATE_COMPLETE"),
    ("LoadBalancerLaunchTemplate", "CREATE_IN_PROGRESS"),
    ("LoadBalancerLaunchTemplate", "CREATE_COMPLETE"),
    ("LoadBalancerGroup", "CREATE_IN_PROGRESS"),
    ("LoadBalancerGroup", "CREATE_COMPLETE"),
    ("LoadBalancerAddress", "CREATE_IN_PROGRESS"),
    ("LoadBalancerAddress", "CREATE_COMPLETE"),
    ("NodeLaunchTemplate", "CREATE_IN_PROGRESS"),
    ("NodeLaunchTemplate", "CREATE_COMPLETE"),
    ("NodeGroup", "CREATE_IN_PROGRESS"),
    ("NodeGroup", "CREATE_COMPLETE"),
    ("DnsRecord", "CREATE_IN_PROGRESS"),
    ("DnsRecord", "CREATE_COMPLETE"),
    ("alpha-cluster", "CREATE_COMPLETE"),
];
