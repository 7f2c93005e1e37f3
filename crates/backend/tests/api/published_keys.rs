//! JWKS and PEM, on the current and the v5 paths.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn a_token_signed_by(app: &TestApp) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    app.state
        .keys
        .signing()
        .sign(&json!({"iss": "test", "sub": "bob", "aud": ["provisioner"], "exp": now + 60}))
        .unwrap()
}

fn accepts(key: &DecodingKey, token: &str) -> bool {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["provisioner"]);
    jsonwebtoken::decode::<Value>(token, key, &validation).is_ok()
}

#[tokio::test]
async fn jwks_is_served_on_both_paths_for_anyone_to_cache_five_minutes() {
    let app = TestApp::spawn().await;
    let mut bodies = Vec::new();
    for path in ["/.well-known/jwks.json", "/auth/github/jwks"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=300");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        bodies.push(response.json::<Value>().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    let key = &bodies[0]["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["e"], "AQAB");
    assert_eq!(key["kid"], app.state.keys.signing().kid());
}

#[tokio::test]
async fn the_published_jwk_verifies_our_tokens() {
    let app = TestApp::spawn().await;
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let jwk = &jwks["keys"][0];
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    assert!(accepts(&key, &a_token_signed_by(&app)));
}

#[tokio::test]
async fn pem_is_served_on_both_paths_and_verifies_our_tokens() {
    let app = TestApp::spawn().await;
    for path in ["/auth/pem", "/auth/github/pem"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "application/x-pem-file");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let pem = response.text().await.unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        let key = DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        assert!(accepts(&key, &a_token_signed_by(&app)), "{path}");
    }
}

#[tokio::test]
async fn ready_checks_the_signing_key() {
    let app = TestApp::spawn().await;
    let body: Value = app.get("/ready").await.json().await.unwrap();
    let check = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "signing_key")
        .expect("a signing_key check");
    assert_eq!(check["ok"], true);
}
