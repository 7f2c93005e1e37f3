//! The claim set of the JWTs the authenticator issues, as clusters, the provisioner and the web
//! client read them.
//!
//! Claims that older upstream tokens lack (`github_id`, `scope`, `max_nodes`, `max_ttl`, `nbf`,
//! `jti`) are optional and left out when absent, so an upstream token's claims read and write back
//! unchanged.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{ClusterName, Level, Limits, OrgRole, OrgRoles, Scopes};

/// The audience every owner token carries: every cluster.
pub const ANY_CLUSTER: &str = "*";

/// The audience the provisioner requires.
pub const PROVISIONER_AUDIENCE: &str = "provisioner";

/// The audience of cluster monitoring pages.
pub const MONITOR_AUDIENCE: &str = "monitor";

/// The audience of the test runner.
pub const RUNNER_AUDIENCE: &str = "runner";

/// A JWT claim set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claims {
    /// The issuer, the authenticator's public base URL.
    pub iss: String,
    /// The GitHub login. Clusters compare `x-sliderule-service` with it.
    pub sub: String,
    /// The numeric GitHub user id (logins can be renamed and reused, ids cannot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_id: Option<u64>,
    /// Audiences: services (`provisioner`, `monitor`, `runner`) and cluster names, or `*`.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// The organization login.
    pub org: String,
    /// Roles in the organization.
    pub org_roles: OrgRoles,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scopes>,
    /// Most nodes the holder may deploy in one cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
    /// Longest TTL the holder may ask for, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<u32>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// A unique id per token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Who vouched for the holder: `"local"` for a local account; absent for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// v2 tokens: the organization they were issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// v2 tokens: the holder's name (as `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// v2 tokens: the holder's numeric id (the GitHub id, or the local account's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
}

/// The `idp` of local accounts' tokens.
pub const LOCAL_IDP: &str = "local";

impl Claims {
    /// Whether `aud` holds `audience` exactly (not as a substring, as HAProxy checks it).
    pub fn has_audience(&self, audience: &str) -> bool {
        self.aud.iter().any(|a| a == audience)
    }

    /// Whether the holder has the owner role.
    pub fn is_owner(&self) -> bool {
        self.org_roles.contains(OrgRole::Owner)
    }

    /// The holder's access level.
    pub fn level(&self) -> Level {
        Level::from_roles(self.org_roles)
    }

    /// Whether the holder may deploy, extend, destroy and inspect `cluster`: its name, or `*`, is
    /// in the audience.
    pub fn may_use_cluster(&self, cluster: &ClusterName) -> bool {
        self.aud
            .iter()
            .any(|a| a == ANY_CLUSTER || a == cluster.as_str())
    }

    /// Whether the token admits its holder to the provisioner: the provisioner audience and a level
    /// that may provision.
    pub fn may_provision(&self) -> bool {
        self.has_audience(PROVISIONER_AUDIENCE) && self.level().may_provision()
    }

    /// The holder's limits, when the token carries them (ours always do; upstream HEAD's do not).
    pub fn limits(&self) -> Option<Limits> {
        Some(Limits {
            max_nodes: self.max_nodes?,
            max_ttl: self.max_ttl?,
        })
    }

    /// Audience entries that name clusters the holder may deploy: valid cluster names, and `*`.
    /// Service audiences (`provisioner`, `monitor`, …) are reserved names and so drop out.
    pub fn deployable_clusters(&self) -> Vec<String> {
        self.aud
            .iter()
            .filter(|a| *a == ANY_CLUSTER || ClusterName::parse(a).is_ok())
            .cloned()
            .collect()
    }

    /// Whether the holder signed in with a local account.
    pub fn is_local(&self) -> bool {
        self.idp.as_deref() == Some(LOCAL_IDP)
    }

    /// When the token expires, if `exp` is a representable time.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.exp).ok()
    }

    /// When the token was issued, if `iat` is a representable time.
    pub fn issued_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.iat).ok()
    }
}

/// Reads `aud` as an array or, as RFC 7519 §4.1.3 allows, a single string.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("aud as a string or a list of strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_owned()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(item) = seq.next_element::<String>()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(OneOrMany)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Claims {
        Claims {
            iss: "https://login.example.org".into(),
            sub: "alice".into(),
            github_id: Some(7),
            aud: vec![
                "provisioner".into(),
                "monitor".into(),
                "alice".into(),
                "team-a".into(),
            ],
            org: "SlideRuleEarth".into(),
            org_roles: OrgRoles::MEMBER,
            scope: Some(Scopes::MEMBER),
            max_nodes: Some(10),
            max_ttl: Some(720),
            iat: 1_767_225_600,
            nbf: Some(1_767_225_600),
            exp: 1_767_229_200,
            jti: Some("j1".into()),
            idp: None,
            org_name: None,
            user_name: None,
            user_id: None,
        }
    }

    fn name(s: &str) -> ClusterName {
        ClusterName::parse(s).unwrap()
    }

    #[test]
    fn a_member_may_use_only_clusters_in_the_audience() {
        let claims = member();
        assert!(claims.may_use_cluster(&name("alice")));
        assert!(claims.may_use_cluster(&name("team-a")));
        assert!(!claims.may_use_cluster(&name("bob")));
        assert!(!claims.is_owner());
        assert!(claims.may_provision());
    }

    #[test]
    fn an_owner_audience_star_allows_every_cluster() {
        let mut claims = member();
        claims.org_roles = OrgRoles::OWNER;
        claims.aud.push("*".into());
        assert!(claims.may_use_cluster(&name("anyone")));
        assert!(claims.is_owner());
        assert_eq!(claims.level(), Level::Owner);
    }

    #[test]
    fn audience_is_matched_exactly_not_by_substring() {
        let mut claims = member();
        claims.aud = vec!["team-abc".into()];
        assert!(!claims.may_use_cluster(&name("team-a")));
        assert!(!claims.has_audience("provisioner"));
        assert!(!claims.may_provision());
    }

    #[test]
    fn a_github_user_with_the_provisioner_audience_still_may_not_provision() {
        let mut claims = member();
        claims.org_roles = OrgRoles::NONE;
        assert!(!claims.may_provision());
    }

    #[test]
    fn aud_reads_a_single_string() {
        let json = r#"{"iss":"i","sub":"s","aud":"provisioner","org":"o","org_roles":[],
                       "iat":1,"exp":2}"#;
        let claims: Claims = serde_json::from_str(json).unwrap();
        assert_eq!(claims.aud, vec!["provisioner"]);
    }

    #[test]
    fn deployable_clusters_are_cluster_names_and_star() {
        let mut claims = member();
        claims
            .aud
            .extend(["*".into(), "recorder".into(), "sliderule".into()]);
        assert_eq!(claims.deployable_clusters(), vec!["alice", "team-a", "*"]);
    }

    #[test]
    fn limits_need_both_claims() {
        assert_eq!(member().limits(), Some(Limits::MEMBER));
        let mut claims = member();
        claims.max_ttl = None;
        assert_eq!(claims.limits(), None);
    }

    #[test]
    fn absent_optional_claims_are_left_out_when_written() {
        let mut claims = member();
        claims.github_id = None;
        claims.scope = None;
        claims.nbf = None;
        claims.jti = None;
        let json = serde_json::to_value(&claims).unwrap();
        for key in ["github_id", "scope", "nbf", "jti"] {
            assert!(json.get(key).is_none(), "{key}");
        }
    }
}
