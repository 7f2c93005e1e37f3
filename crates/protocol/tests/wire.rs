//! Wire compatibility: every body this crate defines, read from hand-written fixtures taken from
//! the spec and from upstream's documented examples, and written back unchanged.
//!
//! One binary (test modules live in `wire/`) so the crate is linked once.
//!
//! A round trip parses a fixture into its type, serializes the value, and compares the two as
//! `serde_json::Value`, so a renamed field, a dropped field, a changed type or a value written in
//! another form all fail.

#[path = "wire/authenticator.rs"]
mod authenticator;
#[path = "wire/fixtures.rs"]
mod fixtures;
#[path = "wire/lenient_input.rs"]
mod lenient_input;
#[path = "wire/properties.rs"]
mod properties;
#[path = "wire/provisioner.rs"]
mod provisioner;
