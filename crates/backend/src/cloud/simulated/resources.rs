//! The resources of a simulated cluster stack: those of the bundled `cluster.yaml` template, in
//! the order CloudFormation creates them (each waits for the one before), and the physical ids
//! AWS would give them.
//!
//! Physical ids are derived from the stack id and the resource's name, not drawn at random: the
//! events are recomputed on every call, and a resource must keep its id from one call to the next.

/// The CloudFormation type of a stack's own events.
pub(super) const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// One resource of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Resource {
    /// The template's name for it (`LogicalResourceId`).
    pub(super) logical_id: &'static str,
    /// `ResourceType`.
    pub(super) resource_type: &'static str,
}

pub(super) const SECURITY_GROUP: Resource = Resource {
    logical_id: "SecurityGroup",
    resource_type: "AWS::EC2::SecurityGroup",
};
pub(super) const LOAD_BALANCER_LAUNCH_TEMPLATE: Resource = Resource {
    logical_id: "LoadBalancerLaunchTemplate",
    resource_type: "AWS::EC2::LaunchTemplate",
};
pub(super) const LOAD_BALANCER_GROUP: Resource = Resource {
    logical_id: "LoadBalancerGroup",
    resource_type: "AWS::AutoScaling::AutoScalingGroup",
};
pub(super) const LOAD_BALANCER_ADDRESS: Resource = Resource {
    logical_id: "LoadBalancerAddress",
    resource_type: "AWS::EC2::EIP",
};
pub(super) const NODE_LAUNCH_TEMPLATE: Resource = Resource {
    logical_id: "NodeLaunchTemplate",
    resource_type: "AWS::EC2::LaunchTemplate",
};
/// The auto-scaling group of the nodes: nodes join once it is created or updated.
pub(super) const NODE_GROUP: Resource = Resource {
    logical_id: "NodeGroup",
    resource_type: "AWS::AutoScaling::AutoScalingGroup",
};
pub(super) const DNS_RECORD: Resource = Resource {
    logical_id: "DnsRecord",
    resource_type: "AWS::Route53::RecordSet",
};

/// Every resource, in creation order (deletion runs backwards).
pub(super) const RESOURCES: [Resource; 7] = [
    SECURITY_GROUP,
    LOAD_BALANCER_LAUNCH_TEMPLATE,
    LOAD_BALANCER_GROUP,
    LOAD_BALANCER_ADDRESS,
    NODE_LAUNCH_TEMPLATE,
    NODE_GROUP,
    DNS_RECORD,
];

/// The resources of a node group's stack (`deploy/user-nodes.yaml`): one auto-scaling group
/// launched from its cluster's node template.
pub(super) const USER_NODE_RESOURCES: [Resource; 1] = [NODE_GROUP];

/// The test runner's instance (`deploy/testrunner.yaml`).
pub(super) const TEST_RUNNER: Resource = Resource {
    logical_id: "TestRunner",
    resource_type: "AWS::EC2::Instance",
};

/// The resources of the test runner's stack.
pub(super) const TEST_RUNNER_RESOURCES: [Resource; 1] = [TEST_RUNNER];

/// The resource named `logical_id`, if the template has one.
pub(super) fn by_logical_id(logical_id: &str) -> Option<Resource> {
    RESOURCES.into_iter().find(|r| r.logical_id == logical_id)
}

/// What names a stack's resources: ids derive from the stack id; the DNS record is
/// `<cluster>.<domain>`.
pub(super) struct Naming<'a> {
    pub(super) stack_id: &'a str,
    pub(super) stack_name: &'a str,
    pub(super) host: &'a str,
}

impl Naming<'_> {
    /// The id AWS would give `resource` of this stack, shaped like the real ones.
    pub(super) fn physical_id(&self, resource: Resource) -> String {
        let hash = fnv1a(&[self.stack_id, resource.logical_id]);
        match resource.resource_type {
            "AWS::EC2::SecurityGroup" => format!("sg-0{hash:016x}"),
            "AWS::EC2::LaunchTemplate" => format!("lt-0{hash:016x}"),
            "AWS::AutoScaling::AutoScalingGroup" => format!(
                "{}-{}-{:012X}",
                self.stack_name,
                resource.logical_id,
                hash & 0xFFFF_FFFF_FFFF
            ),
            // An Elastic IP's id is its address; TEST-NET-3 is reserved for examples.
            "AWS::EC2::EIP" => format!("203.0.113.{}", 1 + hash % 254),
            "AWS::Route53::RecordSet" => self.host.to_owned(),
            _ => format!("{}-{}-{hash:x}", self.stack_name, resource.logical_id),
        }
    }
}

/// FNV-1a over `parts` (with a separator): a stable, dependency-free hash for ids that only have
/// to look distinct, not be secret.
fn fnv1a(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = parts.iter().flat_map(|part| part.bytes().chain([0]));
    bytes.fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_ids_are_stable_and_shaped_like_aws_ones() {
        let naming = Naming {
            stack_id: "arn:aws:cloudformation:us-west-2:000000000000:stack/a-cluster/1",
            stack_name: "a-cluster",
            host: "a.example.org",
        };
        let group = naming.physical_id(SECURITY_GROUP);
        assert!(group.starts_with("sg-0") && group.len() == 20, "{group}");
        assert_eq!(naming.physical_id(SECURITY_GROUP), group);
        assert_ne!(
            naming.physical_id(LOAD_BALANCER_LAUNCH_TEMPLATE),
            naming.physical_id(NODE_LAUNCH_TEMPLATE)
        );
        assert!(
            naming
                .physical_id(NODE_GROUP)
                .starts_with("a-cluster-NodeGroup-")
        );
        assert!(
            naming
                .physical_id(LOAD_BALANCER_ADDRESS)
                .starts_with("203.0.113.")
        );
        assert_eq!(naming.physical_id(DNS_RECORD), "a.example.org");
    }
}
