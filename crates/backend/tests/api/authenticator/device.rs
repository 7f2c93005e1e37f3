//! The device flow: `POST /auth/github/device` and `/auth/github/device/poll`.

use std::time::Duration;

use github_emulator::{Endpoint, Fault};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;
use crate::helpers::TestApp;

async fn start(app: &TestApp) -> Value {
    let response = app
        .client
        .post(app.url("/auth/github/device"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_no_store(&response);
    response.json().await.unwrap()
}

/// Starts a flow with `body` (JSON) as the request.
async fn start_with(app: &TestApp, body: Value) -> Value {
    let response = post_json(app, "/auth/github/device", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Starts a flow with `scope`, and has alice (an organization admin) approve it at GitHub.
async fn approved_by_alice(app: &TestApp, scope: &str) -> Value {
    let device = start_with(app, json!({ "scope": scope })).await;
    app.emulator()
        .approve_device(device["user_code"].as_str().unwrap(), "alice")
        .unwrap();
    device
}

async fn poll(app: &TestApp, device: &Value) -> (StatusCode, Value) {
    poll_with(app, json!({ "device_code": device["device_code"] })).await
}

async fn poll_with(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = post_json(app, "/auth/github/device/poll", body).await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Waits out `seconds` on the application's clock and on GitHub's (which enforces the interval
/// too).
fn wait(app: &TestApp, seconds: u64) {
    app.clock.advance(Duration::from_secs(seconds));
    app.emulator().advance_clock(Duration::from_secs(seconds));
}

fn wait_interval(app: &TestApp, device: &Value) {
    wait(app, device["interval"].as_u64().unwrap());
}

#[tokio::test]
async fn the_device_flow_signs_an_owner_in_with_every_scope() {
    let app = TestApp::with_github().await;
    let device = start(&app).await;
    for key in [
        "device_code",
        "user_code",
        "verification_uri",
        "expires_in",
        "interval",
    ] {
        assert!(!device[key].is_null(), "{key} in {device}");
    }
    let complete = device["verification_uri_complete"].as_str().unwrap();
    assert!(
        complete.contains(device["user_code"].as_str().unwrap()),
        "{complete}"
    );

    let (status, pending) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["error"], "authorization_pending");

    app.emulator()
        .approve_device(device["user_code"].as_str().unwrap(), "alice")
        .unwrap();
    wait_interval(&app, &device);
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let login = login_of(body);
    let claims = verified(&app, &login.token, Some("provisioner")).unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.org_roles.comma_joined(), "owner,member");
    assert!(claims.aud.contains(&"*".to_owned()));
    assert_eq!(claims.max_nodes, Some(500));
    assert_eq!(claims.exp - claims.iat, 12 * 3600);
    assert!(
        claims
            .scope
            .unwrap()
            .to_string()
            .contains("sliderule:admin")
    );
}

#[tokio::test]
async fn a_device_poll_may_ask_for_fewer_scopes() {
    let app = TestApp::with_github().await;
    let device = start(&app).await;
    app.emulator()
        .approve_device(device["user_code"].as_str().unwrap(), "alice")
        .unwrap();
    let (status, body) = poll_with(
        &app,
        json!({ "device_code": device["device_code"], "scope": "sliderule:access provisioner:access" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let claims = payload(body["token"].as_str().unwrap());
    assert_eq!(claims["scope"], "sliderule:access provisioner:access");
    assert_eq!(
        strings(&claims["org_roles"]),
        ["member"],
        "no admin scope, no owner"
    );
}

#[tokio::test]
async fn the_scope_asked_at_the_start_binds_a_poll_that_names_none() {
    let app = TestApp::with_github().await;
    let device = approved_by_alice(&app, "sliderule:access").await;
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = payload(body["token"].as_str().unwrap());
    assert_eq!(claims["scope"], "sliderule:access");
    assert_eq!(strings(&claims["org_roles"]), ["member"], "no admin scope");
    assert!(!strings(&claims["aud"]).contains(&"*".to_owned()));
    assert!(!strings(&claims["aud"]).contains(&"provisioner".to_owned()));
    assert_eq!(claims["max_nodes"], 10);
}

#[tokio::test]
async fn an_rfc_8628_form_start_binds_its_scope_too() {
    let app = TestApp::with_github().await;
    let response = post_form(
        &app,
        "/auth/github/device",
        &[
            ("client_id", "some-device-client"),
            ("scope", "sliderule:access monitor:access"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let device: Value = response.json().await.unwrap();
    app.emulator()
        .approve_device(device["user_code"].as_str().unwrap(), "bob")
        .unwrap();
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        payload(body["token"].as_str().unwrap())["scope"],
        "sliderule:access monitor:access"
    );
}

#[tokio::test]
async fn a_poll_asking_for_more_than_the_start_is_invalid_scope_and_changes_nothing() {
    let app = TestApp::with_github().await;
    let device = approved_by_alice(&app, "sliderule:access provisioner:access").await;
    for wider in ["sliderule:admin", "sliderule:access runner:access", "bogus"] {
        let (status, body) = poll_with(
            &app,
            json!({ "device_code": device["device_code"], "scope": wider }),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{wider}: {body}");
        assert_eq!(body["error"], "invalid_scope", "{wider}");
        assert_eq!(body.as_object().unwrap().len(), 2, "the envelope: {body}");
    }
    // The refusals were not polls: this one, at once, is neither slowed down nor refused.
    let (status, body) = poll_with(
        &app,
        json!({ "device_code": device["device_code"], "scope": "provisioner:access" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = payload(body["token"].as_str().unwrap());
    assert_eq!(claims["scope"], "provisioner:access");
    assert_eq!(strings(&claims["org_roles"]), ["member"]);
}

#[tokio::test]
async fn unknown_or_malformed_scopes_at_the_start_are_invalid_scope_and_ask_github_nothing() {
    let app = TestApp::with_github().await;
    // Were GitHub asked, the answer would be a 502.
    app.emulator()
        .set_fault(Endpoint::DeviceCode, Fault::status(500));
    let bodies = [
        json!({ "scope": "root:everything" }),
        json!({ "scope": "bogus" }),
        json!({ "scope": "sliderule:access bogus" }),
        json!({ "scope": 7 }),
        json!({ "scope": ["sliderule:access"] }),
    ];
    for body in bodies {
        let response = post_json(&app, "/auth/github/device", body.clone()).await;
        let (status, error, description) = error_of(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {description}");
        assert_eq!(error, "invalid_scope", "{body}");
        assert!(description.contains("scope"), "{description}");
    }
    let response = post_form(&app, "/auth/github/device", &[("scope", "bogus")]).await;
    let (status, error, _) = error_of(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
}

#[tokio::test]
async fn polling_faster_than_the_interval_is_slowed_down_without_asking_github() {
    let app = TestApp::with_github().await;
    let device = start(&app).await;
    let (status, _) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Were GitHub asked now, it would fail and the poll would be a 502.
    app.emulator()
        .set_fault(Endpoint::AccessToken, Fault::status(500));
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["error"], "slow_down");
    let interval = device["interval"].as_u64().unwrap();
    assert_eq!(body["interval"].as_u64(), Some(interval + 5));

    app.emulator().clear_faults();
    wait(&app, interval + 5);
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["error"], "authorization_pending");
}

#[tokio::test]
async fn a_denied_device_code_is_400_access_denied() {
    let app = TestApp::with_github().await;
    let device = start(&app).await;
    app.emulator()
        .deny_device(device["user_code"].as_str().unwrap())
        .unwrap();
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "error");
    assert_eq!(body["error"], "access_denied");
}

#[tokio::test]
async fn an_expired_device_code_is_400_expired_token() {
    let app = TestApp::with_github().await;
    let device = start(&app).await;
    let expires_in = device["expires_in"].as_u64().unwrap();
    app.emulator()
        .advance_clock(Duration::from_secs(expires_in + 1));
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "error");
    assert_eq!(body["error"], "expired_token");
}

#[tokio::test]
async fn a_poll_without_a_device_code_is_400() {
    let app = TestApp::with_github().await;
    let (status, body) = poll_with(&app, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "missing_device_code");
    assert_eq!(body["error_description"], "device_code is required");
}

#[tokio::test]
async fn a_device_code_with_control_characters_reaches_github_as_a_form_value_and_is_refused() {
    let app = TestApp::with_github().await;
    let device = start(&app).await;
    let mangled = format!("{}\n\u{0}x", device["device_code"].as_str().unwrap());
    let (status, body) = poll_with(&app, json!({ "device_code": mangled })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["status"], "error");
    assert_eq!(
        body["error"], "incorrect_device_code",
        "GitHub's answer: {body}"
    );
}

#[tokio::test]
async fn github_failing_during_a_poll_is_502_with_a_status() {
    let app = TestApp::with_github().await;
    let device = start(&app).await;
    app.emulator()
        .set_fault(Endpoint::AccessToken, Fault::status(503));
    let (status, body) = poll(&app, &device).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["status"], "error");
    assert_eq!(body["error"], "github_unavailable");
}
