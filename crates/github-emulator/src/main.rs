//! `github-emulator`: serves the GitHub emulator on its own port, for tests that run the
//! authenticator against it (`github-emulator --seed FILE --bind 127.0.0.1:0`). Prints
//! `listening on http://ADDR` once bound and stops gracefully on Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use github_emulator::{Emulator, Seed};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// An emulator of the part of GitHub the SlideRule authenticator uses.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Seed file (TOML: org, users, teams, PATs). Without it the demo users are seeded.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Public URL to report (verification_uri, API urls) instead of deriving it from requests.
    #[arg(long)]
    public_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr so stdout carries only the `listening on` line tests wait for.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => Seed::load(path)?,
        None => Seed::demo(),
    };
    let mut emulator = Emulator::new(seed);
    if let Some(url) = &args.public_url {
        emulator = emulator.with_public_url(url);
    }
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
    }
    tracing::info!(%addr, org = %emulator.org(), "GitHub emulator started");
    emulator.serve(listener, shutdown_signal()).await?;
    tracing::info!("GitHub emulator stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a Ctrl-C handler, wait for SIGTERM alone.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
