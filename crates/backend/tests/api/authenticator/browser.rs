//! Browser sign-in: registration, PKCE login, callback and token exchange; the legacy (v5) and
//! basic logins.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn registration_answers_201_with_the_client_record() {
    let app = TestApp::with_github().await;
    let response = post_json(
        &app,
        "/auth/github/register",
        json!({ "redirect_uris": [REDIRECT], "client_name": "notebook" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_no_store(&response);
    let record: Value = response.json().await.unwrap();
    assert!(
        record["client_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(record["redirect_uris"], json!([REDIRECT]));
    assert_eq!(record["token_endpoint_auth_method"], "none");
    assert_eq!(record["code_challenge_method"], "S256");
}

#[tokio::test]
async fn registration_refuses_a_plain_http_redirect_off_localhost() {
    let app = TestApp::with_github().await;
    let response = post_json(
        &app,
        "/auth/github/register",
        json!({ "redirect_uris": ["http://evil.example/cb"] }),
    )
    .await;
    let (status, error, description) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "invalid_redirect_uri");
    assert!(description.contains("evil.example"), "{description}");
}

#[tokio::test]
async fn the_pkce_flow_issues_tokens_with_info() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, Some("sliderule:access provisioner:access")).await;
    let code = code_for(&app, &client, "bob").await;
    let response = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "sliderule:access provisioner:access");
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() == 43)
    );
    let info = &body["info"];
    assert_eq!(info["username"], "bob");
    assert_eq!(info["isOrgMember"], "true");
    assert_eq!(info["isOrgOwner"], "false");
    assert_eq!(info["orgRoles"], "member");
    assert_eq!(info["deployableClusters"], json!(["bob", "icesat2"]));
    assert_eq!(info["maxNodes"], 10);
    assert_eq!(info["maxTTL"], 720);
    let claims = verified(
        &app,
        body["access_token"].as_str().unwrap(),
        Some("provisioner"),
    )
    .unwrap();
    assert_eq!(claims.sub, "bob");
    assert_eq!(info["tokenExpiresAt"], claims.exp.to_string());
}

#[tokio::test]
async fn signing_in_as_administrator_makes_an_org_admin_owner() {
    let app = TestApp::with_github_and(vec![(
        "web.client_id",
        toml::Value::String("sliderule-web".into()),
    )])
    .await;
    let redirect = format!("{}/auth/callback", app.address);
    let path = authorize_path(
        "sliderule-web",
        &redirect,
        "s",
        Some("sliderule:access provisioner:access sliderule:admin"),
    );
    let back = location(&through_github(&app, &path, "alice").await);
    let code = query(&back, "code").expect("a code");
    let response = post_form(
        &app,
        "/auth/github/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", "sliderule-web"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["info"]["isOrgOwner"], "true");
    assert_eq!(body["info"]["orgRoles"], "owner,member");
    assert_eq!(
        body["info"]["deployableClusters"],
        json!(["*"])
            .as_array()
            .map(|_| json!(["alice", "*"]))
            .unwrap()
    );
}

#[tokio::test]
async fn github_cancel_returns_the_error_to_the_client() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let start = app
        .get(&authorize_path(&client, REDIRECT, "st", None))
        .await;
    let github = location(&start);
    let state = query(&github, "state").unwrap();
    let response = app
        .get(&format!(
            "/auth/github/callback?error=access_denied&error_description=denied&state={}",
            urlencode(&state)
        ))
        .await;
    let back = location(&response);
    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some("st"));
    assert!(query(&back, "code").is_none());
}

#[tokio::test]
async fn a_code_with_control_characters_reaches_github_as_a_form_value_and_is_refused() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let start = app
        .get(&authorize_path(&client, REDIRECT, "st", None))
        .await;
    let state = query(&location(&start), "state").unwrap();
    let response = app
        .get(&format!(
            "/auth/github/callback?code={}&state={}",
            urlencode("0123\n\u{0}abcd"),
            urlencode(&state)
        ))
        .await;
    let back = location(&response);
    assert!(back.as_str().starts_with(REDIRECT));
    // GitHub's refusal of the code, not "GitHub is unavailable".
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    let description = query(&back, "error_description").unwrap();
    assert!(
        description.contains("bad_verification_code"),
        "{description}"
    );
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn the_legacy_login_returns_the_token_and_info_in_the_query() {
    let app = TestApp::with_github().await;
    let path = format!(
        "/auth/github/login?redirect_uri={}",
        urlencode("http://localhost:3000/done?x=1")
    );
    let back = location(&through_github(&app, &path, "bob").await);
    assert_eq!(back.host_str(), Some("localhost"));
    assert_eq!(query(&back, "x").as_deref(), Some("1"));
    assert_eq!(query(&back, "username").as_deref(), Some("bob"));
    assert_eq!(query(&back, "isOrgMember").as_deref(), Some("true"));
    assert_eq!(query(&back, "orgRoles").as_deref(), Some("member"));
    let token = query(&back, "token").expect("a token");
    assert_eq!(
        verified(&app, &token, Some("provisioner")).unwrap().sub,
        "bob"
    );
}

#[tokio::test]
async fn the_legacy_login_with_use_cookie_sets_an_http_only_cookie() {
    let app = TestApp::with_github().await;
    let path = format!(
        "/auth/github/login?use_cookie=true&redirect_uri={}",
        urlencode("http://localhost:3000/done")
    );
    let response = through_github(&app, &path, "carol").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let back = location(&response);
    assert!(query(&back, "token").is_none(), "no token in the URL");
    assert!(cookie.starts_with("token="), "{cookie}");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    let token = cookie
        .trim_start_matches("token=")
        .split(';')
        .next()
        .unwrap();
    assert_eq!(verified(&app, token, None).unwrap().sub, "carol");
}

#[tokio::test]
async fn the_basic_login_sets_a_guest_token_cookie() {
    let app = TestApp::with_github().await;
    let path = format!(
        "/auth/github/basic/login?redirect_uri={}",
        urlencode("http://127.0.0.1:3000/grafana")
    );
    let response = through_github(&app, &path, "bob").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        location(&response).as_str(),
        "http://127.0.0.1:3000/grafana"
    );
    let token = cookie
        .trim_start_matches("token=")
        .split(';')
        .next()
        .unwrap();
    let claims = verified(&app, token, None).unwrap();
    assert_eq!(
        claims.scope.unwrap().to_string(),
        "sliderule:access monitor:access"
    );
    assert!(!claims.aud.contains(&"provisioner".to_owned()));
}

#[tokio::test]
async fn the_callback_refuses_a_tampered_or_replayed_state_without_redirecting() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let start = app
        .get(&authorize_path(&client, REDIRECT, "st", None))
        .await;
    let mut github = location(&start);
    let state = query(&github, "state").unwrap();

    let mut tampered = state.clone();
    tampered.replace_range(0..1, if tampered.starts_with('e') { "f" } else { "e" });
    let response = app
        .get(&format!(
            "/auth/github/callback?code=x&state={}",
            urlencode(&tampered)
        ))
        .await;
    let (status, error, _) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "invalid_request");

    github.query_pairs_mut().append_pair("login", "bob");
    let back = app.client.get(github.as_str()).send().await.unwrap();
    let callback = location(&back);
    let first = app.client.get(callback.as_str()).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::FOUND);
    let again = app.client.get(callback.as_str()).send().await.unwrap();
    let (status, _, description) = error_of(again).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a state works once");
    assert!(description.contains("already"), "{description}");
}

#[tokio::test]
async fn the_callback_refuses_an_expired_state() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let start = app
        .get(&authorize_path(&client, REDIRECT, "st", None))
        .await;
    let state = query(&location(&start), "state").unwrap();
    app.clock.advance(std::time::Duration::from_secs(601));
    let response = app
        .get(&format!(
            "/auth/github/callback?code=x&state={}",
            urlencode(&state)
        ))
        .await;
    let (status, _, description) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(description.contains("10 minutes"), "{description}");
}

#[tokio::test]
async fn a_registration_unused_for_thirty_days_is_forgotten() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    app.clock
        .advance(std::time::Duration::from_secs(29 * 24 * 3600));
    let used = app.get(&authorize_path(&client, REDIRECT, "s", None)).await;
    assert_eq!(used.status(), StatusCode::FOUND, "used within 30 days");
    app.clock
        .advance(std::time::Duration::from_secs(29 * 24 * 3600));
    let still = app.get(&authorize_path(&client, REDIRECT, "s", None)).await;
    assert_eq!(
        still.status(),
        StatusCode::FOUND,
        "each use restarts the 30 days"
    );
    app.clock
        .advance(std::time::Duration::from_secs(31 * 24 * 3600));
    let (status, error, _) =
        error_of(app.get(&authorize_path(&client, REDIRECT, "s", None)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_client")
    );
}

#[tokio::test]
async fn housekeeping_deletes_expired_sign_in_records() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    code_for(&app, &client, "bob").await;
    assert_eq!(sliderule_backend::jobs::purge(&app.state).await, 0);
    app.clock
        .advance(std::time::Duration::from_secs(31 * 24 * 3600));
    assert!(sliderule_backend::jobs::purge(&app.state).await >= 2);
}
