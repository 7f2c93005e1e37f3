//! The whole lifecycle through HTTP with the CloudFormation driver on moto (a real AWS API
//! emulator, started on a free port for this test).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use sliderule_backend::cloud::cloudformation::{
    BUNDLED_TEMPLATE, CloudFormationCloud, CloudFormationSettings,
};

use super::support::*;
use crate::helpers::{TestApp, TestConfig};
use crate::moto::MotoServer;

const DOMAIN: &str = "sliderule.test";

async fn app_on_moto() -> (TestApp, MotoServer) {
    let moto = MotoServer::start().await;
    moto.create_hosted_zone(DOMAIN).await;
    let (vpc, subnets) = moto.default_network().await;
    let settings = CloudFormationSettings {
        deployment: "moto-lifecycle".into(),
        domain: Some(DOMAIN.into()),
        jwt_issuer: format!("https://login.{DOMAIN}"),
        template_body: BUNDLED_TEMPLATE.into(),
        parameters: BTreeMap::from([
            ("VpcId".to_owned(), vpc),
            ("SubnetIds".to_owned(), subnets.join(",")),
        ]),
    };
    let cloud = CloudFormationCloud::from_sdk_config(&moto.sdk_config().await, settings)
        .expect("the CloudFormation driver");
    let app = TestApp::spawn_with(TestConfig {
        cloud: Some(Arc::new(cloud)),
        ..Default::default()
    })
    .await;
    (app, moto)
}

#[tokio::test]
async fn a_cluster_lives_its_whole_life_on_cloudformation() {
    let (app, _moto) = app_on_moto().await;
    let bob = member(&app, "bob");

    let deployed = deploy(&app, &bob, "bob", 2, 30).await;
    // moto finishes every operation at once; real AWS answers CREATE_IN_PROGRESS.
    assert!(
        ["DEPLOYING", "RUNNING"].contains(&deployed["state"].as_str().unwrap()),
        "{deployed}"
    );
    let running = until_state(&app, &bob, "bob", "RUNNING").await;
    assert_eq!(running["response"]["StackName"], "bob-cluster");
    assert!(
        running["response"]["StackStatus"]
            .as_str()
            .unwrap()
            .ends_with("_COMPLETE")
    );
    assert_eq!(running["owner"], "bob");
    assert_eq!(running["current_nodes"], 2);

    let updated = deploy(&app, &bob, "bob", 3, 30).await;
    assert_eq!(updated["node_capacity"], 3);
    let running = until_state(&app, &bob, "bob", "RUNNING").await;
    assert_eq!(running["current_nodes"], 3);

    let extended = ok(
        &app,
        &bob,
        "/extend",
        json!({ "cluster": "bob", "ttl": 90 }),
    )
    .await;
    assert_eq!(extended["seconds_remaining"], 90 * 60);

    let events = ok(&app, &bob, "/events", json!({ "cluster": "bob" })).await;
    assert!(!events.as_array().unwrap().is_empty());

    let destroyed = ok(&app, &bob, "/destroy", json!({ "cluster": "bob" })).await;
    assert_eq!(destroyed["status"], true);
    let gone = until_state(&app, &bob, "bob", "NOT_FOUND").await;
    assert_eq!(gone["auto_shutdown"], serde_json::Value::Null);
    let events = ok(&app, &bob, "/events", json!({ "cluster": "bob" })).await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ResourceStatus"] == "DELETE_COMPLETE"),
        "events stay readable after the destroy: {events}"
    );
}
