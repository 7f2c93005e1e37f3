//! Organizations (organizations.md): shared clusters with bounds, members' capacity requests,
//! membership requests and admins' decisions, local accounts, and the v2-era client API
//! ([`v2`]).
//!
//! An organization's name is a [`ClusterName`]: its cluster is `<org>.<domain>` and its stack
//! `<org>-cluster` like any cluster's.

pub mod accounts;
pub mod v2;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;

use crate::{ClusterName, Version};

pub use accounts::{
    AccountView, AccountsResponse, InvalidPassword, InvalidUsername, LocalTokenRequest,
    NewAccountRequest, PasswordChangeRequest, Username, check_password,
};

/// The shortest capacity request, in minutes (v2's rule).
pub const MIN_REQUEST_TTL: u32 = 15;
/// The longest capacity request, in minutes (v2's rule), further capped by the member's limits.
pub const MAX_REQUEST_TTL: u32 = 720;
/// The largest `max_nodes` anyone may set (v2's absolute maximum).
pub const ABSOLUTE_MAX_NODES: u32 = 1000;

/// The provisioner's organization paths, relative to its base URL.
pub mod paths {
    /// Every organization, with the caller's standing in each.
    pub const ORGANIZATIONS: &str = "/organizations";
    /// One organization: bounds, live requests, members (for its admins).
    pub const ORGANIZATION: &str = "/organizations/show";
    /// Owners create an organization.
    pub const CREATE: &str = "/organizations/create";
    /// Admins set the bounds, version, visibility or admins.
    pub const CONFIGURE: &str = "/organizations/configure";
    /// Ask to join.
    pub const MEMBERSHIP_REQUEST: &str = "/membership/request";
    /// An organization's members and pending requests (admins).
    pub const MEMBERSHIP_LIST: &str = "/membership/list";
    /// Admit a pending request (admins).
    pub const MEMBERSHIP_APPROVE: &str = "/membership/approve";
    /// Refuse a pending request (admins).
    pub const MEMBERSHIP_DENY: &str = "/membership/deny";
    /// Suspend an active member (admins).
    pub const MEMBERSHIP_DEACTIVATE: &str = "/membership/deactivate";
}

/// An organization's size bounds, checked: `0 ≤ min ≤ max ≤ cap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bounds {
    /// Nodes kept while nobody asks (0 lets the cluster sleep).
    pub min_nodes: u32,
    /// The most the pooled requests may grow it to.
    pub max_nodes: u32,
}

/// Why bounds were refused. Its `Display` is the error's description.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InvalidBounds {
    /// `min > max`.
    #[error("min_nodes {min} is more than max_nodes {max}; give 0 ≤ min_nodes ≤ max_nodes")]
    MinAboveMax {
        /// Asked minimum.
        min: u32,
        /// Asked maximum.
        max: u32,
    },
    /// `max` above the cap that applies.
    #[error("max_nodes {max} is more than the allowed maximum of {cap}")]
    AboveCap {
        /// Asked maximum.
        max: u32,
        /// The cap.
        cap: u32,
    },
}

impl Bounds {
    /// Checks `0 ≤ min ≤ max ≤ min(cap, ABSOLUTE_MAX_NODES)`.
    pub fn new(min_nodes: u32, max_nodes: u32, cap: u32) -> Result<Self, InvalidBounds> {
        let cap = cap.min(ABSOLUTE_MAX_NODES);
        if min_nodes > max_nodes {
            return Err(InvalidBounds::MinAboveMax {
                min: min_nodes,
                max: max_nodes,
            });
        }
        if max_nodes > cap {
            return Err(InvalidBounds::AboveCap {
                max: max_nodes,
                cap,
            });
        }
        Ok(Self {
            min_nodes,
            max_nodes,
        })
    }

    /// `nodes` clamped into the bounds.
    pub fn clamp(&self, nodes: u64) -> u32 {
        let nodes = u32::try_from(nodes).unwrap_or(u32::MAX);
        nodes.clamp(self.min_nodes, self.max_nodes)
    }
}

/// A member's live capacity request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapacityRequest {
    /// Who asked (a GitHub login or a local account).
    pub user: String,
    /// How many nodes they asked for.
    pub nodes: u32,
    /// When the request ends.
    #[serde(with = "crate::timestamp")]
    pub expires: OffsetDateTime,
}

/// The pooled size: the sum over users of each user's highest live request, clamped into the
/// bounds (the v2 rule). `requests` are the live ones.
pub fn pooled_target<'a>(
    requests: impl IntoIterator<Item = (&'a str, u32)>,
    bounds: Bounds,
) -> u32 {
    let mut highest: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for (user, nodes) in requests {
        let entry = highest.entry(user).or_insert(0);
        *entry = (*entry).max(nodes);
    }
    bounds.clamp(highest.values().map(|n| u64::from(*n)).sum())
}

/// Where someone stands in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MembershipState {
    /// Never asked (and not a member through a team or as an admin).
    None,
    /// Asked; waiting for an admin.
    Pending,
    /// A member.
    Active,
    /// Refused by an admin (may ask again).
    Denied,
    /// Suspended by an admin (may ask again).
    Deactivated,
}

impl MembershipState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipState::None => "none",
            MembershipState::Pending => "pending",
            MembershipState::Active => "active",
            MembershipState::Denied => "denied",
            MembershipState::Deactivated => "deactivated",
        }
    }

    /// The state named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "none" => MembershipState::None,
            "pending" => MembershipState::Pending,
            "active" => MembershipState::Active,
            "denied" => MembershipState::Denied,
            "deactivated" => MembershipState::Deactivated,
            _ => return None,
        })
    }
}

/// How the caller belongs to an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Not a member (see `membership` for a pending, denied or deactivated request).
    Outsider,
    /// A member (approved, or through the GitHub team of the same name).
    Member,
    /// An admin of the organization (or an owner, who administers every organization).
    Admin,
}

/// An organization as the provisioner shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    /// Its name (and its cluster's).
    pub name: ClusterName,
    /// Nodes kept while nobody asks.
    pub min_nodes: u32,
    /// The most the pooled requests may grow it to.
    pub max_nodes: u32,
    /// The release its cluster runs.
    pub version: String,
    /// Whether its cluster accepts requests without a token.
    pub is_public: bool,
    /// Its admins.
    pub admins: Vec<String>,
    /// The caller's standing.
    pub standing: Standing,
    /// The caller's membership request, if any.
    pub membership: MembershipState,
    /// Its live capacity requests (members and admins only; empty for outsiders).
    #[serde(default)]
    pub requests: Vec<CapacityRequest>,
    /// The target size the requests make now.
    pub target_nodes: u32,
}

/// Body of `/organizations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationsResponse {
    /// Every organization, by name.
    pub organizations: Vec<Organization>,
}

/// Body of `/organizations/show` and `/membership/list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationRequest {
    /// Which organization.
    pub organization: ClusterName,
}

/// Body of `/organizations/create` (owners).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateOrganizationRequest {
    /// Its name, which is its cluster's.
    pub organization: ClusterName,
    /// Nodes kept while nobody asks; 0 when absent.
    #[serde(default)]
    pub min_nodes: u32,
    /// The most the pooled requests may grow it to.
    pub max_nodes: u32,
    /// The release its cluster runs; `latest` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Whether its cluster is public; false when absent.
    #[serde(default)]
    pub is_public: bool,
    /// Its first admins (logins or local accounts).
    #[serde(default)]
    pub admins: Vec<String>,
}

/// Body of `/organizations/configure` (admins): absent fields stay as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigureRequest {
    /// Which organization.
    pub organization: ClusterName,
    /// New minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_nodes: Option<u32>,
    /// New maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
    /// New release (applies when the cluster is next created or updated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Whether the cluster is public (owners only; applies when it is next created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    /// New admins, replacing the old list (owners only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<String>>,
}

/// Body of `/membership/approve`, `/deny` and `/deactivate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipDecision {
    /// Which organization.
    pub organization: ClusterName,
    /// Whose membership.
    pub user: String,
}

/// One membership as admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    /// The organization.
    pub organization: ClusterName,
    /// The person (a GitHub login or a local account).
    pub user: String,
    /// Where it stands.
    pub state: MembershipState,
    /// When it was asked for.
    #[serde(with = "crate::timestamp")]
    pub requested_at: OffsetDateTime,
    /// When an admin last decided.
    #[serde(default, with = "crate::timestamp::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

/// Body answering `/membership/*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipsResponse {
    /// Newest request first.
    pub memberships: Vec<Membership>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(min: u32, max: u32) -> Bounds {
        Bounds::new(min, max, 1000).unwrap()
    }

    #[test]
    fn the_target_is_the_sum_of_each_users_highest_request_clamped() {
        let requests = [("bob", 2), ("bob", 3), ("erin", 1)];
        assert_eq!(pooled_target(requests, bounds(0, 6)), 4);
        assert_eq!(pooled_target(requests, bounds(0, 3)), 3, "clamped to max");
        assert_eq!(pooled_target([], bounds(2, 6)), 2, "the floor holds");
        assert_eq!(pooled_target([], bounds(0, 6)), 0, "nothing asked: asleep");
    }

    #[test]
    fn bounds_refuse_min_above_max_and_max_above_the_cap() {
        assert_eq!(
            Bounds::new(3, 2, 10).unwrap_err().to_string(),
            "min_nodes 3 is more than max_nodes 2; give 0 ≤ min_nodes ≤ max_nodes"
        );
        assert_eq!(
            Bounds::new(0, 11, 10).unwrap_err().to_string(),
            "max_nodes 11 is more than the allowed maximum of 10"
        );
        assert_eq!(
            Bounds::new(0, 5000, u32::MAX).unwrap_err().to_string(),
            "max_nodes 5000 is more than the allowed maximum of 1000"
        );
        assert!(Bounds::new(0, 0, 10).is_ok());
    }

    #[test]
    fn membership_states_round_trip_their_names() {
        for state in [
            MembershipState::None,
            MembershipState::Pending,
            MembershipState::Active,
            MembershipState::Denied,
            MembershipState::Deactivated,
        ] {
            assert_eq!(MembershipState::parse(state.as_str()), Some(state));
        }
        assert_eq!(MembershipState::parse("nope"), None);
    }
}
