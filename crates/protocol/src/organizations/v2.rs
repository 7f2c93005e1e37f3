//! The v2-era client API (`ps.<domain>/api/…`, and `/ps/api/…` on the single origin), as the
//! `sliderule` 4.x Python client calls it. Field names and formats are the old Provisioning
//! System's, kept exactly: `exp` as `YYYY-MM-DDTHH:MM:SSUTC`, lifetimes as strings of seconds.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::Secret;

/// The v2 paths. Those with `{…}` take path segments; every one ends with `/` as the client
/// sends it.
pub mod paths {
    /// The prefix every v2 path starts with.
    pub const API: &str = "/api";
    /// Username, password and organization → tokens.
    pub const ORG_TOKEN: &str = "/api/org_token/";
    /// A GitHub token and organization → tokens.
    pub const ORG_TOKEN_GITHUB: &str = "/api/org_token_github/";
    /// A refresh token → new tokens.
    pub const ORG_TOKEN_REFRESH: &str = "/api/org_token/refresh/";
    /// Revoke a refresh token's family.
    pub const TOKEN_BLACKLIST: &str = "/api/token/blacklist/";
    /// `GET /api/membership_status/<org>/`.
    pub const MEMBERSHIP_STATUS: &str = "/api/membership_status/{org}/";
    /// `GET /api/org_num_nodes/<org>/`.
    pub const ORG_NUM_NODES: &str = "/api/org_num_nodes/{org}/";
    /// `POST /api/desired_org_num_nodes_ttl/<org>/<n>/<ttl>/`.
    pub const DESIRED_NODES_TTL: &str = "/api/desired_org_num_nodes_ttl/{org}/{nodes}/{ttl}/";
    /// `PUT /api/desired_org_num_nodes/<org>/<n>/`.
    pub const DESIRED_NODES: &str = "/api/desired_org_num_nodes/{org}/{nodes}/";
    /// `GET /api/org_ip_adr/<org>/`.
    pub const ORG_IP_ADDRESS: &str = "/api/org_ip_adr/{org}/";
    /// `PUT /api/org_config/<org>/<min>/<max>/`.
    pub const ORG_CONFIG: &str = "/api/org_config/{org}/{min}/{max}/";
    /// `PUT /api/remove_user_org_num_nodes_reqs/<org>/`.
    pub const REMOVE_USER_REQUESTS: &str = "/api/remove_user_org_num_nodes_reqs/{org}/";
    /// `PUT /api/remove_all_org_num_nodes_reqs/<org>/`.
    pub const REMOVE_ALL_REQUESTS: &str = "/api/remove_all_org_num_nodes_reqs/{org}/";
}

/// `"SUCCESS"`, the `status` of answers that succeeded.
pub const SUCCESS: &str = "SUCCESS";
/// `"FAILED"`, the `status` of every error.
pub const FAILED: &str = "FAILED";
/// A capacity request that was recorded.
pub const QUEUED: &str = "QUEUED";
/// A capacity request the caller had made already.
pub const REDUNDANT: &str = "REDUNDANT";

/// Body of `POST /api/org_token/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgTokenRequest {
    /// A local account (or the login of a GitHub account that has a local password).
    pub username: String,
    /// Its password.
    pub password: Secret,
    /// The organization the tokens are for.
    pub org_name: String,
}

/// Body of `POST /api/org_token_github/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgTokenGithubRequest {
    /// The organization the tokens are for.
    pub org_name: String,
    /// A GitHub token of the person (a PAT).
    pub access_token: Secret,
}

/// Body of `POST /api/org_token/refresh/` and `/api/token/blacklist/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = V2RefreshRequest))]
pub struct RefreshRequest {
    /// The refresh token.
    pub refresh: Secret,
}

/// The tokens the v2 endpoints answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgTokens {
    /// The access token (our RS256 JWT).
    pub access: Secret,
    /// The refresh token (rotating).
    pub refresh: Secret,
    /// When the access token expires, `YYYY-MM-DDTHH:MM:SSUTC`.
    pub exp: String,
    /// Seconds the access token lives, as `"3600.0"`.
    pub access_lifetime: String,
    /// Seconds the refresh token lives, as `"86400.0"`.
    pub refresh_lifetime: String,
}

/// `exp` as the old system wrote it: `2026-12-04T10:00:00UTC`.
pub fn exp_text(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A lifetime as the old system wrote it: seconds with one decimal, `"3600.0"`.
pub fn lifetime_text(seconds: u64) -> String {
    format!("{seconds}.0")
}

/// Body of `GET /api/membership_status/<org>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipStatus {
    /// Whether the caller is an active member.
    pub active: bool,
}

/// Body of `GET /api/org_num_nodes/<org>/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgNumNodes {
    /// `"SUCCESS"`.
    pub status: String,
    /// The floor.
    pub min_nodes: u32,
    /// Nodes running now (0 when asleep).
    pub current_nodes: u32,
    /// The ceiling.
    pub max_nodes: u32,
    /// The release the cluster runs.
    pub version: String,
    /// Whether the cluster is public.
    pub is_public: bool,
}

/// Body answering a capacity request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DesiredNodes {
    /// `"QUEUED"` or `"REDUNDANT"`.
    pub status: String,
    /// What happens now.
    pub msg: String,
    /// Always empty here (the client reads it).
    pub error_msg: String,
}

/// Body of `GET /api/org_ip_adr/<org>/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IpAddress {
    /// `"SUCCESS"`.
    pub status: String,
    /// The cluster's public address.
    pub ip_address: String,
}

/// Body of the v2 answers that only report success.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Done {
    /// `"SUCCESS"`.
    pub status: String,
    /// What was done.
    pub msg: String,
}

impl Done {
    /// A success saying `msg`.
    pub fn new(msg: impl Into<String>) -> Self {
        Self {
            status: SUCCESS.to_owned(),
            msg: msg.into(),
        }
    }
}

/// The v2 error envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = V2Failure))]
pub struct Failed {
    /// `"FAILED"`.
    pub status: String,
    /// A sentence for the person.
    pub error_msg: String,
}

impl Failed {
    /// A failure saying `error_msg`.
    pub fn new(error_msg: impl Into<String>) -> Self {
        Self {
            status: FAILED.to_owned(),
            error_msg: error_msg.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn exp_and_lifetimes_are_written_as_the_old_system_wrote_them() {
        assert_eq!(
            exp_text(datetime!(2026-12-04 09:05:07 UTC)),
            "2026-12-04T09:05:07UTC"
        );
        assert_eq!(lifetime_text(3600), "3600.0");
    }

    #[test]
    fn errors_carry_failed_and_a_sentence() {
        let json = serde_json::to_value(Failed::new("no")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "FAILED", "error_msg": "no"})
        );
    }
}
