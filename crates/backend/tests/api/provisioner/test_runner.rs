//! The test runner (provisioner.md, "Test runner"): `/test` (owners) starts one run at a time
//! (409 while one runs), the reaper deletes it when its time is up, `/report/tests` (members)
//! reads a branch's latest summary: the simulated cloud's once its run finished, or S3's.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sliderule_backend::cloud::s3::S3Summaries;
use sliderule_backend::jobs;

use super::support::*;
use crate::helpers::{TestApp, TestConfig};
use crate::moto::MotoServer;

#[tokio::test]
async fn an_owner_starts_one_run_at_a_time_and_its_summary_appears_when_it_finishes() {
    let app = app_reaped_by_hand().await;
    let (alice, bob) = (owner(&app), member(&app, "bob"));
    let (status, _, _) = refused(&app, &bob, "/test", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "members may not start runs");

    let started = ok(&app, &alice, "/test", json!({ "branch": "release/v5" })).await;
    assert_eq!(started["stack_name"], "testrunner");
    assert_eq!(started["branch"], "release/v5");
    assert_eq!(started["state"], "DEPLOYING");
    let (status, error, description) = refused(&app, &alice, "/test", json!({})).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::CONFLICT, "operation_in_progress")
    );
    assert!(description.contains("of release/v5"), "{description}");

    let (status, _, description) = refused(
        &app,
        &bob,
        "/report/tests",
        json!({ "branch": "release/v5" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not finished yet");
    assert!(description.contains("release/v5"), "{description}");
    let summary = until_summary(&app, &bob, "release/v5").await;
    assert_eq!(summary["branch"], "release/v5");
    assert_eq!(summary["status"], "passed");
    assert_eq!(summary["sliderule"]["failed"], 0);
    let (status, _, _) = refused(&app, &bob, "/report/tests", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "main has no run");
}

/// Lets simulated time pass until the branch's summary is there.
async fn until_summary(app: &TestApp, token: &str, branch: &str) -> Value {
    for _ in 0..100 {
        let response = call(app, token, "/report/tests", json!({ "branch": branch })).await;
        if response.status() == StatusCode::OK {
            return response.json().await.unwrap();
        }
        app.clock.advance(STEP);
    }
    panic!("no summary of {branch}");
}

#[tokio::test]
async fn a_bad_branch_is_refused_and_starts_nothing() {
    let app = app_reaped_by_hand().await;
    let alice = owner(&app);
    let (status, _, description) =
        refused(&app, &alice, "/test", json!({ "branch": "../x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(description.contains("is not valid"), "{description}");
    assert!(
        app.state
            .provisioner
            .cloud
            .describe_test_runner()
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_reaper_deletes_the_runner_when_its_time_is_up_and_a_new_run_may_start() {
    let app = app_reaped_by_hand().await;
    let alice = owner(&app);
    let started = ok(&app, &alice, "/test", json!({})).await;
    assert_eq!(started["branch"], "main");
    for _ in 0..10 {
        app.clock.advance(STEP);
    }
    let reaped = jobs::reap(&app.state).await.unwrap();
    assert!(reaped.next_deadline.is_some(), "its end is due");
    app.clock.advance(Duration::from_secs(81 * 60));
    jobs::reap(&app.state).await.unwrap();
    for _ in 0..10 {
        app.clock.advance(STEP);
    }
    let cloud = &app.state.provisioner.cloud;
    assert!(cloud.describe_test_runner().await.unwrap().is_none());
    let again = ok(&app, &alice, "/test", json!({ "branch": "dev" })).await;
    assert_eq!(again["branch"], "dev");
}

#[tokio::test]
async fn a_summary_round_trips_from_s3() {
    let moto = MotoServer::start().await;
    let written = json!({
        "branch": "release/v5", "latest": "abc123", "date": "20261204070000",
        "selftest": { "state": "complete", "errors": 0 },
        "sliderule": { "state": "complete", "passed": 10, "failed": 1 },
        "status": "failed",
    });
    moto.put_object(
        "sliderule-project",
        "testrunner/release/v5-summary.json",
        &written.to_string(),
    )
    .await;
    let app = TestApp::spawn_with(TestConfig {
        summaries: Some(Arc::new(S3Summaries::new(
            &moto.sdk_config().await,
            "sliderule-project",
        ))),
        ..Default::default()
    })
    .await;
    let bob = member(&app, "bob");
    let read = ok(
        &app,
        &bob,
        "/report/tests",
        json!({ "branch": "release/v5" }),
    )
    .await;
    assert_eq!(read, written);
    let (status, _, description) =
        refused(&app, &bob, "/report/tests", json!({ "branch": "main" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(description, "branch main has no test summary");
}
