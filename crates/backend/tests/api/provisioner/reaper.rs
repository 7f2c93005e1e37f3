//! The reaper and reconciliation, on a controllable clock (no real waiting).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use sliderule_backend::clock::Clock as _;
use sliderule_backend::cloud::{Cloud, StackSpec};
use sliderule_backend::provisioner::Provisioner;
use sliderule_backend::store::{ClusterPhase, ClusterRecord};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};

use super::support::*;
use crate::helpers::TestApp;

fn name(cluster: &str) -> ClusterName {
    ClusterName::parse(cluster).unwrap()
}

/// Another replica over the same store and cloud.
pub(super) fn replica(app: &TestApp, cloud: Arc<dyn Cloud>, instance: &str) -> Provisioner {
    let p = &app.state.provisioner;
    Provisioner {
        cloud,
        store: p.store.clone(),
        clock: p.clock.clone(),
        adopt_ttl: p.adopt_ttl,
        reaper_period: p.reaper_period,
        destroy_poll: p.destroy_poll,
        destroy_recorded: Default::default(),
        reconcile_period: p.reconcile_period,
        instance: instance.to_owned(),
        public_cluster: None,
        node_group_public_cluster: p.node_group_public_cluster.clone(),
        budgets: p.budgets.clone(),
        max_org_nodes: p.max_org_nodes,
        signing: p.signing.clone(),
        notifier: p.notifier.clone(),
        summaries: p.summaries.clone(),
        test_runner_ttl: p.test_runner_ttl,
    }
}

/// A record as a deploy writes it before its stack exists.
pub(super) fn recorded(
    cluster: &str,
    deadline: time::OffsetDateTime,
    stack_id: Option<String>,
    at: time::OffsetDateTime,
) -> ClusterRecord {
    ClusterRecord {
        cluster: cluster.into(),
        owner: cluster.into(),
        node_capacity: 1,
        version: "latest".into(),
        is_public: false,
        deadline: Some(deadline),
        stack_id,
        phase: ClusterPhase::Pending,
        created_at: at,
        updated_at: at,
        revision: 0,
        destroy: None,
    }
}

async fn seconds_remaining(app: &TestApp, token: &str, cluster: &str) -> u64 {
    status(app, token, cluster).await["seconds_remaining"]
        .as_u64()
        .expect("a deadline")
}

#[tokio::test]
async fn the_reaper_destroys_a_cluster_at_its_deadline_to_the_second() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let left = seconds_remaining(&app, &bob, "bob").await;
    app.clock.advance(Duration::from_secs(left - 1));
    assert!(
        app.state
            .provisioner
            .reap()
            .await
            .unwrap()
            .destroyed
            .is_empty(),
        "not before"
    );
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(
        app.state.provisioner.reap().await.unwrap().destroyed,
        ["bob"]
    );
    assert_eq!(status(&app, &bob, "bob").await["state"], "DESTROYING");
    until_state(&app, &bob, "bob", "NOT_FOUND").await;
}

#[tokio::test]
async fn extending_moves_the_reapers_deadline() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    ok(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 60 }),
    )
    .await;
    app.clock.advance(Duration::from_secs(16 * 60));
    assert!(
        app.state
            .provisioner
            .reap()
            .await
            .unwrap()
            .destroyed
            .is_empty()
    );
    app.clock.advance(Duration::from_secs(45 * 60));
    assert_eq!(
        app.state.provisioner.reap().await.unwrap().destroyed,
        ["bob"]
    );
}

#[tokio::test]
async fn two_reapers_on_one_store_issue_one_destroy() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    app.clock.advance(Duration::from_secs(16 * 60));
    let counting = Arc::new(Faulty::new(app.state.provisioner.cloud.clone(), 0));
    let first = replica(&app, counting.clone(), "replica-1");
    let second = replica(&app, counting.clone(), "replica-2");
    let (a, b) = tokio::join!(first.reap(), second.reap());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.destroyed.len() + b.destroyed.len(), 1, "{a:?} {b:?}");
    assert_eq!(counting.deletes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_destroy_is_retried_after_its_backoff() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    app.clock.advance(Duration::from_secs(16 * 60));
    let flaky = Arc::new(Faulty::new(app.state.provisioner.cloud.clone(), 1));
    let reaper = replica(&app, flaky.clone(), "replica-1");
    assert_eq!(reaper.reap().await.unwrap().failed, ["bob"]);
    assert_eq!(flaky.deletes.load(Ordering::SeqCst), 0);
    assert_eq!(
        reaper.reap().await.unwrap(),
        Default::default(),
        "not before the back-off ends"
    );
    app.clock.advance(Duration::from_secs(30));
    let retried = reaper.reap().await.unwrap();
    assert!(retried.failed.is_empty(), "{retried:?}");
    assert_eq!(flaky.deletes.load(Ordering::SeqCst), 1);
    assert_eq!(status(&app, &bob, "bob").await["state"], "DESTROYING");
}

#[tokio::test]
async fn an_orphan_stack_is_adopted_and_later_reaped() {
    let app = app_reaped_by_hand().await;
    let carol = member(&app, "carol");
    let provisioner = &app.state.provisioner;
    provisioner
        .cloud
        .create_stack(&StackSpec {
            cluster: name("carol"),
            node_capacity: NodeCapacity::new(2),
            version: Version::latest(),
            is_public: false,
            owner: "carol".into(),
        })
        .await
        .unwrap();
    let reconciled = provisioner.reconcile().await.unwrap();
    assert_eq!(reconciled.adopted, ["carol"]);
    let adopted = status(&app, &carol, "carol").await;
    assert_eq!(adopted["owner"], "carol");
    assert_eq!(adopted["seconds_remaining"], 60 * 60);
    app.clock.advance(Duration::from_secs(60 * 60));
    assert_eq!(provisioner.reap().await.unwrap().destroyed, ["carol"]);
}

#[tokio::test]
async fn a_deploy_recorded_by_a_process_that_died_before_creating_the_stack_is_finished() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    let provisioner = &app.state.provisioner;
    let now = app.clock.now();
    provisioner
        .store
        .begin_deploy(&recorded("bob", now + Duration::from_secs(3600), None, now))
        .await
        .unwrap();
    assert!(
        provisioner.reconcile().await.unwrap().resumed.is_empty(),
        "may still be in flight"
    );
    app.clock.advance(Duration::from_secs(121));
    assert_eq!(provisioner.reconcile().await.unwrap().resumed, ["bob"]);
    assert_eq!(status(&app, &bob, "bob").await["state"], "DEPLOYING");
}

#[tokio::test]
async fn a_record_whose_stack_vanished_is_closed() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 30).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let provisioner = &app.state.provisioner;
    provisioner.cloud.delete_stack(&name("bob")).await.unwrap();
    for _ in 0..100 {
        if provisioner
            .cloud
            .describe_stack(&name("bob"))
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
        app.clock.advance(STEP);
    }
    assert_eq!(provisioner.reconcile().await.unwrap().closed, ["bob"]);
    assert!(provisioner.store.open_clusters().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_reap_command_destroys_what_is_due_in_the_data_directory() {
    let app = app_reaped_by_hand().await;
    let provisioner = &app.state.provisioner;
    let stack_id = provisioner
        .cloud
        .create_stack(&StackSpec {
            cluster: name("bob"),
            node_capacity: NodeCapacity::new(1),
            version: Version::latest(),
            is_public: false,
            owner: "bob".into(),
        })
        .await
        .unwrap();
    let past = app.clock.now() - Duration::from_secs(60);
    provisioner
        .store
        .begin_deploy(&recorded("bob", past, Some(stack_id), past))
        .await
        .unwrap();
    let before = provisioner.store.cluster("bob").await.unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sliderule-backend"))
        .args(["reap", "--demo", "--data-dir"])
        .arg(app.data_dir())
        .env_clear()
        .output()
        .await
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout} {stderr}");
    assert!(
        stdout.contains("destroyed bob"),
        "{stdout} {stderr}; the record before: {before:?}"
    );
    let after = provisioner.store.cluster("bob").await.unwrap().unwrap();
    assert_eq!(after.deadline, None, "the reaper cleared the deadline");
    let audit = provisioner.store.audit_page(None, 1).await.unwrap();
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].action.as_str()),
        ("reaper", "reap")
    );
}
