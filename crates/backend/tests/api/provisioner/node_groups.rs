//! Per-user node groups (provisioner.md, "Per-user node groups"): `/<action>/<user>` for the
//! caller's own nodes on a running cluster (`sliderule` being the public one), their own
//! deadline in the reaper, reports under `"users"`, destroyed with their cluster, charged to
//! their user's budget.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sliderule_backend::jobs;

use super::support::*;
use crate::helpers::{TestApp, TestConfig};

/// A demo app with the public cluster `public` (deployed at start), reaped by hand.
async fn app_with_public_cluster(extra: Vec<(&'static str, toml::Value)>) -> TestApp {
    let mut values = vec![
        (
            "provisioner.public_cluster",
            toml::Value::String("public".into()),
        ),
        ("provisioner.reaper_period_secs", toml::Value::Integer(3600)),
        ("provisioner.destroy_poll_secs", toml::Value::Integer(3600)),
        (
            "provisioner.reconcile_period_secs",
            toml::Value::Integer(3600),
        ),
    ];
    values.extend(extra);
    let app = TestApp::spawn_with(TestConfig {
        values,
        ..Default::default()
    })
    .await;
    until_state(&app, &owner(&app), "public", "RUNNING").await;
    app
}

/// Lets simulated time pass until the caller's node group on `cluster` is in `state`.
async fn until_nodes(app: &TestApp, token: &str, user: &str, cluster: &str, state: &str) -> Value {
    for _ in 0..100 {
        let body = ok(
            app,
            token,
            &format!("/status/{user}"),
            json!({ "cluster": cluster }),
        )
        .await;
        if body["state"] == state {
            return body;
        }
        app.clock.advance(STEP);
    }
    panic!("{user}'s node group on {cluster} never reached {state}");
}

/// Lets simulated time pass until the caller's node group has `nodes` nodes up.
async fn until_all_nodes(
    app: &TestApp,
    token: &str,
    user: &str,
    cluster: &str,
    nodes: u32,
) -> Value {
    for _ in 0..100 {
        let body = ok(
            app,
            token,
            &format!("/status/{user}"),
            json!({ "cluster": cluster }),
        )
        .await;
        if body["current_nodes"] == nodes {
            return body;
        }
        app.clock.advance(STEP);
    }
    panic!("{user}'s node group on {cluster} never had {nodes} nodes");
}

async fn deploy_nodes(
    app: &TestApp,
    token: &str,
    user: &str,
    cluster: &str,
    nodes: u32,
    ttl: u32,
) -> Value {
    ok(
        app,
        token,
        &format!("/deploy/{user}"),
        json!({ "cluster": cluster, "node_capacity": nodes, "ttl": ttl, "is_public": false, "version": "latest" }),
    )
    .await
}

#[tokio::test]
async fn a_member_deploys_extends_reads_and_destroys_a_node_group_on_the_public_cluster() {
    let app = app_with_public_cluster(vec![]).await;
    let bob = member(&app, "bob");
    let alice = owner(&app);
    let deployed = deploy_nodes(&app, &bob, "bob", "sliderule", 2, 60).await;
    assert_eq!(deployed["cluster"], "public");
    assert_eq!(deployed["user"], "bob");
    assert_eq!(deployed["stack_name"], "public-cluster-bob-asg");
    assert_eq!(deployed["node_capacity"], 2);
    assert_eq!(deployed["seconds_remaining"], 3600);

    let running = until_nodes(&app, &bob, "bob", "sliderule", "RUNNING").await;
    assert_eq!(running["response"]["StackStatus"], "CREATE_COMPLETE");
    let running = until_all_nodes(&app, &bob, "bob", "sliderule", 2).await;
    assert_eq!(running["state"], "RUNNING");
    // The cluster's own discovery counts bob's service apart from the cluster's nodes.
    let discovered: Value = app
        .client
        .post(app.url("/clusters/sliderule/discovery/status"))
        .body(json!({ "service": "bob" }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovered, json!({ "nodes": 2 }));

    let extended = ok(
        &app,
        &bob,
        "/extend/bob",
        json!({ "cluster": "sliderule", "ttl": 120 }),
    )
    .await;
    assert_eq!(extended["seconds_remaining"], 7200);
    let events = ok(&app, &bob, "/events/bob", json!({ "cluster": "sliderule" })).await;
    let ids: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["LogicalResourceId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"NodeGroup"), "{ids:?}");
    assert!(ids.contains(&"public-cluster-bob-asg"), "{ids:?}");

    // bob may not use `public` as a cluster of his own, but sees it with his nodes.
    let report = ok(&app, &bob, "/report/clusters", json!({})).await;
    assert_eq!(report["public"]["users"]["bob"]["current_nodes"], 2);
    assert_eq!(report["public"]["users"]["bob"]["node_capacity"], 2);

    let destroyed = ok(
        &app,
        &bob,
        "/destroy/bob",
        json!({ "cluster": "sliderule" }),
    )
    .await;
    assert_eq!(destroyed["state"], "DESTROYING", "{destroyed}");
    assert_eq!(destroyed["auto_shutdown"], Value::Null);
    for _ in 0..20 {
        app.clock.advance(STEP);
    }
    let reaped = jobs::reap(&app.state).await.unwrap();
    assert_eq!(reaped.destroys_pending, 0, "{reaped:?}");
    let gone = ok(&app, &bob, "/status/bob", json!({ "cluster": "sliderule" })).await;
    assert_eq!(gone["state"], "NOT_FOUND");
    // Its events outlive it; the cluster is untouched.
    let events = ok(&app, &bob, "/events/bob", json!({ "cluster": "sliderule" })).await;
    assert_eq!(events[0]["ResourceStatus"], "DELETE_COMPLETE");
    let public = status(&app, &alice, "public").await;
    assert_eq!(public["state"], "RUNNING");
    assert!(
        ok(&app, &bob, "/report/clusters", json!({}))
            .await
            .get("public")
            .is_none()
    );
}

#[tokio::test]
async fn another_persons_path_is_forbidden_and_bad_requests_change_nothing() {
    let app = app_with_public_cluster(vec![]).await;
    let bob = member(&app, "bob");
    let (status, error, description) = refused(
        &app,
        &bob,
        "/deploy/carol",
        json!({ "cluster": "sliderule", "node_capacity": 1, "ttl": 60 }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );
    assert!(description.contains("/<action>/bob"), "{description}");
    let (status, _, description) = refused(
        &app,
        &bob,
        "/deploy/bob",
        json!({ "cluster": "sliderule", "node_capacity": 51, "ttl": 60 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(description.contains("51"), "{description}");
    // A cluster bob may not use.
    let (status, _, _) = refused(
        &app,
        &bob,
        "/deploy/bob",
        json!({ "cluster": "carol", "node_capacity": 1, "ttl": 60 }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // One of his that is not running.
    let (status, _, description) = refused(
        &app,
        &bob,
        "/deploy/bob",
        json!({ "cluster": "bob", "node_capacity": 1, "ttl": 60 }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(description.contains("not running"), "{description}");
    let (status, _, _) =
        refused(&app, &bob, "/status/bob", json!({ "cluster": "sliderule" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        app.state.store.open_node_groups().await.unwrap().is_empty(),
        "nothing was recorded"
    );
}

#[tokio::test]
async fn without_a_public_cluster_sliderule_names_none() {
    let app = TestApp::spawn().await;
    let (status, _, description) = refused(
        &app,
        &member(&app, "bob"),
        "/deploy/bob",
        json!({ "cluster": "sliderule", "node_capacity": 1, "ttl": 60 }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        description.contains("provisioner.public_cluster"),
        "{description}"
    );
}

#[tokio::test]
async fn the_reaper_destroys_a_node_group_at_its_own_deadline_and_leaves_its_cluster() {
    let app = app_with_public_cluster(vec![]).await;
    let bob = member(&app, "bob");
    let alice = owner(&app);
    deploy(&app, &bob, "bob", 1, 120).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    deploy_nodes(&app, &bob, "bob", "bob", 3, 15).await;
    until_nodes(&app, &bob, "bob", "bob", "RUNNING").await;
    let next = jobs::reap(&app.state).await.unwrap().next_deadline.unwrap();
    assert_eq!(
        next,
        app.state
            .store
            .node_group("bob", "bob")
            .await
            .unwrap()
            .unwrap()
            .deadline
            .unwrap(),
        "the node group's deadline is the next thing due"
    );

    app.clock.advance(Duration::from_secs(16 * 60));
    jobs::reap(&app.state).await.unwrap();
    let nodes = ok(&app, &bob, "/status/bob", json!({ "cluster": "bob" })).await;
    assert_eq!(nodes["state"], "DESTROYING", "{nodes}");
    assert_eq!(status(&app, &bob, "bob").await["state"], "RUNNING");
    let audit = ok(&app, &alice, "/audit", json!({ "limit": 5 })).await;
    let reaped = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "destroy_nodes" && e["actor"] == "reaper");
    assert!(reaped, "{audit}");
}

#[tokio::test]
async fn destroying_a_cluster_destroys_its_node_groups() {
    let app = app_with_public_cluster(vec![]).await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 120).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    deploy_nodes(&app, &bob, "bob", "bob", 2, 60).await;
    until_nodes(&app, &bob, "bob", "bob", "RUNNING").await;
    ok(&app, &bob, "/destroy", json!({ "cluster": "bob" })).await;
    let nodes = ok(&app, &bob, "/status/bob", json!({ "cluster": "bob" })).await;
    assert_eq!(nodes["state"], "DESTROYING", "{nodes}");
}

#[tokio::test]
async fn a_node_group_is_charged_to_its_users_own_budget() {
    let app = app_with_public_cluster(vec![("budgets.enabled", toml::Value::Boolean(true))]).await;
    let bob = member(&app, "bob");
    deploy_nodes(&app, &bob, "bob", "sliderule", 2, 120).await;
    until_nodes(&app, &bob, "bob", "sliderule", "RUNNING").await;
    // Tokens are checked against the real time: this one stays valid (1 h) as the clock moves.
    app.clock.advance(Duration::from_secs(30 * 60));
    app.state.provisioner.sweep_budgets().await.unwrap();
    let budget = ok(&app, &bob, "/budget", json!({ "account": "bob" })).await;
    let charged = budget["budgets"][0]["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "charge" && e["cluster"] == "public/bob");
    assert!(charged, "{budget}");
}
