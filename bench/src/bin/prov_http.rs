//! `prov_http`: the provisioner's own overhead, on the simulated cloud (which answers from the
//! store, so what is measured is our code: token verification, the store, the status body).
//!
//! - `status`: `POST /provisioner/status {"cluster":"bob"}` for a running cluster, under the
//!   closed-loop generator of `sliderule_bench::load`, at several connection counts.
//! - `report`: `/provisioner/report/clusters` as an owner with `--clusters` clusters recorded
//!   (default 1,000, deployed through the API first), timed one request at a time.
//!
//! With `--cloud moto` the status scenario runs against the CloudFormation driver on a
//! `moto_server` this program starts (the same harness as the API tests), so each status also
//! pays for `DescribeStacks`, `DescribeStackResource` and `DescribeAutoScalingGroups` round trips.
//!
//! The backend runs in this process (demo mode, simulated cloud with no step delay, no log
//! subscriber) on the same Tokio runtime as the load generator. Tokens are minted by the
//! backend's own code, as a sign-in would.
//!
//! `cargo run --release -p sliderule-bench --bin prov_http -- --help` lists the options.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use http::StatusCode;
use sliderule_backend::authenticator::grant::{Flow, GitHubIdentity};
use sliderule_backend::authenticator::session::Session;
use sliderule_backend::clock::{Clock, SystemClock};
use sliderule_backend::config::{self, ConfigSources, Mode};
use sliderule_backend::github::Membership;
use sliderule_backend::server::Application;
use sliderule_bench::load::{self, Call, ClientKind, Plan, Script};
use sliderule_bench::{load_average, millis};

// The API tests' moto harness, shared rather than copied.
#[path = "../../../crates/backend/tests/api/moto.rs"]
#[allow(dead_code)]
mod moto;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CloudChoice {
    /// The simulated driver (our own overhead only).
    Simulated,
    /// The CloudFormation driver on moto.
    Moto,
}
use sliderule_protocol::Scopes;

#[derive(Debug, Parser)]
#[command(about = "The provisioner's overhead on the simulated cloud")]
struct Args {
    /// Connection counts of the status scenario
    #[arg(short = 'c', long, value_delimiter = ',', default_values_t = [1usize, 16, 64])]
    connections: Vec<usize>,
    /// Seconds measured per status run (after the warm-up)
    #[arg(short = 'd', long, default_value_t = 5)]
    duration: u64,
    /// Warm-up seconds per status run
    #[arg(short = 'w', long, default_value_t = 1)]
    warmup: u64,
    /// Clusters recorded for the report
    #[arg(long, default_value_t = 1000)]
    clusters: usize,
    /// Report requests timed
    #[arg(long, default_value_t = 30)]
    report_requests: usize,
    /// Which cloud the provisioner drives
    #[arg(long, value_enum, default_value_t = CloudChoice::Simulated)]
    cloud: CloudChoice,
}

struct Status {
    token: Arc<str>,
}

impl Script for Status {
    fn next_call(&mut self) -> Call {
        Call::post_json("/provisioner/status", r#"{"cluster":"bob"}"#).bearer(self.token.clone())
    }

    fn check(&mut self, answer: Option<(StatusCode, &[u8])>) -> Result<(), String> {
        match answer {
            Some((StatusCode::OK, body)) if body.starts_with(br#"{"status":true"#) => Ok(()),
            Some((status, body)) => Err(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(120)])
            )),
            None => Err("no answer".into()),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    sliderule_bench::run_async(run(&args))
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("sliderule-bench-")
        .tempdir()?;
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist)?;
    let flags = vec![
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
    let (cloud, _moto) = match args.cloud {
        CloudChoice::Simulated => (None, None),
        CloudChoice::Moto => {
            let (cloud, moto) = moto_cloud().await?;
            (Some(cloud), Some(moto))
        }
    };
    let overrides = sliderule_backend::app::Overrides {
        clock: Some(clock.clone()),
        cloud,
        ..Default::default()
    };
    let app = Application::build_with(config, overrides).await?;
    let addr = app.local_addr();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let mint = |login: &str, membership, scopes| -> anyhow::Result<Arc<str>> {
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
        Ok(Arc::from(token))
    };
    let bob = mint("bob", Membership::Member, Scopes::MEMBER)?;
    let alice = mint("alice", Membership::Admin, Scopes::ALL)?;
    let http = reqwest::Client::new();
    let base = format!("http://{addr}/provisioner");
    deploy(&http, &base, &bob, "bob").await?;

    println!("# prov_http, load average {}", load_average());
    println!(
        "\n## status ({:?} cloud, one running cluster)\n",
        args.cloud
    );
    println!("| conns | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &connections in &args.connections {
        let plan = Plan {
            connections,
            warmup: Duration::from_secs(args.warmup),
            duration: Duration::from_secs(args.duration),
            max_requests: u64::MAX,
            client: ClientKind::Hyper,
        };
        let outcome = load::run(addr, &plan, |_| Status { token: bob.clone() }).await?;
        println!(
            "| {connections} | {:.0} | {} | {} | {} | {} | {} |",
            outcome.rate(),
            millis(outcome.quantile(0.5)),
            millis(outcome.quantile(0.9)),
            millis(outcome.quantile(0.99)),
            millis(outcome.max()),
            outcome.errors
        );
        for sample in &outcome.error_samples {
            println!("  error: {sample}");
        }
    }

    if args.clusters == 0 {
        let _ = stop.send(());
        let _ = server.await;
        return Ok(());
    }
    let seeded = Instant::now();
    for i in 0..args.clusters {
        deploy(&http, &base, &alice, &format!("c{i:04}")).await?;
    }
    println!(
        "\n## report/clusters with {} clusters (+ bob), seeded in {:.1} s\n",
        args.clusters,
        seeded.elapsed().as_secs_f64()
    );
    let mut times = Vec::with_capacity(args.report_requests);
    let mut size = 0;
    for _ in 0..args.report_requests {
        let started = Instant::now();
        let response = http
            .post(format!("{base}/report/clusters"))
            .bearer_auth(&*alice)
            .body("{}")
            .send()
            .await?;
        if response.status() != StatusCode::OK {
            bail!("report answered {}", response.status());
        }
        size = response.bytes().await?.len();
        times.push(started.elapsed());
    }
    times.sort();
    let pick = |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    println!("| requests | body bytes | p50 ms | p90 ms | max ms |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {size} | {} | {} | {} |",
        times.len(),
        millis(pick(0.5)),
        millis(pick(0.9)),
        millis(times[times.len() - 1])
    );

    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}

async fn deploy(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    cluster: &str,
) -> anyhow::Result<()> {
    let response = http
        .post(format!("{base}/deploy"))
        .bearer_auth(token)
        .body(format!(
            r#"{{"cluster":"{cluster}","node_capacity":1,"ttl":60}}"#
        ))
        .send()
        .await?;
    if response.status() != StatusCode::OK {
        bail!(
            "deploy {cluster} answered {}: {}",
            response.status(),
            response.text().await?
        );
    }
    Ok(())
}

/// The CloudFormation driver on a fresh moto, as the API tests build it.
async fn moto_cloud() -> anyhow::Result<(Arc<dyn sliderule_backend::cloud::Cloud>, moto::MotoServer)>
{
    use sliderule_backend::cloud::cloudformation::{
        BUNDLED_TEMPLATE, CloudFormationCloud, CloudFormationSettings,
    };
    let moto = moto::MotoServer::start().await;
    moto.create_hosted_zone("sliderule.test").await;
    let (vpc, subnets) = moto.default_network().await;
    let settings = CloudFormationSettings {
        deployment: "bench".into(),
        domain: Some("sliderule.test".into()),
        jwt_issuer: "https://login.sliderule.test".into(),
        template_body: BUNDLED_TEMPLATE.into(),
        parameters: std::collections::BTreeMap::from([
            ("VpcId".to_owned(), vpc),
            ("SubnetIds".to_owned(), subnets.join(",")),
        ]),
        project_bucket: None,
    };
    let cloud = CloudFormationCloud::from_sdk_config(&moto.sdk_config().await, settings)
        .map_err(|e| anyhow::anyhow!("the CloudFormation driver: {e}"))?;
    Ok((Arc::new(cloud), moto))
}
