//! Limits and access: who may deploy what, and how the refusals read.

use reqwest::StatusCode;
use serde_json::json;
use sliderule_protocol::{Scope, Scopes};

use super::support::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn each_limit_is_refused_with_422_naming_the_value_and_the_maximum() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let cases = [
        (
            json!({ "cluster": "bob", "node_capacity": 11, "ttl": 60 }),
            ["node_capacity", "11", "10"],
        ),
        (
            json!({ "cluster": "bob", "node_capacity": 2, "ttl": 721 }),
            ["ttl", "721", "720"],
        ),
        (
            json!({ "cluster": "bob", "node_capacity": 2, "ttl": 10 }),
            ["ttl", "10", "15"],
        ),
        (
            json!({ "cluster": "bob", "node_capacity": 0, "ttl": 60 }),
            ["node_capacity", "0", "1"],
        ),
    ];
    for (body, words) in cases {
        let (status, error, description) = refused(&app, &bob, "/deploy", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error, "limit_exceeded");
        for word in words {
            assert!(
                description.contains(word),
                "{description} should name {word}"
            );
        }
    }
    let (status, _, _) = refused(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 721 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.state.store.open_clusters().await.unwrap().is_empty(),
        "nothing was recorded"
    );
}

#[tokio::test]
async fn a_member_may_not_touch_another_members_cluster() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    for api in ["/deploy", "/status", "/events", "/destroy", "/extend"] {
        let body = json!({ "cluster": "carol", "node_capacity": 1, "ttl": 30 });
        let (status, error, description) = refused(&app, &bob, api, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{api}");
        assert_eq!(error, "access_denied");
        assert!(description.contains("carol"), "{description}");
    }
}

#[tokio::test]
async fn a_team_member_may_deploy_the_team_cluster() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let body = deploy(&app, &bob, "icesat2", 1, 30).await;
    assert_eq!(body["owner"], "bob");
}

#[tokio::test]
async fn a_non_member_is_403_and_a_token_without_the_provisioner_audience_is_401() {
    let app = TestApp::spawn().await;
    let dave = member(&app, "dave");
    let (status, error, _) = refused(&app, &dave, "/info", json!({})).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );

    let browser_only = token_with(&app, "bob", Scopes::NONE.with(Scope::SlideruleAccess));
    let response = call(&app, &browser_only, "/info", json!({})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );

    let (status, _, _) = refused(&app, "not-a-token", "/info", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let anonymous = app
        .client
        .post(app.url("/provisioner/status"))
        .body(r#"{"cluster":"bob"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_owner_may_act_on_any_cluster_and_deploy_it_public() {
    let app = TestApp::spawn().await;
    let alice = owner(&app);
    let body = ok(
        &app,
        &alice,
        "/deploy",
        json!({ "cluster": "carol", "node_capacity": 50, "ttl": 1440, "is_public": true }),
    )
    .await;
    assert_eq!(body["is_public"], true);
    assert_eq!(body["owner"], "alice");
    let carol = member(&app, "carol");
    assert_eq!(status(&app, &carol, "carol").await["owner"], "alice");
}

#[tokio::test]
async fn a_member_may_not_deploy_a_public_cluster_nor_change_is_public() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let (status, error, _) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 1, "ttl": 30, "is_public": "true" }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::FORBIDDEN, "access_denied")
    );

    let alice = owner(&app);
    deploy(&app, &alice, "bob", 1, 30).await;
    until_state(&app, &alice, "bob", "RUNNING").await;
    let (status, error, _) = refused(
        &app,
        &alice,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 1, "ttl": 30, "is_public": true }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::CONFLICT, "immutable")
    );
}

#[tokio::test]
async fn bodies_without_content_type_with_numeric_strings_and_unknown_fields_are_read() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let response = app
        .client
        .post(app.url("/provisioner/deploy"))
        .bearer_auth(&bob)
        .body(r#"{"cluster":"Bob","node_capacity":"2","ttl":"30","is_public":"false","region":"us-west-2"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["cluster"], "bob", "names are stored lowercase");
    assert_eq!(body["node_capacity"], 2);

    let (status, error, description) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": "lots", "ttl": 30 }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(description.contains("node_capacity"), "{description}");
    let (status, _, description) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "my_cluster", "node_capacity": 1, "ttl": 30 }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(description.contains("DNS"), "{description}");
}

#[tokio::test]
async fn info_says_who_the_caller_is_and_their_limits() {
    let app = TestApp::spawn().await;
    let bob = member(&app, "bob");
    let info = ok(&app, &bob, "/info", json!({})).await;
    assert_eq!(info["username"], "bob");
    assert_eq!(info["orgRoles"], json!(["member"]));
    assert_eq!(info["deployableClusters"], json!(["bob", "icesat2"]));
    assert_eq!(info["maxNodes"], 10);
    assert_eq!(info["maxTTL"], 720);
}

#[tokio::test]
async fn the_web_clients_origins_may_call_the_provisioner_and_others_may_not() {
    let configured = "https://client.sliderule.test";
    let app = TestApp::with_github_and(vec![(
        "web.allowed_origins",
        toml::Value::Array(vec![toml::Value::String(configured.into())]),
    )])
    .await;
    // The web client's own origin (here the single origin of the test app) needs no setting.
    let own = app.address.trim_end_matches('/').to_owned();
    for origin in [configured, own.as_str()] {
        let allowed = app.preflight("/provisioner/status", origin).await;
        assert_eq!(allowed.as_deref(), Some(origin));
    }
    assert_eq!(
        app.preflight("/provisioner/deploy", "https://evil.example")
            .await,
        None
    );
}
