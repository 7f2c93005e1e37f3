//! SlideRule private-cluster services: the authenticator, the provisioner, and the host of the
//! web client, in one binary (`sliderule-backend`).
//!
//! The library holds everything so integration tests can start the real application on a free
//! port; `main.rs` only calls [`cli::run`].

pub mod app;
pub mod authenticator;
pub mod budgets;
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod demo;
pub mod github;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod lambda;
pub mod notifications;
pub mod organizations;
pub mod provisioner;
pub mod ps;
pub mod server;
pub mod store;
pub mod telemetry;
