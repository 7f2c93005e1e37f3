//! `GET /auth/userinfo`: who the bearer of an access token is.

use serde::{Deserialize, Serialize};

use crate::{Claims, OrgRoles, Scopes};

/// 200 of `GET /auth/userinfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    /// The GitHub login.
    pub sub: String,
    /// The numeric GitHub id.
    pub github_id: u64,
    /// The organization login.
    pub org: String,
    /// Roles in the organization.
    pub org_roles: OrgRoles,
    /// Audiences.
    pub aud: Vec<String>,
    /// Granted scopes.
    pub scope: Scopes,
    /// Most nodes per cluster.
    pub max_nodes: u32,
    /// Longest TTL, minutes.
    pub max_ttl: u32,
    /// Expiry of the access token, seconds since the epoch.
    pub exp: i64,
}

impl UserInfo {
    /// The userinfo of a token with these claims, or `None` when the claims lack ours
    /// (`github_id`, `scope`, limits): only our own tokens are answered.
    pub fn from_claims(claims: &Claims) -> Option<Self> {
        Some(Self {
            sub: claims.sub.clone(),
            github_id: claims.github_id?,
            org: claims.org.clone(),
            org_roles: claims.org_roles,
            aud: claims.aud.clone(),
            scope: claims.scope?,
            max_nodes: claims.max_nodes?,
            max_ttl: claims.max_ttl?,
            exp: claims.exp,
        })
    }
}
