//! Structured JSON logs with `tracing`, filtered by `RUST_LOG` (default `info`).
//!
//! Secrets never reach the log: request spans carry the path but not the query string, and
//! types holding secrets print `***`.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once; later calls (tests starting several apps) do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .try_init();
}
