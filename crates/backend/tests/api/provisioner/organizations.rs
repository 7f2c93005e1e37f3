//! Organizations through the provisioner (organizations.md): members' capacity requests pooled
//! into one cluster that wakes, resizes and sleeps; the reaper at each request's expiry; bounds;
//! membership requests and admins' decisions; outsiders refused.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sliderule_backend::clock::Clock as _;
use sliderule_protocol::ClusterName;

use super::reaper::replica;
use super::support::*;
use crate::helpers::TestApp;

/// A local account's access token, signed in with its demo password.
pub async fn local(app: &TestApp, username: &str) -> String {
    let response = app
        .client
        .post(app.url("/auth/local/token"))
        .json(&json!({ "username": username, "password": format!("demo-password-{username}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{username} signs in");
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn requests(status: &Value) -> Vec<(String, u64)> {
    status["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| {
            (
                r["user"].as_str().unwrap().to_owned(),
                r["nodes"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn ask(app: &TestApp, token: &str, nodes: u32, ttl: u32) -> Value {
    deploy(app, token, "icesat2", nodes, ttl).await
}

/// Steps simulated time until the cluster runs with `nodes` nodes, sweeping the organizations
/// at each step as the server's reaper loop does while one waits for its cluster.
async fn until_running_at(app: &TestApp, token: &str, nodes: u64) -> Value {
    for _ in 0..100 {
        app.state.provisioner.sweep_organizations().await.unwrap();
        let body = status(app, token, "icesat2").await;
        if body["state"] == "RUNNING" && body["current_nodes"] == nodes {
            return body;
        }
        app.clock.advance(STEP);
    }
    panic!("icesat2 never ran with {nodes} nodes");
}

fn icesat2() -> ClusterName {
    ClusterName::parse("icesat2").unwrap()
}

#[tokio::test]
async fn two_members_requests_pool_into_one_cluster_that_sleeps_when_both_are_withdrawn() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    let erin = local(&app, "erin").await;

    let first = ask(&app, &bob, 2, 60).await;
    assert_eq!(
        first["state"], "DEPLOYING",
        "the first request wakes it: {first}"
    );
    assert_eq!(requests(&first), [("bob".to_owned(), 2)]);
    assert_eq!(
        (first["min_nodes"].as_u64(), first["max_nodes"].as_u64()),
        (Some(0), Some(6))
    );
    until_running_at(&app, &bob, 2).await;

    let pooled = ask(&app, &erin, 3, 30).await;
    assert_eq!(pooled["node_capacity"], 5, "2 + 3: {pooled}");
    assert_eq!(requests(&pooled).len(), 2);
    until_running_at(&app, &bob, 5).await;

    // A member's destroy withdraws only their own request.
    let withdrawn = ok(&app, &erin, "/destroy", json!({ "cluster": "icesat2" })).await;
    assert_eq!(withdrawn["state"], "UPDATING", "{withdrawn}");
    until_running_at(&app, &bob, 2).await;
    let asleep = ok(&app, &bob, "/destroy", json!({ "cluster": "icesat2" })).await;
    assert_eq!(
        asleep["state"], "DESTROYING",
        "the last withdrawal puts it to sleep"
    );
    let slept = until_state(&app, &bob, "icesat2", "NOT_FOUND").await;
    assert_eq!(requests(&slept), Vec::<(String, u64)>::new());
    assert_eq!(
        slept["max_nodes"], 6,
        "a sleeping organization still answers /status"
    );

    // The next request wakes it.
    let woken = ask(&app, &erin, 1, 15).await;
    assert_eq!(woken["state"], "DEPLOYING");
    until_running_at(&app, &erin, 1).await;
    let audit: Vec<String> = app
        .state
        .store
        .audit_page(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.cluster == "icesat2")
        .map(|e| e.action)
        .collect();
    for action in [
        "capacity_request",
        "wake",
        "resize",
        "capacity_withdraw",
        "sleep",
    ] {
        assert!(audit.contains(&action.to_owned()), "{action} in {audit:?}");
    }
}

#[tokio::test]
async fn the_target_is_each_users_highest_request_clamped_to_max_nodes() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    let erin = local(&app, "erin").await;
    ask(&app, &bob, 4, 60).await;
    // A v5 deploy replaces the caller's request: bob's 4 becomes 1.
    let replaced = ask(&app, &bob, 1, 60).await;
    assert_eq!(requests(&replaced), [("bob".to_owned(), 1)]);
    let clamped = ask(&app, &erin, 9, 60).await;
    assert_eq!(clamped["node_capacity"], 6, "1 + 9 clamped to 6: {clamped}");
}

#[tokio::test]
async fn outsiders_are_refused_and_bad_requests_change_nothing() {
    let app = app_reaped_by_hand().await;
    let carol = member(&app, "carol");
    let (status, _, description) = refused(
        &app,
        &carol,
        "/deploy",
        json!({ "cluster": "icesat2", "node_capacity": 1, "ttl": 30 }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        description,
        "you are not a member of organization icesat2; ask to join it (Request membership)"
    );
    let bob = member(&app, "bob");
    for (body, expected) in [
        (
            json!({ "cluster": "icesat2", "node_capacity": 1, "ttl": 10 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "cluster": "icesat2", "node_capacity": 1, "ttl": 721 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "cluster": "icesat2", "node_capacity": 11, "ttl": 30 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "cluster": "icesat2", "node_capacity": -1, "ttl": 30 }),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, _, _) = refused(&app, &bob, "/deploy", body.clone()).await;
        assert_eq!(status, expected, "{body}");
    }
    let (status, _, description) =
        refused(&app, &bob, "/destroy", json!({ "cluster": "icesat2" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        description,
        "bob has no live capacity request on organization icesat2"
    );
    let (status, _, _) = refused(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "icesat2", "ttl": 60 }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        app.state
            .store
            .capacity_requests("icesat2", app.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.state.store.cluster("icesat2").await.unwrap().is_none(),
        "nothing was deployed"
    );
}

#[tokio::test]
async fn the_reaper_shrinks_at_a_requests_expiry_to_the_second_sleeps_at_the_last_and_a_new_request_wakes_it()
 {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    let erin = local(&app, "erin").await;
    ask(&app, &bob, 2, 60).await;
    ask(&app, &erin, 1, 15).await;
    until_running_at(&app, &bob, 3).await;
    let erin_left = status(&app, &bob, "icesat2").await["seconds_remaining"]
        .as_u64()
        .unwrap();
    app.clock.advance(Duration::from_secs(erin_left - 1));
    let early = app.state.provisioner.reap().await.unwrap();
    assert!(
        early.reevaluated.is_empty(),
        "not a second early: {early:?}"
    );
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(
        app.state.provisioner.reap().await.unwrap().reevaluated,
        ["icesat2"]
    );
    let shrunk = until_running_at(&app, &bob, 2).await;
    assert_eq!(requests(&shrunk), [("bob".to_owned(), 2)]);

    let bob_left = shrunk["seconds_remaining"].as_u64().unwrap();
    app.clock.advance(Duration::from_secs(bob_left));
    assert_eq!(
        app.state.provisioner.reap().await.unwrap().reevaluated,
        ["icesat2"]
    );
    assert_eq!(status(&app, &bob, "icesat2").await["state"], "DESTROYING");
    until_gone(&app, &bob).await;

    ask(&app, &erin, 2, 30).await;
    until_running_at(&app, &erin, 2).await;
}

/// Steps time and reaps until the sleeping cluster's stack is gone and its record closed.
async fn until_gone(app: &TestApp, token: &str) {
    for _ in 0..100 {
        app.state.provisioner.reap().await.unwrap();
        if status(app, token, "icesat2").await["state"] == "NOT_FOUND" {
            return;
        }
        app.clock.advance(STEP);
    }
    panic!("icesat2 never went to sleep");
}

#[tokio::test]
async fn admins_set_bounds_a_floor_keeps_it_awake_and_members_may_not() {
    let app = app_reaped_by_hand().await;
    let alice = owner(&app);
    let bob = member(&app, "bob");
    let (status_code, _, description) = refused(
        &app,
        &bob,
        "/organizations/configure",
        json!({ "organization": "icesat2", "min_nodes": 1 }),
    )
    .await;
    assert_eq!(status_code, StatusCode::FORBIDDEN);
    assert_eq!(
        description,
        "configuring an organization is for admins of organization icesat2"
    );
    let (status_code, _, description) = refused(
        &app,
        &alice,
        "/organizations/configure",
        json!({ "organization": "icesat2", "min_nodes": 4, "max_nodes": 3 }),
    )
    .await;
    assert_eq!(status_code, StatusCode::BAD_REQUEST);
    assert!(
        description.contains("min_nodes 4 is more than max_nodes 3"),
        "{description}"
    );
    let (status_code, _, description) = refused(
        &app,
        &alice,
        "/organizations/configure",
        json!({ "organization": "icesat2", "max_nodes": 501 }),
    )
    .await;
    assert_eq!(status_code, StatusCode::BAD_REQUEST);
    assert_eq!(
        description,
        "max_nodes 501 is more than the allowed maximum of 500"
    );

    let floor = ok(
        &app,
        &alice,
        "/organizations/configure",
        json!({ "organization": "icesat2", "min_nodes": 1 }),
    )
    .await;
    assert_eq!(
        (floor["min_nodes"].as_u64(), floor["target_nodes"].as_u64()),
        (Some(1), Some(1))
    );
    let running = until_running_at(&app, &bob, 1).await;
    assert!(
        running["auto_shutdown"].is_null(),
        "a floor has no deadline: {running}"
    );
    // The floor keeps it awake with no request; an admin's destroy ends it.
    app.clock.advance(Duration::from_secs(24 * 3600));
    app.state.provisioner.reap().await.unwrap();
    assert_eq!(status(&app, &bob, "icesat2").await["state"], "RUNNING");
    let destroyed = ok(&app, &alice, "/destroy", json!({ "cluster": "icesat2" })).await;
    assert_eq!(destroyed["state"], "DESTROYING");
}

#[tokio::test]
async fn a_membership_request_approved_by_an_admin_takes_effect_at_the_next_sign_in() {
    let app = app_reaped_by_hand().await;
    let frank = local(&app, "frank").await;
    let listed = ok(&app, &frank, "/organizations", json!({})).await;
    let icesat2 = &listed["organizations"][0];
    assert_eq!(
        (icesat2["name"].as_str(), icesat2["standing"].as_str()),
        (Some("icesat2"), Some("outsider"))
    );
    assert_eq!(
        icesat2["requests"],
        json!([]),
        "outsiders do not see who asked"
    );

    // A second after the seed's membership of erin, so the newest-first order is clear.
    app.clock.advance(Duration::from_secs(1));
    let asked = ok(
        &app,
        &frank,
        "/membership/request",
        json!({ "organization": "icesat2" }),
    )
    .await;
    assert_eq!(asked["state"], "pending");
    let bob = member(&app, "bob");
    let (status_code, _, _) = refused(
        &app,
        &bob,
        "/membership/request",
        json!({ "organization": "icesat2" }),
    )
    .await;
    assert_eq!(
        status_code,
        StatusCode::CONFLICT,
        "bob is a member through his team"
    );
    let (status_code, _, _) = refused(
        &app,
        &bob,
        "/membership/approve",
        json!({ "organization": "icesat2", "user": "frank" }),
    )
    .await;
    assert_eq!(status_code, StatusCode::FORBIDDEN, "members do not decide");

    let alice = owner(&app);
    let pending = ok(
        &app,
        &alice,
        "/membership/list",
        json!({ "organization": "icesat2" }),
    )
    .await;
    let users: Vec<&str> = pending["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["frank", "erin"]);
    let approved = ok(
        &app,
        &alice,
        "/membership/approve",
        json!({ "organization": "icesat2", "user": "frank" }),
    )
    .await;
    assert_eq!(
        (approved["state"].as_str(), approved["decided_by"].as_str()),
        (Some("active"), Some("alice"))
    );
    // The old token still has no provisioner access; a new sign-in has.
    let (status_code, _, _) = refused(
        &app,
        &frank,
        "/deploy",
        json!({ "cluster": "icesat2", "node_capacity": 1, "ttl": 30 }),
    )
    .await;
    assert_ne!(status_code, StatusCode::OK);
    let frank = local(&app, "frank").await;
    ask(&app, &frank, 1, 30).await;
    let audit = app.state.store.audit_page(None, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "membership_decision" && e.actor == "alice")
    );
}

#[tokio::test]
async fn a_deactivated_member_is_shut_out_at_once_and_their_requests_stop_counting() {
    let app = app_reaped_by_hand().await;
    let erin = local(&app, "erin").await;
    ask(&app, &erin, 2, 60).await;
    let alice = owner(&app);
    let (status_code, _, description) = refused(
        &app,
        &alice,
        "/membership/deny",
        json!({ "organization": "icesat2", "user": "erin" }),
    )
    .await;
    assert_eq!(status_code, StatusCode::CONFLICT);
    assert_eq!(
        description,
        "erin's membership of icesat2 is active; it cannot become denied"
    );
    let (status_code, _, _) = refused(
        &app,
        &alice,
        "/membership/approve",
        json!({ "organization": "icesat2", "user": "nobody" }),
    )
    .await;
    assert_eq!(status_code, StatusCode::NOT_FOUND);
    ok(
        &app,
        &alice,
        "/membership/deactivate",
        json!({ "organization": "icesat2", "user": "erin" }),
    )
    .await;
    let (status_code, _, _) =
        refused(&app, &erin, "/status", json!({ "cluster": "icesat2" })).await;
    assert_eq!(
        status_code,
        StatusCode::FORBIDDEN,
        "her token still names icesat2, the store wins"
    );
    assert!(
        app.state
            .store
            .capacity_requests("icesat2", app.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        status(&app, &alice, "icesat2").await["state"],
        "DESTROYING",
        "nothing left: it sleeps"
    );
}

#[tokio::test]
async fn owners_create_organizations_and_nobody_else_does() {
    let app = app_reaped_by_hand().await;
    let alice = owner(&app);
    let created = ok(
        &app,
        &alice,
        "/organizations/create",
        json!({ "organization": "atl06", "max_nodes": 4, "admins": ["Carol"] }),
    )
    .await;
    assert_eq!(created["admins"], json!(["carol"]));
    assert_eq!(created["standing"], "admin");
    let (status_code, code, _) = refused(
        &app,
        &alice,
        "/organizations/create",
        json!({ "organization": "atl06", "max_nodes": 4 }),
    )
    .await;
    assert_eq!(
        (status_code, code.as_str()),
        (StatusCode::CONFLICT, "already_exists")
    );
    let bob = member(&app, "bob");
    let (status_code, _, _) = refused(
        &app,
        &bob,
        "/organizations/create",
        json!({ "organization": "mine", "max_nodes": 4 }),
    )
    .await;
    assert_eq!(status_code, StatusCode::FORBIDDEN);
    // carol, its admin, configures it; her token works since admins are members.
    let carol = member(&app, "carol");
    ok(
        &app,
        &carol,
        "/organizations/configure",
        json!({ "organization": "atl06", "max_nodes": 2 }),
    )
    .await;
    let (status_code, _, _) = refused(
        &app,
        &carol,
        "/organizations/configure",
        json!({ "organization": "atl06", "admins": ["bob"] }),
    )
    .await;
    assert_eq!(
        status_code,
        StatusCode::FORBIDDEN,
        "only owners change admins"
    );
    let (status_code, _, _) = refused(
        &app,
        &carol,
        "/organizations/configure",
        json!({ "organization": "atl06", "is_public": true }),
    )
    .await;
    assert_eq!(
        status_code,
        StatusCode::FORBIDDEN,
        "only owners change visibility"
    );
    let public = ok(
        &app,
        &alice,
        "/organizations/configure",
        json!({ "organization": "atl06", "is_public": true }),
    )
    .await;
    assert_eq!(public["is_public"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_through_two_processes_on_one_sqlite_file_create_one_stack_with_the_pooled_target()
 {
    let app = app_reaped_by_hand().await;
    let counting = Arc::new(Faulty::new(app.state.provisioner.cloud.clone(), 0));
    // The second "process" opens the same database file with a connection of its own.
    let second_store: Arc<dyn sliderule_backend::store::Store> = Arc::new(
        sliderule_backend::store::SqliteStore::open(&app.data_dir().join("state.db")).unwrap(),
    );
    let mut second = replica(&app, counting.clone(), "replica-2");
    second.store = second_store;
    let replicas = [
        Arc::new(replica(&app, counting.clone(), "replica-1")),
        Arc::new(second),
    ];
    let org = app
        .state
        .store
        .organization("icesat2")
        .await
        .unwrap()
        .unwrap();
    let users = ["u1", "u2", "u3", "u4", "u5", "u6"];
    let mut tasks = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let provisioner = replicas[i % 2].clone();
        let org = org.clone();
        let user = (*user).to_owned();
        tasks.push(tokio::spawn(async move {
            provisioner
                .request_capacity(
                    &org,
                    &user,
                    1,
                    sliderule_protocol::Ttl::from_minutes(30),
                    true,
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(counting.creates.load(Ordering::SeqCst), 1, "one stack");
    let record = app.state.store.cluster("icesat2").await.unwrap().unwrap();
    assert_eq!(record.node_capacity, 6, "six users, one node each");
    let evaluation = app
        .state
        .provisioner
        .reevaluate(&icesat2(), "test")
        .await
        .unwrap();
    assert_eq!(evaluation.target, 6);
}

#[tokio::test]
async fn a_sleeping_organization_that_never_ran_has_a_status_and_no_events() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    let asleep = status(&app, &bob, "icesat2").await;
    assert_eq!(asleep["state"], "NOT_FOUND");
    assert_eq!(requests(&asleep), Vec::<(String, u64)>::new());
    let events = ok(&app, &bob, "/events", json!({ "cluster": "icesat2" })).await;
    assert_eq!(events, json!([]));
}

#[tokio::test]
async fn an_organizations_events_tell_its_requests_wakes_and_sleeps_beside_the_stacks() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    ask(&app, &bob, 2, 15).await;
    until_running_at(&app, &bob, 2).await;
    let left = status(&app, &bob, "icesat2").await["seconds_remaining"]
        .as_u64()
        .unwrap();
    app.clock.advance(Duration::from_secs(left));
    app.state.provisioner.reap().await.unwrap();
    let events = ok(&app, &bob, "/events", json!({ "cluster": "icesat2" })).await;
    let own: Vec<(String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ResourceType"] == "SlideRule::Organization")
        .map(|e| {
            (
                e["ResourceStatus"].as_str().unwrap().to_owned(),
                e["ResourceStatusReason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let statuses: Vec<&str> = own.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        statuses,
        ["SLEPT", "EXPIRED", "WOKE", "REQUESTED"],
        "newest first: {own:?}"
    );
    assert!(
        own[3].1.starts_with("bob asked for 2 nodes until "),
        "{own:?}"
    );
    assert_eq!(own[2].1, "woke at 2 nodes for bob");
    let stack_events = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ResourceType"] == "AWS::CloudFormation::Stack")
        .count();
    assert!(stack_events > 0, "the stack's own events are there too");
}
