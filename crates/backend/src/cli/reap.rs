//! `sliderule-backend reap`: one sweep of the reaper, for cron or an AWS EventBridge schedule
//! (the serving processes also sweep on their own). Exit 0 when every due cluster's destroy was
//! issued, 1 when some failed (they are tried again next sweep), 2 for configuration errors.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::app::{AppState, Overrides};
use crate::config::Mode;

#[derive(Debug, Args)]
pub(super) struct ReapArgs {
    /// TOML configuration file (see backend.example.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory holding the store [default: .sliderule]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Reap the demo's clusters (simulated cloud) instead of serve mode's
    #[arg(long)]
    demo: bool,
}

pub(super) fn run(args: ReapArgs) -> ExitCode {
    let mut flags = Vec::new();
    if let Some(dir) = &args.data_dir {
        flags.push(("data_dir", toml::Value::String(dir.display().to_string())));
    }
    let mode = if args.demo { Mode::Demo } else { Mode::Serve };
    let config = match super::load(mode, args.config.as_deref(), flags) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match super::runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let state = AppState::build(config, Overrides::default()).await?;
        anyhow::Ok(crate::jobs::reap(&state).await?.sweep)
    });
    match result {
        Ok(sweep) => {
            for cluster in &sweep.destroyed {
                println!("destroyed {cluster} (its deadline had passed)");
            }
            for cluster in &sweep.failed {
                println!("failed to destroy {cluster}; the next sweep tries again");
            }
            for cluster in &sweep.skipped {
                println!("skipped {cluster}: another reaper holds it, or it changed meanwhile");
            }
            if sweep.destroyed.is_empty() && sweep.failed.is_empty() && sweep.skipped.is_empty() {
                println!("nothing to reap");
            }
            if sweep.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
