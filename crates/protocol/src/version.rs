//! The SlideRule release a cluster runs: `latest` or a release tag such as `v4.9.2`.
//!
//! The value ends up in a CloudFormation parameter and in container image tags, so it is kept to
//! the characters a tag may hold.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::error::quote;

/// The longest version accepted.
pub const MAX_VERSION_LEN: usize = 64;

/// What a cluster runs when the request names no version.
pub const LATEST: &str = "latest";

/// A valid version: 1–64 of `A-Z a-z 0-9 . _ -`. Case is kept (tags are case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(String);

/// Why a string is not a version. Its `Display` is the `error_description` of the 400.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("version {shown} is not valid: {problem}")]
pub struct InvalidVersion {
    /// The version as it was given, quoted.
    pub shown: String,
    /// The rule it breaks.
    pub problem: VersionProblem,
}

/// The rule an [`InvalidVersion`] breaks.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VersionProblem {
    /// The empty string.
    #[error("it is empty; use \"latest\" or a release such as \"v4.9.2\"")]
    Empty,
    /// Longer than [`MAX_VERSION_LEN`].
    #[error("it has {0} characters, and at most {MAX_VERSION_LEN} are allowed")]
    TooLong(usize),
    /// A character outside `A-Z a-z 0-9 . _ -`.
    #[error("it holds {0:?}, and only letters, digits, '.', '_' and '-' are allowed")]
    BadCharacter(char),
}

impl Version {
    /// Checks a version string.
    pub fn parse(text: &str) -> Result<Self, InvalidVersion> {
        let fail = |problem| InvalidVersion {
            shown: quote(text),
            problem,
        };
        if text.is_empty() {
            return Err(fail(VersionProblem::Empty));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(fail(VersionProblem::BadCharacter(bad)));
        }
        if text.len() > MAX_VERSION_LEN {
            return Err(fail(VersionProblem::TooLong(text.len())));
        }
        Ok(Self(text.to_owned()))
    }

    /// `latest`.
    pub fn latest() -> Self {
        Self(LATEST.to_owned())
    }

    /// Whether this is `latest`.
    pub fn is_latest(&self) -> bool {
        self.0 == LATEST
    }

    /// The version text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Version {
    fn default() -> Self {
        Self::latest()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Version {
    type Err = InvalidVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Version {
    type Error = InvalidVersion;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for Version {
    type Error = InvalidVersion;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl AsRef<str> for Version {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;
        impl Visitor<'_> for VersionVisitor {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version such as \"latest\" or \"v4.9.2\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Version, E> {
                Version::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(VersionVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_defaults_to_latest() {
        assert_eq!(Version::default().as_str(), "latest");
        assert!(Version::default().is_latest());
    }

    #[test]
    fn version_accepts_tags_keeping_their_case() {
        for text in ["latest", "v4.9.2", "V5.0.2-rc_1", "a", &"9".repeat(64)] {
            assert_eq!(Version::parse(text).unwrap().as_str(), text);
        }
    }

    #[test]
    fn version_refuses_empty_strings() {
        assert_eq!(
            Version::parse("").unwrap_err().problem,
            VersionProblem::Empty
        );
    }

    #[test]
    fn version_refuses_more_than_sixty_four_characters() {
        let text = "v".repeat(65);
        assert_eq!(
            Version::parse(&text).unwrap_err().problem,
            VersionProblem::TooLong(65)
        );
    }

    #[test]
    fn version_refuses_characters_outside_the_tag_set_naming_them() {
        let err = Version::parse("v1 2").unwrap_err();
        assert_eq!(err.problem, VersionProblem::BadCharacter(' '));
        assert_eq!(
            err.to_string(),
            "version \"v1 2\" is not valid: it holds ' ', and only letters, digits, '.', '_' and \
             '-' are allowed"
        );
        assert_eq!(
            Version::parse("v1/2").unwrap_err().problem,
            VersionProblem::BadCharacter('/')
        );
    }

    #[test]
    fn version_deserializes_through_parse() {
        let v: Version = serde_json::from_str(r#""v5.0.2""#).unwrap();
        assert_eq!(v.as_str(), "v5.0.2");
        let err = serde_json::from_value::<Version>(serde_json::json!("x;y"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("version \"x;y\" is not valid"), "{err}");
    }
}
