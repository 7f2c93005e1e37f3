//! Local accounts through HTTP (organizations.md, "Local accounts"): password sign-in, the
//! lockout, disabled accounts, refresh, self sign-up, owners' management, password changes.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use super::support::{payload, post_form, post_json, strings};
use crate::helpers::{TestApp, envelope};
use crate::provisioner::support::{member, owner};

/// `POST /auth/local/token` as JSON.
async fn sign_in(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    post_json(
        app,
        "/auth/local/token",
        json!({ "username": username, "password": password }),
    )
    .await
}

async fn signed_in(app: &TestApp, username: &str) -> Value {
    let response = sign_in(app, username, &format!("demo-password-{username}")).await;
    assert_eq!(response.status(), StatusCode::OK, "{username} signs in");
    response.json().await.unwrap()
}

async fn with_bearer(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn erin_signs_in_with_her_password_and_gets_a_member_token_for_icesat2() {
    let app = TestApp::spawn().await;
    let body = signed_in(&app, "erin").await;
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(body["token_type"], "Bearer");
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "erin");
    assert_eq!(claims["idp"], "local");
    assert_eq!(strings(&claims["org_roles"]), ["member"]);
    assert!(claims.get("github_id").is_none());
    let aud = strings(&claims["aud"]);
    assert!(
        aud.contains(&"icesat2".to_owned()) && aud.contains(&"provisioner".to_owned()),
        "{aud:?}"
    );
    assert!(
        !aud.contains(&"erin".to_owned()),
        "no personal cluster: {aud:?}"
    );
}

#[tokio::test]
async fn a_form_body_signs_in_too_and_frank_who_belongs_nowhere_gets_no_provisioner_access() {
    let app = TestApp::spawn().await;
    let response = post_form(
        &app,
        "/auth/local/token",
        &[("username", "Frank"), ("password", "demo-password-frank")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "frank", "usernames are lowercase");
    assert!(strings(&claims["org_roles"]).is_empty());
    assert!(strings(&claims["aud"]).is_empty());
}

#[tokio::test]
async fn a_wrong_empty_or_unknown_password_is_refused_alike() {
    let app = TestApp::spawn().await;
    for (username, password) in [
        ("erin", "not-her-password"),
        ("erin", ""),
        ("nobody", "demo-password-erin"),
        ("bad name!", "whatever-password"),
    ] {
        let (status, code, description) = envelope(sign_in(&app, username, password).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{username}/{password}");
        assert_eq!(code, "invalid_grant");
        assert_eq!(description, "the username or password is wrong");
    }
    let (status, code, _) =
        envelope(post_json(&app, "/auth/local/token", json!({ "username": "erin" })).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn ten_failures_lock_the_username_for_fifteen_minutes_whether_or_not_it_exists() {
    let app = TestApp::spawn().await;
    for username in ["erin", "ghost"] {
        for attempt in 1..=9 {
            let response = sign_in(&app, username, "wrong password!!").await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{username} #{attempt}"
            );
        }
        let tenth = sign_in(&app, username, "wrong password!!").await;
        assert_eq!(tenth.status(), StatusCode::TOO_MANY_REQUESTS, "{username}");
        assert_eq!(tenth.headers()[header::RETRY_AFTER], "900");
        let (_, code, description) = envelope(tenth).await;
        assert_eq!(code, "rate_limited");
        assert!(description.contains("900"), "{description}");
    }
    // Even the right password waits out the lock.
    let locked = sign_in(&app, "erin", "demo-password-erin").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(std::time::Duration::from_secs(14 * 60));
    let still = sign_in(&app, "erin", "demo-password-erin").await;
    assert_eq!(still.headers()[header::RETRY_AFTER], "60");
    app.clock.advance(std::time::Duration::from_secs(60));
    signed_in(&app, "erin").await;
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_or_refresh_until_enabled_again() {
    let app = TestApp::spawn().await;
    let before = signed_in(&app, "erin").await;
    let alice = owner(&app);
    let disabled = with_bearer(
        &app,
        &alice,
        "/auth/local/accounts/disable",
        json!({"username": "erin"}),
    )
    .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    let view: Value = disabled.json().await.unwrap();
    assert_eq!(view["active"], false);
    assert!(view.get("password_hash").is_none());

    let (status, _, description) =
        envelope(sign_in(&app, "erin", "demo-password-erin").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        description,
        "account erin is disabled; ask an owner to enable it"
    );
    let refresh = post_json(
        &app,
        "/auth/refresh",
        json!({ "refresh_token": before["refresh_token"] }),
    )
    .await;
    let (status, code, _) = envelope(refresh).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    let enabled = with_bearer(
        &app,
        &alice,
        "/auth/local/accounts/enable",
        json!({"username": "erin"}),
    )
    .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    signed_in(&app, "erin").await;
}

#[tokio::test]
async fn a_local_refresh_rotates_and_keeps_the_local_claims() {
    let app = TestApp::spawn().await;
    let first = signed_in(&app, "erin").await;
    let response = post_json(
        &app,
        "/auth/refresh",
        json!({ "refresh_token": first["refresh_token"] }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["refresh_token"], first["refresh_token"]);
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["idp"], "local");
    assert!(strings(&claims["aud"]).contains(&"icesat2".to_owned()));
}

#[tokio::test]
async fn people_sign_themselves_up_in_the_demo_with_the_password_rules() {
    let app = TestApp::spawn().await;
    let signup = |username: &'static str, password: &'static str| {
        post_json(
            &app,
            "/auth/local/signup",
            json!({ "username": username, "password": password, "email": "gina@example.org" }),
        )
    };
    let created = signup("Gina", "a long enough password").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let view: Value = created.json().await.unwrap();
    assert_eq!(
        (view["username"].as_str(), view["active"].as_bool()),
        (Some("gina"), Some(true))
    );
    signed_in_with(&app, "gina", "a long enough password").await;

    let (status, code, _) = envelope(signup("gina", "another long password").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_exists")
    );
    let (status, _, description) = envelope(signup("hank", "short").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        description,
        "the password has 5 characters; give at least 12"
    );
    let (_, _, description) = envelope(signup("hank-the-great", "HANK-THE-GREAT").await).await;
    assert_eq!(description, "the password may not be the username");
    let (status, _, _) = envelope(signup("bad_name", "a long enough password").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        app.state.store.account("hank").await.unwrap().is_none(),
        "nothing was created"
    );
}

async fn signed_in_with(app: &TestApp, username: &str, password: &str) -> Value {
    let response = sign_in(app, username, password).await;
    assert_eq!(response.status(), StatusCode::OK, "{username} signs in");
    response.json().await.unwrap()
}

#[tokio::test]
async fn self_signup_is_refused_when_turned_off() {
    let app = crate::helpers::TestApp::spawn_with(crate::helpers::TestConfig {
        values: vec![("accounts.self_signup", toml::Value::Boolean(false))],
        ..Default::default()
    })
    .await;
    let response = post_json(
        &app,
        "/auth/local/signup",
        json!({ "username": "gina", "password": "a long enough password" }),
    )
    .await;
    let (status, _, description) = envelope(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(description.contains("ask an owner"), "{description}");
}

#[tokio::test]
async fn owners_list_and_create_accounts_and_members_may_not() {
    let app = TestApp::spawn().await;
    let alice = owner(&app);
    let created = with_bearer(
        &app,
        &alice,
        "/auth/local/accounts",
        json!({ "username": "ivan", "password": "ivans long password" }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        app.state
            .store
            .account("ivan")
            .await
            .unwrap()
            .unwrap()
            .created_by,
        "alice"
    );
    let listed: Value = app
        .client
        .get(app.url("/auth/local/accounts"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["erin", "frank", "ivan"]);

    let bob = member(&app, "bob");
    let (status, _, _) = envelope(
        with_bearer(
            &app,
            &bob,
            "/auth/local/accounts/disable",
            json!({"username": "erin"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        app.state
            .store
            .account("erin")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let (status, _, _) = envelope(
        with_bearer(
            &app,
            &alice,
            "/auth/local/accounts/disable",
            json!({"username": "nobody"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_local_account_changes_its_password_by_proving_the_current_one() {
    let app = TestApp::spawn().await;
    let erin = signed_in(&app, "erin").await;
    let token = erin["access_token"].as_str().unwrap();
    let change = |current: &'static str, new: &'static str| {
        with_bearer(
            &app,
            token,
            "/auth/local/password",
            json!({ "current_password": current, "new_password": new }),
        )
    };
    let (status, _, _) = envelope(change("wrong password!!", "a brand new password").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = envelope(change("demo-password-erin", "short").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        change("demo-password-erin", "a brand new password")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sign_in(&app, "erin", "demo-password-erin").await.status(),
        StatusCode::UNAUTHORIZED
    );
    signed_in_with(&app, "erin", "a brand new password").await;

    // GitHub accounts have no password here.
    let bob = member(&app, "bob");
    let response = with_bearer(
        &app,
        &bob,
        "/auth/local/password",
        json!({ "current_password": "x", "new_password": "a brand new password" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
