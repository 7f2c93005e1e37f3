//! Two `serve` replicas of one service: one DynamoDB table and one KMS key (moto's), one GitHub
//! emulator, the simulated cloud (whose stacks live in the store). What one replica starts, the
//! other continues; each keeps its own clock, which the tests move together.

use std::time::Duration;

use github_emulator::Seed;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authenticator::support::{Login, pat_login, post_json, refresh};
use crate::helpers::{TestApp, TestConfig};
use crate::moto::MotoServer;

/// The configuration both replicas share.
fn shared(table: &str, key: &str) -> Vec<(&'static str, toml::Value)> {
    let text = |v: &str| toml::Value::String(v.to_owned());
    vec![
        ("store.url", text(&format!("dynamodb://{table}"))),
        ("store.migrate_on_start", toml::Value::Boolean(true)),
        // One service, one issuer: what a load balancer in front of both would serve.
        ("authenticator.issuer", text("http://localhost:8443")),
        ("authenticator.kms_key_id", text(key)),
        (
            "authenticator.state_key",
            text(&"replicas-state-key-".repeat(3)),
        ),
        ("provisioner.cloud", text("simulated")),
        // The reaper runs when a test says so.
        ("provisioner.reaper_period_secs", toml::Value::Integer(3600)),
        ("provisioner.destroy_poll_secs", toml::Value::Integer(3600)),
        (
            "provisioner.reconcile_period_secs",
            toml::Value::Integer(3600),
        ),
    ]
}

struct Replicas {
    moto: MotoServer,
    table: String,
    a: TestApp,
    b: TestApp,
}

/// Replica `a` (which runs the GitHub emulator) and replica `b`, on one table and one key.
async fn replicas() -> Replicas {
    let moto = MotoServer::start().await;
    let key = moto.create_signing_key().await;
    let table = "sliderule-replicas".to_owned();
    let a = TestApp::spawn_with(TestConfig {
        values: shared(&table, &key),
        external_github: Some(Seed::demo()),
        aws: Some(moto.sdk_config().await),
        data_dir_keyring: true,
        ..Default::default()
    })
    .await;
    let b = TestApp::spawn_with(TestConfig {
        values: shared(&table, &key),
        shared_github: Some(a.github.as_ref().expect("a runs GitHub").url()),
        aws: Some(moto.sdk_config().await),
        data_dir_keyring: true,
        ..Default::default()
    })
    .await;
    Replicas { moto, table, a, b }
}

impl Replicas {
    /// Moves both replicas' clocks (and GitHub's) forward.
    fn advance(&self, by: Duration) {
        self.a.clock.advance(by);
        self.b.clock.advance(by);
        self.a.emulator().advance_clock(by);
    }
}

async fn call(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request is sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `/auth/refresh` on `app`: its status and body.
async fn refreshed(app: &TestApp, refresh_token: &str) -> (StatusCode, Value) {
    let response = refresh(app, refresh_token).await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_token_from_one_replica_is_accepted_by_the_other_and_both_publish_one_key() {
    let r = replicas().await;
    let Login { token, .. } = pat_login(&r.a, "bob").await;
    let (status, info) = call(&r.b, &token, "/provisioner/info", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let jwks = |app: &TestApp| {
        let url = app.url("/.well-known/jwks.json");
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(jwks(&r.a).await, jwks(&r.b).await);
}

#[tokio::test]
async fn a_device_code_made_on_one_replica_is_polled_on_the_other() {
    let r = replicas().await;
    let started: Value = post_json(&r.a, "/auth/github/device", json!({}))
        .await
        .json()
        .await
        .unwrap();
    r.a.emulator()
        .approve_device(started["user_code"].as_str().unwrap(), "bob")
        .unwrap();
    let response = post_json(
        &r.b,
        "/auth/github/device/poll",
        json!({ "device_code": started["device_code"] }),
    )
    .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("success")),
        "{body}"
    );
    assert_eq!(body["metadata"]["sub"], "bob");
}

#[tokio::test]
async fn a_refresh_token_rotated_on_one_replica_and_reused_on_the_other_revokes_the_family() {
    let r = replicas().await;
    let login = pat_login(&r.a, "bob").await;
    let (status, rotated) = refreshed(&r.b, &login.refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    // Past the grace window, the spent token is a reuse wherever it is presented.
    r.advance(Duration::from_secs(6));
    let (status, refused) = refreshed(&r.a, &login.refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let successor = rotated["refresh_token"].as_str().unwrap();
    let (status, _) = refreshed(&r.b, successor).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the whole family is revoked"
    );
}

#[tokio::test]
async fn a_cluster_deployed_on_one_replica_is_seen_by_the_other_and_reaped_by_it_once_the_first_is_gone()
 {
    let r = replicas().await;
    let Login { token, .. } = pat_login(&r.a, "bob").await;
    let body = json!({ "cluster": "bob", "node_capacity": 1, "ttl": 15 });
    let (status, deployed) = call(&r.a, &token, "/provisioner/deploy", body).await;
    assert_eq!(status, StatusCode::OK, "{deployed}");
    let (status, seen) = call(
        &r.b,
        &token,
        "/provisioner/status",
        json!({"cluster": "bob"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["deadline"], deployed["deadline"]);

    let Replicas { moto, a, b, .. } = r;
    drop(a);
    b.clock.advance(Duration::from_secs(16 * 60));
    let sweep = b.state.provisioner.reap().await.unwrap();
    assert_eq!(sweep.destroyed, ["bob"], "{sweep:?}");
    drop(moto);
}

#[tokio::test]
async fn no_pat_token_code_or_refresh_token_is_in_any_item_of_the_table() {
    let r = replicas().await;
    let login = pat_login(&r.a, "bob").await;
    let (_, rotated) = refreshed(&r.b, &login.refresh_token).await;
    let started: Value = post_json(&r.a, "/auth/github/device", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let device_code = started["device_code"].as_str().unwrap().to_owned();

    let dynamodb = aws_sdk_dynamodb::Client::new(&r.moto.sdk_config().await);
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(&r.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the table");
        items.extend(page.items().iter().map(|item| format!("{item:?}")));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert!(!items.is_empty());
    let secrets = [
        "demo-pat-bob".to_owned(),
        login.token.clone(),
        login.refresh_token.clone(),
        rotated["refresh_token"].as_str().unwrap().to_owned(),
        rotated["access_token"].as_str().unwrap().to_owned(),
        device_code,
    ];
    for item in &items {
        for secret in &secrets {
            assert!(!item.contains(secret.as_str()), "a secret in {item}");
        }
    }
}
