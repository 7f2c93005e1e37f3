//! `/info`: who the caller is, what they may deploy and within which limits.

use serde::{Deserialize, Serialize};

use super::Budget;
use crate::authenticator::oauth::known_clusters;
use crate::{Claims, Limits, OrgRoles, Pricing};

/// 200 of `/info`, upstream HEAD's shape plus `budget` when budgets are on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfoResponse {
    /// The GitHub login.
    pub username: String,
    /// Roles in the organization.
    pub org_roles: OrgRoles,
    /// Clusters the caller can reach.
    pub known_clusters: Vec<String>,
    /// Clusters the caller may deploy; `*` for owners.
    pub deployable_clusters: Vec<String>,
    /// Most nodes per cluster.
    pub max_nodes: u32,
    /// Longest TTL, minutes.
    #[serde(rename = "maxTTL")]
    pub max_ttl: u32,
    /// The caller's budget, when budgets are configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// The prices budgets charge, when budgets are configured: what a client needs to show a
    /// deploy's projected cost before sending it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
}

impl InfoResponse {
    /// The info of a caller with these claims and limits (the server's configured limits win
    /// over whatever the token carries). No budget.
    pub fn new(claims: &Claims, limits: Limits, public_cluster: Option<&str>) -> Self {
        Self {
            username: claims.sub.clone(),
            org_roles: claims.org_roles,
            known_clusters: known_clusters(claims, public_cluster),
            deployable_clusters: claims.deployable_clusters(),
            max_nodes: limits.max_nodes,
            max_ttl: limits.max_ttl,
            budget: None,
            pricing: None,
        }
    }
}
