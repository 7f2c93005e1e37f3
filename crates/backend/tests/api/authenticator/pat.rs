//! `POST /auth/github/pat`.

use github_emulator::{Endpoint, Fault};
use reqwest::StatusCode;
use serde_json::json;

use super::support::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn a_member_signs_in_with_a_pat_and_gets_every_claim() {
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "bob").await;

    let header = header_of(&login.token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], app.state.keys.current().signing().kid());

    let claims = payload(&login.token);
    assert_eq!(claims["iss"], app.state.urls.authenticator.as_str());
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["github_id"], 1002);
    assert_eq!(
        strings(&claims["aud"]),
        ["provisioner", "monitor", "runner", "bob", "icesat2"]
    );
    assert_eq!(claims["org"], "SlideRuleEarth");
    assert_eq!(strings(&claims["org_roles"]), ["member"]);
    assert_eq!(
        claims["scope"],
        "sliderule:access provisioner:access monitor:access runner:access"
    );
    assert_eq!(claims["max_nodes"], 10);
    assert_eq!(claims["max_ttl"], 720);
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 12 * 3600));
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    assert_eq!(
        login.body["metadata"], claims,
        "metadata repeats the claims"
    );
    assert_eq!(login.body["expires_in"], 12 * 3600);
    assert_eq!(login.refresh_token.len(), 43);
    let verified = verified(&app, &login.token, Some("provisioner")).expect("our token verifies");
    assert_eq!(verified.sub, "bob");
}

#[tokio::test]
async fn every_token_has_its_own_jti() {
    let app = TestApp::with_github().await;
    let first = payload(&pat_login(&app, "carol").await.token);
    let second = payload(&pat_login(&app, "carol").await.token);
    assert_ne!(first["jti"], second["jti"]);
}

#[tokio::test]
async fn a_pat_never_carries_owner_powers() {
    let app = TestApp::with_github().await;
    let claims = payload(&pat_login(&app, "alice").await.token);
    assert_eq!(strings(&claims["org_roles"]), ["member"]);
    assert!(!strings(&claims["aud"]).contains(&"*".to_owned()));
    assert_eq!(claims["max_nodes"], 10);
    assert!(
        !claims["scope"]
            .as_str()
            .unwrap()
            .contains("sliderule:admin")
    );
}

#[tokio::test]
async fn a_non_member_gets_a_token_without_audiences() {
    let app = TestApp::with_github().await;
    let claims = payload(&pat_login(&app, "dave").await.token);
    assert_eq!(claims["org_roles"], json!([]));
    assert_eq!(claims["aud"], json!([]));
    assert_eq!(claims["max_nodes"], 0);
}

#[tokio::test]
async fn a_missing_or_blank_pat_is_refused_as_missing_pat() {
    let app = TestApp::with_github().await;
    for body in [json!({}), json!({ "pat": "  " })] {
        let (status, error, _) = error_of(post_json(&app, "/auth/github/pat", body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error, "missing_pat");
    }
}

#[tokio::test]
async fn a_pat_with_control_characters_or_blanks_is_400_without_asking_github() {
    let app = TestApp::with_github().await;
    // Were GitHub asked, the answer would be a 502.
    app.emulator().set_fault(Endpoint::User, Fault::status(500));
    for pat in [
        "demo-pat-bob\nX",
        "demo-pat-bob\u{0}",
        "demo-pat-\u{7f}bob",
        "demo pat",
    ] {
        let response = post_json(&app, "/auth/github/pat", json!({ "pat": pat })).await;
        let (status, error, description) = error_of(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{pat:?}: {description}");
        assert_eq!(error, "invalid_request", "{pat:?}");
        assert!(description.contains("malformed"), "{description}");
        assert!(
            !description.contains("demo"),
            "the token is not echoed: {description}"
        );
    }
    let (_, _, description) = error_of(
        post_json(
            &app,
            "/auth/github/pat",
            json!({ "pat": "demo-pat-bob\nX" }),
        )
        .await,
    )
    .await;
    assert!(
        description.contains("character 13 is a control character (U+000A)"),
        "{description}"
    );
}

#[tokio::test]
async fn blanks_around_a_pat_are_not_part_of_it() {
    let app = TestApp::with_github().await;
    let response = post_json(
        &app,
        "/auth/github/pat",
        json!({ "pat": " demo-pat-bob\r\n" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(payload(body["token"].as_str().unwrap())["sub"], "bob");
}

#[tokio::test]
async fn a_pat_github_rejects_is_401() {
    let app = TestApp::with_github().await;
    let response = post_json(
        &app,
        "/auth/github/pat",
        json!({ "pat": "ghp_not_a_real_token" }),
    )
    .await;
    let (status, error, _) = error_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error, "invalid_token");
}

#[tokio::test]
async fn github_failing_on_membership_is_502_never_not_a_member() {
    let app = TestApp::with_github().await;
    for status in [403, 500, 503] {
        app.emulator()
            .set_fault(Endpoint::Membership, Fault::status(status));
        let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
        let (code, error, description) = error_of(response).await;
        assert_eq!(code, StatusCode::BAD_GATEWAY, "GitHub {status}");
        assert_eq!(error, "github_unavailable");
        assert!(description.contains("SlideRuleEarth"), "{description}");
    }
    app.emulator()
        .set_fault(Endpoint::Membership, Fault::rate_limited());
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
}

/// When GitHub's rate limit resets, as every answer of its API says.
async fn github_rate_reset(app: &TestApp) -> String {
    let github = app.github.as_ref().expect("an external GitHub emulator");
    let answer = app
        .client
        .get(format!("{}/user", github.url()))
        .bearer_auth("demo-pat-bob")
        .send()
        .await
        .unwrap();
    let reset: i64 = answer.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    time::OffsetDateTime::from_unix_timestamp(reset)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn githubs_rate_limit_on_membership_is_502_saying_so_and_when_it_resets() {
    let app = TestApp::with_github().await;
    let reset = github_rate_reset(&app).await;
    app.emulator()
        .set_fault(Endpoint::Membership, Fault::rate_limited());
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
    let (status, error, description) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error, "github_unavailable");
    assert!(description.contains("GitHub rate-limited"), "{description}");
    assert!(
        description.contains(&format!("resets at {reset}")),
        "{description}"
    );
    assert!(!description.contains("grant"), "{description}");

    app.emulator()
        .set_fault(Endpoint::Membership, Fault::status(429));
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
    let (status, error, description) = error_of(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_GATEWAY, "github_unavailable")
    );
    assert!(description.contains("GitHub rate-limited"), "{description}");
    assert!(!description.contains("grant"), "{description}");
}

#[tokio::test]
async fn a_github_timeout_is_502() {
    let app =
        TestApp::with_github_and(vec![("github.timeout_secs", toml::Value::Float(0.3))]).await;
    app.emulator()
        .set_fault(Endpoint::Membership, Fault::latency(2_000));
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
    let (status, error, _) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error, "github_unavailable");
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = TestApp::with_github().await;
    let pat = "x".repeat(70 * 1024);
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": pat })).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn too_many_sign_ins_from_one_address_are_429_with_retry_after() {
    let app = TestApp::with_github_and(vec![
        ("authenticator.rate_limit_burst", toml::Value::Integer(3)),
        ("authenticator.rate_limit_per_sec", toml::Value::Integer(1)),
    ])
    .await;
    for _ in 0..3 {
        let response = post_json(&app, "/auth/github/pat", json!({})).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1).contains(&retry_after), "{retry_after}");
    let (_, error, _) = error_of(response).await;
    assert_eq!(error, "rate_limited");
    // The published keys are not limited.
    assert_eq!(
        app.get("/.well-known/jwks.json").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn github_calls_are_counted_by_operation_and_outcome_with_their_latency() {
    use crate::helpers::metric;

    let app = TestApp::with_github().await;
    pat_login(&app, "bob").await;
    app.emulator().set_fault(Endpoint::User, Fault::status(500));
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);

    let calls = |operation: &str, outcome: &str| {
        format!(
            "sliderule_github_calls_total{{driver=\"github\",operation=\"{operation}\",outcome=\"{outcome}\"}}"
        )
    };
    assert_eq!(metric(&app, &calls("user", "ok")).await, Some(1.0));
    assert_eq!(metric(&app, &calls("user", "failed")).await, Some(1.0));
    assert_eq!(metric(&app, &calls("membership", "ok")).await, Some(1.0));
    let timed =
        "sliderule_github_call_duration_seconds_count{driver=\"github\",operation=\"user\"}";
    assert_eq!(metric(&app, timed).await, Some(2.0));
}
