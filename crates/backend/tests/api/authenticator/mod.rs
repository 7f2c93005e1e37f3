//! The authenticator through HTTP, against the GitHub emulator on another port.

mod affiliates;
mod attacks;
mod browser;
mod device;
mod kms;
mod local;
mod pat;
mod refresh;
pub mod support;
