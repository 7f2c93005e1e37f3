//! Where clusters run: one trait, [`Cloud`], with two drivers chosen by configuration —
//! [`cloudformation`] (AWS CloudFormation, production; tested against moto) and [`simulated`]
//! (durable in the store, for the demo and the browser tests). The provisioner only speaks to the
//! trait, and one driver test suite runs against both.
//!
//! A cluster `c` is the stack `c-cluster`. Stacks are tagged `sliderule:cluster`,
//! `sliderule:owner` and `sliderule:deployment`, so a deployment can find the stacks it manages
//! (and adopt ones it has no record of).

pub mod cloudformation;
pub mod driver;
pub mod s3;
pub mod simulated;

use async_trait::async_trait;
use sliderule_protocol::provisioner::Branch;
use sliderule_protocol::provisioner::{StackEvent, StackInfo, StackStatus};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};

/// Tag naming the cluster a stack is.
pub const TAG_CLUSTER: &str = "sliderule:cluster";
/// Tag naming the login that deployed it.
pub const TAG_OWNER: &str = "sliderule:owner";
/// Tag of a node group's stack naming whose it is (a cluster's stack has none).
pub const TAG_USER: &str = "sliderule:user";
/// Tag of the test runner's stack naming the branch it tests.
pub const TAG_TEST_BRANCH: &str = "sliderule:test-branch";
/// Tag naming the deployment (one backend installation) that manages it.
pub const TAG_DEPLOYMENT: &str = "sliderule:deployment";

/// The name of the stack of `cluster`: `<cluster>-cluster`, as upstream named them.
pub fn stack_name(cluster: &ClusterName) -> String {
    format!("{cluster}-cluster")
}

/// What a stack is asked to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    pub cluster: ClusterName,
    pub node_capacity: NodeCapacity,
    pub version: Version,
    pub is_public: bool,
    /// The login that deployed it (tag `sliderule:owner`).
    pub owner: String,
}

/// What a person's node group is asked to be: `user`'s own nodes attached to `cluster`, the
/// stack `<cluster>-cluster-<user>-asg` (see `protocol::provisioner::node_groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupSpec {
    pub cluster: ClusterName,
    pub user: String,
    pub node_capacity: NodeCapacity,
}

/// A test run to start (provisioner.md, "Test runner").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunSpec {
    pub branch: Branch,
    /// Its `DeployDate`.
    pub started: time::OffsetDateTime,
}

/// The test runner's stack as the cloud describes it now, with the branch it tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    pub branch: Option<Branch>,
    pub stack: Stack,
}

/// Where test summaries are read (`s3://<project_bucket>/testrunner/<branch>-summary.json`, or
/// the simulated cloud's runs).
#[async_trait]
pub trait TestSummaries: Send + Sync + 'static {
    /// The branch's latest summary, as the run wrote it; `None` when it has none.
    async fn summary(&self, branch: &Branch) -> Result<Option<serde_json::Value>, CloudError>;
}

/// A stack as the cloud describes it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The stack's id (an ARN on AWS): events are read by id, so they survive the stack.
    pub stack_id: String,
    /// Name, status, reason and times, as the wire's `response` carries them.
    pub info: StackInfo,
    /// The parameters it runs with now.
    pub node_capacity: Option<NodeCapacity>,
    pub version: Option<Version>,
    pub is_public: Option<bool>,
    /// Its `sliderule:owner` tag.
    pub owner: Option<String>,
    /// Its public address (the `LoadBalancerAddress` output), once it has one.
    pub address: Option<String>,
}

impl Stack {
    pub fn status(&self) -> &StackStatus {
        &self.info.stack_status
    }
}

/// A stack this deployment manages (tagged with its deployment id), as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedStack {
    pub cluster: ClusterName,
    pub stack_id: String,
    pub status: StackStatus,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The cloud refused because of the stack's state (it exists already, an operation is in
    /// progress, it is being deleted).
    #[error("{0}")]
    Conflict(String),
    /// The cloud failed or could not be reached; the message is what it said.
    #[error("{0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Cloud: Send + Sync + 'static {
    /// Starts creating the stack of `spec.cluster`; returns its id. A stack that exists already
    /// (not deleted) is [`CloudError::Conflict`].
    async fn create_stack(&self, spec: &StackSpec) -> Result<String, CloudError>;

    /// Starts updating the stack to `spec` (capacity, version). Nothing to change is `Ok`. A
    /// stack that is busy is [`CloudError::Conflict`].
    async fn update_stack(&self, spec: &StackSpec) -> Result<(), CloudError>;

    /// Starts deleting the cluster's stack. No stack (or one already being deleted) is `Ok`.
    async fn delete_stack(&self, cluster: &ClusterName) -> Result<(), CloudError>;

    /// The cluster's stack, or `None` when there is none (or only a deleted one).
    async fn describe_stack(&self, cluster: &ClusterName) -> Result<Option<Stack>, CloudError>;

    /// Events of a stack by id (also after it was deleted), newest first.
    async fn stack_events(&self, stack_id: &str) -> Result<Vec<StackEvent>, CloudError>;

    /// Nodes of the cluster that are up now (0 when there is no stack).
    async fn current_nodes(&self, cluster: &ClusterName) -> Result<u32, CloudError>;

    /// Every live stack tagged with this deployment's id.
    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError>;

    // Per-user node groups. Both drivers have them; the defaults serve wrappers and test
    // doubles that do not (a node group asked of them fails as the cloud failing would).

    /// Starts creating `spec.user`'s node group on `spec.cluster`, whose stack must be running;
    /// returns its stack id. One that exists already is [`CloudError::Conflict`].
    async fn create_node_group(&self, spec: &NodeGroupSpec) -> Result<String, CloudError> {
        Err(no_node_groups(&spec.cluster))
    }

    /// Starts resizing the node group. Nothing to change is `Ok`; a busy stack is
    /// [`CloudError::Conflict`].
    async fn update_node_group(&self, spec: &NodeGroupSpec) -> Result<(), CloudError> {
        Err(no_node_groups(&spec.cluster))
    }

    /// Starts deleting the node group's stack. No stack (or one being deleted) is `Ok`.
    async fn delete_node_group(
        &self,
        _cluster: &ClusterName,
        _user: &str,
    ) -> Result<(), CloudError> {
        Ok(())
    }

    /// The node group's stack, or `None` when there is none (or only a deleted one).
    async fn describe_node_group(
        &self,
        _cluster: &ClusterName,
        _user: &str,
    ) -> Result<Option<Stack>, CloudError> {
        Ok(None)
    }

    /// The node group's nodes that are up now (0 when there is no stack).
    async fn node_group_nodes(
        &self,
        _cluster: &ClusterName,
        _user: &str,
    ) -> Result<u32, CloudError> {
        Ok(0)
    }

    // The test runner (one stack, `testrunner`). Both drivers have it; the defaults serve
    // wrappers and test doubles that do not.

    /// Starts the test runner's stack for `spec.branch`; returns its id. One that exists
    /// already is [`CloudError::Conflict`].
    async fn create_test_runner(&self, _spec: &TestRunSpec) -> Result<String, CloudError> {
        Err(CloudError::Unavailable(
            "this cloud driver has no test runner".into(),
        ))
    }

    /// The test runner's stack, or `None` when there is none (or only a deleted one).
    async fn describe_test_runner(&self) -> Result<Option<TestRun>, CloudError> {
        Ok(None)
    }

    /// Starts deleting the test runner's stack. None is `Ok`.
    async fn delete_test_runner(&self) -> Result<(), CloudError> {
        Ok(())
    }

    /// The stacks of many clusters with their node counts (for reports): `None` for a cluster
    /// without a stack. Drivers that can answer in one call override this; the default asks
    /// cluster by cluster.
    async fn describe_many(
        &self,
        clusters: &[ClusterName],
    ) -> Result<Vec<(Option<Stack>, u32)>, CloudError> {
        let mut described = Vec::with_capacity(clusters.len());
        for cluster in clusters {
            let stack = self.describe_stack(cluster).await?;
            let nodes = match &stack {
                Some(stack) if stack.status().state().is_live() => {
                    self.current_nodes(cluster).await?
                }
                _ => 0,
            };
            described.push((stack, nodes));
        }
        Ok(described)
    }
}

fn no_node_groups(cluster: &ClusterName) -> CloudError {
    CloudError::Unavailable(format!(
        "this cloud driver cannot attach node groups to {cluster}"
    ))
}

/// `message` from AWS without what identifies the account: every ARN becomes the resource's
/// name (`arn:aws:cloudformation:…:stack/bob-cluster/<id>` → `bob-cluster`), and any other
/// 12-digit number (an account id) becomes `<account>`. For messages that reach callers; the
/// logs keep the original.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("arn:") {
        out.push_str(&rest[..start]);
        let arn = &rest[start..];
        let end = arn
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ']' | ')' | ','))
            .unwrap_or(arn.len());
        out.push_str(arn_resource_name(&arn[..end]));
        rest = &arn[end..];
    }
    out.push_str(rest);
    hide_account_ids(&out)
}

/// The resource's name in an ARN: for `…:stack/<name>/<id>` the name, else the last segment.
fn arn_resource_name(arn: &str) -> &str {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    let mut parts = resource.split('/');
    match (parts.next(), parts.next()) {
        (Some(_kind), Some(name)) if !name.is_empty() => name,
        (Some(only), _) if !only.is_empty() => only,
        _ => "(a resource)",
    }
}

fn hide_account_ids(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 12 {
            out.push_str("<account>");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in message.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod redaction_tests {
    use super::redact;

    #[test]
    fn stack_arns_and_account_ids_are_left_out_of_messages_for_callers() {
        let message = "Stack:arn:aws:cloudformation:us-west-2:123456789012:stack/bob-cluster/\
                       1f2e-33 is in UPDATE_IN_PROGRESS state and can not be deleted.";
        assert_eq!(
            redact(message),
            "Stack:bob-cluster is in UPDATE_IN_PROGRESS state and can not be deleted."
        );
        assert_eq!(
            redact("User: arn:aws:iam::123456789012:user/ci is not authorized"),
            "User: ci is not authorized"
        );
        assert_eq!(
            redact("account 123456789012 has no access"),
            "account <account> has no access"
        );
        // Other numbers stay.
        assert_eq!(
            redact("Rate exceeded (429) after 3 tries"),
            "Rate exceeded (429) after 3 tries"
        );
    }
}
