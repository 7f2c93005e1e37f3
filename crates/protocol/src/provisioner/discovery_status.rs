//! A cluster's own `GET /discovery/status`, which clients poll to see nodes join.
//!
//! Served by SlideRule clusters, not by us; the web client and the simulated cloud use these
//! types to read and imitate it.

use serde::{Deserialize, Serialize};

/// Body of `/discovery/status` (`{"service": "sliderule"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscoveryStatusRequest {
    /// The service whose nodes to count.
    pub service: String,
}

/// Reply of `/discovery/status`. Other fields are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscoveryStatus {
    /// Nodes registered and serving.
    pub nodes: u32,
}

/// Reply of a cluster's own `GET /source/version`, which the official clients' version checks
/// read (`server.version`, `v<major>.<minor>.<patch>`). Other fields are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceVersion {
    /// The server's release.
    pub server: ServerVersion,
}

/// `server` of [`SourceVersion`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerVersion {
    /// `v<major>.<minor>.<patch>`.
    pub version: String,
    /// What built it (`simulated` for the demo's clusters).
    pub build: String,
}
