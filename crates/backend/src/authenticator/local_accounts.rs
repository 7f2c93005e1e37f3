//! Local accounts (organizations.md, "Local accounts"): signing in with a username and
//! password, the lockout, owners creating and disabling accounts, self sign-up and password
//! changes. The rules only; `local_handlers.rs` is their HTTP face, `http/error.rs` their
//! statuses.
//!
//! What a failed sign-in reveals is the same whether or not the account exists: the password is
//! checked against a decoy hash for an unknown name (same cost), failures are counted per name
//! whether or not it exists, and the lockout answers every name alike. Only someone who knows an
//! account's password learns that it is disabled.

use sliderule_protocol::organizations::{
    AccountView, InvalidPassword, InvalidUsername, NewAccountRequest, Username, check_password,
};
use sliderule_protocol::{Claims, Scopes};
use time::OffsetDateTime;

use super::grant::{Flow, GitHubIdentity};
use super::issuer::Issued;
use super::passwords::{self, HashError};
use super::session::Session;
use super::{Authenticator, error::AuthError};
use crate::github::Membership;
use crate::keys::KeySet;
use crate::store::{AccountRow, Lockout, StoreError};

/// What can go wrong with a local account, as the rules see it.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Wrong username or password (never says which).
    #[error("the username or password is wrong")]
    BadCredentials,
    /// Too many failures: locked for this many more seconds.
    #[error("too many failed sign-ins for this username; try again in {retry_after_secs} s")]
    Locked { retry_after_secs: u64 },
    /// The right password of a disabled account.
    #[error("account {0} is disabled; ask an owner to enable it")]
    Disabled(String),
    #[error(transparent)]
    Username(#[from] InvalidUsername),
    #[error(transparent)]
    Password(#[from] InvalidPassword),
    /// The name is taken (by an account or a GitHub login of the organization).
    #[error("username {0} is taken; choose another")]
    Taken(String),
    /// Owners only, or a local account's own action by someone else.
    #[error("{0}")]
    Forbidden(String),
    #[error("there is no local account {0}")]
    NoSuchAccount(String),
    /// An e-mail address that is not one.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The tokens could not be issued.
    #[error(transparent)]
    Issue(#[from] Box<AuthError>),
}

impl From<AuthError> for LocalError {
    fn from(error: AuthError) -> Self {
        Self::Issue(Box::new(error))
    }
}

/// The longest e-mail address kept.
const MAX_EMAIL_LEN: usize = 254;

fn check_email(email: Option<&str>) -> Result<Option<String>, LocalError> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let plausible = email.len() <= MAX_EMAIL_LEN
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if plausible {
        Ok(Some(email.to_owned()))
    } else {
        Err(LocalError::Invalid(format!(
            "email {email:?} is not an e-mail address (at most {MAX_EMAIL_LEN} characters)"
        )))
    }
}

/// The view owners get (never the hash).
pub fn view(account: &AccountRow) -> Result<AccountView, LocalError> {
    Ok(AccountView {
        username: Username::parse(&account.username)?,
        email: account.email.clone(),
        active: account.active,
        created_at: account.created_at,
    })
}

impl Authenticator {
    /// The account whose password this is, counting a failure (and locking) otherwise.
    pub async fn check_local_password(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<AccountRow, LocalError> {
        // Names are compared lowercase; one that is not even valid is simply unknown.
        let name = username.trim().to_ascii_lowercase();
        if let Some(until) = self.store.sign_in_locked_until(&name, now).await? {
            return Err(locked(until, now));
        }
        let account = match Username::parse(&name) {
            Ok(_) => self.store.account(&name).await?,
            Err(_) => None,
        };
        let matched =
            passwords::check(account.as_ref().map(|a| a.password_hash.as_str()), password).await;
        let Some(account) = account.filter(|_| matched) else {
            return match self
                .store
                .record_sign_in_failure(&name, now, Lockout::SPEC)
                .await?
            {
                Some(until) => {
                    tracing::warn!(username = %name, "local sign-in locked after repeated failures");
                    Err(locked(until, now))
                }
                None => Err(LocalError::BadCredentials),
            };
        };
        if !account.active {
            return Err(LocalError::Disabled(account.username));
        }
        self.store.clear_sign_in_failures(&name).await?;
        Ok(account)
    }

    /// The session of a local account (and, for v2 tokens, of the organization named).
    pub fn local_session(account: &AccountRow) -> Session {
        let identity = GitHubIdentity {
            login: account.username.clone(),
            // Carried as the numeric id of the person; the grant never calls it a GitHub id.
            github_id: u64::try_from(account.id).unwrap_or(0),
            membership: Membership::None,
            teams: Vec::new(),
        };
        Session::new(identity, Scopes::MEMBER, Flow::Password)
    }

    /// `POST /auth/local/token`: a password sign-in, tokens as a browser session's.
    pub async fn sign_in_local(
        &self,
        keys: &KeySet,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<Issued, LocalError> {
        let account = self.check_local_password(username, password, now).await?;
        Ok(self
            .start_session(keys, &Self::local_session(&account), now)
            .await?)
    }

    /// Creates an account, by an owner (`created_by` their login) or by its holder.
    pub async fn create_local_account(
        &self,
        request: &NewAccountRequest,
        created_by: &str,
        now: OffsetDateTime,
    ) -> Result<AccountRow, LocalError> {
        check_password(&request.username, request.password.expose())?;
        let email = check_email(request.email.as_deref())?;
        let name = request.username.as_str();
        if self.is_github_login_of_the_org(name).await {
            return Err(LocalError::Taken(name.to_owned()));
        }
        let row = AccountRow {
            id: 0,
            username: name.to_owned(),
            password_hash: passwords::hash(request.password.expose()).await?,
            email,
            active: true,
            created_at: now,
            created_by: created_by.to_owned(),
        };
        let created = self
            .store
            .create_account(&row)
            .await?
            .ok_or_else(|| LocalError::Taken(name.to_owned()))?;
        tracing::info!(username = %name, %created_by, "local account created");
        Ok(created)
    }

    /// Whether GitHub knows `login` as someone in the organization (asked with the service
    /// token, when one is configured): such a name would be two people.
    async fn is_github_login_of_the_org(&self, login: &str) -> bool {
        let Some(service_token) = &self.service_token else {
            return false;
        };
        match self
            .resolver
            .recheck_membership(service_token.expose(), login)
            .await
        {
            Ok(membership) => membership != Membership::None,
            Err(error) => {
                // Refusing every sign-up while GitHub is down would be worse than the rare
                // clash, which an owner can resolve by disabling the account.
                tracing::warn!(%error, "cannot ask GitHub whether a new username is a login");
                false
            }
        }
    }

    /// Enables or disables an account (owners).
    pub async fn set_local_account_active(
        &self,
        owner: &Claims,
        username: &Username,
        active: bool,
    ) -> Result<AccountRow, LocalError> {
        must_be_owner(owner)?;
        if !self
            .store
            .set_account_active(username.as_str(), active)
            .await?
        {
            return Err(LocalError::NoSuchAccount(username.to_string()));
        }
        tracing::info!(%username, active, by = %owner.sub, "local account changed");
        self.store
            .account(username.as_str())
            .await?
            .ok_or_else(|| LocalError::NoSuchAccount(username.to_string()))
    }

    /// A local account changes its own password, proving the current one.
    pub async fn change_local_password(
        &self,
        holder: &Claims,
        current: &str,
        new: &str,
        now: OffsetDateTime,
    ) -> Result<(), LocalError> {
        if !holder.is_local() {
            return Err(LocalError::Forbidden(
                "only local accounts have a password here; GitHub accounts change theirs on GitHub"
                    .into(),
            ));
        }
        let account = self.check_local_password(&holder.sub, current, now).await?;
        let username = Username::parse(&account.username)?;
        check_password(&username, new)?;
        let hash = passwords::hash(new).await?;
        self.store
            .set_password_hash(&account.username, &hash)
            .await?;
        tracing::info!(%username, "local account's password changed");
        Ok(())
    }
}

/// Owners only.
pub fn must_be_owner(claims: &Claims) -> Result<(), LocalError> {
    if claims.is_owner() {
        Ok(())
    } else {
        Err(LocalError::Forbidden(
            "managing local accounts is for owners: sign in as administrator".into(),
        ))
    }
}

fn locked(until: OffsetDateTime, now: OffsetDateTime) -> LocalError {
    // Rounded up: waiting the whole seconds said must be enough.
    let left = until - now;
    let seconds = (left.whole_seconds() + i64::from(left.subsec_nanoseconds() > 0)).max(1);
    LocalError::Locked {
        retry_after_secs: u64::try_from(seconds).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_optional_and_must_look_like_addresses() {
        assert_eq!(check_email(None).unwrap(), None);
        assert_eq!(check_email(Some("  ")).unwrap(), None);
        assert_eq!(
            check_email(Some("erin@example.org")).unwrap().as_deref(),
            Some("erin@example.org")
        );
        for bad in [
            "erin",
            "@example.org",
            "erin@localhost",
            "e rin@example.org",
        ] {
            assert!(check_email(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_lock_says_how_long_it_lasts_in_whole_seconds() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let error = locked(now + time::Duration::seconds(900), now);
        assert_eq!(
            error.to_string(),
            "too many failed sign-ins for this username; try again in 900 s"
        );
    }
}
