//! The AWS CloudFormation driver: a cluster `c` is the stack `c-cluster`, built from the bundled
//! `deploy/cluster.yaml` (or the operator's template) and counted through its `NodeGroup`
//! auto-scaling group.
//!
//! Credentials, and everything else not in our configuration, come from the standard AWS chain
//! (environment, profile files, web identity, ECS and EC2 instance roles); `aws.endpoint_url`
//! points the driver at moto in tests. Calls retry with backoff on throttling and transient
//! failures, and idempotency tokens make a retried create, update or delete safe.
//!
//! Tested against moto 5.2 (see `tests/api/cloud_drivers.rs`). What moto does differently from
//! AWS, and how the driver and the template cope:
//! - every operation completes before the call returns, so no `*_IN_PROGRESS` status is ever
//!   seen and there are no per-resource events (the simulated driver exercises progress);
//! - `UsePreviousValue` on a parameter left at its template default is an HTTP 500: every
//!   parameter the driver knows is sent explicitly on create and update (`convert::parameters`);
//! - an identical update succeeds instead of failing with "No updates are to be performed" (AWS
//!   does the latter, which the driver treats as success either way);
//! - `LastUpdatedTime` is never set;
//! - auto-scaling instances are `InService` as soon as they exist, so [`Cloud::current_nodes`]
//!   equals the capacity at once (no fallback to the desired capacity is needed);
//! - updating an `AWS::EC2::Instance` breaks the stack, `Fn::GetAZs` answers us-east-1's zones
//!   whatever the region, `Fn::Cidr` is unknown, and a stack holding its own VPC route table
//!   cannot be deleted (moto never deletes route tables or internet gateways of a stack): so
//!   the bundled template uses auto-scaling groups only and takes its network as parameters.

mod convert;

pub use convert::CORE_PARAMETERS;
mod errors;
mod node_groups;
mod settings;
mod test_runner;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_autoscaling::types::LifecycleState;
use aws_sdk_cloudformation::types::{Capability, Stack as AwsStack};
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::{StackEvent, StackStatus};

use self::errors::{AwsFailure, Kind};
pub use self::settings::{BUNDLED_TEMPLATE, CloudFormationSettings, config_loader, read_template};
use super::{
    Cloud, CloudError, ManagedStack, NodeGroupSpec, Stack, StackSpec, TestRun, TestRunSpec,
    stack_name,
};
use crate::config::AwsConfig;
use sliderule_protocol::provisioner::node_groups::stack_name as node_group_stack;

/// The template's logical id of the nodes' auto-scaling group, whose in-service instances are
/// the cluster's current nodes. An operator's own template must keep it.
pub const NODE_GROUP: &str = "NodeGroup";

/// At most this many events are read per stack (newest first): a long-lived stack's history
/// can run to thousands, and a status page needs the recent ones.
const MAX_EVENTS: usize = 500;

/// Clusters as CloudFormation stacks.
#[derive(Clone)]
pub struct CloudFormationCloud {
    cloudformation: aws_sdk_cloudformation::Client,
    autoscaling: aws_sdk_autoscaling::Client,
    settings: CloudFormationSettings,
}

impl std::fmt::Debug for CloudFormationCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFormationCloud")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CloudFormationCloud {
    /// The driver for `aws`, with credentials from the standard chain. Makes no AWS call:
    /// missing credentials show up as the first call's error.
    pub async fn new(
        aws: &AwsConfig,
        settings: CloudFormationSettings,
    ) -> Result<Self, CloudError> {
        Self::from_sdk_config(&config_loader(aws).load().await, settings)
    }

    /// The driver on an already loaded AWS configuration (tests pass one with fixed
    /// credentials).
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        settings: CloudFormationSettings,
    ) -> Result<Self, CloudError> {
        settings.check()?;
        Ok(Self {
            cloudformation: aws_sdk_cloudformation::Client::new(sdk),
            autoscaling: aws_sdk_autoscaling::Client::new(sdk),
            settings,
        })
    }

    /// The CloudFormation client, for tests that look behind the trait.
    pub fn cloudformation_client(&self) -> &aws_sdk_cloudformation::Client {
        &self.cloudformation
    }

    /// A token AWS uses to recognise the SDK's retries of one request as one operation (so a
    /// retried create after a lost answer is not "already exists").
    fn request_token() -> String {
        format!("sliderule-{}", uuid::Uuid::new_v4())
    }

    /// The physical id of the stack's `NodeGroup`, if the stack and the group exist.
    async fn group_of(&self, stack: &str) -> Result<Option<String>, CloudError> {
        let answer = self
            .cloudformation
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(NODE_GROUP)
            .send()
            .await;
        match answer {
            Ok(answer) => Ok(answer
                .stack_resource_detail()
                .and_then(|detail| detail.physical_resource_id())
                .map(str::to_owned)),
            Err(err) => {
                let failure = AwsFailure::from_sdk("CloudFormation", "DescribeStackResource", err);
                match failure.kind {
                    // No stack, or a stack (an operator's, or one still being created) without
                    // the group yet: no nodes.
                    Kind::DoesNotExist => Ok(None),
                    _ => Err(failure.into_cloud_error()),
                }
            }
        }
    }
}

impl CloudFormationCloud {
    /// Starts deleting the stack `name`; none is `Ok`.
    async fn delete_named(&self, name: &str) -> Result<(), CloudError> {
        // DeleteStack of a missing stack succeeds on AWS; moto agrees. "does not exist" is
        // still accepted in case either changes its mind.
        let answer = self
            .cloudformation
            .delete_stack()
            .stack_name(name)
            .client_request_token(Self::request_token())
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(err) => {
                let failure = AwsFailure::from_sdk("CloudFormation", "DeleteStack", err);
                match failure.kind {
                    Kind::DoesNotExist => Ok(()),
                    _ => Err(failure.into_cloud_error()),
                }
            }
        }
    }

    /// The live stack `name` as AWS describes it, or `None`.
    async fn describe_raw(&self, name: &str) -> Result<Option<AwsStack>, CloudError> {
        let answer = self
            .cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                let failure = AwsFailure::from_sdk("CloudFormation", "DescribeStacks", err);
                return match failure.kind {
                    Kind::DoesNotExist => Ok(None),
                    _ => Err(failure.into_cloud_error()),
                };
            }
        };
        // By name AWS describes only the live stack; a deleted one is filtered anyway, as the
        // trait promises.
        Ok(answer
            .stacks()
            .first()
            .filter(|stack| convert::status(stack) != Some(StackStatus::DeleteComplete))
            .cloned())
    }

    /// The live stack `name` as the trait's [`Stack`], or `None`.
    async fn describe_named(&self, name: &str) -> Result<Option<Stack>, CloudError> {
        self.describe_raw(name)
            .await?
            .map(|stack| convert::stack(&stack).map_err(CloudError::Unavailable))
            .transpose()
    }

    /// The in-service instances of the stack's `NodeGroup` (0 without one).
    async fn in_service(&self, stack: &str) -> Result<u32, CloudError> {
        let Some(group) = self.group_of(stack).await? else {
            return Ok(0);
        };
        let answer = self
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send()
            .await
            .map_err(|err| {
                AwsFailure::from_sdk("Auto Scaling", "DescribeAutoScalingGroups", err)
                    .into_cloud_error()
            })?;
        // A group being replaced or deleted may be gone already: no nodes.
        let in_service = answer
            .auto_scaling_groups()
            .iter()
            .flat_map(|group| group.instances())
            .filter(|instance| instance.lifecycle_state() == Some(&LifecycleState::InService))
            .count();
        Ok(u32::try_from(in_service).unwrap_or(u32::MAX))
    }
}

#[async_trait]
impl Cloud for CloudFormationCloud {
    async fn create_stack(&self, spec: &StackSpec) -> Result<String, CloudError> {
        let answer = self
            .cloudformation
            .create_stack()
            .stack_name(stack_name(&spec.cluster))
            .template_body(&self.settings.template_body)
            .set_parameters(Some(convert::parameters(spec, &self.settings)))
            .set_tags(Some(convert::tags(spec, &self.settings.deployment)))
            // Named, as upstream's: an operator's template may name its IAM resources.
            .capabilities(Capability::CapabilityNamedIam)
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

    async fn update_stack(&self, spec: &StackSpec) -> Result<(), CloudError> {
        // The template is sent again (not `UsePreviousTemplate`), so a new bundled template
        // reaches running clusters at their next update; tags too, so they match the spec.
        let answer = self
            .cloudformation
            .update_stack()
            .stack_name(stack_name(&spec.cluster))
            .template_body(&self.settings.template_body)
            .set_parameters(Some(convert::parameters(spec, &self.settings)))
            .set_tags(Some(convert::tags(spec, &self.settings.deployment)))
            .capabilities(Capability::CapabilityNamedIam)
            .client_request_token(Self::request_token())
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(err) => {
                let failure = AwsFailure::from_sdk("CloudFormation", "UpdateStack", err);
                match failure.kind {
                    Kind::NoUpdates => Ok(()),
                    // Deleted under us: the stack's state refuses the update.
                    Kind::DoesNotExist => Err(CloudError::Conflict(failure.message)),
                    _ => Err(failure.into_cloud_error()),
                }
            }
        }
    }

    async fn delete_stack(&self, cluster: &ClusterName) -> Result<(), CloudError> {
        self.delete_named(&stack_name(cluster)).await
    }

    async fn describe_stack(&self, cluster: &ClusterName) -> Result<Option<Stack>, CloudError> {
        self.describe_named(&stack_name(cluster)).await
    }

    async fn stack_events(&self, stack_id: &str) -> Result<Vec<StackEvent>, CloudError> {
        let mut pages = self
            .cloudformation
            .describe_stack_events()
            .stack_name(stack_id)
            .into_paginator()
            .send();
        let mut events = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    let failure =
                        AwsFailure::from_sdk("CloudFormation", "DescribeStackEvents", err);
                    return match failure.kind {
                        // An id AWS does not know (or no longer keeps): no events.
                        Kind::DoesNotExist => Ok(Vec::new()),
                        _ => Err(failure.into_cloud_error()),
                    };
                }
            };
            events.extend(page.stack_events().iter().filter_map(convert::event));
            if events.len() >= MAX_EVENTS {
                break;
            }
        }
        // AWS lists newest first already; a stable sort keeps its order among equal times and
        // guarantees the order whatever the emulator does.
        events.sort_by_key(|event| std::cmp::Reverse(event.timestamp));
        events.truncate(MAX_EVENTS);
        Ok(events)
    }

    async fn current_nodes(&self, cluster: &ClusterName) -> Result<u32, CloudError> {
        self.in_service(&stack_name(cluster)).await
    }

    async fn create_node_group(&self, spec: &NodeGroupSpec) -> Result<String, CloudError> {
        self.put_node_group(spec, false).await
    }

    async fn update_node_group(&self, spec: &NodeGroupSpec) -> Result<(), CloudError> {
        self.put_node_group(spec, true).await.map(|_| ())
    }

    async fn delete_node_group(&self, cluster: &ClusterName, user: &str) -> Result<(), CloudError> {
        self.delete_named(&node_group_stack(cluster, user)).await
    }

    async fn describe_node_group(
        &self,
        cluster: &ClusterName,
        user: &str,
    ) -> Result<Option<Stack>, CloudError> {
        self.describe_named(&node_group_stack(cluster, user)).await
    }

    async fn node_group_nodes(&self, cluster: &ClusterName, user: &str) -> Result<u32, CloudError> {
        self.in_service(&node_group_stack(cluster, user)).await
    }

    async fn create_test_runner(&self, spec: &TestRunSpec) -> Result<String, CloudError> {
        self.create_test_run(spec).await
    }

    async fn describe_test_runner(&self) -> Result<Option<TestRun>, CloudError> {
        self.describe_test_run().await
    }

    async fn delete_test_runner(&self) -> Result<(), CloudError> {
        self.delete_named(sliderule_protocol::provisioner::test_runner::STACK_NAME)
            .await
    }

    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError> {
        // DescribeStacks (not ListStacks): only it returns tags, and without a name it lists
        // the live stacks of the account and region.
        let mut pages = self
            .cloudformation
            .describe_stacks()
            .into_paginator()
            .send();
        let mut managed = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| {
                AwsFailure::from_sdk("CloudFormation", "DescribeStacks", err).into_cloud_error()
            })?;
            managed.extend(
                page.stacks()
                    .iter()
                    .filter_map(|stack| convert::managed(stack, &self.settings.deployment)),
            );
        }
        managed.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        Ok(managed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_template_declares_every_parameter_the_driver_sends() {
        for name in convert::CORE_PARAMETERS {
            assert!(
                BUNDLED_TEMPLATE.contains(&format!("\n  {name}:\n")),
                "the template declares {name}"
            );
        }
        assert!(BUNDLED_TEMPLATE.contains(&format!("\n  {NODE_GROUP}:\n")));
        // moto cannot update an AWS::EC2::Instance; the load balancer is a group instead.
        assert!(!BUNDLED_TEMPLATE.contains("AWS::EC2::Instance\n"));
    }
}
