//! Organization roles carried in tokens, and the access level they add up to.

use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

/// A role in the configured GitHub organization, as carried in `org_roles`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    /// An organization admin who asked for `sliderule:admin`.
    Owner,
    /// An active member of the organization.
    Member,
    /// Someone outside the organization with a configured affiliate entry.
    Affiliate,
}

impl OrgRole {
    /// Every role, in the order `org_roles` lists them.
    pub const ALL: [OrgRole; 3] = [OrgRole::Owner, OrgRole::Member, OrgRole::Affiliate];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Member => "member",
            OrgRole::Affiliate => "affiliate",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            OrgRole::Owner => 1,
            OrgRole::Member => 2,
            OrgRole::Affiliate => 4,
        }
    }
}

impl fmt::Display for OrgRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles. Serializes as a JSON array always ordered owner, member, affiliate, so the
/// same person always gets the same token claims; reads arrays in any order (upstream built them
/// as affiliate, owner, member).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OrgRoles(u8);

impl OrgRoles {
    /// No roles: a GitHub user outside the organization.
    pub const NONE: OrgRoles = OrgRoles(0);

    /// `["member"]`.
    pub const MEMBER: OrgRoles = OrgRoles(2);

    /// `["owner", "member"]`: an owner is always a member too.
    pub const OWNER: OrgRoles = OrgRoles(1 | 2);

    /// `["affiliate"]`.
    pub const AFFILIATE: OrgRoles = OrgRoles(4);

    /// Whether the set holds `role`.
    pub const fn contains(self, role: OrgRole) -> bool {
        self.0 & role.bit() != 0
    }

    /// Adds `role`.
    pub fn insert(&mut self, role: OrgRole) {
        self.0 |= role.bit();
    }

    /// The set with `role` added.
    #[must_use]
    pub const fn with(self, role: OrgRole) -> Self {
        Self(self.0 | role.bit())
    }

    /// Whether there are no roles.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in canonical order.
    pub fn iter(self) -> impl Iterator<Item = OrgRole> {
        OrgRole::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// The roles joined by commas (`owner,member`), the form of upstream's `info.orgRoles`.
    pub fn comma_joined(self) -> String {
        self.iter()
            .map(OrgRole::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The access level these roles give to someone who is signed in.
    pub fn level(self) -> Level {
        Level::from_roles(self)
    }
}

impl fmt::Debug for OrgRoles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<OrgRole> for OrgRoles {
    fn from_iter<I: IntoIterator<Item = OrgRole>>(iter: I) -> Self {
        let mut roles = OrgRoles::NONE;
        for role in iter {
            roles.insert(role);
        }
        roles
    }
}

impl Serialize for OrgRoles {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let roles: Vec<OrgRole> = self.iter().collect();
        let mut seq = serializer.serialize_seq(Some(roles.len()))?;
        for role in roles {
            seq.serialize_element(&role)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for OrgRoles {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RolesVisitor;
        impl<'de> Visitor<'de> for RolesVisitor {
            type Value = OrgRoles;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of roles (owner, member, affiliate)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OrgRoles, A::Error> {
                let mut roles = OrgRoles::NONE;
                while let Some(role) = seq.next_element::<OrgRole>()? {
                    roles.insert(role);
                }
                Ok(roles)
            }
        }
        deserializer.deserialize_seq(RolesVisitor)
    }
}

/// `info.orgRoles` as upstream sends it: one comma-joined string. Use with
/// `#[serde(with = "roles::comma_joined")]`.
pub mod comma_joined {
    use serde::de::{self, Deserializer};
    use serde::{Deserialize, Serializer};

    use super::{OrgRole, OrgRoles};

    /// Writes `owner,member`.
    pub fn serialize<S: Serializer>(roles: &OrgRoles, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&roles.comma_joined())
    }

    /// Reads `owner,member` (or the empty string).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OrgRoles, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                OrgRole::ALL
                    .into_iter()
                    .find(|role| role.as_str() == part)
                    .ok_or_else(|| de::Error::custom(format!("unknown organization role {part:?}")))
            })
            .collect()
    }
}

/// What someone may do, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// No token.
    Anonymous,
    /// Signed in with GitHub, not in the organization: uses public clusters with a named token.
    GithubUser,
    /// Active member of the organization.
    Member,
    /// Configured affiliate: member rights for the affiliate's clusters, with its own limits.
    Affiliate,
    /// Organization admin who asked for admin powers.
    Owner,
}

impl Level {
    /// The level of someone signed in with these roles. Owner beats member beats affiliate: a
    /// member who is also an affiliate keeps the member's standing.
    pub fn from_roles(roles: OrgRoles) -> Level {
        if roles.contains(OrgRole::Owner) {
            Level::Owner
        } else if roles.contains(OrgRole::Member) {
            Level::Member
        } else if roles.contains(OrgRole::Affiliate) {
            Level::Affiliate
        } else {
            Level::GithubUser
        }
    }

    /// Whether this level may call the provisioner at all.
    pub const fn may_provision(self) -> bool {
        matches!(self, Level::Member | Level::Affiliate | Level::Owner)
    }

    /// Whether this level has owner powers (every cluster, the report, the test runner).
    pub const fn is_owner(self) -> bool {
        matches!(self, Level::Owner)
    }

    /// The wire name, e.g. `github_user`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Anonymous => "anonymous",
            Level::GithubUser => "github_user",
            Level::Member => "member",
            Level::Affiliate => "affiliate",
            Level::Owner => "owner",
        }
    }

    /// A name to show people, e.g. `GitHub user`.
    pub const fn label(self) -> &'static str {
        match self {
            Level::Anonymous => "Anonymous",
            Level::GithubUser => "GitHub user",
            Level::Member => "Member",
            Level::Affiliate => "Affiliate",
            Level::Owner => "Owner",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_roles_serialize_in_owner_member_affiliate_order() {
        let roles: OrgRoles = [OrgRole::Affiliate, OrgRole::Member, OrgRole::Owner]
            .into_iter()
            .collect();
        assert_eq!(
            serde_json::to_string(&roles).unwrap(),
            r#"["owner","member","affiliate"]"#
        );
    }

    #[test]
    fn org_roles_read_any_order_and_duplicates() {
        let roles: OrgRoles =
            serde_json::from_str(r#"["affiliate","owner","member","owner"]"#).unwrap();
        assert_eq!(roles, OrgRoles::OWNER.with(OrgRole::Affiliate));
        let empty: OrgRoles = serde_json::from_str("[]").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn org_roles_refuse_unknown_roles() {
        assert!(serde_json::from_str::<OrgRoles>(r#"["admin"]"#).is_err());
    }

    #[test]
    fn org_roles_comma_join_in_canonical_order() {
        assert_eq!(OrgRoles::OWNER.comma_joined(), "owner,member");
        assert_eq!(OrgRoles::NONE.comma_joined(), "");
    }

    #[test]
    fn level_follows_the_strongest_role() {
        assert_eq!(Level::from_roles(OrgRoles::NONE), Level::GithubUser);
        assert_eq!(Level::from_roles(OrgRoles::MEMBER), Level::Member);
        assert_eq!(Level::from_roles(OrgRoles::AFFILIATE), Level::Affiliate);
        assert_eq!(Level::from_roles(OrgRoles::OWNER), Level::Owner);
        assert_eq!(
            Level::from_roles(OrgRoles::AFFILIATE.with(OrgRole::Member)),
            Level::Member
        );
    }

    #[test]
    fn only_members_affiliates_and_owners_may_provision() {
        assert!(!Level::Anonymous.may_provision());
        assert!(!Level::GithubUser.may_provision());
        assert!(Level::Member.may_provision());
        assert!(Level::Affiliate.may_provision());
        assert!(Level::Owner.may_provision());
    }
}
