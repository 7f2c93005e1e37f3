//! Local accounts (organizations.md, "Local accounts"): usernames, the password rules, and the
//! bodies of the authenticator's `/auth/local/*` endpoints.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;
use time::OffsetDateTime;

use crate::Secret;
use crate::error::quote;

/// The authenticator's local-account paths.
pub mod paths {
    /// Sign in with a username and password (JSON or form).
    pub const TOKEN: &str = "/auth/local/token";
    /// Create an account for oneself (when self sign-up is on).
    pub const SIGNUP: &str = "/auth/local/signup";
    /// Change one's own password.
    pub const PASSWORD: &str = "/auth/local/password";
    /// Owners list (GET) and create (POST) accounts.
    pub const ACCOUNTS: &str = "/auth/local/accounts";
    /// Owners disable an account.
    pub const DISABLE: &str = "/auth/local/accounts/disable";
    /// Owners enable a disabled account.
    pub const ENABLE: &str = "/auth/local/accounts/enable";
}

/// The longest username (GitHub's limit for logins).
pub const MAX_USERNAME_LEN: usize = 39;
/// The shortest password.
pub const MIN_PASSWORD_LEN: usize = 12;
/// The longest password: hashing is deliberately slow, so its input is bounded.
pub const MAX_PASSWORD_LEN: usize = 256;

/// A local account's name: GitHub's login rules (1–39 letters, digits and single hyphens, not at
/// either end), kept lowercase so `Erin` and `erin` are one account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Username(String);

/// Why a string is not a username.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("username {shown} is not valid: {problem}")]
pub struct InvalidUsername {
    /// The name as given, quoted.
    pub shown: String,
    /// The rule it breaks.
    pub problem: &'static str,
}

impl Username {
    /// Checks and lowercases a username.
    pub fn parse(name: &str) -> Result<Self, InvalidUsername> {
        let fail = |problem| InvalidUsername {
            shown: quote(name),
            problem,
        };
        if name.is_empty() {
            return Err(fail("it is empty"));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(fail("only letters, digits and hyphens are allowed"));
        }
        if name.len() > MAX_USERNAME_LEN {
            return Err(fail("it has more than 39 characters"));
        }
        if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
            return Err(fail(
                "hyphens may not start or end it, nor come two in a row",
            ));
        }
        Ok(Self(name.to_ascii_lowercase()))
    }

    /// The name, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Username {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Username::parse(&text).map_err(de::Error::custom)
    }
}

/// Why a new password was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InvalidPassword {
    /// Shorter than [`MIN_PASSWORD_LEN`].
    #[error("the password has {0} characters; give at least {MIN_PASSWORD_LEN}")]
    TooShort(usize),
    /// Longer than [`MAX_PASSWORD_LEN`].
    #[error("the password has {0} characters, and at most {MAX_PASSWORD_LEN} are allowed")]
    TooLong(usize),
    /// The username itself.
    #[error("the password may not be the username")]
    IsUsername,
}

/// The rules a new password must follow: 12–256 characters, not the username.
pub fn check_password(username: &Username, password: &str) -> Result<(), InvalidPassword> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(InvalidPassword::TooShort(length));
    }
    if length > MAX_PASSWORD_LEN {
        return Err(InvalidPassword::TooLong(length));
    }
    if password.eq_ignore_ascii_case(username.as_str()) {
        return Err(InvalidPassword::IsUsername);
    }
    Ok(())
}

/// Body of `/auth/local/token` (JSON or form). The username is not validated here: a malformed
/// one is just a wrong one, answered like any other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocalTokenRequest {
    /// The account.
    pub username: String,
    /// Its password.
    pub password: Secret,
}

/// Body of `/auth/local/signup` and of an owner's `POST /auth/local/accounts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAccountRequest {
    /// The new account's name.
    pub username: Username,
    /// Its password (the rules of [`check_password`]).
    pub password: Secret,
    /// Where to reach its holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `/auth/local/password`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChangeRequest {
    /// The password in force.
    pub current_password: Secret,
    /// The new one.
    pub new_password: Secret,
}

/// Body of `/auth/local/accounts/disable` and `/enable`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountRequest {
    /// Which account.
    pub username: Username,
}

/// An account as owners see it (never its password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountView {
    /// Its name.
    pub username: Username,
    /// Where to reach its holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether it may sign in.
    pub active: bool,
    /// When it was made.
    #[serde(with = "crate::timestamp")]
    pub created_at: OffsetDateTime,
}

/// Body answering `GET /auth/local/accounts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountsResponse {
    /// By name.
    pub accounts: Vec<AccountView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_githubs_login_rules_and_are_lowercased() {
        assert_eq!(Username::parse("Erin-2").unwrap().as_str(), "erin-2");
        for bad in [
            "",
            "-erin",
            "erin-",
            "er--in",
            "er_in",
            "erin!",
            &"a".repeat(40),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Username::parse("er_in").unwrap_err().to_string(),
            "username \"er_in\" is not valid: only letters, digits and hyphens are allowed"
        );
    }

    #[test]
    fn passwords_are_12_to_256_characters_and_not_the_username() {
        let erin = Username::parse("erin").unwrap();
        assert!(check_password(&erin, "demo-password-erin").is_ok());
        assert_eq!(
            check_password(&erin, "short").unwrap_err().to_string(),
            "the password has 5 characters; give at least 12"
        );
        assert_eq!(
            check_password(&erin, &"x".repeat(257)).unwrap_err(),
            InvalidPassword::TooLong(257)
        );
        let long_name = Username::parse("erin-the-explorer").unwrap();
        assert_eq!(
            check_password(&long_name, "Erin-The-Explorer").unwrap_err(),
            InvalidPassword::IsUsername
        );
    }
}
