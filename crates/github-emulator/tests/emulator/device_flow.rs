//! The device flow: device code, verification page, polling answers.

use std::time::Duration;

use serde_json::Value;

use crate::support::{CLIENT_ID, Harness, form_action, login_buttons};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(h: &Harness) -> Value {
    let response = h
        .client
        .post(h.url("/login/device/code"))
        .header("Accept", "application/json")
        .form(&[("client_id", CLIENT_ID), ("scope", "read:org")])
        .send()
        .await
        .expect("device code");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn poll(h: &Harness, device_code: &str) -> Value {
    h.exchange(&[
        ("client_id", CLIENT_ID),
        ("device_code", device_code),
        ("grant_type", DEVICE_GRANT),
    ])
    .await
}

fn codes(started: &Value) -> (String, String) {
    (
        started["device_code"]
            .as_str()
            .expect("device_code")
            .to_owned(),
        started["user_code"].as_str().expect("user_code").to_owned(),
    )
}

#[tokio::test]
async fn a_device_code_request_answers_githubs_fields() {
    let h = Harness::start().await;
    let started = start(&h).await;
    let (device_code, user_code) = codes(&started);
    assert_eq!(device_code.len(), 40);
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(started["verification_uri"], h.url("/login/device"));
    assert_eq!(started["expires_in"], 900);
    assert_eq!(started["interval"], 5);
    assert!(
        started.get("verification_uri_complete").is_none(),
        "GitHub does not send it"
    );
}

#[tokio::test]
async fn a_device_code_request_answers_form_encoded_without_an_accept_header() {
    let h = Harness::start().await;
    let response = h
        .client
        .post(h.url("/login/device/code"))
        .form(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .expect("device code");
    let body = response.text().await.expect("text");
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(fields["interval"], "5");
    assert!(fields.contains_key("device_code"), "{body}");
}

#[tokio::test]
async fn polling_before_approval_answers_authorization_pending() {
    let h = Harness::start().await;
    let (device_code, _) = codes(&start(&h).await);
    let answer = poll(&h, &device_code).await;
    assert_eq!(answer["error"], "authorization_pending");
    assert_eq!(
        answer["error_description"],
        "The authorization request is still pending."
    );
}

#[tokio::test]
async fn polling_faster_than_the_interval_answers_slow_down_with_five_more_seconds() {
    let h = Harness::start().await;
    let (device_code, _) = codes(&start(&h).await);
    assert_eq!(
        poll(&h, &device_code).await["error"],
        "authorization_pending"
    );
    let too_fast = poll(&h, &device_code).await;
    assert_eq!(too_fast["error"], "slow_down");
    assert_eq!(too_fast["interval"], 10);
    // Waiting the old interval is no longer enough; the new one is.
    h.emulator().advance_clock(Duration::from_secs(5));
    assert_eq!(poll(&h, &device_code).await["interval"], 15);
    h.emulator().advance_clock(Duration::from_secs(15));
    assert_eq!(
        poll(&h, &device_code).await["error"],
        "authorization_pending"
    );
}

#[tokio::test]
async fn approving_on_the_verification_page_yields_a_token_for_that_user() {
    let h = Harness::start().await;
    let (device_code, user_code) = codes(&start(&h).await);
    let page_url = format!("{}?user_code={user_code}", h.url("/login/device"));
    let page = h
        .client
        .get(&page_url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(page.contains("<label for=\"user_code\">Device code</label>"));
    assert!(
        page.contains(&format!("value=\"{user_code}\"")),
        "the code is filled in"
    );
    assert_eq!(login_buttons(&page), ["alice", "bob", "carol", "dave"]);
    let response = h
        .client
        .post(form_action(&page, &page_url))
        .form(&[
            ("user_code", user_code.to_lowercase().as_str()),
            ("login", "carol"),
        ])
        .send()
        .await
        .expect("approve");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("Device approved")
    );
    let answer = poll(&h, &device_code).await;
    let token = answer["access_token"].as_str().expect("token");
    assert_eq!(answer["scope"], "read:org");
    let user: Value = h.api("/user", token).await.json().await.expect("json");
    assert_eq!(user["login"], "carol");
}

#[tokio::test]
async fn approving_through_the_control_api_yields_a_token_exactly_once() {
    let h = Harness::start().await;
    let (device_code, user_code) = codes(&start(&h).await);
    let response = h
        .client
        .post(h.url("/_emulator/device/approve"))
        .json(&serde_json::json!({"user_code": user_code, "login": "bob"}))
        .send()
        .await
        .expect("approve");
    assert_eq!(response.status(), 204);
    assert!(poll(&h, &device_code).await["access_token"].is_string());
    h.emulator().advance_clock(Duration::from_secs(5));
    assert_eq!(
        poll(&h, &device_code).await["error"],
        "incorrect_device_code"
    );
}

#[tokio::test]
async fn approving_with_the_library_call_works_too() {
    let h = Harness::start().await;
    let (device_code, user_code) = codes(&start(&h).await);
    h.emulator()
        .approve_device(&user_code, "alice")
        .expect("approved");
    assert_eq!(
        h.emulator().approve_device(&user_code, "bob"),
        Err(github_emulator::Error::DeviceAlreadyDecided)
    );
    assert!(poll(&h, &device_code).await["access_token"].is_string());
}

#[tokio::test]
async fn cancel_on_the_verification_page_answers_access_denied() {
    let h = Harness::start().await;
    let (device_code, user_code) = codes(&start(&h).await);
    let response = h
        .client
        .post(h.url("/login/device"))
        .form(&[("user_code", user_code.as_str()), ("cancel", "1")])
        .send()
        .await
        .expect("deny");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("Device denied")
    );
    let answer = poll(&h, &device_code).await;
    assert_eq!(answer["error"], "access_denied");
    assert!(answer.get("access_token").is_none());
}

#[tokio::test]
async fn the_verification_page_says_when_a_code_is_not_valid() {
    let h = Harness::start().await;
    let response = h
        .client
        .post(h.url("/login/device"))
        .form(&[("user_code", "ZZZZ-9999"), ("login", "alice")])
        .send()
        .await
        .expect("approve");
    assert_eq!(response.status(), 400);
    let page = response.text().await.expect("text");
    assert!(page.contains("role=\"alert\""));
    assert!(page.contains("That code is not valid"));
}

#[tokio::test]
async fn a_device_code_past_its_expiry_answers_expired_token() {
    let h = Harness::start().await;
    let (device_code, user_code) = codes(&start(&h).await);
    h.emulator().advance_clock(Duration::from_secs(901));
    assert_eq!(
        h.emulator().approve_device(&user_code, "alice"),
        Err(github_emulator::Error::DeviceCodeExpired)
    );
    let answer = poll(&h, &device_code).await;
    assert_eq!(answer["error"], "expired_token");
    assert_eq!(answer["error_description"], "The device_code has expired.");
}

#[tokio::test]
async fn a_seed_with_a_short_expiry_reports_it() {
    let mut seed = github_emulator::Seed::demo();
    seed.device_expires_in_secs = 2;
    seed.device_interval_secs = 1;
    let h = Harness::with_seed(seed).await;
    let started = start(&h).await;
    assert_eq!(started["expires_in"], 2);
    assert_eq!(started["interval"], 1);
    h.emulator().advance_clock(Duration::from_secs(2));
    assert_eq!(
        poll(&h, started["device_code"].as_str().expect("code")).await["error"],
        "expired_token"
    );
}

#[tokio::test]
async fn an_unknown_device_code_answers_incorrect_device_code() {
    let h = Harness::start().await;
    let answer = poll(&h, "0000000000000000000000000000000000000000").await;
    assert_eq!(answer["error"], "incorrect_device_code");
}
