//! A moto server (the AWS emulator) for the tests of the CloudFormation driver.
//!
//! Each test starts its own [`MotoServer`] on a free port and it is killed when dropped. Why not
//! one shared server: moto keeps all state in one process and is not built for concurrent
//! mutation, so a private server makes every test independent (no shared stacks, deployments or
//! hosted zones, nothing to reset, no cross-test races inside moto), and a crash in one cannot
//! fail the rest. Measured cost: about 0.8 s to answer and 2–3 CPU-seconds per test in all
//! (mostly moto importing its services on first use), spent in parallel.
//!
//! `moto_server` is taken from `$MOTO_SERVER`, else the venv `scripts/lib/setup.sh` installs
//! (`${SRDEV_TOOLS_CACHE:-$HOME/.cache/sliderule-dev}/moto-venv`), else `PATH`.
//!
//! Besides CloudFormation (through the driver), tests need two other services that the backend
//! has no SDK for: Route53 (the template's DNS record needs its zone) and EC2 (the default VPC's
//! subnets for the template's network parameters). They are called over moto's HTTP API with
//! reqwest: adding their SDK crates (EC2's is the largest there is) to build the tests would cost
//! more than these few lines.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::config::Credentials;
use sliderule_backend::cloud::cloudformation::config_loader;
use sliderule_backend::config::AwsConfig;
use tokio::process::{Child, ChildStdin, Command};

/// The region every test uses.
pub const REGION: &str = "us-west-2";

/// One queued Cost Explorer answer: the day, the day after, and `(cluster, amount)` pairs.
pub type DailyCosts<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

pub struct MotoServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    http: reqwest::Client,
    /// The write end of the watchdog's pipe: closing it (on drop, or when the test process
    /// dies in any way) makes the watchdog kill moto.
    watchdog: Option<ChildStdin>,
    _child: Child,
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.watchdog.take();
    }
}

/// Runs moto (`$0`, port `$1`) under a watchdog: moto is killed when our end of the shell's
/// stdin closes, which the kernel does even when the test process is killed (a plain
/// kill-on-drop would leave moto running after a crash or a timeout). The shell exits when moto
/// does, so a moto that cannot start is seen at once.
const WATCHDOG: &str = r#"exec 3<&0
"$0" -H 127.0.0.1 -p "$1" </dev/null >/dev/null 2>&1 &
moto=$!
(cat <&3 >/dev/null; kill "$moto" 2>/dev/null) &
wait "$moto""#;

/// Where `moto_server` is.
fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("SRDEV_TOOLS_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/sliderule-dev"))
        });
    let venv = cache.map(|cache| cache.join("moto-venv/bin/moto_server"));
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("moto_server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    venv.into_iter()
        .chain(on_path)
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "moto_server not found: install it with ensure_moto (scripts/lib/setup.sh) or \
                 set MOTO_SERVER"
            )
        })
}

/// A port nobody listens on now. Another process could take it before moto does; `start`
/// then tries another.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// An `Authorization` header naming `service`: moto's single server picks the service from it
/// (the signature is not checked).
fn authorization(service: &str, region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    )
}

/// The text of every `<tag>…</tag>` in `xml`, in order. Enough for moto's flat answers.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut values = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        values.push(after[..end].to_owned());
        rest = &after[end + close.len()..];
    }
    values
}

impl MotoServer {
    /// Starts moto and waits until it answers.
    pub async fn start() -> MotoServer {
        let program = moto_server();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(WATCHDOG)
                .arg(&program)
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                // moto logs every request; a test only needs to know whether it runs.
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
            let watchdog = child.stdin.take();
            let endpoint = format!("http://127.0.0.1:{port}");
            // Bounded polling: moto is usually up in about a second, slower on a busy machine.
            for _ in 0..300 {
                if let Ok(Some(status)) = child.try_wait() {
                    last_failure = format!("{} exited with {status}", program.display());
                    break;
                }
                let probe = http.get(format!("{endpoint}/moto-api/")).send().await;
                if probe.is_ok() {
                    return MotoServer {
                        endpoint,
                        http,
                        watchdog,
                        _child: child,
                    };
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if last_failure.is_empty() {
                last_failure = "moto_server did not answer within 15 s".into();
            }
        }
        panic!("cannot start moto: {last_failure}");
    }

    /// Our configuration's `aws` section pointing at this server.
    pub fn aws_config(&self) -> AwsConfig {
        AwsConfig {
            region: REGION.into(),
            endpoint_url: Some(self.endpoint.clone()),
        }
    }

    /// The driver's AWS configuration with fixed fake credentials, set on the loader rather
    /// than in the process environment (tests run in parallel threads of one process).
    pub async fn sdk_config(&self) -> SdkConfig {
        config_loader(&self.aws_config())
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            // Nothing from the developer's environment (a profile, another endpoint) leaks in.
            .empty_test_environment()
            .load()
            .await
    }

    /// Queues what Cost Explorer answers, one result per `(day, next day, costs)`: each
    /// `(cluster, amount)` a group of the `sliderule:cluster` tag. moto hands queued results to
    /// queries in order (a repeated query gets its first answer again; a query after the queue
    /// is empty, nothing).
    pub async fn queue_daily_costs(&self, results: &[DailyCosts<'_>]) {
        let results: Vec<serde_json::Value> = results
            .iter()
            .map(|(day, next_day, costs)| {
                let groups: Vec<serde_json::Value> = costs
                    .iter()
                    .map(|(cluster, amount)| {
                        serde_json::json!({
                            "Keys": [format!("sliderule:cluster${cluster}")],
                            "Metrics": { "UnblendedCost": { "Amount": amount, "Unit": "USD" } },
                        })
                    })
                    .collect();
                serde_json::json!({
                    "ResultsByTime": [{
                        "TimePeriod": { "Start": day, "End": next_day },
                        "Total": {},
                        "Groups": groups,
                        "Estimated": false,
                    }],
                    "DimensionValueAttributes": [],
                })
            })
            .collect();
        let answer = self
            .http
            .post(format!(
                "{}/moto-api/static/ce/cost-and-usage-results",
                self.endpoint
            ))
            .json(&serde_json::json!({ "results": results }))
            .send()
            .await
            .expect("queue Cost Explorer results");
        assert!(answer.status().is_success(), "{}", answer.status());
    }

    /// Makes `address` an identity SES may send from (moto verifies it at once).
    pub async fn verify_email(&self, address: &str) {
        aws_sdk_sesv2::Client::new(&self.sdk_config().await)
            .create_email_identity()
            .email_identity(address)
            .send()
            .await
            .expect("create an SES identity");
    }

    /// The mail SES accepted, oldest first, as moto's `/moto-api/data.json` shows it: `source`,
    /// `destinations.ToAddresses`, `subject`, `body`.
    pub async fn sent_mail(&self) -> Vec<serde_json::Value> {
        let data: serde_json::Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.endpoint))
            .send()
            .await
            .expect("moto's data")
            .json()
            .await
            .expect("moto's data is JSON");
        data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Creates `bucket` and writes `body` at `key` in it.
    pub async fn put_object(&self, bucket: &str, key: &str, body: &str) {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(config);
        // Creating a bucket that exists (ours) is fine for a test's second object.
        let _ = s3
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                    .build(),
            )
            .send()
            .await;
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put an S3 object");
    }

    /// A new RSA_2048 `SIGN_VERIFY` KMS key; its id.
    pub async fn create_signing_key(&self) -> String {
        let created = aws_sdk_kms::Client::new(&self.sdk_config().await)
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
            .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
            .send()
            .await
            .expect("create a KMS key");
        created
            .key_metadata()
            .map(|m| m.key_id().to_owned())
            .expect("a key id")
    }

    /// The KMS key's public key, SPKI DER.
    pub async fn public_key(&self, key_id: &str) -> Vec<u8> {
        let answer = aws_sdk_kms::Client::new(&self.sdk_config().await)
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .expect("GetPublicKey");
        answer.public_key().expect("a public key").as_ref().to_vec()
    }

    /// Creates the public hosted zone `domain.`; returns its id (`/hostedzone/…`).
    pub async fn create_hosted_zone(&self, domain: &str) -> String {
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
<Name>{domain}.</Name><CallerReference>{}</CallerReference>
</CreateHostedZoneRequest>"#,
            uuid::Uuid::new_v4()
        );
        let answer = self
            .http
            .post(format!("{}/2013-04-01/hostedzone", self.endpoint))
            .header("Authorization", authorization("route53", "us-east-1"))
            .header("Content-Type", "application/xml")
            .body(body)
            .send()
            .await
            .expect("CreateHostedZone");
        let status = answer.status();
        let text = answer.text().await.expect("CreateHostedZone body");
        assert!(status.is_success(), "CreateHostedZone: {status} {text}");
        xml_values(&text, "Id")
            .into_iter()
            .find(|id| id.starts_with("/hostedzone/"))
            .unwrap_or_else(|| panic!("no zone id in {text}"))
    }

    /// The names of the records in the zone `zone_id`.
    pub async fn record_names(&self, zone_id: &str) -> Vec<String> {
        let answer = self
            .http
            .get(format!("{}/2013-04-01{zone_id}/rrset", self.endpoint))
            .header("Authorization", authorization("route53", "us-east-1"))
            .send()
            .await
            .expect("ListResourceRecordSets");
        let text = answer.text().await.expect("ListResourceRecordSets body");
        xml_values(&text, "Name")
    }

    /// The default VPC and its default subnets (moto creates them in every region).
    pub async fn default_network(&self) -> (String, Vec<String>) {
        let answer = self
            .http
            .post(&self.endpoint)
            .header("Authorization", authorization("ec2", REGION))
            .form(&[
                ("Action", "DescribeSubnets"),
                ("Version", "2016-11-15"),
                ("Filter.1.Name", "default-for-az"),
                ("Filter.1.Value.1", "true"),
            ])
            .send()
            .await
            .expect("DescribeSubnets");
        let text = answer.text().await.expect("DescribeSubnets body");
        let subnets = xml_values(&text, "subnetId");
        let vpc = xml_values(&text, "vpcId").into_iter().next();
        match (vpc, subnets.is_empty()) {
            (Some(vpc), false) => (vpc, subnets),
            _ => panic!("no default subnets in {text}"),
        }
    }
}

#[test]
fn xml_values_reads_every_occurrence() {
    let xml = "<a><Id>/change/1</Id><Id>/hostedzone/Z</Id><Name>x.</Name></a>";
    assert_eq!(xml_values(xml, "Id"), ["/change/1", "/hostedzone/Z"]);
    assert!(xml_values(xml, "Missing").is_empty());
}

/// A proxy in front of a [`MotoServer`]: it forwards every request unchanged and counts it by
/// operation (the last part of `X-Amz-Target`, e.g. `GetItem`), except the operations a fault
/// answers first, as AWS would: with an error moto cannot make (throttling, a disabled key).
pub struct MotoProxy {
    /// `http://127.0.0.1:PORT`: point an SDK's endpoint here.
    pub url: String,
    calls: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
}

/// An operation the proxy answers with AWS's JSON error `__type` instead of forwarding it.
#[derive(Clone, Copy)]
pub struct Fault {
    pub operation: &'static str,
    pub error: &'static str,
}

impl MotoProxy {
    /// The requests forwarded so far, by operation.
    pub fn calls(&self) -> std::collections::BTreeMap<String, u64> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl MotoServer {
    /// Starts a [`MotoProxy`] to this server, answering `faults` itself.
    pub async fn proxy(&self, faults: Vec<Fault>) -> MotoProxy {
        use axum::http::{HeaderMap, Method, StatusCode, Uri};
        use axum::response::IntoResponse;

        let calls = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
        let tally = calls.clone();
        let moto = self.endpoint.clone();
        let http = self.http.clone();
        let forward =
            move |method: Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let (moto, http, tally, faults) =
                    (moto.clone(), http.clone(), tally.clone(), faults.clone());
                async move {
                    let operation = headers
                        .get("x-amz-target")
                        .and_then(|v| v.to_str().ok())
                        .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
                        .unwrap_or_else(|| "other".to_owned());
                    if let Some(fault) = faults.iter().find(|f| f.operation == operation) {
                        let body =
                            serde_json::json!({ "__type": fault.error, "message": fault.error });
                        return (
                            StatusCode::BAD_REQUEST,
                            [("content-type", "application/x-amz-json-1.1")],
                            body.to_string(),
                        )
                            .into_response();
                    }
                    if let Ok(mut tally) = tally.lock() {
                        *tally.entry(operation).or_default() += 1;
                    }
                    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                    let mut request = http.request(method, format!("{moto}{path}")).body(body);
                    for (name, value) in &headers {
                        if name != "host" && name != "content-length" {
                            request = request.header(name, value);
                        }
                    }
                    match request.send().await {
                        Ok(answer) => {
                            let status = answer.status();
                            let headers = answer.headers().clone();
                            let body = answer.bytes().await.unwrap_or_default();
                            let mut response = (status, body).into_response();
                            for (name, value) in &headers {
                                if name != "content-length" && name != "transfer-encoding" {
                                    response.headers_mut().insert(name, value.clone());
                                }
                            }
                            response
                        }
                        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
                    }
                }
            };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let router = axum::Router::new().fallback(forward);
        tokio::spawn(async move { axum::serve(listener, router).await });
        MotoProxy { url, calls }
    }

    /// [`MotoServer::sdk_config`] through `proxy`.
    pub async fn sdk_config_through(&self, proxy: &MotoProxy) -> SdkConfig {
        self.sdk_config()
            .await
            .into_builder()
            .endpoint_url(&proxy.url)
            .build()
    }
}
