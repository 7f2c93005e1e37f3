//! The v2-era client API (`/ps/api/…`, and `ps.DOMAIN/api/…`) as the `sliderule` 4.x client
//! calls it: tokens for local and GitHub accounts, rotation and revocation, membership status,
//! bounds, capacity requests, the cluster's address, configuration and withdrawals, every error
//! in the `{"status": "FAILED", "error_msg"}` envelope.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::authenticator::support::payload;
use crate::helpers::{TestApp, TestConfig};
use crate::provisioner::support::{STEP, owner};

async fn v2(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(&format!("/ps/api/{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request is sent")
}

/// A v2 answer that must succeed: its JSON.
async fn ok(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A v2 refusal: its status and `error_msg`, checked to be exactly the v2 envelope.
async fn failed(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("errors are JSON");
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "exactly status and error_msg: {body}");
    assert_eq!(body["status"], "FAILED");
    (
        status,
        body["error_msg"].as_str().expect("error_msg").to_owned(),
    )
}

async fn org_token(app: &TestApp, username: &str, password: &str, org: &str) -> Response {
    v2(
        app,
        Method::POST,
        "org_token/",
        None,
        Some(json!({ "username": username, "password": password, "org_name": org })),
    )
    .await
}

/// erin's v2 tokens for icesat2.
async fn erin(app: &TestApp) -> Value {
    ok(org_token(app, "erin", "demo-password-erin", "icesat2").await).await
}

/// icesat2's live requests now.
async fn live_requests(app: &TestApp) -> Vec<sliderule_backend::store::CapacityRow> {
    let now = sliderule_backend::clock::Clock::now(app.clock.as_ref());
    app.state
        .store
        .capacity_requests("icesat2", now)
        .await
        .unwrap()
}

fn access(tokens: &Value) -> &str {
    tokens["access"].as_str().expect("access")
}

#[tokio::test]
async fn a_local_account_gets_v2_tokens_in_the_old_shape_with_the_v2_claims() {
    let app = TestApp::spawn().await;
    let tokens = erin(&app).await;
    assert_eq!(tokens["access_lifetime"], "3600.0");
    assert_eq!(tokens["refresh_lifetime"], "172800.0");
    let exp = tokens["exp"].as_str().unwrap();
    assert!(
        exp.len() == 22 && exp.ends_with("UTC") && exp.as_bytes()[10] == b'T',
        "YYYY-MM-DDTHH:MM:SSUTC, got {exp}"
    );
    let claims = payload(access(&tokens));
    assert_eq!(claims["org_name"], "icesat2");
    assert_eq!(claims["user_name"], "erin");
    assert!(claims["user_id"].as_u64().is_some());
    assert!(
        claims["aud"]
            .as_array()
            .unwrap()
            .contains(&json!("icesat2"))
    );
}

#[tokio::test]
async fn wrong_credentials_outsiders_and_unknown_organizations_are_refused_in_the_v2_envelope() {
    let app = TestApp::spawn().await;
    let (status, message) =
        failed(org_token(&app, "erin", "wrong password!", "icesat2").await).await;
    assert_eq!(
        (status, message.as_str()),
        (
            StatusCode::UNAUTHORIZED,
            "the username or password is wrong"
        )
    );
    let (status, _) = failed(org_token(&app, "erin", "", "icesat2").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, message) =
        failed(org_token(&app, "frank", "demo-password-frank", "icesat2").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        message,
        "frank is not an active member of organization icesat2; request membership first"
    );
    let (status, _) = failed(org_token(&app, "erin", "demo-password-erin", "nowhere").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = failed(
        v2(
            &app,
            Method::POST,
            "org_token/",
            None,
            Some(json!({ "username": "erin" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_github_token_gets_v2_tokens_for_members_only() {
    let app = TestApp::spawn().await;
    let github = |token: &'static str| {
        v2(
            &app,
            Method::POST,
            "org_token_github/",
            None,
            Some(json!({ "org_name": "icesat2", "access_token": token })),
        )
    };
    let tokens = ok(github("demo-pat-bob").await).await;
    let claims = payload(access(&tokens));
    assert_eq!(
        (claims["sub"].as_str(), claims["org_name"].as_str()),
        (Some("bob"), Some("icesat2"))
    );
    let (status, _) = failed(github("demo-pat-dave").await).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "dave is not in the icesat2 team"
    );
    let (status, _) = failed(github("not-a-token").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A token that could not be sent to GitHub is the caller's mistake, not GitHub's failure.
    let (status, message) = failed(github("demo pat \u{a3}").await).await;
    assert_eq!(
        (status, message.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "access_token is malformed: character 5 is a blank (U+0020); a GitHub token is one word of printable ASCII characters"
        )
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_blacklisted_family_is_dead() {
    let app = TestApp::spawn().await;
    let first = erin(&app).await;
    let second = ok(v2(
        &app,
        Method::POST,
        "org_token/refresh/",
        Some(access(&first)),
        Some(json!({ "refresh": first["refresh"] })),
    )
    .await)
    .await;
    assert_ne!(second["refresh"], first["refresh"]);
    assert_eq!(
        payload(access(&second))["org_name"],
        "icesat2",
        "a refresh keeps the organization"
    );
    let done = ok(v2(
        &app,
        Method::POST,
        "token/blacklist/",
        None,
        Some(json!({ "refresh": second["refresh"] })),
    )
    .await)
    .await;
    assert_eq!(done, json!({}));
    let (status, _) = failed(
        v2(
            &app,
            Method::POST,
            "org_token/refresh/",
            None,
            Some(json!({ "refresh": second["refresh"] })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_refresh_after_a_deactivation_is_refused_and_revokes_what_it_issued() {
    let app = TestApp::spawn().await;
    let tokens = erin(&app).await;
    let alice = owner(&app);
    let response = app
        .client
        .post(app.url("/provisioner/membership/deactivate"))
        .bearer_auth(&alice)
        .json(&json!({ "organization": "icesat2", "user": "erin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, message) = failed(
        v2(
            &app,
            Method::POST,
            "org_token/refresh/",
            None,
            Some(json!({ "refresh": tokens["refresh"] })),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{message}");
    let membership = ok(v2(
        &app,
        Method::GET,
        "membership_status/icesat2/",
        Some(access(&tokens)),
        None,
    )
    .await)
    .await;
    assert_eq!(membership, json!({ "active": false }));
}

#[tokio::test]
async fn bounds_requests_and_the_address_follow_the_client_s_own_sequence() {
    let app = TestApp::spawn().await;
    let tokens = erin(&app).await;
    let token = access(&tokens);
    let status = ok(v2(
        &app,
        Method::GET,
        "membership_status/icesat2/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(status, json!({ "active": true }));
    let bounds = ok(v2(
        &app,
        Method::GET,
        "org_num_nodes/icesat2/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(
        bounds,
        json!({ "status": "SUCCESS", "min_nodes": 0, "current_nodes": 0, "max_nodes": 6,
                "version": "v4.20.0", "is_public": false })
    );
    let (status_code, message) =
        failed(v2(&app, Method::GET, "org_ip_adr/icesat2/", Some(token), None).await).await;
    assert_eq!(status_code, StatusCode::SERVICE_UNAVAILABLE, "{message}");

    let queued = ok(v2(
        &app,
        Method::POST,
        "desired_org_num_nodes_ttl/icesat2/2/30/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(
        (queued["status"].as_str(), queued["error_msg"].as_str()),
        (Some("QUEUED"), Some(""))
    );
    assert!(
        queued["msg"]
            .as_str()
            .unwrap()
            .starts_with("Deploying icesat2 cluster to 2 nodes"),
        "{queued}"
    );
    let again = ok(v2(
        &app,
        Method::POST,
        "desired_org_num_nodes_ttl/icesat2/2/30/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(again["status"], "REDUNDANT");

    // The simulated cluster comes up; its address is the demo's own.
    let mut address = None;
    for _ in 0..100 {
        let response = v2(&app, Method::GET, "org_ip_adr/icesat2/", Some(token), None).await;
        if response.status() == StatusCode::OK {
            address = Some(response.json::<Value>().await.unwrap());
            break;
        }
        app.clock.advance(STEP);
    }
    let address = address.expect("the cluster comes up");
    assert_eq!(
        address,
        json!({ "status": "SUCCESS", "ip_address": "127.0.0.1" })
    );

    // A request that lives as long as the access token.
    let put = ok(v2(
        &app,
        Method::PUT,
        "desired_org_num_nodes/icesat2/3/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(put["status"], "QUEUED");
    let live = live_requests(&app).await;
    let exp = payload(token)["exp"].as_i64().unwrap();
    assert!(
        live.iter()
            .any(|r| r.nodes == 3 && r.expires_at.unix_timestamp() == exp),
        "{live:?}"
    );

    let removed = ok(v2(
        &app,
        Method::PUT,
        "remove_user_org_num_nodes_reqs/icesat2/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(removed["status"], "SUCCESS");
    assert!(live_requests(&app).await.is_empty());
}

#[tokio::test]
async fn malformed_paths_and_values_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let tokens = erin(&app).await;
    let token = access(&tokens);
    for (method, path, expected) in [
        (Method::GET, "org_num_nodes//", StatusCode::BAD_REQUEST),
        (
            Method::POST,
            "desired_org_num_nodes_ttl/icesat2/-1/30/",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "desired_org_num_nodes_ttl/icesat2/99999999999/30/",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "desired_org_num_nodes_ttl/icesat2/two/30/",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "desired_org_num_nodes_ttl/icesat2/2/14/",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "desired_org_num_nodes_ttl/icesat2/2/721/",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "desired_org_num_nodes_ttl/Bad_Org/2/30/",
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, "no_such_endpoint/", StatusCode::NOT_FOUND),
    ] {
        let (status, message) = failed(v2(&app, method, path, Some(token), None).await).await;
        assert_eq!(status, expected, "{path}: {message}");
    }
    let (_, message) = failed(
        v2(
            &app,
            Method::POST,
            "desired_org_num_nodes_ttl/icesat2/2/721/",
            Some(token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        message,
        "the time to live 721 is out of range: give 15 to 720 minutes"
    );
    let (status, _) =
        failed(v2(&app, Method::GET, "org_num_nodes/icesat2/", None, None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(live_requests(&app).await.is_empty());
}

#[tokio::test]
async fn a_token_for_one_organization_is_refused_on_another_s_path() {
    let app = TestApp::spawn().await;
    let alice = owner(&app);
    let created = app
        .client
        .post(app.url("/provisioner/organizations/create"))
        .bearer_auth(&alice)
        .json(&json!({ "organization": "atl06", "max_nodes": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let tokens = erin(&app).await;
    let (status, message) = failed(
        v2(
            &app,
            Method::GET,
            "org_num_nodes/atl06/",
            Some(access(&tokens)),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message,
        "this token was issued for organization icesat2, not atl06"
    );
}

#[tokio::test]
async fn only_admins_configure_bounds_and_withdraw_everyone_s_requests() {
    let app = TestApp::spawn().await;
    let tokens = erin(&app).await;
    let token = access(&tokens);
    ok(v2(
        &app,
        Method::POST,
        "desired_org_num_nodes_ttl/icesat2/1/30/",
        Some(token),
        None,
    )
    .await)
    .await;
    let (status, message) = failed(
        v2(
            &app,
            Method::PUT,
            "org_config/icesat2/0/4/",
            Some(token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{message}");
    let (status, _) = failed(
        v2(
            &app,
            Method::PUT,
            "remove_all_org_num_nodes_reqs/icesat2/",
            Some(token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An owner makes erin an admin; her next token may configure.
    let alice = owner(&app);
    let made = app
        .client
        .post(app.url("/provisioner/organizations/configure"))
        .bearer_auth(&alice)
        .json(&json!({ "organization": "icesat2", "admins": ["erin"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::OK);
    let configured = ok(v2(
        &app,
        Method::PUT,
        "org_config/icesat2/0/4/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(
        configured,
        json!({ "status": "SUCCESS", "msg": "updated min-max nodes of icesat2 to 0-4" })
    );
    let (status, message) = failed(
        v2(
            &app,
            Method::PUT,
            "org_config/icesat2/5/4/",
            Some(token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("min_nodes 5 is more than max_nodes 4"),
        "{message}"
    );
    let removed = ok(v2(
        &app,
        Method::PUT,
        "remove_all_org_num_nodes_reqs/icesat2/",
        Some(token),
        None,
    )
    .await)
    .await;
    assert_eq!(removed["status"], "SUCCESS");
}

#[tokio::test]
async fn the_v2_api_answers_on_the_ps_host() {
    let app = TestApp::spawn_with(TestConfig {
        values: vec![("domain", toml::Value::String("sliderule.test".into()))],
        ..Default::default()
    })
    .await;
    let response = app
        .client
        .post(app.url("/api/org_token/"))
        .header(reqwest::header::HOST, "ps.sliderule.test")
        .json(
            &json!({ "username": "erin", "password": "demo-password-erin", "org_name": "icesat2" }),
        )
        .send()
        .await
        .unwrap();
    let tokens = ok(response).await;
    let version = app
        .client
        .get(app.url("/source/version"))
        .header(reqwest::header::HOST, "icesat2.sliderule.test")
        .bearer_auth(access(&tokens))
        .send()
        .await
        .unwrap();
    assert_eq!(
        version.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "asleep: no cluster answers"
    );
}

#[tokio::test]
async fn withdrawing_with_nothing_to_withdraw_succeeds_as_the_old_system_did() {
    let app = TestApp::spawn().await;
    let tokens = erin(&app).await;
    let done = ok(v2(
        &app,
        Method::PUT,
        "remove_user_org_num_nodes_reqs/icesat2/",
        Some(access(&tokens)),
        None,
    )
    .await)
    .await;
    assert_eq!(
        done,
        json!({ "status": "SUCCESS", "msg": "withdrew 0 node request(s) of erin on icesat2" })
    );
}

#[tokio::test]
async fn github_v2_tokens_are_as_short_as_local_ones() {
    let app = TestApp::spawn().await;
    let tokens = ok(v2(
        &app,
        Method::POST,
        "org_token_github/",
        None,
        Some(json!({ "org_name": "icesat2", "access_token": "demo-pat-bob" })),
    )
    .await)
    .await;
    assert_eq!(tokens["access_lifetime"], "3600.0");
}

#[tokio::test]
async fn too_many_v2_sign_ins_are_429_in_the_v2_envelope() {
    let app = TestApp::with_github_and(vec![
        ("authenticator.rate_limit_burst", toml::Value::Integer(2)),
        ("authenticator.rate_limit_per_sec", toml::Value::Integer(1)),
    ])
    .await;
    for _ in 0..2 {
        let response = org_token(&app, "erin", "wrong-password", "icesat2").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = org_token(&app, "erin", "demo-password-erin", "icesat2").await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, message) = failed(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(message, "too many requests; retry after 1 s");
}
