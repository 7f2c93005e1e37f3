//! The web client's run-time configuration, `config.json`.
//!
//! One build of the web client serves every deployment; this file, fetched at start, tells it where
//! the services are. The backend generates it in demo mode, operators write it elsewhere.

use serde::{Deserialize, Serialize};

/// The contents of `config.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebConfig {
    /// Base URL of the authenticator, e.g. `https://login.example.org`.
    pub authenticator_url: String,
    /// Base URL of the provisioner, e.g. `https://provisioner.example.org`.
    pub provisioner_url: String,
    /// A pre-registered OAuth client id; absent when the client registers itself (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The public cluster's name, if the deployment has one (usually `sliderule`, which is a
    /// reserved name and so a plain string, not a [`crate::ClusterName`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_cluster: Option<String>,
    /// Clusters are reachable at `<cluster>.<domain>`.
    pub domain: String,
    /// Owners' provisioner requests must be signed (the web client then signs them with its
    /// key); absent means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner_signatures: bool,
    /// The public cluster takes per-user node groups (`sliderule` in `/deploy/<user>`); absent
    /// means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public_node_groups: bool,
    /// People may create their own local account (`/auth/local/signup`); absent means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_signup: bool,
}
