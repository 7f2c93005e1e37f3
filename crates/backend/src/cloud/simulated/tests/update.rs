//! Updating a stack: capacity and version, conflicts, no-op updates.

use super::*;

#[tokio::test]
async fn an_update_goes_through_the_node_group_and_cleanup_and_moves_the_nodes() {
    let sim = Sim::new();
    let alpha = name("alpha");
    let stack_id = sim.created(&spec("alpha", 3)).await;
    let t1 = sim.now();
    sim.cloud.update_stack(&spec("alpha", 5)).await.unwrap();

    let expected = [
        StackStatus::UpdateInProgress,
        StackStatus::UpdateInProgress,
        StackStatus::UpdateInProgress,
        StackStatus::UpdateCompleteCleanupInProgress,
        StackStatus::UpdateComplete,
    ];
    let nodes = [3, 3, 3, 4, 5];
    for (step, (status, nodes)) in expected.into_iter().zip(nodes).enumerate() {
        assert_eq!(sim.status(&alpha).await, Some(status), "step {step}");
        assert_eq!(sim.nodes(&alpha).await, nodes, "step {step}");
        sim.steps(1);
    }
    let events = sim.events(&stack_id).await;
    assert_eq!(
        story(&events)[CREATE_STORY.len()..],
        [
            ("alpha-cluster", "UPDATE_IN_PROGRESS"),
            ("NodeGroup", "UPDATE_IN_PROGRESS"),
            ("NodeGroup", "UPDATE_COMPLETE"),
            ("alpha-cluster", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            ("alpha-cluster", "UPDATE_COMPLETE"),
        ]
    );
    let stack = sim.cloud.describe_stack(&alpha).await.unwrap().unwrap();
    assert_eq!(stack.info.last_updated_time, Some(t1));
    assert_eq!(stack.node_capacity, Some(NodeCapacity::new(5)));
    assert_eq!(stack.status().state(), ClusterState::Running);
}

#[tokio::test]
async fn scaling_down_removes_nodes_one_per_step() {
    let sim = Sim::new();
    let alpha = name("alpha");
    sim.created(&spec("alpha", 4)).await;
    sim.steps(2);
    assert_eq!(sim.nodes(&alpha).await, 4);
    sim.cloud.update_stack(&spec("alpha", 1)).await.unwrap();
    sim.steps(2);
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(sim.nodes(&alpha).await);
        sim.steps(1);
    }
    assert_eq!(seen, [4, 3, 2, 1, 1]);
}

#[tokio::test]
async fn a_version_update_replaces_the_node_launch_template_first() {
    let sim = Sim::new();
    let stack_id = sim.created(&spec("alpha", 2)).await;
    let newer = StackSpec {
        version: Version::parse("v5.0.0").unwrap(),
        ..spec("alpha", 2)
    };
    sim.cloud.update_stack(&newer).await.unwrap();
    sim.steps(10);
    let events = sim.events(&stack_id).await;
    assert_eq!(
        story(&events)[CREATE_STORY.len()..],
        [
            ("alpha-cluster", "UPDATE_IN_PROGRESS"),
            ("NodeLaunchTemplate", "UPDATE_IN_PROGRESS"),
            ("NodeLaunchTemplate", "UPDATE_COMPLETE"),
            ("NodeGroup", "UPDATE_IN_PROGRESS"),
            ("NodeGroup", "UPDATE_COMPLETE"),
            ("alpha-cluster", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            ("alpha-cluster", "UPDATE_COMPLETE"),
        ]
    );
    assert_eq!(sim.nodes(&name("alpha")).await, 2);
}

#[tokio::test]
async fn an_update_of_a_busy_stack_conflicts() {
    let sim = Sim::new();
    let alpha = name("alpha");
    sim.cloud.create_stack(&spec("alpha", 1)).await.unwrap();
    let creating = sim.cloud.update_stack(&spec("alpha", 2)).await;
    assert!(
        matches!(&creating, Err(CloudError::Conflict(m)) if m.contains("CREATE_IN_PROGRESS")),
        "{creating:?}"
    );
    sim.steps(CREATE_STEPS);
    sim.cloud.update_stack(&spec("alpha", 2)).await.unwrap();
    sim.steps(3);
    let cleaning_up = sim.cloud.update_stack(&spec("alpha", 3)).await;
    assert!(
        matches!(&cleaning_up, Err(CloudError::Conflict(m)) if m.contains("CLEANUP")),
        "{cleaning_up:?}"
    );
    sim.steps(1);
    sim.cloud.update_stack(&spec("alpha", 3)).await.unwrap();
    let stack = sim.cloud.describe_stack(&alpha).await.unwrap().unwrap();
    assert_eq!(stack.node_capacity, Some(NodeCapacity::new(3)));
}

#[tokio::test]
async fn an_update_that_changes_nothing_is_ok_and_does_nothing() {
    let sim = Sim::new();
    let alpha = name("alpha");
    let stack_id = sim.created(&spec("alpha", 2)).await;
    // Another owner is not a change the stack sees.
    let same = StackSpec {
        owner: "bob".into(),
        ..spec("alpha", 2)
    };
    sim.cloud.update_stack(&same).await.unwrap();
    assert_eq!(sim.status(&alpha).await, Some(StackStatus::CreateComplete));
    assert_eq!(sim.events(&stack_id).await.len(), CREATE_STORY.len());
    let stack = sim.cloud.describe_stack(&alpha).await.unwrap().unwrap();
    assert_eq!(stack.info.last_updated_time, None);
}

#[tokio::test]
async fn an_update_without_a_stack_conflicts() {
    let sim = Sim::new();
    let missing = sim.cloud.update_stack(&spec("alpha", 2)).await;
    assert!(
        matches!(missing, Err(CloudError::Conflict(_))),
        "{missing:?}"
    );
    sim.created(&spec("alpha", 1)).await;
    sim.cloud.delete_stack(&name("alpha")).await.unwrap();
    sim.steps(100);
    let deleted = sim.cloud.update_stack(&spec("alpha", 2)).await;
    assert!(
        matches!(deleted, Err(CloudError::Conflict(_))),
        "{deleted:?}"
    );
}
