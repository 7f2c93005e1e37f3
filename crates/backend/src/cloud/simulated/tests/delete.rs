//! Deleting a stack: teardown, idempotence, cutting a create short, recreating.

use super::*;

#[tokio::test]
async fn a_delete_removes_the_resources_backwards_and_the_stack_disappears() {
    let sim = Sim::new();
    let alpha = name("alpha");
    let stack_id = sim.created(&spec("alpha", 3)).await;
    sim.steps(3);
    assert_eq!(sim.nodes(&alpha).await, 3);
    sim.cloud.delete_stack(&alpha).await.unwrap();
    // The nodes go at once.
    assert_eq!(sim.nodes(&alpha).await, 0);
    for step in 0..CREATE_STEPS {
        assert_eq!(
            sim.status(&alpha).await,
            Some(StackStatus::DeleteInProgress),
            "step {step}"
        );
        sim.steps(1);
    }
    assert_eq!(sim.cloud.describe_stack(&alpha).await.unwrap(), None);
    assert_eq!(sim.nodes(&alpha).await, 0);

    // The events stay readable by id.
    let events = sim.events(&stack_id).await;
    let deletion: Vec<_> = story(&events)[CREATE_STORY.len()..].to_vec();
    let mut expected = vec![("alpha-cluster", "DELETE_IN_PROGRESS")];
    for logical in [
        "DnsRecord",
        "NodeGroup",
        "NodeLaunchTemplate",
        "LoadBalancerAddress",
        "LoadBalancerGroup",
        "LoadBalancerLaunchTemplate",
        "SecurityGroup",
    ] {
        expected.push((logical, "DELETE_IN_PROGRESS"));
        expected.push((logical, "DELETE_COMPLETE"));
    }
    expected.push(("alpha-cluster", "DELETE_COMPLETE"));
    assert_eq!(deletion, expected);
    assert_eq!(events[0].resource_type, "AWS::CloudFormation::Stack");
}

#[tokio::test]
async fn deleting_again_or_deleting_nothing_is_ok() {
    let sim = Sim::new();
    let alpha = name("alpha");
    sim.cloud.delete_stack(&alpha).await.unwrap();
    let stack_id = sim.created(&spec("alpha", 1)).await;
    sim.cloud.delete_stack(&alpha).await.unwrap();
    sim.steps(1);
    // While deleting: no second delete starts.
    sim.cloud.delete_stack(&alpha).await.unwrap();
    sim.steps(CREATE_STEPS);
    sim.cloud.delete_stack(&alpha).await.unwrap();
    let events = sim.events(&stack_id).await;
    let deletes = events
        .iter()
        .filter(|e| e.logical_resource_id == "alpha-cluster")
        .filter(|e| e.resource_status == "DELETE_IN_PROGRESS")
        .count();
    assert_eq!(deletes, 1);
    assert_eq!(events[0].resource_status, "DELETE_COMPLETE");
}

#[tokio::test]
async fn a_delete_cuts_a_create_short() {
    let sim = Sim::new();
    let alpha = name("alpha");
    let stack_id = sim.cloud.create_stack(&spec("alpha", 3)).await.unwrap();
    // The security group is created, the load balancer's launch template is being created.
    sim.steps(3);
    sim.cloud.delete_stack(&alpha).await.unwrap();
    assert_eq!(
        sim.status(&alpha).await,
        Some(StackStatus::DeleteInProgress)
    );
    sim.steps(100);
    assert_eq!(sim.status(&alpha).await, None);
    let events = sim.events(&stack_id).await;
    assert_eq!(
        story(&events),
        [
            ("alpha-cluster", "CREATE_IN_PROGRESS"),
            ("SecurityGroup", "CREATE_IN_PROGRESS"),
            ("SecurityGroup", "CREATE_COMPLETE"),
            ("LoadBalancerLaunchTemplate", "CREATE_IN_PROGRESS"),
            ("alpha-cluster", "DELETE_IN_PROGRESS"),
            ("LoadBalancerLaunchTemplate", "CREATE_FAILED"),
            ("LoadBalancerLaunchTemplate", "DELETE_IN_PROGRESS"),
            ("LoadBalancerLaunchTemplate", "DELETE_COMPLETE"),
            ("SecurityGroup", "DELETE_IN_PROGRESS"),
            ("SecurityGroup", "DELETE_COMPLETE"),
            ("alpha-cluster", "DELETE_COMPLETE"),
        ]
    );
    let cancelled = &events[5];
    assert_eq!(
        cancelled.resource_status_reason.as_deref(),
        Some("Resource creation cancelled")
    );
    assert_eq!(sim.nodes(&alpha).await, 0);
}

#[tokio::test]
async fn a_delete_during_an_update_conflicts() {
    let sim = Sim::new();
    let alpha = name("alpha");
    sim.created(&spec("alpha", 1)).await;
    sim.cloud.update_stack(&spec("alpha", 2)).await.unwrap();
    let refused = sim.cloud.delete_stack(&alpha).await;
    assert!(
        matches!(&refused, Err(CloudError::Conflict(m)) if m.contains("UPDATE_IN_PROGRESS")),
        "{refused:?}"
    );
    sim.steps(4);
    sim.cloud.delete_stack(&alpha).await.unwrap();
    assert_eq!(
        sim.status(&alpha).await,
        Some(StackStatus::DeleteInProgress)
    );
}

#[tokio::test]
async fn a_create_after_a_delete_makes_a_new_stack_and_the_old_events_stay() {
    let sim = Sim::new();
    let alpha = name("alpha");
    let first = sim.created(&spec("alpha", 1)).await;
    sim.cloud.delete_stack(&alpha).await.unwrap();
    // Still deleting: the name is taken.
    let early = sim.cloud.create_stack(&spec("alpha", 2)).await;
    assert!(matches!(early, Err(CloudError::Conflict(_))), "{early:?}");
    sim.steps(CREATE_STEPS);

    let second = sim.cloud.create_stack(&spec("alpha", 2)).await.unwrap();
    assert_ne!(first, second);
    assert!(
        second.starts_with("arn:aws:cloudformation:us-west-2:000000000000:stack/alpha-cluster/")
    );
    let stack = sim.cloud.describe_stack(&alpha).await.unwrap().unwrap();
    assert_eq!(stack.stack_id, second);
    assert_eq!(stack.status(), &StackStatus::CreateInProgress);
    assert_eq!(sim.nodes(&alpha).await, 0);
    assert_eq!(sim.events(&second).await.len(), 1);
    let old = sim.events(&first).await;
    assert_eq!(old[0].resource_status, "DELETE_COMPLETE");
    assert!(sim.events("arn:unknown").await.is_empty());
}
