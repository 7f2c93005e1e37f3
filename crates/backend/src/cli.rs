//! The command line: `demo`, `serve`, `config check`, `keys`, `reap`, `lambda`, `store migrate`. `keys generate|rotate|list|retire`.
//!
//! Exit codes: 0 success, 1 a runtime failure (for example the port is taken), 2 a usage or
//! configuration error, reported as one line naming the key and the problem.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod keys;
mod lambda;
mod reap;

use crate::config::{self, Config, ConfigSources, Mode};
use crate::server::{Application, shutdown_signal};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "sliderule-backend",
    version,
    about = "SlideRule private-cluster services"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Everything on one origin with emulated GitHub and a simulated cloud; no setup needed.
    Demo(DemoArgs),
    /// Production: real GitHub and AWS, configured by --config and SLIDERULE_… variables.
    Serve(CommonArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Signing keys of a data directory: generate, rotate without downtime, list, retire.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Destroy every cluster whose deadline has passed (one sweep of the reaper).
    Reap(reap::ReapArgs),
    /// Run as an AWS Lambda function: API Gateway requests, or scheduled jobs.
    Lambda(lambda::LambdaArgs),
    /// The store: create or upgrade its schema.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Create or upgrade the configured store's schema (idempotent); `serve` refuses a missing
    /// or older one. Run it once per release, before the new replicas start. Only the store's
    /// and AWS's settings of the configuration are read and checked.
    Migrate {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Read the configuration as demo mode would (default: as serve mode would).
        #[arg(long)]
        demo: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load and validate a configuration; print the effective values with secrets redacted.
    Check {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Check it as demo mode would (default: as serve mode would).
        #[arg(long)]
        demo: bool,
    },
}

/// Flags every serving mode accepts; each overrides the same key of the configuration.
#[derive(Debug, Args)]
struct CommonArgs {
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Where local state (SQLite, generated keys) lives [default: .sliderule]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The built web client [default: dist]
    #[arg(long, value_name = "DIR")]
    dist: Option<PathBuf>,
    /// Route login.DOMAIN, provisioner.DOMAIN and CLUSTER.DOMAIN by host
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<String>,
    /// TOML configuration file (see backend.example.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key)
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Seed file for the embedded GitHub emulator (users, teams, tokens)
    #[arg(long, value_name = "FILE")]
    github_seed: Option<PathBuf>,
    /// Step delay of the simulated cloud, in seconds [default: 2]
    #[arg(long, value_name = "SECONDS")]
    cloud_delay: Option<f64>,
    /// A public cluster to deploy at start, which node groups' `sliderule` names
    /// (provisioner.public_cluster)
    #[arg(long, value_name = "NAME")]
    public_cluster: Option<String>,
}

impl CommonArgs {
    fn flags(&self) -> Vec<(&'static str, toml::Value)> {
        let path = |p: &PathBuf| toml::Value::String(p.display().to_string());
        let mut flags = Vec::new();
        if let Some(bind) = self.bind {
            flags.push(("bind", toml::Value::String(bind.to_string())));
        }
        if let Some(dir) = &self.data_dir {
            flags.push(("data_dir", path(dir)));
        }
        if let Some(dist) = &self.dist {
            flags.push(("web.dist_dir", path(dist)));
        }
        if let Some(domain) = &self.domain {
            flags.push(("domain", toml::Value::String(domain.clone())));
        }
        if let Some(cert) = &self.tls_cert {
            flags.push(("server.tls_cert_file", path(cert)));
        }
        if let Some(key) = &self.tls_key {
            flags.push(("server.tls_key_file", path(key)));
        }
        flags
    }
}

/// Parses the command line and runs it; returns the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Store(StoreCommand::Migrate { config, demo }) => {
            let mode = if demo { Mode::Demo } else { Mode::Serve };
            match load_with(config::load_for_store, mode, config.as_deref(), Vec::new()) {
                Ok(config) => migrate_store(&config),
                Err(code) => code,
            }
        }
        Command::Config(ConfigCommand::Check { config, demo }) => {
            let mode = if demo { Mode::Demo } else { Mode::Serve };
            match load(mode, config.as_deref(), Vec::new()) {
                Ok(config) => {
                    print!("{}", config.to_redacted_toml());
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
        Command::Keys(command) => keys::run(command),
        Command::Reap(args) => reap::run(args),
        Command::Lambda(args) => lambda::run(args),
        Command::Serve(args) => {
            let flags = args.flags();
            match load(Mode::Serve, args.config.as_deref(), flags) {
                Ok(config) => serve(config),
                Err(code) => code,
            }
        }
        Command::Demo(args) => {
            let mut flags = args.common.flags();
            if let Some(seed) = &args.github_seed {
                flags.push((
                    "demo.github_seed",
                    toml::Value::String(seed.display().to_string()),
                ));
            }
            if let Some(delay) = args.cloud_delay {
                flags.push(("demo.cloud_delay_secs", toml::Value::Float(delay)));
            }
            if let Some(public) = &args.public_cluster {
                flags.push((
                    "provisioner.public_cluster",
                    toml::Value::String(public.clone()),
                ));
            }
            match load(Mode::Demo, args.common.config.as_deref(), flags) {
                Ok(config) => serve(config),
                Err(code) => code,
            }
        }
    }
}

fn load(
    mode: Mode,
    file: Option<&std::path::Path>,
    flags: Vec<(&'static str, toml::Value)>,
) -> Result<Config, ExitCode> {
    load_with(config::load, mode, file, flags)
}

/// Loads the configuration with `loader` (all of it, or the store's part), or says why not.
fn load_with(
    loader: fn(Mode, ConfigSources<'_>) -> Result<Config, config::ConfigError>,
    mode: Mode,
    file: Option<&std::path::Path>,
    flags: Vec<(&'static str, toml::Value)>,
) -> Result<Config, ExitCode> {
    let sources = ConfigSources {
        file,
        env: std::env::vars().collect(),
        flags,
    };
    loader(mode, sources).map_err(|e| {
        eprintln!("error: configuration: {e}");
        ExitCode::from(2)
    })
}

/// Builds the async runtime, or says why not (exit 1).
fn runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

fn serve(config: Config) -> ExitCode {
    telemetry::init();
    let runtime = match runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let mode = config.mode;
        let app = Application::build(config).await?;
        announce(mode, &app);
        app.run_until(shutdown_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit_for(&e),
    }
}

/// `store migrate`: one line saying what it did.
fn migrate_store(config: &Config) -> ExitCode {
    let location = match crate::store::location(config) {
        Ok(location) => location,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(crate::store::migrate(config, None)) {
        Ok((before, after)) if before == after => {
            println!("store {location}: schema version {after}, up to date");
            ExitCode::SUCCESS
        }
        Ok((before, after)) => {
            println!("store {location}: schema version {before} -> {after}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: store {location}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Says why a command failed: exit 2 for a configuration error or a store to migrate, 1 for
/// anything else.
fn exit_for(error: &anyhow::Error) -> ExitCode {
    match configuration_error(error) {
        Some(config_error) => {
            eprintln!("error: configuration: {config_error}");
            ExitCode::from(2)
        }
        None if matches!(
            error.downcast_ref::<crate::store::StoreError>(),
            Some(crate::store::StoreError::Schema(_))
        ) =>
        {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        None => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A start-up failure caused by the configuration (a key file, a seed file), if it is one.
fn configuration_error(error: &anyhow::Error) -> Option<&config::ConfigError> {
    error.downcast_ref::<config::ConfigError>().or_else(|| {
        match error.downcast_ref::<crate::keys::KeyLoadError>() {
            Some(crate::keys::KeyLoadError::Config(e)) => Some(e),
            _ => None,
        }
    })
}

/// Where the v2-era client API answers: `ps.<domain>`, or `/ps` on the single origin.
fn urls_ps(state: &crate::app::AppState) -> String {
    match &state.config.domain {
        Some(domain) => format!("https://ps.{domain}"),
        None => format!(
            "{}{}",
            state.urls.web.trim_end_matches('/'),
            crate::ps::MOUNT
        ),
    }
}

/// Plain lines on stdout for people and scripts (the JSON log goes alongside).
fn announce(mode: Mode, app: &Application) {
    let state = app.state();
    // Tests and scripts read this line for the scheme and the port actually bound.
    println!("listening on {}://{}", app.scheme(), app.local_addr());
    if mode == Mode::Demo {
        println!("SlideRule demo: open {} in your browser", state.urls.web);
        if let Some(emulator) = &state.emulator {
            println!(
                "Demo GitHub ({}/, organization {}); sign in as:",
                format_args!("{}{}", state.urls.authenticator, crate::demo::GITHUB_MOUNT),
                emulator.org()
            );
            for line in crate::demo::describe_users(&emulator.seed()) {
                println!("{line}");
            }
        }
        if state.config.organizations.seed_file.is_none() {
            for line in crate::demo::describe_local_accounts(&urls_ps(state)) {
                println!("{line}");
            }
        }
        if let Some(public) = &state.provisioner.node_group_public_cluster {
            println!(
                "Public cluster {public}: add nodes of your own with /deploy/<you> and cluster \"sliderule\" (Python: user_service=True)"
            );
        }
        if !state.config.web.dist_dir.join("index.html").is_file() {
            println!(
                "note: no web client in {}; build it with `trunk build --release` (./scripts/demo.sh does)",
                state.config.web.dist_dir.display()
            );
        }
    }
}
