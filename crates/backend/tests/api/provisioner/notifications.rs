//! Notifications (provisioner.md, "E-mail notifications"): a deploy, a destroy at the deadline and
//! a membership decision each write a message to the person concerned (when their address is
//! known) and the operators; owners read the outbox; members may not; off, there is none.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::organizations::local;
use super::support::*;
use crate::helpers::{TestApp, TestConfig};

/// The outbox as an owner reads it (`token` minted before the test moves the clock: tokens are
/// checked against the real time).
async fn outbox(app: &TestApp, token: &str) -> Vec<Value> {
    ok(app, token, "/outbox", json!({})).await["messages"]
        .as_array()
        .unwrap()
        .clone()
}

fn subjects(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_deploy_and_a_destroy_at_the_deadline_are_told_to_the_operators() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    let alice = owner(&app);
    deploy(&app, &bob, "bob", 2, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    app.clock.advance(Duration::from_secs(16 * 60));
    app.state.provisioner.reap().await.unwrap();
    let messages = outbox(&app, &alice).await;
    assert_eq!(
        subjects(&messages),
        [
            "SlideRule cluster destroyed at its deadline (bob)",
            "SlideRule cluster deployed (bob/bob)"
        ],
        "newest first"
    );
    assert_eq!(messages[1]["to"], json!(["operators@example.org"]));
    assert!(
        messages[1]["body"]
            .as_str()
            .unwrap()
            .starts_with("bob deployed bob with 2 nodes, version latest, until "),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_membership_decision_reaches_the_local_account_it_concerns() {
    let app = app_reaped_by_hand().await;
    let frank = local(&app, "frank").await;
    ok(
        &app,
        &frank,
        "/membership/request",
        json!({ "organization": "icesat2" }),
    )
    .await;
    let alice = owner(&app);
    ok(
        &app,
        &alice,
        "/membership/approve",
        json!({ "organization": "icesat2", "user": "frank" }),
    )
    .await;
    let messages = outbox(&app, &alice).await;
    assert_eq!(
        messages[0]["subject"],
        "SlideRule membership of icesat2: active"
    );
    assert_eq!(
        messages[0]["to"],
        json!(["operators@example.org", "frank@example.org"])
    );
}

#[tokio::test]
async fn only_owners_read_the_outbox_and_without_notifications_there_is_none() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let (status, _, _) = refused(&app, &bob, "/outbox", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let off = TestApp::spawn_with(TestConfig {
        values: vec![("notifications.enabled", toml::Value::Boolean(false))],
        ..Default::default()
    })
    .await;
    let alice = owner(&off);
    let (status, _, _) = refused(&off, &alice, "/outbox", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    deploy(&off, &member(&off, "bob"), "bob", 1, 15).await;
}
