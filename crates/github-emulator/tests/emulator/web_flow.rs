//! The OAuth web flow: authorize page, redirect with code and state, code exchange.

use std::time::Duration;

use crate::support::{
    CALLBACK, CLIENT_ID, Harness, form_action, hidden_fields, login_buttons, redirect_query,
    seed_with_client,
};

fn authorize_query() -> [(&'static str, &'static str); 4] {
    [
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("scope", "read:org"),
        ("state", "xyz 123"),
    ]
}

#[tokio::test]
async fn the_authorize_page_offers_a_button_for_every_seeded_user() {
    let h = Harness::start().await;
    let response = h
        .client
        .get(h.url("/login/oauth/authorize"))
        .query(&authorize_query())
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = response.text().await.expect("text");
    assert_eq!(login_buttons(&page), ["alice", "bob", "carol", "dave"]);
    assert!(page.contains(">Cancel</button>"));
    assert!(!page.contains("<script"), "the page needs no scripts");
}

#[tokio::test]
async fn choosing_a_user_on_the_page_redirects_back_with_a_code_and_the_state() {
    let h = Harness::start().await;
    let page_url = format!(
        "{}?{}",
        h.url("/login/oauth/authorize"),
        serde_urlencoded(&authorize_query())
    );
    let page = h
        .client
        .get(&page_url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    let mut form = hidden_fields(&page);
    form.push(("login".into(), "bob".into()));
    let response = h
        .client
        .post(form_action(&page, &page_url))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with("http://app.test/callback?code="),
        "{location}"
    );
    let query = redirect_query(&response);
    assert_eq!(query["state"], "xyz 123");
    assert_eq!(query["code"].len(), 20);
    let token = h
        .exchange(&[
            ("client_id", CLIENT_ID),
            ("client_secret", "x"),
            ("code", &query["code"]),
        ])
        .await;
    let token = token["access_token"].as_str().expect("token");
    let user: serde_json::Value = h.api("/user", token).await.json().await.expect("json");
    assert_eq!(user["login"], "bob");
}

#[tokio::test]
async fn a_redirect_uri_with_a_query_keeps_it_and_adds_the_code_with_an_ampersand() {
    let h = Harness::start().await;
    let response = h
        .client
        .get(h.url("/login/oauth/authorize"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", "http://app.test/cb?next=home"),
            ("login", "alice"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().expect("ascii");
    assert!(
        location.starts_with("http://app.test/cb?next=home&code="),
        "{location}"
    );
    assert!(
        !location.contains("state="),
        "no state was sent, so none comes back"
    );
}

#[tokio::test]
async fn cancel_redirects_with_access_denied_and_the_state() {
    let h = Harness::start().await;
    let mut form: Vec<(&str, &str)> = authorize_query().to_vec();
    form.push(("cancel", "1"));
    let response = h
        .client
        .post(h.url("/login/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .expect("cancel");
    assert_eq!(response.status(), 302);
    let query = redirect_query(&response);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(
        query["error_description"],
        "The user has denied your application access."
    );
    assert_eq!(query["state"], "xyz 123");
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn an_unknown_login_in_the_automation_parameter_is_refused_on_the_page() {
    let h = Harness::start().await;
    let response = h
        .client
        .get(h.url("/login/oauth/authorize"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("login", "mallory"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("text").contains("mallory"));
}

#[tokio::test]
async fn the_code_exchange_answers_json_when_asked_for_json() {
    let h = Harness::start().await;
    let code = h.code_for("alice").await;
    let response = h
        .client
        .post(h.url("/login/oauth/access_token"))
        .header("Accept", "application/json")
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", "s"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .expect("exchange");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(
        body["access_token"]
            .as_str()
            .expect("token")
            .starts_with("gho_")
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "read:org");
}

#[tokio::test]
async fn the_code_exchange_answers_form_encoded_without_an_accept_header() {
    let h = Harness::start().await;
    let code = h.code_for("alice").await;
    let response = h
        .client
        .post(h.url("/login/oauth/access_token"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", "s"),
            ("code", &code),
        ])
        .send()
        .await
        .expect("exchange");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-www-form-urlencoded; charset=utf-8"
    );
    let body = response.text().await.expect("text");
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert!(fields["access_token"].starts_with("gho_"), "{body}");
    assert_eq!(fields["token_type"], "bearer");
    assert_eq!(fields["scope"], "read:org");
}

#[tokio::test]
async fn the_code_exchange_accepts_a_json_body() {
    let h = Harness::start().await;
    let code = h.code_for("carol").await;
    let response = h
        .client
        .post(h.url("/login/oauth/access_token"))
        .header("Accept", "application/json")
        .json(&serde_json::json!({"client_id": CLIENT_ID, "client_secret": "s", "code": code}))
        .send()
        .await
        .expect("exchange");
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(body["access_token"].is_string(), "{body}");
}

#[tokio::test]
async fn a_spent_code_answers_bad_verification_code_with_http_200() {
    let h = Harness::start().await;
    let code = h.code_for("alice").await;
    let form = [
        ("client_id", CLIENT_ID),
        ("client_secret", "s"),
        ("code", code.as_str()),
    ];
    let first = h.exchange(&form).await;
    assert!(first["access_token"].is_string());
    let second = h.exchange(&form).await;
    assert_eq!(second["error"], "bad_verification_code");
    assert_eq!(
        second["error_description"],
        "The code passed is incorrect or expired."
    );
    assert!(
        second["error_uri"]
            .as_str()
            .expect("uri")
            .ends_with("#bad-verification-code")
    );
    assert!(second.get("access_token").is_none());
}

#[tokio::test]
async fn a_code_older_than_ten_minutes_answers_bad_verification_code() {
    let h = Harness::start().await;
    let code = h.code_for("alice").await;
    h.emulator().advance_clock(Duration::from_secs(601));
    let answer = h
        .exchange(&[("client_id", CLIENT_ID), ("code", &code)])
        .await;
    assert_eq!(answer["error"], "bad_verification_code");
}

#[tokio::test]
async fn a_wrong_client_secret_answers_incorrect_client_credentials() {
    let h = Harness::with_seed(seed_with_client()).await;
    let code = h.code_for("alice").await;
    let wrong = h
        .exchange(&[
            ("client_id", CLIENT_ID),
            ("client_secret", "guess"),
            ("code", &code),
        ])
        .await;
    assert_eq!(wrong["error"], "incorrect_client_credentials");
    assert_eq!(
        wrong["error_description"],
        "The client_id and/or client_secret passed are incorrect."
    );
    // The failed attempt did not spend the code.
    let right = h
        .exchange(&[
            ("client_id", CLIENT_ID),
            ("client_secret", "test-secret"),
            ("code", &code),
        ])
        .await;
    assert!(right["access_token"].is_string(), "{right}");
}

#[tokio::test]
async fn a_different_redirect_uri_answers_redirect_uri_mismatch() {
    let h = Harness::start().await;
    let code = h.code_for("alice").await;
    let answer = h
        .exchange(&[
            ("client_id", CLIENT_ID),
            ("code", &code),
            ("redirect_uri", "http://evil.test/cb"),
        ])
        .await;
    assert_eq!(answer["error"], "redirect_uri_mismatch");
    assert!(
        answer["error_uri"]
            .as_str()
            .expect("uri")
            .ends_with("#redirect-uri-mismatch2")
    );
}

#[tokio::test]
async fn a_configured_client_id_is_required_on_the_authorize_page() {
    let h = Harness::with_seed(seed_with_client()).await;
    let response = h
        .client
        .get(h.url("/login/oauth/authorize"))
        .query(&[("client_id", "someone-else"), ("redirect_uri", CALLBACK)])
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_unknown_grant_type_answers_unsupported_grant_type() {
    let h = Harness::start().await;
    let answer = h
        .exchange(&[
            ("client_id", CLIENT_ID),
            ("grant_type", "refresh_token"),
            ("refresh_token", "r"),
        ])
        .await;
    assert_eq!(answer["error"], "unsupported_grant_type");
}

fn serde_urlencoded(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
