//! GitHub, as the authenticator needs it: who a token belongs to, whether they are in the
//! organization, which of its teams they are on, and the OAuth code and device-code exchanges.
//!
//! Behind the [`GitHub`] trait so the application holds `Arc<dyn GitHub>`; production and tests
//! both use [`HttpGitHub`], pointed at github.com or at the GitHub emulator. The one rule that
//! matters most: only a 404 from the membership API means "not a member". Every other failure
//! (a token without `read:org`, an organization restricting OAuth apps, rate limits, 5xx,
//! timeouts) is [`GitHubError::Unavailable`], a 502 that says what GitHub answered, never a
//! silent downgrade to "not a member".

mod http;
mod rate_limit;

use async_trait::async_trait;

pub use http::HttpGitHub;

/// The GitHub user a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubUser {
    pub login: String,
    pub id: u64,
}

/// Someone's standing in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    /// GitHub answered 404: not a member (or the membership is not visible to this token, which
    /// GitHub also answers with 404 when the token owner asks about themselves: they are not in).
    None,
    /// Invited but not yet accepted: not a member yet.
    Pending,
    Member,
    /// An organization owner.
    Admin,
}

impl Membership {
    pub fn is_active(self) -> bool {
        matches!(self, Membership::Member | Membership::Admin)
    }
}

/// A device-flow start, relayed from GitHub.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

/// What GitHub answered to a device-code poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    Pending,
    SlowDown {
        interval: u64,
    },
    Expired,
    Denied,
    /// Another error GitHub named (e.g. `incorrect_device_code`), with its description.
    Failed {
        error: String,
        description: String,
    },
    Authorized(GitHubToken),
}

/// A GitHub OAuth access token. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct GitHubToken(String);

impl GitHubToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for GitHubToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GitHubToken(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// GitHub does not accept the token (401 on `/user`).
    #[error("GitHub does not accept this token")]
    InvalidToken,
    /// GitHub refused an OAuth exchange (bad or used code, wrong client credentials, …).
    #[error("GitHub refused: {error}: {description}")]
    Refused { error: String, description: String },
    /// GitHub failed or would not say; the description is for the person signing in.
    #[error("{0}")]
    Unavailable(String),
}

#[async_trait]
pub trait GitHub: Send + Sync + 'static {
    /// Exchanges a web-flow authorization code for a token.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<GitHubToken, GitHubError>;
    /// Starts a device flow asking for `scope` (GitHub scopes, e.g. `read:org`).
    async fn request_device_code(&self, scope: &str) -> Result<DeviceCode, GitHubError>;
    async fn poll_device_code(&self, device_code: &str) -> Result<DevicePoll, GitHubError>;
    /// `GET /user`: whose token this is.
    async fn user(&self, token: &str) -> Result<GitHubUser, GitHubError>;
    /// `GET /orgs/{org}/memberships/{login}`.
    async fn membership(
        &self,
        token: &str,
        org: &str,
        login: &str,
    ) -> Result<Membership, GitHubError>;
    /// Slugs of the token owner's teams in `org` (`GET /user/teams`, every page).
    async fn teams(&self, token: &str, org: &str) -> Result<Vec<String>, GitHubError>;
}
