//! Per-user node groups on CloudFormation: the stack `<cluster>-cluster-<user>-asg` from the
//! bundled `deploy/user-nodes.yaml`, an auto-scaling group launched from the cluster's own node
//! template (its stack's `NodeLaunchTemplate` and `NodeLaunchTemplateVersion` outputs) in the
//! subnets of `provisioner.parameters.SubnetIds`.

use aws_sdk_cloudformation::types::{Parameter, Tag};
use sliderule_protocol::provisioner::node_groups;

use super::errors::{AwsFailure, Kind};
use super::{CloudFormationCloud, convert};
use crate::cloud::{
    CloudError, NodeGroupSpec, TAG_CLUSTER, TAG_DEPLOYMENT, TAG_OWNER, TAG_USER, stack_name,
};

/// The bundled node-group template (`deploy/user-nodes.yaml`).
pub const USER_NODES_TEMPLATE: &str = include_str!("../../../../../deploy/user-nodes.yaml");

impl CloudFormationCloud {
    /// Creates (or, with `update`, updates) the node group's stack; returns its id.
    pub(super) async fn put_node_group(
        &self,
        spec: &NodeGroupSpec,
        update: bool,
    ) -> Result<String, CloudError> {
        let parent = stack_name(&spec.cluster);
        let described = self.describe_raw(&parent).await?;
        let output = |key: &str| {
            described.as_ref().and_then(|stack| {
                stack
                    .outputs()
                    .iter()
                    .find(|o| o.output_key() == Some(key))
                    .and_then(|o| o.output_value())
                    .map(str::to_owned)
            })
        };
        let Some(described) = described.as_ref() else {
            return Err(CloudError::Conflict(format!(
                "Stack [{parent}] does not exist"
            )));
        };
        let (Some(template), Some(version)) = (
            output("NodeLaunchTemplate"),
            output("NodeLaunchTemplateVersion"),
        ) else {
            return Err(CloudError::Conflict(format!(
                "the stack {parent} has no NodeLaunchTemplate and NodeLaunchTemplateVersion outputs \
                 (a template older than node groups): deploy the cluster again to update it"
            )));
        };
        let subnets = self
            .settings
            .parameters
            .get("SubnetIds")
            .cloned()
            .or_else(|| convert::parameter(described, "SubnetIds").map(str::to_owned))
            .ok_or_else(|| {
                CloudError::Unavailable(
                    "node groups need provisioner.parameters.SubnetIds (the clusters' subnets)"
                        .into(),
                )
            })?;
        let parameters = [
            ("Cluster", spec.cluster.as_str().to_owned()),
            ("Username", spec.user.clone()),
            ("NodeCapacity", spec.node_capacity.get().to_string()),
            ("NodeLaunchTemplate", template),
            ("NodeLaunchTemplateVersion", version),
            ("SubnetIds", subnets),
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
            (TAG_CLUSTER, spec.cluster.as_str()),
            (TAG_OWNER, spec.user.as_str()),
            (TAG_USER, spec.user.as_str()),
            (TAG_DEPLOYMENT, self.settings.deployment.as_str()),
        ]
        .into_iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Vec<_>>();
        let name = node_groups::stack_name(&spec.cluster, &spec.user);
        if update {
            let answer = self
                .cloudformation
                .update_stack()
                .stack_name(&name)
                .template_body(USER_NODES_TEMPLATE)
                .set_parameters(Some(parameters))
                .set_tags(Some(tags))
                .client_request_token(Self::request_token())
                .send()
                .await;
            return match answer {
                Ok(answer) => Ok(answer.stack_id().unwrap_or_default().to_owned()),
                Err(err) => {
                    let failure = AwsFailure::from_sdk("CloudFormation", "UpdateStack", err);
                    match failure.kind {
                        Kind::NoUpdates => Ok(String::new()),
                        Kind::DoesNotExist => Err(CloudError::Conflict(failure.message)),
                        _ => Err(failure.into_cloud_error()),
                    }
                }
            };
        }
        let answer = self
            .cloudformation
            .create_stack()
            .stack_name(&name)
            .template_body(USER_NODES_TEMPLATE)
            .set_parameters(Some(parameters))
            .set_tags(Some(tags))
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
}
