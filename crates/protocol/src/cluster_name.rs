//! The name of a private cluster: its DNS label (`<cluster>.<domain>`) and its stack's name.
//!
//! Names are case-insensitive because DNS is; they are kept lowercase so that `Alice` and `alice`
//! are one cluster, one stack and one deadline.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::error::quote;

/// Names that belong to the service itself (its own host names and upstream's) and so can never
/// be a cluster: `login.<domain>` must stay the authenticator.
pub const RESERVED_CLUSTER_NAMES: [&str; 12] = [
    "login",
    "provisioner",
    "ps",
    "client",
    "recorder",
    "runner",
    "mcp",
    "sliderule",
    "monitor",
    "www",
    "api",
    "auth",
];

/// The longest name allowed. DNS would allow 63; upstream's limit keeps `<name>-cluster` and the
/// resource names derived from it within AWS's limits.
pub const MAX_CLUSTER_NAME_LEN: usize = 40;

/// A valid cluster name: 1–40 of `a-z 0-9 -`, starting and ending with a letter or digit, not
/// reserved. Always lowercase.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterName(String);

/// Why a string is not a cluster name. Its `Display` is the `error_description` of the 400.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("cluster name {shown} is not valid: {problem}")]
pub struct InvalidClusterName {
    /// The name as it was given, quoted.
    pub shown: String,
    /// The rule it breaks.
    pub problem: ClusterNameProblem,
}

/// The rule an [`InvalidClusterName`] breaks.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ClusterNameProblem {
    /// The empty string.
    #[error("it is empty; give a name of 1 to {MAX_CLUSTER_NAME_LEN} letters, digits and hyphens")]
    Empty,
    /// Longer than [`MAX_CLUSTER_NAME_LEN`].
    #[error("it has {0} characters, and at most {MAX_CLUSTER_NAME_LEN} are allowed")]
    TooLong(usize),
    /// Holds `_`, which people often try and DNS refuses.
    #[error("DNS names cannot hold underscores; use letters, digits and hyphens")]
    Underscore,
    /// Holds another character outside `a-z 0-9 -`.
    #[error("it holds {0:?}, and only letters, digits and hyphens are allowed")]
    BadCharacter(char),
    /// Starts or ends with `-`.
    #[error("it must start and end with a letter or a digit")]
    HyphenAtEdge,
    /// One of [`RESERVED_CLUSTER_NAMES`].
    #[error("{0:?} is reserved for the service itself; choose another name")]
    Reserved(&'static str),
}

impl ClusterName {
    /// Checks and lowercases a name.
    pub fn parse(name: &str) -> Result<Self, InvalidClusterName> {
        let fail = |problem| InvalidClusterName {
            shown: quote(name),
            problem,
        };
        if name.is_empty() {
            return Err(fail(ClusterNameProblem::Empty));
        }
        // Characters first: "my_cluster" is better told about the underscore than its length.
        if name.contains('_') {
            return Err(fail(ClusterNameProblem::Underscore));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(fail(ClusterNameProblem::BadCharacter(bad)));
        }
        // Only ASCII is left, so bytes are characters.
        if name.len() > MAX_CLUSTER_NAME_LEN {
            return Err(fail(ClusterNameProblem::TooLong(name.len())));
        }
        if name.starts_with('-') || name.ends_with('-') {
            return Err(fail(ClusterNameProblem::HyphenAtEdge));
        }
        let lower = name.to_ascii_lowercase();
        if let Some(reserved) = RESERVED_CLUSTER_NAMES.iter().find(|r| **r == lower) {
            return Err(fail(ClusterNameProblem::Reserved(reserved)));
        }
        Ok(Self(lower))
    }

    /// The name, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The CloudFormation stack that holds this cluster, `<cluster>-cluster` (upstream's naming,
    /// which existing stacks already carry).
    pub fn stack_name(&self) -> String {
        format!("{}-cluster", self.0)
    }

    /// The cluster's host, `<cluster>.<domain>`.
    pub fn host(&self, domain: &str) -> String {
        format!("{}.{domain}", self.0)
    }
}

impl fmt::Display for ClusterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClusterName {
    type Err = InvalidClusterName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for ClusterName {
    type Error = InvalidClusterName;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for ClusterName {
    type Error = InvalidClusterName;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl AsRef<str> for ClusterName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Sound because Eq, Ord and Hash are those of the inner string; lets maps keyed by ClusterName be
// searched with a &str.
impl Borrow<str> for ClusterName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<ClusterName> for String {
    fn from(name: ClusterName) -> Self {
        name.0
    }
}

impl PartialEq<str> for ClusterName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ClusterName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for ClusterName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ClusterName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = ClusterName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cluster name (a string of letters, digits and hyphens)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ClusterName, E> {
                ClusterName::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(name: &str) -> ClusterNameProblem {
        ClusterName::parse(name).unwrap_err().problem
    }

    #[test]
    fn cluster_name_accepts_letters_digits_and_inner_hyphens() {
        for name in ["a", "alice", "team-a", "a1", "9", "x-y-z", &"a".repeat(40)] {
            assert_eq!(ClusterName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn cluster_name_is_stored_lowercase() {
        assert_eq!(ClusterName::parse("Team-A").unwrap().as_str(), "team-a");
        assert_eq!(
            ClusterName::parse("ALICE").unwrap(),
            ClusterName::parse("alice").unwrap()
        );
    }

    #[test]
    fn cluster_name_refuses_underscores_with_dns_message() {
        let err = ClusterName::parse("my_cluster").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cluster name \"my_cluster\" is not valid: DNS names cannot hold underscores; use \
             letters, digits and hyphens"
        );
    }

    #[test]
    fn cluster_name_refuses_other_characters_naming_the_character() {
        assert_eq!(
            problem("hello world"),
            ClusterNameProblem::BadCharacter(' ')
        );
        assert_eq!(problem("$hello"), ClusterNameProblem::BadCharacter('$'));
        assert_eq!(problem("a.b"), ClusterNameProblem::BadCharacter('.'));
        assert_eq!(problem("café"), ClusterNameProblem::BadCharacter('é'));
        assert_eq!(
            ClusterName::parse("a.b").unwrap_err().to_string(),
            "cluster name \"a.b\" is not valid: it holds '.', and only letters, digits and \
             hyphens are allowed"
        );
    }

    #[test]
    fn cluster_name_refuses_empty_names() {
        assert_eq!(problem(""), ClusterNameProblem::Empty);
    }

    #[test]
    fn cluster_name_refuses_more_than_forty_characters() {
        let name = "a".repeat(41);
        assert_eq!(problem(&name), ClusterNameProblem::TooLong(41));
        assert!(
            ClusterName::parse(&name)
                .unwrap_err()
                .to_string()
                .ends_with("it has 41 characters, and at most 40 are allowed")
        );
    }

    #[test]
    fn cluster_name_refuses_hyphens_at_either_end() {
        assert_eq!(problem("-a"), ClusterNameProblem::HyphenAtEdge);
        assert_eq!(problem("a-"), ClusterNameProblem::HyphenAtEdge);
        assert_eq!(problem("-"), ClusterNameProblem::HyphenAtEdge);
    }

    #[test]
    fn cluster_name_refuses_every_reserved_name_in_any_case() {
        for reserved in RESERVED_CLUSTER_NAMES {
            assert_eq!(problem(reserved), ClusterNameProblem::Reserved(reserved));
            assert_eq!(
                problem(&reserved.to_uppercase()),
                ClusterNameProblem::Reserved(reserved)
            );
        }
        assert_eq!(
            ClusterName::parse("Login").unwrap_err().to_string(),
            "cluster name \"Login\" is not valid: \"login\" is reserved for the service itself; \
             choose another name"
        );
    }

    #[test]
    fn cluster_name_allows_names_that_merely_contain_a_reserved_word() {
        assert!(ClusterName::parse("login2").is_ok());
        assert!(ClusterName::parse("my-api").is_ok());
    }

    #[test]
    fn cluster_name_stack_name_appends_cluster() {
        let name = ClusterName::parse("hello").unwrap();
        assert_eq!(name.stack_name(), "hello-cluster");
        assert_eq!(name.host("example.org"), "hello.example.org");
    }

    #[test]
    fn cluster_name_deserializes_through_parse() {
        let name: ClusterName = serde_json::from_str(r#""Bob""#).unwrap();
        assert_eq!(name, "bob");
        let err = serde_json::from_value::<ClusterName>(serde_json::json!("my_cluster"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("DNS names cannot hold underscores"), "{err}");
        assert!(serde_json::from_str::<ClusterName>("5").is_err());
    }
}
