//! `store_http`: the same requests on the two stores, side by side in one run: PAT login and
//! `/provisioner/status` latency on SQLite and on DynamoDB (moto's), and the number of DynamoDB
//! calls each request makes.
//!
//! The backend runs in this process in demo mode (simulated cloud without delays, the in-process
//! GitHub emulator, a local signing key), once per store. DynamoDB is reached through a small
//! counting proxy in front of `moto_server`, which tallies requests by `X-Amz-Target` (the
//! operation), so the calls per request are counted on the wire, not estimated. Requests are sent
//! one at a time (a closed loop with one connection): what is measured is each request's latency.
//!
//! `cargo run --release -p sliderule-bench --bin store_http -- --help`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use reqwest::StatusCode;
use sliderule_backend::config::{self, ConfigSources, Mode};
use sliderule_backend::server::Application;
use sliderule_bench::{load_average, millis};

// The API tests' moto harness, shared rather than copied.
#[path = "../../../crates/backend/tests/api/moto.rs"]
#[allow(dead_code)]
mod moto;

#[derive(Debug, Parser)]
#[command(
    about = "PAT login and /status on SQLite and on DynamoDB (moto), with DynamoDB calls counted"
)]
struct Args {
    /// PAT logins timed per store
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// Status requests timed per store
    #[arg(long, default_value_t = 500)]
    statuses: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    sliderule_bench::run_async(run(&args))
}

#[derive(Clone, Copy, Debug)]
enum Store {
    Sqlite,
    DynamoDb,
}

struct Figures {
    login: Vec<Duration>,
    status: Vec<Duration>,
    calls_per_login: BTreeMap<String, f64>,
    calls_per_status: BTreeMap<String, f64>,
}

fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn per_request(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    requests: usize,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .filter_map(|(op, n)| {
            let delta = n - before.get(op).copied().unwrap_or(0);
            (delta > 0).then(|| (op.clone(), delta as f64 / requests as f64))
        })
        .collect()
}

fn calls_text(calls: &BTreeMap<String, f64>) -> String {
    if calls.is_empty() {
        return "0".to_owned();
    }
    let total: f64 = calls.values().sum();
    let parts: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {n:.2}")).collect();
    format!("{total:.2} ({})", parts.join(", "))
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let moto = moto::MotoServer::start().await;
    let proxy = moto.proxy(Vec::new()).await;
    let sdk = moto.sdk_config_through(&proxy).await;

    println!("# store_http, load average {}", load_average());
    println!(
        "\n{} PAT logins and {} `/provisioner/status` per store, one at a time; DynamoDB on moto \
         through a counting proxy.\n",
        args.logins, args.statuses
    );
    println!(
        "| store | PAT login p50 ms | p99 ms | DynamoDB calls per login | status p50 ms | p99 ms | DynamoDB calls per status |"
    );
    println!("|---|---:|---:|---|---:|---:|---|");
    for store in [Store::Sqlite, Store::DynamoDb] {
        let figures = measure(args, store, &sdk, &proxy).await?;
        println!(
            "| {store:?} | {} | {} | {} | {} | {} | {} |",
            millis(quantile(&figures.login, 0.5)),
            millis(quantile(&figures.login, 0.99)),
            calls_text(&figures.calls_per_login),
            millis(quantile(&figures.status, 0.5)),
            millis(quantile(&figures.status, 0.99)),
            calls_text(&figures.calls_per_status),
        );
    }
    Ok(())
}

async fn measure(
    args: &Args,
    store: Store,
    sdk: &aws_config::SdkConfig,
    proxy: &moto::MotoProxy,
) -> anyhow::Result<Figures> {
    let dir = tempfile::Builder::new()
        .prefix("sliderule-bench-")
        .tempdir()?;
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist)?;
    let mut flags = vec![
        ("bind", toml::Value::String("127.0.0.1:0".into())),
        (
            "data_dir",
            toml::Value::String(dir.path().join("data").display().to_string()),
        ),
        (
            "web.dist_dir",
            toml::Value::String(dist.display().to_string()),
        ),
        ("demo.cloud_delay_secs", toml::Value::Float(0.0)),
        // One address makes every login: the per-address limit is not what is measured.
        (
            "authenticator.rate_limit_burst",
            toml::Value::Integer(1_000_000),
        ),
        (
            "authenticator.rate_limit_per_sec",
            toml::Value::Integer(1_000_000),
        ),
    ];
    if let Store::DynamoDb = store {
        flags.push((
            "store.url",
            toml::Value::String("dynamodb://sliderule-bench".into()),
        ));
    }
    let config = config::load(
        Mode::Demo,
        ConfigSources {
            flags,
            ..Default::default()
        },
    )
    .context("configuration")?;
    let overrides = sliderule_backend::app::Overrides {
        aws: Some(sdk.clone()),
        ..Default::default()
    };
    let app = Application::build_with(config, overrides).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    let login = || async {
        let answer = http
            .post(format!("{base}/auth/github/pat"))
            .json(&serde_json::json!({ "pat": "demo-pat-bob" }))
            .send()
            .await?;
        if answer.status() != StatusCode::OK {
            bail!("PAT login answered {}", answer.status());
        }
        let body: serde_json::Value = answer.json().await?;
        Ok::<String, anyhow::Error>(body["token"].as_str().unwrap_or_default().to_owned())
    };
    // Warm up: connections, the emulator, the first key use.
    let token = login().await?;
    let before = proxy.calls();
    let mut logins = Vec::with_capacity(args.logins);
    for _ in 0..args.logins {
        let started = Instant::now();
        login().await?;
        logins.push(started.elapsed());
    }
    let calls_per_login = per_request(&before, &proxy.calls(), args.logins);

    let deploy = http
        .post(format!("{base}/provisioner/deploy"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "cluster": "bob", "node_capacity": 1, "ttl": 60 }))
        .send()
        .await?;
    if deploy.status() != StatusCode::OK {
        bail!("deploy answered {}", deploy.status());
    }
    let status = || async {
        let answer = http
            .post(format!("{base}/provisioner/status"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "cluster": "bob" }))
            .send()
            .await?;
        if answer.status() != StatusCode::OK {
            bail!("status answered {}", answer.status());
        }
        answer.bytes().await?;
        Ok::<(), anyhow::Error>(())
    };
    status().await?;
    let before = proxy.calls();
    let mut statuses = Vec::with_capacity(args.statuses);
    for _ in 0..args.statuses {
        let started = Instant::now();
        status().await?;
        statuses.push(started.elapsed());
    }
    let calls_per_status = per_request(&before, &proxy.calls(), args.statuses);

    let _ = stop.send(());
    let _ = server.await;
    Ok(Figures {
        login: logins,
        status: statuses,
        calls_per_login,
        calls_per_status,
    })
}
