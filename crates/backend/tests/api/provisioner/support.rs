//! Helpers of the provisioner tests: tokens for the demo users, calls as they make them, and
//! moving the simulated cloud along.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sliderule_backend::cloud::{Cloud, CloudError, ManagedStack, Stack, StackSpec};
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::StackEvent;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sliderule_backend::authenticator::grant::{Flow, GitHubIdentity};
use sliderule_backend::authenticator::session::Session;
use sliderule_backend::clock::Clock as _;
use sliderule_backend::github::Membership;
use sliderule_protocol::Scopes;

use crate::helpers::TestApp;

/// The demo cloud's step delay: each simulated resource takes this long.
pub const STEP: Duration = Duration::from_secs(2);

/// A token as the authenticator would mint it for a demo user. `owner` asks for admin powers
/// (only alice, an organization admin, gets them).
pub fn token_with(app: &TestApp, login: &str, scopes: Scopes) -> String {
    let (id, membership, teams): (u64, Membership, &[&str]) = match login {
        "alice" => (1001, Membership::Admin, &[]),
        "bob" => (1002, Membership::Member, &["icesat2"]),
        "carol" => (1003, Membership::Member, &[]),
        _ => (1004, Membership::None, &[]),
    };
    let identity = GitHubIdentity {
        login: login.to_owned(),
        github_id: id,
        membership,
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
    };
    let session = Session::new(identity, scopes, Flow::Device);
    let (token, _) = app
        .state
        .authenticator
        .mint_with(
            &app.state.keys.current(),
            &session,
            &Default::default(),
            app.clock.now(),
        )
        .expect("a token is minted");
    token
}

/// A member's token (member scopes).
pub fn member(app: &TestApp, login: &str) -> String {
    token_with(app, login, Scopes::MEMBER)
}

/// alice with owner powers.
pub fn owner(app: &TestApp) -> String {
    token_with(app, "alice", Scopes::ALL)
}

/// `POST /provisioner/<api>` with a JSON body and no Content-Type, as the Python client sends it.
pub async fn call(app: &TestApp, token: &str, api: &str, body: Value) -> Response {
    app.client
        .post(app.url(&format!("/provisioner{api}")))
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .expect("request is sent")
}

/// A call that must succeed; its JSON body.
pub async fn ok(app: &TestApp, token: &str, api: &str, body: Value) -> Value {
    let response = call(app, token, api, body).await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, StatusCode::OK, "{api}: {body}");
    body
}

pub async fn deploy(app: &TestApp, token: &str, cluster: &str, nodes: u32, ttl: u32) -> Value {
    ok(
        app,
        token,
        "/deploy",
        json!({ "cluster": cluster, "node_capacity": nodes, "ttl": ttl }),
    )
    .await
}

pub async fn status(app: &TestApp, token: &str, cluster: &str) -> Value {
    ok(app, token, "/status", json!({ "cluster": cluster })).await
}

/// Lets simulated time pass, a step at a time, until `cluster` is in `state` (at most 100 steps).
pub async fn until_state(app: &TestApp, token: &str, cluster: &str, state: &str) -> Value {
    for _ in 0..100 {
        let body = status(app, token, cluster).await;
        if body["state"] == state {
            return body;
        }
        app.clock.advance(STEP);
    }
    panic!("{cluster} never reached {state}");
}

/// The error envelope of a call: (status, error, description).
pub async fn refused(
    app: &TestApp,
    token: &str,
    api: &str,
    body: Value,
) -> (StatusCode, String, String) {
    crate::helpers::envelope(call(app, token, api, body).await).await
}

/// A demo app whose background reaper and reconciler wait an hour between runs, so a test that
/// drives them by hand (on the manual clock) never races with them, however slowly it runs.
pub async fn app_reaped_by_hand() -> TestApp {
    TestApp::spawn_with(crate::helpers::TestConfig {
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
    .await
}

/// The real cloud, counting deletes and failing the first `failures` of them (as AWS might, with
/// `delete_error`).
pub struct Faulty {
    inner: Arc<dyn Cloud>,
    pub deletes: AtomicU32,
    pub creates: AtomicU32,
    failures: AtomicU32,
    delete_error: String,
    /// Deletes AWS accepts but that end `DELETE_FAILED` (the stack stays) with this reason.
    ends_delete_failed: AtomicU32,
    delete_failed_reason: String,
    /// Set while the stack shows `DELETE_FAILED`.
    delete_failed: std::sync::atomic::AtomicBool,
}

impl Faulty {
    pub fn new(inner: Arc<dyn Cloud>, failures: u32) -> Self {
        Self {
            inner,
            deletes: AtomicU32::new(0),
            creates: AtomicU32::new(0),
            failures: AtomicU32::new(failures),
            delete_error: "Rate exceeded".into(),
            ends_delete_failed: AtomicU32::new(0),
            delete_failed_reason: String::new(),
            delete_failed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The first `deletes` deletes are accepted, but the stack then shows `DELETE_FAILED` with
    /// `reason` (as when one of its resources cannot be deleted) until the next delete.
    pub fn ending_delete_failed(mut self, deletes: u32, reason: &str) -> Self {
        self.ends_delete_failed = AtomicU32::new(deletes);
        self.delete_failed_reason = reason.into();
        self
    }

    pub fn failing_deletes_with(mut self, message: &str) -> Self {
        self.delete_error = message.into();
        self
    }
}

#[async_trait]
impl Cloud for Faulty {
    async fn create_stack(&self, spec: &StackSpec) -> Result<String, CloudError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        self.inner.create_stack(spec).await
    }
    async fn update_stack(&self, spec: &StackSpec) -> Result<(), CloudError> {
        self.inner.update_stack(spec).await
    }
    async fn delete_stack(&self, cluster: &ClusterName) -> Result<(), CloudError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(CloudError::Unavailable(self.delete_error.clone()));
        }
        self.deletes.fetch_add(1, Ordering::SeqCst);
        if self
            .ends_delete_failed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.delete_failed.store(true, Ordering::SeqCst);
            return Ok(());
        }
        self.delete_failed.store(false, Ordering::SeqCst);
        self.inner.delete_stack(cluster).await
    }
    async fn describe_stack(&self, cluster: &ClusterName) -> Result<Option<Stack>, CloudError> {
        let stack = self.inner.describe_stack(cluster).await?;
        if !self.delete_failed.load(Ordering::SeqCst) {
            return Ok(stack);
        }
        Ok(stack.map(|mut stack| {
            stack.info.stack_status = sliderule_protocol::provisioner::StackStatus::DeleteFailed;
            stack.info.stack_status_reason = Some(self.delete_failed_reason.clone());
            stack
        }))
    }
    async fn stack_events(&self, stack_id: &str) -> Result<Vec<StackEvent>, CloudError> {
        self.inner.stack_events(stack_id).await
    }
    async fn current_nodes(&self, cluster: &ClusterName) -> Result<u32, CloudError> {
        self.inner.current_nodes(cluster).await
    }
    async fn managed_stacks(&self) -> Result<Vec<ManagedStack>, CloudError> {
        self.inner.managed_stacks().await
    }
}

/// Leaves what a process leaves when it dies right after recording a destroy of `cluster`: the
/// intent in its record, and a stack nobody asked the cloud to delete.
pub async fn crashed_after_recording_a_destroy(app: &TestApp, cluster: &str) {
    let store = &app.state.provisioner.store;
    let now = app.clock.now();
    let mut record = store.cluster(cluster).await.unwrap().expect("a record");
    record.deadline = None;
    record.destroy = Some(sliderule_backend::store::DestroyIntent {
        requested_at: now,
        requested_by: cluster.into(),
        issued_at: None,
        failures: 0,
        last_error: None,
        next_at: now,
    });
    store
        .update_cluster(&record)
        .await
        .unwrap()
        .expect("no writer in between");
}
