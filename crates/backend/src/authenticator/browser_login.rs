//! Browser sign-in through GitHub: `GET /auth/github/login` (the authorization endpoint, for
//! OAuth 2.1 clients with PKCE and for v5's legacy login) and `GET /auth/github/callback`
//! (where GitHub sends the browser back).
//!
//! Nothing redirects to a URI that was not checked first: the PKCE flow only to a URI the
//! client registered, the legacy and basic flows only to a trusted host. A bad request is a 400
//! JSON error, never a redirect. Once the state is verified, failures go back to the (checked)
//! redirect URI as `error` and `error_description`, as RFC 6749 §4.1.2.1 asks.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use sliderule_protocol::Scopes;
use sliderule_protocol::authenticator::oauth::TokenInfo;
use sliderule_protocol::authenticator::oauth::{
    AuthorizeQuery, AuthorizeRequest, CallbackQuery, PkceAuthorize,
};
use time::OffsetDateTime;
use url::Url;

use super::error::AuthError;
use super::grant::{Flow, GitHubIdentity};
use super::redirect::with_query;
use super::respond::redirect;
use super::session::Session;
use super::state::{LoginState, PendingLogin, STATE_LIFETIME};
use super::{Authenticator, random};
use crate::app::AppState;
use crate::github::GitHubError;
use crate::store::{CodeGrant, TokenHash};
use sliderule_protocol::authenticator::paths;
use sliderule_protocol::codes;

/// How long a one-time code lives (authenticator.md: 2 minutes).
const CODE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(120);

#[utoipa::path(
    get,
    path = paths::LOGIN,
    params(AuthorizeQuery),
    responses((status = 302, description = "To GitHub's authorization page"), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn login(
    State(state): State<AppState>,
    Query(query): Query<AuthorizeQuery>,
) -> Result<Response, AuthError> {
    let auth = &state.authenticator;
    let now = state.clock.now();
    let pending = match query.parse()? {
        AuthorizeRequest::Pkce(request) => pkce_login(auth, request, now).await?,
        AuthorizeRequest::Legacy(legacy) => {
            auth.trusted_redirects
                .check(&legacy.redirect_uri)
                .map_err(|e| AuthError::refused(codes::INVALID_REDIRECT_URI, e.to_string()))?;
            PendingLogin::Legacy {
                redirect_uri: legacy.redirect_uri,
                use_cookie: legacy.use_cookie,
            }
        }
    };
    to_github(auth, pending, now).await
}

async fn pkce_login(
    auth: &Authenticator,
    request: PkceAuthorize,
    now: OffsetDateTime,
) -> Result<PendingLogin, AuthError> {
    let client = auth.known_client(&request.client_id, now).await?;
    if !client.redirect_uris.contains(&request.redirect_uri) {
        return Err(AuthError::refused(
            codes::INVALID_REDIRECT_URI,
            "redirect_uri is not one this client registered",
        ));
    }
    let scope = request.scope.unwrap_or(client.scope);
    if !scope.is_subset(client.scope) {
        return Err(AuthError::refused(
            codes::INVALID_SCOPE,
            format!(
                "scope \"{scope}\" exceeds what this client registered (\"{}\")",
                client.scope
            ),
        ));
    }
    Ok(PendingLogin::Pkce {
        client_id: request.client_id,
        redirect_uri: request.redirect_uri,
        code_challenge: request.code_challenge,
        client_state: request.state,
        scope,
    })
}

/// Records the login's nonce and sends the browser to GitHub's authorize page.
pub(super) async fn to_github(
    auth: &Authenticator,
    login: PendingLogin,
    now: OffsetDateTime,
) -> Result<Response, AuthError> {
    let nonce = random::secret()?;
    let expires_at = now + STATE_LIFETIME;
    auth.store
        .insert_pending_login(&TokenHash::of(&nonce), expires_at)
        .await?;
    let state = auth
        .state_key
        .seal(&LoginState {
            nonce,
            expires_at: expires_at.unix_timestamp(),
            login,
        })
        .map_err(AuthError::internal)?;
    let mut url = Url::parse(&auth.github_authorize_url).map_err(AuthError::internal)?;
    url.query_pairs_mut()
        .append_pair("client_id", &auth.github_client_id)
        .append_pair("redirect_uri", &auth.callback_url)
        .append_pair("scope", "read:org")
        .append_pair("state", &state);
    Ok(redirect(url.as_str()))
}

#[utoipa::path(
    get,
    path = paths::CALLBACK,
    params(CallbackQuery),
    responses((status = 302, description = "Back to the client's redirect_uri with a code (or an error)"), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AuthError> {
    let auth = &state.authenticator;
    let now = state.clock.now();
    let sealed = query
        .state
        .as_deref()
        .ok_or_else(|| AuthError::refused(codes::INVALID_REQUEST, "state is required"))?;
    let login_state = auth
        .state_key
        .open(sealed, now)
        .map_err(|e| AuthError::refused(codes::INVALID_REQUEST, e.to_string()))?;
    if !auth
        .store
        .take_pending_login(&TokenHash::of(&login_state.nonce), now)
        .await?
    {
        return Err(AuthError::refused(
            codes::INVALID_REQUEST,
            "this sign-in was already completed or has expired; start it again",
        ));
    }
    let pending = login_state.login;
    let back = Back::of(&pending)?;
    if let Some(error) = query.error.as_deref() {
        let description = query
            .error_description
            .as_deref()
            .unwrap_or("GitHub did not complete the sign-in");
        return Ok(back.error(error, description));
    }
    let Some(code) = query.code else {
        return Ok(back.error("invalid_request", "No authorization code received"));
    };
    let identity = match identify(auth, code.expose()).await {
        Ok(identity) => identity,
        Err(GitHubError::Unavailable(description)) => {
            return Ok(back.error(codes::TEMPORARILY_UNAVAILABLE, &description));
        }
        Err(other) => return Ok(back.error(codes::ACCESS_DENIED, &other.to_string())),
    };
    match pending {
        PendingLogin::Pkce {
            client_id,
            redirect_uri,
            code_challenge,
            scope,
            ..
        } => {
            let session = Session::new(identity, scope, Flow::Browser).for_client(&client_id);
            let code = random::secret()?;
            auth.store
                .insert_code(
                    &TokenHash::of(&code),
                    &CodeGrant {
                        client_id,
                        redirect_uri,
                        code_challenge,
                        grant: session.to_json().map_err(AuthError::internal)?,
                        expires_at: now + CODE_LIFETIME,
                    },
                )
                .await?;
            Ok(back.success(&[("code", &code)]))
        }
        PendingLogin::Legacy { use_cookie, .. } => {
            let session = Session::new(identity, Scopes::MEMBER, Flow::Browser);
            let (token, claims) = auth.mint(&state.keys.current(), &session, now).await?;
            if use_cookie {
                Ok(back.with_cookie(auth, &token, &claims))
            } else {
                let info = legacy_fields(&TokenInfo::from_claims(
                    &claims,
                    auth.public_cluster.as_deref(),
                ));
                let mut pairs: Vec<(&str, &str)> =
                    info.iter().map(|(k, v)| (*k, v.as_str())).collect();
                pairs.push(("token", &token));
                Ok(back.success(&pairs))
            }
        }
        PendingLogin::Basic { .. } => {
            let session = Session::new(identity, Scopes::GUEST, Flow::Basic);
            let (token, claims) = auth.mint(&state.keys.current(), &session, now).await?;
            Ok(back.with_cookie(auth, &token, &claims))
        }
    }
}

async fn identify(auth: &Authenticator, code: &str) -> Result<GitHubIdentity, GitHubError> {
    let token = auth.github.exchange_code(code, &auth.callback_url).await?;
    auth.resolver.resolve(token.expose()).await
}

/// v5's query parameters, all strings, in upstream's order.
fn legacy_fields(info: &TokenInfo) -> Vec<(&'static str, String)> {
    vec![
        ("username", info.username.clone()),
        ("isOrgMember", info.is_org_member.to_string()),
        ("isOrgOwner", info.is_org_owner.to_string()),
        ("org", info.org.clone()),
        ("orgRoles", info.org_roles.comma_joined()),
        ("knownClusters", info.known_clusters.join(",")),
        ("deployableClusters", info.deployable_clusters.join(",")),
        ("maxNodes", info.max_nodes.to_string()),
        ("maxTTL", info.max_ttl.to_string()),
        ("tokenIssuedAt", info.token_issued_at.clone()),
        ("tokenExpiresAt", info.token_expires_at.clone()),
        ("tokenIssuer", info.token_issuer.clone()),
    ]
}

/// Where the browser goes back to, checked when the login started.
struct Back {
    uri: Url,
    /// The client's own state, echoed on every answer of the PKCE flow.
    client_state: Option<String>,
}

impl Back {
    fn of(pending: &PendingLogin) -> Result<Self, AuthError> {
        let (uri, client_state) = match pending {
            PendingLogin::Pkce {
                redirect_uri,
                client_state,
                ..
            } => (redirect_uri, client_state.clone()),
            PendingLogin::Legacy { redirect_uri, .. } | PendingLogin::Basic { redirect_uri } => {
                (redirect_uri, None)
            }
        };
        Ok(Self {
            uri: Url::parse(uri).map_err(AuthError::internal)?,
            client_state,
        })
    }

    fn success(&self, pairs: &[(&str, &str)]) -> Response {
        let mut pairs = pairs.to_vec();
        if let Some(state) = &self.client_state {
            pairs.push(("state", state));
        }
        redirect(&with_query(&self.uri, &pairs))
    }

    fn error(&self, error: &str, description: &str) -> Response {
        self.success(&[("error", error), ("error_description", description)])
    }

    /// The token in an HttpOnly cookie, then back to the URI untouched.
    fn with_cookie(
        &self,
        auth: &Authenticator,
        token: &str,
        claims: &sliderule_protocol::Claims,
    ) -> Response {
        let mut cookie = format!(
            "token={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
            super::issuer::lifetime(claims)
        );
        if let Some(domain) = &auth.cookie_domain {
            cookie.push_str(&format!("; Domain={domain}"));
        }
        if auth.secure_cookies {
            cookie.push_str("; Secure");
        }
        let mut response = redirect(self.uri.as_str());
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        response
    }
}
