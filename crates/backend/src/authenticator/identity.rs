//! Who a GitHub token belongs to, and where they stand in the organization.
//!
//! `GET /user` is asked every time (it is what proves the token is good); membership and teams
//! are cached per login for at most [`MEMBERSHIP_CACHE`], so a burst of logins or refreshes does
//! not spend the GitHub rate limit, and a person removed from the organization loses access
//! within minutes. Failures are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::grant::GitHubIdentity;
use crate::github::{GitHub, GitHubError, GitHubUser, Membership};

/// The longest a membership answer is reused (authenticator.md: at most 5 minutes).
pub const MEMBERSHIP_CACHE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
struct Standing {
    membership: Membership,
    teams: Vec<String>,
    fetched: Instant,
}

pub struct IdentityResolver {
    github: Arc<dyn GitHub>,
    org: String,
    cache_for: Duration,
    cache: Mutex<HashMap<String, Standing>>,
}

impl IdentityResolver {
    pub fn new(github: Arc<dyn GitHub>, org: impl Into<String>) -> Self {
        Self::with_cache(github, org, MEMBERSHIP_CACHE)
    }

    /// `cache_for` is capped at [`MEMBERSHIP_CACHE`].
    pub fn with_cache(
        github: Arc<dyn GitHub>,
        org: impl Into<String>,
        cache_for: Duration,
    ) -> Self {
        Self {
            github,
            org: org.into(),
            cache_for: cache_for.min(MEMBERSHIP_CACHE),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves the owner of `token` (their own GitHub token: a PAT, or one from a login).
    pub async fn resolve(&self, token: &str) -> Result<GitHubIdentity, GitHubError> {
        let user = self.github.user(token).await?;
        let standing = match self.cached(&user.login) {
            Some(standing) => standing,
            None => self.fetch(token, &user).await?,
        };
        Ok(GitHubIdentity {
            login: user.login,
            github_id: user.id,
            membership: standing.membership,
            teams: standing.teams,
        })
    }

    /// Re-checks someone's membership with the service's own token (at refresh time). Teams are
    /// not re-read: GitHub lists teams only for the token's own user.
    pub async fn recheck_membership(
        &self,
        service_token: &str,
        login: &str,
    ) -> Result<Membership, GitHubError> {
        if let Some(standing) = self.cached(login) {
            return Ok(standing.membership);
        }
        let membership = self
            .github
            .membership(service_token, &self.org, login)
            .await?;
        Ok(membership)
    }

    fn cached(&self, login: &str) -> Option<Standing> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .get(&login.to_ascii_lowercase())
            .filter(|s| s.fetched.elapsed() < self.cache_for)
            .cloned()
    }

    async fn fetch(&self, token: &str, user: &GitHubUser) -> Result<Standing, GitHubError> {
        let membership = self
            .github
            .membership(token, &self.org, &user.login)
            .await?;
        let teams = if membership.is_active() {
            self.github.teams(token, &self.org).await?
        } else {
            Vec::new()
        };
        let standing = Standing {
            membership,
            teams,
            fetched: Instant::now(),
        };
        if !self.cache_for.is_zero() {
            let mut cache = self
                .cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Bounded: expired entries go whenever a new one is written.
            let cache_for = self.cache_for;
            cache.retain(|_, s| s.fetched.elapsed() < cache_for);
            cache.insert(user.login.to_ascii_lowercase(), standing.clone());
        }
        Ok(standing)
    }
}
