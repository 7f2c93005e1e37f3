//! Between the driver's types and CloudFormation's: the parameters and tags a stack is created
//! with, and stacks and events read back.

use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    Parameter, Stack as AwsStack, StackEvent as AwsStackEvent, Tag,
};
use sliderule_protocol::provisioner::{StackEvent, StackInfo, StackStatus};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};
use time::OffsetDateTime;

use super::settings::CloudFormationSettings;
use crate::cloud::{
    ManagedStack, Stack, StackSpec, TAG_CLUSTER, TAG_DEPLOYMENT, TAG_OWNER, TAG_TEST_BRANCH,
    TAG_USER,
};

/// The template parameters the driver sets from each [`StackSpec`] and its settings. Operator
/// extras may not use these names.
pub const CORE_PARAMETERS: [&str; 6] = [
    "Cluster",
    "Version",
    "IsPublic",
    "NodeCapacity",
    "Domain",
    "JwtIssuer",
];

/// Every parameter a stack of `spec` gets: the core ones, then the operator's extras.
///
/// Create and update send the same explicit list and never `UsePreviousValue`: a parameter the
/// template defaults is then simply left to its default both times, and moto (which answers
/// HTTP 500 to `UsePreviousValue` on a defaulted parameter) is never asked to carry one over.
pub(super) fn parameters(spec: &StackSpec, settings: &CloudFormationSettings) -> Vec<Parameter> {
    let core = [
        ("Cluster", spec.cluster.as_str().to_owned()),
        ("Version", spec.version.as_str().to_owned()),
        ("IsPublic", spec.is_public.to_string()),
        ("NodeCapacity", spec.node_capacity.get().to_string()),
        ("Domain", dns_domain(settings.domain.as_deref())),
        ("JwtIssuer", settings.jwt_issuer.clone()),
    ];
    let extras = settings
        .parameters
        .iter()
        .map(|(key, value)| (key.as_str(), value.clone()));
    core.into_iter()
        .chain(extras)
        .map(|(key, value)| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        })
        .collect()
}

/// The `Domain` parameter: the configured domain without a port (`domain` may carry one for
/// the service's own URLs; a DNS record cannot), or empty.
fn dns_domain(domain: Option<&str>) -> String {
    domain
        .map(|domain| domain.split(':').next().unwrap_or(domain))
        .unwrap_or_default()
        .to_owned()
}

/// The tags that make a stack findable as this deployment's stack of `spec.cluster`.
pub(super) fn tags(spec: &StackSpec, deployment: &str) -> Vec<Tag> {
    [
        (TAG_CLUSTER, spec.cluster.as_str()),
        (TAG_OWNER, spec.owner.as_str()),
        (TAG_DEPLOYMENT, deployment),
    ]
    .into_iter()
    .map(|(key, value)| Tag::builder().key(key).value(value).build())
    .collect()
}

/// An AWS timestamp as a `time` one; `None` only for instants `time` cannot hold.
pub(super) fn timestamp(value: &DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(value.as_nanos()).ok()
}

pub(super) fn tag<'a>(stack: &'a AwsStack, key: &str) -> Option<&'a str> {
    stack
        .tags()
        .iter()
        .find(|tag| tag.key() == Some(key))
        .and_then(Tag::value)
}

pub(super) fn parameter<'a>(stack: &'a AwsStack, key: &str) -> Option<&'a str> {
    stack
        .parameters()
        .iter()
        .find(|parameter| parameter.parameter_key() == Some(key))
        .and_then(Parameter::parameter_value)
}

/// The stack's status as the wire names it.
pub(super) fn status(stack: &AwsStack) -> Option<StackStatus> {
    stack
        .stack_status()
        .map(|status| StackStatus::parse(status.as_str()))
}

/// A described stack as the trait's [`Stack`]; `Err` names what AWS left out. Parameters that do
/// not parse (an operator's template may differ) are `None`, not an error: the stack is still
/// there and must still be reported.
pub(super) fn stack(aws: &AwsStack) -> Result<Stack, String> {
    let stack_id = aws
        .stack_id()
        .ok_or("AWS described a stack without an id")?;
    let stack_name = aws
        .stack_name()
        .ok_or("AWS described a stack without a name")?;
    let stack_status = status(aws).ok_or("AWS described a stack without a status")?;
    let creation_time = aws
        .creation_time()
        .and_then(timestamp)
        .ok_or("AWS described a stack without a creation time")?;
    Ok(Stack {
        stack_id: stack_id.to_owned(),
        info: StackInfo {
            stack_name: stack_name.to_owned(),
            stack_status,
            stack_status_reason: aws.stack_status_reason().map(str::to_owned),
            creation_time,
            last_updated_time: aws.last_updated_time().and_then(timestamp),
        },
        node_capacity: parameter(aws, "NodeCapacity").and_then(|v| NodeCapacity::parse(v).ok()),
        version: parameter(aws, "Version").and_then(|v| Version::parse(v).ok()),
        is_public: parameter(aws, "IsPublic").and_then(|v| match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }),
        owner: tag(aws, TAG_OWNER).map(str::to_owned),
        address: aws
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some("LoadBalancerAddress"))
            .and_then(|o| o.output_value())
            .map(str::to_owned),
    })
}

/// The stack as a [`ManagedStack`] if it is a live stack of `deployment` naming a valid cluster.
pub(super) fn managed(aws: &AwsStack, deployment: &str) -> Option<ManagedStack> {
    if tag(aws, TAG_DEPLOYMENT) != Some(deployment) {
        return None;
    }
    let status = status(aws)?;
    // Node groups are found through their records, not adopted as clusters.
    if status == StackStatus::DeleteComplete
        || tag(aws, TAG_USER).is_some()
        || tag(aws, TAG_TEST_BRANCH).is_some()
    {
        return None;
    }
    let Some(cluster) = tag(aws, TAG_CLUSTER).and_then(|name| ClusterName::parse(name).ok()) else {
        tracing::warn!(
            stack = aws.stack_name().unwrap_or("?"),
            "a stack tagged with this deployment has no valid {TAG_CLUSTER} tag; ignored"
        );
        return None;
    };
    Some(ManagedStack {
        cluster,
        stack_id: aws.stack_id()?.to_owned(),
        status,
        owner: tag(aws, TAG_OWNER).map(str::to_owned),
    })
}

/// A stack event as the wire's [`StackEvent`]; `None` for one without the fields every event
/// has (AWS always sends them; skipping beats failing the whole list).
pub(super) fn event(aws: &AwsStackEvent) -> Option<StackEvent> {
    Some(StackEvent {
        timestamp: aws.timestamp().and_then(timestamp)?,
        logical_resource_id: aws.logical_resource_id()?.to_owned(),
        resource_type: aws.resource_type().unwrap_or_default().to_owned(),
        resource_status: aws.resource_status()?.as_str().to_owned(),
        resource_status_reason: aws.resource_status_reason().map(str::to_owned),
        physical_resource_id: aws.physical_resource_id().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus as AwsStackStatus};

    use super::*;

    fn settings() -> CloudFormationSettings {
        CloudFormationSettings {
            deployment: "prod".into(),
            domain: Some("example.org".into()),
            jwt_issuer: "https://login.example.org".into(),
            template_body: "{}".into(),
            parameters: BTreeMap::from([("VpcId".into(), "vpc-1".into())]),
            project_bucket: None,
        }
    }

    fn spec() -> StackSpec {
        StackSpec {
            cluster: ClusterName::parse("alpha").unwrap(),
            node_capacity: NodeCapacity::new(7),
            version: Version::parse("v4.9.2").unwrap(),
            is_public: true,
            owner: "alice".into(),
        }
    }

    #[test]
    fn every_parameter_is_sent_explicitly() {
        let sent: Vec<_> = parameters(&spec(), &settings())
            .iter()
            .map(|p| {
                assert_eq!(p.use_previous_value(), None);
                (
                    p.parameter_key().unwrap().to_owned(),
                    p.parameter_value().unwrap().to_owned(),
                )
            })
            .collect();
        let expected = [
            ("Cluster", "alpha"),
            ("Version", "v4.9.2"),
            ("IsPublic", "true"),
            ("NodeCapacity", "7"),
            ("Domain", "example.org"),
            ("JwtIssuer", "https://login.example.org"),
            ("VpcId", "vpc-1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(sent, expected);
    }

    #[test]
    fn no_domain_is_an_empty_domain_parameter() {
        let settings = CloudFormationSettings {
            domain: None,
            ..settings()
        };
        let domain = parameters(&spec(), &settings)
            .into_iter()
            .find(|p| p.parameter_key() == Some("Domain"))
            .unwrap();
        assert_eq!(domain.parameter_value(), Some(""));
    }

    #[test]
    fn the_domain_parameter_has_no_port() {
        assert_eq!(dns_domain(Some("example.org:8443")), "example.org");
        assert_eq!(dns_domain(Some("example.org")), "example.org");
        assert_eq!(dns_domain(None), "");
    }

    fn described(status: AwsStackStatus, tags: &[(&str, &str)]) -> AwsStack {
        let mut builder = AwsStack::builder()
            .stack_id("arn:aws:cloudformation:us-west-2:1:stack/alpha-cluster/1")
            .stack_name("alpha-cluster")
            .stack_status(status)
            .creation_time(DateTime::from_secs(1_700_000_000))
            .last_updated_time(DateTime::from_secs_and_nanos(1_700_000_060, 500_000_000));
        for (key, value) in [
            ("NodeCapacity", "7"),
            ("Version", "v4.9.2"),
            ("IsPublic", "false"),
        ] {
            builder = builder.parameters(
                Parameter::builder()
                    .parameter_key(key)
                    .parameter_value(value)
                    .build(),
            );
        }
        for (key, value) in tags {
            builder = builder.tags(Tag::builder().key(*key).value(*value).build());
        }
        builder.build()
    }

    #[test]
    fn a_described_stack_reads_back_parameters_owner_and_times() {
        let stack = stack(&described(
            AwsStackStatus::UpdateComplete,
            &[(TAG_OWNER, "alice")],
        ))
        .unwrap();
        assert_eq!(stack.info.stack_name, "alpha-cluster");
        assert_eq!(stack.info.stack_status, StackStatus::UpdateComplete);
        assert_eq!(stack.info.creation_time.unix_timestamp(), 1_700_000_000);
        let updated = stack.info.last_updated_time.unwrap();
        assert_eq!(updated.unix_timestamp(), 1_700_000_060);
        assert_eq!(updated.millisecond(), 500);
        assert_eq!(stack.node_capacity, Some(NodeCapacity::new(7)));
        assert_eq!(stack.version, Some(Version::parse("v4.9.2").unwrap()));
        assert_eq!(stack.is_public, Some(false));
        assert_eq!(stack.owner.as_deref(), Some("alice"));
    }

    #[test]
    fn only_live_stacks_of_this_deployment_are_managed() {
        let tags = [
            (TAG_DEPLOYMENT, "prod"),
            (TAG_CLUSTER, "alpha"),
            (TAG_OWNER, "alice"),
        ];
        let ours = described(AwsStackStatus::CreateComplete, &tags);
        let managed = managed(&ours, "prod").unwrap();
        assert_eq!(managed.cluster.as_str(), "alpha");
        assert_eq!(managed.owner.as_deref(), Some("alice"));
        assert!(super::managed(&ours, "staging").is_none());
        let untagged = described(AwsStackStatus::CreateComplete, &[(TAG_DEPLOYMENT, "prod")]);
        assert!(super::managed(&untagged, "prod").is_none());
        let deleted = described(AwsStackStatus::DeleteComplete, &tags);
        assert!(super::managed(&deleted, "prod").is_none());
    }

    #[test]
    fn events_map_field_by_field() {
        let aws = AwsStackEvent::builder()
            .stack_id("id")
            .event_id("e1")
            .stack_name("alpha-cluster")
            .logical_resource_id("NodeGroup")
            .physical_resource_id("alpha-cluster-NodeGroup-X")
            .resource_type("AWS::AutoScaling::AutoScalingGroup")
            .resource_status(ResourceStatus::CreateFailed)
            .resource_status_reason("no capacity")
            .timestamp(DateTime::from_secs(1_700_000_000))
            .build();
        let event = event(&aws).unwrap();
        assert_eq!(event.logical_resource_id, "NodeGroup");
        assert_eq!(event.resource_status, "CREATE_FAILED");
        assert_eq!(event.resource_status_reason.as_deref(), Some("no capacity"));
        assert_eq!(
            event.physical_resource_id.as_deref(),
            Some("alpha-cluster-NodeGroup-X")
        );
        assert_eq!(event.timestamp.unix_timestamp(), 1_700_000_000);
    }
}
