//! Benchmarks of the SlideRule backend: measurements printed for people, never assertions.
//!
//! - `auth_http` drives the authenticator over HTTP on loopback (PAT login, JWKS, refresh) with
//!   the closed-loop generator in [`load`], against servers started by [`servers`].
//! - `verify` times RS256 signing and verification in-process.
//!
//! `bench/README.md` says how to run them and what they measured.

pub mod cpu;
pub mod load;
pub mod servers;

/// Name of the load generator's threads, so [`cpu::threads`] can tell its CPU time apart.
pub const LOADGEN_THREAD: &str = "loadgen";

/// A duration in milliseconds with two decimals, for the tables.
pub fn millis(duration: std::time::Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures, printed with every run: other work on a small
/// machine changes the results, and this shows whether there was any.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Runs a benchmark's async body on a multi-threaded runtime; an error is printed with its
/// causes and ends the process with a failure.
pub fn run_async<F: std::future::Future<Output = anyhow::Result<()>>>(
    body: F,
) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
