//! The backend's integration tests: one test binary (each `tests/*.rs` file would be another
//! binary to link), the real application on a free port, a real HTTP client.

mod helpers;

pub mod authenticator;
mod cli;
mod cloud_drivers;
mod demo_github;
mod foundation;
mod github_client;
mod host_routing;
mod identity;
mod key_rotation;
mod lambda;
mod moto;
pub mod provisioner;
mod ps;
mod published;
mod raw_http;
mod replicas;
mod secrets_in_logs;
mod tls;
mod web_client;
