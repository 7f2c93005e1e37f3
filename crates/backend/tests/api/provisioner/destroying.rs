//! Destroy lands in every state: pressing Destroy (or a deadline) records the intent, is
//! answered at once, and the reaper carries it out as soon as the cloud allows, without a
//! second request, across crashes, with failed deletes retried and their reason shown.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sliderule_backend::clock::Clock as _;
use sliderule_backend::store::ClusterPhase;
use sliderule_protocol::ClusterName;

use super::reaper::replica;
use super::support::*;
use crate::helpers::TestApp;

fn name(cluster: &str) -> ClusterName {
    ClusterName::parse(cluster).unwrap()
}

async fn destroy(app: &TestApp, token: &str, cluster: &str) -> Value {
    ok(app, token, "/destroy", json!({ "cluster": cluster })).await
}

/// Lets simulated time pass a step at a time, with only the reaper's sweeps acting (nobody asks
/// again), until the cluster is gone. Returns the states `/status` showed on the way.
async fn until_gone_by_the_reaper(app: &TestApp, token: &str, cluster: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..100 {
        app.state.provisioner.reap().await.unwrap();
        let now = status(app, token, cluster).await;
        let state = now["state"].as_str().unwrap().to_owned();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "NOT_FOUND" {
            return seen;
        }
        app.clock.advance(STEP);
    }
    panic!("{cluster} was never destroyed; states seen: {seen:?}");
}

/// Deploys `cluster` with 2 nodes, waits until it runs, and starts an update to 4.
async fn updating(app: &TestApp, token: &str, cluster: &str) {
    deploy(app, token, cluster, 2, 60).await;
    until_state(app, token, cluster, "RUNNING").await;
    let update = deploy(app, token, cluster, 4, 60).await;
    assert_eq!(update["state"], "UPDATING", "{update}");
}

async fn record_is_closed(app: &TestApp, cluster: &str) {
    let record = app.state.provisioner.store.cluster(cluster).await.unwrap();
    let record = record.expect("the record is kept for history");
    assert_eq!(record.phase, ClusterPhase::Closed);
    assert_eq!(record.destroy, None);
}

#[tokio::test]
async fn a_destroy_during_an_update_is_accepted_and_lands_once_the_update_finishes() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    updating(&app, &bob, "bob").await;

    let answer = destroy(&app, &bob, "bob").await;
    assert_eq!(answer["state"], "DESTROYING", "{answer}");
    assert_eq!(answer["destroy_pending"], true, "{answer}");

    let pending = status(&app, &bob, "bob").await;
    assert_eq!(pending["state"], "UPDATING");
    assert_eq!(pending["destroy_pending"], true);
    assert_eq!(
        pending["auto_shutdown"],
        Value::Null,
        "the deadline is gone"
    );
    assert!(pending.get("destroy_error").is_none(), "{pending}");

    // The sweep that sees the update finished deletes the stack at once: it never shows RUNNING.
    let seen = until_gone_by_the_reaper(&app, &bob, "bob").await;
    assert_eq!(seen, ["UPDATING", "DESTROYING", "NOT_FOUND"]);
    record_is_closed(&app, "bob").await;
    let events = ok(&app, &bob, "/events", json!({ "cluster": "bob" })).await;
    assert_eq!(events[0]["ResourceStatus"], "DELETE_COMPLETE", "{events}");
}

#[tokio::test]
async fn a_pending_destroy_refuses_deploys_and_extends_and_a_second_destroy_is_the_same() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    updating(&app, &bob, "bob").await;
    destroy(&app, &bob, "bob").await;

    let (code, error, description) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 4, "ttl": 60 }),
    )
    .await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::CONFLICT, "operation_in_progress")
    );
    assert!(description.contains("being destroyed"), "{description}");
    let (code, _, description) = refused(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 60 }),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(description.contains("being destroyed"), "{description}");
    let after = status(&app, &bob, "bob").await;
    assert_eq!(
        after["auto_shutdown"],
        Value::Null,
        "the extend changed nothing"
    );

    let again = destroy(&app, &bob, "bob").await;
    assert_eq!(
        (again["state"].as_str(), again["destroy_pending"].as_bool()),
        (Some("DESTROYING"), Some(true))
    );
    let intent = app
        .state
        .provisioner
        .store
        .cluster("bob")
        .await
        .unwrap()
        .unwrap()
        .destroy
        .unwrap();
    assert_eq!(intent.requested_by, "bob");
}

#[tokio::test]
async fn a_deadline_that_falls_during_an_update_destroys_the_cluster_when_it_finishes() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 2, 15).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    // Update at the last moment, so the deadline passes while it runs.
    let left = status(&app, &bob, "bob").await["seconds_remaining"]
        .as_u64()
        .unwrap();
    app.clock.advance(Duration::from_secs(left - 1));
    ok(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 4, "ttl": 15 }),
    )
    .await;
    app.clock.advance(Duration::from_secs(15 * 60));
    let sweep = app.state.provisioner.reap().await.unwrap();
    assert_eq!(sweep.destroyed, ["bob"], "{sweep:?}");

    let seen = until_gone_by_the_reaper(&app, &bob, "bob").await;
    assert_eq!(seen.last().map(String::as_str), Some("NOT_FOUND"));
    assert!(seen.contains(&"DESTROYING".to_owned()), "{seen:?}");
    let audit = app
        .state
        .provisioner
        .store
        .audit_page(None, 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "reaper" && e.action == "reap"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_crash_between_the_intent_and_the_delete_still_ends_with_the_stack_gone() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 60).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    crashed_after_recording_a_destroy(&app, "bob").await;
    assert_eq!(status(&app, &bob, "bob").await["destroy_pending"], true);

    // Another process (a restart, or a replica) sweeps.
    let restarted = replica(&app, app.state.provisioner.cloud.clone(), "after-the-crash");
    restarted.reap().await.unwrap();
    assert_eq!(status(&app, &bob, "bob").await["state"], "DESTROYING");
    let seen = until_gone_by_the_reaper(&app, &bob, "bob").await;
    assert_eq!(seen, ["DESTROYING", "NOT_FOUND"]);
    record_is_closed(&app, "bob").await;
}

#[tokio::test]
async fn a_failed_delete_is_retried_with_a_growing_backoff_and_its_reason_is_shown_without_the_arn()
{
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 60).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let failing = Arc::new(
        Faulty::new(app.state.provisioner.cloud.clone(), 2).failing_deletes_with(
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: \
             cloudformation:DeleteStack on arn:aws:cloudformation:us-west-2:123456789012:stack/bob-cluster/0c1d",
        ),
    );
    let provisioner = replica(&app, failing.clone(), "replica");
    let progress = provisioner.destroy("bob", &name("bob")).await.unwrap();
    assert!(progress.pending(), "{progress:?}");

    let shown = status(&app, &bob, "bob").await;
    assert_eq!(shown["state"], "RUNNING");
    assert_eq!(shown["destroy_pending"], true);
    let reason = shown["destroy_error"]
        .as_str()
        .expect("the reason is shown");
    assert!(reason.contains("is not authorized"), "{reason}");
    assert!(
        !reason.contains("arn:") && !reason.contains("123456789012"),
        "{reason}"
    );

    // 30 s of back-off after the first failure, then 60 s after the second.
    app.clock.advance(Duration::from_secs(29));
    assert!(provisioner.reap().await.unwrap().failed.is_empty());
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(provisioner.reap().await.unwrap().retries, 1);
    app.clock.advance(Duration::from_secs(59));
    provisioner.reap().await.unwrap();
    assert_eq!(
        failing.deletes.load(Ordering::SeqCst),
        0,
        "still backing off"
    );
    app.clock.advance(Duration::from_secs(1));
    let sweep = provisioner.reap().await.unwrap();
    assert!(sweep.failed.is_empty(), "{sweep:?}");
    assert_eq!(failing.deletes.load(Ordering::SeqCst), 1);
    let deleting = status(&app, &bob, "bob").await;
    assert_eq!(deleting["state"], "DESTROYING");
    assert!(deleting.get("destroy_pending").is_none(), "{deleting}");
    assert!(deleting.get("destroy_error").is_none(), "{deleting}");
    until_gone_by_the_reaper(&app, &bob, "bob").await;
}

#[tokio::test]
async fn a_stack_that_ends_delete_failed_is_deleted_again_after_a_backoff_with_the_reason_shown() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 60).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let cloud = Arc::new(
        Faulty::new(app.state.provisioner.cloud.clone(), 0).ending_delete_failed(
            2,
            "The following resource(s) failed to delete: [NodeGroup]. Stack \
             arn:aws:cloudformation:us-west-2:123456789012:stack/bob-cluster/0c1d",
        ),
    );
    let provisioner = replica(&app, cloud.clone(), "replica");
    assert!(
        !provisioner
            .destroy("bob", &name("bob"))
            .await
            .unwrap()
            .pending()
    );

    // The sweep that finds DELETE_FAILED waits 30 s, then 60 s after the second failure.
    for (failure, backoff) in [(1, 30), (2, 60)] {
        let sweep = provisioner.reap().await.unwrap();
        assert_eq!(sweep.retries, 1, "failure {failure}: {sweep:?}");
        // As this replica's cloud shows the stack (the app's own sees it still running).
        let view = provisioner.view(&name("bob")).await.unwrap();
        let shown = serde_json::to_value(view.status(app.clock.now())).unwrap();
        assert_eq!(shown["state"], "FAILED");
        assert_eq!(shown["destroy_pending"], true);
        let reason = shown["destroy_error"].as_str().unwrap();
        assert!(reason.contains("failed to delete: [NodeGroup]"), "{reason}");
        assert!(!reason.contains("123456789012"), "{reason}");
        app.clock.advance(Duration::from_secs(backoff - 1));
        provisioner.reap().await.unwrap();
        assert_eq!(
            cloud.deletes.load(Ordering::SeqCst),
            failure,
            "still backing off"
        );
        app.clock.advance(Duration::from_secs(1));
        provisioner.reap().await.unwrap();
        assert_eq!(
            cloud.deletes.load(Ordering::SeqCst),
            failure + 1,
            "deleted again"
        );
    }
    let seen = until_gone_by_the_reaper(&app, &bob, "bob").await;
    assert_eq!(seen.last().map(String::as_str), Some("NOT_FOUND"));
}

#[tokio::test]
async fn pressing_destroy_again_retries_a_failed_delete_without_waiting_out_its_backoff() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 60).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let failing = Arc::new(Faulty::new(app.state.provisioner.cloud.clone(), 1));
    let provisioner = replica(&app, failing.clone(), "replica");
    assert!(
        provisioner
            .destroy("bob", &name("bob"))
            .await
            .unwrap()
            .pending()
    );
    let again = provisioner.destroy("bob", &name("bob")).await.unwrap();
    assert!(!again.pending(), "{again:?}");
    assert_eq!(failing.deletes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_metrics_count_pending_destroys_retries_and_the_time_to_gone() {
    let app = app_reaped_by_hand().await;
    let bob = member(&app, "bob");
    updating(&app, &bob, "bob").await;
    destroy(&app, &bob, "bob").await;
    sliderule_backend::jobs::reap(&app.state).await.unwrap();
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("sliderule_destroys_pending 1"),
        "{metrics}"
    );

    for _ in 0..100 {
        if sliderule_backend::jobs::reap(&app.state)
            .await
            .unwrap()
            .destroys_pending
            == 0
        {
            break;
        }
        app.clock.advance(STEP);
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("sliderule_destroys_pending 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sliderule_destroy_duration_seconds_count 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sliderule_destroy_retries_total 0"),
        "{metrics}"
    );
}
