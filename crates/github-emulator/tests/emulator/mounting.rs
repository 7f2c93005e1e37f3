//! The router nested under `/_github/`, as the demo mounts it.

use axum::Router;
use github_emulator::{Emulator, Seed};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::support::{CALLBACK, CLIENT_ID, client, form_action, hidden_fields, redirect_query};

/// Serves the emulator under `/_github` in an otherwise empty app; returns `http://ADDR`.
async fn serve_nested() -> (String, Emulator) {
    let emulator = Emulator::new(Seed::demo());
    let app = Router::new().nest("/_github", emulator.router());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), emulator)
}

#[tokio::test]
async fn under_a_prefix_the_authorize_form_posts_back_under_the_prefix() {
    let (root, _emulator) = serve_nested().await;
    let client = client();
    let page_url = format!(
        "{root}/_github/login/oauth/authorize?client_id={CLIENT_ID}&redirect_uri={}&state=st",
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    );
    let page = client
        .get(&page_url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    let action = form_action(&page, &page_url);
    assert_eq!(action, format!("{root}/_github/login/oauth/authorize"));
    let mut form = hidden_fields(&page);
    form.push(("login".into(), "alice".into()));
    let response = client.post(&action).form(&form).send().await.expect("post");
    assert_eq!(response.status(), 302);
    let query = redirect_query(&response);
    assert_eq!(query["state"], "st");
    let token: Value = client
        .post(format!("{root}/_github/login/oauth/access_token"))
        .header("Accept", "application/json")
        .form(&[("client_id", CLIENT_ID), ("code", query["code"].as_str())])
        .send()
        .await
        .expect("exchange")
        .json()
        .await
        .expect("json");
    assert!(token["access_token"].is_string(), "{token}");
}

#[tokio::test]
async fn under_a_prefix_urls_in_answers_include_the_prefix() {
    let (root, emulator) = serve_nested().await;
    let client = client();
    let started: Value = client
        .post(format!("{root}/_github/login/device/code"))
        .header("Accept", "application/json")
        .form(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .expect("device code")
        .json()
        .await
        .expect("json");
    assert_eq!(
        started["verification_uri"],
        format!("{root}/_github/login/device")
    );
    let verification = client
        .get(started["verification_uri"].as_str().expect("uri"))
        .send()
        .await
        .expect("page");
    let page_url = verification.url().to_string();
    let page = verification.text().await.expect("text");
    assert_eq!(
        form_action(&page, &page_url),
        format!("{root}/_github/login/device")
    );

    let token = emulator.issue_token("bob").expect("token");
    let membership: Value = client
        .get(format!(
            "{root}/_github/orgs/SlideRuleEarth/memberships/bob"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("membership")
        .json()
        .await
        .expect("json");
    assert_eq!(
        membership["url"],
        format!("{root}/_github/orgs/SlideRuleEarth/memberships/bob")
    );
}

#[tokio::test]
async fn a_configured_public_url_wins_over_the_request() {
    let emulator =
        Emulator::new(Seed::demo()).with_public_url("https://login.example.test/_github/");
    let running = emulator
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let started: Value = client()
        .post(format!("{}/login/device/code", running.url()))
        .header("Accept", "application/json")
        .form(&[("client_id", CLIENT_ID)])
        .send()
        .await
        .expect("device code")
        .json()
        .await
        .expect("json");
    assert_eq!(
        started["verification_uri"],
        "https://login.example.test/_github/login/device"
    );
}
