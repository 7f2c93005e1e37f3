//! The simulated test runner: a run is a stack `testrunner` of one instance, stored under
//! `testrunner/<branch>` (each branch keeps its latest run), and its summary is derived from
//! the clock like everything else here: it exists once the run's steps have passed.

use async_trait::async_trait;
use sliderule_protocol::provisioner::{Branch, StackStatus, test_runner};
use sliderule_protocol::{ClusterName, Version};
use time::OffsetDateTime;

use super::model::{
    Operation, OperationKind, Parameters, StoredStack, TEST_RUN_PREFIX, test_run_key,
};
use super::timeline::Timeline;
use super::{ARN_PREFIX, SimulatedCloud, parse, unavailable};
use crate::cloud::{CloudError, TestRunSpec, TestSummaries};

impl SimulatedCloud {
    /// A test run's new stack.
    pub(super) fn new_test_run(
        &self,
        spec: &TestRunSpec,
        now: OffsetDateTime,
    ) -> Result<StoredStack, CloudError> {
        let cluster = ClusterName::parse(test_runner::STACK_NAME)
            .map_err(|e| CloudError::Unavailable(e.to_string()))?;
        let create = OperationKind::Create {
            parameters: Parameters {
                node_capacity: sliderule_protocol::NodeCapacity::new(1),
                version: Version::latest(),
                is_public: false,
            },
            fails: false,
        };
        Ok(StoredStack {
            stack_id: format!(
                "{ARN_PREFIX}/{}/{}",
                test_runner::STACK_NAME,
                uuid::Uuid::new_v4()
            ),
            stack_name: test_runner::STACK_NAME.to_owned(),
            host: test_runner::STACK_NAME.to_owned(),
            cluster,
            user: None,
            test_branch: Some(spec.branch.as_str().to_owned()),
            deployment: self.deployment.clone(),
            owner: test_runner::STACK_NAME.to_owned(),
            operations: vec![self.operation(now, create)],
        })
    }

    /// Every test run's current stack (one per branch tested), with its timeline.
    pub(super) async fn test_runs(&self) -> Result<Vec<(StoredStack, Timeline)>, CloudError> {
        let rows = self
            .store
            .current_simulated_stacks()
            .await
            .map_err(unavailable)?;
        rows.iter()
            .filter(|row| row.cluster.starts_with(TEST_RUN_PREFIX))
            .map(parse)
            .collect()
    }

    /// The live test run, if any.
    pub(super) async fn live_test_run(
        &self,
        now: OffsetDateTime,
    ) -> Result<Option<(StoredStack, Timeline)>, CloudError> {
        Ok(self
            .test_runs()
            .await?
            .into_iter()
            .find(|(_, timeline)| timeline.status_at(now).0 != StackStatus::DeleteComplete))
    }
}

/// Steps a simulated test run takes once its instance is up, before its summary is written.
const RUN_STEPS: u32 = 20;

#[async_trait]
impl TestSummaries for SimulatedCloud {
    /// The summary of the branch's latest run, once it has finished: all passed, dated as the
    /// run started.
    async fn summary(&self, branch: &Branch) -> Result<Option<serde_json::Value>, CloudError> {
        let now = self.clock.now();
        let Some(row) = self
            .store
            .current_simulated_stack(&test_run_key(branch.as_str()))
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let (stack, timeline) = parse(&row)?;
        let Some(step) = stack.operations.first().map(Operation::step) else {
            return Ok(None);
        };
        let up = timeline.events_at(now).into_iter().find(|e| {
            e.logical_resource_id == stack.stack_name && e.resource_status == "CREATE_COMPLETE"
        });
        let finished = up.and_then(|up| {
            let run = time::Duration::try_from(step.checked_mul(RUN_STEPS)?).ok()?;
            up.timestamp.checked_add(run)
        });
        let (Some(finished), Some(started)) = (finished, stack.created_at()) else {
            return Ok(None);
        };
        if finished > now {
            return Ok(None);
        }
        Ok(Some(simulated_summary(branch, started)))
    }
}

/// A summary shaped as upstream's test runner writes it.
fn simulated_summary(branch: &Branch, started: OffsetDateTime) -> serde_json::Value {
    let date = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        started.year(),
        u8::from(started.month()),
        started.day(),
        started.hour(),
        started.minute(),
        started.second()
    );
    let suite = |passed: u32| serde_json::json!({ "state": "complete", "errors": 0, "passed": passed, "failed": 0, "skipped": 0 });
    serde_json::json!({
        "branch": branch.as_str(),
        "latest": "simulated",
        "date": date,
        "selftest": { "state": "complete", "errors": 0, "passed": 412, "failed": 0 },
        "sliderule": suite(187),
        "provisioner": suite(64),
        "ams": suite(23),
        "status": "passed",
    })
}
