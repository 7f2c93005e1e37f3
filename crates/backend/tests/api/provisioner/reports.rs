//! Reports, the audit log, and a simulated cluster's own `/discovery/status`.

use reqwest::StatusCode;
use serde_json::json;

use super::support::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn members_see_their_clusters_and_owners_see_every_one() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let carol = member(&app, "carol");
    let alice = owner(&app);
    deploy(&app, &bob, "bob", 1, 30).await;
    deploy(&app, &carol, "carol", 2, 30).await;

    let mine = ok(&app, &bob, "/report/clusters", json!({})).await;
    assert_eq!(
        mine.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["bob"]
    );
    assert_eq!(mine["bob"]["owner"], "bob");
    // The web client's cards show when the stack was created.
    let created = mine["bob"]["created"]
        .as_str()
        .expect("created is reported");
    let status = ok(&app, &bob, "/status", json!({"cluster": "bob"})).await;
    assert_eq!(created, status["response"]["CreationTime"]);
    let all = ok(&app, &alice, "/report/clusters", json!({})).await;
    assert_eq!(
        all.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["bob", "carol"]
    );
    assert_eq!(all["carol"]["node_capacity"], 2);

    let one = ok(&app, &bob, "/report/clusters/bob", json!({})).await;
    assert_eq!(one.as_object().unwrap().len(), 1);
    let (status, _, _) = refused(&app, &bob, "/report/clusters/carol", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let v5 = ok(&app, &alice, "/report", json!({})).await;
    assert_eq!(v5["status"], true);
    assert_eq!(v5["report"], all);
    let (status, _, _) = refused(&app, &bob, "/report", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn owners_read_the_audit_log_page_by_page() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let alice = owner(&app);
    deploy(&app, &bob, "bob", 1, 30).await;
    ok(&app, &bob, "/destroy", json!({ "cluster": "bob" })).await;

    let first = ok(&app, &alice, "/audit", json!({ "limit": 1 })).await;
    let entries = first["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "destroy");
    assert_eq!(entries[0]["actor"], "bob");
    assert_eq!(entries[0]["outcome"], "ok");
    let second = ok(
        &app,
        &alice,
        "/audit",
        json!({ "before": first["next"], "limit": 10 }),
    )
    .await;
    let entries = second["entries"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "deploy");
    assert_eq!(entries[0]["parameters"]["node_capacity"], 1);

    let (status, _, _) = refused(&app, &bob, "/audit", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_simulated_cluster_answers_discovery_status_with_its_nodes() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 2, 30).await;
    for _ in 0..100 {
        let status = status(&app, &bob, "bob").await;
        if status["current_nodes"] == 2 {
            break;
        }
        app.clock.advance(STEP);
    }
    let body: serde_json::Value = app
        .client
        .post(app.url("/clusters/bob/discovery/status"))
        .body(r#"{"service":"sliderule"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({ "nodes": 2 }));
}

#[tokio::test]
async fn the_reapers_sweeps_are_counted_in_the_metrics() {
    let app = TestApp::spawn().await;
    // The reaper sweeps once at start; wait (bounded) for that sweep to be recorded.
    for _ in 0..200 {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        if metrics.contains("sliderule_reaper_sweeps_total 1") {
            assert!(metrics.contains("sliderule_open_clusters 0"), "{metrics}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the reaper's first sweep was never recorded");
}

#[tokio::test]
async fn cloud_calls_and_clusters_by_state_are_in_the_metrics() {
    use crate::helpers::metric;

    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 2, 60).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    let create = "sliderule_cloud_calls_total{driver=\"simulated\",operation=\"create_stack\",outcome=\"ok\"}";
    assert_eq!(metric(&app, create).await, Some(1.0));
    let timed = "sliderule_cloud_call_duration_seconds_count{driver=\"simulated\",operation=\"describe_stack\"}";
    assert!(metric(&app, timed).await.is_some_and(|n| n >= 1.0));

    // The gauge follows reconciliation, which lists every stack anyway.
    sliderule_backend::jobs::reconcile(&app.state).await;
    let running = "sliderule_clusters{state=\"running\"}";
    assert_eq!(metric(&app, running).await, Some(1.0));
    assert_eq!(
        metric(&app, "sliderule_clusters{state=\"failed\"}").await,
        Some(0.0)
    );
}
