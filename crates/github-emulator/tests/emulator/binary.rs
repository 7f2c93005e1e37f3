//! The `github-emulator` binary: seed file, `listening on` line, refusal of bad seeds.

use std::io::Write;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const SEED: &str = r#"
org = "ExampleOrg"
client_id = "bin-client"
[[users]]
login = "zoe"
id = 42
membership = "admin"
teams = ["ops"]
pats = ["pat-zoe"]
"#;

fn seed_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write seed");
    file
}

#[tokio::test]
async fn the_binary_prints_its_address_and_serves_the_seed() {
    let seed = seed_file(SEED);
    let mut child = Command::new(env!("CARGO_BIN_EXE_github-emulator"))
        .args(["--bind", "127.0.0.1:0", "--seed"])
        .arg(seed.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .next_line()
        .await
        .expect("read")
        .expect("a line");
    let url = line
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let membership: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/orgs/ExampleOrg/memberships/zoe"))
        .header("Authorization", "token pat-zoe")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(membership["role"], "admin");
    child.kill().await.expect("stop the binary");
}

#[tokio::test]
async fn the_binary_refuses_a_seed_with_an_unknown_key() {
    let seed = seed_file("org = \"X\"\norganisation = \"Y\"\n");
    let output = Command::new(env!("CARGO_BIN_EXE_github-emulator"))
        .args(["--bind", "127.0.0.1:0", "--seed"])
        .arg(seed.path())
        .output()
        .await
        .expect("binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("organisation"), "{stderr}");
}
