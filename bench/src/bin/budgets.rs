//! `budgets`: what budgets cost the provisioner, measured side by side.
//!
//! - `/deploy` latency with budgets off and on (the funds check, and the charge that closes the
//!   interval on every record change), on the simulated cloud with no step delay: `redeploy`
//!   (bob deploys his running cluster again, which only moves its deadline) and `create` (new
//!   clusters, each with a stack and, with budgets on, a new account).
//! - The budget sweep's duration with `--clusters` live clusters (default 1,000), each charged
//!   in its own transaction.
//!
//! The backend runs in this process (demo mode, no log subscriber); requests go over loopback,
//! one at a time. `cargo run --release -p sliderule-bench --bin budgets -- --help`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use http::StatusCode;
use sliderule_backend::app::AppState;
use sliderule_backend::authenticator::grant::{Flow, GitHubIdentity};
use sliderule_backend::authenticator::session::Session;
use sliderule_backend::clock::{Clock, SystemClock};
use sliderule_backend::config::{self, ConfigSources, Mode};
use sliderule_backend::github::Membership;
use sliderule_backend::server::Application;
use sliderule_bench::{load_average, millis};
use sliderule_protocol::Scopes;

#[derive(Debug, Parser)]
#[command(about = "Budgets' cost on /deploy, and the budget sweep with many clusters")]
struct Args {
    /// Deploys timed per scenario and setting
    #[arg(short = 'n', long, default_value_t = 500)]
    requests: usize,
    /// Live clusters for the sweep
    #[arg(long, default_value_t = 1000)]
    clusters: usize,
    /// Sweeps timed
    #[arg(long, default_value_t = 5)]
    sweeps: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("budgets: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A running backend with budgets on or off, and its owner's and bob's tokens.
struct Backend {
    state: AppState,
    base: String,
    alice: String,
    bob: String,
    stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start(budgets: bool) -> anyhow::Result<Backend> {
    let dir = tempfile::Builder::new()
        .prefix("sliderule-bench-")
        .tempdir()?;
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist)?;
    let path = |p: &std::path::Path| toml::Value::String(p.display().to_string());
    let flags = vec![
        ("bind", toml::Value::String("127.0.0.1:0".into())),
        ("data_dir", path(&dir.path().join("data"))),
        ("web.dist_dir", path(&dist)),
        ("demo.cloud_delay_secs", toml::Value::Float(0.0)),
        ("budgets.enabled", toml::Value::Boolean(budgets)),
        // The sweep is timed by hand, never by the background loop.
        ("budgets.charge_period_secs", toml::Value::Integer(86_400)),
        // Room for a thousand clusters.
        ("budgets.initial_balance", toml::Value::Integer(1_000_000)),
    ];
    let config = config::load(
        Mode::Demo,
        ConfigSources {
            flags,
            ..Default::default()
        },
    )
    .context("configuration")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let overrides = sliderule_backend::app::Overrides {
        clock: Some(clock.clone()),
        ..Default::default()
    };
    let app = Application::build_with(config, overrides).await?;
    let addr = app.local_addr();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let mint = |login: &str, membership, scopes| -> anyhow::Result<String> {
        let identity = GitHubIdentity {
            login: login.to_owned(),
            github_id: 1,
            membership,
            teams: Vec::new(),
        };
        let session = Session::new(identity, scopes, Flow::Device);
        let (token, _) = state
            .authenticator
            .mint_with(
                &state.keys.current(),
                &session,
                &Default::default(),
                clock.now(),
            )
            .map_err(|e| anyhow::anyhow!("minting a token: {e}"))?;
        Ok(token)
    };
    Ok(Backend {
        base: format!("http://{addr}/provisioner"),
        alice: mint("alice", Membership::Admin, Scopes::ALL)?,
        bob: mint("bob", Membership::Member, Scopes::MEMBER)?,
        state,
        stop,
        _dir: dir,
    })
}

async fn deploy(
    http: &reqwest::Client,
    backend: &Backend,
    token: &str,
    cluster: &str,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = http
        .post(format!("{}/deploy", backend.base))
        .bearer_auth(token)
        .body(format!(
            r#"{{"cluster":"{cluster}","node_capacity":3,"ttl":60}}"#
        ))
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    let took = started.elapsed();
    if status != StatusCode::OK {
        bail!(
            "deploy {cluster} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(took)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    println!("# budgets, load average {}", load_average());
    println!("\n## /deploy, {} requests one at a time\n", args.requests);
    println!("| scenario | budgets | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---:|---:|---:|---:|");
    for budgets in [false, true] {
        let backend = start(budgets).await?;
        let setting = if budgets { "on" } else { "off" };
        deploy(&http, &backend, &backend.bob, "bob").await?;
        // Warm-up, then the timed redeploys.
        for _ in 0..20 {
            deploy(&http, &backend, &backend.bob, "bob").await?;
        }
        let mut times = Vec::with_capacity(args.requests);
        for _ in 0..args.requests {
            times.push(deploy(&http, &backend, &backend.bob, "bob").await?);
        }
        report("redeploy", setting, &mut times);
        let mut times = Vec::with_capacity(args.requests);
        for i in 0..args.requests {
            times.push(deploy(&http, &backend, &backend.alice, &format!("n{i:05}")).await?);
        }
        report("create", setting, &mut times);
        let _ = backend.stop.send(());
    }

    let backend = start(true).await?;
    let seeded = Instant::now();
    for i in 0..args.clusters {
        deploy(&http, &backend, &backend.alice, &format!("c{i:05}")).await?;
    }
    println!(
        "\n## budget sweep with {} live clusters (seeded in {:.1} s)\n",
        args.clusters,
        seeded.elapsed().as_secs_f64()
    );
    println!("| sweep | clusters charged | ms |");
    println!("|---:|---:|---:|");
    for sweep in 1..=args.sweeps {
        // A second passes, so every cluster has something to pay.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let started = Instant::now();
        let outcome = backend.state.provisioner.sweep_budgets().await?;
        let took = started.elapsed();
        println!("| {sweep} | {} | {} |", outcome.charged, millis(took));
    }
    let _ = backend.stop.send(());
    Ok(())
}

fn report(scenario: &str, setting: &str, times: &mut [Duration]) {
    times.sort();
    println!(
        "| {scenario} | {setting} | {} | {} | {} | {} |",
        millis(quantile(times, 0.5)),
        millis(quantile(times, 0.9)),
        millis(quantile(times, 0.99)),
        millis(times[times.len() - 1])
    );
}
