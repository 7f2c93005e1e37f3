//! Starting the system under test: the GitHub emulator and the backend in serve mode pointed at
//! it, on free loopback ports, with a fresh data directory and the sign-in rate limits lifted.
//!
//! Two placements:
//!
//! - [`Placement::Process`] (the default): the release `sliderule-backend serve` and
//!   `github-emulator` binaries as child processes, as they run in production (JSON request log
//!   on stdout at `RUST_LOG`, `info` by default; it is read and thrown away here). Each has its
//!   own runtime and allocator and the scheduler sees three processes.
//! - [`Placement::InProcess`]: the backend library on a Tokio runtime of its own inside this
//!   process (threads named `backend`), the emulator on another (`emulator`), the way the API
//!   tests start it. No log subscriber is installed, so request logging costs nothing here.
//!
//! Either way the backend is the same code with the same configuration; [`Servers::cpu`] reads
//! how much CPU each party used.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use github_emulator::{Emulator, RunningEmulator, Seed};
use sliderule_backend::config::{self, ConfigSources, Mode};
use sliderule_backend::server::Application;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::cpu;

/// The OAuth App the backend says it is (the emulator accepts any without a seed that names one).
const CLIENT_ID: &str = "sliderule-bench";
const CLIENT_SECRET: &str = "sliderule-bench-secret";

/// Far above anything a benchmark sends from its one IP (the limit is a `u32`).
const NO_RATE_LIMIT: i64 = 1_000_000_000;

/// How long a child process may take to say it is listening (key generation included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Placement {
    /// The release binaries as child processes.
    Process,
    /// The backend library on its own runtime inside the benchmark process.
    InProcess,
}

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub placement: Placement,
    /// `RUST_LOG` of the backend process (process placement only).
    pub log: String,
    /// Worker threads of the backend's runtime; `None` is Tokio's default (one per core).
    pub threads: Option<usize>,
    /// The `sliderule-backend` binary; default: next to this executable.
    pub backend_bin: Option<PathBuf>,
    /// The `github-emulator` binary; default: next to this executable.
    pub emulator_bin: Option<PathBuf>,
}

/// CPU time used so far by each party.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuReading {
    pub backend: Option<Duration>,
    pub emulator: Option<Duration>,
    pub loadgen: Option<Duration>,
    /// The whole machine, every process included.
    pub machine: Option<Duration>,
}

/// The running emulator and backend; both stop when this is dropped.
pub struct Servers {
    /// The backend's address.
    pub addr: SocketAddr,
    // Declared before `_dir`, so the servers stop before their data directory is removed.
    running: Running,
    _dir: TempDir,
}

enum Running {
    Process {
        backend: ChildGuard,
        emulator: ChildGuard,
    },
    InProcess {
        stop: Option<oneshot::Sender<()>>,
        emulator: Option<RunningEmulator>,
        backend_runtime: Option<Runtime>,
        emulator_runtime: Option<Runtime>,
    },
}

impl Servers {
    pub fn start(options: &ServerOptions) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("sliderule-bench-")
            .tempdir()
            .context("cannot create a temporary data directory")?;
        let data = dir.path().join("data");
        let dist = dir.path().join("dist");
        for path in [&data, &dist] {
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        let (addr, running) = match options.placement {
            Placement::Process => start_processes(options, dir.path(), &data, &dist)?,
            Placement::InProcess => start_in_process(options, &data, &dist)?,
        };
        Ok(Self {
            addr,
            running,
            _dir: dir,
        })
    }

    /// CPU time used so far by the backend, the emulator and the load generator's threads.
    pub fn cpu(&self) -> CpuReading {
        // The thread that discards the backend's log is the benchmark's cost, not the backend's.
        let loadgen = cpu::threads(crate::LOADGEN_THREAD)
            .zip(cpu::threads(DRAIN_THREAD))
            .map(|(load, drain)| load + drain);
        let machine = cpu::machine();
        match &self.running {
            Running::Process { backend, emulator } => CpuReading {
                backend: cpu::process(backend.child.id()),
                emulator: cpu::process(emulator.child.id()),
                loadgen,
                machine,
            },
            Running::InProcess { .. } => CpuReading {
                backend: cpu::threads(BACKEND_THREAD),
                emulator: cpu::threads(EMULATOR_THREAD),
                loadgen,
                machine,
            },
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Running::InProcess {
            stop,
            emulator,
            backend_runtime,
            emulator_runtime,
        } = &mut self.running
        {
            if let Some(stop) = stop.take() {
                let _ = stop.send(());
            }
            drop(emulator.take());
            for runtime in [backend_runtime.take(), emulator_runtime.take()]
                .into_iter()
                .flatten()
            {
                runtime.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

/// The backend's configuration, as dotted keys; both placements use exactly these.
fn config_values(data: &Path, dist: &Path, github: &str) -> Vec<(&'static str, toml::Value)> {
    let text = |s: &str| toml::Value::String(s.to_owned());
    let path = |p: &Path| toml::Value::String(p.display().to_string());
    vec![
        ("bind", text("127.0.0.1:0")),
        ("data_dir", path(data)),
        ("web.dist_dir", path(dist)),
        ("github.web_url", text(github)),
        ("github.api_url", text(github)),
        ("github.client_id", text(CLIENT_ID)),
        ("github.client_secret", text(CLIENT_SECRET)),
        // Sign-in is measured, not clusters: no CloudFormation driver (whose template would need
        // a network in provisioner.parameters) and no AWS calls at start.
        ("provisioner.cloud", text("simulated")),
        (
            "authenticator.rate_limit_burst",
            toml::Value::Integer(NO_RATE_LIMIT),
        ),
        (
            "authenticator.rate_limit_per_sec",
            toml::Value::Integer(NO_RATE_LIMIT),
        ),
    ]
}

/// The same values as a TOML document, for `sliderule-backend serve --config`.
fn config_file(values: &[(&'static str, toml::Value)]) -> anyhow::Result<String> {
    let mut root = toml::Table::new();
    for (key, value) in values {
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().context("an empty configuration key")?;
        let mut table = &mut root;
        for part in parts {
            table = table
                .entry(part)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .with_context(|| format!("{key}: a value where a section was expected"))?;
        }
        table.insert(last.to_owned(), value.clone());
    }
    Ok(toml::to_string(&root)?)
}

fn sibling_binary(explicit: Option<&PathBuf>, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let path = exe
        .parent()
        .context("this executable has no directory")?
        .join(name);
    if !path.is_file() {
        bail!(
            "{} not found; build it first: cargo build --release -p sliderule-backend -p github-emulator -p sliderule-bench (bench/run.sh does)",
            path.display()
        );
    }
    Ok(path)
}

fn start_processes(
    options: &ServerOptions,
    dir: &Path,
    data: &Path,
    dist: &Path,
) -> anyhow::Result<(SocketAddr, Running)> {
    let emulator_bin = sibling_binary(options.emulator_bin.as_ref(), "github-emulator")?;
    let backend_bin = sibling_binary(options.backend_bin.as_ref(), "sliderule-backend")?;

    let mut command = Command::new(&emulator_bin);
    command
        .args(["--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    let (emulator, emulator_addr) = ChildGuard::spawn(command, "github-emulator")?;

    let values = config_values(data, dist, &format!("http://{emulator_addr}"));
    let config_path = dir.join("backend.toml");
    std::fs::write(&config_path, config_file(&values)?)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let mut command = Command::new(&backend_bin);
    command
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .env("RUST_LOG", &options.log);
    if let Some(threads) = options.threads {
        command.env("TOKIO_WORKER_THREADS", threads.to_string());
    }
    let (backend, addr) = ChildGuard::spawn(command, "sliderule-backend")?;
    Ok((addr, Running::Process { backend, emulator }))
}

const BACKEND_THREAD: &str = "backend";
/// Threads that read a child's stdout (the backend's request log) and discard it.
const DRAIN_THREAD: &str = "drain";
const EMULATOR_THREAD: &str = "emulator";

fn start_in_process(
    options: &ServerOptions,
    data: &Path,
    dist: &Path,
) -> anyhow::Result<(SocketAddr, Running)> {
    let emulator_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(EMULATOR_THREAD)
        .enable_all()
        .build()
        .context("cannot start the emulator's runtime")?;
    let emulator = emulator_runtime
        .block_on(Emulator::new(Seed::demo()).spawn(SocketAddr::from(([127, 0, 0, 1], 0))))
        .context("the GitHub emulator did not start")?;

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = options.threads {
        builder.worker_threads(threads.max(1));
    }
    // Blocking threads (the store's) that exit take their CPU time out of /proc/self/task, so
    // they are kept for as long as a benchmark runs.
    let backend_runtime = builder
        .thread_name(BACKEND_THREAD)
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .enable_all()
        .build()
        .context("cannot start the backend's runtime")?;
    let config = config::load(
        Mode::Serve,
        ConfigSources {
            flags: config_values(data, dist, &emulator.url()),
            ..Default::default()
        },
    )
    .context("the benchmark's backend configuration is invalid")?;
    // As an operator does before starting a release (serve mode refuses an unmigrated store).
    backend_runtime
        .block_on(sliderule_backend::store::migrate(&config, None))
        .context("store migrate")?;
    let app = backend_runtime
        .block_on(Application::build(config))
        .context("the backend did not start")?;
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    backend_runtime.spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Ok((
        addr,
        Running::InProcess {
            stop: Some(stop),
            emulator: Some(emulator),
            backend_runtime: Some(backend_runtime),
            emulator_runtime: Some(emulator_runtime),
        },
    ))
}

/// A child process that is killed when dropped. Its stdout is read until it prints
/// `listening on http://ADDR`, then drained (it is the JSON request log) so it never blocks.
struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    fn spawn(mut command: Command, name: &str) -> anyhow::Result<(Self, SocketAddr)> {
        // The benchmark's own environment must not reconfigure the servers.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SLIDERULE_") {
                command.env_remove(key);
            }
        }
        command.stdin(Stdio::null()).stdout(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut guard = Self { child };

        let (announce, announced) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name(format!("{DRAIN_THREAD}-{name}"))
            .spawn(move || drain(stdout, &announce))
            .context("cannot start a thread")?;
        match announced.recv_timeout(START_TIMEOUT) {
            Ok(addr) => {
                let addr = addr
                    .parse()
                    .with_context(|| format!("{name} announced {addr:?}, not an address"))?;
                Ok((guard, addr))
            }
            Err(_) => {
                let status = guard.child.try_wait().ok().flatten();
                match status {
                    Some(status) => bail!("{name} exited before listening ({status})"),
                    None => bail!(
                        "{name} did not say it was listening within {} s",
                        START_TIMEOUT.as_secs()
                    ),
                }
            }
        }
    }
}

/// Reads lines until the `listening on` one, sends its address, then discards the rest.
fn drain(stdout: impl Read, announce: &mpsc::Sender<String>) {
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                    let _ = announce.send(addr.to_owned());
                    break;
                }
            }
        }
    }
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
