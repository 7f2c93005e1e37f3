//! The seed: who exists on the emulated GitHub, which organization they belong to, their teams and
//! personal access tokens, and the few OAuth App settings the emulator honours.
//!
//! Seeds come from a TOML file (`github-emulator --seed FILE`, the demo's `--github-seed`) or from
//! [`Seed::demo`]. Unknown keys are refused: a misspelt key that silently changes who is a member
//! would make a test pass for the wrong reason.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a seed could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read the GitHub emulator seed {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid GitHub emulator seed: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid GitHub emulator seed: {0}")]
    Invalid(String),
}

/// A user's standing in the seed's organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    /// An organization owner (GitHub role `admin`).
    Admin,
    /// An active member (GitHub role `member`).
    Member,
    /// Invited but has not accepted (GitHub state `pending`).
    Pending,
    /// A GitHub user outside the organization.
    #[default]
    None,
}

impl Membership {
    /// Whether GitHub would report `state: "active"` for this membership.
    pub fn is_active(self) -> bool {
        matches!(self, Membership::Admin | Membership::Member)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Membership::Admin => "admin",
            Membership::Member => "member",
            Membership::Pending => "pending",
            Membership::None => "none",
        }
    }
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Membership {
    type Err = SeedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Membership::Admin),
            "member" => Ok(Membership::Member),
            "pending" => Ok(Membership::Pending),
            "none" => Ok(Membership::None),
            other => Err(SeedError::Invalid(format!(
                "membership {other:?} is not one of admin, member, pending, none"
            ))),
        }
    }
}

/// The whole seed file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// The organization the authenticator checks membership of.
    pub org: String,
    /// Its numeric id (GitHub ids never change, logins can).
    #[serde(default = "default_org_id")]
    pub org_id: u64,
    /// If set, the token endpoints refuse any other client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// If set, the authorization-code exchange refuses any other secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The device flow's minimum polling interval (GitHub: 5).
    #[serde(default = "default_device_interval_secs")]
    pub device_interval_secs: u64,
    /// How long a device code lives (GitHub: 900).
    #[serde(default = "default_device_expires_in_secs")]
    pub device_expires_in_secs: u64,
    #[serde(default)]
    pub users: Vec<SeedUser>,
}

/// One GitHub user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub login: String,
    pub id: u64,
    /// The display name `GET /user` reports (GitHub allows none).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub membership: Membership,
    /// Team slugs; `"otherorg/slug"` puts the team in another organization.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Personal access tokens that act as this user.
    #[serde(default)]
    pub pats: Vec<String>,
}

fn default_org_id() -> u64 {
    100_001
}

fn default_device_interval_secs() -> u64 {
    5
}

fn default_device_expires_in_secs() -> u64 {
    900
}

impl Seed {
    /// The demo users every newcomer sees (operations.md): an owner, a team member, a member and
    /// a non-member of `SlideRuleEarth`, each with the PAT `demo-pat-<login>`.
    pub fn demo() -> Seed {
        let user = |login: &str, id: u64, name: &str, membership, teams: &[&str]| SeedUser {
            login: login.to_owned(),
            id,
            name: Some(name.to_owned()),
            membership,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            pats: vec![format!("demo-pat-{login}")],
        };
        Seed {
            org: "SlideRuleEarth".to_owned(),
            org_id: default_org_id(),
            client_id: None,
            client_secret: None,
            device_interval_secs: default_device_interval_secs(),
            device_expires_in_secs: default_device_expires_in_secs(),
            users: vec![
                user(
                    "alice",
                    1001,
                    "Alice (organization owner)",
                    Membership::Admin,
                    &[],
                ),
                user(
                    "bob",
                    1002,
                    "Bob (team icesat2)",
                    Membership::Member,
                    &["icesat2"],
                ),
                user("carol", 1003, "Carol (member)", Membership::Member, &[]),
                user("dave", 1004, "Dave (not a member)", Membership::None, &[]),
            ],
        }
    }

    /// Parses and validates a seed from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Seed, SeedError> {
        let seed: Seed = toml::from_str(text)?;
        seed.validate()?;
        Ok(seed)
    }

    /// Reads, parses and validates a seed file.
    pub fn load(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.to_owned(),
            source,
        })?;
        Seed::from_toml_str(&text)
    }

    /// Refuses seeds that would make lookups ambiguous.
    pub fn validate(&self) -> Result<(), SeedError> {
        let invalid = |message: String| Err(SeedError::Invalid(message));
        if !is_github_name(&self.org) {
            return invalid(format!(
                "org {:?} is not a GitHub organization login",
                self.org
            ));
        }
        if self.client_secret.is_some() && self.client_id.is_none() {
            return invalid("client_secret is set but client_id is not".to_owned());
        }
        let mut logins = HashSet::new();
        let mut ids = HashSet::new();
        let mut pats = HashSet::new();
        for user in &self.users {
            if !is_github_name(&user.login) {
                return invalid(format!("login {:?} is not a GitHub login", user.login));
            }
            // GitHub logins are case-insensitive, so `Alice` and `alice` are the same person.
            if !logins.insert(user.login.to_ascii_lowercase()) {
                return invalid(format!("login {:?} appears twice", user.login));
            }
            if user.id == 0 || !ids.insert(user.id) {
                return invalid(format!(
                    "user id {} of {:?} is zero or not unique",
                    user.id, user.login
                ));
            }
            for pat in &user.pats {
                if pat.trim().is_empty() || pat.chars().any(char::is_whitespace) {
                    return invalid(format!(
                        "a PAT of {:?} is empty or contains spaces",
                        user.login
                    ));
                }
                if !pats.insert(pat.as_str()) {
                    // The PAT itself is a secret: name the user, not the token.
                    return invalid(format!(
                        "a PAT of {:?} is also given to another user",
                        user.login
                    ));
                }
            }
            for team in &user.teams {
                if split_team(team).is_none() {
                    return invalid(format!(
                        "team {team:?} of {:?} is not \"slug\" or \"org/slug\"",
                        user.login
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Splits a seed team entry into its organization (if given) and slug.
pub(crate) fn split_team(entry: &str) -> Option<(Option<&str>, &str)> {
    let valid_slug = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    match entry.split_once('/') {
        Some((org, slug)) if is_github_name(org) && valid_slug(slug) => Some((Some(org), slug)),
        Some(_) => None,
        None if valid_slug(entry) => Some((None, entry)),
        None => None,
    }
}

/// GitHub logins: alphanumerics and single hyphens, at most 39 characters.
fn is_github_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 39
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATIONS_EXAMPLE: &str = r#"
org = "SlideRuleEarth"
[[users]]
login = "alice"
id = 1001
membership = "admin"     # admin | member | pending | none
teams = ["icesat2"]
pats = ["demo-pat-alice"]
"#;

    #[test]
    fn the_example_from_the_operations_spec_parses() {
        let seed = Seed::from_toml_str(OPERATIONS_EXAMPLE).expect("example parses");
        assert_eq!(seed.org, "SlideRuleEarth");
        assert_eq!(seed.users.len(), 1);
        let alice = &seed.users[0];
        assert_eq!(alice.login, "alice");
        assert_eq!(alice.id, 1001);
        assert_eq!(alice.membership, Membership::Admin);
        assert_eq!(alice.teams, ["icesat2"]);
        assert_eq!(alice.pats, ["demo-pat-alice"]);
    }

    #[test]
    fn optional_settings_take_githubs_defaults() {
        let seed = Seed::from_toml_str(OPERATIONS_EXAMPLE).expect("example parses");
        assert_eq!(seed.device_interval_secs, 5);
        assert_eq!(seed.device_expires_in_secs, 900);
        assert_eq!(seed.client_id, None);
        assert_eq!(seed.client_secret, None);
    }

    #[test]
    fn an_unknown_top_level_key_is_refused_by_name() {
        let error = Seed::from_toml_str("org = \"X\"\norgs = \"Y\"\n").expect_err("refused");
        assert!(matches!(error, SeedError::Parse(_)), "{error:?}");
        assert!(error.to_string().contains("orgs"), "{error}");
    }

    #[test]
    fn an_unknown_user_key_is_refused_by_name() {
        let text = "org = \"X\"\n[[users]]\nlogin = \"a\"\nid = 1\nmembrship = \"admin\"\n";
        let error = Seed::from_toml_str(text).expect_err("refused");
        assert!(error.to_string().contains("membrship"), "{error}");
    }

    #[test]
    fn a_membership_outside_the_four_values_is_refused() {
        let text = "org = \"X\"\n[[users]]\nlogin = \"a\"\nid = 1\nmembership = \"owner\"\n";
        let error = Seed::from_toml_str(text).expect_err("refused");
        assert!(error.to_string().contains("owner"), "{error}");
    }

    #[test]
    fn logins_differing_only_in_case_are_refused() {
        let text =
            "org = \"X\"\n[[users]]\nlogin = \"a\"\nid = 1\n[[users]]\nlogin = \"A\"\nid = 2\n";
        let error = Seed::from_toml_str(text).expect_err("refused");
        assert!(error.to_string().contains("appears twice"), "{error}");
    }

    #[test]
    fn a_shared_pat_is_refused_without_printing_it() {
        let text = "org = \"X\"\n[[users]]\nlogin = \"a\"\nid = 1\npats = [\"secret-1\"]\n\
                    [[users]]\nlogin = \"b\"\nid = 2\npats = [\"secret-1\"]\n";
        let error = Seed::from_toml_str(text).expect_err("refused");
        assert!(!error.to_string().contains("secret-1"), "{error}");
    }

    #[test]
    fn duplicate_user_ids_are_refused() {
        let text =
            "org = \"X\"\n[[users]]\nlogin = \"a\"\nid = 7\n[[users]]\nlogin = \"b\"\nid = 7\n";
        assert!(Seed::from_toml_str(text).is_err());
    }

    #[test]
    fn teams_may_name_another_organization() {
        assert_eq!(split_team("icesat2"), Some((None, "icesat2")));
        assert_eq!(
            split_team("otherorg/gedi"),
            Some((Some("otherorg"), "gedi"))
        );
        assert_eq!(split_team("a/b/c"), None);
        assert_eq!(split_team("/x"), None);
        assert_eq!(split_team(""), None);
    }

    #[test]
    fn the_demo_seed_is_valid_and_has_the_four_demo_users() {
        let seed = Seed::demo();
        seed.validate().expect("demo seed is valid");
        let summary: Vec<(&str, u64, Membership)> = seed
            .users
            .iter()
            .map(|u| (u.login.as_str(), u.id, u.membership))
            .collect();
        assert_eq!(
            summary,
            [
                ("alice", 1001, Membership::Admin),
                ("bob", 1002, Membership::Member),
                ("carol", 1003, Membership::Member),
                ("dave", 1004, Membership::None),
            ]
        );
        assert_eq!(seed.users[1].teams, ["icesat2"]);
        assert!(
            seed.users
                .iter()
                .all(|u| u.pats == [format!("demo-pat-{}", u.login)])
        );
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let error = Seed::load(Path::new("/nonexistent/seed.toml")).expect_err("missing");
        assert!(
            error.to_string().contains("/nonexistent/seed.toml"),
            "{error}"
        );
    }
}
