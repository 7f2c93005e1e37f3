//! Latencies and outcomes of the calls we make to GitHub and to the cloud, per operation, for
//! `/metrics`: `sliderule_github_call_duration_seconds{operation}`,
//! `sliderule_github_calls_total{operation,outcome}`, and the same as `sliderule_cloud_…` with
//! a `driver` label (with `cloudformation`, each operation is one or a few AWS API calls;
//! `costexplorer` is Cost Explorer's `GetCostAndUsage`).
//!
//! [`MeteredGitHub`] and [`MeteredCloud`] wrap the real implementations (or the emulator, or
//! moto's driver in tests), so every caller is measured without knowing it.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sliderule_protocol::provisioner::StackEvent;
use sliderule_protocol::{ClusterName, Usd};

use crate::budgets::cost_explorer::{CostError, CostSource};
use crate::cloud::{
    Cloud, CloudError, ManagedStack, NodeGroupSpec, Stack, StackSpec, TestRun, TestRunSpec,
};
use crate::github::{
    DeviceCode, DevicePoll, GitHub, GitHubError, GitHubToken, GitHubUser, Membership,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    driver: String,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    driver: String,
    operation: &'static str,
    /// `ok`, `refused` (the other side said no: a bad token, a busy stack) or `failed`.
    outcome: &'static str,
}

fn call_histogram() -> Histogram {
    // 1 ms .. ~30 s
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// One family of call metrics (GitHub's, or the cloud's).
#[derive(Clone)]
pub struct CallMetrics {
    durations: Family<CallLabels, Histogram, fn() -> Histogram>,
    outcomes: Family<OutcomeLabels, Counter>,
}

impl CallMetrics {
    /// Registers `<prefix>_call_duration_seconds` and `<prefix>_calls_total`.
    pub fn register(registry: &mut Registry, prefix: &str, whom: &str) -> Self {
        let durations = Family::<CallLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            call_histogram,
        );
        registry.register(
            format!("{prefix}_call_duration_seconds"),
            format!("Latency of calls to {whom}, by operation"),
            durations.clone(),
        );
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            format!("{prefix}_calls"),
            format!("Calls to {whom} by operation and outcome (ok, refused, failed)"),
            outcomes.clone(),
        );
        Self {
            durations,
            outcomes,
        }
    }

    /// Runs `call`, recording its latency and how it ended (`classify` names a failure).
    async fn measure<T, E>(
        &self,
        driver: &str,
        operation: &'static str,
        classify: fn(&E) -> &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = call.await;
        self.durations
            .get_or_create(&CallLabels {
                driver: driver.to_owned(),
                operation,
            })
            .observe(started.elapsed().as_secs_f64());
        let outcome = result.as_ref().map_or_else(classify, |_| "ok");
        self.outcomes
            .get_or_create(&OutcomeLabels {
                driver: driver.to_owned(),
                operation,
                outcome,
            })
            .inc();
        result
    }
}

fn github_outcome(error: &GitHubError) -> &'static str {
    match error {
        GitHubError::InvalidToken | GitHubError::Refused { .. } => "refused",
        GitHubError::Unavailable(_) => "failed",
    }
}

fn cloud_outcome(error: &CloudError) -> &'static str {
    match error {
        CloudError::Conflict(_) => "refused",
        CloudError::Unavailable(_) => "failed",
    }
}

/// GitHub, measured.
pub struct MeteredGitHub {
    inner: Arc<dyn GitHub>,
    metrics: CallMetrics,
    /// `github` or `emulator`.
    driver: String,
}

impl MeteredGitHub {
    pub fn wrap(inner: Arc<dyn GitHub>, metrics: CallMetrics, driver: &str) -> Arc<dyn GitHub> {
        Arc::new(Self {
            inner,
            metrics,
            driver: driver.to_owned(),
        })
    }
}

#[async_trait]
impl GitHub for MeteredGitHub {
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<GitHubToken, GitHubError> {
        let call = self.inner.exchange_code(code, redirect_uri);
        self.metrics
            .measure(&self.driver, "exchange_code", github_outcome, call)
            .await
    }

    async fn request_device_code(&self, scope: &str) -> Result<DeviceCode, GitHubError> {
        let call = self.inner.request_device_code(scope);
        self.metrics
            .measure(&self.driver, "request_device_code", github_outcome, call)
            .await
    }

    async fn poll_device_code(&self, device_code: &str) -> Result<DevicePoll, GitHubError> {
        let call = self.inner.poll_device_code(device_code);
        self.metrics
            .measure(&self.driver, "poll_device_code", github_outcome, call)
            .await
    }

    async fn user(&self, token: &str) -> Result<GitHubUser, GitHubError> {
        let call = self.inner.user(token);
        self.metrics
            .measure(&self.driver, "user", github_outcome, call)
            .await
    }

    async fn membership(
        &self,
        token: &str,
        org: &str,
        login: &str,
    ) -> Result<Membership, GitHubError> {
        let call = self.inner.membership(token, org, login);
        self.metrics
            .measure(&self.driver, "membership", github_outcome, call)
            .await
    }

    async fn teams(&self, token: &str, org: &str) -> Result<Vec<String>, GitHubError> {
        let call = self.inner.teams(token, org);
        self.metrics
            .measure(&self.driver, "teams", github_outcome, call)
            .await
    }
}

/// The cloud, measured.
pub struct MeteredCloud {
    inner: Arc<dyn Cloud>,
    metrics: CallMetrics,
    /// `cloudformation` or `simulated`.
    driver: String,
}

impl MeteredCloud {
    pub fn wrap(inner: Arc<dyn Cloud>, metrics: CallMetrics, driver: &str) -> Arc<dyn Cloud> {
        Arc::new(Self {
            inner,
            metrics,
            driver: driver.to_owned(),
        })
    }
}

#[async_trait]
impl Cloud for MeteredCloud {
    async fn create_stack(&self, spec: &StackSpec) -> Result<String, CloudError> {
        let call = self.inner.create_stack(spec);
        self.metrics
            .measure(&self.driver, "create_stack", cloud_outcome, call)
            .await
    }

    async fn update_stack(&self, spec: &StackSpec) -> Result<(), CloudError> {
        let call = self.inner.update_stack(spec);
        self.metrics
            .measure(&self.driver, "update_stack", cloud_outcome, call)
            .await
    }

    async fn delete_stack(&self, cluster: &ClusterName) -> Result<(), CloudError> {
        let call = self.inner.delete_stack(cluster);
        self.metrics
            .measure(&self.driver, "delete_stack", cloud_outcome, call)
            .await
    }

    async fn describe_stack(&self, cluster: &ClusterName) -> Result<Option<Stack>, CloudError> {
        let call = self.inner.describe_stack(cluster);
        self.metrics
            .measure(&self.driver, "describe_stack", cloud_outcome, call)
            .await
    }

    async fn stack_events(&self, stack_id: &str) -> Result<Vec<StackEvent>, CloudError> {
        let call = self.inner.stack_events(stack_id);
        self.metrics
            .measure(&self.driver, "stack_events", cloud_outcome, call)
            .await
    }

    async fn current_nodes(&self, cluster: &ClusterName) -> Result<u32, CloudError> {
        let call = self.inner.current_nodes(cluster);
        self.metrics
            .measure(&self.driver, "current_nodes", cloud_outcome, call)
            .await
    }

    async fn create_node_group(&self, spec: &NodeGroupSpec) -> Result<String, CloudError> {
        let call = self.inner.create_node_group(spec);
        self.metrics
            .measure(&self.driver, "create_node_group", cloud_outcome, call)
            .await
    }

    async fn update_node_group(&self, spec: &NodeGroupSpec) -> Result<(), CloudError> {
        let call = self.inner.update_node_group(spec);
        self.metrics
            .measure(&self.driver, "update_node_group", cloud_outcome, call)
            .await
    }

    async fn delete_node_group(&self, cluster: &ClusterName, user: &str) -> Result<(), CloudError> {
        let call = self.inner.delete_node_group(cluster, user);
        self.metrics
            .measure(&self.driver, "delete_node_group", cloud_outcome, call)
            .await
    }

    async fn describe_node_group(
        &self,
        cluster: &ClusterName,
        user: &str,
    ) -> Result<Option<Stack>, CloudError> {
        let call = self.inner.describe_node_group(cluster, user);
        self.metrics
            .measure(&self.driver, "describe_node_group", cloud_outcome, call)
            .await
    }

    async fn node_group_nodes(&self, cluster: &ClusterName, user: &str) -> Result<u32, CloudError> {
        let call = self.inner.node_group_nodes(cluster, user);
        self.metrics
            .measure(&self.driver, "node_group_nodes", cloud_outcome, call)
            .await
    }

    async fn create_test_runner(&self, spec: &TestRunSpec) -> Result<String, CloudError> {
        let call = self.inner.create_test_runner(spec);
        self.metrics
            .measure(&self.driver, "create_test_runner", cloud_outcome, call)
            .await
    }

    async fn describe_test_runner(&self) -> Result<Option<TestRun>, CloudError> {
        let call = self.inner.describe_test_runner();
        self.metrics
            .measure(&self.driver, "describe_test_runner", cloud_outcome, call)
            .await
    }

    async fn delete_test_runner(&self) -> Result<(), CloudError> {
        let call = self.inner.delete_test_runner();
        self.metrics
            .measure(&self.driver, "delete_test_runner", cloud_outcome, call)
            .await
    }

    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError> {
        let call = self.inner.managed_stacks();
        self.metrics
            .measure(&self.driver, "managed_stacks", cloud_outcome, call)
            .await
    }

    async fn describe_many(
        &self,
        clusters: &[ClusterName],
    ) -> Result<Vec<(Option<Stack>, u32)>, CloudError> {
        // The inner driver's own (perhaps single-call) answer, measured as one operation.
        let call = self.inner.describe_many(clusters);
        self.metrics
            .measure(&self.driver, "describe_many", cloud_outcome, call)
            .await
    }
}

/// Cost Explorer, measured with the cloud's calls (driver `costexplorer`).
pub struct MeteredCosts {
    inner: Arc<dyn CostSource>,
    metrics: CallMetrics,
}

impl MeteredCosts {
    pub fn wrap(inner: Arc<dyn CostSource>, metrics: CallMetrics) -> Arc<dyn CostSource> {
        Arc::new(Self { inner, metrics })
    }
}

fn cost_outcome(_: &CostError) -> &'static str {
    "failed"
}

#[async_trait]
impl CostSource for MeteredCosts {
    async fn daily_costs(&self, day: time::Date) -> Result<Vec<(String, Usd)>, CostError> {
        let call = self.inner.daily_costs(day);
        self.metrics
            .measure("costexplorer", "get_cost_and_usage", cost_outcome, call)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use prometheus_client::registry::Registry;
    use sliderule_protocol::provisioner::{Branch, ClusterState};
    use sliderule_protocol::{ClusterName, NodeCapacity, Version};

    use super::*;
    use crate::clock::{Clock as _, ManualClock};
    use crate::cloud::NodeGroupSpec;
    use crate::cloud::simulated::SimulatedCloud;
    use crate::store::SqliteStore;

    /// The trait's defaults answer "not supported" or "nothing": a wrapper that forgot to
    /// forward an operation would silently hide the driver's. Each one reaches the driver.
    #[tokio::test]
    async fn the_metered_cloud_forwards_node_groups_and_the_test_runner_to_its_driver() {
        let clock = Arc::new(ManualClock::new());
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let step = Duration::from_secs(1);
        let driver = SimulatedCloud::new(store, clock.clone(), step, "test");
        let metrics = CallMetrics::register(&mut Registry::default(), "cloud", "the cloud");
        let cloud = MeteredCloud::wrap(Arc::new(driver), metrics, "simulated");

        let cluster = ClusterName::parse("host").unwrap();
        let spec = StackSpec {
            cluster: cluster.clone(),
            node_capacity: NodeCapacity::new(1),
            version: Version::latest(),
            is_public: false,
            owner: "alice".into(),
        };
        cloud.create_stack(&spec).await.unwrap();
        let running = || async {
            cloud
                .describe_stack(&cluster)
                .await
                .unwrap()
                .is_some_and(|s| s.status().state() == ClusterState::Running)
        };
        for _ in 0..60 {
            if running().await {
                break;
            }
            clock.advance(step);
        }
        assert!(running().await);
        let group = NodeGroupSpec {
            cluster: cluster.clone(),
            user: "bob".into(),
            node_capacity: NodeCapacity::new(2),
        };
        cloud.create_node_group(&group).await.unwrap();
        // The driver's own answer (busy), not the trait's default ("cannot attach").
        let busy = cloud.update_node_group(&group).await;
        assert!(matches!(busy, Err(CloudError::Conflict(_))), "{busy:?}");
        assert!(
            cloud
                .describe_node_group(&cluster, "bob")
                .await
                .unwrap()
                .is_some()
        );
        for _ in 0..60 {
            clock.advance(step);
        }
        assert_eq!(cloud.node_group_nodes(&cluster, "bob").await.unwrap(), 2);
        cloud.delete_node_group(&cluster, "bob").await.unwrap();

        let run = TestRunSpec {
            branch: Branch::default(),
            started: clock.now(),
        };
        cloud.create_test_runner(&run).await.unwrap();
        assert!(cloud.describe_test_runner().await.unwrap().is_some());
        cloud.delete_test_runner().await.unwrap();
        for _ in 0..60 {
            clock.advance(step);
        }
        assert!(cloud.describe_test_runner().await.unwrap().is_none());
        assert!(
            cloud
                .describe_node_group(&cluster, "bob")
                .await
                .unwrap()
                .is_none()
        );
    }
}
