//! Owners' request signing (provisioner.md, "Request signing"): Ed25519 over the client's
//! canonical string, verified whenever present, required of owners when configured; stale,
//! replayed, misdirected or foreign signatures refused; members never asked; keys re-read when
//! their file changes.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sliderule_backend::clock::Clock as _;
use sliderule_backend::provisioner::signing::canonical;

use super::support::{member, owner};
use crate::helpers::{TestApp, TestConfig, envelope};

struct Key(Ed25519KeyPair);

impl Key {
    fn new() -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Self(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    /// Its OpenSSH public key line, as `ssh-keygen -t ed25519` writes it.
    fn line(&self) -> String {
        let mut blob = Vec::new();
        for part in [b"ssh-ed25519".as_slice(), self.0.public_key().as_ref()] {
            blob.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
            blob.extend_from_slice(part);
        }
        format!("ssh-ed25519 {} owner@laptop", STANDARD.encode(blob))
    }

    /// The two headers for a request to `host` + `path` with `body`, signed at `at`.
    fn sign(&self, host: &str, path: &str, body: &str, at: i64) -> [(String, String); 2] {
        let message = canonical(host, path, &at.to_string(), body.as_bytes());
        let signature = STANDARD.encode(self.0.sign(message.as_bytes()).as_ref());
        [
            ("x-sliderule-timestamp".into(), at.to_string()),
            ("x-sliderule-signature".into(), signature),
        ]
    }
}

/// A demo app whose owners' keys file holds `alice`'s key; signatures required or not.
async fn app_with_keys(alice: &Key, required: bool) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("owner-keys.json");
    std::fs::write(&file, json!({ "alice": alice.line() }).to_string()).unwrap();
    let app = TestApp::spawn_with(TestConfig {
        values: vec![
            (
                "provisioner.owner_keys_file",
                toml::Value::String(file.display().to_string()),
            ),
            (
                "provisioner.require_owner_signatures",
                toml::Value::Boolean(required),
            ),
        ],
        ..Default::default()
    })
    .await;
    (app, dir)
}

fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

fn now(app: &TestApp) -> i64 {
    app.clock.now().unix_timestamp()
}

/// `POST /provisioner<api>` with `body` and extra headers.
async fn post(
    app: &TestApp,
    token: &str,
    api: &str,
    body: &str,
    headers: &[(String, String)],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/provisioner{api}")))
        .bearer_auth(token)
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_signed_owner_request_works_and_an_unsigned_one_is_refused_with_what_to_do() {
    let alice = Key::new();
    let (app, _dir) = app_with_keys(&alice, true).await;
    let token = owner(&app);
    let signed = alice.sign(&host(&app), "/provisioner/report/clusters", "{}", now(&app));
    let response = post(&app, &token, "/report/clusters", "{}", &signed).await;
    assert_eq!(response.status(), StatusCode::OK);

    let (status, code, description) =
        envelope(post(&app, &token, "/report/clusters", "{}", &[]).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "signature_required")
    );
    assert!(description.contains("~/.sliderule_key"), "{description}");
    assert!(
        description.contains("ssh-keygen -t ed25519"),
        "{description}"
    );
}

#[tokio::test]
async fn a_signed_deploy_of_another_members_cluster_goes_through() {
    let alice = Key::new();
    let (app, _dir) = app_with_keys(&alice, true).await;
    let token = owner(&app);
    let body = json!({ "cluster": "carol", "node_capacity": 1, "ttl": 15 }).to_string();
    let signed = alice.sign(&host(&app), "/provisioner/deploy", &body, now(&app));
    let response = post(&app, &token, "/deploy", &body, &signed).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["cluster"], "carol");
}

#[tokio::test]
async fn signatures_over_another_path_body_or_host_stale_or_replayed_are_refused() {
    let alice = Key::new();
    let (app, _dir) = app_with_keys(&alice, true).await;
    let token = owner(&app);
    let h = host(&app);
    let at = now(&app);
    let cases = [
        (
            "another path",
            alice.sign(&h, "/provisioner/info", "{}", at),
        ),
        (
            "another body",
            alice.sign(&h, "/provisioner/report/clusters", "{\"x\":1}", at),
        ),
        (
            "another host",
            alice.sign(
                "provisioner.elsewhere.org",
                "/provisioner/report/clusters",
                "{}",
                at,
            ),
        ),
        (
            "61 s old",
            alice.sign(&h, "/provisioner/report/clusters", "{}", at - 61),
        ),
        (
            "61 s ahead",
            alice.sign(&h, "/provisioner/report/clusters", "{}", at + 61),
        ),
        (
            "another owner's key",
            Key::new().sign(&h, "/provisioner/report/clusters", "{}", at),
        ),
    ];
    for (what, headers) in cases {
        let (status, code, description) =
            envelope(post(&app, &token, "/report/clusters", "{}", &headers).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "bad_signature"),
            "{what}: {description}"
        );
    }
    let good = alice.sign(&h, "/provisioner/report/clusters", "{}", at - 30);
    assert_eq!(
        post(&app, &token, "/report/clusters", "{}", &good)
            .await
            .status(),
        StatusCode::OK
    );
    let (status, _, description) =
        envelope(post(&app, &token, "/report/clusters", "{}", &good).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        description,
        "the request's signature is not valid: it was used before; sign each request anew"
    );
}

#[tokio::test]
async fn members_are_not_asked_to_sign_but_a_bad_signature_of_theirs_is_refused() {
    let alice = Key::new();
    let (app, _dir) = app_with_keys(&alice, true).await;
    let bob = member(&app, "bob");
    assert_eq!(
        post(&app, &bob, "/info", "{}", &[]).await.status(),
        StatusCode::OK
    );
    let forged = alice.sign(&host(&app), "/provisioner/info", "{}", now(&app));
    let (status, code, description) =
        envelope(post(&app, &bob, "/info", "{}", &forged).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "bad_signature")
    );
    assert!(
        description.contains("no public key is registered for bob"),
        "{description}"
    );
}

#[tokio::test]
async fn with_signatures_not_required_owners_work_unsigned_and_present_ones_are_still_checked() {
    let alice = Key::new();
    let (app, _dir) = app_with_keys(&alice, false).await;
    let token = owner(&app);
    assert_eq!(
        post(&app, &token, "/report/clusters", "{}", &[])
            .await
            .status(),
        StatusCode::OK
    );
    let wrong = alice.sign(&host(&app), "/provisioner/info", "{}", now(&app));
    let (status, code, _) =
        envelope(post(&app, &token, "/report/clusters", "{}", &wrong).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "bad_signature")
    );
    let half = [("x-sliderule-timestamp".to_owned(), now(&app).to_string())];
    let (status, _, description) =
        envelope(post(&app, &token, "/report/clusters", "{}", &half).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(description.contains("send both"), "{description}");
}

#[tokio::test]
async fn a_new_key_in_the_file_is_used_without_a_restart() {
    let old = Key::new();
    let (app, dir) = app_with_keys(&old, true).await;
    let token = owner(&app);
    let new = Key::new();
    let file = dir.path().join("owner-keys.json");
    // A different modification time, whatever the file system's resolution.
    std::fs::write(&file, json!({ "Alice": new.line() }).to_string()).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let signed = new.sign(&host(&app), "/provisioner/report/clusters", "{}", now(&app));
    assert_eq!(
        post(&app, &token, "/report/clusters", "{}", &signed)
            .await
            .status(),
        StatusCode::OK
    );
    let stale = old.sign(&host(&app), "/provisioner/info", "{}", now(&app));
    assert_eq!(
        post(&app, &token, "/info", "{}", &stale).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_web_client_is_told_to_sign_and_may_send_the_signature_headers() {
    let alice = Key::new();
    let (app, _dir) = app_with_keys(&alice, true).await;
    let config: Value = app.get("/config.json").await.json().await.unwrap();
    assert_eq!(config["owner_signatures"], true);
    let origin = app.address.clone();
    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/provisioner/report/clusters"),
        )
        .header("Origin", &origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,x-sliderule-timestamp,x-sliderule-signature",
        )
        .send()
        .await
        .unwrap();
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .unwrap_or_default();
    assert!(
        allowed.contains("x-sliderule-signature") && allowed.contains("x-sliderule-timestamp"),
        "{allowed}"
    );
}
