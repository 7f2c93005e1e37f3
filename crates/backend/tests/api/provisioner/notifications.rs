//! Notifications (provisioner.md, "E-mail notifications"): a deploy, a destroy at the deadline and
//! a membership decision each write a message to the person concerned (when their address is
//! known) and the operators; owners read the outbox; members may not; off, there is none. With
//! a sender, the same messages reach SES (moto's); a refusal is counted and fails nothing.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::organizations::local;
use super::support::*;
use crate::helpers::{TestApp, TestConfig, metric};
use crate::moto::MotoServer;
use sliderule_backend::notifications::ses::Ses;

const SENDER: &str = "noreply@example.org";

/// A demo app reaped by hand whose notifications go to moto's SES, sent as [`SENDER`].
async fn app_mailing_to(moto: &MotoServer) -> TestApp {
    let reaped_by_hand = [
        ("provisioner.reaper_period_secs", 3600),
        ("provisioner.destroy_poll_secs", 3600),
        ("provisioner.reconcile_period_secs", 3600),
    ];
    TestApp::spawn_with(TestConfig {
        values: reaped_by_hand
            .into_iter()
            .map(|(key, secs)| (key, toml::Value::Integer(secs)))
            .collect(),
        mailer: Some(Arc::new(Ses::new(&moto.sdk_config().await, SENDER))),
        ..Default::default()
    })
    .await
}

/// Waits (boundedly) until moto holds `count` messages, and returns them.
async fn mail(moto: &MotoServer, count: usize) -> Vec<Value> {
    for _ in 0..500 {
        let sent = moto.sent_mail().await;
        if sent.len() >= count {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "moto never held {count} messages: {:?}",
        moto.sent_mail().await
    );
}

/// Waits (boundedly) until the metric sample reads `value`.
async fn metric_reaches(app: &TestApp, sample: &str, value: f64) {
    for _ in 0..500 {
        if metric(app, sample).await == Some(value) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{sample} never reached {value}: {:?}",
        metric(app, sample).await
    );
}

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

#[tokio::test]
async fn deploys_destroys_at_the_deadline_and_membership_decisions_are_mailed_through_ses() {
    let moto = MotoServer::start().await;
    moto.verify_email(SENDER).await;
    let app = app_mailing_to(&moto).await;
    let bob = member(&app, "bob");
    let alice = owner(&app);
    // Before the clock moves: local sign-ins mint tokens on it.
    let frank = local(&app, "frank").await;
    ok(
        &app,
        &frank,
        "/membership/request",
        json!({ "organization": "icesat2" }),
    )
    .await;
    ok(
        &app,
        &alice,
        "/membership/approve",
        json!({ "organization": "icesat2", "user": "frank" }),
    )
    .await;

    deploy(&app, &bob, "bob", 2, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    app.clock.advance(Duration::from_secs(16 * 60));
    app.state.provisioner.reap().await.unwrap();
    let sent = mail(&moto, 3).await;
    let summary: Vec<(String, Value, String)> = sent
        .iter()
        .map(|m| {
            (
                m["subject"].as_str().unwrap().to_owned(),
                m["destinations"]["ToAddresses"].clone(),
                m["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "SlideRule membership of icesat2: active".to_owned(),
                json!(["operators@example.org", "frank@example.org"]),
                SENDER.to_owned()
            ),
            (
                "SlideRule cluster deployed (bob/bob)".to_owned(),
                json!(["operators@example.org"]),
                SENDER.to_owned()
            ),
            (
                "SlideRule cluster destroyed at its deadline (bob)".to_owned(),
                json!(["operators@example.org"]),
                SENDER.to_owned()
            ),
        ]
    );
    assert!(
        sent[1]["body"]
            .as_str()
            .unwrap()
            .starts_with("bob deployed bob with 2 nodes"),
        "{sent:?}"
    );
    metric_reaches(&app, "sliderule_notification_deliveries_total", 3.0).await;
    assert_eq!(
        metric(&app, "sliderule_notification_failures_total").await,
        Some(0.0)
    );
}

#[tokio::test]
async fn a_message_ses_refuses_is_counted_and_the_deploy_still_succeeds() {
    let moto = MotoServer::start().await;
    // The sender is not a verified identity: SES refuses every message.
    let app = app_mailing_to(&moto).await;
    let bob = member(&app, "bob");
    let deployed = deploy(&app, &bob, "bob", 1, 15).await;
    assert_eq!(deployed["cluster"], "bob", "{deployed}");
    metric_reaches(&app, "sliderule_notification_failures_total", 1.0).await;
    assert_eq!(
        metric(&app, "sliderule_notification_deliveries_total").await,
        Some(0.0)
    );
    assert!(moto.sent_mail().await.is_empty());
    // The outbox still tells it.
    let messages = outbox(&app, &owner(&app)).await;
    assert_eq!(
        subjects(&messages),
        ["SlideRule cluster deployed (bob/bob)"]
    );
}
