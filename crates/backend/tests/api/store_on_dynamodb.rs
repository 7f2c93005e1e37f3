//! The service with its store on a DynamoDB table (moto): two applications on one table serve
//! as one, and no secret reaches the table.

use github_emulator::Seed;
use reqwest::StatusCode;
use serde_json::Value;

use crate::authenticator::support::{assert_no_store, pat_login, refresh};
use crate::helpers::{TestApp, TestConfig};
use crate::moto::{MotoServer, REGION};
use crate::provisioner::support::{deploy, member, status};

/// A serve-mode application (with the demo users' GitHub emulator) whose store is `table`,
/// created at start.
async fn app_on_table(moto: &MotoServer, table: &str) -> TestApp {
    TestApp::spawn_with(TestConfig {
        values: vec![
            (
                "store.url",
                toml::Value::String(format!("dynamodb://{table}")),
            ),
            ("store.migrate_on_start", toml::Value::Boolean(true)),
            // The simulated cloud keeps its stacks in the store too.
            ("provisioner.cloud", toml::Value::String("simulated".into())),
            ("aws.region", toml::Value::String(REGION.into())),
            (
                "aws.endpoint_url",
                toml::Value::String(moto.endpoint.clone()),
            ),
        ],
        external_github: Some(Seed::demo()),
        aws: Some(moto.sdk_config().await),
        ..Default::default()
    })
    .await
}

/// Every item of the table, as text.
async fn table_dump(moto: &MotoServer, table: &str) -> String {
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let mut dump = String::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        dump.push_str(&format!("{:?}", page.items()));
        start = page.last_evaluated_key;
        if start.is_none() {
            return dump;
        }
    }
}

#[tokio::test]
async fn two_apps_on_one_dynamodb_table_serve_as_one_and_keep_no_secret_in_it() {
    let moto = MotoServer::start().await;
    let a = app_on_table(&moto, "sliderule-state").await;
    let b = app_on_table(&moto, "sliderule-state").await;

    // A refresh token made on A is honoured on B.
    let login = pat_login(&a, "bob").await;
    let response = refresh(&b, &login.refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_no_store(&response);
    let rotated: Value = response.json().await.unwrap();
    let successor = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(successor, login.refresh_token);

    // A deploy on A is seen by B.
    let bob = member(&a, "bob");
    let deployed = deploy(&a, &bob, "bob", 2, 30).await;
    assert_eq!(deployed["status"], true, "{deployed}");
    // (Each test app is its own issuer: B's token for bob.)
    let seen = status(&b, &member(&b, "bob"), "bob").await;
    assert_eq!(seen["status"], true, "{seen}");

    let dump = table_dump(&moto, "sliderule-state").await;
    // The scan sees what was written...
    assert!(dump.contains("bob"), "{dump}");
    // ...and no PAT, token or refresh token was.
    let access = rotated["token"].as_str().unwrap();
    for secret in [
        "demo-pat-bob",
        login.token.as_str(),
        login.refresh_token.as_str(),
        successor.as_str(),
        access,
    ] {
        assert!(!dump.contains(secret), "a secret is in the table: {secret}");
    }
}
