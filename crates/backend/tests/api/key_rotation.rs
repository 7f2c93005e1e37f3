//! Signing-key rotation against the running application, which signs with its data
//! directory's keyring: the `keys` operations change the directory as an operator on another
//! machine would, and the app picks the change up without a restart. The key-selection clock is
//! moved by hand, so no test waits for a publish lead to pass.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use sliderule_backend::clock::Clock;
use sliderule_backend::keys::admin::{
    DEFAULT_MAX_TOKEN_LIFETIME, DEFAULT_PUBLISH_LEAD, KeyAdmin, RetireTarget, Rotated,
};
use sliderule_backend::keys::{Expected, KeyBits, SigningKey, TokenError};
use time::OffsetDateTime;

use crate::helpers::{TestApp, TestConfig};

const BINARY: &str = env!("CARGO_BIN_EXE_sliderule-backend");

/// The app with a data-directory keyring. Its clock (which also decides which key signs) stands
/// still until a test moves it.
async fn spawn_with_keyring() -> (TestApp, ()) {
    let app = TestApp::spawn_with(TestConfig {
        data_dir_keyring: true,
        ..Default::default()
    })
    .await;
    (app, ())
}

fn key_now(app: &TestApp) -> OffsetDateTime {
    app.clock.now()
}

fn move_clock(app: &TestApp, by: Duration) {
    app.clock.advance(by);
}

/// What `sliderule-backend keys rotate` does, on the app's data directory.
fn rotate(app: &TestApp) -> Rotated {
    KeyAdmin::new(&app.state.config)
        .rotate(KeyBits::Rsa2048, DEFAULT_PUBLISH_LEAD, key_now(app))
        .expect("rotation succeeds")
}

fn token(app: &TestApp) -> String {
    signed_by(app.state.keys.current().signing(), app)
}

fn signed_by(key: &SigningKey, app: &TestApp) -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    key.sign(&json!({
        "iss": app.state.urls.authenticator, "sub": "bob", "github_id": 1002,
        "aud": ["provisioner", "bob"], "org": "SlideRuleEarth", "org_roles": ["member"],
        "iat": now, "nbf": now, "exp": now + 3600, "jti": jti(),
    }))
    .expect("the key signs")
}

fn jti() -> String {
    format!("{:x}", OffsetDateTime::now_utc().unix_timestamp_nanos())
}

fn expected(app: &TestApp) -> Expected<'_> {
    Expected {
        issuer: &app.state.urls.authenticator,
        audience: Some("provisioner"),
    }
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("a JWT")
        .kid
        .expect("with a kid")
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .expect("a key list")
        .iter()
        .map(|k| k["kid"].as_str().expect("a kid").to_owned())
        .collect()
}

async fn pem(app: &TestApp) -> String {
    app.get("/auth/pem").await.text().await.unwrap()
}

#[tokio::test]
async fn a_token_signed_before_rotation_still_verifies_after_it() {
    let (app, ()) = spawn_with_keyring().await;
    let old_kid = app.state.keys.current().signing().kid().to_owned();
    let before = token(&app);

    let rotated = rotate(&app);
    app.state.keys.reload().unwrap();
    move_clock(&app, DEFAULT_PUBLISH_LEAD + Duration::from_secs(1));
    assert_eq!(
        app.state.keys.current().signing().kid(),
        rotated.kid,
        "the rotation took effect"
    );

    let claims = app.state.keys.verify(&before, expected(&app)).unwrap();
    assert_eq!(claims.sub, "bob");
    assert_eq!(kid_of(&before), old_kid);
    assert!(app.state.keys.verify(&token(&app), expected(&app)).is_ok());
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs() {
    let (app, ()) = spawn_with_keyring().await;
    let old = app.state.keys.current().signing().kid().to_owned();
    let old_pem = pem(&app).await;
    assert_eq!(jwks_kids(&app).await, std::slice::from_ref(&old));

    let rotated = rotate(&app);
    assert_eq!(rotated.replaces, old);
    assert!(
        rotated.signs_from >= key_now(&app) + time::Duration::seconds(300),
        "at least one JWKS cache lifetime ahead"
    );
    app.state.keys.reload().unwrap();

    assert_eq!(jwks_kids(&app).await, [rotated.kid.clone(), old.clone()]);
    assert_eq!(pem(&app).await, old_pem, "the PEM is the key that signs");
    assert_eq!(kid_of(&token(&app)), old, "new tokens: still the old key");

    move_clock(&app, DEFAULT_PUBLISH_LEAD + Duration::from_secs(1));
    let new_pem = app
        .state
        .keys
        .current()
        .find(&rotated.kid)
        .expect("published")
        .public_pem()
        .to_owned();
    assert_eq!(
        pem(&app).await,
        new_pem,
        "past signs_from the PEM is the new key"
    );
    assert_eq!(kid_of(&token(&app)), rotated.kid);
    assert_eq!(
        jwks_kids(&app).await,
        [rotated.kid, old],
        "the old key stays published while its tokens live"
    );
}

#[tokio::test]
async fn a_retired_keys_tokens_fail_with_unknown_key_after_the_app_reloads() {
    let (app, ()) = spawn_with_keyring().await;
    let old = app.state.keys.current().signing().kid().to_owned();
    let old_token = token(&app);
    let rotated = rotate(&app);
    app.state.keys.reload().unwrap();

    // Past the switch and the old key's longest-lived token: retiring needs no --force.
    move_clock(
        &app,
        DEFAULT_PUBLISH_LEAD + DEFAULT_MAX_TOKEN_LIFETIME + Duration::from_secs(120),
    );
    let retired = KeyAdmin::new(&app.state.config)
        .retire(
            &RetireTarget::Kid(old.clone()),
            DEFAULT_MAX_TOKEN_LIFETIME,
            false,
            key_now(&app),
        )
        .expect("the old key may be retired");
    assert_eq!(retired.len(), 1);
    assert!(
        app.state.keys.verify(&old_token, expected(&app)).is_ok(),
        "the app has not reloaded yet"
    );

    app.state.keys.reload().unwrap();
    assert_eq!(
        app.state.keys.verify(&old_token, expected(&app)),
        Err(TokenError::UnknownKey)
    );
    assert_eq!(jwks_kids(&app).await, [rotated.kid]);
}

#[tokio::test]
async fn a_token_of_a_key_rotated_in_elsewhere_verifies_before_the_next_scheduled_reload() {
    let (app, ()) = spawn_with_keyring().await;
    let rotated = rotate(&app);
    // Another replica that already signs with the new key (its clock is ahead, say).
    let pem = std::fs::read_to_string(
        app.state
            .config
            .data_dir
            .join("keys")
            .join(format!("{}.pem", rotated.kid)),
    )
    .unwrap();
    let elsewhere = signed_by(&SigningKey::from_pem(&pem).unwrap(), &app);

    assert!(app.state.keys.verify(&elsewhere, expected(&app)).is_ok());
    assert!(jwks_kids(&app).await.contains(&rotated.kid), "reloaded");
}

#[tokio::test]
async fn the_app_is_ready_with_a_data_directory_keyring() {
    let (app, ()) = spawn_with_keyring().await;
    let body: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
}

/// Runs `sliderule-backend keys ARGS --data-dir DATA`; returns (exit code, stdout, stderr).
fn keys(data: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BINARY)
        .arg("keys")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_clear()
        .output()
        .expect("binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The kids of the private keys in the data directory.
fn kids_on_disk(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("keys"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".pem").map(str::to_owned)
        })
        .collect()
}

fn line_of<'a>(stdout: &'a str, kid: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.starts_with(kid))
        .unwrap_or_else(|| panic!("no line for {kid} in:\n{stdout}"))
}

#[test]
fn keys_list_prints_the_kid_of_every_key() {
    let data = tempfile::TempDir::new().unwrap();
    let (code, stdout, stderr) = keys(data.path(), &["generate"]);
    assert_eq!(code, 0, "{stderr}");
    let kids = kids_on_disk(data.path());
    assert_eq!(kids.len(), 1);
    assert!(stdout.contains(&kids[0]), "{stdout}");

    let (code, stdout, stderr) = keys(data.path(), &["list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("KID "), "a header: {stdout}");
    assert!(line_of(&stdout, &kids[0]).contains("signing"), "{stdout}");
    assert!(!stdout.contains("PRIVATE"), "no key material: {stdout}");
}

#[test]
fn keys_rotate_adds_a_pending_key_that_keys_list_shows() {
    let data = tempfile::TempDir::new().unwrap();
    assert_eq!(keys(data.path(), &["generate"]).0, 0);
    let old = kids_on_disk(data.path()).remove(0);

    let (code, stdout, stderr) = keys(data.path(), &["rotate"]);
    assert_eq!(code, 0, "{stderr}");
    let new = kids_on_disk(data.path())
        .into_iter()
        .find(|kid| *kid != old)
        .expect("a second key");
    assert!(stdout.contains(&new), "prints the new kid: {stdout}");
    assert!(stdout.contains("signs from"), "and when it signs: {stdout}");
    assert!(!stdout.contains("PRIVATE"), "{stdout}");

    let (code, stdout, _) = keys(data.path(), &["list"]);
    assert_eq!(code, 0);
    assert!(line_of(&stdout, &new).contains("pending"), "{stdout}");
    assert!(line_of(&stdout, &old).contains("signing"), "{stdout}");
}

#[test]
fn keys_retire_of_the_signing_key_exits_2_with_one_line() {
    let data = tempfile::TempDir::new().unwrap();
    assert_eq!(keys(data.path(), &["generate"]).0, 0);
    let kid = kids_on_disk(data.path()).remove(0);

    let (code, stdout, stderr) = keys(data.path(), &["retire", &kid, "--force"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&kid) && stderr.contains("signing key"),
        "{stderr}"
    );
    assert_eq!(kids_on_disk(data.path()), [kid], "nothing changed");
}

#[test]
fn keys_rotate_with_a_configured_key_file_exits_2_saying_how_to_rotate() {
    let data = tempfile::TempDir::new().unwrap();
    let output = Command::new(BINARY)
        .args(["keys", "rotate", "--data-dir"])
        .arg(data.path())
        .env_clear()
        .env(
            "SLIDERULE_AUTHENTICATOR__SIGNING_KEY_FILE",
            "/etc/sliderule/signing.pem",
        )
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("replacing that file"), "{stderr}");
    assert!(!data.path().join("keys").exists(), "nothing written");
}

#[test]
fn keys_rotate_without_a_keyring_exits_2_saying_to_generate_one() {
    let data = tempfile::TempDir::new().unwrap();
    let (code, _, stderr) = keys(data.path(), &["rotate"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("keys generate"), "{stderr}");
}
