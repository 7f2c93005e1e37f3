//! The service's own paths at the root of every origin: liveness, readiness, metrics, the web
//! client's runtime configuration and the API's OpenAPI document.

/// The service's root paths.
pub mod paths {
    /// Liveness: 200 while the process serves.
    pub const HEALTH: &str = "/health";
    /// Readiness: 200 when the store, keys and cloud answer; 503 otherwise.
    pub const READY: &str = "/ready";
    /// Prometheus metrics (text).
    pub const METRICS: &str = "/metrics";
    /// The web client's runtime configuration.
    pub const CONFIG: &str = "/config.json";
    /// The OpenAPI document of every endpoint.
    pub const OPENAPI: &str = "/openapi.json";
}

use serde::{Deserialize, Serialize};

/// 200 of `/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The backend's version.
    pub version: String,
}

/// One dependency's check in `/ready`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    /// `store`, `signing_key`, `web_client`.
    pub name: String,
    /// Whether it can do its job.
    pub ok: bool,
    /// What is wrong (or a warning), when something is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `/ready`: 200 `ready` when every check passes, 503 `not_ready` otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Each dependency's check.
    pub checks: Vec<Check>,
}
