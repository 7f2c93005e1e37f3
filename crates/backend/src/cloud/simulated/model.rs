//! What the simulated driver stores for each stack (as JSON in the store's `simulated_stacks`
//! rows): who and what it is, and the operations asked of it, each with its start time, its step
//! delay and its parameters. Nothing else is stored: statuses, events and node counts are derived
//! from these at the time they are asked for (see `timeline`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};
use time::OffsetDateTime;

use super::resources::{RESOURCES, Resource, TEST_RUNNER_RESOURCES, USER_NODE_RESOURCES};
use crate::cloud::StackSpec;

/// The parameters a stack runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Parameters {
    pub(super) node_capacity: NodeCapacity,
    pub(super) version: Version,
    pub(super) is_public: bool,
}

impl From<&StackSpec> for Parameters {
    fn from(spec: &StackSpec) -> Self {
        Self {
            node_capacity: spec.node_capacity,
            version: spec.version.clone(),
            is_public: spec.is_public,
        }
    }
}

/// What was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum OperationKind {
    /// `fails`: the node group fails to create and the stack rolls back (the test knob).
    Create {
        parameters: Parameters,
        #[serde(default)]
        fails: bool,
    },
    Update {
        parameters: Parameters,
    },
    Delete,
}

/// One operation and when it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Operation {
    #[serde(with = "time::serde::rfc3339")]
    pub(super) started_at: OffsetDateTime,
    /// The step delay when it started: kept with the operation so a restart with another delay
    /// does not rewrite the past.
    pub(super) step_ms: u64,
    pub(super) kind: OperationKind,
}

impl Operation {
    pub(super) fn step(&self) -> Duration {
        Duration::from_millis(self.step_ms)
    }

    /// When its `tick`th step happens. Saturates (a step too long to add is "never").
    pub(super) fn at_tick(&self, tick: u32) -> OffsetDateTime {
        self.step()
            .checked_mul(tick)
            .and_then(|offset| time::Duration::try_from(offset).ok())
            .and_then(|offset| self.started_at.checked_add(offset))
            .unwrap_or_else(far_future)
    }
}

/// A time later than any operation's.
fn far_future() -> OffsetDateTime {
    time::PrimitiveDateTime::MAX.assume_utc()
}

/// A simulated stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredStack {
    pub(super) stack_id: String,
    pub(super) stack_name: String,
    pub(super) cluster: ClusterName,
    /// For a node group's stack (`deploy/user-nodes.yaml`): whose it is. Absent for a cluster's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) user: Option<String>,
    /// For the test runner's stack: the branch it tests. Absent for others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) test_branch: Option<String>,
    /// Its `sliderule:deployment` tag.
    pub(super) deployment: String,
    /// Its `sliderule:owner` tag.
    pub(super) owner: String,
    /// `<cluster>.<domain>`: the DNS record's name.
    pub(super) host: String,
    /// Oldest first; the first is the create.
    pub(super) operations: Vec<Operation>,
}

/// The store key of `user`'s node group on `cluster` (a cluster's own stack is keyed by its
/// name, which has no `/`).
pub(super) fn node_group_key(cluster: &ClusterName, user: &str) -> String {
    format!("{cluster}/{user}")
}

/// The store key of the test runner's latest run of `branch` (each branch keeps its last run,
/// whose summary `/report/tests` reads).
pub(super) fn test_run_key(branch: &str) -> String {
    format!("{TEST_RUN_PREFIX}{branch}")
}

/// What every test run's key starts with (no cluster name has a `/`).
pub(super) const TEST_RUN_PREFIX: &str = "testrunner/";

impl StoredStack {
    /// Its key in the store's `simulated_stacks`.
    pub(super) fn key(&self) -> String {
        match (&self.user, &self.test_branch) {
            (Some(user), _) => node_group_key(&self.cluster, user),
            (None, Some(branch)) => test_run_key(branch),
            (None, None) => self.cluster.as_str().to_owned(),
        }
    }

    /// Its template's resources, in creation order.
    pub(super) fn resources(&self) -> &'static [Resource] {
        if self.user.is_some() {
            &USER_NODE_RESOURCES
        } else if self.test_branch.is_some() {
            &TEST_RUNNER_RESOURCES
        } else {
            &RESOURCES
        }
    }

    /// When the stack was created (its first operation).
    pub(super) fn created_at(&self) -> Option<OffsetDateTime> {
        self.operations.first().map(|op| op.started_at)
    }

    /// The parameters of the latest create or update.
    pub(super) fn parameters(&self) -> Option<&Parameters> {
        self.operations.iter().rev().find_map(|op| match &op.kind {
            OperationKind::Create { parameters, .. } | OperationKind::Update { parameters } => {
                Some(parameters)
            }
            OperationKind::Delete => None,
        })
    }

    /// When the latest update started, if any has by `now`.
    pub(super) fn last_updated_at(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.operations
            .iter()
            .rev()
            .filter(|op| op.started_at <= now)
            .find(|op| matches!(op.kind, OperationKind::Update { .. }))
            .map(|op| op.started_at)
    }
}
