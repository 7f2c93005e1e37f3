//! `--domain`: requests are routed by host.

use reqwest::StatusCode;

use crate::helpers::{SHELL_MARKER, TestApp, TestConfig, envelope};

async fn on_domain() -> TestApp {
    TestApp::spawn_with(TestConfig {
        values: vec![("domain", toml::Value::String("sliderule.test".into()))],
        with_web_client: true,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn the_web_host_serves_the_app_shell() {
    let app = on_domain().await;
    let response = app.get_on_host("sliderule.test", "/clusters").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains(SHELL_MARKER));
}

#[tokio::test]
async fn api_hosts_answer_404_json_instead_of_the_app_shell() {
    let app = on_domain().await;
    for host in [
        "login.sliderule.test",
        "provisioner.sliderule.test",
        "bob.sliderule.test",
    ] {
        let (status, error, _) = envelope(app.get_on_host(host, "/clusters").await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}");
        assert_eq!(error, "not_found", "{host}");
    }
}

#[tokio::test]
async fn health_answers_on_every_host() {
    let app = on_domain().await;
    for host in [
        "login.sliderule.test",
        "provisioner.sliderule.test",
        "sliderule.test",
    ] {
        let response = app.get_on_host(host, "/health").await;
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn config_json_names_the_service_hosts() {
    let app = on_domain().await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let body: serde_json::Value = app
        .get_on_host("sliderule.test", "/config.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["authenticator_url"],
        format!("http://login.sliderule.test:{port}")
    );
    assert_eq!(
        body["provisioner_url"],
        format!("http://provisioner.sliderule.test:{port}")
    );
    assert_eq!(body["domain"], "sliderule.test");
}

#[tokio::test]
async fn the_router_alone_routes_by_host_so_any_transport_can_serve_it() {
    use tower::ServiceExt;
    let app = on_domain().await;
    let router = sliderule_backend::http::router(app.state.clone());
    let request = axum::http::Request::post("/info")
        .header("host", "provisioner.sliderule.test")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    // Routed to the provisioner's /info, which wants a token: not the web client's page.
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "invalid_token");
}
