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
        &format!("{NETWORK}[github]\nclient_id = \"Iv1.x\"\nclient_secret = \"do-not-print-me\"\n"),
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("client_id = \"Iv1.x\""), "{stdout}");
    assert!(stdout.contains("client_secret = \"***\""), "{stdout}");
    assert!(!stdout.contains("do-not-print-me"));
}

/// GitHub credentials, so that serve mode's checks reach the cluster template.
const GITHUB: &str = "[github]\nclient_id = \"Iv1.x\"\nclient_secret = \"shh\"\n";
/// The network the bundled cluster template requires.
const NETWORK: &str =
    "[provisioner.parameters]\nVpcId = \"vpc-0abc\"\nSubnetIds = \"subnet-0abc,subnet-0def\"\n";

#[tokio::test]
async fn serve_without_a_vpc_for_the_bundled_template_stops_with_exit_code_2() {
    let file = config_file(&format!(
        "{GITHUB}[provisioner.parameters]\nSubnetIds = \"subnet-0abc\"\n"
    ));
    let data = tempfile::TempDir::new().unwrap();
    let serve = tokio::process::Command::new(BINARY)
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(file.path())
        .arg("--data-dir")
        .arg(data.path())
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary runs");
    // A server that started anyway would run until killed: that is the failure.
    let output = tokio::time::timeout(Duration::from_secs(30), serve.wait_with_output())
        .await
        .expect("serve stops at start-up")
        .expect("exit status");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_one_line_error(&stderr, "provisioner.parameters");
    assert!(stderr.contains("VpcId"), "{stderr}");
    assert!(
        !stderr.contains("SubnetIds"),
        "only what is missing: {stderr}"
    );

    let (code, _, check_stderr) = check(
        &format!("{GITHUB}[provisioner.parameters]\nSubnetIds = \"subnet-0abc\"\n"),
        &[],
    );
    assert_eq!(code, 2);
    assert_eq!(check_stderr, stderr, "config check says the same");
}

#[test]
fn config_check_names_missing_subnets_of_the_bundled_template() {
    let (code, _, stderr) = check(
        &format!("{GITHUB}[provisioner.parameters]\nVpcId = \"vpc-0abc\"\n"),
        &[],
    );
    assert_eq!(code, 2);
    assert_one_line_error(&stderr, "provisioner.parameters");
    assert!(stderr.contains("SubnetIds"), "{stderr}");
    assert!(!stderr.contains("VpcId"), "only what is missing: {stderr}");
}

#[test]
fn config_check_names_a_parameter_an_operator_template_requires() {
    let template = config_file(
        "Parameters:\n  Cluster:\n    Type: String\n  KeyName:\n    Type: AWS::EC2::KeyPair::KeyName\n  \
         Size:\n    Type: Number\n    Default: 2\nConditions:\n  Big: !Equals [!Ref Size, 4]\n\
         Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      \
         TopicName: !Sub \"${Cluster}-${KeyName}\"\n",
    );
    let operator = format!(
        "{GITHUB}[provisioner]\ntemplate_file = \"{}\"\n",
        template.path().display()
    );
    let (code, _, stderr) = check(&operator, &[]);
    assert_eq!(code, 2);
    assert_one_line_error(&stderr, "provisioner.parameters");
    assert!(stderr.contains("KeyName"), "{stderr}");
    assert!(
        stderr.contains(&template.path().display().to_string()),
        "names the template: {stderr}"
    );

    let (code, _, stderr) = check(
        &format!("{operator}[provisioner.parameters]\nKeyName = \"ops\"\n"),
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_parameter_the_template_does_not_declare_is_refused() {
    let (code, _, stderr) = check(&format!("{GITHUB}{NETWORK}KeyNmae = \"ops\"\n"), &[]);
    assert_eq!(code, 2);
    assert_one_line_error(&stderr, "provisioner.parameters");
    assert!(stderr.contains("KeyNmae"), "{stderr}");
}

#[test]
fn a_complete_cloudformation_configuration_passes_config_check() {
    let (code, stdout, stderr) = check(&format!("{GITHUB}{NETWORK}"), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("VpcId = \"vpc-0abc\""), "{stdout}");
}

#[test]
fn the_simulated_cloud_needs_no_template_parameters() {
    let (code, _, stderr) = check(
        &format!("{GITHUB}[provisioner]\ncloud = \"simulated\"\n"),
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
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

/// A serve-mode configuration on `data` with the simulated cloud.
fn serve_config(data: &std::path::Path) -> NamedTempFile {
    config_file(&format!(
        r#"
data_dir = "{}"
[github]
client_id = "Iv1.abc"
client_secret = "shh"
[provisioner]
cloud = "simulated"
"#,
        data.display()
    ))
}

#[test]
fn serve_refuses_a_missing_store_naming_store_migrate_which_is_idempotent() {
    let data = tempfile::TempDir::new().unwrap();
    let config = serve_config(data.path());
    let serve = Command::new(BINARY)
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(config.path())
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert_eq!(serve.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("there is no store at"), "{stderr}");
    assert!(
        stderr.contains("run `sliderule-backend store migrate --config FILE` first"),
        "{stderr}"
    );
    assert!(
        !data.path().join("state.db").exists(),
        "nothing was created"
    );

    let migrate = |expected: &str| {
        let output = Command::new(BINARY)
            .args(["store", "migrate", "--config"])
            .arg(config.path())
            .output()
            .expect("store migrate runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains(expected), "{stdout}");
    };
    migrate("schema version 0 -> ");
    migrate(", up to date");
}

#[test]
fn store_migrate_reads_only_the_stores_settings_and_still_refuses_a_bad_one() {
    let data = tempfile::TempDir::new().unwrap();
    // No GitHub settings, and the CloudFormation driver without its parameters: the service
    // would refuse this configuration, and `store migrate` needs none of it.
    let text = format!("data_dir = \"{}\"\n", data.path().display());
    let (code, _, stderr) = check(&text, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_one_line_error(&stderr, "github.client_id");
    let migrate = |config: &NamedTempFile| {
        Command::new(BINARY)
            .args(["store", "migrate", "--config"])
            .arg(config.path())
            .env_clear()
            .output()
            .expect("store migrate runs")
    };
    let output = migrate(&config_file(&text));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("schema version 0 -> "), "{stdout}");
    assert!(data.path().join("state.db").exists());

    let output = migrate(&config_file(&format!(
        "{text}[store]\nurl = \"postgres://db\"\n"
    )));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_one_line_error(&stderr, "store.url");
}

#[test]
fn serve_refuses_an_older_schema() {
    let data = tempfile::TempDir::new().unwrap();
    // A store of an older release: its schema version is behind this binary's.
    let path = data.path().join("state.db");
    sliderule_backend::store::SqliteStore::migrate(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 3).unwrap();
    drop(conn);
    let output = Command::new(BINARY)
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(serve_config(data.path()).path())
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has schema version 3, and this release needs"),
        "{stderr}"
    );
}

/// The serve configuration with its store on the DynamoDB table `table` of `moto`.
fn dynamodb_serve_config(
    data: &std::path::Path,
    moto: &crate::moto::MotoServer,
    table: &str,
) -> NamedTempFile {
    config_file(&format!(
        r#"
data_dir = "{}"
[github]
client_id = "Iv1.abc"
client_secret = "shh"
[provisioner]
cloud = "simulated"
[store]
url = "dynamodb://{table}"
[aws]
region = "{}"
endpoint_url = "{}"
"#,
        data.display(),
        crate::moto::REGION,
        moto.endpoint
    ))
}

/// The binary with moto's fake credentials and nothing else of the developer's AWS setup.
fn with_moto_credentials(command: &mut Command) -> &mut Command {
    command
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
}

#[tokio::test]
async fn serve_refuses_a_missing_dynamodb_table_and_store_migrate_creates_it_once() {
    let moto = crate::moto::MotoServer::start().await;
    let data = tempfile::TempDir::new().unwrap();
    let config = dynamodb_serve_config(data.path(), &moto, "sliderule-cli");
    let serve = with_moto_credentials(Command::new(BINARY).args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--config",
    ]))
    .arg(config.path())
    .output()
    .expect("serve runs");
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert_eq!(serve.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("there is no DynamoDB table sliderule-cli"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run `sliderule-backend store migrate --config FILE` first"),
        "{stderr}"
    );

    let migrate = |expected: &str| {
        let output =
            with_moto_credentials(Command::new(BINARY).args(["store", "migrate", "--config"]))
                .arg(config.path())
                .output()
                .expect("store migrate runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains(expected), "{stdout}");
    };
    migrate("store dynamodb://sliderule-cli: schema version 0 -> ");
    migrate("store dynamodb://sliderule-cli: schema version 1, up to date");
}

#[test]
fn a_store_url_of_another_kind_is_refused_naming_the_accepted_forms() {
    let (code, _, stderr) = check(
        "[github]\nclient_id = \"a\"\nclient_secret = \"b\"\n[store]\nurl = \"postgres://db\"\n",
        &["--demo"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_one_line_error(&stderr, "store.url");
    assert!(stderr.contains("\"postgres://db\""), "{stderr}");
    assert!(
        stderr.contains("sqlite:///path/to/state.db or dynamodb://TABLE_NAME"),
        "{stderr}"
    );
}
