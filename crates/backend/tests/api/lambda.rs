//! `sliderule-backend lambda`, the real binary, against a Lambda Runtime API of the test's own
//! (the endpoints a runtime polls and answers: `invocation/next`, `invocation/{id}/response`,
//! `invocation/{id}/error`, `init/error`), fed API Gateway HTTP API (payload 2.0) events — a
//! PAT login, a deploy, a status — and a scheduled event that reaps a cluster past its deadline.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sliderule_backend::clock::{Clock, SystemClock};
use sliderule_backend::cloud::simulated::SimulatedCloud;
use sliderule_backend::cloud::{Cloud, StackSpec};
use sliderule_backend::store::{ClusterPhase, ClusterRecord, SqliteStore, Store};
use sliderule_protocol::{ClusterName, NodeCapacity, Version};
use tempfile::TempDir;
use tokio::sync::{Notify, oneshot};

use crate::helpers::{GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, test_signing_key_pem};

const DOMAIN: &str = "sliderule.test";
/// How long an invocation may take before the test gives up (the first one builds the app).
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

/// What an invocation ended with: the function's response, or the error it reported.
type Outcome = Result<Value, Value>;

#[derive(Default)]
struct Invocations {
    queued: Mutex<VecDeque<(String, Value)>>,
    arrived: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
}

/// The Lambda Runtime API, on a free port.
struct RuntimeApi {
    addr: SocketAddr,
    invocations: Arc<Invocations>,
    _server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    async fn start() -> Self {
        let invocations = Arc::new(Invocations::default());
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(invocations.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            addr,
            invocations,
            _server: server,
        }
    }

    /// Hands `event` to the function and waits for its answer.
    async fn invoke(&self, event: Value) -> Outcome {
        let id = uuid::Uuid::new_v4().to_string();
        let (answered, answer) = oneshot::channel();
        self.invocations
            .waiting
            .lock()
            .unwrap()
            .insert(id.clone(), answered);
        self.invocations
            .queued
            .lock()
            .unwrap()
            .push_back((id, event));
        self.invocations.arrived.notify_one();
        match tokio::time::timeout(INVOCATION_TIMEOUT, answer).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!(
                "the function did not answer (init error: {:?})",
                self.invocations.init_error.lock().unwrap()
            ),
        }
    }
}

async fn next(State(invocations): State<Arc<Invocations>>) -> (HeaderMap, axum::Json<Value>) {
    loop {
        let arrived = invocations.arrived.notified();
        if let Some((id, event)) = invocations.queued.lock().unwrap().pop_front() {
            let deadline = SystemClock.now().unix_timestamp() * 1000 + 60_000;
            let mut headers = HeaderMap::new();
            let mut set = |name: &'static str, value: String| {
                headers.insert(name, HeaderValue::from_str(&value).unwrap());
            };
            set("lambda-runtime-aws-request-id", id);
            set("lambda-runtime-deadline-ms", deadline.to_string());
            set(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-west-2:000000000000:function:sliderule".into(),
            );
            set(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into(),
            );
            return (headers, axum::Json(event));
        }
        arrived.await;
    }
}

/// Hands the function's answer (its body, JSON) to the invocation waiting for it.
fn answer(
    invocations: &Invocations,
    id: &str,
    body: &[u8],
    outcome: fn(Value) -> Outcome,
) -> axum::http::StatusCode {
    let body = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(waiting) = invocations.waiting.lock().unwrap().remove(id) {
        let _ = waiting.send(outcome(body));
    }
    axum::http::StatusCode::ACCEPTED
}

async fn response(
    State(invocations): State<Arc<Invocations>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    answer(&invocations, &id, &body, Ok)
}

async fn error(
    State(invocations): State<Arc<Invocations>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    answer(&invocations, &id, &body, Err)
}

async fn init_error(
    State(invocations): State<Arc<Invocations>>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    *invocations.init_error.lock().unwrap() = serde_json::from_slice(&body).ok();
    axum::http::StatusCode::ACCEPTED
}

/// An API Gateway HTTP API (payload format 2.0) event for `POST https://<host><path>`.
fn http_event(host: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut headers = json!({ "host": host, "content-type": "application/json" });
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "sliderule",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap(),
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "sliderule-test"
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "03/Dec/2026:08:00:00 +0000",
            "timeEpoch": 1_796_198_400_000_u64
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
}

/// The status and JSON body of an API Gateway response.
fn http_answer(outcome: Outcome) -> (u16, Value) {
    let response = outcome.expect("the function answers");
    let status = response["statusCode"].as_u64().expect("a status") as u16;
    let body = response["body"].as_str().unwrap_or("null");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

/// The function, started as the real binary: `sliderule-backend lambda --handler <handler>`.
struct Function {
    process: tokio::process::Child,
    started: Instant,
}

/// A serve-mode configuration on `DOMAIN` with the simulated cloud, its GitHub the emulator.
fn write_config(dir: &TempDir, github_url: &str) -> std::path::PathBuf {
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, GITHUB_CLIENT_SECRET).unwrap();
    // RSA generation takes a moment: sign with the tests' one key.
    let key = dir.path().join("signing.pem");
    std::fs::write(&key, test_signing_key_pem()).unwrap();
    let config = format!(
        r#"
domain = "{DOMAIN}"
data_dir = "{data}"

[authenticator]
signing_key_file = "{key}"

[github]
web_url = "{github_url}"
api_url = "{github_url}"
client_id = "{GITHUB_CLIENT_ID}"
client_secret_file = "{secret}"

[provisioner]
cloud = "simulated"

# Each execution environment starts with an empty /tmp: its SQLite store is made at start.
[store]
migrate_on_start = true
"#,
        data = dir.path().join("data").display(),
        secret = secret.display(),
        key = key.display(),
    );
    let path = dir.path().join("lambda.toml");
    std::fs::write(&path, config).unwrap();
    path
}

impl Function {
    fn start(api: &RuntimeApi, config: &std::path::Path, handler: &str) -> Self {
        // `SLIDERULE_LAMBDA_BIN` measures another build (the release binary's cold start).
        let binary = std::env::var_os("SLIDERULE_LAMBDA_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_sliderule-backend").into());
        let process = tokio::process::Command::new(binary)
            .args(["lambda", "--handler", handler, "--config"])
            .arg(config)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "sliderule")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        Self {
            process,
            started: Instant::now(),
        }
    }
}

#[tokio::test]
async fn the_lambda_function_signs_in_deploys_and_reports_through_api_gateway_events() {
    let github = github_emulator::Emulator::new(github_emulator::Seed {
        client_id: Some(GITHUB_CLIENT_ID.into()),
        client_secret: Some(GITHUB_CLIENT_SECRET.into()),
        ..github_emulator::Seed::demo()
    })
    .spawn("127.0.0.1:0".parse().unwrap())
    .await
    .unwrap();
    let dir = TempDir::new().unwrap();
    let config = write_config(&dir, &github.url());
    let api = RuntimeApi::start().await;
    let mut function = Function::start(&api, &config, "http");

    let login_host = format!("login.{DOMAIN}");
    let (status, login) = http_answer(
        api.invoke(http_event(
            &login_host,
            "/auth/github/pat",
            None,
            json!({ "pat": "demo-pat-bob" }),
        ))
        .await,
    );
    let cold_start = function.started.elapsed();
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().expect("a token").to_owned();

    let provisioner_host = format!("provisioner.{DOMAIN}");
    let deploy = json!({ "cluster": "bob", "node_capacity": 2, "ttl": 60 });
    let (status, deployed) = http_answer(
        api.invoke(http_event(
            &provisioner_host,
            "/deploy",
            Some(&token),
            deploy,
        ))
        .await,
    );
    assert_eq!(status, 200, "{deployed}");
    assert_eq!(deployed["state"], "DEPLOYING");
    let (status, shown) = http_answer(
        api.invoke(http_event(
            &provisioner_host,
            "/status",
            Some(&token),
            json!({ "cluster": "bob" }),
        ))
        .await,
    );
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (shown["cluster"].as_str(), shown["owner"].as_str()),
        (Some("bob"), Some("bob"))
    );

    // Errors are API Gateway responses with the envelope, not function errors.
    let (status, refused) = http_answer(
        api.invoke(http_event(
            &provisioner_host,
            "/status",
            None,
            json!({ "cluster": "bob" }),
        ))
        .await,
    );
    assert_eq!(
        (status, refused["error"].as_str()),
        (401, Some("invalid_token"))
    );

    println!("lambda cold start (process start to first response): {cold_start:?}");
    function.process.start_kill().unwrap();
}

#[tokio::test]
async fn a_scheduled_event_runs_the_reaper_once() {
    let dir = TempDir::new().unwrap();
    let config = write_config(&dir, "http://127.0.0.1:9");
    // A cluster past its deadline, left in the function's store by an earlier invocation.
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("data/state.db")).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cloud = SimulatedCloud::new(store.clone(), clock.clone(), Duration::from_secs(2), DOMAIN);
    let bob = ClusterName::parse("bob").unwrap();
    let stack_id = cloud
        .create_stack(&StackSpec {
            cluster: bob.clone(),
            node_capacity: NodeCapacity::new(1),
            version: Version::latest(),
            is_public: false,
            owner: "bob".into(),
        })
        .await
        .unwrap();
    let past = clock.now() - Duration::from_secs(60);
    store
        .begin_deploy(&ClusterRecord {
            cluster: "bob".into(),
            owner: "bob".into(),
            node_capacity: 1,
            version: "latest".into(),
            is_public: false,
            deadline: Some(past),
            stack_id: Some(stack_id),
            phase: ClusterPhase::Pending,
            created_at: past,
            updated_at: past,
            revision: 0,
            destroy: None,
        })
        .await
        .unwrap();

    let api = RuntimeApi::start().await;
    let mut function = Function::start(&api, &config, "schedule");
    // What EventBridge Scheduler sends; the handler does not depend on its shape.
    let report = api
        .invoke(
            json!({ "source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {} }),
        )
        .await
        .expect("the jobs ran");
    assert_eq!(report["destroyed"], json!(["bob"]), "{report}");
    assert_eq!(report["keys_reloaded"], true, "{report}");
    let record = store.cluster("bob").await.unwrap().unwrap();
    assert!(
        record.destroy.is_some(),
        "the destroy is recorded: {record:?}"
    );
    function.process.start_kill().unwrap();
}
