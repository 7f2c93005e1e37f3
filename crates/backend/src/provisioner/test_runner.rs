//! The test runner (provisioner.md, "Test runner"): `/test` (owners) starts one run of
//! SlideRule's tests for a branch as the stack `testrunner`; a second while one runs is 409.
//! The reaper deletes the stack `provisioner.test_runner_ttl_mins` after it started (its
//! deadline is its creation time plus that, so nothing needs recording). `/report/tests`
//! (members) reads the branch's latest summary where the run wrote it.

use serde_json::json;
use sliderule_protocol::provisioner::{
    BranchRequest, ClusterState, TestRunStarted, test_runner::STACK_NAME,
};
use sliderule_protocol::{ClusterName, codes};
use time::OffsetDateTime;

use super::Provisioner;
use super::caller::Caller;
use super::error::ProvisionerError;
use crate::cloud::{CloudError, TestRunSpec};

fn under_way(branch: Option<&str>, started: OffsetDateTime) -> ProvisionerError {
    ProvisionerError::Conflict {
        code: codes::OPERATION_IN_PROGRESS,
        description: format!(
            "a test run{} started at {} is under way: one runs at a time; try again once it is done",
            branch.map(|b| format!(" of {b}")).unwrap_or_default(),
            super::audit::time(started)
        ),
    }
}

impl Provisioner {
    /// `/test`: starts a run of `request`'s branch (`main` by default).
    pub async fn start_test_run(
        &self,
        caller: &Caller,
        request: &BranchRequest,
    ) -> Result<TestRunStarted, ProvisionerError> {
        caller.must_be_owner("the test runner")?;
        let branch = request.branch();
        if let Some(run) = self.cloud.describe_test_runner().await? {
            return Err(under_way(
                run.branch.as_ref().map(|b| b.as_str()),
                run.stack.info.creation_time,
            ));
        }
        let now = self.clock.now();
        let spec = TestRunSpec {
            branch: branch.clone(),
            started: now,
        };
        let created = self.cloud.create_test_runner(&spec).await;
        let cluster = runner_name()?;
        let parameters = json!({ "branch": branch.as_str() });
        match created {
            Ok(stack_id) => {
                self.audit(
                    caller.login(),
                    "test",
                    &cluster,
                    json!({ "branch": branch.as_str(), "stack_id": stack_id }),
                    Ok(()),
                )
                .await;
                Ok(TestRunStarted {
                    status: sliderule_protocol::marker::True,
                    branch,
                    stack_name: STACK_NAME.to_owned(),
                    state: ClusterState::Deploying,
                    started: now,
                    auto_shutdown: now + self.test_runner_ttl,
                })
            }
            // Another request (or replica) started one between our look and our create.
            Err(CloudError::Conflict(_)) => Err(under_way(None, now)),
            Err(error) => {
                self.audit(
                    caller.login(),
                    "test",
                    &cluster,
                    parameters,
                    Err(&error.to_string()),
                )
                .await;
                Err(error.into())
            }
        }
    }

    /// `/report/tests`: the branch's latest summary, as the run wrote it.
    pub async fn test_summary(
        &self,
        request: &BranchRequest,
    ) -> Result<serde_json::Value, ProvisionerError> {
        let branch = request.branch();
        let summaries = self.summaries.as_ref().ok_or_else(|| {
            ProvisionerError::DoesNotExist(
                "this service keeps no test summaries (provisioner.project_bucket is not set)"
                    .into(),
            )
        })?;
        summaries.summary(&branch).await?.ok_or_else(|| {
            ProvisionerError::DoesNotExist(format!("branch {branch} has no test summary"))
        })
    }

    /// The reaper's part for the test runner: deletes its stack once its time is up. Returns
    /// when that is, while it runs.
    pub async fn sweep_test_runner(&self) -> Result<Option<OffsetDateTime>, ProvisionerError> {
        let Some(run) = self.cloud.describe_test_runner().await? else {
            return Ok(None);
        };
        if run.stack.status().state() == ClusterState::Destroying {
            return Ok(None);
        }
        let deadline = run.stack.info.creation_time + self.test_runner_ttl;
        if deadline > self.clock.now() {
            return Ok(Some(deadline));
        }
        self.cloud.delete_test_runner().await?;
        tracing::info!(branch = ?run.branch, "reaper: the test runner's time is up; deleting it");
        self.audit(
            super::reaper::ACTOR,
            "reap",
            &runner_name()?,
            json!({ "stack_id": run.stack.stack_id, "branch": run.branch.map(|b| b.to_string()) }),
            Ok(()),
        )
        .await;
        Ok(None)
    }
}

/// The audit log's name for the test runner.
fn runner_name() -> Result<ClusterName, ProvisionerError> {
    ClusterName::parse(STACK_NAME).map_err(|e| ProvisionerError::Internal(e.into()))
}
