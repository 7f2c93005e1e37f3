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
        project_bucket: None,
    };
    let cloud = CloudFormationCloud::from_sdk_config(&moto.sdk_config().await, settings)
        .expect("the CloudFormation driver");
    // The tests sweep by hand; the background reaper waits an hour so it never races them.
    let app = TestApp::spawn_with(TestConfig {
        cloud: Some(Arc::new(cloud)),
        values: vec![
            ("provisioner.reaper_period_secs", toml::Value::Integer(3600)),
            ("provisioner.destroy_poll_secs", toml::Value::Integer(3600)),
            (
                "provisioner.reconcile_period_secs",
                toml::Value::Integer(3600),
            ),
        ],
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

#[tokio::test]
async fn a_destroy_recorded_just_before_a_crash_is_carried_out_on_cloudformation() {
    let (app, _moto) = app_on_moto().await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 30).await;
    until_state(&app, &bob, "bob", "RUNNING").await;
    crashed_after_recording_a_destroy(&app, "bob").await;
    let provisioner = &app.state.provisioner;
    let pending = status(&app, &bob, "bob").await;
    assert_eq!(
        (
            pending["state"].as_str(),
            pending["destroy_pending"].as_bool()
        ),
        (Some("RUNNING"), Some(true))
    );

    // The next sweep (of any process) deletes the stack, and the one after closes the record.
    provisioner.reap().await.unwrap();
    let cluster = sliderule_protocol::ClusterName::parse("bob").unwrap();
    assert_eq!(
        provisioner.cloud.describe_stack(&cluster).await.unwrap(),
        None
    );
    let closed = provisioner.reap().await.unwrap();
    assert_eq!(closed.gone.len(), 1, "{closed:?}");
    let record = provisioner.store.cluster("bob").await.unwrap().unwrap();
    assert_eq!(
        (record.phase, record.destroy),
        (sliderule_backend::store::ClusterPhase::Closed, None)
    );
    assert_eq!(status(&app, &bob, "bob").await["state"], "NOT_FOUND");
}
