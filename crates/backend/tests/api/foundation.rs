//! Health, readiness, metrics, and the error envelope for requests nobody handles.

use reqwest::StatusCode;

use crate::helpers::{TestApp, envelope};

#[tokio::test]
async fn health_answers_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn the_openapi_document_is_served_as_committed_and_names_every_area() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: serde_json::Value = response.json().await.unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../../../docs/openapi.json")).unwrap();
    assert_eq!(served, committed);
    for path in [
        "/auth/github/pat",
        "/provisioner/deploy",
        "/ps/api/org_token/",
        "/health",
    ] {
        assert!(served["paths"].get(path).is_some(), "{path}");
    }
}

#[tokio::test]
async fn ready_reports_its_checks() {
    let app = TestApp::spawn().await;
    let response = app.get("/ready").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert!(body["checks"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.get("/health").await;
    let id = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id");
    assert_eq!(id.len(), 36, "a UUID: {id:?}");
}

#[tokio::test]
async fn a_request_id_from_the_client_is_kept() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.get("/health").await;
    app.get("/health").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("sliderule_http_requests_total{")
                && l.contains("route=\"/health\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no /health counter in:\n{text}"));
    assert!(line.ends_with(" 2"), "two requests counted: {line}");
    assert!(text.contains("sliderule_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn unknown_api_path_is_a_404_envelope() {
    let app = TestApp::spawn().await;
    let (status, error, description) = envelope(app.get("/auth/github/nothing-here").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error, "not_found");
    assert!(
        description.contains("/auth/github/nothing-here"),
        "{description}"
    );
}

#[tokio::test]
async fn wrong_method_is_a_405_envelope_that_keeps_allow() {
    let app = TestApp::spawn().await;
    let response = app.client.post(app.url("/health")).send().await.unwrap();
    let allow = response.headers().get("allow").cloned();
    let (status, error, _) = envelope(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error, "method_not_allowed");
    assert_eq!(allow.unwrap(), "GET,HEAD");
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let body = vec![b'x'; 64 * 1024 + 1];
    let response = app
        .client
        .post(app.url("/provisioner/status"))
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, error, description) = envelope(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error, "payload_too_large");
    assert!(description.contains("65537"), "{description}");
    assert!(description.contains("65536"), "{description}");
}
