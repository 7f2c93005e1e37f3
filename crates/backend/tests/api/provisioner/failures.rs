//! When the cloud fails: AWS refusing (502, nothing recorded) and stacks that fail (FAILED, 409
//! until destroyed).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::json;
use sliderule_backend::clock::ManualClock;
use sliderule_backend::cloud::simulated::SimulatedCloud;
use sliderule_backend::cloud::{Cloud, CloudError, ManagedStack, Stack, StackSpec};
use sliderule_backend::store::{ClusterStore, SqliteStore};
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::StackEvent;

use super::support::*;
use crate::helpers::{TestApp, TestConfig};

/// A cloud that refuses every create as AWS does when the account is throttled or a parameter
/// is wrong; everything else is answered as for an empty account.
struct Refusing;

#[async_trait]
impl Cloud for Refusing {
    async fn create_stack(&self, _: &StackSpec) -> Result<String, CloudError> {
        Err(CloudError::Unavailable(
            "Parameters: [VpcId] must have values".into(),
        ))
    }
    async fn update_stack(&self, _: &StackSpec) -> Result<(), CloudError> {
        Ok(())
    }
    async fn delete_stack(&self, _: &ClusterName) -> Result<(), CloudError> {
        Ok(())
    }
    async fn describe_stack(&self, _: &ClusterName) -> Result<Option<Stack>, CloudError> {
        Ok(None)
    }
    async fn stack_events(&self, _: &str) -> Result<Vec<StackEvent>, CloudError> {
        Ok(Vec::new())
    }
    async fn current_nodes(&self, _: &ClusterName) -> Result<u32, CloudError> {
        Ok(0)
    }
    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn aws_refusing_a_deploy_is_502_with_its_words_and_records_nothing() {
    let app = TestApp::spawn_with(TestConfig {
        cloud: Some(Arc::new(Refusing)),
        ..Default::default()
    })
    .await;
    let bob = member(&app, "bob");
    let (status, error, description) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 1, "ttl": 30 }),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_GATEWAY, "bad_gateway")
    );
    assert!(description.contains("VpcId"), "{description}");
    assert!(app.state.store.open_clusters().await.unwrap().is_empty());
    let audit = app.state.store.audit_page(None, 1).await.unwrap();
    assert!(audit[0].outcome.contains("VpcId"), "{:?}", audit[0]);
}

#[tokio::test]
async fn a_failed_stack_must_be_destroyed_before_it_is_deployed_again() {
    let dir = tempfile::tempdir().unwrap();
    let stacks: Arc<dyn ClusterStore> =
        Arc::new(SqliteStore::open(&dir.path().join("stacks.db")).unwrap());
    let clock = Arc::new(ManualClock::new());
    let cloud = Arc::new(SimulatedCloud::new(stacks, clock.clone(), STEP, "failures"));
    cloud.fail_next_create(&ClusterName::parse("bob").unwrap());
    let app = TestApp::spawn_with(TestConfig {
        cloud: Some(cloud),
        ..Default::default()
    })
    .await;
    let bob = member(&app, "bob");
    deploy(&app, &bob, "bob", 1, 30).await;
    // The simulated cloud keeps its own clock here; move it until the stack has rolled back.
    let mut state = String::new();
    for _ in 0..100 {
        state = status(&app, &bob, "bob").await["state"]
            .as_str()
            .unwrap()
            .to_owned();
        if state == "FAILED" {
            break;
        }
        clock.advance(Duration::from_secs(2));
    }
    assert_eq!(state, "FAILED");
    let (status_code, error, description) = refused(
        &app,
        &bob,
        "/deploy",
        json!({ "cluster": "bob", "node_capacity": 1, "ttl": 30 }),
    )
    .await;
    assert_eq!(
        (status_code, error.as_str()),
        (StatusCode::CONFLICT, "cluster_failed")
    );
    assert!(description.contains("destroy"), "{description}");
    let destroyed = ok(&app, &bob, "/destroy", json!({ "cluster": "bob" })).await;
    assert_eq!(destroyed["state"], "DESTROYING");
}
