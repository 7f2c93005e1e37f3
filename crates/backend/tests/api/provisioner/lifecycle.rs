//! The lifecycle through HTTP on the simulated cloud: deploy, watch it come up, update, extend,
//! read events, destroy.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::support::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn a_cluster_is_deployed_updated_extended_and_destroyed() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");

    let deployed = deploy(&app, &bob, "bob", 3, 30).await;
    assert_eq!(deployed["status"], true);
    assert_eq!(deployed["cluster"], "bob");
    assert_eq!(deployed["stack_name"], "bob-cluster");
    assert_eq!(deployed["state"], "DEPLOYING");
    assert_eq!(deployed["response"]["StackStatus"], "CREATE_IN_PROGRESS");
    assert_eq!(deployed["response"]["StackName"], "bob-cluster");
    assert_eq!(deployed["seconds_remaining"], 30 * 60);
    assert_eq!(deployed["node_capacity"], 3);
    assert_eq!(deployed["version"], "latest");
    assert_eq!(deployed["is_public"], false);
    assert_eq!(deployed["owner"], "bob");

    let running = until_state(&app, &bob, "bob", "RUNNING").await;
    assert_eq!(running["response"]["StackStatus"], "CREATE_COMPLETE");
    let mut nodes = running["current_nodes"].as_u64().unwrap();
    while nodes < 3 {
        app.clock.advance(STEP);
        let now = status(&app, &bob, "bob").await["current_nodes"]
            .as_u64()
            .unwrap();
        assert!(
            now >= nodes && now <= nodes + 1,
            "nodes join one by one: {nodes} → {now}"
        );
        nodes = now;
    }

    let updated = deploy(&app, &bob, "bob", 5, 30).await;
    assert_eq!(updated["state"], "UPDATING");
    assert_eq!(updated["node_capacity"], 5);
    let running = until_state(&app, &bob, "bob", "RUNNING").await;
    assert_eq!(running["response"]["StackStatus"], "UPDATE_COMPLETE");

    let extended = ok(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 60 }),
    )
    .await;
    assert_eq!(
        extended["seconds_remaining"],
        60 * 60,
        "extend replaces the deadline"
    );

    let events = ok(&app, &bob, "/events", json!({ "cluster": "bob" })).await;
    let events = events.as_array().unwrap();
    assert!(events.len() > 4, "{events:?}");
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["Timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert!(events.iter().any(
        |e| e["ResourceStatus"] == "CREATE_COMPLETE" && e["LogicalResourceId"] == "bob-cluster"
    ));

    let destroyed = ok(&app, &bob, "/destroy", json!({ "cluster": "bob" })).await;
    assert_eq!(
        destroyed,
        json!({ "status": true, "cluster": "bob", "state": "DESTROYING" })
    );
    let gone = until_state(&app, &bob, "bob", "NOT_FOUND").await;
    assert_eq!(gone["auto_shutdown"], serde_json::Value::Null);
    let after = ok(&app, &bob, "/events", json!({ "cluster": "bob" })).await;
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ResourceStatus"] == "DELETE_COMPLETE"),
        "events stay readable after the destroy"
    );
    let again = ok(&app, &bob, "/destroy", json!({ "cluster": "bob" })).await;
    assert_eq!(again["state"], "NOT_FOUND", "destroy is idempotent");
}

#[tokio::test]
async fn status_of_a_cluster_never_deployed_is_404() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let (status, error, _) = refused(&app, &bob, "/status", json!({ "cluster": "bob" })).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::NOT_FOUND, "does_not_exist")
    );
    let (status, _, _) = refused(&app, &bob, "/events", json!({ "cluster": "bob" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn extending_a_cluster_that_is_not_running_is_404() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let (status, error, _) = refused(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 60 }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::NOT_FOUND, "does_not_exist")
    );
}

#[tokio::test]
async fn a_repeated_deploy_while_deploying_moves_the_deadline_and_a_different_one_conflicts() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 2, 30).await;
    app.clock.advance(Duration::from_secs(1));
    let again = deploy(&app, &bob, "bob", 2, 60).await;
    assert_eq!(again["state"], "DEPLOYING");
    assert_eq!(again["seconds_remaining"], 60 * 60);
    let (status, error, _) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 4, "ttl": 60 }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::CONFLICT, "operation_in_progress")
    );
}

#[tokio::test]
async fn a_deploy_during_a_destroy_is_409() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 30).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    ok(&app, &bob, "/destroy", json!({ "cluster": "bob" })).await;
    let (status, error, _) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 1, "ttl": 30 }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::CONFLICT, "operation_in_progress")
    );
}

#[tokio::test]
async fn twenty_concurrent_deploys_of_one_cluster_create_one_stack() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let mut deploys = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let client = app.client.clone();
        let url = app.url("/provisioner/deploy");
        let bob = bob.clone();
        deploys.spawn(async move {
            client
                .post(url)
                .bearer_auth(bob)
                .body(r#"{"cluster": "icesat2", "node_capacity": 2, "ttl": 30}"#)
                .send()
                .await
                .expect("request is sent")
                .status()
        });
    }
    let statuses = deploys.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let stacks = app.state.store.current_simulated_stacks().await.unwrap();
    assert_eq!(stacks.len(), 1, "one stack");
    let events = ok(&app, &bob, "/events", json!({ "cluster": "icesat2" })).await;
    let creations = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["LogicalResourceId"] == "icesat2-cluster"
                && e["ResourceStatus"] == "CREATE_IN_PROGRESS"
        })
        .count();
    assert_eq!(creations, 1);
}
