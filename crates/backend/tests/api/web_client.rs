//! Serving the web client: files, the single-page-app fallback, and `config.json`.

use reqwest::StatusCode;

use crate::helpers::{SHELL_MARKER, TestApp, TestConfig, envelope};

async fn with_web_client() -> TestApp {
    TestApp::spawn_with(TestConfig {
        with_web_client: true,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn the_root_serves_the_app_shell() {
    let app = with_web_client().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert!(response.text().await.unwrap().contains(SHELL_MARKER));
}

#[tokio::test]
async fn a_deep_link_gets_the_app_shell() {
    let app = with_web_client().await;
    let response = app.get("/clusters/bob").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains(SHELL_MARKER));
}

#[tokio::test]
async fn hashed_assets_are_cached_for_good() {
    let app = with_web_client().await;
    let response = app.get("/app-0123abcd.js").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn a_missing_file_is_404_not_the_app_shell() {
    let app = with_web_client().await;
    let (status, error, _) = envelope(app.get("/missing-0000.wasm").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error, "not_found");
}

#[tokio::test]
async fn without_a_built_client_the_page_says_how_to_build_it() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("trunk build --release")
    );
}

#[tokio::test]
async fn config_json_points_at_this_instance() {
    let app = TestApp::spawn().await;
    let response = app.get("/config.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["authenticator_url"], app.address);
    assert_eq!(
        body["provisioner_url"],
        format!("{}/provisioner", app.address)
    );
    assert_eq!(body["domain"], "127.0.0.1");
    // Demo mode pre-registers its web client, so signing in needs no registration.
    assert_eq!(body["client_id"], "sliderule-web");
}

#[tokio::test]
async fn config_json_carries_a_configured_client_id() {
    let app = TestApp::spawn_with(TestConfig {
        values: vec![("web.client_id", toml::Value::String("web-client".into()))],
        ..Default::default()
    })
    .await;
    let body: serde_json::Value = app.get("/config.json").await.json().await.unwrap();
    assert_eq!(body["client_id"], "web-client");
}
