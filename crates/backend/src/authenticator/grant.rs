//! What a signed-in person gets: their roles, scopes, audiences, clusters and limits, decided from
//! what GitHub says about them, the scopes their client asked for, and the flow they used.
//!
//! Pure functions, no I/O, so every rule of authenticator.md "Levels, scopes and roles" and
//! "The JWT" is tested here directly:
//! - owner needs GitHub org admin **and** a request for `sliderule:admin`, in a flow that may
//!   grant it (personal access tokens never do, as upstream); owner implies member;
//! - a member's clusters are the personal one (the login lowercased, when it is a valid cluster
//!   name and personal clusters are on), team slugs, and affiliate clusters; owners have `*`;
//! - audiences exist only for members and affiliates: `provisioner`, `monitor`, `runner` for the
//!   matching scopes, every allowed cluster for `sliderule:access`, and `*` for owners.

use std::time::Duration;

use sliderule_protocol::claims::{
    ANY_CLUSTER, LOCAL_IDP, MONITOR_AUDIENCE, PROVISIONER_AUDIENCE, RUNNER_AUDIENCE,
};
use sliderule_protocol::{Claims, ClusterName, Limits, OrgRole, OrgRoles, Scope, Scopes};
use time::OffsetDateTime;

use crate::github::Membership;

/// How someone signed in; decides which scopes can be granted and how long the token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// `POST /auth/github/pat`: member scopes at most, never owner (upstream rule).
    PersonalAccessToken,
    /// The device flow: asks for every scope by default, so it is how owners use the clients.
    Device,
    /// The web client's PKCE flow; owner only with "sign in as administrator".
    Browser,
    /// `GET /auth/github/basic/login`: guest scopes, for cluster monitoring pages.
    Basic,
    /// A local account's username and password (`/auth/local/token`, v2's `/api/org_token/`):
    /// member scopes at most, never owner; short tokens, refreshed like the browser's.
    Password,
}

impl Flow {
    /// The most a flow can grant, whatever is asked.
    fn ceiling(self) -> Scopes {
        match self {
            Flow::PersonalAccessToken | Flow::Password => Scopes::MEMBER,
            Flow::Device | Flow::Browser => Scopes::ALL,
            Flow::Basic => Scopes::GUEST,
        }
    }
}

/// What GitHub says about a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GitHubIdentity {
    pub login: String,
    pub github_id: u64,
    pub membership: Membership,
    /// Slugs of their teams in the organization.
    pub teams: Vec<String>,
}

/// An entry of the affiliates file: someone outside the organization who may use clusters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Affiliate {
    pub active: bool,
    pub clusters: Vec<ClusterName>,
    pub max_nodes: Option<u32>,
    pub max_ttl: Option<u32>,
    /// The most this affiliate may be granted; all member scopes when unset.
    pub allowed_scopes: Option<Scopes>,
}

/// The deployment's rules: organization, issuer, per-level limits, lifetimes.
#[derive(Debug, Clone)]
pub struct GrantPolicy {
    pub issuer: String,
    pub org: String,
    pub personal_clusters: bool,
    pub member_limits: Limits,
    pub owner_limits: Limits,
    /// Browser tokens are short (the web client refreshes); the official clients never refresh.
    pub browser_lifetime: Duration,
    pub client_lifetime: Duration,
}

impl GrantPolicy {
    fn lifetime(&self, flow: Flow) -> Duration {
        match flow {
            Flow::Browser | Flow::Basic | Flow::Password => self.browser_lifetime,
            Flow::PersonalAccessToken | Flow::Device => self.client_lifetime,
        }
    }
}

/// What the store adds to what GitHub says: the organizations someone belongs to by an approved
/// membership or as an admin, and, for a v2 token, the organization it is issued for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Belonging {
    pub organizations: Vec<ClusterName>,
    pub v2_organization: Option<String>,
}

/// The claims of a new access token.
#[allow(clippy::too_many_arguments)]
pub fn claims(
    identity: &GitHubIdentity,
    affiliate: Option<&Affiliate>,
    belonging: &Belonging,
    requested: Scopes,
    flow: Flow,
    policy: &GrantPolicy,
    now: OffsetDateTime,
    jti: String,
) -> Claims {
    let affiliate = affiliate.filter(|a| a.active);
    let local = flow == Flow::Password;
    // A local account is never a member of the GitHub organization, whatever its row says.
    let github_member = identity.membership.is_active() && !local;
    // Belonging to an organization makes a member (organizations.md), with no personal cluster.
    let member = github_member || !belonging.organizations.is_empty();
    let owner = identity.membership == Membership::Admin
        && !local
        && flow.ceiling().contains(Scope::SlideruleAdmin)
        && requested.contains(Scope::SlideruleAdmin);

    let mut roles = if owner {
        OrgRoles::OWNER
    } else if member {
        OrgRoles::MEMBER
    } else {
        OrgRoles::NONE
    };
    if affiliate.is_some() {
        roles.insert(OrgRole::Affiliate);
    }

    let entitled = if owner {
        Scopes::ALL
    } else if member {
        Scopes::MEMBER
    } else if let Some(affiliate) = affiliate {
        affiliate
            .allowed_scopes
            .unwrap_or(Scopes::MEMBER)
            .intersection(Scopes::MEMBER)
    } else {
        Scopes::GUEST
    };
    let scope = requested
        .intersection(flow.ceiling())
        .intersection(entitled);

    let clusters = clusters(identity, affiliate, github_member, belonging, policy);
    let audience = audience(&scope, &clusters, owner, member || affiliate.is_some());
    let limits = if owner {
        policy.owner_limits
    } else if member {
        policy.member_limits
    } else if let Some(affiliate) = affiliate {
        Limits {
            max_nodes: affiliate
                .max_nodes
                .unwrap_or(policy.member_limits.max_nodes),
            max_ttl: affiliate.max_ttl.unwrap_or(policy.member_limits.max_ttl),
        }
    } else {
        Limits::NONE
    };

    let issued = now.unix_timestamp();
    // v2 tokens are short and refreshed (the 4.x client refreshes at half their life), whatever
    // signed their holder in.
    let lifetime = if belonging.v2_organization.is_some() {
        policy.browser_lifetime
    } else {
        policy.lifetime(flow)
    };
    let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
    Claims {
        iss: policy.issuer.clone(),
        sub: identity.login.clone(),
        // A local account's id is not a GitHub id.
        github_id: (!local).then_some(identity.github_id),
        aud: audience,
        org: policy.org.clone(),
        org_roles: roles,
        scope: Some(scope),
        max_nodes: Some(limits.max_nodes),
        max_ttl: Some(limits.max_ttl),
        iat: issued,
        nbf: Some(issued),
        exp: issued.saturating_add(lifetime),
        jti: Some(jti),
        idp: local.then(|| LOCAL_IDP.to_owned()),
        org_name: belonging.v2_organization.clone(),
        user_name: belonging
            .v2_organization
            .as_ref()
            .map(|_| identity.login.clone()),
        user_id: belonging
            .v2_organization
            .as_ref()
            .map(|_| identity.github_id),
    }
}

/// The clusters someone may deploy, in a stable order without repeats.
fn clusters(
    identity: &GitHubIdentity,
    affiliate: Option<&Affiliate>,
    member: bool,
    belonging: &Belonging,
    policy: &GrantPolicy,
) -> Vec<ClusterName> {
    let mut clusters: Vec<ClusterName> = Vec::new();
    let mut add = |name: ClusterName| {
        if !clusters.contains(&name) {
            clusters.push(name);
        }
    };
    if member {
        if policy.personal_clusters
            && let Ok(personal) = ClusterName::parse(&identity.login)
        {
            add(personal);
        }
        // A team whose slug is not a valid cluster name (e.g. a reserved word) gives no cluster.
        for team in &identity.teams {
            if let Ok(name) = ClusterName::parse(team) {
                add(name);
            }
        }
    }
    if let Some(affiliate) = affiliate {
        for name in &affiliate.clusters {
            add(name.clone());
        }
    }
    for name in &belonging.organizations {
        add(name.clone());
    }
    clusters
}

fn audience(
    scope: &Scopes,
    clusters: &[ClusterName],
    owner: bool,
    provisions: bool,
) -> Vec<String> {
    if !provisions {
        return Vec::new();
    }
    let mut audience = Vec::new();
    for (needed, name) in [
        (Scope::ProvisionerAccess, PROVISIONER_AUDIENCE),
        (Scope::MonitorAccess, MONITOR_AUDIENCE),
        (Scope::RunnerAccess, RUNNER_AUDIENCE),
    ] {
        if scope.contains(needed) {
            audience.push(name.to_owned());
        }
    }
    if scope.contains(Scope::SlideruleAccess) {
        audience.extend(clusters.iter().map(|c| c.as_str().to_owned()));
    }
    if owner {
        audience.push(ANY_CLUSTER.to_owned());
    }
    audience
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> GrantPolicy {
        GrantPolicy {
            issuer: "https://login.sliderule.test".into(),
            org: "SlideRuleEarth".into(),
            personal_clusters: true,
            member_limits: Limits::MEMBER,
            owner_limits: Limits::OWNER,
            browser_lifetime: Duration::from_secs(3600),
            client_lifetime: Duration::from_secs(12 * 3600),
        }
    }

    fn person(login: &str, membership: Membership, teams: &[&str]) -> GitHubIdentity {
        GitHubIdentity {
            login: login.into(),
            github_id: 1000,
            membership,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()
    }

    fn grant(identity: &GitHubIdentity, requested: Scopes, flow: Flow) -> Claims {
        claims(
            identity,
            None,
            &Belonging::default(),
            requested,
            flow,
            &policy(),
            now(),
            "jti-1".into(),
        )
    }

    fn aud(claims: &Claims) -> Vec<&str> {
        claims.aud.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_member_gets_their_personal_and_team_clusters() {
        let bob = person("Bob", Membership::Member, &["icesat2"]);
        let claims = grant(&bob, Scopes::MEMBER, Flow::PersonalAccessToken);
        assert_eq!(claims.org_roles, OrgRoles::MEMBER);
        assert_eq!(
            aud(&claims),
            ["provisioner", "monitor", "runner", "bob", "icesat2"]
        );
        assert_eq!((claims.max_nodes, claims.max_ttl), (Some(10), Some(720)));
        assert_eq!(claims.sub, "Bob", "sub keeps GitHub's spelling");
    }

    #[test]
    fn an_admin_asking_for_admin_in_the_device_flow_is_an_owner() {
        let alice = person("alice", Membership::Admin, &[]);
        let claims = grant(&alice, Scopes::ALL, Flow::Device);
        assert_eq!(claims.org_roles, OrgRoles::OWNER);
        assert!(claims.is_owner());
        assert_eq!(claims.aud.last().map(String::as_str), Some("*"));
        assert_eq!(
            (claims.max_nodes, claims.max_ttl),
            (Some(500), Some(525_600))
        );
        assert_eq!(claims.scope, Some(Scopes::ALL));
    }

    #[test]
    fn an_admin_who_does_not_ask_for_admin_is_a_member() {
        let alice = person("alice", Membership::Admin, &[]);
        let claims = grant(&alice, Scopes::MEMBER, Flow::Browser);
        assert_eq!(claims.org_roles, OrgRoles::MEMBER);
        assert!(!claims.aud.contains(&"*".to_owned()));
    }

    #[test]
    fn a_personal_access_token_never_makes_an_owner() {
        let alice = person("alice", Membership::Admin, &[]);
        let claims = grant(&alice, Scopes::ALL, Flow::PersonalAccessToken);
        assert_eq!(claims.org_roles, OrgRoles::MEMBER);
        assert!(!claims.scope.unwrap().contains(Scope::SlideruleAdmin));
        assert_eq!(claims.max_nodes, Some(10));
    }

    #[test]
    fn a_non_member_gets_a_token_without_provisioner_access() {
        let dave = person("dave", Membership::None, &["icesat2"]);
        let claims = grant(&dave, Scopes::ALL, Flow::Device);
        assert_eq!(claims.org_roles, OrgRoles::NONE);
        assert!(claims.aud.is_empty());
        assert_eq!(claims.scope, Some(Scopes::GUEST));
        assert_eq!((claims.max_nodes, claims.max_ttl), (Some(0), Some(0)));
    }

    #[test]
    fn a_pending_invitation_is_treated_as_not_a_member() {
        let carol = person("carol", Membership::Pending, &[]);
        let claims = grant(&carol, Scopes::MEMBER, Flow::PersonalAccessToken);
        assert_eq!(claims.org_roles, OrgRoles::NONE);
        assert!(claims.aud.is_empty());
    }

    #[test]
    fn basic_login_is_guest_scoped_even_for_owners() {
        let alice = person("alice", Membership::Admin, &[]);
        let claims = grant(&alice, Scopes::ALL, Flow::Basic);
        assert_eq!(claims.scope, Some(Scopes::GUEST));
        assert!(!claims.is_owner());
        assert_eq!(aud(&claims), ["monitor", "alice"]);
    }

    #[test]
    fn only_the_scopes_asked_for_are_granted() {
        let bob = person("bob", Membership::Member, &[]);
        let asked = Scopes::NONE.with(Scope::SlideruleAccess);
        let claims = grant(&bob, asked, Flow::Browser);
        assert_eq!(claims.scope, Some(asked));
        assert_eq!(
            aud(&claims),
            ["bob"],
            "no provisioner audience without provisioner:access"
        );
    }

    #[test]
    fn invalid_or_reserved_names_give_no_cluster_and_repeats_are_dropped() {
        let user = person(
            "under_score",
            Membership::Member,
            &["api", "icesat2", "ICESat2", "x_y"],
        );
        let claims = grant(&user, Scopes::MEMBER, Flow::PersonalAccessToken);
        assert_eq!(
            aud(&claims),
            ["provisioner", "monitor", "runner", "icesat2"]
        );
    }

    #[test]
    fn personal_clusters_can_be_turned_off() {
        let bob = person("bob", Membership::Member, &["icesat2"]);
        let policy = GrantPolicy {
            personal_clusters: false,
            ..policy()
        };
        let claims = claims(
            &bob,
            None,
            &Belonging::default(),
            Scopes::MEMBER,
            Flow::Device,
            &policy,
            now(),
            "j".into(),
        );
        assert!(!claims.aud.contains(&"bob".to_owned()));
        assert!(claims.aud.contains(&"icesat2".to_owned()));
    }

    #[test]
    fn an_active_affiliate_gets_their_clusters_limits_and_allowed_scopes() {
        let erin = person("erin", Membership::None, &[]);
        let affiliate = Affiliate {
            active: true,
            clusters: vec![ClusterName::parse("partner").unwrap()],
            max_nodes: Some(4),
            max_ttl: None,
            allowed_scopes: Some(
                Scopes::NONE
                    .with(Scope::SlideruleAccess)
                    .with(Scope::ProvisionerAccess),
            ),
        };
        let claims = claims(
            &erin,
            Some(&affiliate),
            &Belonging::default(),
            Scopes::ALL,
            Flow::Device,
            &policy(),
            now(),
            "j".into(),
        );
        assert_eq!(claims.org_roles, OrgRoles::AFFILIATE);
        assert_eq!(aud(&claims), ["provisioner", "partner"]);
        assert_eq!((claims.max_nodes, claims.max_ttl), (Some(4), Some(720)));
    }

    #[test]
    fn an_inactive_affiliate_entry_is_ignored() {
        let erin = person("erin", Membership::None, &[]);
        let affiliate = Affiliate {
            active: false,
            clusters: vec![ClusterName::parse("partner").unwrap()],
            ..Affiliate::default()
        };
        let claims = claims(
            &erin,
            Some(&affiliate),
            &Belonging::default(),
            Scopes::ALL,
            Flow::Device,
            &policy(),
            now(),
            "j".into(),
        );
        assert_eq!(claims.org_roles, OrgRoles::NONE);
        assert!(claims.aud.is_empty());
    }

    #[test]
    fn lifetimes_follow_the_flow_and_times_are_whole_seconds() {
        let bob = person("bob", Membership::Member, &[]);
        let browser = grant(&bob, Scopes::MEMBER, Flow::Browser);
        let device = grant(&bob, Scopes::MEMBER, Flow::Device);
        let issued = now().unix_timestamp();
        assert_eq!(
            (browser.iat, browser.nbf, browser.exp),
            (issued, Some(issued), issued + 3600)
        );
        assert_eq!(device.exp, issued + 12 * 3600);
        assert_eq!(device.iss, "https://login.sliderule.test");
        assert_eq!(device.org, "SlideRuleEarth");
        assert_eq!(device.github_id, Some(1000));
        assert_eq!(device.jti.as_deref(), Some("jti-1"));
    }

    fn belonging(orgs: &[&str], v2: Option<&str>) -> Belonging {
        Belonging {
            organizations: orgs
                .iter()
                .map(|o| ClusterName::parse(o).unwrap())
                .collect(),
            v2_organization: v2.map(str::to_owned),
        }
    }

    #[test]
    fn a_local_account_in_an_organization_is_a_member_of_it_and_nothing_else() {
        // A local account's row carries no GitHub standing; even a forged admin one is ignored.
        let erin = person("erin", Membership::Admin, &["secret-team"]);
        let claims = claims(
            &erin,
            None,
            &belonging(&["icesat2"], None),
            Scopes::ALL,
            Flow::Password,
            &policy(),
            now(),
            "j".into(),
        );
        assert_eq!(claims.org_roles, OrgRoles::MEMBER);
        assert_eq!(
            aud(&claims),
            ["provisioner", "monitor", "runner", "icesat2"]
        );
        assert_eq!(claims.idp.as_deref(), Some("local"));
        assert_eq!(claims.github_id, None);
        assert_eq!(claims.max_nodes, Some(10));
        assert_eq!(
            claims.exp - claims.iat,
            3600,
            "short, refreshed like a browser's"
        );
    }

    #[test]
    fn a_local_account_in_no_organization_gets_no_provisioner_access() {
        let frank = person("frank", Membership::None, &[]);
        let claims = claims(
            &frank,
            None,
            &Belonging::default(),
            Scopes::MEMBER,
            Flow::Password,
            &policy(),
            now(),
            "j".into(),
        );
        assert_eq!(claims.org_roles, OrgRoles::NONE);
        assert!(claims.aud.is_empty());
    }

    #[test]
    fn an_approved_github_outsider_gets_the_organization_but_no_personal_cluster() {
        let dave = person("dave", Membership::None, &[]);
        let claims = claims(
            &dave,
            None,
            &belonging(&["icesat2"], Some("icesat2")),
            Scopes::MEMBER,
            Flow::PersonalAccessToken,
            &policy(),
            now(),
            "j".into(),
        );
        assert_eq!(claims.org_roles, OrgRoles::MEMBER);
        assert_eq!(
            aud(&claims),
            ["provisioner", "monitor", "runner", "icesat2"]
        );
        assert_eq!(claims.org_name.as_deref(), Some("icesat2"));
        assert_eq!(claims.user_name.as_deref(), Some("dave"));
        assert_eq!(claims.user_id, Some(1000));
        assert_eq!(claims.idp, None);
        assert_eq!(
            claims.exp - claims.iat,
            3600,
            "v2 tokens are short, whatever the flow"
        );
    }
}
