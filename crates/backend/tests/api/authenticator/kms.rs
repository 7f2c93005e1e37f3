//! Signing with AWS KMS (moto's): tokens signed by the KMS key verify against the published
//! JWKS and PEM; a previous key stays published and its tokens accepted; KMS out of reach is
//! 503 and no token, never one signed by another key.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::*;
use crate::helpers::{TestApp, TestConfig, envelope};
use crate::moto::{Fault, MotoServer};
use sliderule_backend::keys::SigningKey;

/// A demo app signing with the KMS key `current` (and publishing `previous`).
async fn app_signing_with(moto: &MotoServer, current: &str, previous: &[&str]) -> TestApp {
    app_signing_through(moto.sdk_config().await, current, previous).await
}

/// As [`app_signing_with`], reaching KMS through `aws`.
async fn app_signing_through(
    aws: aws_config::SdkConfig,
    current: &str,
    previous: &[&str],
) -> TestApp {
    let previous = previous
        .iter()
        .map(|id| toml::Value::String((*id).to_owned()))
        .collect();
    TestApp::spawn_with(TestConfig {
        values: vec![
            (
                "authenticator.kms_key_id",
                toml::Value::String(current.into()),
            ),
            (
                "authenticator.kms_previous_key_ids",
                toml::Value::Array(previous),
            ),
        ],
        aws: Some(aws),
        // No key file: the keys are KMS's.
        data_dir_keyring: true,
        ..Default::default()
    })
    .await
}

async fn jwks(app: &TestApp) -> Value {
    app.get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap()
}

/// Verifies `token`'s RS256 signature with the published key of its `kid`.
fn verifies_with(jwks: &Value, token: &str) -> bool {
    let kid = header_of(token)["kid"].as_str().unwrap().to_owned();
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
    else {
        return false;
    };
    let key =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

#[tokio::test]
async fn tokens_are_signed_by_the_kms_key_and_verify_against_what_is_published() {
    let moto = MotoServer::start().await;
    let key = moto.create_signing_key().await;
    let app = app_signing_with(&moto, &key, &[]).await;
    let login = pat_login(&app, "bob").await;
    let published = jwks(&app).await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 1);
    assert_eq!(header_of(&login.token)["kid"], published["keys"][0]["kid"]);
    assert!(verifies_with(&published, &login.token));
    // Our own verification accepts it too.
    let info = app
        .client
        .post(app.url("/provisioner/info"))
        .bearer_auth(&login.token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    // The PEM is KMS's public key.
    let pem = app.get("/auth/pem").await.text().await.unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(STANDARD.decode(der).unwrap(), moto.public_key(&key).await);
    // The signature is not the local kind: its length is the KMS key's modulus.
    let signature = login.token.rsplit('.').next().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 256);
}

#[tokio::test]
async fn a_previous_kms_key_stays_published_and_its_tokens_are_accepted() {
    let moto = MotoServer::start().await;
    let (old, new) = (
        moto.create_signing_key().await,
        moto.create_signing_key().await,
    );
    let app = app_signing_with(&moto, &new, &[&old]).await;
    let published = jwks(&app).await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 2);
    let new_token = pat_login(&app, "bob").await.token;
    assert_eq!(header_of(&new_token)["kid"], published["keys"][0]["kid"]);
    // A token the old key signed before the rotation (the same claims, by KMS).
    let old_key = SigningKey::from_kms(
        aws_sdk_kms::Client::new(&moto.sdk_config().await),
        &old,
        &moto.public_key(&old).await,
    )
    .unwrap();
    let old_token = old_key.sign_async(&payload(&new_token)).await.unwrap();
    assert_ne!(header_of(&new_token)["kid"], header_of(&old_token)["kid"]);
    assert!(verifies_with(&published, &old_token));
    let accepted = app
        .client
        .post(app.url("/provisioner/info"))
        .bearer_auth(&old_token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
}

#[tokio::test]
async fn kms_out_of_reach_is_503_and_no_token() {
    let moto = MotoServer::start().await;
    let key = moto.create_signing_key().await;
    let app = app_signing_with(&moto, &key, &[]).await;
    // The public key was read at start; now KMS goes away.
    drop(moto);
    let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
    let (status, error, description) = envelope(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
    );
    assert!(
        description.starts_with("tokens cannot be signed now"),
        "{description}"
    );
}

#[tokio::test]
async fn kms_throttling_or_a_disabled_key_is_503_and_no_token() {
    let moto = MotoServer::start().await;
    let key = moto.create_signing_key().await;
    // moto neither throttles nor refuses a disabled key's Sign: a proxy answers as AWS would.
    for error in ["ThrottlingException", "DisabledException"] {
        let proxy = moto
            .proxy(vec![Fault {
                operation: "Sign",
                error,
            }])
            .await;
        let app = app_signing_through(moto.sdk_config_through(&proxy).await, &key, &[]).await;
        assert_eq!(proxy.calls().get("GetPublicKey"), Some(&1), "{error}");
        let response = post_json(&app, "/auth/github/pat", json!({ "pat": "demo-pat-bob" })).await;
        let (status, code, description) = envelope(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            "{error}"
        );
        assert!(
            description.starts_with("tokens cannot be signed now"),
            "{description}"
        );
        assert!(!description.contains(&key), "{description}");
    }
}
