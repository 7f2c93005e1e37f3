//! Organizations (organizations.md): who belongs to which, and the seed that creates them.
//!
//! Membership has three sources, and this module is where they meet:
//! - the GitHub team of the same name (its members' tokens carry the name in `aud`, as any team
//!   cluster's do);
//! - an approved membership request (a row in the store, `active`);
//! - being one of its admins, or an owner of the GitHub organization (who administers every
//!   organization).
//!
//! A token says what was true when it was minted; a deactivation in the store overrides it at
//! once (see [`standing`]), while an approval reaches the person's tokens at their next sign-in
//! or refresh ([`granted`] is read then).

pub mod seed;

use sliderule_protocol::organizations::{MembershipState, Standing};
use sliderule_protocol::{Claims, ClusterName};

use crate::store::{MembershipRow, OrganizationRow, Store, StoreError};

/// The organizations `login` belongs to by the store: active memberships and admin seats, by
/// name. (Team members' organizations come from GitHub, in the token's clusters.)
pub async fn granted(store: &dyn Store, login: &str) -> Result<Vec<ClusterName>, StoreError> {
    let login = login.to_ascii_lowercase();
    let mut names: Vec<String> = store
        .memberships_of(&login)
        .await?
        .into_iter()
        .filter(|m| m.state == MembershipState::Active)
        .map(|m| m.organization)
        .collect();
    for org in store.organizations().await? {
        if org.admins.contains(&login) {
            names.push(org.name);
        }
    }
    names.sort();
    names.dedup();
    Ok(names
        .iter()
        .filter_map(|name| ClusterName::parse(name).ok())
        .collect())
}

/// Whether the holder of `claims` administers `org`: one of its admins, or an owner.
pub fn is_admin(claims: &Claims, org: &OrganizationRow) -> bool {
    claims.is_owner()
        || org
            .admins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&claims.sub))
}

/// Where the holder of `claims` stands in `org` now. A deactivated membership shuts them out
/// even if their token still names the organization; admins cannot be shut out that way.
pub fn standing(
    claims: &Claims,
    org: &OrganizationRow,
    membership: Option<&MembershipRow>,
) -> Standing {
    if is_admin(claims, org) {
        return Standing::Admin;
    }
    let deactivated = membership.is_some_and(|m| m.state == MembershipState::Deactivated);
    let member = membership.is_some_and(|m| m.state == MembershipState::Active)
        || ClusterName::parse(&org.name).is_ok_and(|name| claims.may_use_cluster(&name));
    if member && !deactivated {
        Standing::Member
    } else {
        Standing::Outsider
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sliderule_protocol::OrgRoles;
    use time::OffsetDateTime;

    fn org() -> OrganizationRow {
        OrganizationRow {
            name: "icesat2".into(),
            min_nodes: 0,
            max_nodes: 6,
            version: "latest".into(),
            is_public: false,
            admins: vec!["carol".into()],
            created_at: OffsetDateTime::UNIX_EPOCH,
            created_by: "alice".into(),
            revision: 1,
        }
    }

    fn claims(sub: &str, aud: &[&str], roles: OrgRoles) -> Claims {
        serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": sub, "aud": aud, "org": "o", "org_roles": roles, "iat": 1, "exp": 2
        }))
        .unwrap()
    }

    fn membership(state: MembershipState) -> MembershipRow {
        MembershipRow {
            organization: "icesat2".into(),
            user: "bob".into(),
            state,
            requested_at: OffsetDateTime::UNIX_EPOCH,
            decided_at: None,
            decided_by: None,
        }
    }

    #[test]
    fn team_members_admins_and_owners_stand_where_they_should() {
        let bob = claims("bob", &["provisioner", "icesat2"], OrgRoles::MEMBER);
        assert_eq!(standing(&bob, &org(), None), Standing::Member);
        let carol = claims("Carol", &["provisioner"], OrgRoles::MEMBER);
        assert_eq!(standing(&carol, &org(), None), Standing::Admin);
        let alice = claims("alice", &["*"], OrgRoles::OWNER);
        assert_eq!(standing(&alice, &org(), None), Standing::Admin);
        let dave = claims("dave", &[], OrgRoles::NONE);
        assert_eq!(standing(&dave, &org(), None), Standing::Outsider);
        let pending = membership(MembershipState::Pending);
        assert_eq!(standing(&dave, &org(), Some(&pending)), Standing::Outsider);
        let active = membership(MembershipState::Active);
        assert_eq!(standing(&dave, &org(), Some(&active)), Standing::Member);
    }

    #[test]
    fn a_deactivation_overrides_the_token_at_once() {
        let bob = claims("bob", &["provisioner", "icesat2"], OrgRoles::MEMBER);
        let deactivated = membership(MembershipState::Deactivated);
        assert_eq!(
            standing(&bob, &org(), Some(&deactivated)),
            Standing::Outsider
        );
    }
}
