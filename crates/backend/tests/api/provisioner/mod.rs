//! The provisioner through HTTP, on the simulated cloud with a clock the tests move.

mod access;
mod budgets;
mod destroying;
mod failures;
mod lifecycle;
mod node_groups;
mod notifications;
mod on_moto;
mod organizations;
mod reaper;
mod reports;
mod scheduled;
mod signing;
pub mod support;
mod test_runner;
