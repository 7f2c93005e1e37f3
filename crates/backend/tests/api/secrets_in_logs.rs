//! No secret reaches the logs (authenticator.md: "Nothing secret … is ever logged").
//!
//! The real binary runs in serve mode with `RUST_LOG=debug`, against the GitHub emulator on
//! another port, and every sign-in flow is driven through HTTP, the failing and abusive paths
//! too (they log warnings). Every secret the test sees on the way is collected; at the end the
//! process's whole stdout and stderr must contain none of them.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use github_emulator::{Emulator, RunningEmulator, Seed};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use url::Url;

const BINARY: &str = env!("CARGO_BIN_EXE_sliderule-backend");
const CLIENT_ID: &str = "sliderule-log-test";
// Distinctive values, so that finding one in the log cannot be a coincidence.
const CLIENT_SECRET: &str = "gh-client-secret-0f3a9c1e7b52d846";
const SERVICE_TOKEN: &str = "demo-pat-alice";
const REDIRECT: &str = "http://localhost:5173/auth/callback";

/// Every secret the test has seen, named for the failure message.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, name: impl Into<String>, value: &str) {
        assert!(!value.is_empty(), "an empty secret would match anything");
        self.0.push((name.into(), value.to_owned()));
    }
}

/// The backend binary in serve mode, its output captured in full.
struct Backend {
    child: Child,
    address: String,
    client: reqwest::Client,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl Backend {
    async fn start(github: &RunningEmulator, data: &Path, dist: &Path) -> Self {
        let mut child = Command::new(BINARY)
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--dist")
            .arg(dist)
            // Nothing from the developer's environment: only what is set here configures it.
            .env_clear()
            .env("RUST_LOG", "debug")
            .env("SLIDERULE_GITHUB__WEB_URL", github.url())
            .env("SLIDERULE_GITHUB__API_URL", github.url())
            .env("SLIDERULE_GITHUB__CLIENT_ID", CLIENT_ID)
            .env("SLIDERULE_GITHUB__CLIENT_SECRET", CLIENT_SECRET)
            // With a service token and no membership cache, every refresh re-checks membership
            // at GitHub with that token: one more secret on the wire, and more to log.
            .env("SLIDERULE_GITHUB__SERVICE_TOKEN", SERVICE_TOKEN)
            .env("SLIDERULE_GITHUB__MEMBERSHIP_CACHE_SECS", "0")
            // No grace window: presenting a spent refresh token is reuse at once, which logs.
            .env("SLIDERULE_AUTHENTICATOR__REFRESH_GRACE_SECS", "0")
            .env("SLIDERULE_AUTHENTICATOR__RATE_LIMIT_BURST", "1000")
            // Serve mode would otherwise drive AWS; this test is about the authenticator.
            .env("SLIDERULE_PROVISIONER__CLOUD", "simulated")
            // A fresh data directory: its store is made at start.
            .env("SLIDERULE_STORE__MIGRATE_ON_START", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the backend starts");

        // The JSON log shares stdout with the "listening on" line, so one task reads all of it
        // (a pipe nobody drains would stall the backend) and reports the address when it passes.
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut output = String::new();
            let mut address_tx = Some(address_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(address) = line.strip_prefix("listening on ")
                    && let Some(tx) = address_tx.take()
                {
                    let _ = tx.send(address.to_owned());
                }
                output.push_str(&line);
                output.push('\n');
            }
            output
        });
        let stderr = tokio::spawn(read_all(child.stderr.take().expect("stderr is piped")));
        let address = tokio::time::timeout(Duration::from_secs(60), address_rx)
            .await
            .expect("the backend listens within a minute")
            .expect("the backend prints its address before exiting");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            child,
            address,
            client,
            stdout,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request is sent");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("request is sent");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Where a GET to `url` redirects.
    async fn redirect_of(&self, url: &str) -> Url {
        let response = self.client.get(url).send().await.expect("request is sent");
        assert_eq!(response.status(), StatusCode::FOUND, "{url} redirects");
        let location = response.headers()[header::LOCATION]
            .to_str()
            .expect("ASCII");
        Url::parse(location).expect("an absolute Location")
    }

    /// Stops the process with SIGTERM and returns everything it wrote.
    async fn stop(mut self) -> String {
        let pid = self.child.id().expect("still running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let exit = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("exit status");
        assert_eq!(exit.code(), Some(0), "graceful shutdown exits 0");
        let stdout = self.stdout.await.expect("stdout reader");
        let stderr = self.stderr.await.expect("stderr reader");
        stdout + &stderr
    }
}

async fn read_all(mut stream: impl AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

fn query(url: &Url, key: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{key} in {url}"))
}

fn text<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {body}"))
}

/// A fresh PKCE verifier and its S256 challenge: a fixed verifier (RFC 7636's example) could
/// appear in a log for reasons of its own.
fn pkce_pair() -> (String, String) {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("randomness");
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// PAT login as bob, two rotations, then revocation; the revoked token is refused afterwards.
async fn pat_and_refresh_flows(backend: &Backend, secrets: &mut Secrets) {
    let (status, login) = backend
        .post_json("/auth/github/pat", json!({ "pat": "demo-pat-bob" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    secrets.add("bob's PAT", "demo-pat-bob");
    secrets.add("access token (PAT login)", text(&login, "token"));
    let mut refresh_token = text(&login, "refresh_token").to_owned();
    secrets.add("refresh token (PAT login)", &refresh_token);

    // The bearer path: userinfo reads the access token from the Authorization header.
    let userinfo = backend
        .client
        .get(backend.url("/auth/userinfo"))
        .bearer_auth(text(&login, "token"))
        .send()
        .await
        .expect("request is sent");
    assert_eq!(userinfo.status(), StatusCode::OK);

    for round in 1..=2 {
        let (status, refreshed) = backend
            .post_json("/auth/refresh", json!({ "refresh_token": refresh_token }))
            .await;
        assert_eq!(status, StatusCode::OK, "refresh {round}: {refreshed}");
        secrets.add(
            format!("access token (refresh {round})"),
            text(&refreshed, "token"),
        );
        refresh_token = text(&refreshed, "refresh_token").to_owned();
        secrets.add(format!("refresh token (refresh {round})"), &refresh_token);
    }

    let (status, _) = backend
        .post_json("/auth/revoke", json!({ "token": refresh_token }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = backend
        .post_json("/auth/refresh", json!({ "refresh_token": refresh_token }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "revoked: {body}");
}

/// A PAT GitHub does not know, and a GitHub OAuth token used as a PAT (as the clients may).
async fn other_pat_logins(backend: &Backend, github: &Emulator, secrets: &mut Secrets) {
    let (status, body) = backend
        .post_json("/auth/github/pat", json!({ "pat": "ghp_wrong" }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    secrets.add("a wrong PAT", "ghp_wrong");

    // Refused before GitHub is asked; the log says why, without the token.
    let (status, body) = backend
        .post_json(
            "/auth/github/pat",
            json!({ "pat": "ghp_malformed7c1d\nsecond-line-e94b" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    secrets.add("a malformed PAT, first line", "ghp_malformed7c1d");
    secrets.add("a malformed PAT, second line", "second-line-e94b");

    let oauth_token = github.issue_token("carol").expect("carol is seeded");
    secrets.add("GitHub OAuth token of carol", &oauth_token);
    let (status, body) = backend
        .post_json("/auth/github/pat", json!({ "pat": oauth_token }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secrets.add("access token (OAuth token login)", text(&body, "token"));
    secrets.add(
        "refresh token (OAuth token login)",
        text(&body, "refresh_token"),
    );
}

/// The device flow: start, a pending poll, approval at GitHub, then polls at the interval the
/// server asks for until it succeeds.
async fn device_flow(backend: &Backend, github: &Emulator, secrets: &mut Secrets) {
    let (status, device) = backend.post_json("/auth/github/device", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{device}");
    let device_code = text(&device, "device_code").to_owned();
    secrets.add("device code", &device_code);
    let poll = || {
        backend.post_json(
            "/auth/github/device/poll",
            json!({ "device_code": device_code }),
        )
    };

    let (status, pending) = poll().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["error"], "authorization_pending");

    github
        .approve_device(text(&device, "user_code"), "bob")
        .expect("the user code is pending");
    // The backend and GitHub both hold clients to the interval in real time: wait it out before
    // each poll, as RFC 8628 asks of every client, and adopt a longer one if told to slow down.
    let mut interval = Duration::from_secs(device["interval"].as_u64().expect("interval"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let signed_in = loop {
        assert!(Instant::now() < deadline, "the device flow did not finish");
        tokio::time::sleep(interval).await;
        let (status, body) = poll().await;
        match status {
            StatusCode::OK => break body,
            StatusCode::ACCEPTED if body["error"] == "slow_down" => {
                interval = Duration::from_secs(body["interval"].as_u64().expect("interval"));
            }
            StatusCode::ACCEPTED => {}
            other => panic!("device poll answered {other}: {body}"),
        }
    };
    secrets.add("access token (device flow)", text(&signed_in, "token"));
    secrets.add(
        "refresh token (device flow)",
        text(&signed_in, "refresh_token"),
    );
}

/// The browser flow: registration, PKCE login through GitHub as bob, the code exchange, a
/// refresh at the token endpoint; then a reused code and a reused refresh token, which revoke.
async fn pkce_flow(backend: &Backend, secrets: &mut Secrets) {
    let (status, client) = backend
        .post_json(
            "/auth/github/register",
            json!({ "redirect_uris": [REDIRECT], "client_name": "log test" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let client_id = text(&client, "client_id").to_owned();
    let (verifier, challenge) = pkce_pair();
    secrets.add("PKCE verifier", &verifier);

    let mut login = Url::parse(&backend.url("/auth/github/login")).expect("URL");
    login
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "client-state")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut github = backend.redirect_of(login.as_str()).await;
    github.query_pairs_mut().append_pair("login", "bob");
    let callback = backend.redirect_of(github.as_str()).await;
    secrets.add("GitHub's authorization code", &query(&callback, "code"));
    let back = backend.redirect_of(callback.as_str()).await;
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    let code = query(&back, "code");
    secrets.add("our one-time code", &code);

    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, tokens) = backend.post_form("/auth/github/token", &exchange).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    secrets.add("access token (PKCE)", text(&tokens, "access_token"));
    let first_refresh = text(&tokens, "refresh_token").to_owned();
    secrets.add("refresh token (PKCE)", &first_refresh);

    let (status, refreshed) = backend
        .post_form(
            "/auth/github/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first_refresh),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    secrets.add(
        "access token (PKCE refresh)",
        text(&refreshed, "access_token"),
    );
    secrets.add(
        "refresh token (PKCE refresh)",
        text(&refreshed, "refresh_token"),
    );

    // Abuse logs warnings, which must not quote what was presented.
    let (status, body) = backend
        .post_json("/auth/refresh", json!({ "refresh_token": first_refresh }))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a spent refresh token: {body}"
    );
    let (status, body) = backend.post_form("/auth/github/token", &exchange).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reused code: {body}");
}

/// The legacy (v5) login hands the access token back in the redirect's query string.
async fn legacy_login(backend: &Backend, secrets: &mut Secrets) {
    let mut login = Url::parse(&backend.url("/auth/github/login")).expect("URL");
    login
        .query_pairs_mut()
        .append_pair("redirect_uri", "http://localhost:3000/done");
    let mut github = backend.redirect_of(login.as_str()).await;
    github.query_pairs_mut().append_pair("login", "carol");
    let callback = backend.redirect_of(github.as_str()).await;
    secrets.add(
        "GitHub's authorization code (legacy)",
        &query(&callback, "code"),
    );
    let back = backend.redirect_of(callback.as_str()).await;
    secrets.add("access token (legacy login)", &query(&back, "token"));
}

/// The keys the backend generated into its data directory must stay out of the log too: every
/// signing key of the keyring (each base64 line of its PEM) and the key that signs the OAuth
/// state.
fn generated_keys(data: &Path, secrets: &mut Secrets) {
    let keys = data.join("keys");
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("the generated {} is readable: {e}", path.display()))
    };
    let pems: Vec<_> = std::fs::read_dir(&keys)
        .expect("the key directory is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "pem"))
        .collect();
    assert!(!pems.is_empty(), "the backend generated a signing key");
    for pem in pems {
        let text = read(&pem);
        let lines = text
            .lines()
            .filter(|line| !line.starts_with("-----") && line.len() >= 32);
        for (number, line) in lines.enumerate() {
            secrets.add(
                format!("signing key {}, line {}", pem.display(), number + 2),
                line,
            );
        }
    }
    secrets.add("OAuth state key", read(&keys.join("state.key")).trim());
}

#[tokio::test]
async fn no_secret_of_any_sign_in_flow_appears_in_the_debug_log() {
    let mut seed = Seed::demo();
    seed.client_id = Some(CLIENT_ID.into());
    seed.client_secret = Some(CLIENT_SECRET.into());
    // The shortest interval, so the device flow's real-time waits stay short.
    seed.device_interval_secs = 1;
    let github = Emulator::new(seed)
        .spawn("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the GitHub emulator starts");
    let data = tempfile::TempDir::new().expect("data directory");
    let dist = tempfile::TempDir::new().expect("dist directory");
    let backend = Backend::start(&github, data.path(), dist.path()).await;

    let mut secrets = Secrets::default();
    secrets.add("GitHub client secret", CLIENT_SECRET);
    secrets.add("GitHub service token", SERVICE_TOKEN);
    generated_keys(data.path(), &mut secrets);

    pat_and_refresh_flows(&backend, &mut secrets).await;
    other_pat_logins(&backend, github.emulator(), &mut secrets).await;
    device_flow(&backend, github.emulator(), &mut secrets).await;
    pkce_flow(&backend, &mut secrets).await;
    legacy_login(&backend, &mut secrets).await;

    let log = backend.stop().await;
    // The capture works: the log has request lines of the flows above, at debug level too.
    assert!(
        log.contains("\"path\":\"/auth/github/pat\""),
        "request lines are captured"
    );
    assert!(log.contains("\"path\":\"/auth/github/device/poll\""));
    assert!(
        log.contains("malformed token") && log.contains("U+000A"),
        "the cause of a refused PAT is logged"
    );
    assert!(
        log.contains("\"level\":\"DEBUG\""),
        "RUST_LOG=debug applies"
    );

    let leaked: Vec<String> = secrets
        .0
        .iter()
        .filter(|(_, value)| log.contains(value.as_str()))
        .map(|(name, value)| {
            // Enough of it to find it in the log, not enough to use it.
            let prefix: String = value.chars().take(6).collect();
            format!("{name} ({prefix}…)")
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "secrets in the log ({} lines): {}",
        log.lines().count(),
        leaked.join(", ")
    );
    // The GitHub OAuth tokens of the device and PKCE exchanges never reach the test, but they
    // have GitHub's shape.
    if let Some(token) = github_oauth_token_in(&log) {
        panic!("a GitHub OAuth token is in the log ({}…)", &token[..8]);
    }
}

/// The first `gho_` + 36 alphanumerics standing alone (GitHub's OAuth token shape) in `text`.
fn github_oauth_token_in(text: &str) -> Option<&str> {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices("gho_").find_map(|(start, _)| {
        let candidate = text.get(start..start + 40)?;
        let alone_before = !text[..start].ends_with(is_token_char);
        let alone_after = !text[start + 40..].starts_with(is_token_char);
        (alone_before && alone_after && candidate[4..].chars().all(|c| c.is_ascii_alphanumeric()))
            .then_some(candidate)
    })
}
