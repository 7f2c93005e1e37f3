//! `organizations`: what pooled capacity costs (organizations.md), measured in-process on the
//! simulated cloud with no step delay, SQLite in a temporary directory.
//!
//! - **Request to re-evaluated target**: `Provisioner::request_capacity` on the demo's `icesat2`,
//!   from the call to the target applied (recorded, and the stack created or updated). The users
//!   alternate sizes, so nearly every request changes the target and updates the stack.
//! - **Pooled re-evaluation with many live requests** (`--live`, default 1,000 users with one
//!   request each): `Provisioner::reevaluate` (lease, read every live request, the target, the
//!   record and the stack, apply) and, alone, reading the requests and computing the target.
//!
//! `cargo run --release -p sliderule-bench --bin organizations -- --help`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use sliderule_backend::app::AppState;
use sliderule_backend::clock::{Clock, SystemClock};
use sliderule_backend::config::{self, ConfigSources, Mode};
use sliderule_backend::provisioner::capacity::target_of;
use sliderule_backend::server::Application;
use sliderule_backend::store::NewCapacity;
use sliderule_bench::{load_average, millis};
use sliderule_protocol::{ClusterName, Ttl};

#[derive(Debug, Parser)]
#[command(
    about = "Pooled capacity requests: request-to-target latency, and re-evaluation with many live requests"
)]
struct Args {
    /// Requests timed
    #[arg(short = 'n', long, default_value_t = 500)]
    requests: usize,
    /// Live requests on one organization for the re-evaluation
    #[arg(long, default_value_t = 1000)]
    live: usize,
    /// Re-evaluations timed
    #[arg(long, default_value_t = 200)]
    evaluations: usize,
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
            eprintln!("organizations: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn start(
    dir: &std::path::Path,
) -> anyhow::Result<(AppState, tokio::sync::oneshot::Sender<()>)> {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist)?;
    let path = |p: &std::path::Path| toml::Value::String(p.display().to_string());
    let flags = vec![
        ("bind", toml::Value::String("127.0.0.1:0".into())),
        ("data_dir", path(&dir.join("data"))),
        ("web.dist_dir", path(&dist)),
        ("demo.cloud_delay_secs", toml::Value::Float(0.0)),
        ("budgets.enabled", toml::Value::Boolean(false)),
        // The sweeps are not what is measured: keep the background loops quiet.
        (
            "provisioner.reaper_period_secs",
            toml::Value::Integer(86_400),
        ),
        (
            "provisioner.destroy_poll_secs",
            toml::Value::Integer(86_400),
        ),
        (
            "provisioner.reconcile_period_secs",
            toml::Value::Integer(86_400),
        ),
        // Room for the pooled target of many users.
        ("authenticator.owner_max_nodes", toml::Value::Integer(1000)),
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
        clock: Some(clock),
        ..Default::default()
    };
    let app = Application::build_with(config, overrides).await?;
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Ok((state, stop))
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    println!(
        "| {what} | {} | {} | {} | {} | {} |",
        times.len(),
        millis(quantile(times, 0.5)),
        millis(quantile(times, 0.9)),
        millis(quantile(times, 0.99)),
        millis(times[times.len() - 1])
    );
}

async fn run(args: &Args) -> anyhow::Result<()> {
    println!("# organizations, load average {}", load_average());
    println!("\n| measurement | n | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");

    // Request → target, on the demo's icesat2 (0 to 6 nodes).
    let dir = tempfile::Builder::new()
        .prefix("sliderule-bench-")
        .tempdir()?;
    let (state, stop) = start(dir.path()).await?;
    let provisioner = &state.provisioner;
    let name = ClusterName::parse("icesat2")?;
    let org = provisioner.existing(&name).await?;
    let ttl = Ttl::from_minutes(60);
    for i in 0..20 {
        provisioner
            .request_capacity(&org, "warm", 1 + (i % 2), ttl, true)
            .await?;
    }
    let mut times = Vec::with_capacity(args.requests);
    for i in 0..args.requests {
        let user = if i % 2 == 0 { "bob" } else { "erin" };
        let nodes = 1 + u32::try_from(i % 3).unwrap_or(0);
        let started = Instant::now();
        let (_, evaluation) = provisioner
            .request_capacity(&org, user, nodes, ttl, true)
            .await?;
        times.push(started.elapsed());
        anyhow::ensure!(evaluation.target > 0, "a request left the target at 0");
    }
    report("request to re-evaluated target (icesat2)", &mut times);
    let _ = stop.send(());

    // Many live requests on one organization.
    let dir = tempfile::Builder::new()
        .prefix("sliderule-bench-")
        .tempdir()?;
    let (state, stop) = start(dir.path()).await?;
    let provisioner = &state.provisioner;
    let alice_caller = state
        .store
        .organization("icesat2")
        .await?
        .context("icesat2")?;
    let mut big = alice_caller.clone();
    big.max_nodes = 1000;
    state
        .store
        .update_organization(&big)
        .await?
        .context("icesat2's bounds")?;
    let now = state.clock.now();
    let seeded = Instant::now();
    for i in 0..args.live {
        state
            .store
            .add_capacity_request(
                &NewCapacity {
                    organization: "icesat2".into(),
                    user: format!("user{i:05}"),
                    nodes: 1 + u32::try_from(i % 2).unwrap_or(0),
                    expires_at: now + Duration::from_secs(2 * 3600),
                    replace: false,
                },
                now,
            )
            .await?;
    }
    let seeded = seeded.elapsed();
    let first = provisioner.reevaluate(&name, "bench").await?;
    let mut times = Vec::with_capacity(args.evaluations);
    let mut target = 0;
    for _ in 0..args.evaluations {
        let started = Instant::now();
        target = provisioner.reevaluate(&name, "bench").await?.target;
        times.push(started.elapsed());
    }
    report(
        &format!("re-evaluation, {} live requests", args.live),
        &mut times,
    );
    let org = state
        .store
        .organization("icesat2")
        .await?
        .context("icesat2")?;
    let mut times = Vec::with_capacity(args.evaluations);
    for _ in 0..args.evaluations {
        let started = Instant::now();
        let requests = state
            .store
            .capacity_requests("icesat2", state.clock.now())
            .await?;
        std::hint::black_box(target_of(&org, &requests));
        times.push(started.elapsed());
    }
    report(
        &format!("read {} requests and pool them", args.live),
        &mut times,
    );
    println!(
        "\n{} requests seeded in {:.2} s; target {} (first evaluation: {:?})",
        args.live,
        seeded.as_secs_f64(),
        target,
        first.change
    );
    let _ = stop.send(());
    Ok(())
}
