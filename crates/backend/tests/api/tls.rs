//! `--tls-cert` / `--tls-key`: the backend serves HTTPS itself, host routing included, with
//! certificates from a throw-away CA made for each test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use reqwest::StatusCode;
use tempfile::TempDir;

use crate::helpers::{RunningDemo, TestApp, TestConfig};

const BINARY: &str = env!("CARGO_BIN_EXE_sliderule-backend");
const DOMAIN: &str = "sliderule.test";

/// A CA and a server certificate it signed, written as PEM files.
struct Pki {
    dir: TempDir,
    ca_pem: String,
}

impl Pki {
    fn new() -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "SlideRule test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let mut server = CertificateParams::new(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
            format!("*.{DOMAIN}"),
            DOMAIN.to_owned(),
        ])
        .unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "sliderule-backend");
        let server_cert = server.signed_by(&server_key, &issuer).unwrap();

        let dir = TempDir::new().unwrap();
        // The chain as operators deploy it: the server's certificate, then the CA's.
        std::fs::write(
            dir.path().join("cert.pem"),
            format!("{}{}", server_cert.pem(), ca_cert.pem()),
        )
        .unwrap();
        std::fs::write(dir.path().join("key.pem"), server_key.serialize_pem()).unwrap();
        Self {
            dir,
            ca_pem: ca_cert.pem(),
        }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// A client trusting only this CA, resolving the domain's hosts to `address`.
    fn client(&self, address: Option<SocketAddr>) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap();
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([ca]);
        if let Some(address) = address {
            for host in ["login", "provisioner", "bob"] {
                builder = builder.resolve(&format!("{host}.{DOMAIN}"), address);
            }
            builder = builder.resolve(DOMAIN, address);
        }
        builder.build().unwrap()
    }

    fn values(&self) -> Vec<(&'static str, toml::Value)> {
        vec![
            ("server.tls_cert_file", path_value(&self.cert())),
            ("server.tls_key_file", path_value(&self.key())),
        ]
    }
}

fn path_value(path: &Path) -> toml::Value {
    toml::Value::String(path.display().to_string())
}

async fn spawn(pki: &Pki, domain: bool) -> TestApp {
    let mut values = pki.values();
    if domain {
        values.push(("domain", toml::Value::String(DOMAIN.into())));
    }
    TestApp::spawn_with(TestConfig {
        values,
        client: Some(pki.client(None)),
        ..Default::default()
    })
    .await
}

fn port(app: &TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn health_answers_over_https() {
    let pki = Pki::new();
    let app = spawn(&pki, false).await;
    assert!(
        app.address.starts_with("https://127.0.0.1:"),
        "{}",
        app.address
    );
    let response = app.get("/health").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_issuer_is_https_with_the_port() {
    let pki = Pki::new();
    let app = spawn(&pki, false).await;
    let discovery: serde_json::Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], app.address.as_str());
    assert_eq!(app.state.urls.web, app.address);
}

#[tokio::test]
async fn hosts_of_the_domain_are_routed_over_https() {
    let pki = Pki::new();
    let app = spawn(&pki, true).await;
    let port = port(&app);
    let client = pki.client(Some(SocketAddr::from(([127, 0, 0, 1], port))));
    assert_eq!(
        app.state.urls.authenticator,
        format!("https://login.{DOMAIN}:{port}")
    );
    assert_eq!(
        app.state.urls.provisioner,
        format!("https://provisioner.{DOMAIN}:{port}")
    );

    let discovery: serde_json::Value = client
        .get(format!(
            "https://login.{DOMAIN}:{port}/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["issuer"],
        format!("https://login.{DOMAIN}:{port}")
    );

    let jwks: serde_json::Value = client
        .get(format!(
            "https://login.{DOMAIN}:{port}/.well-known/jwks.json"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !jwks["keys"].as_array().unwrap().is_empty(),
        "published keys: {jwks}"
    );

    // The provisioner's own answer (rewritten to /provisioner/info), not the web client's.
    let info = client
        .post(format!("https://provisioner.{DOMAIN}:{port}/info"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = info.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");

    // A simulated cluster's host answers its own API: 404 JSON, not the web client's page.
    let cluster = client
        .get(format!("https://bob.{DOMAIN}:{port}/clusters"))
        .send()
        .await
        .unwrap();
    assert_eq!(cluster.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = cluster.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn the_demo_on_a_domain_with_a_private_ca_signs_bob_in() {
    // The throw-away CA is in no trust store (nor in SSL_CERT_FILE): the demo's call to its own
    // emulated GitHub at login.DOMAIN succeeds only because it trusts the chain it serves.
    let pki = Pki::new();
    let app = spawn(&pki, true).await;
    let port = port(&app);
    let client = pki.client(Some(SocketAddr::from(([127, 0, 0, 1], port))));
    let response = client
        .post(format!("https://login.{DOMAIN}:{port}/auth/github/pat"))
        .json(&serde_json::json!({ "pat": "demo-pat-bob" }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success", "{body}");
    assert!(body["token"].is_string(), "{body}");
}

#[tokio::test]
async fn the_demo_with_a_private_ca_and_no_domain_signs_bob_in() {
    let pki = Pki::new();
    let app = spawn(&pki, false).await;
    let response = app
        .client
        .post(app.url("/auth/github/pat"))
        .json(&serde_json::json!({ "pat": "demo-pat-bob" }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn plain_http_on_the_tls_port_fails_and_the_server_keeps_serving() {
    let pki = Pki::new();
    let app = spawn(&pki, false).await;
    let plain = app.address.replacen("https://", "http://", 1);
    let result = reqwest::Client::new()
        .get(format!("{plain}/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(
        result.as_ref().map_or(true, |r| !r.status().is_success()),
        "plain HTTP must not be served: {result:?}"
    );
    let response = app.get("/health").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let pki = Pki::new();
    let app = spawn(&pki, false).await;
    let stranger = Pki::new().client(None);
    assert!(stranger.get(app.url("/health")).send().await.is_err());
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

/// Runs the demo binary with these arguments; returns (exit code, stderr).
fn demo_fails(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let data = TempDir::new().unwrap();
    let output = Command::new(BINARY)
        .args(["demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(args)
        .env_clear()
        .output()
        .expect("binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_one_line_error(stderr: &str, key: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].contains(key), "names {key}: {stderr}");
}

#[test]
fn a_certificate_without_its_key_stops_start_up_with_exit_code_2() {
    let pki = Pki::new();
    let (code, stderr) = demo_fails(&["--tls-cert".as_ref(), pki.cert().as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line_error(&stderr, "server.tls_key_file");
}

#[test]
fn a_key_file_that_is_not_a_key_stops_start_up_with_exit_code_2() {
    let pki = Pki::new();
    let (code, stderr) = demo_fails(&[
        "--tls-cert".as_ref(),
        pki.cert().as_os_str(),
        "--tls-key".as_ref(),
        pki.cert().as_os_str(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line_error(&stderr, "server.tls_key_file");
}

#[test]
fn an_unreadable_certificate_stops_start_up_with_exit_code_2() {
    let pki = Pki::new();
    let (code, stderr) = demo_fails(&[
        "--tls-cert".as_ref(),
        "/nonexistent/cert.pem".as_ref(),
        "--tls-key".as_ref(),
        pki.key().as_os_str(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line_error(&stderr, "server.tls_cert_file");
    assert!(stderr.contains("/nonexistent/cert.pem"), "{stderr}");
}

#[tokio::test]
async fn the_demo_announces_https_and_serves_it() {
    let pki = Pki::new();
    let demo = RunningDemo::start(&[
        "--tls-cert".as_ref(),
        pki.cert().as_os_str(),
        "--tls-key".as_ref(),
        pki.key().as_os_str(),
    ])
    .await;
    let address = demo.address.clone();
    assert!(address.starts_with("https://127.0.0.1:"), "{address}");
    let health = pki
        .client(None)
        .get(format!("{address}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    assert_eq!(demo.terminate().await, Some(0), "graceful shutdown exits 0");
}
