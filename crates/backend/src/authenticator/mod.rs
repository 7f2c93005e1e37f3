//! The authenticator: GitHub sign-in, our JWTs, and the keys and documents that let others
//! verify them. Served at the root of `login.<domain>` or of the single origin.
//!
//! [`Authenticator`] holds the rules and collaborators every flow shares; the flows themselves are
//! modules named after them, each a thin set of handlers over plain functions.

pub mod affiliates;
mod basic_login;
mod browser_login;
mod clients;
mod device_flow;
mod device_request;
pub mod error;
mod form;
pub mod grant;
pub mod identity;
mod issuer;
pub mod local_accounts;
mod local_handlers;
pub mod passwords;
pub(crate) mod pat;
pub mod pkce;
pub mod published;
pub mod random;
pub mod redirect;
mod refresh;
mod register;
pub(crate) mod respond;
mod routes;
pub mod session;
pub mod state;
mod token_endpoint;
mod userinfo;

use std::sync::Arc;
use std::time::Duration;

pub use issuer::Issued;
pub use refresh::RefreshError;
pub use routes::{AuthenticatorApi, routes};
use sliderule_protocol::Limits;

use self::affiliates::Affiliates;
use self::grant::GrantPolicy;
use self::identity::IdentityResolver;
use self::redirect::TrustedHosts;
use self::state::StateKey;
use crate::config::PublicUrls;
use crate::config::{Config, ConfigError, GithubConfig, Secret};
use crate::github::GitHub;
use crate::store::{RefreshRules, Store};

/// Everything the sign-in flows share, built once from the configuration.
pub struct Authenticator {
    pub github: Arc<dyn GitHub>,
    pub resolver: IdentityResolver,
    pub store: Arc<dyn Store>,
    pub policy: GrantPolicy,
    pub affiliates: Affiliates,
    pub state_key: StateKey,
    pub trusted_redirects: TrustedHosts,
    pub refresh_rules: RefreshRules,
    pub client_unused_for: Duration,
    /// A token with `read:org`, to re-check membership at refresh.
    pub service_token: Option<Secret>,
    /// The web client's pre-registered client id, and where it may be redirected.
    pub web_client: Option<PreRegistered>,
    pub public_cluster: Option<String>,
    /// Where GitHub sends the browser back to (`<issuer>/auth/github/callback`).
    pub callback_url: String,
    /// GitHub's authorize page.
    pub github_authorize_url: String,
    /// The GitHub OAuth App's client id, sent to GitHub's authorize page.
    pub github_client_id: String,
    /// The cookie domain of the basic login (`.DOMAIN`), when there is a real domain.
    pub cookie_domain: Option<String>,
    /// Whether cookies are `Secure` (not on plain-http localhost demos).
    pub secure_cookies: bool,
}

/// A public client id configured for the web client (no dynamic registration needed).
#[derive(Debug, Clone)]
pub struct PreRegistered {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
}

impl Authenticator {
    pub fn new(
        config: &Config,
        urls: &PublicUrls,
        github: Arc<dyn GitHub>,
        github_config: &GithubConfig,
        store: Arc<dyn Store>,
    ) -> Result<Self, ConfigError> {
        let auth = &config.authenticator;
        let affiliates = match &auth.affiliates_file {
            Some(path) => Affiliates::load(path)?,
            None => Affiliates::none(),
        };
        let policy = GrantPolicy {
            issuer: urls.authenticator.clone(),
            org: config.github.org.clone(),
            personal_clusters: auth.personal_clusters,
            member_limits: Limits {
                max_nodes: auth.member_max_nodes,
                max_ttl: auth.member_max_ttl,
            },
            owner_limits: Limits {
                max_nodes: auth.owner_max_nodes,
                max_ttl: auth.owner_max_ttl,
            },
            browser_lifetime: Duration::from_secs(auth.browser_token_lifetime_secs),
            client_lifetime: Duration::from_secs(auth.client_token_lifetime_secs),
        };
        let bare_domain = urls
            .domain
            .split_once(':')
            .map_or(urls.domain.as_str(), |(host, _)| host)
            .to_owned();
        let trusted_hosts = if auth.allowed_redirect_hosts.is_empty() {
            vec![bare_domain.clone(), "localhost".into(), "127.0.0.1".into()]
        } else {
            auth.allowed_redirect_hosts.clone()
        };
        let web_client = config.web_client_id().map(|client_id| {
            let mut redirect_uris = vec![format!("{}/auth/callback", urls.web)];
            redirect_uris.extend(
                config
                    .web
                    .allowed_origins
                    .iter()
                    .map(|origin| format!("{origin}/auth/callback")),
            );
            PreRegistered {
                client_id,
                redirect_uris,
            }
        });
        let is_ip = bare_domain.parse::<std::net::IpAddr>().is_ok();
        Ok(Self {
            resolver: IdentityResolver::with_cache(
                github.clone(),
                config.github.org.clone(),
                Duration::from_secs(config.github.membership_cache_secs),
            ),
            github,
            store,
            policy,
            affiliates,
            state_key: StateKey::load(config)?,
            trusted_redirects: TrustedHosts::new(trusted_hosts),
            refresh_rules: RefreshRules {
                grace: Duration::from_secs(auth.refresh_grace_secs),
                idle: Duration::from_secs(auth.refresh_idle_secs),
                absolute: Duration::from_secs(auth.refresh_absolute_secs),
            },
            client_unused_for: Duration::from_secs(auth.client_unused_days * 24 * 3600),
            service_token: config.github.service_token.clone(),
            web_client,
            public_cluster: config.web.public_cluster.clone(),
            callback_url: format!(
                "{}{}",
                urls.authenticator,
                sliderule_protocol::authenticator::paths::CALLBACK
            ),
            github_authorize_url: format!(
                "{}/login/oauth/authorize",
                github_config.web_url.trim_end_matches('/')
            ),
            github_client_id: github_config.client_id.clone().unwrap_or_default(),
            cookie_domain: (config.domain.is_some() && !is_ip && bare_domain != "localhost")
                .then(|| format!(".{bare_domain}")),
            secure_cookies: urls.authenticator.starts_with("https://"),
        })
    }
}
