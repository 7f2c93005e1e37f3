//! The test runner (provisioner.md, "Test runner"): `/test` starts one run of SlideRule's tests
//! for a branch (the stack `testrunner`), `/report/tests` reads a branch's latest summary
//! (upstream's JSON, passed through as it is).

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;
use time::OffsetDateTime;

use crate::marker::True;
use crate::provisioner::ClusterState;

/// The test runner's stack: one at a time, as upstream's fixed name made it.
pub const STACK_NAME: &str = "testrunner";

/// The longest branch name taken.
pub const MAX_BRANCH_LEN: usize = 100;

/// A git branch name as it may appear in an S3 key and a stack parameter: 1 to
/// [`MAX_BRANCH_LEN`] letters, digits, `.`, `_`, `-` and `/`, not starting with `-`, `.` or `/`,
/// without `..` or `//`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Branch(String);

/// Why a branch name was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "branch {0:?} is not valid: use 1 to {MAX_BRANCH_LEN} letters, digits, '.', '_', '-' and '/', not starting with '-', '.' or '/', without '..' or '//'"
)]
pub struct InvalidBranch(pub String);

impl Branch {
    /// A checked branch name.
    pub fn parse(text: &str) -> Result<Self, InvalidBranch> {
        let fine = !text.is_empty()
            && text.len() <= MAX_BRANCH_LEN
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
            && !text.starts_with(['-', '.', '/'])
            && !text.ends_with('/')
            && !text.contains("..")
            && !text.contains("//");
        if fine {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidBranch(
                text.chars().take(MAX_BRANCH_LEN + 1).collect(),
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Branch {
    fn default() -> Self {
        Self("main".to_owned())
    }
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Branch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Branch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

/// Where a branch's summary is, under the project bucket.
pub fn summary_key(branch: &Branch) -> String {
    format!("testrunner/{branch}-summary.json")
}

/// Reply of `/test`: the run started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestRunStarted {
    /// Always `true`.
    pub status: True,
    /// The branch under test.
    pub branch: Branch,
    /// `testrunner`.
    pub stack_name: String,
    /// Its stack's state (`DEPLOYING` at first).
    pub state: ClusterState,
    /// When the run started (its `DeployDate`, `YYYYmmddHHMMSS` upstream).
    #[serde(with = "crate::timestamp")]
    pub started: OffsetDateTime,
    /// When its stack is deleted, whatever the run did.
    #[serde(with = "crate::timestamp")]
    pub auto_shutdown: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_checked_and_main_is_the_default() {
        for fine in ["main", "release/v5.7", "feature_x-1.2", "a"] {
            assert_eq!(Branch::parse(fine).unwrap().as_str(), fine);
        }
        for bad in [
            "", "-x", ".x", "/x", "x/", "a..b", "a//b", "a b", "a\\nb", "ä",
        ] {
            assert!(Branch::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Branch::parse(&"a".repeat(101)).is_err());
        assert_eq!(Branch::default().as_str(), "main");
        let refused =
            serde_json::from_str::<crate::provisioner::BranchRequest>(r#"{"branch":"../etc"}"#)
                .unwrap_err()
                .to_string();
        assert!(refused.contains("is not valid"), "{refused}");
        assert_eq!(
            summary_key(&Branch::default()),
            "testrunner/main-summary.json"
        );
    }
}
