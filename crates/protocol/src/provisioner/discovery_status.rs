//! A cluster's own `GET /discovery/status`, which clients poll to see nodes join.
//!
//! Served by SlideRule clusters, not by us; the web client and the simulated cloud use these
//! types to read and imitate it.

use serde::{Deserialize, Serialize};

/// Body of `/discovery/status` (`{"service": "sliderule"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryStatusRequest {
    /// The service whose nodes to count.
    pub service: String,
}

/// Reply of `/discovery/status`. Other fields are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryStatus {
    /// Nodes registered and serving.
    pub nodes: u32,
}
