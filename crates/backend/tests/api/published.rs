//! What the authenticator publishes: JWKS and PEM (current and v5 paths), discovery documents.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn a_token_signed_by(app: &TestApp) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    app.state
        .keys
        .current()
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
    assert_eq!(key["kid"], app.state.keys.current().signing().kid());
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

#[tokio::test]
async fn both_discovery_documents_describe_this_issuer() {
    let app = TestApp::spawn().await;
    let issuer = app.address.clone();
    let mut documents = Vec::new();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        documents.push(response.text().await.unwrap());
    }
    assert_eq!(
        documents[0], documents[1],
        "the same bytes, lists in a fixed order"
    );
    let doc: Value = serde_json::from_str(&documents[0]).unwrap();
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{issuer}/auth/github/login")
    );
    assert_eq!(doc["token_endpoint"], format!("{issuer}/auth/github/token"));
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{issuer}/auth/github/device")
    );
    assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
}

#[tokio::test]
async fn the_discovered_jwks_uri_serves_the_keys() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let jwks_uri = doc["jwks_uri"].as_str().unwrap();
    let jwks: Value = app
        .client
        .get(jwks_uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"][0]["kid"],
        app.state.keys.current().signing().kid()
    );
}
