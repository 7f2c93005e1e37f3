//! `auth_http`: the authenticator's HTTP endpoints under load, on loopback.
//!
//! Starts the GitHub emulator (no added latency) and the backend in serve mode against it, with
//! the sign-in rate limits lifted, then for each scenario and each connection count runs the
//! closed-loop generator of `sliderule_bench::load` and prints requests per second, latency
//! percentiles and who used the CPU:
//!
//! - `pat`: `POST /auth/github/pat {"pat":"demo-pat-…"}`, the PATs of the demo members in turn.
//!   End to end: the backend asks the emulator `GET /user` each time (membership and teams come
//!   from its five-minute cache after the first login of each user), signs an RS256 token and
//!   stores a new refresh-token family in SQLite.
//! - `jwks`: `GET /.well-known/jwks.json`.
//! - `refresh`: `POST /auth/refresh {"refresh_token":…}`. Before the clock starts, the
//!   connections sign in `--refresh-families` times by PAT between them; then each refreshes its
//!   families in turn, every refresh presenting the token the family's previous refresh returned,
//!   so no token is ever used twice.
//!
//! `cargo run --release -p sliderule-bench --bin auth_http -- --help` lists the options;
//! `bench/run.sh` builds the servers too and runs everything.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use http::StatusCode;
use hyper::body::Bytes;
use sliderule_bench::load::{self, Call, ClientKind, Outcome, Plan, Script};
use sliderule_bench::servers::{CpuReading, Placement, ServerOptions, Servers};
use sliderule_bench::{LOADGEN_THREAD, cpu, millis};
use sliderule_protocol::authenticator::paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    Pat,
    Jwks,
    Refresh,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Pat => "pat",
            Scenario::Jwks => "jwks",
            Scenario::Refresh => "refresh",
        }
    }

    /// Connection counts when none are given: from one (unloaded latency) to well past the
    /// point where two cores are saturated.
    fn default_connections(self) -> &'static [usize] {
        match self {
            Scenario::Pat | Scenario::Refresh => &[1, 4, 16, 64],
            Scenario::Jwks => &[1, 16, 64, 256],
        }
    }
}

/// The authenticator's HTTP endpoints under load (see the module documentation).
#[derive(Debug, Parser)]
#[command(name = "auth_http")]
struct Args {
    /// Scenarios to run, in order [default: pat jwks refresh]
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// Concurrent keep-alive connections, comma-separated; each runs as its own measurement
    /// [default: 1,4,16,64 for pat and refresh; 1,16,64,256 for jwks]
    #[arg(short, long, value_delimiter = ',')]
    connections: Option<Vec<usize>>,
    /// Seconds measured per connection count
    #[arg(short, long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds of load before measuring (not counted)
    #[arg(short, long, default_value_t = 1.0)]
    warmup: f64,
    /// Run each measurement this many times; the summary keeps the run during which other
    /// processes used the least CPU
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Stop a measurement after this many counted requests, even before --duration
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: u64,
    /// Refresh-token families the refresh scenario creates (by PAT sign-in, before the clock
    /// starts) and refreshes in turn. Each refresh visits every token its family has issued, so
    /// few families (long chains) make refreshes slower; a real family holds at most a few
    /// hundred tokens (one per access-token lifetime over the 14-day absolute limit)
    #[arg(long, default_value_t = 256)]
    refresh_families: usize,
    /// Where the backend and the emulator run
    #[arg(long, value_enum, default_value_t = Placement::Process)]
    server: Placement,
    /// RUST_LOG of the backend process (its JSON request log is read and discarded)
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Worker threads of the backend's runtime [default: one per core]
    #[arg(long)]
    server_threads: Option<usize>,
    /// The HTTP client the load generator uses
    #[arg(long, value_enum, default_value_t = ClientKind::Hyper)]
    client: ClientKind,
    /// Worker threads of the load generator's runtime
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// The sliderule-backend binary [default: next to this one]
    #[arg(long)]
    backend_bin: Option<std::path::PathBuf>,
    /// The github-emulator binary [default: next to this one]
    #[arg(long)]
    emulator_bin: Option<std::path::PathBuf>,
}

/// The demo users who are members, whose PATs the sign-ins use in turn.
const MEMBERS: [&str; 3] = ["bob", "carol", "alice"];

fn pat_body(index: usize) -> Bytes {
    let login = MEMBERS[index % MEMBERS.len()];
    Bytes::from(format!(r#"{{"pat":"demo-pat-{login}"}}"#))
}

struct Jwks;

impl Script for Jwks {
    fn next_call(&mut self) -> Call {
        Call::get(paths::JWKS)
    }

    fn check(&mut self, answer: Option<(StatusCode, &[u8])>) -> Result<(), String> {
        match answer {
            Some((StatusCode::OK, body)) if body.starts_with(br#"{"keys":[{"#) => Ok(()),
            other => Err(describe(other)),
        }
    }
}

struct Pat {
    next: usize,
    bodies: Vec<Bytes>,
}

impl Pat {
    fn new(connection: usize) -> Self {
        Self {
            next: connection,
            bodies: (0..MEMBERS.len()).map(pat_body).collect(),
        }
    }
}

impl Script for Pat {
    fn next_call(&mut self) -> Call {
        self.next = self.next.wrapping_add(1);
        Call::post_json(
            paths::PAT,
            self.bodies[self.next % self.bodies.len()].clone(),
        )
    }

    fn check(&mut self, answer: Option<(StatusCode, &[u8])>) -> Result<(), String> {
        match answer {
            // `LoginSuccess` serializes `status` first.
            Some((StatusCode::OK, body)) if body.starts_with(br#"{"status":"success""#) => Ok(()),
            other => Err(describe(other)),
        }
    }
}

/// One connection's share of the refresh-token families, each refreshed in turn: a refresh
/// presents the token the family's previous refresh returned, so no token is used twice.
struct Refresh {
    login: Bytes,
    /// How many families this connection keeps.
    families: usize,
    /// The next refresh token of each family, the one to use next first.
    tokens: VecDeque<String>,
    /// Whether set-up has signed in `families` times.
    filled: bool,
}

impl Refresh {
    fn new(connection: usize, families: usize) -> Self {
        Self {
            login: pat_body(connection),
            families: families.max(1),
            tokens: VecDeque::new(),
            filled: false,
        }
    }
}

#[derive(serde::Deserialize)]
struct HasRefreshToken {
    refresh_token: String,
}

impl Script for Refresh {
    fn next_call(&mut self) -> Call {
        // Sign in during set-up, or (not counted) when every family has been lost to errors.
        let next = if self.filled {
            self.tokens.pop_front()
        } else {
            None
        };
        match next {
            Some(token) => {
                Call::post_json(paths::REFRESH, format!(r#"{{"refresh_token":"{token}"}}"#))
            }
            None => Call::post_json(paths::PAT, self.login.clone()).setup(),
        }
    }

    fn check(&mut self, answer: Option<(StatusCode, &[u8])>) -> Result<(), String> {
        // Sign-in or refresh, a success carries the family's next token; a failed refresh loses
        // its family (the token presented is spent either way).
        match answer {
            Some((StatusCode::OK, body)) => {
                let next: HasRefreshToken = serde_json::from_slice(body)
                    .map_err(|e| format!("200 without a refresh_token: {e}"))?;
                self.tokens.push_back(next.refresh_token);
                if self.tokens.len() >= self.families {
                    self.filled = true;
                }
                Ok(())
            }
            other => Err(describe(other)),
        }
    }

    fn ready(&self) -> bool {
        self.filled
    }
}

fn describe(answer: Option<(StatusCode, &[u8])>) -> String {
    match answer {
        None => "no answer".to_owned(),
        Some((status, body)) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(160)]).into_owned();
            format!("{status}: {text}")
        }
    }
}

/// One measured row of the report.
struct Row {
    scenario: Scenario,
    connections: usize,
    outcome: Outcome,
    /// Cores used over the whole run (warm-up included) by backend, emulator, load generator, and
    /// everything else on the machine.
    cores: [Option<f64>; 4],
}

/// `families`: refresh-token families the refresh scenario spreads its refreshes over.
async fn measure(
    scenario: Scenario,
    addr: std::net::SocketAddr,
    plan: &Plan,
    families: usize,
) -> anyhow::Result<Outcome> {
    match scenario {
        Scenario::Jwks => load::run(addr, plan, |_| Jwks).await,
        Scenario::Pat => load::run(addr, plan, Pat::new).await,
        Scenario::Refresh => {
            let per_connection = families.div_ceil(plan.connections.max(1));
            load::run(addr, plan, |i| Refresh::new(i, per_connection)).await
        }
    }
}

/// A few requests of each scenario first, so a broken setup fails with its reason instead of a
/// table of errors.
async fn probe(scenario: Scenario, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let plan = Plan {
        connections: 1,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(10),
        max_requests: 3,
        client: ClientKind::Hyper,
    };
    let outcome = measure(scenario, addr, &plan, 1).await?;
    if outcome.errors > 0 || outcome.completed() == 0 {
        bail!(
            "{} does not work against the backend at {addr}: {}",
            scenario.name(),
            outcome.error_samples.join("; ")
        );
    }
    Ok(())
}

fn cores(before: CpuReading, after: CpuReading, wall: Duration) -> [Option<f64>; 4] {
    let backend = cpu::cores(before.backend, after.backend, wall);
    let emulator = cpu::cores(before.emulator, after.emulator, wall);
    let loadgen = cpu::cores(before.loadgen, after.loadgen, wall);
    let machine = cpu::cores(before.machine, after.machine, wall);
    // Tick rounding can make the difference slightly negative.
    let other = machine.map(|m| {
        (m - backend.unwrap_or(0.0) - emulator.unwrap_or(0.0) - loadgen.unwrap_or(0.0)).max(0.0)
    });
    [backend, emulator, loadgen, other]
}

/// Of repeated runs, the one other processes disturbed least (the first when that is unknown).
fn least_disturbed(runs: Vec<Row>) -> Option<Row> {
    runs.into_iter().min_by(|a, b| {
        let other = |row: &Row| row.cores[3].unwrap_or(0.0);
        other(a).total_cmp(&other(b))
    })
}

fn show_cores(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |c| format!("{c:.2}"))
}

const HEADER: &str = "| scenario | conns | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | CPU backend | CPU emulator | CPU loadgen | CPU other | backend CPU µs/req |";
const RULE: &str = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

fn table_row(row: &Row) -> String {
    let o = &row.outcome;
    format!(
        "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.scenario.name(),
        row.connections,
        o.completed(),
        o.errors,
        o.rate(),
        millis(o.quantile(0.50)),
        millis(o.quantile(0.90)),
        millis(o.quantile(0.99)),
        millis(o.max()),
        show_cores(row.cores[0]),
        show_cores(row.cores[1]),
        show_cores(row.cores[2]),
        show_cores(row.cores[3]),
        cpu_per_request(row).map_or_else(|| "-".to_owned(), |us| format!("{us:.0}")),
    )
}

/// Backend CPU time per successful request, in microseconds: unlike the rate, it hardly changes
/// when other processes take cores away, and two cores divided by it is the rate the backend
/// could reach with the machine to itself.
fn cpu_per_request(row: &Row) -> Option<f64> {
    let rate = row.outcome.rate();
    let cores = row.cores[0]?;
    (rate > 0.0).then(|| cores / rate * 1e6)
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.connections.as_ref().is_some_and(|c| c.contains(&0)) {
        bail!("--connections must be at least 1");
    }
    if !(args.duration.is_finite() && args.warmup.is_finite())
        || args.duration <= 0.0
        || args.warmup < 0.0
    {
        bail!("--duration must be positive and --warmup not negative");
    }
    let scenarios = if args.scenarios.is_empty() {
        vec![Scenario::Pat, Scenario::Jwks, Scenario::Refresh]
    } else {
        args.scenarios.clone()
    };
    let servers = Servers::start(&ServerOptions {
        placement: args.server,
        log: args.server_log.clone(),
        threads: args.server_threads,
        backend_bin: args.backend_bin.clone(),
        emulator_bin: args.emulator_bin.clone(),
    })?;
    let addr = servers.addr;

    let cores_available = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "auth_http: backend at http://{addr} ({:?}, RUST_LOG={}), {} client with {} thread(s), {} core(s), {} s per run after {} s warm-up, load average {}",
        args.server,
        if args.server == Placement::Process {
            args.server_log.as_str()
        } else {
            "none"
        },
        format!("{:?}", args.client).to_lowercase(),
        args.client_threads,
        cores_available,
        args.duration,
        args.warmup,
        sliderule_bench::load_average(),
    );
    if cfg!(debug_assertions) {
        println!("warning: this is a debug build of the load generator; use --release");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name(LOADGEN_THREAD)
        .enable_all()
        .build()
        .context("cannot start the load generator's runtime")?;

    let mut rows = Vec::new();
    for scenario in scenarios {
        runtime
            .block_on(async { tokio::spawn(probe(scenario, addr)).await })
            .context("the probe panicked")??;
        let levels = args
            .connections
            .clone()
            .unwrap_or_else(|| scenario.default_connections().to_vec());
        for connections in levels {
            let mut runs = Vec::with_capacity(args.repeat);
            for _ in 0..args.repeat.max(1) {
                let plan = Plan {
                    connections,
                    warmup: Duration::from_secs_f64(args.warmup),
                    duration: Duration::from_secs_f64(args.duration),
                    max_requests: args.max_requests,
                    client: args.client,
                };
                let families = args.refresh_families;
                let before = servers.cpu();
                let started = Instant::now();
                let outcome = runtime
                    .block_on(async move {
                        tokio::spawn(async move { measure(scenario, addr, &plan, families).await })
                            .await
                    })
                    .context("a measurement panicked")??;
                let wall = started.elapsed();
                let row = Row {
                    scenario,
                    connections,
                    cores: cores(before, servers.cpu(), wall),
                    outcome,
                };
                println!(
                    "{:>8} c={:<4} {:>9.0} req/s  p50 {:>7} ms  p99 {:>7} ms  max {:>7} ms  errors {}  (CPU cores: backend {}, emulator {}, loadgen {}, other {})",
                    scenario.name(),
                    connections,
                    row.outcome.rate(),
                    millis(row.outcome.quantile(0.50)),
                    millis(row.outcome.quantile(0.99)),
                    millis(row.outcome.max()),
                    row.outcome.errors,
                    show_cores(row.cores[0]),
                    show_cores(row.cores[1]),
                    show_cores(row.cores[2]),
                    show_cores(row.cores[3]),
                );
                for sample in &row.outcome.error_samples {
                    println!("         error: {sample}");
                }
                runs.push(row);
            }
            if let Some(row) = least_disturbed(runs) {
                rows.push(row);
            }
        }
    }

    println!();
    println!("{HEADER}");
    println!("{RULE}");
    for row in &rows {
        println!("{}", table_row(row));
    }
    if args.repeat > 1 {
        println!(
            "\nEach row: of {} runs, the one during which other processes used the least CPU.",
            args.repeat
        );
    }
    println!(
        "\nCPU columns: cores used during the run (1.00 = one core busy the whole time), warm-up included; \"other\" is everything else on the machine."
    );
    runtime.shutdown_timeout(Duration::from_secs(2));
    drop(servers);
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
