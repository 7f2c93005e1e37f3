//! Integration tests of the GitHub emulator: the real router on a random loopback port, called
//! with a real HTTP client, as the authenticator will call GitHub.

#[path = "emulator/support.rs"]
mod support;

#[path = "emulator/api.rs"]
mod api;
#[path = "emulator/binary.rs"]
mod binary;
#[path = "emulator/device_flow.rs"]
mod device_flow;
#[path = "emulator/faults.rs"]
mod faults;
#[path = "emulator/mounting.rs"]
mod mounting;
#[path = "emulator/web_flow.rs"]
mod web_flow;
