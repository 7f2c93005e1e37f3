//! `sliderule-backend lambda --handler http|schedule`: the AWS Lambda entry (see
//! [`crate::lambda`]), configured like `serve` (a `--config` file and `SLIDERULE_…` variables).
//! A function has no address of its own: the configuration must name the domain or the issuer.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::app::{AppState, Overrides};
use crate::config::Mode;
use crate::lambda::Handler;

#[derive(Debug, Args)]
pub(super) struct LambdaArgs {
    /// Which events this function answers
    #[arg(long, value_enum)]
    handler: Handler,
    /// TOML configuration file (see backend.example.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(super) fn run(args: LambdaArgs) -> ExitCode {
    let config = match super::load(Mode::Serve, args.config.as_deref(), Vec::new()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if config.domain.is_none() && config.authenticator.issuer.is_none() {
        eprintln!(
            "error: configuration: domain: a Lambda function has no address of its own; set domain (or authenticator.issuer) to where API Gateway serves it"
        );
        return ExitCode::from(2);
    }
    crate::telemetry::init();
    let runtime = match super::runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let state = AppState::build(config, Overrides::default()).await?;
        crate::lambda::run(state, args.handler)
            .await
            .map_err(|e| anyhow::anyhow!(e))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::exit_for(&e),
    }
}
