//! The failure knob, durability across drivers, listing, and a zero step delay.

use super::*;

#[tokio::test]
async fn a_failing_create_rolls_back_and_leaves_a_failed_stack_to_delete() {
    let sim = Sim::new();
    let alpha = name("alpha");
    sim.cloud.fail_next_create(&alpha);
    let stack_id = sim.cloud.create_stack(&spec("alpha", 3)).await.unwrap();
    sim.steps(NODE_GROUP_CREATED);
    assert_eq!(
        sim.status(&alpha).await,
        Some(StackStatus::CreateInProgress)
    );
    sim.steps(1);
    let rolling_back = sim.cloud.describe_stack(&alpha).await.unwrap().unwrap();
    assert_eq!(rolling_back.status(), &StackStatus::RollbackInProgress);
    assert_eq!(rolling_back.status().state(), ClusterState::Failed);
    assert!(
        rolling_back
            .info
            .stack_status_reason
            .as_deref()
            .is_some_and(|r| r.contains("[NodeGroup]")),
        "{rolling_back:?}"
    );
    sim.steps(100);
    assert_eq!(
        sim.status(&alpha).await,
        Some(StackStatus::RollbackComplete)
    );
    assert_eq!(sim.nodes(&alpha).await, 0);
    let events = sim.events(&stack_id).await;
    let failed = events
        .iter()
        .find(|e| e.resource_status == "CREATE_FAILED")
        .unwrap();
    assert_eq!(failed.logical_resource_id, "NodeGroup");
    assert!(failed.resource_status_reason.is_some());
    assert_eq!(
        // From the node group's start (the 12th event) on.
        story(&events)[11..],
        [
            ("NodeGroup", "CREATE_IN_PROGRESS"),
            ("NodeGroup", "CREATE_FAILED"),
            ("alpha-cluster", "ROLLBACK_IN_PROGRESS"),
            ("NodeGroup", "DELETE_IN_PROGRESS"),
            ("NodeGroup", "DELETE_COMPLETE"),
            ("NodeLaunchTemplate", "DELETE_IN_PROGRESS"),
            ("NodeLaunchTemplate", "DELETE_COMPLETE"),
            ("LoadBalancerAddress", "DELETE_IN_PROGRESS"),
            ("LoadBalancerAddress", "DELETE_COMPLETE"),
            ("LoadBalancerGroup", "DELETE_IN_PROGRESS"),
            ("LoadBalancerGroup", "DELETE_COMPLETE"),
            ("LoadBalancerLaunchTemplate", "DELETE_IN_PROGRESS"),
            ("LoadBalancerLaunchTemplate", "DELETE_COMPLETE"),
            ("SecurityGroup", "DELETE_IN_PROGRESS"),
            ("SecurityGroup", "DELETE_COMPLETE"),
            ("alpha-cluster", "ROLLBACK_COMPLETE"),
        ]
    );

    // A failed stack can be neither updated nor created again; it can be deleted.
    let update = sim.cloud.update_stack(&spec("alpha", 4)).await;
    assert!(matches!(update, Err(CloudError::Conflict(_))), "{update:?}");
    let create = sim.cloud.create_stack(&spec("alpha", 4)).await;
    assert!(matches!(create, Err(CloudError::Conflict(_))), "{create:?}");
    sim.cloud.delete_stack(&alpha).await.unwrap();
    sim.steps(1);
    assert_eq!(sim.status(&alpha).await, None);
    // The knob was for one create only.
    sim.created(&spec("alpha", 1)).await;
}

#[tokio::test]
async fn another_driver_over_the_same_store_sees_the_same_stacks() {
    let sim = Sim::new();
    let alpha = name("alpha");
    let stack_id = sim.cloud.create_stack(&spec("alpha", 2)).await.unwrap();
    sim.steps(5);
    // A restart, even with another step delay: what happened stays as it was. (The application
    // holds its store as `Arc<dyn Store>`; it upcasts to the driver's `Arc<dyn ClusterStore>`.)
    let store: Arc<dyn Store> = sim.store.clone();
    let restarted = SimulatedCloud::new(store, sim.clock.clone(), STEP * 10, DEPLOYMENT);
    let before = sim.cloud.describe_stack(&alpha).await.unwrap();
    assert_eq!(restarted.describe_stack(&alpha).await.unwrap(), before);
    assert_eq!(
        restarted.stack_events(&stack_id).await.unwrap(),
        sim.events(&stack_id).await
    );
    sim.steps(CREATE_STEPS);
    assert_eq!(
        restarted
            .describe_stack(&alpha)
            .await
            .unwrap()
            .unwrap()
            .status(),
        &StackStatus::CreateComplete
    );
    assert_eq!(restarted.current_nodes(&alpha).await.unwrap(), 2);
}

#[tokio::test]
async fn managed_stacks_are_this_deployments_undeleted_stacks() {
    let sim = Sim::new();
    let other = Sim::cloud_on(&sim.store, &sim.clock, STEP, "someone-else");
    sim.created(&spec("alpha", 1)).await;
    sim.cloud.fail_next_create(&name("bravo"));
    let bravo = sim.cloud.create_stack(&spec("bravo", 1)).await.unwrap();
    let charlie = sim.cloud.create_stack(&spec("charlie", 1)).await.unwrap();
    other.create_stack(&spec("delta", 1)).await.unwrap();
    sim.cloud.delete_stack(&name("alpha")).await.unwrap();
    sim.steps(100);
    sim.cloud.create_stack(&spec("echo", 1)).await.unwrap();

    let managed = sim.cloud.managed_stacks().await.unwrap();
    let listed: Vec<_> = managed
        .iter()
        .map(|m| (m.cluster.as_str(), m.status.as_str(), m.owner.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [
            ("bravo", "ROLLBACK_COMPLETE", Some("alice")),
            ("charlie", "CREATE_COMPLETE", Some("alice")),
            ("echo", "CREATE_IN_PROGRESS", Some("alice")),
        ]
    );
    assert_eq!(managed[0].stack_id, bravo);
    assert_eq!(managed[1].stack_id, charlie);
    let theirs = other.managed_stacks().await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].cluster, name("delta"));
}

#[tokio::test]
async fn a_zero_step_cloud_completes_everything_at_once() {
    let sim = Sim::new();
    let instant = Sim::cloud_on(&sim.store, &sim.clock, Duration::ZERO, DEPLOYMENT);
    let alpha = name("alpha");
    instant.create_stack(&spec("alpha", 3)).await.unwrap();
    let stack = instant.describe_stack(&alpha).await.unwrap().unwrap();
    assert_eq!(stack.status(), &StackStatus::CreateComplete);
    assert_eq!(instant.current_nodes(&alpha).await.unwrap(), 3);
    instant.delete_stack(&alpha).await.unwrap();
    assert_eq!(instant.describe_stack(&alpha).await.unwrap(), None);
}
