//! The `sliderule-backend` binary: exit codes, one-line configuration errors, start and stop.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::NamedTempFile;

use crate::helpers::RunningDemo;

const BINARY: &str = env!("CARGO_BIN_EXE_sliderule-backend");

fn config_file(text: &str) -> NamedTempFile {
    let mut file = NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

/// Runs `config check` on a file; returns (exit code, stdout, stderr).
fn check(text: &str, extra: &[&str]) -> (i32, String, String) {
    let file = config_file(text);
    let output = Command::new(BINARY)
        .args(["config", "check", "--config"])
        .arg(file.path())
        .args(extra)
        .env_clear()
        .output()
        .expect("binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_one_line_error(stderr: &str, key: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].contains(key), "names {key}: {stderr}");
}

#[test]
fn unknown_key_stops_start_up_with_exit_code_2() {
    let (code, _, stderr) = check("[github]\norganisation = \"x\"\n", &["--demo"]);
    assert_eq!(code, 2);
    assert_one_line_error(&stderr, "github.organisation");
    assert!(stderr.contains("unknown field"), "{stderr}");
}

#[test]
fn wrong_type_stops_start_up_with_exit_code_2() {
    let (code, _, stderr) = check("[server]\nbody_limit_bytes = \"big\"\n", &["--demo"]);
    assert_eq!(code, 2);
    assert_one_line_error(&stderr, "server.body_limit_bytes");
}

#[test]
fn unreadable_secret_file_stops_start_up_with_exit_code_2() {
    let (code, _, stderr) = check(
        "[github]\nclient_id = \"Iv1.x\"\nclient_secret_file = \"/nonexistent/github-secret\"\n",
        &[],
    );
    assert_eq!(code, 2);
    assert_one_line_error(&stderr, "github.client_secret_file");
    assert!(stderr.contains("/nonexistent/github-secret"), "{stderr}");
}

#[test]
fn serve_mode_without_github_credentials_is_refused() {
    let (code, _, stderr) = check("", &[]);
    assert_eq!(code, 2);
    assert_one_line_error(&stderr, "github.client_id");
}

#[test]
fn config_check_prints_effective_values_with_secrets_redacted() {
    let (code, stdout, stderr) = check(
        "[github]\nclient_id = \"Iv1.x\"\nclient_secret = \"do-not-print-me\"\n",
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("client_id = \"Iv1.x\""), "{stdout}");
    assert!(stdout.contains("client_secret = \"***\""), "{stdout}");
    assert!(!stdout.contains("do-not-print-me"));
}

#[tokio::test]
async fn demo_starts_on_a_free_port_and_stops_cleanly_on_sigterm() {
    let demo = RunningDemo::start(&[]).await;
    let address = demo.address.clone();
    assert!(address.starts_with("http://127.0.0.1:"), "{address}");
    assert!(!address.ends_with(":0"), "port 0 is resolved: {address}");

    let health = reqwest::get(format!("{address}/health")).await.unwrap();
    assert_eq!(health.status(), 200);

    assert_eq!(demo.terminate().await, Some(0), "graceful shutdown exits 0");
}

#[test]
fn an_unreadable_signing_key_file_stops_start_up_with_exit_code_2() {
    let data = tempfile::TempDir::new().unwrap();
    let output = Command::new(BINARY)
        .args(["demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env_clear()
        .env(
            "SLIDERULE_AUTHENTICATOR__SIGNING_KEY_FILE",
            "/nonexistent/signing.pem",
        )
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_one_line_error(&stderr, "authenticator.signing_key_file");
    assert!(stderr.contains("/nonexistent/signing.pem"), "{stderr}");
}

#[tokio::test]
async fn demo_prints_its_users() {
    use tokio::io::AsyncBufReadExt;

    let data = tempfile::TempDir::new().unwrap();
    let mut child = tokio::process::Command::new(BINARY)
        .args(["demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("demo starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(30), async {
        let mut banner = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("dave") {
                break;
            }
        }
        banner
    })
    .await
    .expect("the banner is printed");
    assert!(banner.contains("organization SlideRuleEarth"), "{banner}");
    assert!(banner.contains("alice    organization admin"), "{banner}");
    assert!(banner.contains("(token demo-pat-bob)"), "{banner}");
}

#[test]
fn an_unreadable_github_seed_stops_the_demo_with_exit_code_2() {
    let data = tempfile::TempDir::new().unwrap();
    let output = Command::new(BINARY)
        .args([
            "demo",
            "--bind",
            "127.0.0.1:0",
            "--github-seed",
            "/nonexistent/seed.toml",
            "--data-dir",
        ])
        .arg(data.path())
        .env_clear()
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_one_line_error(&stderr, "demo.github_seed");
}

#[test]
fn an_invalid_affiliates_file_stops_start_up_naming_the_entry() {
    let data = tempfile::TempDir::new().unwrap();
    let affiliates = data.path().join("affiliates.toml");
    std::fs::write(
        &affiliates,
        "[octocat]\nactive = true\nclusters = [\"Not A Name\"]\n",
    )
    .unwrap();
    let output = Command::new(BINARY)
        .args(["demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env_clear()
        .env("SLIDERULE_AUTHENTICATOR__AFFILIATES_FILE", &affiliates)
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_one_line_error(&stderr, "authenticator.affiliates_file");
    assert!(stderr.contains("octocat"), "{stderr}");
}

#[test]
fn the_example_configuration_documents_only_keys_that_exist() {
    let example = include_str!("../../../../backend.example.toml");
    let (code, stdout, stderr) = check(example, &["--demo"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("refresh_grace_secs = 5"), "{stdout}");
}

#[test]
fn a_key_id_starting_with_a_hyphen_is_read_as_a_key_id() {
    let data = tempfile::TempDir::new().unwrap();
    let output = Command::new(BINARY)
        .args(["keys", "retire", "-R3WdkNotAKey", "--data-dir"])
        .arg(data.path())
        .env_clear()
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
    assert!(stderr.starts_with("error: keys:"), "{stderr}");
}
