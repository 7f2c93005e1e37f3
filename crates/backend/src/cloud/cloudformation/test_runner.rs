//! The test runner on CloudFormation: the stack `testrunner` from the bundled
//! `deploy/testrunner.yaml`, in the first of `provisioner.parameters.SubnetIds`, writing its
//! summary to `provisioner.project_bucket`.

use aws_sdk_cloudformation::types::{Capability, Parameter, Tag};
use sliderule_protocol::provisioner::{Branch, test_runner};

use super::errors::AwsFailure;
use super::{CloudFormationCloud, convert};
use crate::cloud::{CloudError, TAG_DEPLOYMENT, TAG_TEST_BRANCH, TestRun, TestRunSpec};

/// The bundled test-runner template (`deploy/testrunner.yaml`).
pub const TEST_RUNNER_TEMPLATE: &str = include_str!("../../../../../deploy/testrunner.yaml");

impl CloudFormationCloud {
    pub(super) async fn create_test_run(&self, spec: &TestRunSpec) -> Result<String, CloudError> {
        let bucket = self.settings.project_bucket.clone().ok_or_else(|| {
            CloudError::Unavailable(
                "the test runner needs provisioner.project_bucket (where it writes summaries)"
                    .into(),
            )
        })?;
        let subnet = self
            .settings
            .parameters
            .get("SubnetIds")
            .and_then(|ids| ids.split(',').next())
            .map(str::to_owned)
            .ok_or_else(|| {
                CloudError::Unavailable(
                    "the test runner needs provisioner.parameters.SubnetIds".into(),
                )
            })?;
        let s = spec.started;
        let date = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            s.year(),
            u8::from(s.month()),
            s.day(),
            s.hour(),
            s.minute(),
            s.second()
        );
        let parameters = [
            ("Branch", spec.branch.as_str().to_owned()),
            ("DeployDate", date),
            ("ProjectBucket", bucket),
            ("SubnetId", subnet),
        ]
        .into_iter()
        .map(|(key, value)| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        })
        .collect::<Vec<_>>();
        let tags = [
            (TAG_TEST_BRANCH, spec.branch.as_str()),
            (TAG_DEPLOYMENT, self.settings.deployment.as_str()),
        ]
        .into_iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Vec<_>>();
        let answer = self
            .cloudformation
            .create_stack()
            .stack_name(test_runner::STACK_NAME)
            .template_body(TEST_RUNNER_TEMPLATE)
            .set_parameters(Some(parameters))
            .set_tags(Some(tags))
            .capabilities(Capability::CapabilityIam)
            .client_request_token(Self::request_token())
            .send()
            .await
            .map_err(|err| {
                AwsFailure::from_sdk("CloudFormation", "CreateStack", err).into_cloud_error()
            })?;
        answer.stack_id().map(str::to_owned).ok_or_else(|| {
            CloudError::Unavailable("AWS CloudFormation CreateStack returned no stack id".into())
        })
    }

    pub(super) async fn describe_test_run(&self) -> Result<Option<TestRun>, CloudError> {
        let Some(described) = self.describe_raw(test_runner::STACK_NAME).await? else {
            return Ok(None);
        };
        let branch = convert::parameter(&described, "Branch").and_then(|b| Branch::parse(b).ok());
        let stack = convert::stack(&described).map_err(CloudError::Unavailable)?;
        Ok(Some(TestRun { branch, stack }))
    }
}
