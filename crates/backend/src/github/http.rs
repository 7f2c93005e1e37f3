//! [`HttpGitHub`]: the GitHub client over HTTP, with configurable base URLs (github.com, or the
//! emulator in tests and the demo).
//!
//! Calls time out after 10 s and are retried once on connection errors only: a request that
//! reached GitHub is never repeated, so an exchange of a one-time code is never sent twice.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{RequestBuilder, Response, StatusCode, header};
use serde::Deserialize;

use super::rate_limit::rate_limited;
use super::{DeviceCode, DevicePoll, GitHub, GitHubError, GitHubToken, GitHubUser, Membership};
use crate::config::{GithubConfig, Secret};

const TIMEOUT: Duration = Duration::from_secs(10);
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// GitHub's largest page; a shorter page is the last.
const PER_PAGE: usize = 100;
/// Bounds the team walk, so a misbehaving server cannot keep us paging forever.
const MAX_PAGES: usize = 50;

pub struct HttpGitHub {
    http: reqwest::Client,
    timeout: Duration,
    web_url: String,
    api_url: String,
    client_id: String,
    client_secret: Option<Secret>,
}

impl HttpGitHub {
    pub fn new(config: &GithubConfig) -> Result<Self, GitHubError> {
        Self::resolving(config, None, None)
    }

    /// As [`HttpGitHub::new`], for the demo, whose in-process emulator is reached at the demo's
    /// own public URL: with `host_override`, `host` is resolved to `addr` instead of through DNS
    /// (`login.DOMAIN` need not resolve anywhere but in the browser or client that uses it);
    /// with `own_chain_pem`, the certificates of the demo's own TLS chain are trusted besides
    /// the system's roots, so a demo with a certificate from a private CA can call itself.
    pub fn resolving(
        config: &GithubConfig,
        host_override: Option<(&str, SocketAddr)>,
        own_chain_pem: Option<&[u8]>,
    ) -> Result<Self, GitHubError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("sliderule-backend/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if let Some((host, addr)) = host_override {
            builder = builder.resolve(host, addr);
        }
        if let Some(pem) = own_chain_pem {
            // Every certificate of the chain, not only its last: a chain that stops at an
            // intermediate (or is a lone self-signed certificate) then verifies too.
            let chain = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                GitHubError::Unavailable(format!("cannot read the demo's own certificates: {e}"))
            })?;
            builder = builder.tls_certs_merge(chain);
        }
        let http = builder
            .build()
            .map_err(|e| GitHubError::Unavailable(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            // Validated to (0, 60] at start; a default-constructed config uses the default.
            timeout: Duration::try_from_secs_f64(config.timeout_secs)
                .ok()
                .filter(|t| !t.is_zero())
                .unwrap_or(TIMEOUT),
            web_url: config.web_url.trim_end_matches('/').to_owned(),
            api_url: config.api_url.trim_end_matches('/').to_owned(),
            client_id: config.client_id.clone().unwrap_or_default(),
            client_secret: config.client_secret.clone(),
        })
    }

    /// Replaces the 10 s timeout (tests use a short one against the emulator's latency fault).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn api(&self, token: &str, path: &str) -> RequestBuilder {
        self.http
            .get(format!("{}{path}", self.api_url))
            .timeout(self.timeout)
            .bearer_auth(token)
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }

    /// A form POST to GitHub's OAuth endpoints, answered in JSON (GitHub answers form-encoded
    /// unless asked).
    fn oauth(&self, path: &str, form: &[(&str, &str)]) -> RequestBuilder {
        let mut fields: Vec<(&str, &str)> = vec![("client_id", &self.client_id)];
        if let Some(secret) = &self.client_secret {
            fields.push(("client_secret", secret.expose()));
        }
        fields.extend_from_slice(form);
        self.http
            .post(format!("{}{path}", self.web_url))
            .timeout(self.timeout)
            .header(header::ACCEPT, "application/json")
            .form(&fields)
    }

    async fn token_grant(&self, form: &[(&str, &str)]) -> Result<TokenAnswer, GitHubError> {
        let response = send(
            self.oauth("/login/oauth/access_token", form),
            "the token exchange",
        )
        .await?;
        // GitHub answers OAuth errors with HTTP 200 and an `error` field.
        if !response.status().is_success() {
            return Err(unexpected_status("the token exchange", &response));
        }
        response.json::<TokenAnswer>().await.map_err(|e| {
            GitHubError::Unavailable(format!("GitHub's token answer was not understood: {e}"))
        })
    }
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    interval: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct UserAnswer {
    login: String,
    id: u64,
}

#[derive(Debug, Deserialize)]
struct MembershipAnswer {
    state: String,
    role: String,
}

#[derive(Debug, Deserialize)]
struct TeamAnswer {
    slug: String,
    organization: OrganizationAnswer,
}

#[derive(Debug, Deserialize)]
struct OrganizationAnswer {
    login: String,
}

/// GitHub's error bodies carry a `message`.
#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    message: Option<String>,
}

/// Sends, retrying once when the connection could not be made (nothing reached GitHub).
async fn send(request: RequestBuilder, what: &str) -> Result<Response, GitHubError> {
    let retry = request.try_clone();
    match request.send().await {
        Ok(response) => Ok(response),
        Err(e) if e.is_connect() => match retry {
            Some(again) => again.send().await.map_err(|e| transport_error(what, &e)),
            None => Err(transport_error(what, &e)),
        },
        Err(e) => Err(transport_error(what, &e)),
    }
}

fn transport_error(what: &str, error: &reqwest::Error) -> GitHubError {
    if error.is_builder() {
        // Nothing was sent: a token that cannot be a header value (reqwest's error names the
        // URL and the failing part, never the header's value).
        tracing::error!(%error, what, "a request to GitHub could not be built");
        return GitHubError::Unavailable(format!(
            "The request to GitHub for {what} could not be made: a token or address it needs is \
             malformed"
        ));
    }
    let reason = if error.is_timeout() {
        "did not answer in time".to_owned()
    } else if error.is_connect() {
        "could not be reached".to_owned()
    } else {
        "failed".to_owned()
    };
    GitHubError::Unavailable(format!(
        "GitHub {reason} during {what}; please try again later"
    ))
}

fn unexpected_status(what: &str, response: &Response) -> GitHubError {
    if let Some(limited) = rate_limited(what, response) {
        return limited;
    }
    GitHubError::Unavailable(format!(
        "GitHub answered HTTP {} during {what}; please try again later",
        response.status().as_u16()
    ))
}

/// GitHub's own message, for the description; bounded so a huge page cannot become our error.
async fn github_message(response: Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<ErrorAnswer>(&text)
        .ok()
        .and_then(|e| e.message)
        .unwrap_or_default();
    message.chars().take(200).collect()
}

#[async_trait]
impl GitHub for HttpGitHub {
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<GitHubToken, GitHubError> {
        let answer = self
            .token_grant(&[("code", code), ("redirect_uri", redirect_uri)])
            .await?;
        match (answer.access_token, answer.error) {
            (Some(token), None) => Ok(GitHubToken::new(token)),
            (_, Some(error)) => Err(GitHubError::Refused {
                description: answer.error_description.unwrap_or_else(|| error.clone()),
                error,
            }),
            (None, None) => Err(GitHubError::Unavailable(
                "GitHub's token answer held neither a token nor an error".into(),
            )),
        }
    }

    async fn request_device_code(&self, scope: &str) -> Result<DeviceCode, GitHubError> {
        let what = "the device-code request";
        let response = send(self.oauth("/login/device/code", &[("scope", scope)]), what).await?;
        if !response.status().is_success() {
            return Err(unexpected_status(what, &response));
        }
        let body: serde_json::Value = response.json().await.map_err(|e| {
            GitHubError::Unavailable(format!(
                "GitHub's device-code answer was not understood: {e}"
            ))
        })?;
        if let Some(error) = body.get("error").and_then(|e| e.as_str()) {
            let description = body
                .get("error_description")
                .and_then(|d| d.as_str())
                .unwrap_or(error)
                .to_owned();
            return Err(GitHubError::Refused {
                error: error.to_owned(),
                description,
            });
        }
        serde_json::from_value(body).map_err(|e| {
            GitHubError::Unavailable(format!(
                "GitHub's device-code answer was not understood: {e}"
            ))
        })
    }

    async fn poll_device_code(&self, device_code: &str) -> Result<DevicePoll, GitHubError> {
        let answer = self
            .token_grant(&[("device_code", device_code), ("grant_type", DEVICE_GRANT)])
            .await?;
        if let Some(token) = answer.access_token {
            return Ok(DevicePoll::Authorized(GitHubToken::new(token)));
        }
        let error = answer.error.unwrap_or_default();
        Ok(match error.as_str() {
            "authorization_pending" => DevicePoll::Pending,
            // GitHub adds 5 s to the interval on each slow_down.
            "slow_down" => DevicePoll::SlowDown {
                interval: answer.interval.unwrap_or(10),
            },
            "expired_token" => DevicePoll::Expired,
            "access_denied" => DevicePoll::Denied,
            _ => DevicePoll::Failed {
                description: answer
                    .error_description
                    .unwrap_or_else(|| "GitHub refused the device code".into()),
                error: if error.is_empty() {
                    "unknown_error".into()
                } else {
                    error
                },
            },
        })
    }

    async fn user(&self, token: &str) -> Result<GitHubUser, GitHubError> {
        let what = "the user lookup";
        let response = send(self.api(token, "/user"), what).await?;
        match response.status() {
            StatusCode::OK => {
                let user: UserAnswer = response.json().await.map_err(|e| {
                    GitHubError::Unavailable(format!(
                        "GitHub's user answer was not understood: {e}"
                    ))
                })?;
                Ok(GitHubUser {
                    login: user.login,
                    id: user.id,
                })
            }
            StatusCode::UNAUTHORIZED => Err(GitHubError::InvalidToken),
            _ => Err(unexpected_status(what, &response)),
        }
    }

    async fn membership(
        &self,
        token: &str,
        org: &str,
        login: &str,
    ) -> Result<Membership, GitHubError> {
        let what = format!("the membership check in {org}");
        let path = format!("/orgs/{org}/memberships/{login}");
        let response = send(self.api(token, &path), &what).await?;
        // Before the 403 arm: GitHub's rate limit is a 403 too, and no permissions problem.
        if let Some(limited) = rate_limited(&what, &response) {
            return Err(limited);
        }
        match response.status() {
            StatusCode::OK => {
                let answer: MembershipAnswer = response.json().await.map_err(|e| {
                    GitHubError::Unavailable(format!(
                        "GitHub's membership answer was not understood: {e}"
                    ))
                })?;
                Ok(match (answer.state.as_str(), answer.role.as_str()) {
                    ("active", "admin") => Membership::Admin,
                    ("active", _) => Membership::Member,
                    _ => Membership::Pending,
                })
            }
            StatusCode::NOT_FOUND => Ok(Membership::None),
            status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                let message = github_message(response).await;
                let detail = if message.is_empty() {
                    String::new()
                } else {
                    format!(" (GitHub said: {message})")
                };
                Err(GitHubError::Unavailable(format!(
                    "GitHub did not reveal membership of {org} (HTTP {}){detail}: grant the \
                     SlideRule app access to the organization, or use a token with read:org",
                    status.as_u16()
                )))
            }
            _ => Err(unexpected_status(&what, &response)),
        }
    }

    async fn teams(&self, token: &str, org: &str) -> Result<Vec<String>, GitHubError> {
        let what = "the team lookup";
        let mut slugs = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = format!("/user/teams?per_page={PER_PAGE}&page={page}");
            let response = send(self.api(token, &path), what).await?;
            if response.status() != StatusCode::OK {
                return Err(unexpected_status(what, &response));
            }
            let teams: Vec<TeamAnswer> = response.json().await.map_err(|e| {
                GitHubError::Unavailable(format!("GitHub's team answer was not understood: {e}"))
            })?;
            let last = teams.len() < PER_PAGE;
            slugs.extend(
                teams
                    .into_iter()
                    .filter(|t| t.organization.login.eq_ignore_ascii_case(org))
                    .map(|t| t.slug),
            );
            if last {
                break;
            }
        }
        Ok(slugs)
    }
}
