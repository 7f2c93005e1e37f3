//! Faults: latency, error statuses and GitHub's rate limit, per endpoint, by call and over HTTP.

use std::time::{Duration, Instant};

use github_emulator::{Endpoint, Fault};
use serde_json::Value;

use crate::support::{CALLBACK, CLIENT_ID, Harness};

#[tokio::test]
async fn a_status_fault_answers_that_status_on_its_endpoint_only() {
    let h = Harness::start().await;
    h.emulator()
        .set_fault(Endpoint::Membership, Fault::status(502));
    let failing = h
        .api("/orgs/SlideRuleEarth/memberships/alice", "demo-pat-alice")
        .await;
    assert_eq!(failing.status(), 502);
    assert_eq!(
        failing.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(failing.headers().contains_key("x-ratelimit-remaining"));
    let body: Value = failing.json().await.expect("json");
    assert_eq!(body["status"], "502");
    assert_eq!(
        h.api("/user", "demo-pat-alice").await.status(),
        200,
        "other endpoints work"
    );
}

#[tokio::test]
async fn clearing_faults_restores_normal_answers() {
    let h = Harness::start().await;
    h.emulator().set_fault(Endpoint::User, Fault::status(500));
    assert_eq!(h.api("/user", "demo-pat-alice").await.status(), 500);
    h.emulator().clear_faults();
    assert_eq!(h.api("/user", "demo-pat-alice").await.status(), 200);
}

#[tokio::test]
async fn a_403_fault_on_membership_says_the_org_restricts_oauth_apps() {
    let h = Harness::start().await;
    h.emulator()
        .set_fault(Endpoint::Membership, Fault::status(403));
    let response = h
        .api("/orgs/SlideRuleEarth/memberships/bob", "demo-pat-bob")
        .await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("OAuth App access restrictions")
    );
}

#[tokio::test]
async fn a_rate_limit_fault_answers_403_with_no_requests_remaining() {
    let h = Harness::start().await;
    h.emulator()
        .set_fault(Endpoint::Teams, Fault::rate_limited());
    let response = h.api("/user/teams", "demo-pat-bob").await;
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(response.headers()["x-ratelimit-limit"], "5000");
    assert!(response.headers().contains_key("x-ratelimit-reset"));
    let body: Value = response.json().await.expect("json");
    let message = body["message"].as_str().expect("message");
    assert!(
        message.starts_with("API rate limit exceeded for user ID 1002."),
        "{message}"
    );
}

#[tokio::test]
async fn a_latency_fault_delays_the_answer() {
    let h = Harness::start().await;
    h.emulator().set_fault(Endpoint::Orgs, Fault::latency(300));
    let started = Instant::now();
    let response = h.api("/user/orgs", "demo-pat-alice").await;
    assert_eq!(
        response.status(),
        200,
        "latency alone does not fail the call"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_fault_on_the_token_endpoint_fails_the_exchange() {
    let h = Harness::start().await;
    let code = h.code_for("alice").await;
    h.emulator()
        .set_fault(Endpoint::AccessToken, Fault::status(503));
    let response = h
        .client
        .post(h.url("/login/oauth/access_token"))
        .header("Accept", "application/json")
        .form(&[("client_id", CLIENT_ID), ("code", code.as_str())])
        .send()
        .await
        .expect("exchange");
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn faults_on_the_authorize_and_device_endpoints_fail_them() {
    let h = Harness::start().await;
    h.emulator()
        .set_fault(Endpoint::Authorize, Fault::status(500));
    h.emulator()
        .set_fault(Endpoint::DeviceCode, Fault::rate_limited());
    let authorize = h
        .client
        .get(h.url("/login/oauth/authorize"))
        .query(&[("client_id", CLIENT_ID), ("redirect_uri", CALLBACK)])
        .send()
        .await
        .expect("authorize");
    assert_eq!(authorize.status(), 500);
    let device = h
        .client
        .post(h.url("/login/device/code"))
        .form(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .expect("device code");
    assert_eq!(device.status(), 403);
    assert_eq!(device.headers()["x-ratelimit-remaining"], "0");
}

#[tokio::test]
async fn faults_can_be_switched_over_http() {
    let h = Harness::start().await;
    let set = h
        .client
        .post(h.url("/_emulator/faults"))
        .json(&serde_json::json!({"endpoint": "membership", "status": 503}))
        .send()
        .await
        .expect("set");
    assert_eq!(set.status(), 204);
    let failing = h
        .api("/orgs/SlideRuleEarth/memberships/alice", "demo-pat-alice")
        .await;
    assert_eq!(failing.status(), 503);
    let cleared = h
        .client
        .delete(h.url("/_emulator/faults"))
        .send()
        .await
        .expect("clear");
    assert_eq!(cleared.status(), 204);
    let working = h
        .api("/orgs/SlideRuleEarth/memberships/alice", "demo-pat-alice")
        .await;
    assert_eq!(working.status(), 200);
}

#[tokio::test]
async fn a_fault_request_with_an_unknown_endpoint_is_refused() {
    let h = Harness::start().await;
    let response = h
        .client
        .post(h.url("/_emulator/faults"))
        .json(&serde_json::json!({"endpoint": "repos", "status": 500}))
        .send()
        .await
        .expect("set");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["message"].as_str().expect("message").contains("repos"),
        "{body}"
    );
}
