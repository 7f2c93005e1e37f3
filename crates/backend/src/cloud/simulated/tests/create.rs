//! Creating a stack: its events, its nodes, its description.

use super::*;

#[tokio::test]
async fn a_create_goes_through_every_resource_one_step_apart() {
    let sim = Sim::new();
    let alpha = name("alpha");
    let t0 = sim.now();
    let stack_id = sim.cloud.create_stack(&spec("alpha", 3)).await.unwrap();
    assert!(
        stack_id.starts_with("arn:aws:cloudformation:us-west-2:000000000000:stack/alpha-cluster/"),
        "{stack_id}"
    );

    for step in 0..CREATE_STEPS {
        assert_eq!(
            sim.status(&alpha).await,
            Some(StackStatus::CreateInProgress),
            "step {step}"
        );
        let events = sim.events(&stack_id).await;
        assert_eq!(
            story(&events),
            CREATE_STORY[..=step as usize],
            "step {step}"
        );
        sim.steps(1);
    }
    assert_eq!(sim.status(&alpha).await, Some(StackStatus::CreateComplete));
    let events = sim.events(&stack_id).await;
    assert_eq!(story(&events), CREATE_STORY);
    // Newest first, one step apart.
    for (age, event) in events.iter().enumerate() {
        let tick = CREATE_STEPS - age as u32;
        assert_eq!(event.timestamp, t0 + STEP * tick, "{event:?}");
    }
    sim.steps(100);
    assert_eq!(sim.events(&stack_id).await.len(), CREATE_STORY.len());
}

#[tokio::test]
async fn stack_events_have_the_shapes_cloudformation_gives() {
    let sim = Sim::new();
    let stack_id = sim.created(&spec("alpha", 1)).await;
    let events = sim.events(&stack_id).await;
    let oldest = events.last().unwrap();
    assert_eq!(oldest.logical_resource_id, "alpha-cluster");
    assert_eq!(oldest.resource_type, "AWS::CloudFormation::Stack");
    assert_eq!(
        oldest.physical_resource_id.as_deref(),
        Some(stack_id.as_str())
    );
    assert_eq!(
        oldest.resource_status_reason.as_deref(),
        Some("User Initiated")
    );

    let of = |logical: &str, status: &str| {
        events
            .iter()
            .find(|e| e.logical_resource_id == logical && e.resource_status == status)
            .unwrap()
            .clone()
    };
    let types = [
        ("SecurityGroup", "AWS::EC2::SecurityGroup"),
        ("LoadBalancerLaunchTemplate", "AWS::EC2::LaunchTemplate"),
        ("LoadBalancerGroup", "AWS::AutoScaling::AutoScalingGroup"),
        ("LoadBalancerAddress", "AWS::EC2::EIP"),
        ("NodeLaunchTemplate", "AWS::EC2::LaunchTemplate"),
        ("NodeGroup", "AWS::AutoScaling::AutoScalingGroup"),
        ("DnsRecord", "AWS::Route53::RecordSet"),
    ];
    for (logical, resource_type) in types {
        let started = of(logical, "CREATE_IN_PROGRESS");
        let created = of(logical, "CREATE_COMPLETE");
        assert_eq!(started.resource_type, resource_type);
        assert_eq!(started.physical_resource_id, None, "{logical}");
        assert!(created.physical_resource_id.is_some(), "{logical}");
    }
    let record = of("DnsRecord", "CREATE_COMPLETE");
    assert_eq!(
        record.physical_resource_id.as_deref(),
        Some("alpha.sliderule-test")
    );
    assert_eq!(
        of("alpha-cluster", "CREATE_COMPLETE").resource_status_reason,
        None
    );
}

#[tokio::test]
async fn nodes_join_one_per_step_once_the_node_group_is_created() {
    let sim = Sim::new();
    let alpha = name("alpha");
    sim.cloud.create_stack(&spec("alpha", 5)).await.unwrap();
    sim.steps(NODE_GROUP_CREATED);
    assert_eq!(sim.nodes(&alpha).await, 0);
    for expected in 1..=5 {
        sim.steps(1);
        assert_eq!(sim.nodes(&alpha).await, expected);
    }
    // The last two joined after the stack was complete, as instances boot after their group.
    sim.steps(10);
    assert_eq!(sim.nodes(&alpha).await, 5);
    assert_eq!(sim.cloud.discovery_nodes(&alpha).await.unwrap(), 5);
    assert_eq!(sim.nodes(&name("nobody")).await, 0);
}

#[tokio::test]
async fn describe_gives_the_stack_its_parameters_and_owner() {
    let sim = Sim::new();
    let t0 = sim.now();
    assert_eq!(
        sim.cloud.describe_stack(&name("alpha")).await.unwrap(),
        None
    );
    let wanted = StackSpec {
        version: Version::parse("v4.9.2").unwrap(),
        is_public: true,
        owner: "carol".into(),
        ..spec("alpha", 4)
    };
    let stack_id = sim.cloud.create_stack(&wanted).await.unwrap();
    let stack = sim
        .cloud
        .describe_stack(&name("alpha"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stack.stack_id, stack_id);
    assert_eq!(stack.info.stack_name, "alpha-cluster");
    assert_eq!(stack.info.stack_status_reason, None);
    assert_eq!(stack.info.creation_time, t0);
    assert_eq!(stack.info.last_updated_time, None);
    assert_eq!(stack.node_capacity, Some(NodeCapacity::new(4)));
    assert_eq!(stack.version, Some(Version::parse("v4.9.2").unwrap()));
    assert_eq!(stack.is_public, Some(true));
    assert_eq!(stack.owner.as_deref(), Some("carol"));
    assert_eq!(stack.status().state(), ClusterState::Deploying);
}

#[tokio::test]
async fn a_second_create_of_a_live_stack_conflicts() {
    let sim = Sim::new();
    let first = sim.cloud.create_stack(&spec("alpha", 1)).await.unwrap();
    let again = sim.cloud.create_stack(&spec("alpha", 2)).await;
    assert!(matches!(again, Err(CloudError::Conflict(_))), "{again:?}");
    sim.steps(CREATE_STEPS);
    let again = sim.cloud.create_stack(&spec("alpha", 2)).await;
    assert!(matches!(again, Err(CloudError::Conflict(_))), "{again:?}");
    let stack = sim
        .cloud
        .describe_stack(&name("alpha"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stack.stack_id, stack.node_capacity),
        (first, Some(NodeCapacity::new(1)))
    );
}
