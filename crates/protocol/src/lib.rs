//! Wire types and validation rules shared by the SlideRule backend and web client.
//!
//! Everything that crosses HTTP between the authenticator, the provisioner, the web client and the
//! official SlideRule clients is defined here once, so the server and the browser parse the same
//! way and refuse bad input with the same sentence. Validated values ([`ClusterName`], [`Ttl`],
//! [`NodeCapacity`], [`Version`], [`Scopes`]) can only be built through their checks, so holding
//! one is proof it was checked.
//!
//! The crate has no I/O and builds for `wasm32-unknown-unknown`.

#![warn(missing_docs)]

pub mod authenticator;
pub mod body;
pub mod claims;
pub mod cluster_name;
pub mod error;
pub mod flexible;
pub mod limits;
pub mod marker;
pub mod money;
pub mod node_capacity;
#[cfg(feature = "openapi")]
mod openapi;
pub mod organizations;
pub mod provisioner;
pub mod roles;
pub mod scope;
pub mod secret;
pub mod service;
pub mod timestamp;
pub mod ttl;
pub mod version;
pub mod web_config;

pub use body::{BodyError, parse_json_body};
pub use claims::Claims;
pub use cluster_name::{ClusterName, InvalidClusterName};
pub use error::{ErrorBody, codes};
pub use flexible::{InvalidBool, InvalidNumber};
pub use limits::{Limit, LimitError, Limits, MIN_TTL};
pub use money::{InsufficientFunds, InvalidAmount, Pricing, Usd};
pub use node_capacity::NodeCapacity;
pub use roles::{Level, OrgRole, OrgRoles};
pub use scope::{Scope, Scopes, UnknownScope};
pub use secret::Secret;
pub use ttl::Ttl;
pub use version::{InvalidVersion, Version};
pub use web_config::WebConfig;
