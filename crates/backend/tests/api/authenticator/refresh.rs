//! Refresh-token rotation, its grace window, family revocation, lifetimes, and the membership
//! re-check.

use std::time::Duration;

use github_emulator::{Endpoint, Fault, Membership};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;
use crate::helpers::TestApp;

async fn refreshed(app: &TestApp, refresh_token: &str) -> Value {
    let response = refresh(app, refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_no_store(&response);
    response.json().await.unwrap()
}

async fn refused(app: &TestApp, refresh_token: &str) -> String {
    let (status, error, description) = error_of(refresh(app, refresh_token).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "invalid_grant");
    description
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_and_issues_a_new_access_token() {
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "bob").await;
    let body = refreshed(&app, &login.refresh_token).await;
    let next = body["refresh_token"].as_str().unwrap();
    assert_ne!(next, login.refresh_token);
    assert_eq!(
        body["token"], body["access_token"],
        "v5 clients read `token`"
    );
    let claims = verified(&app, body["token"].as_str().unwrap(), Some("provisioner")).unwrap();
    assert_eq!(claims.sub, "bob");
    assert_eq!(body["exp"], claims.exp);
    assert_ne!(
        Some(claims.jti.clone().unwrap()),
        payload(&login.token)["jti"].as_str().map(String::from)
    );
    assert_eq!(body["info"]["username"], "bob");
    // The successor works in turn.
    refreshed(&app, next).await;
}

#[tokio::test]
async fn the_token_endpoint_also_rotates_refresh_tokens() {
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "carol").await;
    let response = post_form(
        &app,
        "/auth/github/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &login.refresh_token),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_ne!(body["refresh_token"], login.refresh_token.as_str());
}

#[tokio::test]
async fn every_retry_inside_the_grace_window_gets_the_same_successor() {
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "bob").await;
    let first = refreshed(&app, &login.refresh_token).await;
    for _ in 0..3 {
        app.clock.advance(Duration::from_secs(1));
        let retry = refreshed(&app, &login.refresh_token).await;
        assert_eq!(retry["refresh_token"], first["refresh_token"]);
        assert_eq!(retry["access_token"], first["access_token"]);
    }
    // The successor is still the session's live token.
    refreshed(&app, first["refresh_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_all_get_its_successor_and_the_session_lives_on() {
    const TABS: usize = 20;
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "bob").await;
    let mut tabs = tokio::task::JoinSet::new();
    for _ in 0..TABS {
        let request = app
            .client
            .post(app.url("/auth/refresh"))
            .json(&json!({ "refresh_token": login.refresh_token }));
        tabs.spawn(async move {
            let response = request.send().await.expect("request is sent");
            let status = response.status();
            (status, response.json::<Value>().await.expect("JSON body"))
        });
    }
    let answers = tabs.join_all().await;

    let (_, first) = &answers[0];
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["refresh_token"], first["refresh_token"]);
        assert_eq!(body["access_token"], first["access_token"]);
    }
    let successor = first["refresh_token"].as_str().unwrap();
    assert_ne!(successor, login.refresh_token);
    let next = refreshed(&app, successor).await;

    // After the window, the spent token is reuse again, and ends the session.
    app.clock.advance(Duration::from_secs(6));
    let description = refused(&app, &login.refresh_token).await;
    assert!(description.contains("revoked"), "{description}");
    refused(&app, next["refresh_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn a_reuse_after_the_grace_window_revokes_the_family() {
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "bob").await;
    let first = refreshed(&app, &login.refresh_token).await;
    app.clock.advance(Duration::from_secs(6));
    refused(&app, &login.refresh_token).await;
    refused(&app, first["refresh_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn revoking_one_family_leaves_the_others_of_the_same_person_alone() {
    let app = TestApp::with_github().await;
    let laptop = pat_login(&app, "bob").await;
    let desktop = pat_login(&app, "bob").await;
    let response = post_form(&app, "/auth/revoke", &[("token", &laptop.refresh_token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    refused(&app, &laptop.refresh_token).await;
    refreshed(&app, &desktop.refresh_token).await;
}

#[tokio::test]
async fn revocation_answers_200_whatever_it_is_given() {
    let app = TestApp::with_github().await;
    for body in [json!({ "token": "never-issued" }), json!({})] {
        let response = post_json(&app, "/auth/revoke", body).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_family_dies_at_its_absolute_lifetime_however_much_it_is_used() {
    let app = TestApp::with_github_and(vec![
        (
            "authenticator.refresh_absolute_secs",
            toml::Value::Integer(100),
        ),
        ("authenticator.refresh_idle_secs", toml::Value::Integer(60)),
    ])
    .await;
    let login = pat_login(&app, "bob").await;
    app.clock.advance(Duration::from_secs(50));
    let second = refreshed(&app, &login.refresh_token).await;
    app.clock.advance(Duration::from_secs(51));
    refused(&app, second["refresh_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn a_family_unused_for_its_idle_lifetime_dies() {
    let app = TestApp::with_github_and(vec![(
        "authenticator.refresh_idle_secs",
        toml::Value::Integer(60),
    )])
    .await;
    let login = pat_login(&app, "bob").await;
    app.clock.advance(Duration::from_secs(59));
    let second = refreshed(&app, &login.refresh_token).await;
    app.clock.advance(Duration::from_secs(61));
    refused(&app, second["refresh_token"].as_str().unwrap()).await;
}

fn with_service_token() -> Vec<(&'static str, toml::Value)> {
    vec![
        (
            "github.service_token",
            toml::Value::String("demo-pat-alice".into()),
        ),
        ("github.membership_cache_secs", toml::Value::Integer(0)),
    ]
}

#[tokio::test]
async fn a_member_removed_from_the_organization_loses_member_access_at_the_next_refresh() {
    let app = TestApp::with_github_and(with_service_token()).await;
    let login = pat_login(&app, "bob").await;
    app.emulator()
        .set_membership("bob", Membership::None)
        .unwrap();
    let body = refreshed(&app, &login.refresh_token).await;
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["org_roles"], json!([]));
    assert_eq!(claims["aud"], json!([]));
    assert_eq!(body["info"]["isOrgMember"], "false");
}

#[tokio::test]
async fn github_failing_at_refresh_is_502_and_spends_nothing() {
    let app = TestApp::with_github_and(with_service_token()).await;
    let login = pat_login(&app, "bob").await;
    app.emulator()
        .set_fault(Endpoint::Membership, Fault::status(500));
    let (status, error, _) = error_of(refresh(&app, &login.refresh_token).await).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error, "github_unavailable");
    app.emulator().clear_faults();
    let body = refreshed(&app, &login.refresh_token).await;
    assert_eq!(
        payload(body["token"].as_str().unwrap())["org_roles"],
        json!(["member"])
    );
}

#[tokio::test]
async fn without_a_service_token_roles_are_carried_over() {
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "bob").await;
    app.emulator()
        .set_membership("bob", Membership::None)
        .unwrap();
    let body = refreshed(&app, &login.refresh_token).await;
    assert_eq!(
        payload(body["token"].as_str().unwrap())["org_roles"],
        json!(["member"])
    );
}

#[tokio::test]
async fn a_refresh_without_a_token_is_invalid_request() {
    let app = TestApp::with_github().await;
    let (status, error, _) = error_of(post_json(&app, "/auth/refresh", json!({})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "invalid_request");
    refused(&app, "never-issued").await;
}
